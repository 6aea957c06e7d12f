"""GoogCC's constants in the core: the default table, the checks, the typed struct.

``DEFAULTS`` is the one table of libwebrtc's values (``modules/congestion_controller/
goog_cc`` and ``modules/remote_bitrate_estimator``, without field trials): the core's
components run with it when built without a config, and ``mediaopt.bwe.GccConfig`` takes
its dataclass defaults from it. ``check_values`` is the one set of checks (GccConfig runs
it on construction; the core runs it on any config object it is handed), and
``params_from`` turns a config object into the ``GccParams`` struct the components'
init functions read, so that no Python object crosses further into the core.
"""

cimport cython
from libc.stdint cimport INT32_MAX, INT64_MAX

import math
from types import MappingProxyType

from mediaopt._core._check import InputError

# name -> libwebrtc's default, in GccConfig's field order. The type of each default is the
# field's type (int, float or bool); names carry their units.
_TABLE = {
    # --- InterArrivalDelta: grouping packets into send-time bursts ---
    "send_time_group_length_us": 5_000,
    "burst_delta_threshold_us": 5_000,
    "max_burst_duration_us": 100_000,
    "arrival_time_offset_threshold_us": 3_000_000,
    "reordered_reset_threshold": 3,  # consecutive reordered groups before a reset
    # DelayBasedBwe resets the inter-arrival and trendline state after this silence.
    "stream_timeout_us": 2_000_000,

    # --- TrendlineEstimator: delay-gradient over-use detector ---
    "trendline_window_size": 20,  # delay samples in the regression (at most 64 here)
    "trendline_smoothing": 0.9,  # weight of the previous smoothed delay
    "trendline_threshold_gain": 4.0,  # slope -> modified trend gain
    "overusing_time_threshold_ms": 10.0,
    "initial_threshold_ms": 12.5,
    "threshold_k_up": 0.0087,  # threshold adaptation rate upwards, per ms
    "threshold_k_down": 0.039,  # threshold adaptation rate downwards, per ms
    "min_threshold_ms": 6.0,
    "max_threshold_ms": 600.0,
    "max_adapt_offset_ms": 15.0,
    "max_threshold_time_delta_ms": 100.0,
    "min_num_deltas": 60,  # the gain grows with the sample count up to this
    "delta_counter_max": 1000,  # cap of the sample counter

    # --- AimdRateControl + LinkCapacityEstimator ---
    "backoff_factor": 0.85,  # over-use: rate = this x acknowledged rate
    "default_rtt_us": 200_000,
    "multiplicative_increase_per_s": 1.08,  # growth factor per second
    "min_multiplicative_increase_bps": 1_000,
    "min_near_max_increase_bps_per_s": 4_000.0,
    "near_max_packet_size_bytes": 1_200,
    "near_max_frame_rate_fps": 30.0,
    "overuse_response_delay_us": 100_000,
    "increase_limit_factor": 1.5,  # cap: this x acknowledged + offset
    "increase_limit_offset_bps": 10_000,
    "initialization_time_us": 5_000_000,
    "default_expected_period_us": 3_000_000,
    "min_expected_period_us": 2_000_000,
    "max_expected_period_us": 50_000_000,
    "min_reduction_interval_us": 10_000,
    "max_reduction_interval_us": 200_000,
    "link_capacity_alpha_overuse": 0.05,  # smoothing weight of a new sample
    "link_capacity_min_deviation_kbps": 0.4,
    "link_capacity_max_deviation_kbps": 2.5,
    "link_capacity_deviation_sigmas": 3.0,  # bounds at estimate +- this x deviation

    # --- BitrateEstimator (AcknowledgedBitrateEstimator) ---
    "bitrate_initial_window_ms": 500,
    "bitrate_window_ms": 150,
    "bitrate_uncertainty_scale": 10.0,  # sample uncertainty gain (dimensionless)
    "bitrate_uncertainty_scale_in_alr": 10.0,
    "bitrate_small_sample_uncertainty_scale": 10.0,
    "bitrate_small_sample_threshold_bytes": 0,
    "bitrate_uncertainty_symmetry_cap_bps": 0,
    "bitrate_estimate_floor_bps": 0,

    # --- SendSideBandwidthEstimation: classic loss-based controller ---
    "loss_low_threshold": 0.02,  # loss ratio under which the target grows
    "loss_high_threshold": 0.1,  # loss ratio over which the target falls
    "loss_increase_interval_us": 1_000_000,
    "loss_decrease_interval_us": 300_000,
    "loss_increase_factor": 1.08,  # growth over the last second's minimum
    "loss_increase_offset_bps": 1_000,
    "loss_start_phase_us": 2_000_000,
    "loss_limit_num_packets": 20,  # packets needed for a loss ratio
    "loss_feedback_timeout_us": 5_000_000,
    "loss_default_max_bps": 1_000_000_000,
    "rtt_backoff_limit_us": 3_000_000,
    "rtt_backoff_drop_fraction": 0.8,  # RTT back-off multiplies the target by this
    "rtt_backoff_drop_interval_us": 1_000_000,
    "rtt_backoff_floor_bps": 5_000,

    # --- LossBasedBweV2 (goog_cc/loss_based_bwe_v2.cc, LossBasedBweV2::CreateConfig) ---
    # Current libwebrtc enables V2 by default: the field trial "WebRTC-Bwe-LossBasedBweV2"
    # parameter "Enabled" defaults to true in loss_based_bwe_v2.cc (it was false in
    # older releases such as M108). With it on, its estimate replaces the classic
    # loss-based rules (SendSideBandwidthEstimation::UpdateEstimate) once it has enough
    # observations.
    "loss_based_v2": True,
    "loss_v2_rampup_upper_bound_factor": 1_000_000.0,  # increase <= this x acked
    "loss_v2_rampup_upper_bound_factor_in_hold": 1_000_000.0,
    "loss_v2_rampup_hold_threshold": 1.3,  # acked < this x hold rate: hold factor
    "loss_v2_rampup_acceleration_max_factor": 0.0,  # (0: no acceleration)
    "loss_v2_rampup_acceleration_maxout_us": 60_000_000,
    "loss_v2_candidate_factor_high": 1.02,  # candidate: this x current estimate
    "loss_v2_candidate_factor_mid": 1.0,
    "loss_v2_candidate_factor_low": 0.95,
    "loss_v2_higher_bandwidth_bias_factor": 0.0002,  # objective bias per kbps
    "loss_v2_higher_log_bandwidth_bias_factor": 0.02,  # bias per log(1 + kbps)
    "loss_v2_inherent_loss_lower_bound": 1.0e-3,
    "loss_v2_loss_threshold_of_high_bandwidth_preference": 0.15,
    "loss_v2_bandwidth_preference_smoothing_factor": 0.002,
    "loss_v2_inherent_loss_upper_bound_balance_bps": 75_000,
    "loss_v2_inherent_loss_upper_bound_offset": 0.05,
    "loss_v2_initial_inherent_loss_estimate": 0.01,
    "loss_v2_newton_iterations": 1,
    "loss_v2_newton_step_size": 0.75,
    "loss_v2_acked_rate_candidate": True,
    "loss_v2_delay_based_candidate": True,
    "loss_v2_upper_bound_candidate_in_alr": False,
    "loss_v2_observation_duration_lower_bound_us": 250_000,
    "loss_v2_observation_window_size": 20,  # observations kept (at most 32 here)
    "loss_v2_sending_rate_smoothing_factor": 0.0,
    "loss_v2_instant_upper_bound_temporal_weight_factor": 0.9,
    "loss_v2_instant_upper_bound_balance_bps": 75_000,
    "loss_v2_instant_upper_bound_loss_offset": 0.05,
    "loss_v2_temporal_weight_factor": 0.9,
    "loss_v2_bandwidth_backoff_lower_bound_factor": 1.0,  # acked candidate factor
    "loss_v2_max_increase_factor": 1.3,  # loss-limited increase per window
    "loss_v2_delayed_increase_window_us": 300_000,
    "loss_v2_not_increase_if_inherent_loss_less_than_average_loss": True,
    "loss_v2_not_use_acked_rate_in_alr": True,
    "loss_v2_min_num_observations": 3,
    "loss_v2_lower_bound_by_acked_rate_factor": 0.0,  # (0: no lower bound)
    "loss_v2_hold_duration_factor": 0.0,  # (0: no hold)
    "loss_v2_bound_best_candidate": False,
    # ProbeController::loss_limited_probe_scale: probes while V2 is increasing are capped
    # at this x the estimate.
    "loss_limited_probe_scale": 1.5,

    # --- ProbeController ---
    "first_exponential_probe_scale": 3.0,  # x start rate
    "second_exponential_probe_scale": 6.0,  # x start rate (0: no second probe)
    "further_exponential_probe_scale": 2.0,  # x estimate
    "further_probe_threshold": 0.7,  # probe further when estimate > this x probe
    "alr_probing_interval_us": 5_000_000,
    "alr_probe_scale": 2.0,  # x estimate
    "enable_periodic_alr_probing": False,
    "probe_min_packets": 5,  # packets per probe cluster
    "probe_min_duration_us": 15_000,
    "probe_max_wait_for_result_us": 1_000_000,
    "default_max_probing_bps": 5_000_000,
    "bitrate_drop_threshold": 0.66,  # a drop under this x estimate is large
    "bitrate_drop_timeout_us": 5_000_000,
    "probe_fraction_after_drop": 0.85,  # recovery probe, x rate before the drop
    "alr_ended_timeout_us": 3_000_000,
    "min_time_between_alr_probes_us": 5_000_000,
    "probe_uncertainty": 0.05,  # expected relative error of a probe result

    # --- ProbeBitrateEstimator ---
    "probe_min_received_probes_ratio": 0.80,
    "probe_min_received_bytes_ratio": 0.80,
    "probe_max_valid_ratio": 2.0,  # receive/send rate above this is invalid
    "probe_min_ratio_for_unsaturated_link": 0.9,
    "probe_target_utilization_fraction": 0.95,
    "probe_max_cluster_history_us": 1_000_000,
    "probe_max_interval_us": 1_000_000,

    # --- AlrDetector ---
    "alr_bandwidth_usage_ratio": 0.65,  # ALR budget rate, x estimate
    "alr_start_budget_level_ratio": 0.80,
    "alr_stop_budget_level_ratio": 0.50,
    "alr_budget_window_us": 500_000,

    # --- GoogCcNetworkController ---
    "pacing_factor": 2.5,  # pacing rate = this x target
    "process_interval_us": 25_000,
}

#: libwebrtc's constants, read-only: every field of GccConfig and its default.
DEFAULTS = MappingProxyType(_TABLE)

#: Fields that are ratios: within [0, 1].
RATIOS = frozenset({
    "trendline_smoothing",
    "backoff_factor",
    "loss_low_threshold",
    "loss_high_threshold",
    "rtt_backoff_drop_fraction",
    "further_probe_threshold",
    "bitrate_drop_threshold",
    "probe_fraction_after_drop",
    "probe_uncertainty",
    "probe_min_received_probes_ratio",
    "probe_min_received_bytes_ratio",
    "probe_min_ratio_for_unsaturated_link",
    "probe_target_utilization_fraction",
    "alr_bandwidth_usage_ratio",
    "alr_start_budget_level_ratio",
    "alr_stop_budget_level_ratio",
    "link_capacity_alpha_overuse",
})

# Integer fields the components keep as 32-bit counts: a larger value is refused here
# rather than wrapped when the struct is unpacked.
_INT32_FIELDS = frozenset({
    "reordered_reset_threshold",
    "trendline_window_size",
    "min_num_deltas",
    "delta_counter_max",
    "loss_limit_num_packets",
    "loss_v2_newton_iterations",
    "loss_v2_observation_window_size",
    "loss_v2_min_num_observations",
    "probe_min_packets",
})

cdef tuple _FIELDS = tuple(_TABLE)
cdef dict _KINDS = {name: type(value) for name, value in _TABLE.items()}


def check_values(values):
    """Check a mapping of every field to its value; return the values normalised.

    Integral floats of integer fields become ``int`` and numbers of float fields become
    ``float``. Every error is an ``InputError`` naming the field. These are GccConfig's
    checks: non-negative finite numbers, ratios within [0, 1], integers within 64 bits
    (32 bits for counts), and the relations between fields.
    """
    out = {}
    for name in _FIELDS:
        value = values[name]
        kind = _KINDS[name]
        if kind is bool:
            if not isinstance(value, bool):
                raise InputError(f"{name}: expected a bool, got {value!r}")
            out[name] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{name}: expected a number, got {value!r}")
        if kind is int:
            if isinstance(value, float):
                if not value.is_integer():
                    raise InputError(f"{name}: expected an integer, got {value!r}")
                value = int(value)
            else:
                value = int(value)
        else:
            try:
                value = float(value)
            except OverflowError:
                raise InputError(f"{name}: must be finite, got {value!r}") from None
        if not math.isfinite(value):
            raise InputError(f"{name}: must be finite, got {value!r}")
        if value < 0:
            raise InputError(f"{name}: must not be negative, got {value!r}")
        if name in RATIOS and value > 1:
            raise InputError(f"{name}: must be within [0, 1], got {value!r}")
        if kind is int:
            limit = INT32_MAX if name in _INT32_FIELDS else INT64_MAX
            if value > limit:
                raise InputError(f"{name}: must not exceed {limit}, got {value!r}")
        out[name] = value
    if out["trendline_window_size"] < 2:
        raise InputError("trendline_window_size: must be at least 2")
    if out["min_threshold_ms"] > out["max_threshold_ms"]:
        raise InputError("min_threshold_ms: must not exceed max_threshold_ms")
    if out["min_expected_period_us"] > out["max_expected_period_us"]:
        raise InputError("min_expected_period_us: must not exceed max_expected_period_us")
    if out["loss_low_threshold"] > out["loss_high_threshold"]:
        raise InputError("loss_low_threshold: must not exceed loss_high_threshold")
    if not 0 < out["backoff_factor"] < 1:
        raise InputError("backoff_factor: must be within (0, 1)")
    if out["pacing_factor"] <= 0:
        raise InputError("pacing_factor: must be positive")
    if out["near_max_frame_rate_fps"] <= 0:
        raise InputError("near_max_frame_rate_fps: must be positive")
    if out["bitrate_window_ms"] <= 0 or out["bitrate_initial_window_ms"] <= 0:
        raise InputError("bitrate_window_ms: windows must be positive")
    if out["process_interval_us"] <= 0:
        raise InputError("process_interval_us: must be positive")
    return out


cdef dict _values_of(object config):
    # Every field of ``config`` (an object carrying them as attributes), checked.
    values = {}
    for name in _FIELDS:
        try:
            values[name] = getattr(config, name)
        except AttributeError:
            raise InputError(
                f"config: expected a GccConfig (or an object with its fields), got "
                f"{type(config).__name__} without {name!r}") from None
    return check_values(values)


cdef GccParams _DEFAULT_PARAMS = check_values(_TABLE)


cdef int params_from(object config, GccParams* out) except -1:
    if config is None:
        out[0] = _DEFAULT_PARAMS
    else:
        out[0] = _values_of(config)
    return 0


@cython.final
cdef class GccConstants:
    """A read-only record of GoogCC's constants, one attribute per ``GccConfig`` field.

    What an estimator built without a config reports as its ``config``: libwebrtc's
    values from ``DEFAULTS`` (equal field by field to ``mediaopt.bwe.GccConfig()``).
    """

    cdef dict _values

    def __init__(self, config=None):
        self._values = dict(_TABLE) if config is None else _values_of(config)

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self):
        """The fields as a plain dict (the same keys as ``GccConfig.to_dict()``)."""
        return dict(self._values)

    def __repr__(self):
        return f"GccConstants({len(self._values)} fields, libwebrtc's defaults)"


#: The record of the defaults (``GccEstimator().config``).
DEFAULT_CONSTANTS = GccConstants()


cdef const char* lbv2_config_problem(const GccParams* p) noexcept nogil:
    # LossBasedBweV2::IsConfigValid, check by check, in libwebrtc's order.
    if p.loss_v2_rampup_upper_bound_factor <= 1.0:
        return "loss_v2_rampup_upper_bound_factor <= 1"
    if p.loss_v2_rampup_upper_bound_factor_in_hold <= 1.0:
        return "loss_v2_rampup_upper_bound_factor_in_hold <= 1"
    if p.loss_v2_rampup_acceleration_maxout_us <= 0:
        return "rampup acceleration maxout time <= 0"
    if (p.loss_v2_candidate_factor_high <= 0.0 or p.loss_v2_candidate_factor_mid <= 0.0
            or p.loss_v2_candidate_factor_low <= 0.0):
        return "a candidate factor is not positive"
    if (not p.loss_v2_acked_rate_candidate and not p.loss_v2_delay_based_candidate
            and p.loss_v2_candidate_factor_high == 1.0
            and p.loss_v2_candidate_factor_mid == 1.0
            and p.loss_v2_candidate_factor_low == 1.0):
        return "the configuration cannot generate candidates"
    if p.loss_v2_inherent_loss_lower_bound >= 1.0:
        return "inherent loss lower bound >= 1"
    if p.loss_v2_loss_threshold_of_high_bandwidth_preference >= 1.0:
        return "loss threshold of high bandwidth preference >= 1"
    if not 0.0 < p.loss_v2_bandwidth_preference_smoothing_factor <= 1.0:
        return "bandwidth preference smoothing factor outside (0, 1]"
    if p.loss_v2_inherent_loss_upper_bound_balance_bps <= 0:
        return "inherent loss balance <= 0"
    if not (p.loss_v2_inherent_loss_lower_bound
            <= p.loss_v2_inherent_loss_upper_bound_offset < 1.0):
        return "inherent loss upper bound offset outside [lower bound, 1)"
    if p.loss_v2_initial_inherent_loss_estimate >= 1.0:
        return "initial inherent loss >= 1"
    if p.loss_v2_newton_iterations <= 0:
        return "newton iterations <= 0"
    if p.loss_v2_newton_step_size <= 0.0:
        return "newton step size <= 0"
    if p.loss_v2_observation_duration_lower_bound_us <= 0:
        return "observation duration <= 0"
    if p.loss_v2_observation_window_size < 2:
        return "observation window size < 2"
    if p.loss_v2_observation_window_size > 32:
        return "observation window size > 32 (not supported)"
    if p.loss_v2_sending_rate_smoothing_factor >= 1.0:
        return "sending rate smoothing >= 1"
    if not 0.0 < p.loss_v2_instant_upper_bound_temporal_weight_factor <= 1.0:
        return "instant upper bound temporal weight factor outside (0, 1]"
    if p.loss_v2_instant_upper_bound_balance_bps <= 0:
        return "instant upper bound balance <= 0"
    if p.loss_v2_instant_upper_bound_loss_offset >= 1.0:
        return "instant upper bound offset >= 1"
    if not 0.0 < p.loss_v2_temporal_weight_factor <= 1.0:
        return "temporal weight factor outside (0, 1]"
    if p.loss_v2_bandwidth_backoff_lower_bound_factor > 1.0:
        return "backoff lower bound > 1"
    if p.loss_v2_max_increase_factor <= 0.0:
        return "max increase factor <= 0"
    if p.loss_v2_delayed_increase_window_us <= 0:
        return "delayed increase window <= 0"
    if p.loss_v2_min_num_observations <= 0:
        return "min num observations <= 0"
    return NULL


def loss_v2_config_problem(config=None):
    """Why libwebrtc would disable ``LossBasedBweV2`` with this config, or ``None``.

    Mirrors ``LossBasedBweV2::IsConfigValid``: an invalid configuration does not raise,
    it turns the estimator off (the classic loss-based controller runs instead).
    """
    cdef GccParams p
    params_from(config, &p)
    cdef const char* why = lbv2_config_problem(&p)
    return None if why == NULL else why.decode()
