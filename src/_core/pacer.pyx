"""The pacer: releases queued RTP packets at the pacing rate, by priority, with probes.

Priorities follow libwebrtc's PacingController: audio first (never held back by the
budget, but it occupies the wire), then retransmissions, then video and FEC packets in
the order they were queued. Packets leave one at a time, each occupying the wire for
``size * 8 / rate``. When the oldest packet would wait longer than 2 s the rate is raised
to drain the queue in time. Probe clusters (from the estimator) are sent at their own
rate, using queued media first and padding when the queue runs dry, until the cluster
has carried its minimum packets and bytes (libwebrtc BitrateProber).
"""

from mediaopt._core._check import InputError

from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

# Largest time a packet should wait in the pacer (libwebrtc kMaxExpectedQueueLength).
cdef int64_t PACER_QUEUE_LIMIT_US = 2_000_000
# Probe packets aim at 2 ms of the probe rate each (libwebrtc kMinProbeDelta), bounded.
cdef int64_t PROBE_DELTA_US = 2000
cdef int64_t MIN_PROBE_PACKET_BYTES = 200
cdef int64_t MAX_PROBE_PACKET_BYTES = 1248
cdef int64_t MIN_PACING_BPS = 10_000


cdef int _ring_init(PacketRing* r, Py_ssize_t cap) noexcept nogil:
    r.buf = <PacketC*>malloc(cap * sizeof(PacketC))
    r.cap = cap if r.buf != NULL else 0
    r.head = 0
    r.count = 0
    r.bytes = 0
    return 0 if r.buf != NULL else -1


cdef int _ring_push(PacketRing* r, const PacketC* p) noexcept nogil:
    cdef PacketC* nb
    cdef Py_ssize_t first
    if r.count == r.cap:
        nb = <PacketC*>malloc(2 * r.cap * sizeof(PacketC))
        if nb == NULL:
            return -1
        # Unwrap into the new buffer: [head, cap) then [0, head).
        first = r.cap - r.head
        memcpy(nb, r.buf + r.head, first * sizeof(PacketC))
        memcpy(nb + first, r.buf, r.head * sizeof(PacketC))
        free(r.buf)
        r.buf = nb
        r.head = 0
        r.cap *= 2
    r.buf[(r.head + r.count) & (r.cap - 1)] = p[0]
    r.count += 1
    r.bytes += p.size_bytes
    return 0


cdef inline PacketC* _ring_front(PacketRing* r) noexcept nogil:
    return &r.buf[r.head]


cdef inline void _ring_pop(PacketRing* r, PacketC* out) noexcept nogil:
    out[0] = r.buf[r.head]
    r.head = (r.head + 1) & (r.cap - 1)
    r.count -= 1
    r.bytes -= out.size_bytes


cdef class Pacer:
    """Packet pacer with priority queues and probe clusters (see the module docstring).

    ``Pacer(rate_bps)``; ``push(kind, size_bytes, now_us, ...)`` queues a packet,
    ``pop(now_us)`` releases the next one when the wire is free.
    """

    def __cinit__(self, int64_t rate_bps=750_000):
        if _ring_init(&self.rtx, 64) != 0 or _ring_init(&self.video, 256) != 0:
            raise MemoryError("pacer queues")
        self.rate_bps = rate_bps if rate_bps > MIN_PACING_BPS else MIN_PACING_BPS
        self.free_us = 0
        self.padding_bytes = 0
        self.n_probes = 0
        self.probe_sent_bytes = 0
        self.probe_sent_packets = 0

    def __dealloc__(self):
        free(self.rtx.buf)
        free(self.video.buf)

    cdef int c_push(self, const PacketC* p) noexcept nogil:
        if p.kind == KIND_RTX:
            return _ring_push(&self.rtx, p)
        return _ring_push(&self.video, p)

    cdef void c_set_rate(self, int64_t rate_bps) noexcept nogil:
        self.rate_bps = rate_bps if rate_bps > MIN_PACING_BPS else MIN_PACING_BPS

    cdef void c_add_probe(self, int64_t bitrate_bps, int32_t cluster_id, int32_t min_probes,
                          int64_t min_bytes) noexcept nogil:
        if bitrate_bps <= 0 or self.n_probes >= MAX_PENDING_PROBES:
            return
        cdef ProbeC* pc = &self.probes[self.n_probes]
        pc.bitrate_bps = bitrate_bps
        pc.cluster_id = cluster_id
        pc.min_probes = min_probes if min_probes > 0 else 1
        pc.min_bytes = min_bytes if min_bytes > 0 else 0
        if self.n_probes == 0:
            self.probe_sent_bytes = 0
            self.probe_sent_packets = 0
        self.n_probes += 1

    cdef void c_account(self, int64_t size_bytes, int64_t now_us) noexcept nogil:
        if self.free_us < now_us:
            self.free_us = now_us
        self.free_us += (size_bytes * 8 * 1_000_000) // self.rate_bps

    cdef int64_t c_next_send_us(self) noexcept nogil:
        if self.rtx.count == 0 and self.video.count == 0 and self.n_probes == 0:
            return -1
        return self.free_us

    cdef int64_t c_queued_bytes(self) noexcept nogil:
        return self.rtx.bytes + self.video.bytes

    cdef Py_ssize_t c_queued_packets(self) noexcept nogil:
        return self.rtx.count + self.video.count

    cdef void c_drop_video_before(self, int64_t frame) noexcept nogil:
        # Discard queued media of frames older than `frame` (a key frame supersedes them).
        cdef PacketC tmp
        while self.video.count > 0 and _ring_front(&self.video).frame < frame:
            _ring_pop(&self.video, &tmp)

    cdef int c_pop(self, int64_t now_us, PacketC* out, int32_t* cluster_id) noexcept nogil:
        cdef int64_t rate = self.rate_bps
        cdef int64_t queued, wait_us, left_us, need
        cdef ProbeC* pc
        cdef int i
        cdef bint probing = self.n_probes > 0
        cluster_id[0] = -1
        if self.rtx.count > 0:
            _ring_pop(&self.rtx, out)
        elif self.video.count > 0:
            _ring_pop(&self.video, out)
        elif probing:
            pc = &self.probes[0]
            out.size_bytes = pc.bitrate_bps * PROBE_DELTA_US // 8_000_000
            if out.size_bytes < MIN_PROBE_PACKET_BYTES:
                out.size_bytes = MIN_PROBE_PACKET_BYTES
            if out.size_bytes > MAX_PROBE_PACKET_BYTES:
                out.size_bytes = MAX_PROBE_PACKET_BYTES
            out.frame = -1
            out.media_seq = -1
            out.enqueue_us = now_us
            out.index = 0
            out.kind = KIND_PADDING
            self.padding_bytes += out.size_bytes
        else:
            return 0
        if probing:
            pc = &self.probes[0]
            rate = pc.bitrate_bps
            cluster_id[0] = pc.cluster_id
            self.probe_sent_bytes += out.size_bytes
            self.probe_sent_packets += 1
            if (self.probe_sent_packets >= pc.min_probes
                    and self.probe_sent_bytes >= pc.min_bytes):
                for i in range(1, self.n_probes):
                    self.probes[i - 1] = self.probes[i]
                self.n_probes -= 1
                self.probe_sent_bytes = 0
                self.probe_sent_packets = 0
        else:
            # Queue-time limit: drain what is queued before its oldest packet waits 2 s.
            queued = self.rtx.bytes + self.video.bytes + out.size_bytes
            wait_us = now_us - out.enqueue_us
            left_us = PACER_QUEUE_LIMIT_US - wait_us
            if left_us < 1000:
                left_us = 1000
            need = queued * 8 * 1_000_000 // left_us
            if need > rate:
                rate = need
        if rate < MIN_PACING_BPS:
            rate = MIN_PACING_BPS
        if self.free_us < now_us:
            self.free_us = now_us
        self.free_us += (out.size_bytes * 8 * 1_000_000) // rate
        return 1

    def push(self, kind: int, size_bytes: int, now_us: int, frame: int = -1,
             index: int = 0, media_seq: int = -1) -> None:
        """Queue one packet (``kind``: 1 rtx, 2 video, 3 fec) at ``now_us``."""
        if kind not in (KIND_RTX, KIND_VIDEO, KIND_FEC):
            raise InputError(f"kind must be 1 (rtx), 2 (video) or 3 (fec), got {kind!r}")
        if size_bytes <= 0:
            raise InputError(f"size_bytes must be > 0, got {size_bytes}")
        cdef PacketC p
        p.size_bytes = size_bytes
        p.frame = frame
        p.media_seq = media_seq
        p.enqueue_us = now_us
        p.index = index
        p.kind = kind
        if self.c_push(&p) != 0:
            raise MemoryError("pacer queue")

    def set_rate(self, rate_bps: int) -> None:
        """Set the pacing rate in bps (floored at 10 kbit/s)."""
        self.c_set_rate(int(rate_bps))

    def add_probe(self, bitrate_bps: int, cluster_id: int, min_probes: int = 5,
                  min_bytes: int = 0) -> None:
        """Queue a probe cluster (as the estimator's ``pop_probes`` hands them out)."""
        self.c_add_probe(int(bitrate_bps), int(cluster_id), int(min_probes), int(min_bytes))

    def next_send_us(self) -> int:
        """When the next packet may leave, us (-1 when there is nothing to send)."""
        return self.c_next_send_us()

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting in the queues."""
        return self.c_queued_bytes()

    def pop(self, now_us: int) -> tuple[int, int, int, int] | None:
        """Release one packet at ``now_us``: ``(kind, size_bytes, frame, cluster_id)``."""
        cdef PacketC p
        cdef int32_t cid
        if not self.c_pop(int(now_us), &p, &cid):
            return None
        return (p.kind, p.size_bytes, p.frame, cid)
