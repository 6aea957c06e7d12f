"""libwebrtc's send-side GoogCC (``GoogCcNetworkController`` + ``DelayBasedBwe``).

The components live in their own modules (inter_arrival, trendline, aimd,
bitrate_estimator, loss_based, probe, alr); this one wires them together the way
goog_cc_network_control.cc does for transport feedback ("packet feedback only" mode: loss
and RTT come from the feedback itself), and exposes the C contract the replay loop calls.
"""

from mediaopt._core._check import (
    InputError, as_int64_array, check_nondecreasing, check_same_length,
)

import numpy as np

from mediaopt._core.gcc_config import DEFAULT_CONSTANTS
from mediaopt._core.trendline import BANDWIDTH_USAGE

from cpython.buffer cimport PyBuffer_Release
from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.stdint cimport INT32_MAX, INT64_MIN, int32_t, int64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy

from mediaopt._core._check cimport int64_buffer, int_arg
from mediaopt._core._units cimport MO_MINUS_INF, MO_NONE, rate_times, us_to_ms
from mediaopt._core.gcc_config cimport GccParams, params_from
from mediaopt._core.aimd cimport (
    aimd_init, aimd_initial_time_to_reduce_further, aimd_set_estimate, aimd_set_min,
    aimd_set_start, aimd_time_to_reduce_further, aimd_update,
)
from mediaopt._core.alr cimport alr_init, alr_on_bytes_sent, alr_set_estimate
from mediaopt._core.bitrate_estimator cimport abe_bitrate_bps, abe_init, abe_on_packet
from mediaopt._core.inter_arrival cimport ia_compute, ia_init, ia_reset
from mediaopt._core.loss_based cimport (
    lb_init, lb_on_sent_packet, lb_set_min_max, lb_set_send_bitrate, lb_target_bps,
    lb_update_delay_based, lb_update_estimate, lb_update_packets_lost,
    lb_update_propagation_rtt, lb_update_rtt,
)
from mediaopt._core.loss_based_v2 cimport (
    LBV2_DECREASING, LBV2_INCREASE_USING_PADDING, LBV2_INCREASING, lbv2_add_packet,
    lbv2_begin_report, lbv2_end_report, lbv2_init, lbv2_is_ready, lbv2_result_bps,
    lbv2_result_state, lbv2_set_acked, lbv2_set_min_max,
    lbv2_unlose,
)
from mediaopt._core.probe cimport (
    ProbeConfig, pc_cluster_size, pc_init, pc_pop, pc_process, pc_request_probe,
    pc_set_bitrates, pc_set_estimated_bitrate, pe_fetch_and_reset, pe_handle, pe_init,
)
from mediaopt._core.trendline cimport (
    BW_NORMAL, BW_OVERUSING, BW_UNDERUSING, tl_init, tl_reset, tl_update,
)

# libwebrtc's kCongestionControllerMinBitrate and kLossUpdateInterval.
cdef int64_t _CC_MIN_BPS = 5000
cdef int64_t _LOSS_UPDATE_INTERVAL_US = 1_000_000

cdef object _np_integer = np.integer

# Python reports up to this many packets are processed holding the GIL: releasing it and
# taking it back would cost more than the work.
cdef Py_ssize_t _NOGIL_MAX_PACKETS = 256

# TimeDelta::ms<double>() multiplies by the reciprocal (it does not divide): same bits.
cdef double _US_TO_MS = 1.0 / 1000.0


cdef inline bint _arrives_before(const int64_t* arr, const int64_t* snd, Py_ssize_t a,
                                 Py_ssize_t b) noexcept nogil:
    # libwebrtc's ReceiveTimeOrder: arrival, then send time, then sequence (index here).
    if arr[a] != arr[b]:
        return arr[a] < arr[b]
    if snd[a] != snd[b]:
        return snd[a] < snd[b]
    return a < b


cdef inline void _track_rtt(int64_t send_us, int64_t arrival_us, int64_t* max_recv,
                            int64_t* min_send, int64_t* min_owd) noexcept nogil:
    cdef int64_t owd = arrival_us - send_us
    if arrival_us > max_recv[0]:
        max_recv[0] = arrival_us
    if send_us < min_send[0]:
        min_send[0] = send_us
    if owd < min_owd[0]:
        min_owd[0] = owd


cdef tuple _packet_arrays(send_us, arrival_us, size_bytes, probe_cluster_id):
    # The boundary checks of a report in general form (lists, other dtypes, views), with
    # their canonical messages: int64 send, arrival (-1 = lost) and size arrays of one
    # length, and optional probe cluster ids (-1 = none), each checked in full before the
    # next. Returns the int64 arrays (probe ids None when not given) and the length.
    s = as_int64_array("send_us", send_us, min_value=0)
    a = as_int64_array("arrival_us", arrival_us, min_value=0, allow=(-1,))
    z = as_int64_array("size_bytes", size_bytes, min_value=0, max_value=2**31 - 1)
    if probe_cluster_id is None:
        return s, a, z, None, check_same_length(send_us=s, arrival_us=a, size_bytes=z)
    p64 = as_int64_array("probe_cluster_id", probe_cluster_id, min_value=-1,
                         max_value=2**31 - 1)
    n = check_same_length(send_us=s, arrival_us=a, size_bytes=z, probe_cluster_id=p64)
    return s, a, z, p64, n


cdef Py_ssize_t _check_copy(const int64_t* send_us, const int64_t* arrival_us,
                            const int64_t* size_bytes, const int64_t* probe_cluster_id,
                            Py_ssize_t n, ReportBuf* dst, Py_ssize_t base) noexcept nogil:
    # The one pass of a Python report: check each packet (send >= 0, arrival >= 0 or -1,
    # size in [0, 2**31 - 1], probe id in [-1, 2**31 - 1]) and copy it into dst at base
    # (dst NULL: check only). Returns the index of the first bad packet, or -1.
    cdef Py_ssize_t i
    cdef int64_t sv, av, zv, pv = -1
    for i in range(n):
        sv = send_us[i]
        av = arrival_us[i]
        zv = size_bytes[i]
        if sv < 0 or (av < 0 and av != -1) or zv < 0 or zv > INT32_MAX:
            return i
        if probe_cluster_id != NULL:
            pv = probe_cluster_id[i]
            if pv < -1 or pv > INT32_MAX:
                return i
        if dst != NULL:
            dst.send_us[base + i] = sv
            dst.arrival_us[base + i] = av
            dst.size_bytes[base + i] = zv
            dst.probe[base + i] = <int32_t>pv
    return -1


cdef inline bint _grow(void** buf, size_t size_bytes) noexcept nogil:
    # realloc that leaves *buf untouched (still owned, freed in __dealloc__) on failure
    cdef void* p = realloc(buf[0], size_bytes)
    if p == NULL:
        return False
    buf[0] = p
    return True


cdef bint _reserve(ReportBuf* b, Py_ssize_t n) noexcept nogil:
    # Grow (never shrink) a report buffer by doubling: allocation happens only when a
    # report is larger than every earlier one, never per packet.
    cdef Py_ssize_t cap = b.cap
    if n <= cap:
        return True
    if cap < 64:
        cap = 64
    while cap < n:
        cap *= 2
    if not (_grow(<void**>&b.send_us, cap * sizeof(int64_t))
            and _grow(<void**>&b.arrival_us, cap * sizeof(int64_t))
            and _grow(<void**>&b.size_bytes, cap * sizeof(int64_t))
            and _grow(<void**>&b.probe, cap * sizeof(int32_t))):
        return False
    b.cap = cap
    return True


cdef void _free(ReportBuf* b) noexcept nogil:
    free(b.send_us)
    free(b.arrival_us)
    free(b.size_bytes)
    free(b.probe)
    b.send_us = NULL
    b.arrival_us = NULL
    b.size_bytes = NULL
    b.probe = NULL
    b.cap = 0


cdef inline void _release(Py_buffer* views, int held) noexcept:
    cdef int i
    for i in range(held):
        PyBuffer_Release(&views[i])


cdef class GccEstimator:
    """libwebrtc's send-side GoogCC bandwidth estimator, fed with transport feedback.

    ``on_feedback(send_us, arrival_us, size_bytes, now_us)`` takes one feedback report
    (packets in send order, ``arrival_us = -1`` for lost ones) and returns the target in
    bps. Call ``process(now_us)`` every 25 ms (probe timers, loss-based ramp-up),
    ``on_packet_sent`` for every packet the pacer sends (ALR detection) and
    ``pop_probes(now_us)`` to learn which probe clusters to send.

    Reports handed in one after the other with the same ``now_us`` (and no other call in
    between) are one logical report: the estimate does not depend on how a feedback is
    split. Every constant comes from ``config`` (``mediaopt.bwe.GccConfig``).
    """

    def __cinit__(self):
        self.buf_len = 0
        self.order = NULL
        self.order_cap = 0
        self.merge_open = False

    def __dealloc__(self):
        _free(&self.cur)
        _free(&self.spare)
        free(self.order)

    def __init__(self, start_bps=300_000, min_bps=30_000, max_bps=30_000_000, config=None):
        cdef GccParams c
        params_from(config, &c)
        cdef const GccParams* cfg = &c
        if cfg.trendline_window_size > 64:
            raise InputError("config.trendline_window_size: at most 64 is supported")
        start = int_arg("start_bps", start_bps, 1, 10**12)
        lo = int_arg("min_bps", min_bps, 0, 10**12)
        hi = int_arg("max_bps", max_bps, 1, 10**12)
        if hi < lo:
            raise InputError(f"max_bps: {hi} is below min_bps {lo}")
        # GoogCcNetworkController::ClampConstraints.
        lo = max(lo, _CC_MIN_BPS)
        hi = max(hi, lo)
        start = min(max(start, lo), hi)
        self.start_bps = start
        self.min_bps = lo
        self.max_bps = hi
        self._config = DEFAULT_CONSTANTS if config is None else config
        self.pacing_factor = cfg.pacing_factor
        self.process_interval_us = cfg.process_interval_us
        self.stream_timeout_us = cfg.stream_timeout_us
        self.next_tick_us = MO_NONE
        self.merge_open = False
        self.buf_len = 0
        st = &self.st
        ia_init(&st.ia, cfg.send_time_group_length_us, cfg.burst_delta_threshold_us,
                cfg.max_burst_duration_us, cfg.arrival_time_offset_threshold_us,
                cfg.reordered_reset_threshold)
        tl_init(&st.tl, cfg.trendline_window_size, cfg.trendline_smoothing,
                cfg.trendline_threshold_gain, cfg.overusing_time_threshold_ms,
                cfg.initial_threshold_ms, cfg.threshold_k_up, cfg.threshold_k_down,
                cfg.min_threshold_ms, cfg.max_threshold_ms, cfg.max_adapt_offset_ms,
                <int64_t>cfg.max_threshold_time_delta_ms, cfg.min_num_deltas,
                cfg.delta_counter_max)
        aimd_init(&st.aimd, cfg)
        abe_init(&st.ack, cfg)
        lb_init(&st.lb, cfg)
        lbv2_init(&st.lb2, cfg)
        pe_init(&st.pe, cfg)
        pc_init(&st.pc, cfg)
        alr_init(&st.alr, cfg)
        st.started = False
        st.last_seen_us = MO_MINUS_INF
        st.dbwe_prev_bps = 0
        st.dbwe_prev_state = BW_NORMAL
        st.first_packet_sent = False
        st.previously_in_alr = False
        st.next_loss_update_us = MO_MINUS_INF
        st.lost_acc = 0
        st.expected_acc = 0
        st.rtt_start = 0
        st.rtt_len = 0
        st.last_target_bps = start
        st.last_fraction_loss = 0
        st.last_loss_state = 0
        st.last_rtt_us = 0
        st.highest_send_us = INT64_MIN
        for i in range(GCC_LOST_RING):
            st.lost_send_us[i] = 0
            st.lost_size[i] = -1
        st.lost_next = 0
        st.last_now_us = INT64_MIN
        st.packets_received = 0
        st.packets_lost = 0
        st.duplicates = 0

    # ------------------------------------------------------------------ internals

    cdef void _start(self, int64_t now_us) noexcept nogil:
        # The first OnProcessInterval of GoogCcNetworkController: apply the constraints.
        st = &self.st
        lb_set_min_max(&st.lb, self.min_bps, self.max_bps)
        lb_set_send_bitrate(&st.lb, self.start_bps, now_us)
        # SendSideBandwidthEstimation::SetMinMaxBitrate passes the bounds on to V2. V2's
        # estimate starts from the first delay-based estimate it sees (not the start
        # rate: SetSendBitrate does not touch V2).
        lbv2_set_min_max(&st.lb2, self.min_bps, self.max_bps)
        self._sync_v2()
        aimd_set_start(&st.aimd, self.start_bps)
        aimd_set_min(&st.aimd, self.min_bps)
        pc_set_bitrates(&st.pc, self.min_bps, self.start_bps, self.max_bps, now_us)
        st.started = True

    cdef void _touch(self, int64_t now_us) noexcept nogil:
        if not self.st.started:
            self._start(now_us)
        if now_us > self.st.last_now_us:
            self.st.last_now_us = now_us

    cdef ReportBuf* _stage(self, bint merge, Py_ssize_t n, Py_ssize_t* base) noexcept nogil:
        # Where a report of n packets is written: after the pending report when it merges
        # with it, else at the start of the spare buffer. Both are outside what the
        # estimator has taken in, so writing there changes nothing yet. NULL when memory
        # runs out.
        cdef ReportBuf* b = &self.cur if merge else &self.spare
        cdef Py_ssize_t total = n + (self.buf_len if merge else 0)
        cdef Py_ssize_t cap = self.order_cap
        base[0] = self.buf_len if merge else 0
        if not _reserve(b, total):
            return NULL
        if total > cap:
            if cap < 64:
                cap = 64
            while cap < total:
                cap *= 2
            if not _grow(<void**>&self.order, cap * sizeof(Py_ssize_t)):
                return NULL
            self.order_cap = cap
        return b

    cdef int64_t _commit(self, bint merge, bint final, Py_ssize_t n,
                         int64_t now_us) noexcept nogil:
        # Take in the staged report and process the logical report it belongs to.
        cdef ReportBuf t
        if merge:
            # Same feedback time as the pending report: redo both as one logical report,
            # from the state before the first (memcpy: one copy, no struct temporary).
            memcpy(&self.st, &self.snap, sizeof(GccState))
            self.buf_len += n
        else:
            t = self.cur
            self.cur = self.spare
            self.spare = t
            self.buf_len = n
            if not final:
                # A report at this time may follow: keep the state to redo it from.
                memcpy(&self.snap, &self.st, sizeof(GccState))
                self.merge_now_us = now_us
            self.merge_open = True
        if final:
            self.merge_open = False
        self._touch(now_us)
        self._process_report(now_us)
        return self.st.last_target_bps

    cdef void _sync_v2(self) noexcept nogil:
        # What SendSideBandwidthEstimation::UpdateEstimate reads from GetLossBasedResult.
        st = &self.st
        st.lb.v2_ready = st.lb2.enabled and lbv2_is_ready(&st.lb2)
        st.lb.v2_bps = lbv2_result_bps(&st.lb2)
        st.lb.v2_state = lbv2_result_state(&st.lb2)

    cdef void _network_changed(self, int64_t now_us) noexcept nogil:
        # GoogCcNetworkController::MaybeTriggerOnNetworkChanged (congestion-window
        # pushback only drops frames in libwebrtc's default, so the target is unchanged).
        st = &self.st
        cdef int64_t target = lb_target_bps(&st.lb)
        cdef int32_t v2_state = st.lb.loss_based_state   # 0 (delay based) with V2 off
        if (target != st.last_target_bps or st.lb.fraction_loss_q8 != st.last_fraction_loss
                or st.lb.rtt_us != st.last_rtt_us or v2_state != st.last_loss_state):
            st.last_loss_state = v2_state
            # GetBandwidthLimitedCause: a decreasing loss-based estimate allows no probes,
            # an increasing one caps them (ProbeController::InitiateProbing).
            if v2_state == LBV2_DECREASING or v2_state == LBV2_INCREASE_USING_PADDING:
                st.pc.loss_limited = 1
            elif v2_state == LBV2_INCREASING:
                st.pc.loss_limited = 2
            else:
                st.pc.loss_limited = 0
            st.last_target_bps = target
            st.last_fraction_loss = st.lb.fraction_loss_q8
            st.last_rtt_us = st.lb.rtt_us
            alr_set_estimate(&st.alr, target)
            pc_set_estimated_bitrate(&st.pc, target, now_us)

    cdef void _process_report(self, int64_t now_us) noexcept nogil:
        st = &self.st
        cdef Py_ssize_t n = self.buf_len, i, j, k = 0, idx
        cdef int64_t* snd = self.cur.send_us
        cdef int64_t* arr = self.cur.arrival_us
        cdef int64_t* siz = self.cur.size_bytes
        cdef int32_t* prb = self.cur.probe
        cdef Py_ssize_t* order = self.order
        cdef int64_t prev_highest = st.highest_send_us, new_highest = st.highest_send_us
        cdef int64_t n_feedback = 0, n_lost = 0, slot
        cdef int64_t max_recv = INT64_MIN, min_send = MO_NONE, min_owd = MO_NONE
        cdef int64_t max_fb_rtt, min_prop, total_ms
        cdef int64_t sd, ad, zd, acked, probe_bps, target = 0, mean_rtt_ms
        cdef int32_t min_probes, prev_state
        cdef int64_t min_bytes
        cdef bint in_alr, recovered = False, updated = False, is_probe = False, calc
        cdef bint v2 = st.lb2.enabled
        if v2:
            lbv2_begin_report(&st.lb2)
        # 1. Which packets count (TransportFeedbackAdapter): packets sent after everything
        #    in earlier reports are new; older ones count only when they were reported lost
        #    (a late arrival, or the loss reported again); the rest are duplicates.
        for i in range(n):
            if snd[i] > prev_highest:
                if snd[i] > new_highest:
                    new_highest = snd[i]
                n_feedback += 1
                if v2:
                    lbv2_add_packet(&st.lb2, snd[i], siz[i], arr[i] < 0)
                if arr[i] < 0:
                    n_lost += 1
                    slot = st.lost_next
                    st.lost_send_us[slot] = snd[i]
                    st.lost_size[slot] = siz[i]
                    st.lost_next = (slot + 1) % GCC_LOST_RING
                else:
                    order[k] = i
                    k += 1
                    _track_rtt(snd[i], arr[i], &max_recv, &min_send, &min_owd)
            else:
                slot = -1
                for j in range(GCC_LOST_RING):
                    if st.lost_size[j] == siz[i] and st.lost_send_us[j] == snd[i]:
                        slot = j
                        break
                if slot < 0:
                    st.duplicates += 1
                    continue
                n_feedback += 1
                if v2:
                    lbv2_add_packet(&st.lb2, snd[i], siz[i], False)
                if arr[i] < 0:
                    n_lost += 1
                else:
                    if v2:
                        lbv2_unlose(&st.lb2, siz[i])
                    st.lost_size[slot] = -1
                    order[k] = i
                    k += 1
                    _track_rtt(snd[i], arr[i], &max_recv, &min_send, &min_owd)
        st.highest_send_us = new_highest
        if n_feedback == 0:
            return
        st.packets_received += k
        st.packets_lost += n_lost
        # 2. Received packets in arrival order (insertion sort: reports are nearly sorted).
        for i in range(1, k):
            idx = order[i]
            j = i
            while j > 0 and _arrives_before(arr, snd, idx, order[j - 1]):
                order[j] = order[j - 1]
                j -= 1
            order[j] = idx
        # 3. RTT from the feedback itself (packet-feedback-only mode).
        if k > 0:
            # Per packet, libwebrtc takes feedback RTT = now - send and propagation RTT =
            # now - send - (latest arrival - arrival); their max and min are:
            max_fb_rtt = now_us - min_send
            min_prop = now_us - max_recv + min_owd
            if st.rtt_len == GCC_RTT_WINDOW:
                st.rtt_start = (st.rtt_start + 1) % GCC_RTT_WINDOW
                st.rtt_len -= 1
            st.rtts_ms[(st.rtt_start + st.rtt_len) % GCC_RTT_WINDOW] = us_to_ms(max_fb_rtt)
            st.rtt_len += 1
            lb_update_propagation_rtt(&st.lb, now_us, min_prop)
            total_ms = 0
            for i in range(st.rtt_len):
                total_ms += st.rtts_ms[(st.rtt_start + i) % GCC_RTT_WINDOW]
            mean_rtt_ms = total_ms // st.rtt_len
            st.aimd.rtt_us = mean_rtt_ms * 1000
            lb_update_rtt(&st.lb, min_prop, now_us)
        # 4. Loss: accumulate, hand over at most once per second.
        st.expected_acc += n_feedback
        st.lost_acc += n_lost
        if st.next_loss_update_us == MO_MINUS_INF or now_us > st.next_loss_update_us:
            st.next_loss_update_us = now_us + _LOSS_UPDATE_INTERVAL_US
            lb_update_packets_lost(&st.lb, st.lost_acc, st.expected_acc, now_us)
            st.lost_acc = 0
            st.expected_acc = 0
        # 5. ALR transitions, acknowledged bitrate, probe results.
        in_alr = st.alr.alr_start_ms >= 0
        if st.previously_in_alr and not in_alr:
            st.ack.alr_ended_us = now_us
            st.pc.alr_end_us = now_us
        st.previously_in_alr = in_alr
        for i in range(k):
            idx = order[i]
            abe_on_packet(&st.ack, snd[idx], arr[idx], siz[idx])
        acked = abe_bitrate_bps(&st.ack)
        if v2 and acked >= 0:
            lbv2_set_acked(&st.lb2, acked)
        if prb != NULL:
            for i in range(k):
                idx = order[i]
                if prb[idx] >= 0:
                    pc_cluster_size(&st.pc, prb[idx], &min_probes, &min_bytes)
                    pe_handle(&st.pe, prb[idx], snd[idx], arr[idx], siz[idx], min_probes,
                              min_bytes)
        probe_bps = pe_fetch_and_reset(&st.pe)
        # 6. DelayBasedBwe::IncomingPacketFeedbackVector (received packets only).
        if k > 0:
            prev_state = st.tl.hypothesis
            for i in range(k):
                idx = order[i]
                if st.last_seen_us == MO_MINUS_INF or (
                        now_us - st.last_seen_us > self.stream_timeout_us):
                    ia_reset(&st.ia)
                    tl_reset(&st.tl)
                st.last_seen_us = now_us
                sd = 0
                ad = 0
                zd = 0
                calc = ia_compute(&st.ia, snd[idx], arr[idx], now_us, siz[idx], &sd, &ad, &zd)
                if calc:
                    # TrendlineEstimator::Update does nothing more without new deltas.
                    tl_update(&st.tl, ad * _US_TO_MS, sd * _US_TO_MS, us_to_ms(snd[idx]),
                              us_to_ms(arr[idx]), siz[idx], True)
                if prev_state == BW_UNDERUSING and st.tl.hypothesis == BW_NORMAL:
                    recovered = True
                prev_state = st.tl.hypothesis
            st.aimd.in_alr = in_alr
            # DelayBasedBwe::MaybeUpdateEstimate.
            if st.tl.hypothesis == BW_OVERUSING:
                if acked >= 0 and aimd_time_to_reduce_further(&st.aimd, now_us, acked):
                    target = aimd_update(&st.aimd, BW_OVERUSING, acked, now_us)
                    updated = st.aimd.initialized
                elif (acked < 0 and st.aimd.initialized
                      and aimd_initial_time_to_reduce_further(&st.aimd, now_us)):
                    # Over-use before any acknowledged rate: halve every 200 ms.
                    aimd_set_estimate(&st.aimd, st.aimd.current_bps // 2, now_us)
                    updated = True
                    target = st.aimd.current_bps
            else:
                if probe_bps >= 0:
                    is_probe = True
                    updated = True
                    aimd_set_estimate(&st.aimd, probe_bps, now_us)
                    target = st.aimd.current_bps
                else:
                    target = aimd_update(&st.aimd, st.tl.hypothesis, acked, now_us)
                    updated = st.aimd.initialized
            if (updated and st.dbwe_prev_bps != target) or (
                    st.tl.hypothesis != st.dbwe_prev_state):
                if updated:
                    st.dbwe_prev_bps = target
                st.dbwe_prev_state = st.tl.hypothesis
            # recovered_from_overuse is only reported by the plain (no probe) update.
            if st.tl.hypothesis == BW_OVERUSING or probe_bps >= 0:
                recovered = False
            # 7. GoogCcNetworkController: combine with the loss-based controller.
            if updated:
                if is_probe:
                    lb_set_send_bitrate(&st.lb, target, now_us)
                lb_update_delay_based(&st.lb, now_us, target)
        # SendSideBandwidthEstimation::UpdateLossBasedEstimator (every report).
        if v2:
            lbv2_end_report(&st.lb2, st.lb.delay_limit_bps, in_alr)
            self._sync_v2()
            lb_update_estimate(&st.lb, now_us)
        if updated:
            self._network_changed(now_us)
        if recovered:
            st.pc.alr_start_us = (st.alr.alr_start_ms * 1000 if in_alr else -1)
            pc_request_probe(&st.pc, now_us)

    # ------------------------------------------------------------------ the C contract

    cdef int64_t _feed(self, const int64_t* send_us, const int64_t* arrival_us,
                       const int64_t* size_bytes, const int32_t* probe_cluster_id,
                       Py_ssize_t n, int64_t now_us, bint final) noexcept nogil:
        cdef Py_ssize_t base = 0, i
        cdef ReportBuf* b
        cdef bint merge
        if n < 0 or send_us == NULL or arrival_us == NULL or size_bytes == NULL:
            n = 0
        if now_us < self.st.last_now_us:
            now_us = self.st.last_now_us          # the core never runs time backwards
        merge = self.merge_open and now_us == self.merge_now_us
        b = self._stage(merge, n, &base)
        if b == NULL:
            n = 0                                 # out of memory: drop this report
        if n > 0:
            memcpy(b.send_us + base, send_us, n * sizeof(int64_t))
            memcpy(b.arrival_us + base, arrival_us, n * sizeof(int64_t))
            for i in range(n):
                # Sizes are bytes on the wire: never negative.
                b.size_bytes[base + i] = size_bytes[i] if size_bytes[i] > 0 else 0
                b.probe[base + i] = (probe_cluster_id[i] if probe_cluster_id != NULL
                                     else -1)
                if arrival_us[i] < 0:
                    b.arrival_us[base + i] = -1
        return self._commit(merge, final, n, now_us)

    cdef int64_t c_on_feedback(self, const int64_t* send_us, const int64_t* arrival_us,
                               const int64_t* size_bytes, const int32_t* probe_cluster_id,
                               Py_ssize_t n, int64_t now_us) noexcept nogil:
        return self._feed(send_us, arrival_us, size_bytes, probe_cluster_id, n, now_us,
                          False)

    cdef int64_t c_on_feedback_final(self, const int64_t* send_us, const int64_t* arrival_us,
                                     const int64_t* size_bytes,
                                     const int32_t* probe_cluster_id, Py_ssize_t n,
                                     int64_t now_us) noexcept nogil:
        return self._feed(send_us, arrival_us, size_bytes, probe_cluster_id, n, now_us,
                          True)

    cdef int64_t _take(self, const int64_t* send_us, const int64_t* arrival_us,
                       const int64_t* size_bytes, const int64_t* probe_cluster_id,
                       Py_ssize_t n, int64_t now_us, Py_ssize_t* bad) noexcept nogil:
        # A Python report, checked and copied in one pass into the staging area and then
        # taken in; when a packet is bad (bad[0] >= 0) nothing is taken in.
        cdef Py_ssize_t base = 0
        cdef bint merge = self.merge_open and now_us == self.merge_now_us
        cdef ReportBuf* b = self._stage(merge, n, &base)
        bad[0] = _check_copy(send_us, arrival_us, size_bytes, probe_cluster_id, n, b, base)
        if bad[0] >= 0:
            return -1
        return self._commit(merge, False, n if b != NULL else 0, now_us)

    cdef void c_on_packet_sent(self, int64_t send_us, int64_t size_bytes,
                               int32_t probe_cluster_id) noexcept nogil:
        st = &self.st
        self.merge_open = False
        if size_bytes < 0:
            size_bytes = 0
        alr_on_bytes_sent(&st.alr, size_bytes, us_to_ms(send_us))
        st.ack.in_alr = st.alr.alr_start_ms >= 0
        if not st.first_packet_sent:
            # Until the first feedback, the RTT back-off measures from the first send.
            st.first_packet_sent = True
            lb_update_propagation_rtt(&st.lb, send_us, 0)
        lb_on_sent_packet(&st.lb, send_us)

    cdef void c_set_rtt(self, int64_t rtt_us, int64_t now_us) noexcept nogil:
        self.merge_open = False
        if now_us < self.st.last_now_us:
            now_us = self.st.last_now_us
        self._touch(now_us)
        if rtt_us > 0:
            self.st.aimd.rtt_us = rtt_us
        lb_update_rtt(&self.st.lb, rtt_us, now_us)

    cdef void c_process(self, int64_t now_us) noexcept nogil:
        st = &self.st
        self.merge_open = False
        if now_us < st.last_now_us:
            now_us = st.last_now_us
        self._touch(now_us)
        lb_update_estimate(&st.lb, now_us)
        st.pc.alr_start_us = st.alr.alr_start_ms * 1000 if st.alr.alr_start_ms >= 0 else -1
        pc_process(&st.pc, now_us)
        self._network_changed(now_us)

    cdef int c_pop_probe(self, int64_t now_us, int64_t* bitrate_bps, int32_t* cluster_id,
                         int32_t* min_probes, int64_t* min_bytes) noexcept nogil:
        cdef ProbeConfig c
        self.merge_open = False
        if now_us < self.st.last_now_us:
            now_us = self.st.last_now_us
        self._touch(now_us)
        if not pc_pop(&self.st.pc, &c):
            return 0
        bitrate_bps[0] = c.bitrate_bps
        cluster_id[0] = c.cluster_id
        min_probes[0] = c.min_probes
        min_bytes[0] = c.min_bytes
        return 1

    cdef int64_t c_target_bps(self) noexcept nogil:
        return self.st.last_target_bps

    cdef int64_t c_pacing_bps(self) noexcept nogil:
        return rate_times(self.st.last_target_bps, self.pacing_factor)

    cdef double c_loss_ratio(self) noexcept nogil:
        return self.st.last_fraction_loss / 256.0

    # ------------------------------------------------------------------ Python API

    cdef int64_t _check_now(self, object now_us) except? -1:
        cdef int64_t now = int_arg("now_us", now_us, 0)
        if self.st.last_now_us != INT64_MIN and now < self.st.last_now_us:
            raise InputError(
                f"now_us: went backwards ({now} < {self.st.last_now_us} of an earlier call)")
        return now

    def on_feedback(self, send_us, arrival_us, size_bytes, now_us, probe_cluster_id=None):
        """Feed one transport feedback report; return the target, bps.

        Arrays (one element per packet, in send order): ``send_us``, ``arrival_us``
        (``-1`` = lost), ``size_bytes`` and optionally ``probe_cluster_id`` (``-1`` = not
        a probe). ``now_us`` is when the feedback arrived; it never goes backwards.
        """
        # Fast path (int64 arrays and an int time, what a client hands in): check and copy
        # the report in one pass, straight from the arrays' buffers into the staging area.
        # Anything else, or a bad value, takes the general path, which converts and names
        # the first problem as mediaopt._validate's checks do.
        cdef Py_buffer views[4]
        cdef int held = 0, wanted = 3 if probe_cluster_id is None else 4
        cdef int overflow = 0
        cdef Py_ssize_t n, bad = 0
        cdef int64_t now = -1, out = 0
        cdef const int64_t* pp = NULL
        if type(now_us) is not int and isinstance(now_us, _np_integer):
            now_us = int(now_us)                  # a numpy integer scalar (an array element)
        if type(now_us) is int:
            now = PyLong_AsLongLongAndOverflow(now_us, &overflow)
            if overflow or (self.st.last_now_us != INT64_MIN and now < self.st.last_now_us):
                now = -1
        if now < 0:
            return self._on_feedback_general(send_us, arrival_us, size_bytes, now_us,
                                             probe_cluster_id)
        try:
            if int64_buffer(send_us, &views[0]):
                held = 1
                if int64_buffer(arrival_us, &views[1]):
                    held = 2
                    if int64_buffer(size_bytes, &views[2]):
                        held = 3
                        if wanted == 4 and int64_buffer(probe_cluster_id, &views[3]):
                            held = 4
            n = views[0].shape[0] if held else 0
            if (held == wanted and views[1].shape[0] == n and views[2].shape[0] == n
                    and (wanted == 3 or views[3].shape[0] == n)):
                if wanted == 4:
                    pp = <const int64_t*>views[3].buf
                if n <= _NOGIL_MAX_PACKETS:
                    out = self._take(<const int64_t*>views[0].buf,
                                     <const int64_t*>views[1].buf,
                                     <const int64_t*>views[2].buf, pp, n, now, &bad)
                else:
                    with nogil:
                        out = self._take(<const int64_t*>views[0].buf,
                                         <const int64_t*>views[1].buf,
                                         <const int64_t*>views[2].buf, pp, n, now, &bad)
        finally:
            _release(views, held)
        if bad < 0:
            return out
        return self._on_feedback_general(send_us, arrival_us, size_bytes, now_us,
                                         probe_cluster_id)

    cdef object _on_feedback_general(self, send_us, arrival_us, size_bytes, now_us,
                                     probe_cluster_id):
        # The general path of on_feedback: convert and check each argument in turn (the
        # arrays in full, then their lengths, then the time), then the same one pass.
        cdef Py_buffer views[4]
        cdef int held = 0
        cdef Py_ssize_t n, bad = 0
        cdef int64_t now, out
        cdef const int64_t* pp = NULL
        arrays = _packet_arrays(send_us, arrival_us, size_bytes, probe_cluster_id)
        now = self._check_now(now_us)
        n = arrays[4]
        try:
            while held < 4 and arrays[held] is not None:
                # the checks made each one a contiguous int64 array
                if not int64_buffer(arrays[held], &views[held]):
                    raise SystemError("on_feedback: a checked array has no int64 buffer")
                held += 1
            if held == 4:
                pp = <const int64_t*>views[3].buf
            if n <= _NOGIL_MAX_PACKETS:
                out = self._take(<const int64_t*>views[0].buf, <const int64_t*>views[1].buf,
                                 <const int64_t*>views[2].buf, pp, n, now, &bad)
            else:
                with nogil:
                    out = self._take(<const int64_t*>views[0].buf,
                                     <const int64_t*>views[1].buf,
                                     <const int64_t*>views[2].buf, pp, n, now, &bad)
        finally:
            _release(views, held)
        if bad >= 0:
            raise SystemError(f"on_feedback: packet {bad} passed the checks but not the copy")
        return out

    def on_feedback_reports(self, send_us, arrival_us, size_bytes, report_sizes,
                            report_now_us, probe_cluster_id=None, process=True):
        """Feed many consecutive reports at once; return the target after each, bps.

        The packet arrays are the reports concatenated; ``report_sizes[i]`` packets form
        report ``i``, delivered at ``report_now_us[i]`` (non-decreasing). With
        ``process=True`` the 25 ms ``process`` tick runs between reports as it would in
        a client. The whole loop runs in C without the GIL: this is the fast path for
        replaying long packet streams.
        """
        s, a, z, p, n = _packet_arrays(send_us, arrival_us, size_bytes, probe_cluster_id)
        rs = as_int64_array("report_sizes", report_sizes, min_value=0)
        rn = as_int64_array("report_now_us", report_now_us, min_value=0)
        check_same_length(report_sizes=rs, report_now_us=rn)
        check_nondecreasing("report_now_us", rn)
        if int(rs.sum()) != n:
            raise InputError(
                f"report_sizes: sums to {int(rs.sum())}, but there are {n} packets")
        if rn.size:
            self._check_now(int(rn[0]))
        if p is not None:
            p = np.ascontiguousarray(p, dtype=np.int32)
        out = np.empty(rs.size, dtype=np.int64)
        if n == 0 and rs.size == 0:
            return out
        if n == 0:
            s = np.zeros(1, np.int64)
            a = np.zeros(1, np.int64)
            z = np.zeros(1, np.int64)
        cdef const int64_t[::1] sv = s
        cdef const int64_t[::1] av = a
        cdef const int64_t[::1] zv = z
        cdef const int64_t[::1] rsv = rs
        cdef const int64_t[::1] rnv = rn
        cdef int64_t[::1] ov = out
        cdef const int32_t[::1] pv
        cdef const int32_t* pp = NULL
        cdef Py_ssize_t r, pos = 0, nr = rs.shape[0]
        cdef bint tick = bool(process)
        cdef int64_t now
        if p is not None and n > 0:
            pv = p
            pp = &pv[0]
        with nogil:
            for r in range(nr):
                now = rnv[r]
                if tick:
                    if self.next_tick_us == MO_NONE:
                        self.next_tick_us = now
                    while self.next_tick_us <= now:
                        self.c_process(self.next_tick_us)
                        self.next_tick_us += self.process_interval_us
                # Only a report followed by one at the same time can merge with it.
                ov[r] = self._feed(&sv[pos], &av[pos], &zv[pos],
                                   pp + pos if pp != NULL else NULL, rsv[r], now,
                                   r + 1 < nr and rnv[r + 1] != now)
                pos += rsv[r]
        return out

    def on_packet_sent(self, send_us, size_bytes, probe_cluster_id=-1):
        """The pacer put a packet on the wire (feeds ALR detection and the RTT back-off)."""
        self.c_on_packet_sent(int_arg("send_us", send_us, 0),
                              int_arg("size_bytes", size_bytes, 0),
                              <int32_t>int_arg("probe_cluster_id", probe_cluster_id, -1,
                                               INT32_MAX))

    def set_rtt(self, rtt_us, now_us):
        """Report a round-trip time measured elsewhere (e.g. RTCP), us.

        In packet-feedback-only mode the next feedback report recomputes the RTT.
        """
        rtt = int_arg("rtt_us", rtt_us, 0)
        self.c_set_rtt(rtt, self._check_now(now_us))

    def process(self, now_us):
        """Periodic tick (every 25 ms): loss-based ramp-up, probe timers, ALR probes."""
        self.c_process(self._check_now(now_us))

    def pop_probes(self, now_us):
        """Probe clusters to send now: a list of dicts with ``bitrate_bps``,
        ``cluster_id``, ``min_probes`` and ``min_bytes`` (empty when none)."""
        cdef int64_t rate = 0, nbytes = 0
        cdef int32_t cid = 0, nprobes = 0
        t = self._check_now(now_us)
        out = []
        while self.c_pop_probe(t, &rate, &cid, &nprobes, &nbytes):
            out.append({"bitrate_bps": rate, "cluster_id": cid, "min_probes": nprobes,
                        "min_bytes": nbytes})
        return out

    def __repr__(self):
        return (f"GccEstimator(target_bps={self.target_bps}, pacing_bps={self.pacing_bps}, "
                f"delay_state={self.delay_state.value!r}, loss_ratio={self.loss_ratio:.3f}, "
                f"min_bps={self.min_bps}, max_bps={self.max_bps})")

    @property
    def target_bps(self):
        """The target send rate, bps (within [min_bps, max_bps])."""
        return self.c_target_bps()

    @property
    def pacing_bps(self):
        """The pacing rate: ``pacing_factor`` (2.5) x the target, bps."""
        return self.c_pacing_bps()

    @property
    def loss_ratio(self):
        """The last loss ratio computed from feedback (0..1)."""
        return self.c_loss_ratio()

    @property
    def fraction_loss(self):
        """The last loss ratio in libwebrtc's 1/256 units."""
        return self.st.last_fraction_loss

    @property
    def delay_state(self):
        """The over-use detector state (``BandwidthUsage``)."""
        return BANDWIDTH_USAGE[self.st.tl.hypothesis]

    @property
    def delay_based_bps(self):
        """The delay-based (AIMD) estimate, bps."""
        return self.st.aimd.current_bps

    @property
    def acknowledged_bps(self):
        """The acknowledged bitrate, bps, or None before the first estimate."""
        v = abe_bitrate_bps(&self.st.ack)
        return None if v < 0 else v

    @property
    def rtt_us(self):
        """The RTT the loss-based controller uses, us."""
        return self.st.lb.rtt_us

    @property
    def loss_based_state(self):
        """LossBasedBweV2's state: ``delay_based_estimate`` (also when V2 is off),
        ``increasing``, ``increase_using_padding`` or ``decreasing``."""
        names = ("delay_based_estimate", "increasing", "increase_using_padding", "decreasing")
        return names[self.st.lb.loss_based_state]

    @property
    def in_alr(self):
        """True inside an application-limited region."""
        return self.st.alr.alr_start_ms >= 0

    @property
    def config(self):
        """The config this estimator was built with (a ``GccConfig``); without one, the
        read-only record of libwebrtc's defaults (``GccConstants``, equal field by field
        to ``GccConfig()``)."""
        return self._config

    @property
    def stats(self):
        """Counters: packets received, lost and ignored as duplicates."""
        return {"packets_received": self.st.packets_received,
                "packets_lost": self.st.packets_lost,
                "duplicates": self.st.duplicates}
