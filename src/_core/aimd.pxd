# AimdRateControl (+ LinkCapacityEstimator): GoogCC's delay-based rate controller
# (libwebrtc remote_bitrate_estimator/aimd_rate_control.cc, goog_cc/link_capacity_estimator.cc).
from libc.stdint cimport int32_t, int64_t

from mediaopt._core.gcc_config cimport GccParams

# Rate-control states, as libwebrtc's RateControlState.
cdef enum:
    RC_HOLD = 0
    RC_INCREASE = 1
    RC_DECREASE = 2


cdef struct LinkCapacityState:
    bint has_estimate              # an estimate exists
    double estimate_kbps           # smoothed link capacity, kbps
    double deviation_kbps          # normalised variance of the estimate, kbps
    double alpha_overuse           # smoothing weight of an over-use sample
    double min_deviation_kbps      # deviation floor, kbps
    double max_deviation_kbps      # deviation ceiling, kbps
    double sigmas                  # bounds are estimate +- sigmas * deviation


cdef struct AimdState:
    # --- parameters ---
    double beta                    # back-off factor on the acknowledged rate
    double increase_per_s          # multiplicative increase per second
    int64_t min_mult_increase_bps  # floor of one multiplicative step, bps
    double min_near_max_bps_per_s  # floor of the additive increase, bps/s
    int64_t packet_size_bytes      # packet size assumed for the additive increase, bytes
    int64_t frame_interval_us      # frame interval assumed for the additive increase, us
    int64_t response_delay_us      # over-use detector delay added to the RTT, us
    double limit_factor            # increase cap: factor * acknowledged + offset
    int64_t limit_offset_bps       # increase cap offset, bps
    int64_t init_time_us           # time to trust the throughput when no start rate, us
    int64_t default_period_us      # expected period before any decrease, us
    int64_t min_period_us          # expected period floor, us
    int64_t max_period_us          # expected period ceiling, us
    int64_t min_reduce_us          # lower clamp of the RTT for repeated decreases, us
    int64_t max_reduce_us          # upper clamp of the RTT for repeated decreases, us
    bint no_increase_in_alr        # WebRTC-DontIncreaseDelayBasedBweInAlr (off)
    # --- state ---
    int64_t min_bps                # configured floor of the estimate, bps
    int64_t current_bps            # the estimate, bps
    int64_t latest_throughput_bps  # last acknowledged rate seen, bps
    int32_t state                  # RC_HOLD / RC_INCREASE / RC_DECREASE
    int64_t last_change_us         # last rate change, us (MO_MINUS_INF: never)
    int64_t last_decrease_us       # last decrease, us (MO_MINUS_INF: never)
    int64_t first_throughput_us    # first acknowledged rate seen, us (MO_MINUS_INF: none)
    bint initialized               # the estimate is valid
    bint in_alr                    # application-limited region
    int64_t rtt_us                 # round-trip time, us
    bint has_last_decrease         # last_decrease_bps is set
    int64_t last_decrease_bps      # size of the last decrease, bps
    LinkCapacityState link         # link capacity estimate


cdef void lc_reset(LinkCapacityState* s) noexcept nogil
cdef int64_t lc_upper_bps(LinkCapacityState* s) noexcept nogil
cdef int64_t lc_lower_bps(LinkCapacityState* s) noexcept nogil
cdef void lc_update(LinkCapacityState* s, int64_t sample_bps, double alpha) noexcept nogil

cdef void aimd_init(AimdState* s, const GccParams* cfg) noexcept nogil
cdef void aimd_set_start(AimdState* s, int64_t bps) noexcept nogil
cdef void aimd_set_min(AimdState* s, int64_t bps) noexcept nogil
cdef void aimd_set_estimate(AimdState* s, int64_t bps, int64_t now_us) noexcept nogil
cdef bint aimd_time_to_reduce_further(AimdState* s, int64_t now_us,
                                      int64_t throughput_bps) noexcept nogil
cdef bint aimd_initial_time_to_reduce_further(AimdState* s, int64_t now_us) noexcept nogil
cdef int64_t aimd_update(AimdState* s, int32_t bw_state, int64_t throughput_bps,
                         int64_t now_us) noexcept nogil
cdef double aimd_near_max_increase(AimdState* s) noexcept nogil
cdef int64_t aimd_expected_period_us(AimdState* s) noexcept nogil


cdef class AimdRateControl:
    cdef AimdState s               # the C state this wrapper drives
