"""AIMD rate control for the delay-based estimate, as libwebrtc's ``AimdRateControl``."""

from mediaopt._core._check import InputError

from libc.math cimport ceil, copysign, floor, fmod, pow, sqrt
from libc.stdint cimport int32_t, int64_t

from mediaopt._core._check cimport int_arg
from mediaopt._core.gcc_config cimport params_from

from mediaopt._core._units cimport (
    MO_MINUS_INF, MO_NONE, rate_times, rate_times_duration_bytes, size_over_duration_bps,
)
from mediaopt._core.trendline cimport BW_NORMAL, BW_OVERUSING, BW_UNDERUSING

# libwebrtc's kCongestionControllerMinBitrate.
cdef int64_t _CC_MIN_BPS = 5000


# ---------------------------------------------------------------- LinkCapacityEstimator

cdef void lc_reset(LinkCapacityState* s) noexcept nogil:
    s.has_estimate = False


cdef inline double _lc_deviation(LinkCapacityState* s) noexcept nogil:
    return sqrt(s.deviation_kbps * s.estimate_kbps)


cdef int64_t lc_upper_bps(LinkCapacityState* s) noexcept nogil:
    if not s.has_estimate:
        return MO_NONE
    return <int64_t>(1000.0 * (s.estimate_kbps + s.sigmas * _lc_deviation(s)))


cdef int64_t lc_lower_bps(LinkCapacityState* s) noexcept nogil:
    cdef double v
    if not s.has_estimate:
        return 0
    v = s.estimate_kbps - s.sigmas * _lc_deviation(s)
    return <int64_t>(1000.0 * (v if v > 0.0 else 0.0))


cdef void lc_update(LinkCapacityState* s, int64_t sample_bps, double alpha) noexcept nogil:
    cdef double sample_kbps = sample_bps * (1.0 / 1000.0)  # DataRate::kbps<double>()
    cdef double norm, err
    if not s.has_estimate:
        s.estimate_kbps = sample_kbps
        s.has_estimate = True
    else:
        s.estimate_kbps = (1.0 - alpha) * s.estimate_kbps + alpha * sample_kbps
    # The variance is normalised by the estimate so that it scales with the rate.
    norm = s.estimate_kbps if s.estimate_kbps > 1.0 else 1.0
    err = s.estimate_kbps - sample_kbps
    s.deviation_kbps = (1.0 - alpha) * s.deviation_kbps + alpha * err * err / norm
    if s.deviation_kbps < s.min_deviation_kbps:
        s.deviation_kbps = s.min_deviation_kbps
    elif s.deviation_kbps > s.max_deviation_kbps:
        s.deviation_kbps = s.max_deviation_kbps


cdef inline int64_t _lc_estimate_bps(LinkCapacityState* s) noexcept nogil:
    return <int64_t>(1000.0 * s.estimate_kbps)


# ---------------------------------------------------------------------- AimdRateControl

cdef inline int64_t _whole_us(double us, double divisor) noexcept nogil:
    # ``us // divisor`` with Python's float floor division (fmod based, as CPython's
    # float_floor_div: it can differ from floor(us / divisor) in the last place), whole.
    cdef double mod, div, q
    if not divisor > 0.0:
        return 0
    mod = fmod(us, divisor)
    div = (us - mod) / divisor
    if mod != 0.0 and (divisor < 0.0) != (mod < 0.0):
        div -= 1.0
    if div != 0.0:
        q = floor(div)
        if div - q > 0.5:
            q += 1.0
    else:
        q = copysign(0.0, us / divisor)
    if q >= 9.2e18:
        return MO_NONE
    return <int64_t>q


cdef void aimd_init(AimdState* s, const GccParams* cfg) noexcept nogil:
    s.beta = cfg.backoff_factor
    s.increase_per_s = cfg.multiplicative_increase_per_s
    s.min_mult_increase_bps = cfg.min_multiplicative_increase_bps
    s.min_near_max_bps_per_s = cfg.min_near_max_increase_bps_per_s
    s.packet_size_bytes = cfg.near_max_packet_size_bytes
    # TimeDelta::Seconds(1) / 30 in whole microseconds, as libwebrtc.
    s.frame_interval_us = _whole_us(1_000_000.0, cfg.near_max_frame_rate_fps)
    s.response_delay_us = cfg.overuse_response_delay_us
    s.limit_factor = cfg.increase_limit_factor
    s.limit_offset_bps = cfg.increase_limit_offset_bps
    s.init_time_us = cfg.initialization_time_us
    s.default_period_us = cfg.default_expected_period_us
    s.min_period_us = cfg.min_expected_period_us
    s.max_period_us = cfg.max_expected_period_us
    s.min_reduce_us = cfg.min_reduction_interval_us
    s.max_reduce_us = cfg.max_reduction_interval_us
    s.no_increase_in_alr = False
    s.min_bps = _CC_MIN_BPS
    s.current_bps = 30_000_000          # libwebrtc starts at its max configured rate
    s.latest_throughput_bps = s.current_bps
    s.state = RC_HOLD
    s.last_change_us = MO_MINUS_INF
    s.last_decrease_us = MO_MINUS_INF
    s.first_throughput_us = MO_MINUS_INF
    s.initialized = False
    s.in_alr = False
    s.rtt_us = cfg.default_rtt_us
    s.has_last_decrease = False
    s.last_decrease_bps = 0
    s.link.has_estimate = False
    s.link.estimate_kbps = 0.0
    s.link.deviation_kbps = cfg.link_capacity_min_deviation_kbps
    s.link.alpha_overuse = cfg.link_capacity_alpha_overuse
    s.link.min_deviation_kbps = cfg.link_capacity_min_deviation_kbps
    s.link.max_deviation_kbps = cfg.link_capacity_max_deviation_kbps
    s.link.sigmas = cfg.link_capacity_deviation_sigmas


cdef void aimd_set_start(AimdState* s, int64_t bps) noexcept nogil:
    s.current_bps = bps
    s.latest_throughput_bps = bps
    s.initialized = True


cdef void aimd_set_min(AimdState* s, int64_t bps) noexcept nogil:
    s.min_bps = bps
    if s.current_bps < bps:
        s.current_bps = bps


cdef inline int64_t _clamp(AimdState* s, int64_t bps) noexcept nogil:
    return bps if bps > s.min_bps else s.min_bps


cdef void aimd_set_estimate(AimdState* s, int64_t bps, int64_t now_us) noexcept nogil:
    cdef int64_t prev = s.current_bps
    s.initialized = True
    s.current_bps = _clamp(s, bps)
    s.last_change_us = now_us
    if s.current_bps < prev:
        s.last_decrease_us = now_us


cdef inline bint _elapsed_at_least(int64_t now_us, int64_t since_us,
                                   int64_t interval_us) noexcept nogil:
    # now - since >= interval, where since may be minus infinity.
    if since_us == MO_MINUS_INF:
        return True
    return now_us - since_us >= interval_us


cdef bint aimd_time_to_reduce_further(AimdState* s, int64_t now_us,
                                      int64_t throughput_bps) noexcept nogil:
    cdef int64_t interval = s.rtt_us
    if interval < s.min_reduce_us:
        interval = s.min_reduce_us
    elif interval > s.max_reduce_us:
        interval = s.max_reduce_us
    if _elapsed_at_least(now_us, s.last_change_us, interval):
        return True
    if s.initialized:
        return throughput_bps < rate_times(s.current_bps, 0.5)
    return False


cdef bint aimd_initial_time_to_reduce_further(AimdState* s, int64_t now_us) noexcept nogil:
    return s.initialized and aimd_time_to_reduce_further(
        s, now_us, s.current_bps // 2 - 1)


cdef double aimd_near_max_increase(AimdState* s) noexcept nogil:
    # Half a packet per response time: the additive step near the link capacity.
    cdef int64_t frame_bytes = rate_times_duration_bytes(s.current_bps, s.frame_interval_us)
    cdef double packets_per_frame = ceil(<double>frame_bytes / <double>s.packet_size_bytes)
    cdef int64_t avg_packet_bytes
    cdef int64_t response_us = 2 * (s.rtt_us + s.response_delay_us)
    cdef double rate
    if packets_per_frame < 1.0:
        packets_per_frame = 1.0
    avg_packet_bytes = <int64_t>(frame_bytes / packets_per_frame)
    rate = <double>size_over_duration_bps(avg_packet_bytes, response_us)
    return rate if rate > s.min_near_max_bps_per_s else s.min_near_max_bps_per_s


cdef int64_t aimd_expected_period_us(AimdState* s) noexcept nogil:
    cdef double inc = aimd_near_max_increase(s)
    cdef double period_s
    cdef int64_t period_us
    if not s.has_last_decrease:
        return s.default_period_us
    if inc <= 0.0:
        return s.max_period_us          # no increase configured: never recovers
    period_s = s.last_decrease_bps / inc
    if period_s > 1e6:
        period_s = 1e6
    period_us = <int64_t>(period_s * 1_000_000.0)
    if period_us < s.min_period_us:
        return s.min_period_us
    if period_us > s.max_period_us:
        return s.max_period_us
    return period_us


cdef inline int64_t _multiplicative_increase(AimdState* s, int64_t now_us) noexcept nogil:
    cdef double alpha = s.increase_per_s
    cdef double dt_s
    cdef int64_t inc
    if s.last_change_us != MO_MINUS_INF:
        dt_s = (now_us - s.last_change_us) * (1.0 / 1e6)
        alpha = pow(alpha, dt_s if dt_s < 1.0 else 1.0)
    inc = rate_times(s.current_bps, alpha - 1.0)
    return inc if inc > s.min_mult_increase_bps else s.min_mult_increase_bps


cdef inline int64_t _additive_increase(AimdState* s, int64_t now_us) noexcept nogil:
    cdef double dt_s = (now_us - s.last_change_us) * (1.0 / 1e6)
    return <int64_t>(aimd_near_max_increase(s) * dt_s)


cdef inline void _change_state(AimdState* s, int32_t bw_state, int64_t now_us) noexcept nogil:
    if bw_state == BW_NORMAL:
        if s.state == RC_HOLD:
            s.last_change_us = now_us
            s.state = RC_INCREASE
    elif bw_state == BW_OVERUSING:
        s.state = RC_DECREASE
    else:
        s.state = RC_HOLD


cdef int64_t aimd_update(AimdState* s, int32_t bw_state, int64_t throughput_bps,
                         int64_t now_us) noexcept nogil:
    # throughput_bps < 0 means "no acknowledged rate" (libwebrtc's nullopt).
    cdef bint has_new = False
    cdef int64_t new_bps = 0
    cdef int64_t est, limit, increased, decreased
    if not s.initialized:
        if s.first_throughput_us == MO_MINUS_INF:
            if throughput_bps >= 0:
                s.first_throughput_us = now_us
        elif now_us - s.first_throughput_us > s.init_time_us and throughput_bps >= 0:
            s.current_bps = throughput_bps
            s.initialized = True
    est = throughput_bps if throughput_bps >= 0 else s.latest_throughput_bps
    if throughput_bps >= 0:
        s.latest_throughput_bps = throughput_bps
    # Over-use always acts, even before the first estimate, so that one gets established.
    if not s.initialized and bw_state != BW_OVERUSING:
        return s.current_bps
    _change_state(s, bw_state, now_us)
    if s.state == RC_INCREASE:
        if s.link.has_estimate and est > lc_upper_bps(&s.link):
            lc_reset(&s.link)
        # Never run far ahead of what is actually acknowledged.
        limit = rate_times(est, s.limit_factor) + s.limit_offset_bps
        if s.in_alr and s.no_increase_in_alr:
            limit = s.current_bps
        if s.current_bps < limit:
            if s.link.has_estimate:
                increased = s.current_bps + _additive_increase(s, now_us)
            else:
                increased = s.current_bps + _multiplicative_increase(s, now_us)
            new_bps = increased if increased < limit else limit
            has_new = True
        s.last_change_us = now_us
    elif s.state == RC_DECREASE:
        # Just under the acknowledged rate, to drain the self-inflicted queue.
        decreased = rate_times(est, s.beta)
        if decreased > s.current_bps and s.link.has_estimate:
            decreased = <int64_t>(s.beta * _lc_estimate_bps(&s.link))
        if decreased < s.current_bps:
            new_bps = decreased
            has_new = True
        if s.initialized and est < s.current_bps:
            s.has_last_decrease = True
            s.last_decrease_bps = (s.current_bps - new_bps) if has_new else 0
        if est < lc_lower_bps(&s.link):
            lc_reset(&s.link)
        s.initialized = True
        lc_update(&s.link, est, s.link.alpha_overuse)
        s.state = RC_HOLD
        s.last_change_us = now_us
        s.last_decrease_us = now_us
    s.current_bps = _clamp(s, new_bps if has_new else s.current_bps)
    return s.current_bps


_USAGE = {"normal": BW_NORMAL, "underusing": BW_UNDERUSING, "overusing": BW_OVERUSING}


cdef class AimdRateControl:
    """Additive-increase / multiplicative-decrease control of the delay-based estimate.

    Defaults are libwebrtc's: back-off to 0.85 x the acknowledged rate, 8 %/s
    multiplicative increase, near-max additive increase of half a packet per response
    time (at least 4 kbit/s per second), increases capped at 1.5 x acknowledged +
    10 kbit/s, RTT 200 ms until told otherwise.
    """

    def __init__(self, *, min_bps=5_000, config=None):
        cdef GccParams p
        params_from(config, &p)
        aimd_init(&self.s, &p)
        aimd_set_min(&self.s, int_arg("min_bps", min_bps, 0))

    def set_start_bitrate(self, bps):
        """Start from ``bps`` (libwebrtc's SetStartBitrate); the estimate becomes valid."""
        aimd_set_start(&self.s, int_arg("bps", bps, 0))

    def set_estimate(self, bps, now_us):
        """Force the estimate to ``bps`` at ``now_us`` (as after a probe)."""
        aimd_set_estimate(&self.s, int_arg("bps", bps, 0),
                          int_arg("now_us", now_us))

    def set_rtt(self, rtt_us):
        """Set the round-trip time used for the response time, us."""
        self.s.rtt_us = int_arg("rtt_us", rtt_us, 0)

    def set_in_alr(self, in_alr):
        """Tell the controller whether the sender is application limited."""
        self.s.in_alr = bool(in_alr)

    def update(self, state, acked_bps, now_us):
        """Apply one detector state (str or ``BandwidthUsage``) at ``now_us``; return bps.

        ``acked_bps`` is the acknowledged bitrate, or ``None`` when there is none yet.
        """
        key = str(getattr(state, "value", state))
        if key not in _USAGE:
            raise InputError(f"state: expected one of {sorted(_USAGE)}, got {state!r}")
        cdef int64_t acked = -1
        if acked_bps is not None:
            acked = int_arg("acked_bps", acked_bps, 0)
        return aimd_update(&self.s, _USAGE[key], acked, int_arg("now_us", now_us))

    def time_to_reduce_further(self, now_us, acked_bps):
        """Whether a new decrease is allowed now (RTT-based spacing, or a large drop)."""
        return aimd_time_to_reduce_further(&self.s, int_arg("now_us", now_us),
                                           int_arg("acked_bps", acked_bps, 0))

    @property
    def latest_estimate_bps(self):
        """The current estimate, bps."""
        return self.s.current_bps

    @property
    def valid_estimate(self):
        """True once a start rate, an estimate or an over-use has set the rate."""
        return bool(self.s.initialized)

    def near_max_increase_bps_per_s(self):
        """The additive increase rate used near the link capacity, bps per second."""
        return aimd_near_max_increase(&self.s)

    def expected_period_us(self):
        """Expected time to recover the last decrease (2 s .. 50 s; 3 s before one), us."""
        return aimd_expected_period_us(&self.s)

    @property
    def link_capacity_bps(self):
        """The link capacity estimate, bps, or None."""
        return _lc_estimate_bps(&self.s.link) if self.s.link.has_estimate else None
