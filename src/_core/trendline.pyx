"""Delay-gradient over-use detection, as libwebrtc's ``TrendlineEstimator``."""

import enum

from libc.math cimport NAN, fabs
from libc.stdint cimport int32_t, int64_t

from mediaopt._core._check cimport float_arg, int_arg
from mediaopt._core.gcc_config cimport GccParams, params_from


class BandwidthUsage(str, enum.Enum):
    """State of the delay-based over-use detector (libwebrtc's ``BandwidthUsage``).

    A value type of the core (like ``InputError``), so the detector and ``GccEstimator``
    report their state as this enum without importing the package above; ``mediaopt.bwe``
    re-exports it.
    """

    NORMAL = "normal"
    UNDERUSING = "underusing"
    OVERUSING = "overusing"

    def __str__(self):
        return self.value


#: The states by the detector's number (BW_NORMAL, BW_UNDERUSING, BW_OVERUSING).
BANDWIDTH_USAGE = (BandwidthUsage.NORMAL, BandwidthUsage.UNDERUSING, BandwidthUsage.OVERUSING)


cdef void tl_init(TrendlineState* s, int32_t window_size, double smoothing,
                  double threshold_gain, double overusing_time_ms, double initial_threshold_ms,
                  double k_up, double k_down, double min_threshold_ms,
                  double max_threshold_ms, double max_adapt_offset_ms,
                  int64_t max_time_delta_ms, int32_t min_num_deltas,
                  int32_t delta_counter_max) noexcept nogil:
    if window_size < 2:
        window_size = 2
    if window_size > TRENDLINE_MAX_WINDOW:
        window_size = TRENDLINE_MAX_WINDOW
    s.window_size = window_size
    s.smoothing = smoothing
    s.threshold_gain = threshold_gain
    s.overusing_time_ms = overusing_time_ms
    s.k_up = k_up
    s.k_down = k_down
    s.min_threshold_ms = min_threshold_ms
    s.max_threshold_ms = max_threshold_ms
    s.max_adapt_offset_ms = max_adapt_offset_ms
    s.max_time_delta_ms = max_time_delta_ms
    s.min_num_deltas = min_num_deltas
    s.delta_counter_max = delta_counter_max
    s.initial_threshold_ms = initial_threshold_ms
    tl_reset(s)


cdef void tl_reset(TrendlineState* s) noexcept nogil:
    s.num_deltas = 0
    s.first_arrival_ms = -1
    s.accumulated_delay_ms = 0.0
    s.smoothed_delay_ms = 0.0
    s.hist_start = 0
    s.hist_len = 0
    s.threshold_ms = s.initial_threshold_ms
    s.prev_modified_trend = NAN
    s.last_update_ms = -1
    s.prev_trend = 0.0
    s.time_over_using_ms = -1.0
    s.overuse_counter = 0
    s.hypothesis = BW_NORMAL


cdef inline bint _linear_fit_slope(TrendlineState* s, double* slope) noexcept nogil:
    # Least-squares slope through the window, in the same two passes as libwebrtc so
    # that the floating-point result matches.
    cdef int32_t i
    cdef int32_t n = s.hist_len
    cdef const double* x = &s.hist_x[s.hist_start]
    cdef const double* y = &s.hist_y[s.hist_start]
    cdef double sum_y = 0.0, x_avg, y_avg, num = 0.0, den = 0.0, dx
    cdef int64_t sum_x = 0
    # The x values are whole milliseconds, so an integer sum equals libwebrtc's double
    # sum bit for bit (every partial sum is exact) and leaves one FP chain instead of two.
    for i in range(n):
        sum_x += <int64_t>x[i]
        sum_y += y[i]
    x_avg = <double>sum_x / n
    y_avg = sum_y / n
    for i in range(n):
        dx = x[i] - x_avg
        num += dx * (y[i] - y_avg)
        den += dx * dx
    if den == 0.0:
        return False
    slope[0] = num / den
    return True


cdef inline void _update_threshold(TrendlineState* s, double modified_trend,
                                   int64_t now_ms) noexcept nogil:
    cdef double k
    cdef int64_t dt
    if s.last_update_ms == -1:
        s.last_update_ms = now_ms
    if fabs(modified_trend) > s.threshold_ms + s.max_adapt_offset_ms:
        # A latency spike (e.g. a sudden capacity drop) must not drag the threshold up.
        s.last_update_ms = now_ms
        return
    k = s.k_down if fabs(modified_trend) < s.threshold_ms else s.k_up
    dt = now_ms - s.last_update_ms
    if dt > s.max_time_delta_ms:
        dt = s.max_time_delta_ms
    s.threshold_ms += k * (fabs(modified_trend) - s.threshold_ms) * <double>dt
    # libwebrtc clamps with float bounds; the bounds here are exact in float.
    if s.threshold_ms < s.min_threshold_ms:
        s.threshold_ms = s.min_threshold_ms
    elif s.threshold_ms > s.max_threshold_ms:
        s.threshold_ms = s.max_threshold_ms
    s.last_update_ms = now_ms


cdef inline void _detect(TrendlineState* s, double trend, double ts_delta_ms,
                         int64_t now_ms) noexcept nogil:
    cdef double modified_trend
    cdef int32_t n
    if s.num_deltas < 2:
        s.hypothesis = BW_NORMAL
        return
    n = s.num_deltas if s.num_deltas < s.min_num_deltas else s.min_num_deltas
    modified_trend = n * trend * s.threshold_gain
    s.prev_modified_trend = modified_trend
    if modified_trend > s.threshold_ms:
        if s.time_over_using_ms == -1.0:
            # Assume we have been over-using half the time since the previous sample.
            s.time_over_using_ms = ts_delta_ms / 2.0
        else:
            s.time_over_using_ms += ts_delta_ms
        s.overuse_counter += 1
        if s.time_over_using_ms > s.overusing_time_ms and s.overuse_counter > 1:
            if trend >= s.prev_trend:
                s.time_over_using_ms = 0.0
                s.overuse_counter = 0
                s.hypothesis = BW_OVERUSING
    elif modified_trend < -s.threshold_ms:
        s.time_over_using_ms = -1.0
        s.overuse_counter = 0
        s.hypothesis = BW_UNDERUSING
    else:
        s.time_over_using_ms = -1.0
        s.overuse_counter = 0
        s.hypothesis = BW_NORMAL
    s.prev_trend = trend
    _update_threshold(s, modified_trend, now_ms)


cdef void tl_update(TrendlineState* s, double recv_delta_ms, double send_delta_ms,
                    int64_t send_time_ms, int64_t arrival_time_ms,
                    int64_t size_bytes, bint calculated_deltas) noexcept nogil:
    cdef double delta_ms, trend, slope
    cdef int32_t j
    if not calculated_deltas:
        return
    delta_ms = recv_delta_ms - send_delta_ms
    s.num_deltas += 1
    if s.num_deltas > s.delta_counter_max:
        s.num_deltas = s.delta_counter_max
    if s.first_arrival_ms == -1:
        s.first_arrival_ms = arrival_time_ms
    s.accumulated_delay_ms += delta_ms
    s.smoothed_delay_ms = (s.smoothing * s.smoothed_delay_ms
                           + (1.0 - s.smoothing) * s.accumulated_delay_ms)
    j = (s.hist_start + s.hist_len) % TRENDLINE_MAX_WINDOW
    s.hist_x[j] = <double>(arrival_time_ms - s.first_arrival_ms)
    s.hist_y[j] = s.smoothed_delay_ms
    s.hist_x[j + TRENDLINE_MAX_WINDOW] = s.hist_x[j]
    s.hist_y[j + TRENDLINE_MAX_WINDOW] = s.hist_y[j]
    s.hist_len += 1
    if s.hist_len > s.window_size:
        s.hist_start = (s.hist_start + 1) % TRENDLINE_MAX_WINDOW
        s.hist_len -= 1
    trend = s.prev_trend
    if s.hist_len == s.window_size:
        if _linear_fit_slope(s, &slope):
            trend = slope
    _detect(s, trend, send_delta_ms, arrival_time_ms)


cdef inline int64_t _us_to_ms(int64_t us) noexcept nogil:
    # Timestamp::ms() rounds to the nearest millisecond.
    if us >= 0:
        return (us + 500) // 1000
    return -((-us + 500) // 1000)


cdef class TrendlineEstimator:
    """Detect over-use from the trend of one-way delay variation (libwebrtc's defaults).

    ``update(recv_delta_us, send_delta_us, send_us, arrival_us, size_bytes)`` takes the
    deltas between two consecutive send-time groups (see ``InterArrivalDelta``) and
    returns the state: ``"normal"``, ``"overusing"`` or ``"underusing"``.
    """

    def __init__(self, window_size=20, smoothing=0.9, threshold_gain=4.0, *, config=None):
        cdef GccParams cfg
        params_from(config, &cfg)
        tl_init(&self.s,
                int_arg("window_size", window_size, 2, TRENDLINE_MAX_WINDOW),
                float_arg("smoothing", smoothing, 0.0, 1.0),
                float_arg("threshold_gain", threshold_gain, 0.0),
                cfg.overusing_time_threshold_ms, cfg.initial_threshold_ms,
                cfg.threshold_k_up, cfg.threshold_k_down, cfg.min_threshold_ms,
                cfg.max_threshold_ms, cfg.max_adapt_offset_ms,
                <int64_t>cfg.max_threshold_time_delta_ms, cfg.min_num_deltas,
                cfg.delta_counter_max)

    def update(self, recv_delta_us, send_delta_us, send_us, arrival_us, size_bytes=1200):
        """Feed the deltas of one completed group; return the detector state."""
        cdef double rd = float_arg("recv_delta_us", recv_delta_us) * (1.0 / 1000.0)
        cdef double sd = float_arg("send_delta_us", send_delta_us) * (1.0 / 1000.0)
        cdef int64_t st = int_arg("send_us", send_us)
        cdef int64_t at = int_arg("arrival_us", arrival_us)
        tl_update(&self.s, rd, sd, _us_to_ms(st), _us_to_ms(at),
                  int_arg("size_bytes", size_bytes, 0), True)
        return BANDWIDTH_USAGE[self.s.hypothesis]

    @property
    def state(self):
        """The current detector state (``BandwidthUsage``)."""
        return BANDWIDTH_USAGE[self.s.hypothesis]

    @property
    def threshold_ms(self):
        """The adaptive threshold, ms."""
        return self.s.threshold_ms

    @property
    def modified_trend(self):
        """The last gain-scaled trend compared against the threshold (NaN before one)."""
        return self.s.prev_modified_trend

    @property
    def num_deltas(self):
        """Deltas seen so far (capped at ``delta_counter_max``)."""
        return self.s.num_deltas
