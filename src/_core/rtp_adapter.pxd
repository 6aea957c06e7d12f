# The sender's feedback adapter: send history keyed by transport sequence number and the
# mapping of remote arrival times to the local clock (libwebrtc's TransportFeedbackAdapter,
# modules/congestion_controller/rtp/transport_feedback_adapter.cc).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t

cdef enum:
    SENT_LOST_BEFORE = 1        # reported lost by an earlier feedback
    SENT_ECT1 = 2               # sent with the ECT(1) codepoint
    MAX_SSRCS = 16              # RTP streams the RFC 8888 lookup tracks


cdef struct SentPacketC:
    int64_t seq                 # unwrapped transport sequence number (-1: empty slot)
    int64_t send_us             # when it left the pacer, us
    int64_t creation_us         # when it entered the history, us (horizon)
    int64_t size_bytes          # bytes on the wire
    int32_t probe_cluster       # probe cluster id, -1 when not a probe
    uint32_t ssrc               # RTP stream (RFC 8888 lookup)
    int32_t rtp_seq             # RTP sequence number, -1 when unknown
    uint8_t flags               # SENT_* bits


cdef struct SeqUnwrapper:
    int64_t last_unwrapped      # last value returned
    int32_t last_value          # last 16-bit value seen, -1 before the first


cdef struct SsrcTable:
    uint32_t ssrc               # the stream
    int64_t* transport_seq      # 65536 entries keyed by RTP sequence number (-1: none)


cdef int64_t unwrap16(SeqUnwrapper* u, uint16_t value) noexcept nogil


cdef class FeedbackAdapterCore:
    cdef SentPacketC* hist              # ring of sent packets (capacity a power of two)
    cdef int64_t cap                    # ring capacity, packets
    cdef int64_t max_cap                # never grow past this, packets
    cdef int64_t begin_seq              # oldest sequence number the ring covers
    cdef int64_t end_seq                # one past the newest
    cdef int64_t horizon_us             # packets older than this are forgotten, us
    cdef SeqUnwrapper unwrapper         # one unwrapper for sends and feedback (libwebrtc)
    cdef readonly int64_t last_ack_seq  # highest sequence number acknowledged so far
    cdef readonly int64_t in_flight_bytes   # sent, not yet covered by feedback, bytes
    cdef int64_t current_offset_us      # local time of the remote base time (MinusInf: unset)
    cdef int64_t last_base_time_us      # previous transport-cc BaseTime() (MinusInf: unset)
    cdef int64_t last_compact_ntp       # previous RFC 8888 report timestamp (-1: unset)
    cdef SsrcTable ssrcs[MAX_SSRCS]     # RFC 8888: (ssrc, rtp seq) -> transport seq
    cdef int n_ssrcs                    # tables in use
    cdef readonly int64_t failed_lookups    # reported packets not in the history
    cdef readonly int64_t n_forgotten   # packets dropped by the horizon or the capacity
    cdef bint oom                       # an allocation failed

    cdef int _reserve(self, int64_t seq, int64_t now_us) noexcept nogil
    cdef int _grow(self, int64_t need) noexcept nogil
    cdef void _skip_empty(self) noexcept nogil
    cdef void _forget_rtp(self, SentPacketC* e) noexcept nogil
    cdef void _take(self, SentPacketC* e, bint received) noexcept nogil
    cdef void _evict_oldest(self) noexcept nogil
    cdef SentPacketC* _find(self, int64_t seq) noexcept nogil
    cdef SentPacketC* _retrieve(self, int64_t seq, bint received) noexcept nogil
    cdef int64_t* _ssrc_slot(self, uint32_t ssrc, bint create) noexcept nogil
