"""The receiver: frames, FEC, decodability, jitter buffer, NACK and key-frame requests.

* A frame is complete when all its media packets arrived, or when media + FEC packets
  received reach its media packet count (FEC as an ideal erasure code over the frame).
* Frames are decoded in order. A frame is decodable when it is complete and it is a key
  frame or its reference was decoded. A later frame that is decodable skips older pending
  frames (they are dropped). A frame whose reference was dropped or undecodable is
  undecodable: the chain is broken until a key frame is decoded, and the receiver sends
  key-frame requests (PLI) at most every max(300 ms, RTT + 100 ms).
* When a later frame is complete but the oldest pending frame is not, the receiver waits
  for retransmissions up to max(200 ms, 3 RTT) with NACK on, not at all without, then
  gives the frame up.
* NACK (libwebrtc NackRequester, simplified): a gap in the media sequence numbers asks at
  once for the missing packets, then again every RTT (at least 10 ms apart), at most 10
  times, until they arrive or their frame is decided; more than 1000 missing packets
  clear the list and ask for a key frame.
* Jitter buffer: a frame is rendered at max(decode time, capture time + base transit +
  3 x jitter) + 10 ms render delay, never before the previous frame; base transit is the
  smallest decode-minus-capture time of the last 32 decoded frames and jitter an RFC 3550
  style average of the change in transit between consecutive frames (gain 1/16).
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc, realloc

from mediaopt._core.pacer cimport KIND_FEC, KIND_RTX, KIND_VIDEO

cdef int64_t RENDER_DELAY_US = 10_000
cdef int64_t MAX_JITTER_DELAY_US = 500_000
cdef int64_t MIN_GIVE_UP_US = 200_000
cdef int64_t MIN_PLI_INTERVAL_US = 300_000
cdef int64_t NACK_MIN_INTERVAL_US = 10_000
cdef int64_t NACK_PROCESS_US = 10_000


cdef void* _grow(void* p, Py_ssize_t n, size_t item) noexcept nogil:
    return realloc(p, n * item)


cdef class Receiver:
    """The receiving end of one video stream (see the module docstring for the rules).

    Frames are registered with ``add_frame`` as the sender encodes them (what the RTP
    headers would tell a real receiver), packets arrive with ``on_packet``, timers run in
    ``poll``. ``take_nacks``/``take_pli`` hand out the feedback to send.
    """

    def __cinit__(self, Py_ssize_t capacity=1024):
        if capacity < 16:
            capacity = 16
        self.n_frames = 0
        self.cap_frames = 0
        self.capture_us = NULL
        self.render_us = NULL
        self.size_bytes = NULL
        self.width = NULL
        self.height = NULL
        self.keyframe = NULL
        self.quality_db = NULL
        self.ref = NULL
        self.n_media = NULL
        self.n_fec = NULL
        self.got_media = NULL
        self.got_fec = NULL
        self.ready_us = NULL
        self.state = NULL
        if self._reserve(capacity) != 0:
            raise MemoryError("receiver frame table")
        self.nack_out = <int64_t*>malloc(MAX_NACK * sizeof(int64_t))
        if self.nack_out == NULL:
            raise MemoryError("receiver NACK buffer")
        cdef Py_ssize_t i
        for i in range(SEQ_RING):
            self.seq_recv[i] = 0
            self.seq_frame[i] = -1
        self.highest_seq = -1
        self.nack_enabled = False
        self.n_nack = 0
        self.n_nack_out = 0
        self.nacks_sent = 0
        self.next_dec = 0
        self.max_seen = -1
        self.newest_ready = -1
        self.blocked_since_us = -1
        self.last_dec_us = 0
        self.need_keyframe = False
        self.pli_out = False
        self.last_pli_us = -1
        self.plis_sent = 0
        self.frames_recovered_fec = 0
        self.rtt_us = 100_000
        self.transit_n = 0
        self.transit_pos = 0
        self.prev_transit_us = 0
        self.jitter_us = 0.0
        self.last_render_us = 0

    def __dealloc__(self):
        free(self.capture_us)
        free(self.render_us)
        free(self.size_bytes)
        free(self.width)
        free(self.height)
        free(self.keyframe)
        free(self.quality_db)
        free(self.ref)
        free(self.n_media)
        free(self.n_fec)
        free(self.got_media)
        free(self.got_fec)
        free(self.ready_us)
        free(self.state)
        free(self.nack_out)

    cdef int _reserve(self, Py_ssize_t cap) noexcept nogil:
        # Grow every column to cap rows; on failure nothing is lost (realloc keeps the old
        # block) and -1 is returned.
        cdef void* p
        p = _grow(self.capture_us, cap, sizeof(int64_t))
        if p == NULL:
            return -1
        self.capture_us = <int64_t*>p
        p = _grow(self.render_us, cap, sizeof(int64_t))
        if p == NULL:
            return -1
        self.render_us = <int64_t*>p
        p = _grow(self.size_bytes, cap, sizeof(int64_t))
        if p == NULL:
            return -1
        self.size_bytes = <int64_t*>p
        p = _grow(self.width, cap, sizeof(int32_t))
        if p == NULL:
            return -1
        self.width = <int32_t*>p
        p = _grow(self.height, cap, sizeof(int32_t))
        if p == NULL:
            return -1
        self.height = <int32_t*>p
        p = _grow(self.keyframe, cap, sizeof(uint8_t))
        if p == NULL:
            return -1
        self.keyframe = <uint8_t*>p
        p = _grow(self.quality_db, cap, sizeof(double))
        if p == NULL:
            return -1
        self.quality_db = <double*>p
        p = _grow(self.ref, cap, sizeof(int64_t))
        if p == NULL:
            return -1
        self.ref = <int64_t*>p
        p = _grow(self.n_media, cap, sizeof(int32_t))
        if p == NULL:
            return -1
        self.n_media = <int32_t*>p
        p = _grow(self.n_fec, cap, sizeof(int32_t))
        if p == NULL:
            return -1
        self.n_fec = <int32_t*>p
        p = _grow(self.got_media, cap, sizeof(int32_t))
        if p == NULL:
            return -1
        self.got_media = <int32_t*>p
        p = _grow(self.got_fec, cap, sizeof(int32_t))
        if p == NULL:
            return -1
        self.got_fec = <int32_t*>p
        p = _grow(self.ready_us, cap, sizeof(int64_t))
        if p == NULL:
            return -1
        self.ready_us = <int64_t*>p
        p = _grow(self.state, cap, sizeof(uint8_t))
        if p == NULL:
            return -1
        self.state = <uint8_t*>p
        self.cap_frames = cap
        return 0

    cdef Py_ssize_t c_add_frame(self, int64_t capture_us, int64_t size_bytes, int32_t width,
                                int32_t height, bint keyframe, double quality_db,
                                int64_t ref, int32_t n_media, int32_t n_fec,
                                int64_t first_seq) noexcept nogil:
        cdef Py_ssize_t f = self.n_frames
        cdef int64_t s
        if f == self.cap_frames:
            if self._reserve(2 * self.cap_frames) != 0:
                return -1
        self.capture_us[f] = capture_us
        self.render_us[f] = -1
        self.size_bytes[f] = size_bytes
        self.width[f] = width
        self.height[f] = height
        self.keyframe[f] = 1 if keyframe else 0
        self.quality_db[f] = quality_db
        self.ref[f] = ref if (ref >= 0 and ref < f and not keyframe) else -1
        self.n_media[f] = n_media if n_media > 0 else 1
        self.n_fec[f] = n_fec if n_fec > 0 else 0
        self.got_media[f] = 0
        self.got_fec[f] = 0
        self.ready_us[f] = -1
        self.state[f] = FRAME_PENDING
        for s in range(first_seq, first_seq + self.n_media[f]):
            if s >= 0:
                self.seq_frame[s % SEQ_RING] = f
        self.n_frames += 1
        return f

    cdef void c_set_rtt(self, int64_t rtt_us) noexcept nogil:
        if rtt_us > 0:
            self.rtt_us = rtt_us

    cdef void c_set_nack(self, bint enabled) noexcept nogil:
        self.nack_enabled = enabled
        if not enabled:
            self.n_nack = 0

    cdef int64_t _give_up_us(self) noexcept nogil:
        if not self.nack_enabled:
            return 0
        cdef int64_t t = 3 * self.rtt_us
        return t if t > MIN_GIVE_UP_US else MIN_GIVE_UP_US

    cdef int64_t _pli_interval_us(self) noexcept nogil:
        cdef int64_t t = self.rtt_us + 100_000
        return t if t > MIN_PLI_INTERVAL_US else MIN_PLI_INTERVAL_US

    cdef void _emit_nack(self, int64_t seq) noexcept nogil:
        if self.n_nack_out < MAX_NACK:
            self.nack_out[self.n_nack_out] = seq
            self.n_nack_out += 1
            self.nacks_sent += 1

    cdef void _decode(self, Py_ssize_t f) noexcept nogil:
        cdef int64_t dec = self.ready_us[f]
        if dec < self.last_dec_us:
            dec = self.last_dec_us
        self.last_dec_us = dec
        self.state[f] = FRAME_DECODED
        if self.keyframe[f]:
            self.need_keyframe = False
        cdef int64_t transit = dec - self.capture_us[f]
        cdef int64_t d
        if self.transit_n > 0:
            d = transit - self.prev_transit_us
            if d < 0:
                d = -d
            self.jitter_us += (<double>d - self.jitter_us) / 16.0
        self.prev_transit_us = transit
        self.transit_ring[self.transit_pos] = transit
        self.transit_pos = (self.transit_pos + 1) % TRANSIT_WINDOW
        if self.transit_n < TRANSIT_WINDOW:
            self.transit_n += 1
        cdef int64_t base = self.transit_ring[0]
        cdef int i
        for i in range(1, self.transit_n):
            if self.transit_ring[i] < base:
                base = self.transit_ring[i]
        cdef int64_t margin = <int64_t>(3.0 * self.jitter_us)
        if margin > MAX_JITTER_DELAY_US:
            margin = MAX_JITTER_DELAY_US
        cdef int64_t render = self.capture_us[f] + base + margin
        if render < dec:
            render = dec
        render += RENDER_DELAY_US
        if render < self.last_render_us:
            render = self.last_render_us
        self.last_render_us = render
        self.render_us[f] = render

    cdef void _decode_pass(self) noexcept nogil:
        # Decide every frame that can be decided, oldest first (see the module docstring).
        cdef Py_ssize_t f = self.next_dec
        cdef Py_ssize_t first_pending = -1
        cdef Py_ssize_t g
        cdef int64_t r
        cdef uint8_t rs
        while f <= self.max_seen:
            if self.state[f] == FRAME_PENDING:
                r = self.ref[f]
                rs = FRAME_DECODED if r < 0 else self.state[r]
                if self.keyframe[f] or rs == FRAME_DECODED:
                    if self.ready_us[f] >= 0:
                        if first_pending >= 0:
                            for g in range(first_pending, f):
                                if self.state[g] == FRAME_PENDING:
                                    self.state[g] = FRAME_DROPPED
                            first_pending = -1
                        self._decode(f)
                    elif first_pending < 0:
                        first_pending = f
                elif rs == FRAME_DROPPED or rs == FRAME_UNDECODABLE:
                    self.state[f] = FRAME_UNDECODABLE
                    self.need_keyframe = True
                elif first_pending < 0:
                    first_pending = f
            f += 1
        cdef Py_ssize_t nd = first_pending if first_pending >= 0 else f
        if nd != self.next_dec:
            self.next_dec = nd
            self.blocked_since_us = -1

    cdef void _check_stall(self, int64_t now_us) noexcept nogil:
        # The oldest pending frame blocks a later complete one: wait for repairs, then give
        # it up and let the decoder move on.
        cdef int guard = 0
        while self.next_dec <= self.max_seen and self.newest_ready > self.next_dec:
            if self.blocked_since_us < 0:
                self.blocked_since_us = now_us
            if now_us - self.blocked_since_us < self._give_up_us():
                return
            self.state[self.next_dec] = FRAME_DROPPED
            self._decode_pass()
            guard += 1
            if guard > 1_000_000:
                return

    cdef void _maybe_pli(self, int64_t now_us) noexcept nogil:
        if self.need_keyframe and (self.last_pli_us < 0
                                   or now_us - self.last_pli_us >= self._pli_interval_us()):
            self.pli_out = True
            self.last_pli_us = now_us
            self.plis_sent += 1

    cdef void c_on_packet(self, int32_t kind, int64_t frame, int64_t media_seq,
                          int64_t arrival_us) noexcept nogil:
        cdef int64_t s, missing
        cdef Py_ssize_t slot
        if frame < 0 or frame >= self.n_frames:
            return
        if kind == KIND_VIDEO or kind == KIND_RTX:
            if media_seq < 0:
                return
            slot = media_seq % SEQ_RING
            if self.seq_recv[slot] == media_seq + 1:
                return          # duplicate (a retransmission of a packet that did arrive)
            self.seq_recv[slot] = media_seq + 1
            if kind == KIND_VIDEO and media_seq > self.highest_seq:
                if self.highest_seq >= 0 and media_seq > self.highest_seq + 1:
                    missing = media_seq - self.highest_seq - 1
                    if self.nack_enabled:
                        if self.n_nack + missing > MAX_NACK:
                            self.n_nack = 0
                            self.need_keyframe = True
                        else:
                            for s in range(self.highest_seq + 1, media_seq):
                                self.nack_seq[self.n_nack] = s
                                self.nack_sent_us[self.n_nack] = arrival_us
                                self.nack_tries[self.n_nack] = 1
                                self.n_nack += 1
                                self._emit_nack(s)
                self.highest_seq = media_seq
            self.got_media[frame] += 1
        elif kind == KIND_FEC:
            self.got_fec[frame] += 1
        else:
            return
        if frame > self.max_seen:
            self.max_seen = frame
        if (self.ready_us[frame] < 0
                and self.got_media[frame] + self.got_fec[frame] >= self.n_media[frame]):
            self.ready_us[frame] = arrival_us
            if self.got_media[frame] < self.n_media[frame]:
                self.frames_recovered_fec += 1
            if frame > self.newest_ready:
                self.newest_ready = frame
            self._decode_pass()
        self._check_stall(arrival_us)
        self._maybe_pli(arrival_us)

    cdef int64_t c_poll(self, int64_t now_us) noexcept nogil:
        self._check_stall(now_us)
        cdef Py_ssize_t i = 0
        cdef int64_t s, f, wait
        cdef bint drop
        wait = self.rtt_us if self.rtt_us > NACK_MIN_INTERVAL_US else NACK_MIN_INTERVAL_US
        while i < self.n_nack:
            s = self.nack_seq[i]
            f = self.seq_frame[s % SEQ_RING]
            drop = self.seq_recv[s % SEQ_RING] == s + 1
            if not drop and f >= 0 and f < self.n_frames:
                drop = (f < self.next_dec or self.state[f] != FRAME_PENDING
                        or self.ready_us[f] >= 0)
            if not drop and now_us - self.nack_sent_us[i] >= wait:
                if self.nack_tries[i] >= MAX_NACK_RETRIES:
                    drop = True
                else:
                    self.nack_tries[i] += 1
                    self.nack_sent_us[i] = now_us
                    self._emit_nack(s)
            if drop:
                self.n_nack -= 1
                self.nack_seq[i] = self.nack_seq[self.n_nack]
                self.nack_sent_us[i] = self.nack_sent_us[self.n_nack]
                self.nack_tries[i] = self.nack_tries[self.n_nack]
            else:
                i += 1
        self._maybe_pli(now_us)
        cdef int64_t nxt = -1
        cdef int64_t t
        if self.n_nack > 0:
            nxt = now_us + NACK_PROCESS_US
        if self.blocked_since_us >= 0:
            t = self.blocked_since_us + self._give_up_us()
            if t <= now_us:
                t = now_us + 1000
            if nxt < 0 or t < nxt:
                nxt = t
        if self.need_keyframe:
            t = self.last_pli_us + self._pli_interval_us()
            if t <= now_us:
                t = now_us + 1000
            if nxt < 0 or t < nxt:
                nxt = t
        return nxt

    # ------------------------------------------------------------------ Python API
    def add_frame(self, capture_us: int, size_bytes: int, width: int, height: int,
                  keyframe: bool, quality_db: float, ref: int, n_media: int, n_fec: int,
                  first_seq: int) -> int:
        """Register the next encoded frame; returns its index."""
        cdef Py_ssize_t f = self.c_add_frame(capture_us, size_bytes, width, height,
                                             keyframe, quality_db, ref, n_media, n_fec,
                                             first_seq)
        if f < 0:
            raise MemoryError("receiver frame table")
        return f

    def on_packet(self, kind: int, frame: int, media_seq: int, arrival_us: int) -> None:
        """One packet (kind 1 rtx, 2 video, 3 fec) of ``frame`` arrived at ``arrival_us``."""
        self.c_on_packet(kind, frame, media_seq, arrival_us)

    def poll(self, now_us: int) -> int:
        """Run the timers at ``now_us``; returns the next timer time (-1 none)."""
        return self.c_poll(now_us)

    def set_rtt(self, rtt_us: int) -> None:
        """Set the round-trip time the receiver paces NACKs and key-frame requests with."""
        self.c_set_rtt(rtt_us)

    def set_nack(self, enabled: bool) -> None:
        """Enable or disable NACK (the sender retransmits on request)."""
        self.c_set_nack(bool(enabled))

    def take_nacks(self) -> list[int]:
        """Media sequence numbers to request now (emptied by the call)."""
        out = [self.nack_out[i] for i in range(self.n_nack_out)]
        self.n_nack_out = 0
        return out

    def take_pli(self) -> bool:
        """True when a key-frame request is to be sent now (cleared by the call)."""
        out = bool(self.pli_out)
        self.pli_out = False
        return out

    @property
    def render_us(self) -> np.ndarray:
        """Render time of every registered frame (-1 never), us."""
        return np.array([self.render_us[i] for i in range(self.n_frames)], dtype=np.int64)

    @property
    def states(self) -> np.ndarray:
        """FrameState of every frame: 0 pending, 1 decoded, 2 dropped, 3 undecodable."""
        return np.array([self.state[i] for i in range(self.n_frames)], dtype=np.uint8)

    @property
    def n(self) -> int:
        """Frames registered."""
        return self.n_frames
