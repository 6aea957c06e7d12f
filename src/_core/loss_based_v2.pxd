# LossBasedBweV2: libwebrtc's maximum-likelihood loss-based estimator
# (goog_cc/loss_based_bwe_v2.cc), as a plain C struct with fixed-size observation windows.
from libc.stdint cimport int32_t, int64_t

from mediaopt._core.gcc_config cimport GccParams

cdef enum:
    LBV2_MAX_WINDOW = 32           # largest supported observation window (default 20)

# LossBasedState of libwebrtc (values also used by GccEstimator.loss_based_state).
cdef enum:
    LBV2_DELAY_BASED = 0           # the delay-based estimate rules
    LBV2_INCREASING = 1            # loss-limited, increasing
    LBV2_INCREASE_USING_PADDING = 2  # loss-limited, increasing with padding (unused here)
    LBV2_DECREASING = 3            # loss-limited, decreasing


cdef struct Lbv2Observation:
    int64_t id                     # observation number (-1: slot never written)
    int64_t num_packets            # packets in the observation
    int64_t num_lost               # of them lost
    int64_t size_bytes             # bytes sent, bytes
    int64_t lost_bytes             # bytes lost, bytes
    int64_t sending_rate_bps       # (smoothed) sending rate, bps


cdef struct Lbv2State:
    # --- parameters (GccConfig.loss_v2_*) ---
    bint enabled                   # estimator on (config switch and valid config)
    double rampup_upper_bound_factor       # loss-limited increase <= this x acked rate
    double rampup_upper_bound_factor_hold  # same, while the acked rate is under the hold
    double rampup_hold_threshold   # acked < this x hold rate selects the hold factor
    double rampup_accel_max_factor  # candidate upper bound acceleration (0: off)
    int64_t rampup_accel_maxout_us  # acceleration reaches its max after this, us
    double candidate_factors[3]    # candidates: these x the current estimate
    double higher_bw_bias          # objective bias per kbps
    double higher_log_bw_bias      # objective bias per log(1 + kbps)
    double inherent_loss_lower     # lower bound of the inherent loss
    double loss_threshold_high_bw_pref  # loss under which higher rates are preferred
    double bw_pref_smoothing       # smoothing of that preference
    int64_t inherent_loss_upper_balance_bps  # inherent loss bound: offset + this / rate
    double inherent_loss_upper_offset  # inherent loss upper bound offset
    double initial_inherent_loss   # starting inherent loss estimate
    int32_t newton_iterations      # Newton steps per candidate
    double newton_step_size        # Newton step scale
    bint acked_rate_candidate      # the acknowledged rate is a candidate
    bint delay_based_candidate     # the delay-based estimate is a candidate
    bint upper_bound_candidate_in_alr  # in ALR the instant upper bound is a candidate
    int64_t observation_min_us     # an observation spans at least this, us
    int32_t window                 # observations kept
    double sending_rate_smoothing  # weight of the previous observation's rate
    double instant_weight_factor   # temporal weight decay of the instant bound / loss
    int64_t instant_upper_balance_bps  # instant upper bound: this / (loss - offset), bps
    double instant_upper_loss_offset   # loss above which the instant bound applies
    double temporal_weight_factor  # temporal weight decay of the likelihood
    double backoff_lower_bound_factor  # acked-rate candidate = this x acked rate
    double max_increase_factor     # loss-limited window cap: this x estimate
    int64_t delayed_increase_window_us  # window of that cap, us
    bint not_increase_if_loss_above_inherent  # hold when average loss > inherent loss
    bint not_use_acked_rate_in_alr  # no acked-rate candidate in ALR
    int32_t min_num_observations   # observations before the estimate is used
    double lower_bound_by_acked_factor  # estimate >= this x acked rate (0: off)
    double hold_duration_factor    # hold duration growth per hold (0: no hold)
    bint bound_best_candidate      # reset the estimate to the bounded value
    # --- state ---
    int64_t min_bps                # configured floor, bps
    int64_t max_bps                # configured ceiling, bps (MO_NONE: none)
    int64_t acked_bps              # acknowledged rate, bps (-1: none)
    int64_t delay_based_bps        # last delay-based estimate, bps (MO_NONE: +inf)
    double inherent_loss           # current best: inherent loss
    int64_t loss_limited_bps       # current best: loss-limited bandwidth (MO_MINUS_INF: none)
    int64_t result_bps             # published estimate, bps
    int32_t result_state           # published LBV2_* state
    int64_t num_observations       # observations made so far
    int64_t last_send_obs_us       # last send time of the latest observation (MO_NONE: none)
    int64_t last_reduced_us        # latest reduction of the estimate, us (MO_MINUS_INF)
    int64_t recovering_us          # start of the loss-limited increase window (MO_MINUS_INF)
    int64_t limit_in_window_bps    # cap during that window, bps (MO_NONE: none)
    double avg_loss                # temporally weighted average reported loss ratio
    int64_t instant_upper_bps      # cached instant upper bound (MO_MINUS_INF: unset)
    int64_t instant_lower_bps      # cached instant lower bound, bps
    int64_t hold_until_us          # end of the hold, us (MO_MINUS_INF: none)
    int64_t hold_duration_us       # next hold duration, us
    int64_t hold_bps               # hold rate, bps (MO_NONE: none)
    # partial observation (packets since the last complete one)
    int64_t part_packets           # packets, count
    int64_t part_lost              # lost packets, count
    int64_t part_bytes             # bytes, bytes
    int64_t part_lost_bytes        # lost bytes, bytes
    int64_t part_first_send_us     # earliest send time in the current report, us
    int64_t part_last_send_us      # latest send time in the current report, us
    double weights[LBV2_MAX_WINDOW]          # temporal_weight_factor ** age
    double instant_weights[LBV2_MAX_WINDOW]  # instant_weight_factor ** age
    Lbv2Observation obs[LBV2_MAX_WINDOW]     # ring of observations (id % window)


cdef void lbv2_init(Lbv2State* s, const GccParams* cfg) noexcept nogil
cdef void lbv2_set_min_max(Lbv2State* s, int64_t min_bps, int64_t max_bps) noexcept nogil
cdef void lbv2_set_bandwidth_estimate(Lbv2State* s, int64_t bps) noexcept nogil
cdef void lbv2_set_acked(Lbv2State* s, int64_t bps) noexcept nogil
# One report: lbv2_begin_report, lbv2_add_packet for each packet, lbv2_end_report.
cdef void lbv2_begin_report(Lbv2State* s) noexcept nogil
cdef void lbv2_add_packet(Lbv2State* s, int64_t send_us, int64_t size_bytes,
                          bint lost) noexcept nogil
# A packet reported lost earlier has arrived after all (libwebrtc erases it from the
# partial observation's lost set).
cdef void lbv2_unlose(Lbv2State* s, int64_t size_bytes) noexcept nogil
cdef void lbv2_end_report(Lbv2State* s, int64_t delay_based_bps, bint in_alr) noexcept nogil
cdef bint lbv2_is_ready(Lbv2State* s) noexcept nogil
# The estimate libwebrtc's GetLossBasedResult returns (MO_NONE: +infinity).
cdef int64_t lbv2_result_bps(Lbv2State* s) noexcept nogil
cdef int32_t lbv2_result_state(Lbv2State* s) noexcept nogil


cdef class LossBasedBweV2:
    cdef Lbv2State s               # the C state this wrapper drives
