"""Receiver-side feedback generation, per packet in C.

``TwccGeneratorCore`` is libwebrtc's ``TransportSequenceNumberFeedbackGenenerator`` (the
former ``RemoteEstimatorProxy``) over its ``PacketArrivalTimeMap``: arrivals keyed by the
unwrapped transport sequence number (at most 2^15 of them), duplicates ignored, packets
older than the 500 ms back window culled when a new feedback starts, reordered packets
re-reported, and periodic feedback built from where the previous one stopped, split into
several packets whenever a delta or the size does not fit.

``CcfbGeneratorCore`` is its ``CongestionControlFeedbackGenerator`` with one
``CongestionControlFeedbackTracker`` per SSRC (RFC 8888): feedback after a frame's last
packet (marker bit) or 25 ms after the first unreported arrival, at least 25 ms and at
most 500 ms apart, within 500 kbit/s.
"""

from mediaopt._core._check import InputError

from libc.stdint cimport INT64_MIN, int32_t, int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memmove

import numpy as np

from mediaopt._core.rtp_adapter cimport unwrap16
from mediaopt._core.rtp_wire cimport (
    TWCC_MAX_SIZE_BYTES, tb_add, tb_block_length, tb_free, tb_init, tb_reset, tb_write,
)

cdef int64_t NOT_RECEIVED = INT64_MIN
cdef int64_t MAX_PACKETS = 1 << 15            # kMaxNumberOfPackets
cdef int64_t MIN_CAPACITY = 128               # kMinCapacity
cdef int64_t BACK_WINDOW_US = 500_000         # kBackWindow
cdef int64_t MAX_MISSING = 0x7FFE             # kMaxMissingSequenceNumbers
cdef int64_t TWCC_REPORT_BYTES = 20 + 8 + 10 + 30   # kTwccReportSize
cdef int64_t MIN_INTERVAL_US = 50_000         # kMinInterval
cdef int64_t MAX_INTERVAL_US = 250_000        # kMaxInterval
cdef int64_t NTP_JAN_1970 = 2208988800        # seconds from 1900 to 1970


cdef inline int64_t _clamp(int64_t v, int64_t lo, int64_t hi) noexcept nogil:
    return lo if v < lo else (hi if v > hi else v)


cdef class TwccGeneratorCore:
    """Typed kernels of ``mediaopt.rtp.FeedbackGenerator`` for transport-cc."""

    def __cinit__(self, int64_t interval_us=100_000, int64_t max_size_bytes=1200):
        self.arrival = NULL
        self.cap = 0
        self.begin_seq = 0
        self.end_seq = 0
        self.unwrapper.last_unwrapped = 0
        self.unwrapper.last_value = -1
        self.has_window = False
        self.window_start = 0
        self.last_process_us = INT64_MIN
        self.interval_us = interval_us
        self.media_ssrc = 0
        self.fb_count = 0
        self.max_size_bytes = max_size_bytes
        self.oom = False
        tb_init(&self.b)

    def __dealloc__(self):
        free(self.arrival)
        tb_free(&self.b)

    # ------------------------------------------------------------------ arrival map

    cdef int _reallocate(self, int64_t new_cap) noexcept nogil:
        cdef int64_t* nb = <int64_t*>malloc(new_cap * sizeof(int64_t))
        cdef int64_t s
        if nb == NULL:
            self.oom = True
            return -1
        if self.arrival != NULL:
            for s in range(self.begin_seq, self.end_seq):
                nb[s & (new_cap - 1)] = self.arrival[s & (self.cap - 1)]
        free(self.arrival)
        self.arrival = nb
        self.cap = new_cap
        return 0

    cdef int _adjust_to_size(self, int64_t new_size) noexcept nogil:
        cdef int64_t c = self.cap, floor
        if new_size > c:
            while c < new_size:
                c *= 2
            return self._reallocate(c)
        floor = MIN_CAPACITY if MIN_CAPACITY > 4 * new_size else 4 * new_size
        if c > floor:
            floor = MIN_CAPACITY if MIN_CAPACITY > new_size else new_size
            while c > 2 * floor:
                c //= 2
            return self._reallocate(c)
        return 0

    cdef void _set_not_received(self, int64_t begin, int64_t end) noexcept nogil:
        cdef int64_t s
        for s in range(begin, end):
            self.arrival[s & (self.cap - 1)] = NOT_RECEIVED

    cdef bint _has_received(self, int64_t seq) noexcept nogil:
        return (self.cap > 0 and self.begin_seq <= seq < self.end_seq
                and self.arrival[seq & (self.cap - 1)] >= 0)

    cdef int _add_packet(self, int64_t seq, int64_t arrival_us) noexcept nogil:
        # PacketArrivalTimeMap::AddPacket
        cdef int64_t new_end
        if self.cap == 0:
            if self._reallocate(MIN_CAPACITY) != 0:
                return -1
            self.begin_seq = seq
            self.end_seq = seq + 1
            self.arrival[seq & (self.cap - 1)] = arrival_us
            return 0
        if self.begin_seq <= seq < self.end_seq:
            self.arrival[seq & (self.cap - 1)] = arrival_us
            return 0
        if seq < self.begin_seq:
            if self.end_seq - seq > MAX_PACKETS:
                return 0                # would push out newer packets
            if self._adjust_to_size(self.end_seq - seq) != 0:
                return -1
            self.arrival[seq & (self.cap - 1)] = arrival_us
            self._set_not_received(seq + 1, self.begin_seq)
            self.begin_seq = seq
            return 0
        new_end = seq + 1
        if new_end >= self.end_seq + MAX_PACKETS:
            self.begin_seq = seq
            self.end_seq = new_end
            self.arrival[seq & (self.cap - 1)] = arrival_us
            return 0
        if self.begin_seq < new_end - MAX_PACKETS:
            self.begin_seq = new_end - MAX_PACKETS
        if self._adjust_to_size(new_end - self.begin_seq) != 0:
            return -1
        self._set_not_received(self.end_seq, seq)
        self.end_seq = new_end
        self.arrival[seq & (self.cap - 1)] = arrival_us
        return 0

    cdef void _remove_old(self, int64_t seq, int64_t limit_us) noexcept nogil:
        cdef int64_t check_to = seq if seq < self.end_seq else self.end_seq
        while self.begin_seq < check_to and \
                self.arrival[self.begin_seq & (self.cap - 1)] <= limit_us:
            self.begin_seq += 1
        self._adjust_to_size(self.end_seq - self.begin_seq)

    # ------------------------------------------------------------------ feedback

    cdef int _build(self, bint include_timestamps, int64_t begin_incl, int64_t end_excl,
                    bint periodic) noexcept nogil:
        # MaybeBuildFeedbackPacket into self.b: 1 when a packet was started, else 0.
        cdef int64_t start = _clamp(begin_incl, self.begin_seq, self.end_seq)
        cdef int64_t endc = _clamp(end_excl, self.begin_seq, self.end_seq)
        cdef int64_t seq = start, nxt = begin_incl, base, t
        cdef bint started = False
        while seq < endc:
            while self.arrival[seq & (self.cap - 1)] < 0:
                seq += 1                # FindNextAtOrAfter: the last entry is received
            if seq >= endc:
                break
            t = self.arrival[seq & (self.cap - 1)]
            if not started:
                base = seq - MAX_MISSING
                if base < begin_incl:
                    base = begin_incl
                tb_reset(&self.b, <uint16_t>(base & 0xFFFF), t, include_timestamps,
                         self.max_size_bytes)
                if not tb_add(&self.b, <uint16_t>(seq & 0xFFFF), t):
                    self.window_start = seq
                    return 0
                started = True
            elif not tb_add(&self.b, <uint16_t>(seq & 0xFFFF), t):
                break                   # full or a delta out of range: next packet
            nxt = seq + 1
            seq += 1
        if periodic:
            self.window_start = nxt
        return 1 if started else 0

    def on_received(self, uint16_t transport_seq, int64_t arrival_us, uint32_t ssrc):
        """OnReceivedPacket for a packet carrying the transport-wide sequence number."""
        cdef int64_t seq
        with nogil:
            self.media_ssrc = ssrc
            seq = unwrap16(&self.unwrapper, transport_seq)
            # MaybeCullOldPackets: a new feedback starts and the packet is old enough
            if self.has_window and self.window_start >= self.end_seq and \
                    arrival_us >= BACK_WINDOW_US and self.cap > 0:
                self._remove_old(seq, arrival_us - BACK_WINDOW_US)
            if not self.has_window or seq < self.window_start:
                self.window_start = seq
                self.has_window = True
            if not self._has_received(seq):
                self._add_packet(seq, arrival_us)
                if self.window_start < self.begin_seq:
                    self.window_start = self.begin_seq
        if self.oom:
            raise MemoryError("transport-cc arrival map")

    def poll(self, int64_t now_us, uint32_t sender_ssrc):
        """Process(now): the periodic feedback packets due now (a list of bytes)."""
        out = []
        cdef int64_t end
        cdef int got
        cdef uint8_t[::1] o
        if self.last_process_us != INT64_MIN and now_us < self.last_process_us + self.interval_us:
            return out
        self.last_process_us = now_us
        if not self.has_window or self.cap == 0:
            return out
        end = self.end_seq
        while self.window_start < end:
            with nogil:
                got = self._build(True, self.window_start, end, True)
            if not got:
                break
            buf = bytearray(tb_block_length(&self.b))
            o = buf
            with nogil:
                tb_write(&self.b, &o[0], sender_ssrc, self.media_ssrc, self.fb_count)
            self.fb_count = <uint8_t>(self.fb_count + 1)
            out.append(bytes(buf))
        if self.b.oom:
            raise MemoryError("transport-cc builder")
        return out

    def set_interval(self, int64_t interval_us):
        """Set the periodic feedback interval, us."""
        self.interval_us = interval_us

    def interval_for_estimate(self, int64_t estimate_bps):
        """OnSendBandwidthEstimateChanged: the interval that keeps feedback at 5 %."""
        cdef int64_t min_rate = TWCC_REPORT_BYTES * 8 * 1_000_000 // MAX_INTERVAL_US
        cdef double v = 0.05 * <double>estimate_bps
        cdef int64_t twcc_bps = <int64_t>(v + 0.5) if v >= 0 else 0
        cdef int64_t iv
        if twcc_bps <= min_rate:
            return MAX_INTERVAL_US
        iv = TWCC_REPORT_BYTES * 8 * 1_000_000 // twcc_bps
        return iv if iv > MIN_INTERVAL_US else MIN_INTERVAL_US

    @property
    def window(self):
        """(first sequence number of the next feedback or None, map begin, map end)."""
        return (self.window_start if self.has_window else None, self.begin_seq,
                self.end_seq)


# ---------------------------------------------------------------------- RFC 8888

cdef inline int64_t _rate_times_us_bytes(int64_t bps, int64_t us) noexcept nogil:
    # DataRate * TimeDelta -> DataSize, rounded to the nearest byte
    return (bps * us + 4_000_000) // 8_000_000


cdef uint32_t compact_ntp(int64_t now_us) noexcept nogil:
    # SimulatedClock::ConvertTimestampToNtpTime + CompactNtp
    cdef uint32_t seconds = <uint32_t>(now_us // 1_000_000 + NTP_JAN_1970)
    cdef uint32_t fractions = <uint32_t>((now_us % 1_000_000) * (<int64_t>1 << 32) // 1_000_000)
    return (seconds << 16) | (fractions >> 16)


cdef class CcfbGeneratorCore:
    """Typed kernels of ``mediaopt.rtp.FeedbackGenerator`` for RFC 8888."""

    def __cinit__(self, int64_t min_between_us=25_000, int64_t max_wait_marker_us=25_000,
                  int64_t max_between_us=500_000, int64_t max_rate_bps=500_000,
                  int64_t ntp_offset_us=0):
        self.n_trackers = 0
        self.min_between_us = min_between_us
        self.max_wait_marker_us = max_wait_marker_us
        self.max_between_us = max_between_us
        self.max_rate_bps = max_rate_bps
        self.debt_bytes = 0
        self.last_sent_us = INT64_MIN
        self.has_first_arrival = False
        self.first_arrival_us = 0
        self.marker_seen = False
        self.next_possible_us = 0
        self.ntp_offset_us = ntp_offset_us
        self.oom = False

    def __dealloc__(self):
        cdef int i
        for i in range(self.n_trackers):
            free(self.trackers[i].packets)

    cdef CcfbTracker* _tracker(self, uint32_t ssrc) noexcept nogil:
        cdef int i, j
        cdef CcfbPacketC* buf
        for i in range(self.n_trackers):
            if self.trackers[i].ssrc == ssrc:
                return &self.trackers[i]
        if self.n_trackers == CCFB_MAX_SSRCS:
            return NULL
        buf = <CcfbPacketC*>malloc((CCFB_MAX_PER_SSRC + CCFB_KEEP_FOR_REORDER)
                                   * sizeof(CcfbPacketC))
        if buf == NULL:
            self.oom = True
            return NULL
        i = 0
        while i < self.n_trackers and self.trackers[i].ssrc < ssrc:
            i += 1
        j = self.n_trackers
        while j > i:
            self.trackers[j] = self.trackers[j - 1]
            j -= 1
        self.n_trackers += 1
        self.trackers[i].ssrc = ssrc
        self.trackers[i].unwrapper.last_unwrapped = 0
        self.trackers[i].unwrapper.last_value = -1
        self.trackers[i].packets = buf
        self.trackers[i].n = 0
        self.trackers[i].first_seq = 0
        self.trackers[i].next_seq_in_feedback = 0
        self.trackers[i].n_ignored = 0
        self.trackers[i].n_reported_lost = 0
        self.trackers[i].n_reported_recovered = 0
        return &self.trackers[i]

    cdef int64_t _next_feedback_us(self, int64_t now_us) noexcept nogil:
        cdef int64_t t
        if not self.has_first_arrival:
            t = now_us + self.min_between_us
            return t if t > self.next_possible_us else self.next_possible_us
        if not self.marker_seen:
            t = self.first_arrival_us + self.max_wait_marker_us
            return t if t > self.next_possible_us else self.next_possible_us
        return self.next_possible_us

    def on_received(self, uint32_t ssrc, uint16_t rtp_seq, int64_t arrival_us, bint marker,
                    uint8_t ecn):
        """OnReceivedPacket; returns True when a feedback is due right now."""
        cdef CcfbTracker* tr
        cdef int64_t seq, new_size, i
        cdef CcfbPacketC* info = NULL
        with nogil:
            self.marker_seen = self.marker_seen or marker
            if not self.has_first_arrival:
                self.has_first_arrival = True
                self.first_arrival_us = arrival_us
            tr = self._tracker(ssrc)
            if tr != NULL:
                seq = unwrap16(&tr.unwrapper, rtp_seq)
                # FindOrCreatePacketInfo
                if tr.n == 0:
                    for i in range(CCFB_KEEP_FOR_REORDER):
                        tr.packets[i].arrival_us = NOT_RECEIVED
                        tr.packets[i].ecn = 0
                        tr.packets[i].last_reported_lost = False
                    tr.n = CCFB_KEEP_FOR_REORDER
                    tr.first_seq = seq - CCFB_KEEP_FOR_REORDER + 1
                    tr.next_seq_in_feedback = seq
                    info = &tr.packets[tr.n - 1]
                elif seq < tr.first_seq:
                    info = NULL
                elif seq >= tr.first_seq + tr.n:
                    new_size = seq - tr.first_seq + 1
                    if new_size <= CCFB_MAX_PER_SSRC:
                        for i in range(tr.n, new_size):
                            tr.packets[i].arrival_us = NOT_RECEIVED
                            tr.packets[i].ecn = 0
                            tr.packets[i].last_reported_lost = False
                        tr.n = new_size
                        info = &tr.packets[tr.n - 1]
                else:
                    info = &tr.packets[seq - tr.first_seq]
                if info == NULL:
                    tr.n_ignored += 1
                elif info.arrival_us != NOT_RECEIVED:
                    # a duplicate: the first arrival stays; a CE mark on any copy wins
                    if ecn == 3 and info.ecn != 3:
                        info.ecn = 3
                        if seq < tr.next_seq_in_feedback:
                            tr.next_seq_in_feedback = seq
                else:
                    info.arrival_us = arrival_us
                    info.ecn = ecn
                    if seq < tr.next_seq_in_feedback:
                        tr.next_seq_in_feedback = seq
        if self.oom:
            raise MemoryError("RFC 8888 tracker")
        return self._next_feedback_us(arrival_us) < arrival_us

    def due(self, int64_t now_us):
        """Process(now) would send a feedback now."""
        return self._next_feedback_us(now_us) <= now_us

    def next_feedback_us(self, int64_t now_us):
        """NextFeedbackTime(), us."""
        return self._next_feedback_us(now_us)

    def send(self, int64_t now_us):
        """SendFeedback(now): the reports ``(report_timestamp, ssrc, seq,
        arrival_offset_us, ecn)`` of one packet; updates the send-rate budget."""
        cdef int64_t total = 0, k = 0, j, s, num_erase, length, since, paid, wait
        cdef int i
        cdef CcfbTracker* tr
        for i in range(self.n_trackers):
            tr = &self.trackers[i]
            if tr.n > 0:
                total += tr.first_seq + tr.n - tr.next_seq_in_feedback
        ssrc = np.empty(total, dtype=np.int64)
        seq = np.empty(total, dtype=np.int64)
        offset = np.empty(total, dtype=np.int64)
        ecn = np.empty(total, dtype=np.int64)
        cdef int64_t[::1] sv = ssrc
        cdef int64_t[::1] qv = seq
        cdef int64_t[::1] ov = offset
        cdef int64_t[::1] ev = ecn
        cdef CcfbPacketC* info
        cdef uint32_t rts = compact_ntp(now_us + self.ntp_offset_us)
        with nogil:
            length = 12
            for i in range(self.n_trackers):
                tr = &self.trackers[i]
                if tr.n == 0:
                    continue
                if tr.next_seq_in_feedback == tr.first_seq + tr.n:
                    if tr.n_ignored > 0:
                        tr.n = 0            # everything discarded: assume a sequence reset
                        tr.n_ignored = 0
                    continue
                tr.n_ignored = 0
                num_erase = 0
                for s in range(tr.next_seq_in_feedback, tr.first_seq + tr.n):
                    info = &tr.packets[s - tr.first_seq]
                    if info.arrival_us == NOT_RECEIVED and not info.last_reported_lost:
                        tr.n_reported_lost += 1
                        info.last_reported_lost = True
                    if info.arrival_us != NOT_RECEIVED and info.last_reported_lost:
                        tr.n_reported_recovered += 1
                        info.last_reported_lost = False
                    sv[k] = tr.ssrc
                    qv[k] = s & 0xFFFF
                    ov[k] = (now_us - info.arrival_us if info.arrival_us != NOT_RECEIVED
                             else -1)
                    if ov[k] < -1 or (ov[k] == -1 and info.arrival_us != NOT_RECEIVED):
                        ov[k] = -2                  # arrived after the report time
                    ev[k] = info.ecn
                    k += 1
                    num_erase += 1
                length += 8 + 2 * num_erase + (2 if num_erase % 2 else 0)
                tr.next_seq_in_feedback = tr.first_seq + tr.n
                num_erase = tr.n - CCFB_KEEP_FOR_REORDER
                if num_erase > 0:
                    memmove(tr.packets, tr.packets + num_erase,
                            CCFB_KEEP_FOR_REORDER * sizeof(CcfbPacketC))
                    tr.first_seq += num_erase
                    tr.n = CCFB_KEEP_FOR_REORDER
            self.marker_seen = False
            self.has_first_arrival = False
            # CalculateNextPossibleSendTime
            since = now_us - self.last_sent_us if self.last_sent_us != INT64_MIN else 0
            paid = _rate_times_us_bytes(self.max_rate_bps, since)
            self.debt_bytes = 0 if paid > self.debt_bytes else self.debt_bytes - paid
            self.debt_bytes += length
            self.last_sent_us = now_us
            wait = self.debt_bytes * 8 * 1_000_000 // self.max_rate_bps
            self.next_possible_us = now_us + _clamp(wait, self.min_between_us,
                                                    self.max_between_us)
        return rts, ssrc[:k], seq[:k], offset[:k], ecn[:k]

    @property
    def stats(self):
        """Per SSRC: packets reported lost and reported recovered."""
        return {self.trackers[i].ssrc: {
                    "packets_reported_lost": self.trackers[i].n_reported_lost,
                    "packets_reported_recovered": self.trackers[i].n_reported_recovered}
                for i in range(self.n_trackers)}
