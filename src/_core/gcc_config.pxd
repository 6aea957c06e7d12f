# GccParams: every constant of GoogCC as one plain struct, the form in which a config
# crosses into the core (gcc_config.pyx fills it from a config object, checked, or from
# the default table). Field names, units and defaults are GccConfig's; the component
# init functions (ia_init, tl_init, aimd_init, ...) read their constants from it.
from libc.stdint cimport int64_t


cdef struct GccParams:
    # --- InterArrivalDelta: grouping packets into send-time bursts ---
    int64_t send_time_group_length_us
    int64_t burst_delta_threshold_us
    int64_t max_burst_duration_us
    int64_t arrival_time_offset_threshold_us
    int64_t reordered_reset_threshold  # consecutive reordered groups before a reset
    # DelayBasedBwe resets the inter-arrival and trendline state after this silence.
    int64_t stream_timeout_us
    # --- TrendlineEstimator: delay-gradient over-use detector ---
    int64_t trendline_window_size  # delay samples in the regression (at most 64 here)
    double trendline_smoothing  # weight of the previous smoothed delay
    double trendline_threshold_gain  # slope -> modified trend gain
    double overusing_time_threshold_ms
    double initial_threshold_ms
    double threshold_k_up  # threshold adaptation rate upwards, per ms
    double threshold_k_down  # threshold adaptation rate downwards, per ms
    double min_threshold_ms
    double max_threshold_ms
    double max_adapt_offset_ms
    double max_threshold_time_delta_ms
    int64_t min_num_deltas  # the gain grows with the sample count up to this
    int64_t delta_counter_max  # cap of the sample counter
    # --- AimdRateControl + LinkCapacityEstimator ---
    double backoff_factor  # over-use: rate = this x acknowledged rate
    int64_t default_rtt_us
    double multiplicative_increase_per_s  # growth factor per second
    int64_t min_multiplicative_increase_bps
    double min_near_max_increase_bps_per_s
    int64_t near_max_packet_size_bytes
    double near_max_frame_rate_fps
    int64_t overuse_response_delay_us
    double increase_limit_factor  # cap: this x acknowledged + offset
    int64_t increase_limit_offset_bps
    int64_t initialization_time_us
    int64_t default_expected_period_us
    int64_t min_expected_period_us
    int64_t max_expected_period_us
    int64_t min_reduction_interval_us
    int64_t max_reduction_interval_us
    double link_capacity_alpha_overuse  # smoothing weight of a new sample
    double link_capacity_min_deviation_kbps
    double link_capacity_max_deviation_kbps
    double link_capacity_deviation_sigmas  # bounds at estimate +- this x deviation
    # --- BitrateEstimator (AcknowledgedBitrateEstimator) ---
    int64_t bitrate_initial_window_ms
    int64_t bitrate_window_ms
    double bitrate_uncertainty_scale  # sample uncertainty gain (dimensionless)
    double bitrate_uncertainty_scale_in_alr
    double bitrate_small_sample_uncertainty_scale
    int64_t bitrate_small_sample_threshold_bytes
    int64_t bitrate_uncertainty_symmetry_cap_bps
    int64_t bitrate_estimate_floor_bps
    # --- SendSideBandwidthEstimation: classic loss-based controller ---
    double loss_low_threshold  # loss ratio under which the target grows
    double loss_high_threshold  # loss ratio over which the target falls
    int64_t loss_increase_interval_us
    int64_t loss_decrease_interval_us
    double loss_increase_factor  # growth over the last second's minimum
    int64_t loss_increase_offset_bps
    int64_t loss_start_phase_us
    int64_t loss_limit_num_packets  # packets needed for a loss ratio
    int64_t loss_feedback_timeout_us
    int64_t loss_default_max_bps
    int64_t rtt_backoff_limit_us
    double rtt_backoff_drop_fraction  # RTT back-off multiplies the target by this
    int64_t rtt_backoff_drop_interval_us
    int64_t rtt_backoff_floor_bps
    # --- LossBasedBweV2 (goog_cc/loss_based_bwe_v2.cc, LossBasedBweV2::CreateConfig) ---
    bint loss_based_v2  # LossBasedBweV2 on (libwebrtc's current default)
    double loss_v2_rampup_upper_bound_factor  # increase <= this x acked
    double loss_v2_rampup_upper_bound_factor_in_hold
    double loss_v2_rampup_hold_threshold  # acked < this x hold rate: hold factor
    double loss_v2_rampup_acceleration_max_factor  # (0: no acceleration)
    int64_t loss_v2_rampup_acceleration_maxout_us
    double loss_v2_candidate_factor_high  # candidate: this x current estimate
    double loss_v2_candidate_factor_mid
    double loss_v2_candidate_factor_low
    double loss_v2_higher_bandwidth_bias_factor  # objective bias per kbps
    double loss_v2_higher_log_bandwidth_bias_factor  # bias per log(1 + kbps)
    double loss_v2_inherent_loss_lower_bound
    double loss_v2_loss_threshold_of_high_bandwidth_preference
    double loss_v2_bandwidth_preference_smoothing_factor
    int64_t loss_v2_inherent_loss_upper_bound_balance_bps
    double loss_v2_inherent_loss_upper_bound_offset
    double loss_v2_initial_inherent_loss_estimate
    int64_t loss_v2_newton_iterations
    double loss_v2_newton_step_size
    bint loss_v2_acked_rate_candidate
    bint loss_v2_delay_based_candidate
    bint loss_v2_upper_bound_candidate_in_alr
    int64_t loss_v2_observation_duration_lower_bound_us
    int64_t loss_v2_observation_window_size  # observations kept (at most 32 here)
    double loss_v2_sending_rate_smoothing_factor
    double loss_v2_instant_upper_bound_temporal_weight_factor
    int64_t loss_v2_instant_upper_bound_balance_bps
    double loss_v2_instant_upper_bound_loss_offset
    double loss_v2_temporal_weight_factor
    double loss_v2_bandwidth_backoff_lower_bound_factor  # acked candidate factor
    double loss_v2_max_increase_factor  # loss-limited increase per window
    int64_t loss_v2_delayed_increase_window_us
    bint loss_v2_not_increase_if_inherent_loss_less_than_average_loss
    bint loss_v2_not_use_acked_rate_in_alr
    int64_t loss_v2_min_num_observations
    double loss_v2_lower_bound_by_acked_rate_factor  # (0: no lower bound)
    double loss_v2_hold_duration_factor  # (0: no hold)
    bint loss_v2_bound_best_candidate
    # ProbeController::loss_limited_probe_scale: probes while V2 is increasing are capped
    # at this x the estimate.
    double loss_limited_probe_scale
    # --- ProbeController ---
    double first_exponential_probe_scale  # x start rate
    double second_exponential_probe_scale  # x start rate (0: no second probe)
    double further_exponential_probe_scale  # x estimate
    double further_probe_threshold  # probe further when estimate > this x probe
    int64_t alr_probing_interval_us
    double alr_probe_scale  # x estimate
    bint enable_periodic_alr_probing
    int64_t probe_min_packets  # packets per probe cluster
    int64_t probe_min_duration_us
    int64_t probe_max_wait_for_result_us
    int64_t default_max_probing_bps
    double bitrate_drop_threshold  # a drop under this x estimate is large
    int64_t bitrate_drop_timeout_us
    double probe_fraction_after_drop  # recovery probe, x rate before the drop
    int64_t alr_ended_timeout_us
    int64_t min_time_between_alr_probes_us
    double probe_uncertainty  # expected relative error of a probe result
    # --- ProbeBitrateEstimator ---
    double probe_min_received_probes_ratio
    double probe_min_received_bytes_ratio
    double probe_max_valid_ratio  # receive/send rate above this is invalid
    double probe_min_ratio_for_unsaturated_link
    double probe_target_utilization_fraction
    int64_t probe_max_cluster_history_us
    int64_t probe_max_interval_us
    # --- AlrDetector ---
    double alr_bandwidth_usage_ratio  # ALR budget rate, x estimate
    double alr_start_budget_level_ratio
    double alr_stop_budget_level_ratio
    int64_t alr_budget_window_us
    # --- GoogCcNetworkController ---
    double pacing_factor  # pacing rate = this x target
    int64_t process_interval_us


# Fill ``out`` from ``config``: None gives the defaults (DEFAULTS); any other object must
# carry every field as an attribute (a mediaopt.bwe.GccConfig, or any object with the
# same fields), checked as GccConfig checks them. Raises InputError naming the field.
cdef int params_from(object config, GccParams* out) except -1
# Why libwebrtc's LossBasedBweV2::IsConfigValid would turn V2 off with these constants,
# or NULL when they are valid.
cdef const char* lbv2_config_problem(const GccParams* p) noexcept nogil
