# TrendlineEstimator: the delay-gradient over-use detector of GoogCC
# (libwebrtc goog_cc/trendline_estimator.cc).
from libc.stdint cimport int32_t, int64_t

# Largest regression window the fixed-size history holds (libwebrtc's default is 20).
cdef enum:
    TRENDLINE_MAX_WINDOW = 64

# Detector states, numbered as libwebrtc's BandwidthUsage.
cdef enum:
    BW_NORMAL = 0
    BW_UNDERUSING = 1
    BW_OVERUSING = 2


cdef struct TrendlineState:
    # --- parameters ---
    int32_t window_size            # points in the regression window
    double smoothing               # weight of the old smoothed delay (0..1)
    double threshold_gain          # gain applied to the slope before thresholding
    double overusing_time_ms       # time over threshold before signalling over-use, ms
    double initial_threshold_ms    # threshold after a reset, ms
    double k_up                    # threshold adaptation rate upwards, 1/ms
    double k_down                  # threshold adaptation rate downwards, 1/ms
    double min_threshold_ms        # threshold floor, ms
    double max_threshold_ms        # threshold ceiling, ms
    double max_adapt_offset_ms     # no adaptation when |T| exceeds threshold + this, ms
    int64_t max_time_delta_ms      # longest step used in one threshold adaptation, ms
    int32_t min_num_deltas         # deltas after which the gain stops growing
    int32_t delta_counter_max      # cap of the delta counter
    # --- state ---
    int32_t num_deltas             # deltas seen (capped)
    int64_t first_arrival_ms       # arrival of the first sample, ms (-1: none)
    double accumulated_delay_ms    # sum of delay deltas, ms
    double smoothed_delay_ms       # exponentially smoothed accumulated delay, ms
    # Ring of the window, written twice (at i and i + TRENDLINE_MAX_WINDOW) so that the
    # window is always contiguous at [hist_start, hist_start + hist_len).
    double hist_x[2 * TRENDLINE_MAX_WINDOW]  # arrival since the first sample, ms
    double hist_y[2 * TRENDLINE_MAX_WINDOW]  # smoothed delay, ms
    int32_t hist_start             # ring index of the oldest point
    int32_t hist_len               # points in the ring
    double threshold_ms            # adaptive threshold, ms
    double prev_modified_trend     # last gain-scaled trend (NaN before the first)
    int64_t last_update_ms         # last threshold adaptation time, ms (-1: none)
    double prev_trend              # slope from the previous update
    double time_over_using_ms      # time spent over the threshold, ms (-1: not over)
    int32_t overuse_counter        # consecutive samples over the threshold
    int32_t hypothesis             # BW_NORMAL / BW_UNDERUSING / BW_OVERUSING


cdef void tl_init(TrendlineState* s, int32_t window_size, double smoothing,
                  double threshold_gain, double overusing_time_ms, double initial_threshold_ms,
                  double k_up, double k_down, double min_threshold_ms,
                  double max_threshold_ms, double max_adapt_offset_ms,
                  int64_t max_time_delta_ms, int32_t min_num_deltas,
                  int32_t delta_counter_max) noexcept nogil
cdef void tl_reset(TrendlineState* s) noexcept nogil
cdef void tl_update(TrendlineState* s, double recv_delta_ms, double send_delta_ms,
                    int64_t send_time_ms, int64_t arrival_time_ms,
                    int64_t size_bytes, bint calculated_deltas) noexcept nogil


cdef class TrendlineEstimator:
    cdef TrendlineState s          # the C state this wrapper drives
