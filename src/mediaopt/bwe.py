"""Bandwidth estimation: libwebrtc's send-side GoogCC, as configurable components.

``GccConfig`` holds every constant of the estimator as a named field whose default is the
value libwebrtc uses (``modules/congestion_controller/goog_cc`` and
``modules/remote_bitrate_estimator``, without field trials). ``BandwidthUsage`` names the
delay detector's three states. The compiled components and the whole estimator live in
``mediaopt._core`` and are re-exported here, each usable alone:

``InterArrivalDelta``, ``TrendlineEstimator``, ``AimdRateControl``, ``BitrateEstimator``,
``AcknowledgedBitrateEstimator``, ``SendSideBandwidthEstimation`` (classic loss-based),
``LossBasedBweV2`` (libwebrtc's newer loss-based estimator, on by default),
``ProbeController``, ``ProbeBitrateEstimator``, ``AlrDetector`` and ``GccEstimator``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from mediaopt._core import gcc_config as _core_config
from mediaopt._core.aimd import AimdRateControl
from mediaopt._core.alr import AlrDetector
from mediaopt._core.bitrate_estimator import AcknowledgedBitrateEstimator, BitrateEstimator
from mediaopt._core.gcc import GccEstimator
from mediaopt._core.inter_arrival import InterArrivalDelta
from mediaopt._core.loss_based import SendSideBandwidthEstimation
from mediaopt._core.loss_based_v2 import LossBasedBweV2
from mediaopt._core.probe import ProbeBitrateEstimator, ProbeController
from mediaopt._core.trendline import BandwidthUsage, TrendlineEstimator
from mediaopt.errors import InputError

_T = TypeVar("_T")

# Every default of GccConfig is the core's (mediaopt._core.gcc_config.DEFAULTS, the table
# the components use when built without a config): one definition, filled in by name.
_FROM_CORE: Any = object()


def _core_defaults(cls: type[_T]) -> type[_T]:
    """Replace each ``_FROM_CORE`` default of ``cls`` by the core's value for that field."""
    names = list(cls.__annotations__)
    if sorted(names) != sorted(_core_config.DEFAULTS):
        raise RuntimeError(f"{cls.__name__}: its fields and the core's defaults differ")
    for name in names:
        if cls.__dict__.get(name) is _FROM_CORE:
            setattr(cls, name, _core_config.DEFAULTS[name])
    return cls


@dataclasses.dataclass(frozen=True)
@_core_defaults
class GccConfig:
    """Every constant of GoogCC, named with its unit; defaults are libwebrtc's.

    Groups follow libwebrtc's classes: inter-arrival grouping (``InterArrivalDelta``),
    the trendline over-use detector (``TrendlineEstimator``), AIMD rate control
    (``AimdRateControl`` and ``LinkCapacityEstimator``), the acknowledged bitrate
    (``BitrateEstimator``), the classic loss-based controller
    (``SendSideBandwidthEstimation``), probing (``ProbeController``,
    ``ProbeBitrateEstimator``), ALR detection (``AlrDetector``) and the controller
    itself (``GoogCcNetworkController``). ``dataclasses.asdict`` round-trips through
    :meth:`from_dict`, which rejects unknown keys.
    """

    # --- InterArrivalDelta: grouping packets into send-time bursts ---
    send_time_group_length_us: int = _FROM_CORE
    burst_delta_threshold_us: int = _FROM_CORE
    max_burst_duration_us: int = _FROM_CORE
    arrival_time_offset_threshold_us: int = _FROM_CORE
    reordered_reset_threshold: int = _FROM_CORE  # consecutive reordered groups before a reset
    # DelayBasedBwe resets the inter-arrival and trendline state after this silence.
    stream_timeout_us: int = _FROM_CORE

    # --- TrendlineEstimator: delay-gradient over-use detector ---
    trendline_window_size: int = _FROM_CORE  # delay samples in the regression (at most 64 here)
    trendline_smoothing: float = _FROM_CORE  # weight of the previous smoothed delay
    trendline_threshold_gain: float = _FROM_CORE  # slope -> modified trend gain
    overusing_time_threshold_ms: float = _FROM_CORE
    initial_threshold_ms: float = _FROM_CORE
    threshold_k_up: float = _FROM_CORE  # threshold adaptation rate upwards, per ms
    threshold_k_down: float = _FROM_CORE  # threshold adaptation rate downwards, per ms
    min_threshold_ms: float = _FROM_CORE
    max_threshold_ms: float = _FROM_CORE
    max_adapt_offset_ms: float = _FROM_CORE
    max_threshold_time_delta_ms: float = _FROM_CORE
    min_num_deltas: int = _FROM_CORE  # the gain grows with the sample count up to this
    delta_counter_max: int = _FROM_CORE  # cap of the sample counter

    # --- AimdRateControl + LinkCapacityEstimator ---
    backoff_factor: float = _FROM_CORE  # over-use: rate = this x acknowledged rate
    default_rtt_us: int = _FROM_CORE
    multiplicative_increase_per_s: float = _FROM_CORE  # growth factor per second
    min_multiplicative_increase_bps: int = _FROM_CORE
    min_near_max_increase_bps_per_s: float = _FROM_CORE
    near_max_packet_size_bytes: int = _FROM_CORE
    near_max_frame_rate_fps: float = _FROM_CORE
    overuse_response_delay_us: int = _FROM_CORE
    increase_limit_factor: float = _FROM_CORE  # cap: this x acknowledged + offset
    increase_limit_offset_bps: int = _FROM_CORE
    initialization_time_us: int = _FROM_CORE
    default_expected_period_us: int = _FROM_CORE
    min_expected_period_us: int = _FROM_CORE
    max_expected_period_us: int = _FROM_CORE
    min_reduction_interval_us: int = _FROM_CORE
    max_reduction_interval_us: int = _FROM_CORE
    link_capacity_alpha_overuse: float = _FROM_CORE  # smoothing weight of a new sample
    link_capacity_min_deviation_kbps: float = _FROM_CORE
    link_capacity_max_deviation_kbps: float = _FROM_CORE
    link_capacity_deviation_sigmas: float = _FROM_CORE  # bounds at estimate +- this x deviation

    # --- BitrateEstimator (AcknowledgedBitrateEstimator) ---
    bitrate_initial_window_ms: int = _FROM_CORE
    bitrate_window_ms: int = _FROM_CORE
    bitrate_uncertainty_scale: float = _FROM_CORE  # sample uncertainty gain (dimensionless)
    bitrate_uncertainty_scale_in_alr: float = _FROM_CORE
    bitrate_small_sample_uncertainty_scale: float = _FROM_CORE
    bitrate_small_sample_threshold_bytes: int = _FROM_CORE
    bitrate_uncertainty_symmetry_cap_bps: int = _FROM_CORE
    bitrate_estimate_floor_bps: int = _FROM_CORE

    # --- SendSideBandwidthEstimation: classic loss-based controller ---
    loss_low_threshold: float = _FROM_CORE  # loss ratio under which the target grows
    loss_high_threshold: float = _FROM_CORE  # loss ratio over which the target falls
    loss_increase_interval_us: int = _FROM_CORE
    loss_decrease_interval_us: int = _FROM_CORE
    loss_increase_factor: float = _FROM_CORE  # growth over the last second's minimum
    loss_increase_offset_bps: int = _FROM_CORE
    loss_start_phase_us: int = _FROM_CORE
    loss_limit_num_packets: int = _FROM_CORE  # packets needed for a loss ratio
    loss_feedback_timeout_us: int = _FROM_CORE
    loss_default_max_bps: int = _FROM_CORE
    rtt_backoff_limit_us: int = _FROM_CORE
    rtt_backoff_drop_fraction: float = _FROM_CORE  # RTT back-off multiplies the target by this
    rtt_backoff_drop_interval_us: int = _FROM_CORE
    rtt_backoff_floor_bps: int = _FROM_CORE

    # --- LossBasedBweV2 (goog_cc/loss_based_bwe_v2.cc, LossBasedBweV2::CreateConfig) ---
    # Current libwebrtc enables V2 by default: the field trial "WebRTC-Bwe-LossBasedBweV2"
    # parameter "Enabled" defaults to true in loss_based_bwe_v2.cc (it was false in
    # older releases such as M108). With it on, its estimate replaces the classic
    # loss-based rules (SendSideBandwidthEstimation::UpdateEstimate) once it has enough
    # observations.
    loss_based_v2: bool = _FROM_CORE
    loss_v2_rampup_upper_bound_factor: float = _FROM_CORE  # increase <= this x acked
    loss_v2_rampup_upper_bound_factor_in_hold: float = _FROM_CORE
    loss_v2_rampup_hold_threshold: float = _FROM_CORE  # acked < this x hold rate: hold factor
    loss_v2_rampup_acceleration_max_factor: float = _FROM_CORE  # (0: no acceleration)
    loss_v2_rampup_acceleration_maxout_us: int = _FROM_CORE
    loss_v2_candidate_factor_high: float = _FROM_CORE  # candidate: this x current estimate
    loss_v2_candidate_factor_mid: float = _FROM_CORE
    loss_v2_candidate_factor_low: float = _FROM_CORE
    loss_v2_higher_bandwidth_bias_factor: float = _FROM_CORE  # objective bias per kbps
    loss_v2_higher_log_bandwidth_bias_factor: float = _FROM_CORE  # bias per log(1 + kbps)
    loss_v2_inherent_loss_lower_bound: float = _FROM_CORE
    loss_v2_loss_threshold_of_high_bandwidth_preference: float = _FROM_CORE
    loss_v2_bandwidth_preference_smoothing_factor: float = _FROM_CORE
    loss_v2_inherent_loss_upper_bound_balance_bps: int = _FROM_CORE
    loss_v2_inherent_loss_upper_bound_offset: float = _FROM_CORE
    loss_v2_initial_inherent_loss_estimate: float = _FROM_CORE
    loss_v2_newton_iterations: int = _FROM_CORE
    loss_v2_newton_step_size: float = _FROM_CORE
    loss_v2_acked_rate_candidate: bool = _FROM_CORE
    loss_v2_delay_based_candidate: bool = _FROM_CORE
    loss_v2_upper_bound_candidate_in_alr: bool = _FROM_CORE
    loss_v2_observation_duration_lower_bound_us: int = _FROM_CORE
    loss_v2_observation_window_size: int = _FROM_CORE  # observations kept (at most 32 here)
    loss_v2_sending_rate_smoothing_factor: float = _FROM_CORE
    loss_v2_instant_upper_bound_temporal_weight_factor: float = _FROM_CORE
    loss_v2_instant_upper_bound_balance_bps: int = _FROM_CORE
    loss_v2_instant_upper_bound_loss_offset: float = _FROM_CORE
    loss_v2_temporal_weight_factor: float = _FROM_CORE
    loss_v2_bandwidth_backoff_lower_bound_factor: float = _FROM_CORE  # acked candidate factor
    loss_v2_max_increase_factor: float = _FROM_CORE  # loss-limited increase per window
    loss_v2_delayed_increase_window_us: int = _FROM_CORE
    loss_v2_not_increase_if_inherent_loss_less_than_average_loss: bool = _FROM_CORE
    loss_v2_not_use_acked_rate_in_alr: bool = _FROM_CORE
    loss_v2_min_num_observations: int = _FROM_CORE
    loss_v2_lower_bound_by_acked_rate_factor: float = _FROM_CORE  # (0: no lower bound)
    loss_v2_hold_duration_factor: float = _FROM_CORE  # (0: no hold)
    loss_v2_bound_best_candidate: bool = _FROM_CORE
    # ProbeController::loss_limited_probe_scale: probes while V2 is increasing are capped
    # at this x the estimate.
    loss_limited_probe_scale: float = _FROM_CORE

    # --- ProbeController ---
    first_exponential_probe_scale: float = _FROM_CORE  # x start rate
    second_exponential_probe_scale: float = _FROM_CORE  # x start rate (0: no second probe)
    further_exponential_probe_scale: float = _FROM_CORE  # x estimate
    further_probe_threshold: float = _FROM_CORE  # probe further when estimate > this x probe
    alr_probing_interval_us: int = _FROM_CORE
    alr_probe_scale: float = _FROM_CORE  # x estimate
    enable_periodic_alr_probing: bool = _FROM_CORE
    probe_min_packets: int = _FROM_CORE  # packets per probe cluster
    probe_min_duration_us: int = _FROM_CORE
    probe_max_wait_for_result_us: int = _FROM_CORE
    default_max_probing_bps: int = _FROM_CORE
    bitrate_drop_threshold: float = _FROM_CORE  # a drop under this x estimate is large
    bitrate_drop_timeout_us: int = _FROM_CORE
    probe_fraction_after_drop: float = _FROM_CORE  # recovery probe, x rate before the drop
    alr_ended_timeout_us: int = _FROM_CORE
    min_time_between_alr_probes_us: int = _FROM_CORE
    probe_uncertainty: float = _FROM_CORE  # expected relative error of a probe result

    # --- ProbeBitrateEstimator ---
    probe_min_received_probes_ratio: float = _FROM_CORE
    probe_min_received_bytes_ratio: float = _FROM_CORE
    probe_max_valid_ratio: float = _FROM_CORE  # receive/send rate above this is invalid
    probe_min_ratio_for_unsaturated_link: float = _FROM_CORE
    probe_target_utilization_fraction: float = _FROM_CORE
    probe_max_cluster_history_us: int = _FROM_CORE
    probe_max_interval_us: int = _FROM_CORE

    # --- AlrDetector ---
    alr_bandwidth_usage_ratio: float = _FROM_CORE  # ALR budget rate, x estimate
    alr_start_budget_level_ratio: float = _FROM_CORE
    alr_stop_budget_level_ratio: float = _FROM_CORE
    alr_budget_window_us: int = _FROM_CORE

    # --- GoogCcNetworkController ---
    pacing_factor: float = _FROM_CORE  # pacing rate = this x target
    process_interval_us: int = _FROM_CORE

    def __post_init__(self) -> None:
        # The core's checks (the same it runs on any config handed to it); integral floats
        # of integer fields become int, numbers of float fields become float.
        checked = _core_config.check_values({f.name: getattr(self, f.name) for f in _FIELDS})
        for name, value in checked.items():
            if type(getattr(self, name)) is not type(value):
                object.__setattr__(self, name, value)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GccConfig:
        """Build a config from a mapping (e.g. a TOML table); unknown keys raise ``InputError``."""
        if not isinstance(data, Mapping):
            raise InputError(f"estimator config: expected a table, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"estimator config: unknown keys {', '.join(map(str, unknown))}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (same as ``dataclasses.asdict``)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> GccConfig:
        """Return a copy with ``changes`` applied; unknown names raise ``InputError``."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InputError(f"estimator config: unknown keys {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)


_FIELDS = dataclasses.fields(GccConfig)


def loss_v2_config_problem(config: GccConfig) -> str | None:
    """Why libwebrtc would disable ``LossBasedBweV2`` with this config, or ``None``.

    Mirrors ``LossBasedBweV2::IsConfigValid``: an invalid configuration does not raise,
    it turns the estimator off (the classic loss-based controller runs instead).
    """
    return _core_config.loss_v2_config_problem(config)


__all__ = [
    "AcknowledgedBitrateEstimator",
    "AimdRateControl",
    "AlrDetector",
    "BandwidthUsage",
    "BitrateEstimator",
    "GccConfig",
    "GccEstimator",
    "InterArrivalDelta",
    "LossBasedBweV2",
    "ProbeBitrateEstimator",
    "ProbeController",
    "SendSideBandwidthEstimation",
    "TrendlineEstimator",
]
