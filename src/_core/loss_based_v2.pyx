"""libwebrtc's ``LossBasedBweV2``: a maximum-likelihood loss-based bandwidth estimator.

The channel is modelled by an inherent loss ``p0`` and a loss-limited bandwidth ``B``:
sending at rate ``r`` loses ``p0 + (1 - p0) * max(0, r - B) / r``. Observations (at least
``observation_min_us`` of sent packets each) are kept in a fixed window with exponentially
decaying weights; each report, a few candidate bandwidths (factors of the current one, the
acknowledged rate, the delay-based estimate) get one Newton step on ``p0`` and the one with
the highest (biased) log-likelihood wins. Bounds: an instant upper bound from the average
loss, the delay-based estimate, and a capped ramp-up after a loss-limited decrease.
"""

from mediaopt._core._check import InputError, as_int64_array, check_same_length

from libc.math cimport fabs, log, pow, round
from libc.stdint cimport int32_t, int64_t

from mediaopt._core._check cimport int_arg
from mediaopt._core._units cimport MO_MINUS_INF, MO_NONE
from mediaopt._core.gcc_config cimport lbv2_config_problem, params_from

# libwebrtc's kCongestionControllerMinBitrate and the hold durations of LossBasedBweV2.
cdef int64_t _CC_MIN_BPS = 5000
cdef int64_t _INIT_HOLD_US = 300_000
cdef int64_t _MAX_HOLD_US = 60_000_000


cdef inline bint _finite(int64_t v) noexcept nogil:
    return v != MO_NONE and v != MO_MINUS_INF


cdef inline int64_t _scale(int64_t bps, double f) noexcept nogil:
    # DataRate * double, rounded to whole bps; infinities stay infinite.
    cdef double v
    if not _finite(bps):
        return bps
    v = round(<double>bps * f)
    if v >= 9.2e18:
        return MO_NONE
    if v <= -9.2e18:
        return MO_MINUS_INF
    return <int64_t>v


cdef inline int64_t _min(int64_t a, int64_t b) noexcept nogil:
    return a if a < b else b


cdef inline int64_t _max(int64_t a, int64_t b) noexcept nogil:
    return a if a > b else b


cdef void lbv2_init(Lbv2State* s, const GccParams* cfg) noexcept nogil:
    cdef int32_t i
    s.rampup_upper_bound_factor = cfg.loss_v2_rampup_upper_bound_factor
    s.rampup_upper_bound_factor_hold = cfg.loss_v2_rampup_upper_bound_factor_in_hold
    s.rampup_hold_threshold = cfg.loss_v2_rampup_hold_threshold
    s.rampup_accel_max_factor = cfg.loss_v2_rampup_acceleration_max_factor
    s.rampup_accel_maxout_us = cfg.loss_v2_rampup_acceleration_maxout_us
    s.candidate_factors[0] = cfg.loss_v2_candidate_factor_high
    s.candidate_factors[1] = cfg.loss_v2_candidate_factor_mid
    s.candidate_factors[2] = cfg.loss_v2_candidate_factor_low
    s.higher_bw_bias = cfg.loss_v2_higher_bandwidth_bias_factor
    s.higher_log_bw_bias = cfg.loss_v2_higher_log_bandwidth_bias_factor
    s.inherent_loss_lower = cfg.loss_v2_inherent_loss_lower_bound
    s.loss_threshold_high_bw_pref = cfg.loss_v2_loss_threshold_of_high_bandwidth_preference
    s.bw_pref_smoothing = cfg.loss_v2_bandwidth_preference_smoothing_factor
    s.inherent_loss_upper_balance_bps = cfg.loss_v2_inherent_loss_upper_bound_balance_bps
    s.inherent_loss_upper_offset = cfg.loss_v2_inherent_loss_upper_bound_offset
    s.initial_inherent_loss = cfg.loss_v2_initial_inherent_loss_estimate
    s.newton_iterations = cfg.loss_v2_newton_iterations
    s.newton_step_size = cfg.loss_v2_newton_step_size
    s.acked_rate_candidate = cfg.loss_v2_acked_rate_candidate
    s.delay_based_candidate = cfg.loss_v2_delay_based_candidate
    s.upper_bound_candidate_in_alr = cfg.loss_v2_upper_bound_candidate_in_alr
    s.observation_min_us = cfg.loss_v2_observation_duration_lower_bound_us
    s.window = cfg.loss_v2_observation_window_size
    s.sending_rate_smoothing = cfg.loss_v2_sending_rate_smoothing_factor
    s.instant_weight_factor = cfg.loss_v2_instant_upper_bound_temporal_weight_factor
    s.instant_upper_balance_bps = cfg.loss_v2_instant_upper_bound_balance_bps
    s.instant_upper_loss_offset = cfg.loss_v2_instant_upper_bound_loss_offset
    s.temporal_weight_factor = cfg.loss_v2_temporal_weight_factor
    s.backoff_lower_bound_factor = cfg.loss_v2_bandwidth_backoff_lower_bound_factor
    s.max_increase_factor = cfg.loss_v2_max_increase_factor
    s.delayed_increase_window_us = cfg.loss_v2_delayed_increase_window_us
    s.not_increase_if_loss_above_inherent = (
        cfg.loss_v2_not_increase_if_inherent_loss_less_than_average_loss)
    s.not_use_acked_rate_in_alr = cfg.loss_v2_not_use_acked_rate_in_alr
    s.min_num_observations = cfg.loss_v2_min_num_observations
    s.lower_bound_by_acked_factor = cfg.loss_v2_lower_bound_by_acked_rate_factor
    s.hold_duration_factor = cfg.loss_v2_hold_duration_factor
    s.bound_best_candidate = cfg.loss_v2_bound_best_candidate
    s.enabled = cfg.loss_based_v2 and lbv2_config_problem(cfg) == NULL
    if s.window < 2:
        s.window = 2
    if s.window > LBV2_MAX_WINDOW:
        s.window = LBV2_MAX_WINDOW
    if s.newton_iterations < 1:
        s.newton_iterations = 1
    s.min_bps = 1000               # libwebrtc's default min_bitrate_ (1 kbps)
    s.max_bps = MO_NONE
    s.acked_bps = -1
    s.delay_based_bps = MO_NONE
    s.inherent_loss = s.initial_inherent_loss
    s.loss_limited_bps = MO_MINUS_INF
    s.result_bps = 0
    s.result_state = LBV2_DELAY_BASED
    s.num_observations = 0
    s.last_send_obs_us = MO_NONE
    s.last_reduced_us = MO_MINUS_INF
    s.recovering_us = MO_MINUS_INF
    s.limit_in_window_bps = MO_NONE
    s.avg_loss = 0.0
    s.instant_upper_bps = MO_MINUS_INF
    s.instant_lower_bps = s.min_bps
    s.hold_until_us = MO_MINUS_INF
    s.hold_duration_us = _INIT_HOLD_US
    s.hold_bps = MO_NONE
    s.part_packets = 0
    s.part_lost = 0
    s.part_bytes = 0
    s.part_lost_bytes = 0
    s.part_first_send_us = MO_NONE
    s.part_last_send_us = MO_MINUS_INF
    for i in range(LBV2_MAX_WINDOW):
        s.weights[i] = pow(s.temporal_weight_factor, i)
        s.instant_weights[i] = pow(s.instant_weight_factor, i)
        s.obs[i].id = -1
        s.obs[i].num_packets = 0
        s.obs[i].num_lost = 0
        s.obs[i].size_bytes = 0
        s.obs[i].lost_bytes = 0
        s.obs[i].sending_rate_bps = 0


cdef inline void _calc_instant_lower(Lbv2State* s) noexcept nogil:
    cdef int64_t lower = 0
    if s.acked_bps >= 0 and s.lower_bound_by_acked_factor > 0.0:
        lower = _scale(s.acked_bps, s.lower_bound_by_acked_factor)
    s.instant_lower_bps = _max(lower, s.min_bps)


cdef inline int64_t _instant_upper(Lbv2State* s) noexcept nogil:
    return s.instant_upper_bps if s.instant_upper_bps != MO_MINUS_INF else s.max_bps


cdef void lbv2_set_min_max(Lbv2State* s, int64_t min_bps, int64_t max_bps) noexcept nogil:
    if _finite(min_bps):
        s.min_bps = min_bps
        _calc_instant_lower(s)
    if _finite(max_bps):
        s.max_bps = max_bps


cdef void lbv2_set_bandwidth_estimate(Lbv2State* s, int64_t bps) noexcept nogil:
    if _finite(bps):
        s.loss_limited_bps = bps
        s.result_bps = bps
        s.result_state = LBV2_DELAY_BASED


cdef void lbv2_set_acked(Lbv2State* s, int64_t bps) noexcept nogil:
    if bps >= 0 and _finite(bps):
        s.acked_bps = bps
        _calc_instant_lower(s)


cdef void lbv2_begin_report(Lbv2State* s) noexcept nogil:
    s.part_first_send_us = MO_NONE
    s.part_last_send_us = MO_MINUS_INF


cdef void lbv2_add_packet(Lbv2State* s, int64_t send_us, int64_t size_bytes,
                          bint lost) noexcept nogil:
    s.part_packets += 1
    s.part_bytes += size_bytes
    if lost:
        s.part_lost += 1
        s.part_lost_bytes += size_bytes
    if send_us < s.part_first_send_us:
        s.part_first_send_us = send_us
    if send_us > s.part_last_send_us:
        s.part_last_send_us = send_us


cdef void lbv2_unlose(Lbv2State* s, int64_t size_bytes) noexcept nogil:
    if s.part_lost > 0:
        s.part_lost -= 1
        s.part_lost_bytes -= size_bytes
        if s.part_lost_bytes < 0:
            s.part_lost_bytes = 0


cdef inline double _loss_probability(double inherent, int64_t bw_bps,
                                     int64_t rate_bps) noexcept nogil:
    cdef double p
    if inherent < 0.0:
        inherent = 0.0
    if inherent > 1.0:
        inherent = 1.0
    p = inherent
    if _finite(rate_bps) and _finite(bw_bps) and rate_bps > bw_bps and rate_bps > 0:
        p += (1.0 - inherent) * <double>(rate_bps - bw_bps) / <double>rate_bps
    if p < 1.0e-6:
        p = 1.0e-6
    if p > 1.0 - 1.0e-6:
        p = 1.0 - 1.0e-6
    return p


cdef inline double _weight(Lbv2State* s, int64_t obs_id) noexcept nogil:
    cdef int64_t age = (s.num_observations - 1) - obs_id
    if age < 0 or age >= LBV2_MAX_WINDOW:
        return 0.0
    return s.weights[age]


cdef inline double _instant_weight(Lbv2State* s, int64_t obs_id) noexcept nogil:
    cdef int64_t age = (s.num_observations - 1) - obs_id
    if age < 0 or age >= LBV2_MAX_WINDOW:
        return 0.0
    return s.instant_weights[age]


cdef double _average_loss(Lbv2State* s) noexcept nogil:
    # Packet loss ratio over the window, weighted by the instant-bound weights.
    cdef double n = 0.0, lost = 0.0, w
    cdef int32_t i
    if s.num_observations <= 0:
        return 0.0
    for i in range(s.window):
        if s.obs[i].id < 0:
            continue
        w = _instant_weight(s, s.obs[i].id)
        n += w * s.obs[i].num_packets
        lost += w * s.obs[i].num_lost
    if n <= 0.0:
        return 0.0
    return lost / n


cdef double _inherent_loss_upper(Lbv2State* s, int64_t bw_bps) noexcept nogil:
    cdef double b
    if bw_bps == 0:
        return 1.0
    if not _finite(bw_bps):
        b = s.inherent_loss_upper_offset
    else:
        b = (s.inherent_loss_upper_offset
             + <double>s.inherent_loss_upper_balance_bps / <double>bw_bps)
    return b if b < 1.0 else 1.0


cdef inline double _feasible_inherent_loss(Lbv2State* s, double loss,
                                           int64_t bw_bps) noexcept nogil:
    cdef double upper = _inherent_loss_upper(s, bw_bps)
    if loss < s.inherent_loss_lower:
        loss = s.inherent_loss_lower
    if loss > upper:
        loss = upper
    return loss


cdef inline double _adjust_bias(Lbv2State* s, double bias) noexcept nogil:
    cdef double d = s.loss_threshold_high_bw_pref - s.avg_loss
    return bias * d / (s.bw_pref_smoothing + fabs(d))


cdef double _high_bandwidth_bias(Lbv2State* s, int64_t bw_bps) noexcept nogil:
    cdef double kbps
    if not _finite(bw_bps):
        return 0.0
    # DataRate::kbps(): whole kilobits per second, rounded to nearest.
    kbps = <double>((bw_bps + 500) // 1000) if bw_bps >= 0 else -<double>((-bw_bps + 500) // 1000)
    return (_adjust_bias(s, s.higher_bw_bias) * kbps
            + _adjust_bias(s, s.higher_log_bw_bias) * log(1.0 + kbps))


# The window in slot order, flattened once per update for the candidate loops: weight,
# lost and received packets, packets and sending rate of each initialised observation.
# The sums below run in libwebrtc's order (slot 0 first), so the results are the same.
cdef struct _Flat:
    int32_t n
    double w[LBV2_MAX_WINDOW]
    double lost[LBV2_MAX_WINDOW]
    double recv[LBV2_MAX_WINDOW]
    double packets[LBV2_MAX_WINDOW]
    int64_t rate[LBV2_MAX_WINDOW]


cdef void _flatten(Lbv2State* s, _Flat* f) noexcept nogil:
    cdef int32_t i, k = 0
    for i in range(s.window):
        if s.obs[i].id < 0:
            continue
        f.w[k] = _weight(s, s.obs[i].id)
        f.lost[k] = <double>s.obs[i].num_lost
        f.recv[k] = <double>(s.obs[i].num_packets - s.obs[i].num_lost)
        f.packets[k] = <double>s.obs[i].num_packets
        f.rate[k] = s.obs[i].sending_rate_bps
        k += 1
    f.n = k


cdef inline bint _over(int64_t rate, int64_t bw_bps) noexcept nogil:
    # The sending rate exceeds the bandwidth: the loss probability is above the inherent.
    return _finite(rate) and _finite(bw_bps) and rate > bw_bps and rate > 0


cdef double _objective(Lbv2State* s, _Flat* f, double inherent,
                       int64_t bw_bps) noexcept nogil:
    cdef double obj = 0.0, p, bias = _high_bandwidth_bias(s, bw_bps)
    cdef double log_p, log_q
    cdef int32_t i
    # Observations sent at or under the candidate bandwidth all have the loss probability
    # of the inherent loss: their logarithms are computed once (same values, same sum).
    cdef double p0 = _loss_probability(inherent, bw_bps, 0)
    cdef double log_p0 = log(p0), log_q0 = log(1.0 - p0)
    for i in range(f.n):
        if _over(f.rate[i], bw_bps):
            p = _loss_probability(inherent, bw_bps, f.rate[i])
            log_q = log(1.0 - p)
            # Without lost packets the loss term is zero: its logarithm is not needed
            # (the sum is the same to the bit).
            log_p = log(p) if f.lost[i] != 0.0 else 0.0
        else:
            log_p = log_p0
            log_q = log_q0
        if f.lost[i] != 0.0:
            obj += f.w[i] * (f.lost[i] * log_p + f.recv[i] * log_q)
        else:
            obj += f.w[i] * (f.recv[i] * log_q)
        obj += f.w[i] * bias * f.packets[i]
    return obj


cdef double _newton(Lbv2State* s, _Flat* f, double inherent,
                    int64_t bw_bps) noexcept nogil:
    cdef double first, second, p, q, p0, q0, pp0, qq0
    cdef int32_t it, i
    if s.num_observations <= 0:
        return inherent
    for it in range(s.newton_iterations):
        first = 0.0
        second = 0.0
        p0 = _loss_probability(inherent, bw_bps, 0)
        q0 = 1.0 - p0
        pp0 = p0 * p0
        qq0 = q0 * q0
        for i in range(f.n):
            if _over(f.rate[i], bw_bps):
                p = _loss_probability(inherent, bw_bps, f.rate[i])
                q = 1.0 - p
                if f.lost[i] != 0.0:
                    first += f.w[i] * (f.lost[i] / p - f.recv[i] / q)
                    second -= f.w[i] * (f.lost[i] / (p * p) + f.recv[i] / (q * q))
                else:
                    # 0 / p is exactly 0: the same sums without the two divisions.
                    first += f.w[i] * (-(f.recv[i] / q))
                    second -= f.w[i] * (f.recv[i] / (q * q))
            else:
                first += f.w[i] * (f.lost[i] / p0 - f.recv[i] / q0)
                second -= f.w[i] * (f.lost[i] / pp0 + f.recv[i] / qq0)
        if second >= 0.0:
            second = -1.0e-6       # mathematically negative; guard the division
        inherent -= s.newton_step_size * first / second
        inherent = _feasible_inherent_loss(s, inherent, bw_bps)
    return inherent


cdef inline bint _loss_limited(Lbv2State* s) noexcept nogil:
    return s.result_state != LBV2_DELAY_BASED


cdef int64_t _candidate_upper_bound(Lbv2State* s) noexcept nogil:
    cdef int64_t upper = s.max_bps, since
    cdef double accel
    if _loss_limited(s) and _finite(s.limit_in_window_bps):
        upper = s.limit_in_window_bps
    if s.acked_bps < 0:
        return upper
    if s.rampup_accel_max_factor > 0.0 and s.rampup_accel_maxout_us > 0:
        since = 0
        if _finite(s.last_send_obs_us) and _finite(s.last_reduced_us):
            since = s.last_send_obs_us - s.last_reduced_us
        elif _finite(s.last_send_obs_us) and s.last_reduced_us == MO_MINUS_INF:
            since = s.rampup_accel_maxout_us
        if since < 0:
            since = 0
        if since > s.rampup_accel_maxout_us:
            since = s.rampup_accel_maxout_us
        accel = s.rampup_accel_max_factor * since / <double>s.rampup_accel_maxout_us
        if _finite(upper):
            upper += _scale(s.acked_bps, accel)
    return upper


cdef inline bint _increasing_when_loss_limited(Lbv2State* s, int64_t old_bps,
                                               int64_t new_bps) noexcept nogil:
    return (old_bps < new_bps or (
        old_bps == new_bps and (s.result_state == LBV2_INCREASING
                                or s.result_state == LBV2_INCREASE_USING_PADDING))
            ) and _loss_limited(s)


cdef bint _push_observation(Lbv2State* s) noexcept nogil:
    cdef int64_t duration, rate, slot, prev
    if s.part_last_send_us == MO_MINUS_INF:
        return False
    if not _finite(s.last_send_obs_us):
        s.last_send_obs_us = s.part_first_send_us
    duration = s.part_last_send_us - s.last_send_obs_us
    if duration <= 0 or duration < s.observation_min_us:
        return False
    s.last_send_obs_us = s.part_last_send_us
    # DataSize / TimeDelta: whole bits per second.
    rate = (s.part_bytes * 8_000_000) // duration
    if s.num_observations > 0:
        prev = s.obs[(s.num_observations - 1) % s.window].sending_rate_bps
        # Two DataRate x double products (each rounded), then their sum.
        rate = (_scale(prev, s.sending_rate_smoothing)
                + _scale(rate, 1.0 - s.sending_rate_smoothing))
    slot = s.num_observations % s.window
    s.obs[slot].id = s.num_observations
    s.obs[slot].num_packets = s.part_packets
    s.obs[slot].num_lost = s.part_lost
    s.obs[slot].size_bytes = s.part_bytes
    s.obs[slot].lost_bytes = s.part_lost_bytes
    s.obs[slot].sending_rate_bps = rate
    s.num_observations += 1
    s.part_packets = 0
    s.part_lost = 0
    s.part_bytes = 0
    s.part_lost_bytes = 0
    s.avg_loss = _average_loss(s)
    # CalculateInstantUpperBound.
    s.instant_upper_bps = s.max_bps
    if s.avg_loss > s.instant_upper_loss_offset:
        s.instant_upper_bps = <int64_t>round(
            s.instant_upper_balance_bps / (s.avg_loss - s.instant_upper_loss_offset))
    return True


cdef void lbv2_end_report(Lbv2State* s, int64_t delay_based_bps, bint in_alr) noexcept nogil:
    cdef int64_t bws[6]
    cdef int n = 0, i
    cdef int64_t best_bw, cand_bw, upper, bounded, cur_bw, cap
    cdef double best_loss, cand_loss, obj, obj_max = -1.0e308, rampup
    cdef _Flat flat
    s.delay_based_bps = delay_based_bps
    if not s.enabled or s.part_last_send_us == MO_MINUS_INF:
        return                     # no packets: nothing to learn
    if not _push_observation(s):
        return
    if not _finite(s.loss_limited_bps):
        if not _finite(delay_based_bps):
            return
        s.loss_limited_bps = delay_based_bps
        s.result_bps = delay_based_bps
        s.result_state = LBV2_DELAY_BASED
    cur_bw = s.loss_limited_bps
    # GetCandidates.
    for i in range(3):
        bws[n] = _scale(cur_bw, s.candidate_factors[i])
        n += 1
    if s.acked_bps >= 0 and s.acked_rate_candidate and not (
            s.not_use_acked_rate_in_alr and in_alr):
        bws[n] = _scale(s.acked_bps, s.backoff_lower_bound_factor)
        n += 1
    if _finite(delay_based_bps) and s.delay_based_candidate and delay_based_bps > cur_bw:
        bws[n] = delay_based_bps
        n += 1
    if in_alr and s.upper_bound_candidate_in_alr and cur_bw > _instant_upper(s):
        bws[n] = _instant_upper(s)
        n += 1
    upper = _max(cur_bw, _candidate_upper_bound(s))
    _flatten(s, &flat)
    best_bw = cur_bw
    best_loss = s.inherent_loss
    for i in range(n):
        cand_bw = _min(bws[i], upper)
        cand_loss = _feasible_inherent_loss(s, s.inherent_loss, cand_bw)
        cand_loss = _newton(s, &flat, cand_loss, cand_bw)
        obj = _objective(s, &flat, cand_loss, cand_bw)
        if obj > obj_max:
            obj_max = obj
            best_bw = cand_bw
            best_loss = cand_loss
    if best_bw < cur_bw:
        s.last_reduced_us = s.last_send_obs_us
    # No increase while the average loss exceeds the inherent loss.
    if (s.avg_loss > best_loss and s.not_increase_if_loss_above_inherent
            and cur_bw < best_bw):
        best_bw = cur_bw
    if _loss_limited(s):
        if (s.recovering_us != MO_MINUS_INF
                and s.recovering_us + s.delayed_increase_window_us > s.last_send_obs_us
                and best_bw > s.limit_in_window_bps):
            best_bw = s.limit_in_window_bps
        if _increasing_when_loss_limited(s, cur_bw, best_bw) and s.acked_bps >= 0:
            rampup = s.rampup_upper_bound_factor
            if _finite(s.hold_bps) and (
                    s.acked_bps < s.rampup_hold_threshold * <double>s.hold_bps):
                rampup = s.rampup_upper_bound_factor_hold
            best_bw = _max(cur_bw, _min(best_bw, _scale(s.acked_bps, rampup)))
            # At least 1 bps up, so that the state switches to increasing.
            if s.result_state == LBV2_DECREASING and best_bw == cur_bw:
                best_bw = cur_bw + 1
    bounded = _min(best_bw, _instant_upper(s))
    if _finite(delay_based_bps):
        bounded = _min(bounded, delay_based_bps)
    bounded = _max(s.instant_lower_bps, bounded)
    if s.bound_best_candidate and bounded < best_bw:
        s.loss_limited_bps = bounded
        s.inherent_loss = 0.0
    else:
        s.loss_limited_bps = best_bw
        s.inherent_loss = best_loss
        if s.lower_bound_by_acked_factor > 0.0:
            s.loss_limited_bps = _max(s.loss_limited_bps, s.instant_lower_bps)
    if (s.result_state == LBV2_DECREASING and s.hold_until_us != MO_MINUS_INF
            and s.hold_until_us > s.last_send_obs_us and bounded < delay_based_bps):
        # Hold: no increase above the rate held since the last decrease.
        if s.lower_bound_by_acked_factor > 0.0:
            s.hold_bps = _max(s.instant_lower_bps, s.hold_bps)
        s.result_bps = _min(s.hold_bps, bounded)
        return
    if (_increasing_when_loss_limited(s, s.result_bps, bounded)
            and bounded < delay_based_bps and bounded < s.max_bps):
        s.result_state = LBV2_INCREASING
    elif bounded < delay_based_bps and bounded < s.max_bps:
        if s.result_state != LBV2_DECREASING and s.hold_duration_factor > 0:
            s.hold_until_us = s.last_send_obs_us + s.hold_duration_us
            cap = _scale(s.hold_duration_us, s.hold_duration_factor)  # TimeDelta x double
            s.hold_duration_us = cap if cap < _MAX_HOLD_US else _MAX_HOLD_US
            s.hold_bps = bounded
        s.result_state = LBV2_DECREASING
    else:
        # The delay-based estimate rules again: forget the hold.
        s.hold_until_us = MO_MINUS_INF
        s.hold_duration_us = _INIT_HOLD_US
        s.hold_bps = MO_NONE
        s.result_state = LBV2_DELAY_BASED
    s.result_bps = bounded
    if _loss_limited(s) and (
            s.recovering_us == MO_MINUS_INF
            or s.recovering_us + s.delayed_increase_window_us < s.last_send_obs_us):
        s.limit_in_window_bps = _max(_CC_MIN_BPS,
                                     _scale(s.loss_limited_bps, s.max_increase_factor))
        s.recovering_us = s.last_send_obs_us


cdef bint lbv2_is_ready(Lbv2State* s) noexcept nogil:
    return (s.enabled and _finite(s.loss_limited_bps)
            and s.num_observations >= s.min_num_observations)


cdef int64_t lbv2_result_bps(Lbv2State* s) noexcept nogil:
    if not lbv2_is_ready(s):
        return s.delay_based_bps if _finite(s.delay_based_bps) else MO_NONE
    return s.result_bps


cdef int32_t lbv2_result_state(Lbv2State* s) noexcept nogil:
    if not lbv2_is_ready(s):
        return LBV2_DELAY_BASED
    return s.result_state


_STATE_NAMES = ("delay_based_estimate", "increasing", "increase_using_padding", "decreasing")


cdef class LossBasedBweV2:
    """libwebrtc's ``LossBasedBweV2`` alone (defaults from ``GccConfig.loss_v2_*``).

    ``update(send_us, arrival_us, size_bytes, delay_based_bps=None, in_alr=False)``
    takes one feedback report (``arrival_us = -1``: lost); ``bandwidth_estimate_bps`` is
    the result (``None`` while it is +infinity) and ``state`` its ``LossBasedState``.
    """

    def __init__(self, *, config=None):
        cdef GccParams p
        params_from(config, &p)
        lbv2_init(&self.s, &p)

    @property
    def enabled(self):
        """True when the switch is on and the configuration is valid."""
        return bool(self.s.enabled)

    @property
    def ready(self):
        """True once initialised and with enough observations (libwebrtc's IsReady)."""
        return bool(lbv2_is_ready(&self.s))

    def set_bandwidth_estimate(self, bps):
        """Set the loss-limited bandwidth, bps."""
        lbv2_set_bandwidth_estimate(&self.s, int_arg("bps", bps, 0))

    def set_acknowledged_bitrate(self, bps):
        """Set the acknowledged bitrate, bps."""
        lbv2_set_acked(&self.s, int_arg("bps", bps, 0))

    def set_min_max_bitrate(self, min_bps, max_bps=None):
        """Set the floor and (optionally) the ceiling, bps."""
        lo = int_arg("min_bps", min_bps, 0)
        hi = MO_NONE if max_bps is None else int_arg("max_bps", max_bps, 0)
        lbv2_set_min_max(&self.s, lo, hi)

    def update(self, send_us, arrival_us, size_bytes, delay_based_bps=None, in_alr=False):
        """Feed one report of packets (``arrival_us = -1``: lost); ``None`` = +infinity."""
        snd = as_int64_array("send_us", send_us, min_value=0)
        arr = as_int64_array("arrival_us", arrival_us, min_value=0, allow=(-1,))
        siz = as_int64_array("size_bytes", size_bytes, min_value=0, max_value=2**31 - 1)
        n = check_same_length(send_us=snd, arrival_us=arr, size_bytes=siz)
        dbe = (MO_NONE if delay_based_bps is None
               else int_arg("delay_based_bps", delay_based_bps, 0))
        cdef int64_t[::1] sv = snd
        cdef int64_t[::1] av = arr
        cdef int64_t[::1] zv = siz
        cdef Py_ssize_t i, nn = n
        cdef bint alr = bool(in_alr)
        cdef int64_t d = dbe
        if n == 0:
            self.s.delay_based_bps = d
            return
        with nogil:
            lbv2_begin_report(&self.s)
            for i in range(nn):
                lbv2_add_packet(&self.s, sv[i], zv[i], av[i] < 0)
            lbv2_end_report(&self.s, d, alr)

    @property
    def bandwidth_estimate_bps(self):
        """The loss-based estimate, bps (``None``: +infinity)."""
        v = lbv2_result_bps(&self.s)
        return None if v == MO_NONE else v

    @property
    def state(self):
        """``delay_based_estimate``, ``increasing``, ``increase_using_padding`` or
        ``decreasing``."""
        return _STATE_NAMES[lbv2_result_state(&self.s)]

    @property
    def inherent_loss(self):
        """The current inherent loss estimate (0..1)."""
        return self.s.inherent_loss

    @property
    def average_reported_loss_ratio(self):
        """The temporally weighted average reported loss ratio (0..1)."""
        return self.s.avg_loss
