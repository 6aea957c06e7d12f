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
import enum
import math
from collections.abc import Mapping
from typing import Any, ClassVar

from mediaopt.errors import InputError, clip_repr


class BandwidthUsage(str, enum.Enum):
    """State of the delay-based over-use detector (libwebrtc's ``BandwidthUsage``)."""

    NORMAL = "normal"
    UNDERUSING = "underusing"
    OVERUSING = "overusing"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
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
    send_time_group_length_us: int = 5_000
    burst_delta_threshold_us: int = 5_000
    max_burst_duration_us: int = 100_000
    arrival_time_offset_threshold_us: int = 3_000_000
    reordered_reset_threshold: int = 3  # consecutive reordered groups before a reset
    # DelayBasedBwe resets the inter-arrival and trendline state after this silence.
    stream_timeout_us: int = 2_000_000

    # --- TrendlineEstimator: delay-gradient over-use detector ---
    trendline_window_size: int = 20  # delay samples in the regression (at most 64 here)
    trendline_smoothing: float = 0.9  # weight of the previous smoothed delay
    trendline_threshold_gain: float = 4.0  # slope -> modified trend gain
    overusing_time_threshold_ms: float = 10.0
    initial_threshold_ms: float = 12.5
    threshold_k_up: float = 0.0087  # threshold adaptation rate upwards, per ms
    threshold_k_down: float = 0.039  # threshold adaptation rate downwards, per ms
    min_threshold_ms: float = 6.0
    max_threshold_ms: float = 600.0
    max_adapt_offset_ms: float = 15.0
    max_threshold_time_delta_ms: float = 100.0
    min_num_deltas: int = 60  # the gain grows with the sample count up to this
    delta_counter_max: int = 1000  # cap of the sample counter

    # --- AimdRateControl + LinkCapacityEstimator ---
    backoff_factor: float = 0.85  # over-use: rate = this x acknowledged rate
    default_rtt_us: int = 200_000
    multiplicative_increase_per_s: float = 1.08  # growth factor per second
    min_multiplicative_increase_bps: int = 1_000
    min_near_max_increase_bps_per_s: float = 4_000.0
    near_max_packet_size_bytes: int = 1_200
    near_max_frame_rate_fps: float = 30.0
    overuse_response_delay_us: int = 100_000
    increase_limit_factor: float = 1.5  # cap: this x acknowledged + offset
    increase_limit_offset_bps: int = 10_000
    initialization_time_us: int = 5_000_000
    default_expected_period_us: int = 3_000_000
    min_expected_period_us: int = 2_000_000
    max_expected_period_us: int = 50_000_000
    min_reduction_interval_us: int = 10_000
    max_reduction_interval_us: int = 200_000
    link_capacity_alpha_overuse: float = 0.05  # smoothing weight of a new sample
    link_capacity_min_deviation_kbps: float = 0.4
    link_capacity_max_deviation_kbps: float = 2.5
    link_capacity_deviation_sigmas: float = 3.0  # bounds at estimate +- this x deviation

    # --- BitrateEstimator (AcknowledgedBitrateEstimator) ---
    bitrate_initial_window_ms: int = 500
    bitrate_window_ms: int = 150
    bitrate_uncertainty_scale: float = 10.0  # sample uncertainty gain (dimensionless)
    bitrate_uncertainty_scale_in_alr: float = 10.0
    bitrate_small_sample_uncertainty_scale: float = 10.0
    bitrate_small_sample_threshold_bytes: int = 0
    bitrate_uncertainty_symmetry_cap_bps: int = 0
    bitrate_estimate_floor_bps: int = 0

    # --- SendSideBandwidthEstimation: classic loss-based controller ---
    loss_low_threshold: float = 0.02  # loss ratio under which the target grows
    loss_high_threshold: float = 0.1  # loss ratio over which the target falls
    loss_increase_interval_us: int = 1_000_000
    loss_decrease_interval_us: int = 300_000
    loss_increase_factor: float = 1.08  # growth over the last second's minimum
    loss_increase_offset_bps: int = 1_000
    loss_start_phase_us: int = 2_000_000
    loss_limit_num_packets: int = 20  # packets needed for a loss ratio
    loss_feedback_timeout_us: int = 5_000_000
    loss_default_max_bps: int = 1_000_000_000
    rtt_backoff_limit_us: int = 3_000_000
    rtt_backoff_drop_fraction: float = 0.8  # RTT back-off multiplies the target by this
    rtt_backoff_drop_interval_us: int = 1_000_000
    rtt_backoff_floor_bps: int = 5_000

    # --- LossBasedBweV2 (goog_cc/loss_based_bwe_v2.cc, LossBasedBweV2::CreateConfig) ---
    # Current libwebrtc enables V2 by default: the field trial "WebRTC-Bwe-LossBasedBweV2"
    # parameter "Enabled" defaults to true in loss_based_bwe_v2.cc (it was false in
    # older releases such as M108). With it on, its estimate replaces the classic
    # loss-based rules (SendSideBandwidthEstimation::UpdateEstimate) once it has enough
    # observations.
    loss_based_v2: bool = True
    loss_v2_rampup_upper_bound_factor: float = 1_000_000.0  # increase <= this x acked
    loss_v2_rampup_upper_bound_factor_in_hold: float = 1_000_000.0
    loss_v2_rampup_hold_threshold: float = 1.3  # acked < this x hold rate: hold factor
    loss_v2_rampup_acceleration_max_factor: float = 0.0  # (0: no acceleration)
    loss_v2_rampup_acceleration_maxout_us: int = 60_000_000
    loss_v2_candidate_factor_high: float = 1.02  # candidate: this x current estimate
    loss_v2_candidate_factor_mid: float = 1.0
    loss_v2_candidate_factor_low: float = 0.95
    loss_v2_higher_bandwidth_bias_factor: float = 0.0002  # objective bias per kbps
    loss_v2_higher_log_bandwidth_bias_factor: float = 0.02  # bias per log(1 + kbps)
    loss_v2_inherent_loss_lower_bound: float = 1.0e-3
    loss_v2_loss_threshold_of_high_bandwidth_preference: float = 0.15
    loss_v2_bandwidth_preference_smoothing_factor: float = 0.002
    loss_v2_inherent_loss_upper_bound_balance_bps: int = 75_000
    loss_v2_inherent_loss_upper_bound_offset: float = 0.05
    loss_v2_initial_inherent_loss_estimate: float = 0.01
    loss_v2_newton_iterations: int = 1
    loss_v2_newton_step_size: float = 0.75
    loss_v2_acked_rate_candidate: bool = True
    loss_v2_delay_based_candidate: bool = True
    loss_v2_upper_bound_candidate_in_alr: bool = False
    loss_v2_observation_duration_lower_bound_us: int = 250_000
    loss_v2_observation_window_size: int = 20  # observations kept (at most 32 here)
    loss_v2_sending_rate_smoothing_factor: float = 0.0
    loss_v2_instant_upper_bound_temporal_weight_factor: float = 0.9
    loss_v2_instant_upper_bound_balance_bps: int = 75_000
    loss_v2_instant_upper_bound_loss_offset: float = 0.05
    loss_v2_temporal_weight_factor: float = 0.9
    loss_v2_bandwidth_backoff_lower_bound_factor: float = 1.0  # acked candidate factor
    loss_v2_max_increase_factor: float = 1.3  # loss-limited increase per window
    loss_v2_delayed_increase_window_us: int = 300_000
    loss_v2_not_increase_if_inherent_loss_less_than_average_loss: bool = True
    loss_v2_not_use_acked_rate_in_alr: bool = True
    loss_v2_min_num_observations: int = 3
    loss_v2_lower_bound_by_acked_rate_factor: float = 0.0  # (0: no lower bound)
    loss_v2_hold_duration_factor: float = 0.0  # (0: no hold)
    loss_v2_bound_best_candidate: bool = False
    # ProbeController::loss_limited_probe_scale: probes while V2 is increasing are capped
    # at this x the estimate.
    loss_limited_probe_scale: float = 1.5

    # --- ProbeController ---
    first_exponential_probe_scale: float = 3.0  # x start rate
    second_exponential_probe_scale: float = 6.0  # x start rate (0: no second probe)
    further_exponential_probe_scale: float = 2.0  # x estimate
    further_probe_threshold: float = 0.7  # probe further when estimate > this x probe
    alr_probing_interval_us: int = 5_000_000
    alr_probe_scale: float = 2.0  # x estimate
    enable_periodic_alr_probing: bool = False
    probe_min_packets: int = 5  # packets per probe cluster
    probe_min_duration_us: int = 15_000
    probe_max_wait_for_result_us: int = 1_000_000
    default_max_probing_bps: int = 5_000_000
    bitrate_drop_threshold: float = 0.66  # a drop under this x estimate is large
    bitrate_drop_timeout_us: int = 5_000_000
    probe_fraction_after_drop: float = 0.85  # recovery probe, x rate before the drop
    alr_ended_timeout_us: int = 3_000_000
    min_time_between_alr_probes_us: int = 5_000_000
    probe_uncertainty: float = 0.05  # expected relative error of a probe result

    # --- ProbeBitrateEstimator ---
    probe_min_received_probes_ratio: float = 0.80
    probe_min_received_bytes_ratio: float = 0.80
    probe_max_valid_ratio: float = 2.0  # receive/send rate above this is invalid
    probe_min_ratio_for_unsaturated_link: float = 0.9
    probe_target_utilization_fraction: float = 0.95
    probe_max_cluster_history_us: int = 1_000_000
    probe_max_interval_us: int = 1_000_000

    # --- AlrDetector ---
    alr_bandwidth_usage_ratio: float = 0.65  # ALR budget rate, x estimate
    alr_start_budget_level_ratio: float = 0.80
    alr_stop_budget_level_ratio: float = 0.50
    alr_budget_window_us: int = 500_000

    # --- GoogCcNetworkController ---
    pacing_factor: float = 2.5  # pacing rate = this x target
    process_interval_us: int = 25_000

    _RATIOS: ClassVar[frozenset[str]] = frozenset(
        {
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
        }
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise InputError(f"{f.name}: expected a bool, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"{f.name}: expected a number, got {clip_repr(value)}")
            # every field reaches the core as an int64 or a double used beside int64
            # times and rates: refuse what would overflow there (issue 13)
            if (isinstance(value, int) or math.isfinite(value)) and not (
                -(2**63) <= value <= 2**63 - 1
            ):
                raise InputError(f"{f.name}: {clip_repr(value)} is outside the int64 range")
            if f.type in ("int", int):
                if isinstance(value, float):
                    if not value.is_integer():
                        raise InputError(f"{f.name}: expected an integer, got {value!r}")
                    object.__setattr__(self, f.name, int(value))
                    value = int(value)
            else:
                object.__setattr__(self, f.name, float(value))
                value = float(value)
            if not math.isfinite(value):
                raise InputError(f"{f.name}: must be finite, got {value!r}")
            if value < 0:
                raise InputError(f"{f.name}: must not be negative, got {value!r}")
            if f.name in self._RATIOS and value > 1:
                raise InputError(f"{f.name}: must be within [0, 1], got {value!r}")
        if self.trendline_window_size < 2:
            raise InputError("trendline_window_size: must be at least 2")
        if self.min_threshold_ms > self.max_threshold_ms:
            raise InputError("min_threshold_ms: must not exceed max_threshold_ms")
        if self.min_expected_period_us > self.max_expected_period_us:
            raise InputError("min_expected_period_us: must not exceed max_expected_period_us")
        if self.loss_low_threshold > self.loss_high_threshold:
            raise InputError("loss_low_threshold: must not exceed loss_high_threshold")
        if not 0 < self.backoff_factor < 1:
            raise InputError("backoff_factor: must be within (0, 1)")
        if self.pacing_factor <= 0:
            raise InputError("pacing_factor: must be positive")
        if self.bitrate_window_ms <= 0 or self.bitrate_initial_window_ms <= 0:
            raise InputError("bitrate_window_ms: windows must be positive")
        if self.process_interval_us <= 0:
            raise InputError("process_interval_us: must be positive")

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


def loss_v2_config_problem(config: GccConfig) -> str | None:
    """Why libwebrtc would disable ``LossBasedBweV2`` with this config, or ``None``.

    Mirrors ``LossBasedBweV2::IsConfigValid``: an invalid configuration does not raise,
    it turns the estimator off (the classic loss-based controller runs instead).
    """
    c = config
    factors = (
        c.loss_v2_candidate_factor_high,
        c.loss_v2_candidate_factor_mid,
        c.loss_v2_candidate_factor_low,
    )
    checks = [
        (c.loss_v2_rampup_upper_bound_factor <= 1.0, "loss_v2_rampup_upper_bound_factor <= 1"),
        (
            c.loss_v2_rampup_upper_bound_factor_in_hold <= 1.0,
            "loss_v2_rampup_upper_bound_factor_in_hold <= 1",
        ),
        (c.loss_v2_rampup_acceleration_maxout_us <= 0, "rampup acceleration maxout time <= 0"),
        (any(f <= 0.0 for f in factors), "a candidate factor is not positive"),
        (
            not c.loss_v2_acked_rate_candidate
            and not c.loss_v2_delay_based_candidate
            and all(f == 1.0 for f in factors),
            "the configuration cannot generate candidates",
        ),
        (c.loss_v2_inherent_loss_lower_bound >= 1.0, "inherent loss lower bound >= 1"),
        (
            c.loss_v2_loss_threshold_of_high_bandwidth_preference >= 1.0,
            "loss threshold of high bandwidth preference >= 1",
        ),
        (
            not 0.0 < c.loss_v2_bandwidth_preference_smoothing_factor <= 1.0,
            "bandwidth preference smoothing factor outside (0, 1]",
        ),
        (c.loss_v2_inherent_loss_upper_bound_balance_bps <= 0, "inherent loss balance <= 0"),
        (
            not c.loss_v2_inherent_loss_lower_bound
            <= c.loss_v2_inherent_loss_upper_bound_offset
            < 1.0,
            "inherent loss upper bound offset outside [lower bound, 1)",
        ),
        (c.loss_v2_initial_inherent_loss_estimate >= 1.0, "initial inherent loss >= 1"),
        (c.loss_v2_newton_iterations <= 0, "newton iterations <= 0"),
        (c.loss_v2_newton_step_size <= 0.0, "newton step size <= 0"),
        (c.loss_v2_observation_duration_lower_bound_us <= 0, "observation duration <= 0"),
        (c.loss_v2_observation_window_size < 2, "observation window size < 2"),
        (c.loss_v2_observation_window_size > 32, "observation window size > 32 (not supported)"),
        (c.loss_v2_sending_rate_smoothing_factor >= 1.0, "sending rate smoothing >= 1"),
        (
            not 0.0 < c.loss_v2_instant_upper_bound_temporal_weight_factor <= 1.0,
            "instant upper bound temporal weight factor outside (0, 1]",
        ),
        (c.loss_v2_instant_upper_bound_balance_bps <= 0, "instant upper bound balance <= 0"),
        (c.loss_v2_instant_upper_bound_loss_offset >= 1.0, "instant upper bound offset >= 1"),
        (
            not 0.0 < c.loss_v2_temporal_weight_factor <= 1.0,
            "temporal weight factor outside (0, 1]",
        ),
        (c.loss_v2_bandwidth_backoff_lower_bound_factor > 1.0, "backoff lower bound > 1"),
        (c.loss_v2_max_increase_factor <= 0.0, "max increase factor <= 0"),
        (c.loss_v2_delayed_increase_window_us <= 0, "delayed increase window <= 0"),
        (c.loss_v2_min_num_observations <= 0, "min num observations <= 0"),
    ]
    for bad, why in checks:
        if bad:
            return why
    return None


# The compiled components import this module lazily (for GccConfig and BandwidthUsage),
# so importing them at the end keeps one import order that works both ways.
from mediaopt._core.aimd import AimdRateControl  # noqa: E402
from mediaopt._core.alr import AlrDetector  # noqa: E402
from mediaopt._core.bitrate_estimator import (  # noqa: E402
    AcknowledgedBitrateEstimator,
    BitrateEstimator,
)
from mediaopt._core.gcc import GccEstimator  # noqa: E402
from mediaopt._core.inter_arrival import InterArrivalDelta  # noqa: E402
from mediaopt._core.loss_based import SendSideBandwidthEstimation  # noqa: E402
from mediaopt._core.loss_based_v2 import LossBasedBweV2  # noqa: E402
from mediaopt._core.probe import ProbeBitrateEstimator, ProbeController  # noqa: E402
from mediaopt._core.trendline import TrendlineEstimator  # noqa: E402

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
