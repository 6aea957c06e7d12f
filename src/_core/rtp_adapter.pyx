"""The sender's feedback adapter: libwebrtc's ``TransportFeedbackAdapter``, per packet in C.

The send history is a ring buffer keyed by the unwrapped transport sequence number (one
slot per number, O(1) lookups), forgotten after a horizon (libwebrtc's
``kSendTimeHistoryWindow``, 60 s). Feedback is mapped back onto it exactly as
``ProcessTransportFeedback`` / ``ProcessCongestionControlFeedback`` do: the remote base
time is anchored to the local clock at the first feedback and moved by the (millisecond
rounded) base-time deltas after that; received packets leave the history, lost ones stay
(a later feedback may report them received); in-flight bytes drop as the highest
acknowledged sequence number advances. The Python class ``mediaopt.rtp.FeedbackAdapter``
checks the arguments and calls these kernels.
"""

from mediaopt._core._check import InputError

from libc.stdint cimport INT64_MIN, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc

import numpy as np

from mediaopt._core.rtp_wire cimport TWCC_BASE_TICK_US, TWCC_DELTA_TICK_US, TWCC_WRAP_US

cdef int64_t MINUS_INF = INT64_MIN
cdef int64_t MIN_CAP = 128
cdef int64_t US_PER_MS = 1000


cdef int64_t unwrap16(SeqUnwrapper* u, uint16_t value) noexcept nogil:
    # SeqNumUnwrapper<uint16_t>: forward difference, minus 2^16 unless value is ahead.
    cdef int64_t fwd
    cdef uint16_t d
    cdef bint ahead
    if u.last_value < 0:
        u.last_unwrapped = value
    else:
        d = <uint16_t>(value - <uint16_t>u.last_value)
        fwd = d
        if d == 0x8000:
            ahead = <uint16_t>u.last_value < value
        else:
            ahead = d < 0x8000
        if not ahead:
            fwd -= 65536
        u.last_unwrapped += fwd
    u.last_value = value
    return u.last_unwrapped


cdef inline int64_t _round_down_ms(int64_t us) noexcept nogil:
    # TimeDelta::RoundDownTo(1 ms): C division, toward zero.
    return (us // US_PER_MS) * US_PER_MS


cdef inline int64_t _abs(int64_t x) noexcept nogil:
    return -x if x < 0 else x


cdef inline int64_t _divide_round_to_nearest(int64_t dividend, int64_t divisor) noexcept nogil:
    cdef int64_t q = dividend // divisor, r = dividend % divisor
    if dividend < 0:
        if -r > divisor // 2:
            q -= 1
        return q
    if r > (divisor - 1) // 2:
        q += 1
    return q


cdef inline int64_t compact_ntp_interval_us(uint32_t interval) noexcept nogil:
    # CompactNtpIntervalToTimeDelta (modules/rtp_rtcp/source/ntp_time_util.cc).
    cdef int64_t v = interval
    if interval > (<uint32_t>1 << 31):
        v -= (<int64_t>1 << 32)
    return _divide_round_to_nearest(v * 1000000, 1 << 16)


cdef class FeedbackAdapterCore:
    """Typed kernels of ``mediaopt.rtp.FeedbackAdapter`` (see the module docstring)."""

    def __cinit__(self, int64_t horizon_us=60_000_000, int64_t max_packets=1 << 18):
        cdef int64_t c = MIN_CAP
        while c < max_packets:
            c *= 2
        self.max_cap = c
        self.cap = MIN_CAP
        self.hist = <SentPacketC*>malloc(self.cap * sizeof(SentPacketC))
        if self.hist == NULL:
            raise MemoryError("feedback adapter history")
        cdef int64_t i
        for i in range(self.cap):
            self.hist[i].seq = -1
        self.begin_seq = 0
        self.end_seq = 0
        self.horizon_us = horizon_us
        self.unwrapper.last_unwrapped = 0
        self.unwrapper.last_value = -1
        self.last_ack_seq = -1
        self.in_flight_bytes = 0
        self.current_offset_us = MINUS_INF
        self.last_base_time_us = MINUS_INF
        self.last_compact_ntp = -1
        self.n_ssrcs = 0
        self.failed_lookups = 0
        self.n_forgotten = 0
        self.oom = False

    def __dealloc__(self):
        cdef int i
        free(self.hist)
        for i in range(self.n_ssrcs):
            free(self.ssrcs[i].transport_seq)

    # ------------------------------------------------------------------ history

    cdef SentPacketC* _find(self, int64_t seq) noexcept nogil:
        cdef SentPacketC* e
        if seq < self.begin_seq or seq >= self.end_seq:
            return NULL
        e = &self.hist[seq & (self.cap - 1)]
        return e if e.seq == seq else NULL

    cdef int64_t* _ssrc_slot(self, uint32_t ssrc, bint create) noexcept nogil:
        cdef int i
        cdef int64_t* t
        for i in range(self.n_ssrcs):
            if self.ssrcs[i].ssrc == ssrc:
                return self.ssrcs[i].transport_seq
        if not create or self.n_ssrcs == MAX_SSRCS:
            return NULL
        t = <int64_t*>malloc(65536 * sizeof(int64_t))
        if t == NULL:
            self.oom = True
            return NULL
        for i in range(65536):
            t[i] = -1
        self.ssrcs[self.n_ssrcs].ssrc = ssrc
        self.ssrcs[self.n_ssrcs].transport_seq = t
        self.n_ssrcs += 1
        return t

    cdef void _forget_rtp(self, SentPacketC* e) noexcept nogil:
        cdef int64_t* t
        if e.rtp_seq < 0:
            return
        t = self._ssrc_slot(e.ssrc, False)
        if t != NULL and t[e.rtp_seq] == e.seq:
            t[e.rtp_seq] = -1

    cdef void _skip_empty(self) noexcept nogil:
        while self.begin_seq < self.end_seq and \
                self.hist[self.begin_seq & (self.cap - 1)].seq != self.begin_seq:
            self.begin_seq += 1

    cdef void _evict_oldest(self) noexcept nogil:
        self._skip_empty()
        if self.begin_seq >= self.end_seq:
            return
        cdef SentPacketC* e = &self.hist[self.begin_seq & (self.cap - 1)]
        if e.seq > self.last_ack_seq:
            self.in_flight_bytes -= e.size_bytes
        self._forget_rtp(e)
        e.seq = -1
        self.n_forgotten += 1
        self.begin_seq += 1
        self._skip_empty()

    cdef int _grow(self, int64_t need) noexcept nogil:
        cdef int64_t c = self.cap, i, s
        cdef SentPacketC* nb
        while c < need:
            c *= 2
        if c == self.cap:
            return 0
        nb = <SentPacketC*>malloc(c * sizeof(SentPacketC))
        if nb == NULL:
            self.oom = True
            return -1
        for i in range(c):
            nb[i].seq = -1
        for s in range(self.begin_seq, self.end_seq):
            if self.hist[s & (self.cap - 1)].seq == s:
                nb[s & (c - 1)] = self.hist[s & (self.cap - 1)]
        free(self.hist)
        self.hist = nb
        self.cap = c
        return 0

    cdef int _reserve(self, int64_t seq, int64_t now_us) noexcept nogil:
        # Make the ring cover seq; -1 when it cannot (too old, or out of memory).
        cdef int64_t s
        if self.begin_seq >= self.end_seq:
            self.begin_seq = seq
            self.end_seq = seq + 1
            self.hist[seq & (self.cap - 1)].seq = -1
            return 0
        if seq >= self.end_seq:
            while self.begin_seq < self.end_seq and seq + 1 - self.begin_seq > self.max_cap:
                self._evict_oldest()
            if self.begin_seq >= self.end_seq:
                self.begin_seq = seq
                self.end_seq = seq + 1
                self.hist[seq & (self.cap - 1)].seq = -1
                return 0
            if self._grow(seq + 1 - self.begin_seq) != 0:
                return -1
            for s in range(self.end_seq, seq + 1):
                self.hist[s & (self.cap - 1)].seq = -1
            self.end_seq = seq + 1
            return 0
        if seq < self.begin_seq:
            if self.end_seq - seq > self.max_cap:
                return -1
            if self._grow(self.end_seq - seq) != 0:
                return -1
            for s in range(seq, self.begin_seq):
                self.hist[s & (self.cap - 1)].seq = -1
            self.begin_seq = seq
        return 0

    cdef SentPacketC* _retrieve(self, int64_t seq, bint received) noexcept nogil:
        # RetrievePacketFeedback: advance the acknowledged mark (in-flight bytes), then
        # find the packet; a received one leaves the history. Returns NULL when unknown.
        cdef int64_t s, lo, hi
        cdef SentPacketC* e
        if seq > self.last_ack_seq:
            lo = self.last_ack_seq + 1
            if lo < self.begin_seq:
                lo = self.begin_seq
            hi = seq if seq < self.end_seq - 1 else self.end_seq - 1
            for s in range(lo, hi + 1):
                e = self._find(s)
                if e != NULL:
                    self.in_flight_bytes -= e.size_bytes
            self.last_ack_seq = seq
        return self._find(seq)

    cdef void _take(self, SentPacketC* e, bint received) noexcept nogil:
        # After the caller copied e: a received packet leaves the history, a lost one is
        # marked so that the next report knows it was reported lost before.
        if received:
            self._forget_rtp(e)
            e.seq = -1
            self._skip_empty()
        else:
            e.flags |= SENT_LOST_BEFORE

    # ------------------------------------------------------------------ kernels

    def on_sent(self, uint16_t transport_seq, int64_t send_us, int64_t size_bytes,
                int32_t probe_cluster, int64_t ssrc, int32_t rtp_seq, bint ect1):
        """AddPacket + ProcessSentPacket; returns the unwrapped sequence number, or -1 for
        a duplicate (already sent: only its send time is updated)."""
        cdef int64_t seq
        cdef SentPacketC* e
        cdef int64_t* t
        cdef SentPacketC* old
        with nogil:
            seq = unwrap16(&self.unwrapper, transport_seq)
            while self.begin_seq < self.end_seq:
                self._skip_empty()
                if self.begin_seq >= self.end_seq:
                    break
                if send_us - self.hist[self.begin_seq & (self.cap - 1)].creation_us \
                        <= self.horizon_us:
                    break
                self._evict_oldest()
            e = self._find(seq)
            if e != NULL:
                e.send_us = send_us
                seq = -1
            elif self._reserve(seq, send_us) == 0:
                e = &self.hist[seq & (self.cap - 1)]
                e.seq = seq
                e.send_us = send_us
                e.creation_us = send_us
                e.size_bytes = size_bytes
                e.probe_cluster = probe_cluster
                e.ssrc = <uint32_t>(ssrc if ssrc >= 0 else 0)
                e.rtp_seq = rtp_seq if ssrc >= 0 else -1
                e.flags = SENT_ECT1 if ect1 else 0
                if seq > self.last_ack_seq:
                    self.in_flight_bytes += size_bytes
                if e.rtp_seq >= 0:
                    t = self._ssrc_slot(e.ssrc, True)
                    if t != NULL:
                        old = self._find(t[e.rtp_seq]) if t[e.rtp_seq] >= 0 else NULL
                        # map::emplace keeps an existing live mapping (audio resends)
                        if old == NULL or old.ssrc != e.ssrc or old.rtp_seq != e.rtp_seq:
                            t[e.rtp_seq] = seq
            else:
                seq = -2
        if self.oom:
            raise MemoryError("feedback adapter history")
        return seq

    def process_twcc(self, uint16_t base_seq, int64_t base_time_ticks,
                     const uint8_t[::1] status, const int16_t[::1] deltas, int64_t now_us,
                     int64_t[::1] out_seq, int64_t[::1] out_send, int64_t[::1] out_arrival,
                     int64_t[::1] out_size, int32_t[::1] out_probe, uint8_t[::1] out_flags):
        """ProcessTransportFeedback into the out arrays (len(status) each); returns n."""
        cdef Py_ssize_t count = status.shape[0], i, k = 0, n = 0
        cdef int64_t base_time, delta, wrap = TWCC_WRAP_US, since_base = 0, seq, arr
        cdef SentPacketC* e
        cdef bint received
        if count == 0:
            return 0
        with nogil:
            base_time = wrap + base_time_ticks * TWCC_BASE_TICK_US
            if self.last_base_time_us == MINUS_INF:
                self.current_offset_us = now_us
            else:
                # GetBaseDelta: the shortest way round the 24-bit wrap
                delta = base_time - self.last_base_time_us
                if _abs(delta - wrap) < _abs(delta):
                    delta -= wrap
                elif _abs(delta + wrap) < _abs(delta):
                    delta += wrap
                delta = _round_down_ms(delta)
                if delta < -self.current_offset_us:
                    self.current_offset_us = now_us     # "unexpected feedback timestamp"
                else:
                    self.current_offset_us += delta
            self.last_base_time_us = base_time
            for i in range(count):
                received = status[i] != 0
                if received:
                    since_base += <int64_t>deltas[k] * TWCC_DELTA_TICK_US
                    k += 1
                seq = unwrap16(&self.unwrapper, <uint16_t>(base_seq + i))
                e = self._retrieve(seq, received)
                if e == NULL:
                    self.failed_lookups += 1
                    continue
                out_seq[n] = seq
                out_send[n] = e.send_us
                out_size[n] = e.size_bytes
                out_probe[n] = e.probe_cluster
                out_flags[n] = 0
                if received:
                    arr = self.current_offset_us + _round_down_ms(since_base)
                    out_arrival[n] = arr if arr >= 0 else 0
                else:
                    out_arrival[n] = -1
                    if not (e.flags & SENT_LOST_BEFORE):
                        out_flags[n] = 1
                n += 1
                self._take(e, received)
        return n

    def process_ccfb(self, uint32_t report_timestamp, const uint32_t[::1] ssrc,
                     const uint16_t[::1] rtp_seq, const uint8_t[::1] received,
                     const uint16_t[::1] ato, int64_t now_us,
                     int64_t[::1] out_seq, int64_t[::1] out_send, int64_t[::1] out_arrival,
                     int64_t[::1] out_size, int32_t[::1] out_probe, uint8_t[::1] out_flags):
        """ProcessCongestionControlFeedback's explicit reports; returns (n, min_seq,
        max_seq) of the transport sequence numbers found (-1, -1 when none)."""
        cdef Py_ssize_t count = ssrc.shape[0], i, n = 0
        cdef int64_t fd, tseq, lo = -1, hi = -1, ato_us, arr
        cdef int64_t* t
        cdef SentPacketC* e
        cdef bint rec_bit, finite, is_received
        if count == 0:
            return 0, -1, -1
        with nogil:
            if self.current_offset_us == MINUS_INF:
                self.current_offset_us = now_us
            fd = 0
            if self.last_compact_ntp >= 0:
                fd = compact_ntp_interval_us(
                    <uint32_t>(report_timestamp - <uint32_t>self.last_compact_ntp))
            self.last_compact_ntp = report_timestamp
            if fd < -500_000:
                self.current_offset_us = now_us
            else:
                self.current_offset_us += fd
            for i in range(count):
                t = self._ssrc_slot(ssrc[i], False)
                tseq = t[rtp_seq[i]] if t != NULL else -1
                e = self._find(tseq) if tseq >= 0 else NULL
                if e == NULL or e.ssrc != ssrc[i] or e.rtp_seq != rtp_seq[i]:
                    self.failed_lookups += 1
                    continue
                rec_bit = received[i] != 0
                # PacketInfo: over-range is received but not finite; unavailable is lost
                is_received = rec_bit and ato[i] != 0x1FFF
                finite = rec_bit and ato[i] < 0x1FFE
                e = self._retrieve(tseq, finite)
                if e == NULL:
                    self.failed_lookups += 1
                    continue
                if lo < 0 or tseq < lo:
                    lo = tseq
                if tseq > hi:
                    hi = tseq
                out_seq[n] = tseq
                out_send[n] = e.send_us
                out_size[n] = e.size_bytes
                out_probe[n] = e.probe_cluster
                out_flags[n] = 0
                if finite:
                    ato_us = <int64_t>ato[i] * 1000000 // 1024
                    arr = self.current_offset_us - ato_us
                    out_arrival[n] = arr if arr >= 0 else 0
                else:
                    out_arrival[n] = -1
                if is_received and (e.flags & SENT_LOST_BEFORE):
                    out_flags[n] = 2                    # recovered for the first time
                elif not is_received and not (e.flags & SENT_LOST_BEFORE):
                    out_flags[n] = 1                    # lost for the first time
                n += 1
                self._take(e, finite)
        return n, lo, hi

    def implicit_losses(self, int64_t lo, int64_t hi, int64_t[::1] out_seq,
                        int64_t[::1] out_send, int64_t[::1] out_arrival,
                        int64_t[::1] out_size, int32_t[::1] out_probe, uint8_t[::1] out_flags):
        """Packets in [lo, hi] still in the history and never reported lost: report them
        lost now (RFC 8888 leaves out a stream with no packet received)."""
        cdef int64_t s
        cdef Py_ssize_t n = 0, cap = out_seq.shape[0]
        cdef SentPacketC* e
        with nogil:
            for s in range(lo, hi + 1):
                if n >= cap:
                    break
                e = self._find(s)
                if e == NULL or (e.flags & SENT_LOST_BEFORE):
                    continue
                e.flags |= SENT_LOST_BEFORE
                out_seq[n] = s
                out_send[n] = e.send_us
                out_arrival[n] = -1
                out_size[n] = e.size_bytes
                out_probe[n] = e.probe_cluster
                out_flags[n] = 1
                n += 1
        return n

    @property
    def history_packets(self):
        """Packets currently in the send history."""
        cdef int64_t s, n = 0
        for s in range(self.begin_seq, self.end_seq):
            if self.hist[s & (self.cap - 1)].seq == s:
                n += 1
        return n
