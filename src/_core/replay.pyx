"""The closed-loop replay: sender, pacer, link, receiver, feedback, estimator, adaptation.

One event-driven loop in integer microseconds. At each step the loop takes the earliest
of its timers (video capture at the adaptation's frame rate, audio every 20 ms, the
pacer's next release, the receiver's feedback every ``feedback_interval_us``, the
estimator's 25 ms process tick, the receiver's NACK/stall timer, the next reverse-path
message, the next IntervalLog boundary), first hands every packet the link has delivered
by then to the receiver (in arrival order, with its arrival time), then runs the due
events in a fixed order. No Python object is touched per packet; with a native estimator
the whole run holds no GIL. A Python estimator (``on_feedback``/``target_bps``) runs in
the same loop: only its feedback calls take the GIL. See docs/replay.md.
"""

from mediaopt._core._check import InputError

import numpy as np

from libc.math cimport floor
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from mediaopt._core.adaptation cimport AdaptationCore, EncoderSettingsC
from mediaopt._core.gcc cimport GccEstimator
from mediaopt._core.link cimport Link
from mediaopt._core.rng cimport rng_seed, rng_uniform
from mediaopt._core.pacer cimport (
    KIND_AUDIO, KIND_FEC, KIND_PADDING, KIND_RTX, KIND_VIDEO, Pacer, PacketC,
)
from mediaopt._core.receiver cimport Receiver
from mediaopt._core.sender cimport (
    EncodedFrameC, PKT_MAX_PAYLOAD_BYTES, PKT_OVERHEAD_BYTES, VideoSource, packet_count,
    packet_payload,
)

cdef int64_t NEVER = 0x7FFFFFFFFFFFFFFF
# Bytes of a key-frame request / NACK / transport-feedback message are not modelled: the
# reverse path only delays (and may lose) them.
cdef double PAYLOAD_SHARE = <double>PKT_MAX_PAYLOAD_BYTES / <double>(
    PKT_MAX_PAYLOAD_BYTES + PKT_OVERHEAD_BYTES)
cdef double PY_PACING_FACTOR = 2.5      # libwebrtc's default pacing factor
cdef double PY_LOSS_GAIN = 0.3          # smoothing of the loss the Python path reports
cdef int64_t MIN_RTX_INTERVAL_US = 5000
# Reverse-path message sizes, used only when the reverse path is a Link: IPv4+UDP 28 B +
# RTCP; transport feedback (draft-holmer-rmcat-transport-wide-cc-extensions) 20 B of
# header plus about 2 B per reported packet; a generic NACK 16 B; a PLI 12 B.
cdef int64_t FEEDBACK_BASE_BYTES = 48
cdef int64_t NACK_BYTES = 44
cdef int64_t PLI_BYTES = 40


cdef class ReplayLoop:
    """One session of the closed loop (built by :func:`mediaopt.replay.replay`).

    ``ReplayLoop(link, adaptation_core, duration_us, estimator=None, py_estimator=None,
    ...)``; ``run()`` executes it once; ``frame_arrays()``/``interval_arrays()`` return
    the logs as numpy arrays and ``stats()`` the counters.
    """

    def __cinit__(self):
        self.tx = NULL
        self.rtx = NULL
        self.msgs = NULL
        self.arr = NULL
        self.fb_send = NULL
        self.fb_arrival = NULL
        self.fb_size = NULL
        self.fb_probe = NULL
        self.iv_target = NULL
        self.iv_sent = NULL
        self.iv_goodput = NULL
        self.iv_psent = NULL
        self.iv_plost = NULL
        self.iv_rtt = NULL
        self.n_rev = 0

    def __dealloc__(self):
        free(self.tx)
        free(self.rtx)
        free(self.msgs)
        free(self.arr)
        free(self.fb_send)
        free(self.fb_arrival)
        free(self.fb_size)
        free(self.fb_probe)
        free(self.iv_target)
        free(self.iv_sent)
        free(self.iv_goodput)
        free(self.iv_psent)
        free(self.iv_plost)
        free(self.iv_rtt)

    def __init__(self, Link link not None, AdaptationCore adaptation not None,
                 int64_t duration_us, *, GccEstimator estimator=None, py_estimator=None,
                 int64_t start_bps=300_000, uint64_t seed=0,
                 int64_t one_way_delay_us=50_000, reverse_delay_t_us=None,
                 reverse_delay_us=None, int64_t reverse_period_us=0,
                 int64_t feedback_interval_us=50_000, double feedback_loss=0.0,
                 int64_t interval_us=100_000, int64_t audio_bps=32_000,
                 int64_t audio_interval_us=20_000, int32_t max_width=1280,
                 int32_t max_height=720, dict source_options=None, Link reverse_link=None):
        if (estimator is None) == (py_estimator is None):
            raise InputError("exactly one of estimator and py_estimator must be given")
        if duration_us <= 0:
            raise InputError(f"duration_us must be > 0, got {duration_us}")
        if feedback_interval_us <= 0 or interval_us <= 0 or audio_interval_us <= 0:
            raise InputError("feedback_interval_us, interval_us and audio_interval_us must be > 0")
        if not (0.0 <= feedback_loss < 1.0):
            raise InputError(f"feedback_loss must be in [0, 1), got {feedback_loss}")
        if audio_bps < 0 or one_way_delay_us < 0 or start_bps <= 0:
            raise InputError("audio_bps and one_way_delay_us must be >= 0, start_bps > 0")
        self.link = link
        self.rev_link = reverse_link
        self.msg_serial_head = 0
        self.est = estimator
        self.py_est = py_estimator
        self.adapt = adaptation
        self.video = VideoSource(start_bps=start_bps, seed=seed, ref_width=max_width,
                                 ref_height=max_height, **(source_options or {}))
        self.pacer = Pacer(<int64_t>(start_bps * PY_PACING_FACTOR))
        self.rx = Receiver(max(1024, <Py_ssize_t>(duration_us // 20_000)))
        self.end_us = duration_us
        self.feedback_interval_us = feedback_interval_us
        self.process_interval_us = 25_000
        self.interval_us = interval_us
        self.feedback_loss = feedback_loss
        self.audio_interval_us = audio_interval_us
        self.audio_payload_bytes = audio_bps * audio_interval_us // 8_000_000
        if audio_bps > 0 and self.audio_payload_bytes < 1:
            self.audio_payload_bytes = 1
        self.audio_wire_bps = (0 if audio_bps == 0 else
                               (self.audio_payload_bytes + PKT_OVERHEAD_BYTES) * 8_000_000
                               // audio_interval_us)
        self.rev_const_us = one_way_delay_us
        cdef const int64_t[::1] rt
        cdef const int64_t[::1] rd
        if reverse_delay_t_us is not None:
            rt_arr = np.ascontiguousarray(reverse_delay_t_us, dtype=np.int64)
            rd_arr = np.ascontiguousarray(reverse_delay_us, dtype=np.int64)
            if rt_arr.shape[0] != rd_arr.shape[0] or rt_arr.shape[0] == 0:
                raise InputError("reverse delay steps: times and delays must match, non-empty")
            if reverse_period_us <= 0:
                raise InputError("reverse_period_us must be > 0 with delay steps")
            self._rev_owner = (rt_arr, rd_arr)
            rt = rt_arr
            rd = rd_arr
            self.rev_t_us = &rt[0]
            self.rev_delay_us = &rd[0]
            self.n_rev = rt_arr.shape[0]
            self.rev_period_us = reverse_period_us
            self.rev_cursor = 0
        rng_seed(&self.rng, seed ^ <uint64_t>0xFEEDBAC4)
        self.target_bps = start_bps
        self.rtt_us = -1
        self.py_loss = 0.0
        self.fec_carry = 0.0
        self.tseq = 0
        self.media_seq = 0
        self.rx_highest = -1
        self.fb_next = 0
        self.last_deliver_us = 0
        self.t_rx = -1
        self._error = None
        self.oom = False
        self.tx = <TxRecord*>malloc(TX_RING * sizeof(TxRecord))
        self.rtx = <RtxRecord*>malloc(RTX_RING * sizeof(RtxRecord))
        self.msg_cap = 256
        self.msgs = <Msg*>malloc(self.msg_cap * sizeof(Msg))
        self.arr_cap = 1024
        self.arr = <Arrival*>malloc(self.arr_cap * sizeof(Arrival))
        self.fb_cap = 1024
        self.fb_send = <int64_t*>malloc(self.fb_cap * sizeof(int64_t))
        self.fb_arrival = <int64_t*>malloc(self.fb_cap * sizeof(int64_t))
        self.fb_size = <int64_t*>malloc(self.fb_cap * sizeof(int64_t))
        self.fb_probe = <int32_t*>malloc(self.fb_cap * sizeof(int32_t))
        self.n_iv = <Py_ssize_t>((duration_us + interval_us - 1) // interval_us)
        self.iv_target = <int64_t*>malloc(self.n_iv * sizeof(int64_t))
        self.iv_sent = <int64_t*>malloc(self.n_iv * sizeof(int64_t))
        self.iv_goodput = <int64_t*>malloc(self.n_iv * sizeof(int64_t))
        self.iv_psent = <int64_t*>malloc(self.n_iv * sizeof(int64_t))
        self.iv_plost = <int64_t*>malloc(self.n_iv * sizeof(int64_t))
        self.iv_rtt = <int64_t*>malloc(self.n_iv * sizeof(int64_t))
        if (self.tx == NULL or self.rtx == NULL or self.msgs == NULL or self.arr == NULL
                or self.fb_send == NULL or self.fb_arrival == NULL or self.fb_size == NULL
                or self.fb_probe == NULL or self.iv_target == NULL or self.iv_sent == NULL
                or self.iv_goodput == NULL or self.iv_psent == NULL or self.iv_plost == NULL
                or self.iv_rtt == NULL):
            raise MemoryError("replay buffers")
        cdef Py_ssize_t i
        for i in range(TX_RING):
            self.tx[i].tseq = -1
            self.tx[i].arrival_us = -1
        for i in range(RTX_RING):
            self.rtx[i].media_seq = -1
        for i in range(self.n_iv):
            self.iv_target[i] = 0
            self.iv_sent[i] = 0
            self.iv_goodput[i] = 0
            self.iv_psent[i] = 0
            self.iv_plost[i] = 0
            self.iv_rtt[i] = -1
        self.msg_head = 0
        self.msg_len = 0
        self.arr_head = 0
        self.arr_len = 0
        self.packets_sent = 0
        self.packets_lost = 0
        self.retransmissions = 0
        self.fec_packets = 0
        self.padding_packets = 0
        self.feedback_sent = 0
        self.feedback_lost = 0
        self.plis_received = 0

    # ------------------------------------------------------------------ helpers
    cdef int64_t _rev_delay(self, int64_t t_us) noexcept nogil:
        if self.n_rev == 0:
            return self.rev_const_us
        cdef int64_t t = t_us % self.rev_period_us
        cdef Py_ssize_t i = self.rev_cursor
        if i >= self.n_rev or self.rev_t_us[i] > t:
            i = 0
        while i + 1 < self.n_rev and self.rev_t_us[i + 1] <= t:
            i += 1
        self.rev_cursor = i
        cdef int64_t d = self.rev_const_us + self.rev_delay_us[i]
        return d if d > 0 else 0

    cdef void _post(self, int32_t kind, int64_t gen_us, int64_t a, int64_t b,
                    int64_t size_bytes) noexcept nogil:
        cdef Msg* grown
        cdef Py_ssize_t first
        if self.msg_len == self.msg_cap:
            grown = <Msg*>malloc(2 * self.msg_cap * sizeof(Msg))
            if grown == NULL:
                self.oom = True
                return
            first = self.msg_cap - self.msg_head
            memcpy(grown, self.msgs + self.msg_head, first * sizeof(Msg))
            memcpy(grown + first, self.msgs, self.msg_head * sizeof(Msg))
            free(self.msgs)
            self.msgs = grown
            self.msg_head = 0
            self.msg_cap *= 2
        cdef int64_t d
        cdef int64_t serial = self.msg_serial_head + self.msg_len
        if self.rev_link is not None:
            # The reverse path is a link of its own: its queue and trace decide.
            d = -2
            if self.rev_link.c_enqueue(gen_us, size_bytes, serial) != 0:
                d = -1
        else:
            d = gen_us + self._rev_delay(gen_us)
            if d < self.last_deliver_us:
                d = self.last_deliver_us          # the reverse path does not reorder
            self.last_deliver_us = d
        cdef Msg* m = &self.msgs[(self.msg_head + self.msg_len) & (self.msg_cap - 1)]
        m.gen_us = gen_us
        m.deliver_us = d
        m.a = a
        m.b = b
        m.kind = kind
        self.msg_len += 1

    cdef void _pull_rev(self, int64_t now_us) noexcept nogil:
        cdef Py_ssize_t n, i
        cdef int64_t idx
        while True:
            n = self.rev_link.c_advance(now_us, self.adv_tag, self.adv_arr, ADV_CAP)
            for i in range(n):
                idx = self.adv_tag[i] - self.msg_serial_head
                if 0 <= idx < self.msg_len:
                    self.msgs[(self.msg_head + idx) & (self.msg_cap - 1)].deliver_us = self.adv_arr[i]
            if n < ADV_CAP:
                break

    cdef void _send(self, int64_t now_us, const PacketC* p, int32_t cluster) noexcept nogil:
        cdef int64_t s = self.tseq
        self.tseq += 1
        cdef TxRecord* r = &self.tx[s & (TX_RING - 1)]
        r.tseq = s
        r.send_us = now_us
        r.size_bytes = p.size_bytes
        r.frame = p.frame
        r.media_seq = p.media_seq
        r.arrival_us = -1
        r.probe_cluster = cluster
        r.kind = p.kind
        if self.est is not None:
            self.est.c_on_packet_sent(now_us, p.size_bytes, cluster)
        cdef Py_ssize_t k = <Py_ssize_t>(now_us // self.interval_us)
        if k >= self.n_iv:
            k = self.n_iv - 1
        self.iv_sent[k] += p.size_bytes
        self.iv_psent[k] += 1
        self.packets_sent += 1
        if p.kind == KIND_PADDING:
            self.padding_packets += 1
        if self.link.c_enqueue(now_us, p.size_bytes, s) != 0:
            self.iv_plost[k] += 1
            self.packets_lost += 1

    cdef void _pull_link(self, int64_t now_us) noexcept nogil:
        cdef Py_ssize_t n, i, k, first
        cdef int64_t tag, at
        cdef TxRecord* r
        cdef Arrival* grown
        while True:
            n = self.link.c_advance(now_us, self.adv_tag, self.adv_arr, ADV_CAP)
            for i in range(n):
                tag = self.adv_tag[i]
                at = self.adv_arr[i]
                if at < 0:
                    r = &self.tx[tag & (TX_RING - 1)]
                    if r.tseq == tag:
                        k = <Py_ssize_t>(r.send_us // self.interval_us)
                        if k >= self.n_iv:
                            k = self.n_iv - 1
                        self.iv_plost[k] += 1
                    self.packets_lost += 1
                    continue
                if self.arr_len == self.arr_cap:
                    grown = <Arrival*>malloc(2 * self.arr_cap * sizeof(Arrival))
                    if grown == NULL:
                        self.oom = True
                        return
                    first = self.arr_cap - self.arr_head
                    memcpy(grown, self.arr + self.arr_head, first * sizeof(Arrival))
                    memcpy(grown + first, self.arr, self.arr_head * sizeof(Arrival))
                    free(self.arr)
                    self.arr = grown
                    self.arr_head = 0
                    self.arr_cap *= 2
                self.arr[(self.arr_head + self.arr_len) & (self.arr_cap - 1)].tseq = tag
                self.arr[(self.arr_head + self.arr_len) & (self.arr_cap - 1)].arrival_us = at
                self.arr_len += 1
            if n < ADV_CAP:
                break
        cdef Arrival* a
        while self.arr_len > 0:
            a = &self.arr[self.arr_head]
            if a.arrival_us > now_us:
                break
            tag = a.tseq
            at = a.arrival_us
            self.arr_head = (self.arr_head + 1) & (self.arr_cap - 1)
            self.arr_len -= 1
            self._arrive(tag, at)

    cdef void _arrive(self, int64_t tseq, int64_t at_us) noexcept nogil:
        cdef TxRecord* r = &self.tx[tseq & (TX_RING - 1)]
        if r.tseq != tseq:
            return      # older than the ring: too late to matter
        r.arrival_us = at_us
        if tseq > self.rx_highest:
            self.rx_highest = tseq
        cdef Py_ssize_t k = <Py_ssize_t>(at_us // self.interval_us)
        if k >= self.n_iv:
            k = self.n_iv - 1
        self.iv_goodput[k] += r.size_bytes
        if r.kind == KIND_VIDEO or r.kind == KIND_RTX or r.kind == KIND_FEC:
            self.rx.c_on_packet(r.kind, r.frame, r.media_seq, at_us)
            self._drain_receiver(at_us)

    cdef void _drain_receiver(self, int64_t now_us) noexcept nogil:
        cdef Py_ssize_t i
        cdef bint lost
        if self.rx.n_nack_out > 0:
            lost = self.feedback_loss > 0.0 and rng_uniform(&self.rng) < self.feedback_loss
            if not lost:
                for i in range(self.rx.n_nack_out):
                    self._post(MSG_NACK, now_us, self.rx.nack_out[i], 0, NACK_BYTES)
            self.rx.n_nack_out = 0
        if self.rx.pli_out:
            self.rx.pli_out = False
            lost = self.feedback_loss > 0.0 and rng_uniform(&self.rng) < self.feedback_loss
            if not lost:
                self._post(MSG_PLI, now_us, 0, 0, PLI_BYTES)
        if self.t_rx < 0 and (self.rx.n_nack > 0 or self.rx.blocked_since_us >= 0
                              or self.rx.need_keyframe):
            self.t_rx = now_us + 1

    # ------------------------------------------------------------------ sender side
    cdef void _apply(self, int64_t now_us) noexcept nogil:
        # Audio takes its fixed share of the target first (libwebrtc's BitrateAllocator
        # serves audio before video); the adaptation splits the rest.
        cdef int64_t video_target = self.target_bps - self.audio_wire_bps
        if video_target < self.target_bps // 5:
            video_target = self.target_bps // 5
        cdef double loss
        if self.est is not None:
            loss = self.est.c_loss_ratio()
        else:
            loss = self.py_loss
        if not (loss >= 0.0):
            loss = 0.0
        if loss > 1.0:
            loss = 1.0
        self.adapt.c_update(video_target, loss, self.rtt_us if self.rtt_us > 0 else 0,
                            now_us, &self.settings)
        self.video.c_request_rate(<int64_t>(<double>self.settings.bitrate_bps * PAYLOAD_SHARE),
                                  now_us)
        if self.settings.request_keyframe:
            self.video.c_request_keyframe()
        self.rx.c_set_nack(self.settings.nack)
        cdef int64_t pacing
        if self.est is not None:
            pacing = self.est.c_pacing_bps()
        else:
            pacing = <int64_t>(<double>self.target_bps * PY_PACING_FACTOR)
        self.pacer.c_set_rate(pacing)

    cdef void _pop_probes(self, int64_t now_us) noexcept nogil:
        cdef int64_t br, mb
        cdef int32_t cid, mp
        if self.est is None:
            return
        while self.est.c_pop_probe(now_us, &br, &cid, &mp, &mb):
            self.pacer.c_add_probe(br, cid, mp, mb)

    cdef void _encode_frame(self, int64_t now_us) noexcept nogil:
        cdef EncodedFrameC ef
        cdef EncoderSettingsC* s = &self.settings
        if not self.video.c_encode(now_us, s.width, s.height, s.fps, s.keyframe_interval_s,
                                   s.temporal_layers, &ef):
            return
        cdef int32_t n = packet_count(ef.size_bytes)
        cdef int32_t nf = 0
        cdef double r = s.fec_rate
        if r > 0.0:
            if r > 0.5:
                r = 0.5
            self.fec_carry += <double>n * r / (1.0 - r)
            nf = <int32_t>floor(self.fec_carry)
            self.fec_carry -= nf
        else:
            self.fec_carry = 0.0
        cdef int64_t fidx = self.rx.n_frames
        cdef int64_t ref = fidx - ef.ref_offset if ef.ref_offset > 0 else -1
        cdef Py_ssize_t f = self.rx.c_add_frame(now_us, ef.size_bytes, ef.width, ef.height,
                                                ef.keyframe, ef.quality_db, ref, n, nf,
                                                self.media_seq)
        if f < 0:
            self.oom = True
            return
        cdef PacketC p
        cdef int32_t i
        cdef RtxRecord* h
        p.frame = f
        p.enqueue_us = now_us
        p.kind = KIND_VIDEO
        for i in range(n):
            p.size_bytes = packet_payload(ef.size_bytes, n, i) + PKT_OVERHEAD_BYTES
            p.media_seq = self.media_seq
            p.index = i
            h = &self.rtx[self.media_seq & (RTX_RING - 1)]
            h.media_seq = self.media_seq
            h.size_bytes = p.size_bytes
            h.frame = f
            h.index = i
            h.last_rtx_us = -1
            self.media_seq += 1
            if self.pacer.c_push(&p) != 0:
                self.oom = True
        p.kind = KIND_FEC
        p.media_seq = -1
        p.size_bytes = packet_payload(ef.size_bytes, n, 0) + PKT_OVERHEAD_BYTES
        for i in range(nf):
            p.index = i
            self.fec_packets += 1
            if self.pacer.c_push(&p) != 0:
                self.oom = True

    # ------------------------------------------------------------------ feedback
    cdef int _deliver(self, const Msg* m, int64_t now_us) noexcept nogil:
        cdef RtxRecord* h
        cdef PacketC p
        cdef int64_t guard
        if m.kind == MSG_FEEDBACK:
            return self._on_feedback(m, now_us)
        if m.kind == MSG_NACK:
            h = &self.rtx[m.a & (RTX_RING - 1)]
            if h.media_seq != m.a:
                return 0        # no longer in the packet history
            guard = self.rtt_us if self.rtt_us > MIN_RTX_INTERVAL_US else MIN_RTX_INTERVAL_US
            if h.last_rtx_us >= 0 and now_us - h.last_rtx_us < guard:
                return 0        # retransmitted less than one RTT ago
            h.last_rtx_us = now_us
            p.size_bytes = h.size_bytes
            p.frame = h.frame
            p.media_seq = h.media_seq
            p.enqueue_us = now_us
            p.index = h.index
            p.kind = KIND_RTX
            self.retransmissions += 1
            if self.pacer.c_push(&p) != 0:
                self.oom = True
            return 0
        self.plis_received += 1
        self.video.c_request_keyframe()
        return 0

    cdef int _on_feedback(self, const Msg* m, int64_t now_us) noexcept nogil:
        cdef int64_t a = m.a
        cdef int64_t b = m.b
        if b - a + 1 > TX_RING:
            a = b - TX_RING + 1
        cdef Py_ssize_t n = <Py_ssize_t>(b - a + 1)
        cdef Py_ssize_t i, cap
        cdef int64_t s
        cdef TxRecord* r
        cdef int64_t* p64
        cdef int32_t* p32
        if n <= 0:
            return 0
        if n > self.fb_cap:
            cap = self.fb_cap
            while cap < n:
                cap *= 2
            free(self.fb_send)
            free(self.fb_arrival)
            free(self.fb_size)
            free(self.fb_probe)
            self.fb_send = <int64_t*>malloc(cap * sizeof(int64_t))
            self.fb_arrival = <int64_t*>malloc(cap * sizeof(int64_t))
            self.fb_size = <int64_t*>malloc(cap * sizeof(int64_t))
            self.fb_probe = <int32_t*>malloc(cap * sizeof(int32_t))
            self.fb_cap = cap
            if (self.fb_send == NULL or self.fb_arrival == NULL or self.fb_size == NULL
                    or self.fb_probe == NULL):
                self.oom = True
                self.fb_cap = 0
                return -1
        cdef Py_ssize_t j = 0
        cdef Py_ssize_t last_rx = -1
        cdef int64_t lost = 0
        for s in range(a, b + 1):
            r = &self.tx[s & (TX_RING - 1)]
            if r.tseq != s:
                continue
            self.fb_send[j] = r.send_us
            # Packets that arrived after the report was made are reported lost by it.
            if r.arrival_us >= 0 and r.arrival_us <= m.gen_us:
                self.fb_arrival[j] = r.arrival_us
                last_rx = j
            else:
                self.fb_arrival[j] = -1
                lost += 1
            self.fb_size[j] = r.size_bytes
            self.fb_probe[j] = r.probe_cluster
            j += 1
        if j == 0:
            return 0
        if last_rx >= 0:
            # RTT as RTCP measures it: the receiver's hold time is taken out.
            self.rtt_us = (now_us - self.fb_send[last_rx]) - (m.gen_us - self.fb_arrival[last_rx])
            if self.rtt_us < 1:
                self.rtt_us = 1
            self.rx.c_set_rtt(self.rtt_us)
        if self.est is not None:
            if last_rx >= 0:
                self.est.c_set_rtt(self.rtt_us, now_us)
            # The loop calls the estimator again before any other report (probe pop, ticks),
            # so no report can merge with this one: the final form takes no snapshot.
            self.target_bps = self.est.c_on_feedback_final(self.fb_send, self.fb_arrival,
                                                           self.fb_size, self.fb_probe, j,
                                                           now_us)
            self._pop_probes(now_us)
        else:
            self.py_loss += PY_LOSS_GAIN * (<double>lost / <double>j - self.py_loss)
            if self._py_feedback(j, now_us) != 0:
                return -1
        self._apply(now_us)
        return 0

    cdef int _py_feedback(self, Py_ssize_t n, int64_t now_us) noexcept nogil:
        # The slower path: a Python estimator gets numpy copies of the report.
        cdef int rc = 0
        with gil:
            try:
                send = np.empty(n, dtype=np.int64)
                arrival = np.empty(n, dtype=np.int64)
                size = np.empty(n, dtype=np.int64)
                _copy_into(send, self.fb_send, n)
                _copy_into(arrival, self.fb_arrival, n)
                _copy_into(size, self.fb_size, n)
                self.py_est.on_feedback(send, arrival, size, now_us)
                t = int(self.py_est.target_bps)
                self.target_bps = t if t > 1000 else 1000
            except BaseException as exc:
                self._error = exc
                rc = -1
        return rc

    # ------------------------------------------------------------------ the loop
    cdef int _run(self) noexcept nogil:
        cdef int64_t end = self.end_us
        cdef int64_t now = 0
        cdef int64_t t, tp
        cdef double frame_acc = 0.0
        cdef int64_t t_frame = 0
        cdef int64_t t_audio = 0 if self.audio_payload_bytes > 0 else NEVER
        cdef int64_t t_fb = self.feedback_interval_us
        cdef int64_t t_proc = 0
        cdef int64_t t_iv = self.interval_us
        cdef Py_ssize_t k
        cdef PacketC p
        cdef int32_t cid
        cdef Msg m
        cdef bint lost
        cdef double fps
        self._apply(0)
        while True:
            t = end
            if t_frame < t:
                t = t_frame
            if t_audio < t:
                t = t_audio
            tp = self.pacer.c_next_send_us()
            if tp >= 0:
                if tp < now:
                    tp = now
                if tp < t:
                    t = tp
            if t_fb < t:
                t = t_fb
            if t_proc < t:
                t = t_proc
            if self.t_rx >= 0 and self.t_rx < t:
                t = self.t_rx
            if (self.msg_len > 0 and self.msgs[self.msg_head].deliver_us >= 0
                    and self.msgs[self.msg_head].deliver_us < t):
                t = self.msgs[self.msg_head].deliver_us
            if t_iv < t:
                t = t_iv
            if t >= end:
                break
            if t > now:
                now = t
            self._pull_link(now)
            if self.rev_link is not None:
                self._pull_rev(now)
            while self.msg_len > 0 and self.msgs[self.msg_head].deliver_us != -2:
                m = self.msgs[self.msg_head]
                if m.deliver_us > now:
                    break
                self.msg_head = (self.msg_head + 1) & (self.msg_cap - 1)
                self.msg_len -= 1
                self.msg_serial_head += 1
                if m.deliver_us == -1:
                    continue        # lost on the reverse link
                if self._deliver(&m, now) != 0:
                    return -1
            if t_proc <= now:
                if self.est is not None:
                    self.est.c_process(now)
                    self._pop_probes(now)
                    # The periodic tick may move the target too (OnProcessInterval).
                    tp = self.est.c_target_bps()
                    if tp != self.target_bps:
                        self.target_bps = tp
                        self._apply(now)
                    else:
                        self.pacer.c_set_rate(self.est.c_pacing_bps())
                t_proc += self.process_interval_us
            if t_frame <= now:
                self._encode_frame(now)
                fps = self.settings.fps
                if fps < 0.5:
                    fps = 0.5
                frame_acc += 1e6 / fps
                t_frame = <int64_t>frame_acc
                if t_frame <= now:
                    t_frame = now + 1
            if t_audio <= now:
                p.size_bytes = self.audio_payload_bytes + PKT_OVERHEAD_BYTES
                p.frame = -1
                p.media_seq = -1
                p.enqueue_us = now
                p.index = 0
                p.kind = KIND_AUDIO
                self._send(now, &p, -1)
                self.pacer.c_account(p.size_bytes, now)
                t_audio += self.audio_interval_us
            tp = self.pacer.c_next_send_us()
            if tp >= 0 and tp <= now:
                if self.pacer.c_pop(now, &p, &cid):
                    self._send(now, &p, cid)
            if t_fb <= now:
                if self.rx_highest >= self.fb_next:
                    lost = (self.feedback_loss > 0.0
                            and rng_uniform(&self.rng) < self.feedback_loss)
                    if lost:
                        self.feedback_lost += 1
                    else:
                        self._post(MSG_FEEDBACK, now, self.fb_next, self.rx_highest,
                                   FEEDBACK_BASE_BYTES
                                   + 2 * (self.rx_highest - self.fb_next + 1))
                        self.feedback_sent += 1
                    self.fb_next = self.rx_highest + 1
                t_fb += self.feedback_interval_us
            if self.t_rx >= 0 and self.t_rx <= now:
                self.t_rx = self.rx.c_poll(now)
                self._drain_receiver(now)
            while t_iv <= now:
                k = <Py_ssize_t>(t_iv // self.interval_us) - 1
                if 0 <= k < self.n_iv:
                    self.iv_target[k] = self.target_bps
                    self.iv_rtt[k] = self.rtt_us
                t_iv += self.interval_us
            if self.oom:
                return -2
        # the rows after the last boundary crossed
        k = <Py_ssize_t>(t_iv // self.interval_us) - 1
        while 0 <= k < self.n_iv:
            self.iv_target[k] = self.target_bps
            self.iv_rtt[k] = self.rtt_us
            k += 1
        return 0

    # ------------------------------------------------------------------ Python API
    def run(self) -> None:
        """Run the session (once). Raises what a Python estimator raised, or MemoryError."""
        cdef int rc
        with nogil:
            rc = self._run()
        if rc == -1 and self._error is not None:
            raise self._error
        if rc != 0 or self.oom:
            raise MemoryError("replay: a buffer could not grow")

    def frame_arrays(self) -> dict:
        """The frame log as numpy arrays (FrameLog's columns), one row per encoded frame."""
        cdef Py_ssize_t n = self.rx.n_frames
        return {
            "capture_us": _i64(self.rx.capture_us, n),
            "render_us": _i64(self.rx.render_us, n),
            "size_bytes": _i64(self.rx.size_bytes, n),
            "width": np.array(<int32_t[:n]> self.rx.width, dtype=np.int32) if n else
                     np.zeros(0, np.int32),
            "height": np.array(<int32_t[:n]> self.rx.height, dtype=np.int32) if n else
                      np.zeros(0, np.int32),
            "keyframe": (np.array(<unsigned char[:n]> self.rx.keyframe, dtype=np.uint8) != 0)
                        if n else np.zeros(0, bool),
            "quality_db": np.array(<double[:n]> self.rx.quality_db, dtype=np.float64) if n
                          else np.zeros(0, np.float64),
            "state": np.array(<unsigned char[:n]> self.rx.state, dtype=np.uint8) if n else
                     np.zeros(0, np.uint8),
        }

    def interval_arrays(self) -> dict:
        """The interval log as numpy arrays (IntervalLog's columns)."""
        cdef Py_ssize_t n = self.n_iv
        cdef Py_ssize_t i
        cdef int64_t t1
        t_us = np.arange(n, dtype=np.int64) * self.interval_us
        cap = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] cv = cap
        for i in range(n):
            t1 = (i + 1) * self.interval_us
            if t1 > self.end_us:
                t1 = self.end_us
            cv[i] = self.link.c_capacity_bps(i * self.interval_us, t1)
        return {
            "t_us": t_us,
            "capacity_bps": cap,
            "target_bps": _i64(self.iv_target, n),
            "sent_bytes": _i64(self.iv_sent, n),
            "goodput_bytes": _i64(self.iv_goodput, n),
            "packets_sent": _i64(self.iv_psent, n),
            "packets_lost": _i64(self.iv_plost, n),
            "rtt_us": _i64(self.iv_rtt, n),
        }

    def stats(self) -> dict:
        """Counters of the run (packets, retransmissions, FEC, probes, feedback, PLIs)."""
        return {
            "packets_sent": self.packets_sent,
            "packets_lost": self.packets_lost,
            "retransmissions": self.retransmissions,
            "fec_packets": self.fec_packets,
            "padding_packets": self.padding_packets,
            "feedback_sent": self.feedback_sent,
            "feedback_lost": self.feedback_lost,
            "plis_received": self.plis_received,
            "nacks_sent": self.rx.nacks_sent,
            "plis_sent": self.rx.plis_sent,
            "frames_recovered_fec": self.rx.frames_recovered_fec,
            "frames_encoded": self.video.frames_encoded,
            "frames_dropped_encoder": self.video.frames_dropped,
        }

    @property
    def target_bps(self) -> int:
        """The estimator's latest target, bps."""
        return self.target_bps


cdef object _i64(const int64_t* p, Py_ssize_t n):
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.array(<const int64_t[:n]> p, dtype=np.int64)


cdef void _copy_into(object dst, const int64_t* src, Py_ssize_t n):
    cdef int64_t[::1] d = dst
    cdef Py_ssize_t i
    for i in range(n):
        d[i] = src[i]
