# The pacer: priority queues of RTP packets released at the pacing rate, with probe
# clusters sent at their own rate (libwebrtc modules/pacing: PacingController and
# BitrateProber, simplified; docs/replay.md). Driven by the replay loop without the GIL.
from libc.stdint cimport int32_t, int64_t

cdef enum PacketKind:
    KIND_AUDIO = 0          # audio (never waits for the budget)
    KIND_RTX = 1            # NACK retransmission of a video packet
    KIND_VIDEO = 2          # video media packet
    KIND_FEC = 3            # forward-error-correction packet of a video frame
    KIND_PADDING = 4        # probe padding (no media)

cdef enum:
    MAX_PENDING_PROBES = 8  # probe clusters waiting to be sent


cdef struct PacketC:
    int64_t size_bytes      # on the wire, payload + headers, bytes
    int64_t frame           # index of the video frame it carries, -1 for audio/padding
    int64_t media_seq       # video RTP sequence number (video, rtx), -1 otherwise
    int64_t enqueue_us      # time it entered the pacer, us
    int32_t index           # packet index within its frame (FEC: index among FEC packets)
    int32_t kind            # PacketKind


cdef struct PacketRing:
    PacketC* buf            # storage (capacity a power of two), owned by the Pacer
    Py_ssize_t cap          # capacity, packets
    Py_ssize_t head         # index of the oldest packet
    Py_ssize_t count        # packets queued
    int64_t bytes           # bytes queued


cdef struct ProbeC:
    int64_t bitrate_bps     # rate the cluster is sent at, bps
    int64_t min_bytes       # bytes the cluster must carry at least
    int32_t cluster_id      # estimator's id for the cluster
    int32_t min_probes      # packets the cluster must carry at least


cdef class Pacer:
    cdef PacketRing rtx                 # retransmissions (first after audio)
    cdef PacketRing video               # video media and FEC packets, in order
    cdef readonly int64_t rate_bps      # pacing rate, bps
    cdef readonly int64_t free_us       # the wire is free for the next paced packet at, us
    cdef readonly int64_t padding_bytes # bytes of probe padding sent so far
    cdef ProbeC probes[MAX_PENDING_PROBES]   # pending clusters (FIFO)
    cdef int n_probes                   # clusters pending
    cdef int64_t probe_sent_bytes       # bytes sent in the active (first) cluster
    cdef int32_t probe_sent_packets     # packets sent in the active cluster

    cdef int c_push(self, const PacketC* p) noexcept nogil      # 0 ok, -1 out of memory
    cdef void c_set_rate(self, int64_t rate_bps) noexcept nogil
    cdef void c_add_probe(self, int64_t bitrate_bps, int32_t cluster_id, int32_t min_probes,
                          int64_t min_bytes) noexcept nogil
    # A packet sent outside the budget (audio) still occupies the wire.
    cdef void c_account(self, int64_t size_bytes, int64_t now_us) noexcept nogil
    # When the next packet may leave (-1: nothing to send).
    cdef int64_t c_next_send_us(self) noexcept nogil
    # Release one packet at now_us: returns 1 and fills out/cluster_id (-1 = not a probe),
    # or 0 when there is nothing to send.
    cdef int c_pop(self, int64_t now_us, PacketC* out, int32_t* cluster_id) noexcept nogil
    cdef int64_t c_queued_bytes(self) noexcept nogil
    cdef Py_ssize_t c_queued_packets(self) noexcept nogil
    cdef void c_drop_video_before(self, int64_t frame) noexcept nogil
