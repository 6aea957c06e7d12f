"""LossBasedBweV2: libwebrtc's loss_based_bwe_v2_test.cc scenarios, with their numbers.

Left out, because they need features this port leaves out (all off in libwebrtc's
default configuration): NotReadyToUseInStartPhase and ReadyToUseInStartPhase
(UseInStartPhase); IncreaseUsingPaddingStateIfFieldTrial,
BestCandidateResetsToUpperBoundInFieldTrial, DecreaseToAckedCandidateIfPaddingInAlr and
DecreaseAfterPadding (PaddingDuration); UseByteLossRate; PaceAtLossBasedEstimate.
NoBweIncreaseIfObservationDurationIsSmallAndNetworkUnderusing has the same inputs as the
"network normal" case now that the detector state is no longer an input.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hst

from mediaopt.bwe import GccConfig, LossBasedBweV2, loss_v2_config_problem

OBS_US = 250_000  # kObservationDurationLowerBound
PACKET = 15_000  # kPacketSize, bytes

# The test fixture's "Config(enabled, valid)" field-trial string, as GccConfig fields.
TRIAL = dict(
    loss_v2_rampup_upper_bound_factor=1.2,
    loss_v2_candidate_factor_high=1.1,
    loss_v2_candidate_factor_mid=1.0,
    loss_v2_candidate_factor_low=0.95,
    loss_v2_higher_bandwidth_bias_factor=0.01,
    loss_v2_inherent_loss_lower_bound=0.001,
    loss_v2_inherent_loss_upper_bound_balance_bps=14_000,
    loss_v2_inherent_loss_upper_bound_offset=0.9,
    loss_v2_initial_inherent_loss_estimate=0.01,
    loss_v2_newton_iterations=2,
    loss_v2_newton_step_size=0.4,
    loss_v2_observation_window_size=15,
    loss_v2_sending_rate_smoothing_factor=0.01,
    loss_v2_instant_upper_bound_temporal_weight_factor=0.97,
    loss_v2_instant_upper_bound_balance_bps=90_000,
    loss_v2_instant_upper_bound_loss_offset=0.1,
    loss_v2_temporal_weight_factor=0.98,
    loss_v2_min_num_observations=1,
    loss_v2_observation_duration_lower_bound_us=OBS_US,
    loss_v2_max_increase_factor=1.5,
    loss_v2_delayed_increase_window_us=300_000,
)


def config(enabled: bool = True, valid: bool = True) -> GccConfig:
    c = GccConfig(loss_based_v2=enabled, **TRIAL)  # type: ignore[arg-type]
    return c.replace(loss_v2_rampup_upper_bound_factor=1.2 if valid else 0.0)


def short_config(**custom: object) -> GccConfig:
    """ShortObservationConfig: one observation suffices, a window of two."""
    return GccConfig(loss_v2_min_num_observations=1, loss_v2_observation_window_size=2, **custom)  # type: ignore[arg-type]


Report = tuple[list[int], list[int], list[int]]


def received(t0: int) -> Report:
    """Two packets, both received."""
    return [t0, t0 + OBS_US], [t0 + OBS_US, t0 + 2 * OBS_US], [PACKET, PACKET]


def loss_10p(t0: int, lost_size: int = PACKET) -> Report:
    """Ten packets, the last one lost."""
    send = [t0 + i * OBS_US for i in range(10)]
    arrival = [t0 + (i + 1) * OBS_US for i in range(9)] + [-1]
    return send, arrival, [PACKET] * 9 + [lost_size]


def loss_50p(t0: int) -> Report:
    return [t0, t0 + OBS_US], [t0 + OBS_US, -1], [PACKET, PACKET]


def loss_100p(t0: int) -> Report:
    return [t0, t0 + OBS_US], [-1, -1], [PACKET, PACKET]


def update(
    est: LossBasedBweV2, report: Report, delay_bps: int | None = None, in_alr: bool = False
) -> None:
    est.update(*report, delay_based_bps=delay_bps, in_alr=in_alr)


# ---------------------------------------------------------------- configuration


def test_enabled_by_default_as_in_current_libwebrtc() -> None:
    assert GccConfig().loss_based_v2 is True
    assert LossBasedBweV2().enabled


def test_enabled_when_given_valid_configuration_values() -> None:
    assert LossBasedBweV2(config=config()).enabled


def test_disabled_when_given_disabled_configuration() -> None:
    assert not LossBasedBweV2(config=config(enabled=False)).enabled


def test_disabled_when_given_non_valid_configuration_values() -> None:
    c = config(valid=False)
    assert loss_v2_config_problem(c) is not None
    assert not LossBasedBweV2(config=c).enabled


def test_disabled_when_given_non_positive_candidate_factor() -> None:
    zero = GccConfig(loss_v2_candidate_factor_high=0.0, loss_v2_candidate_factor_mid=1.1)
    assert not LossBasedBweV2(config=zero).enabled
    # A negative factor is rejected by GccConfig itself (our convention for bad numbers).
    with pytest.raises(ValueError, match="loss_v2_candidate_factor_high"):
        GccConfig(loss_v2_candidate_factor_high=-1.3)


def test_disabled_when_the_configuration_cannot_generate_candidates() -> None:
    c = GccConfig(
        loss_v2_candidate_factor_high=1.0,
        loss_v2_candidate_factor_mid=1.0,
        loss_v2_candidate_factor_low=1.0,
        loss_v2_acked_rate_candidate=False,
        loss_v2_delay_based_candidate=False,
    )
    assert not LossBasedBweV2(config=c).enabled


@pytest.mark.parametrize("enabled,valid", [(False, True), (True, False)])
def test_returns_delay_based_estimate_when_disabled_or_invalid(enabled: bool, valid: bool) -> None:
    est = LossBasedBweV2(config=config(enabled=enabled, valid=valid))
    est.update([], [], [], delay_based_bps=100_000)
    assert est.bandwidth_estimate_bps == 100_000


# ---------------------------------------------------------------- initialisation


def test_bandwidth_estimate_given_initialization_and_then_feedback() -> None:
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    update(est, received(0))
    assert est.ready
    assert est.bandwidth_estimate_bps is not None


def test_no_bandwidth_estimate_given_no_initialization() -> None:
    est = LossBasedBweV2(config=config())
    update(est, received(0))
    assert not est.ready
    assert est.bandwidth_estimate_bps is None  # +infinity


def test_no_bandwidth_estimate_given_not_enough_feedback() -> None:
    half = OBS_US // 2
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    assert not est.ready
    assert est.bandwidth_estimate_bps is None
    est.update([0, half], [half, OBS_US], [PACKET, PACKET])
    assert not est.ready
    assert est.bandwidth_estimate_bps is None


def test_set_value_is_the_estimate_until_additional_feedback() -> None:
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    update(est, received(0))
    assert est.bandwidth_estimate_bps != 600_000
    est.set_bandwidth_estimate(600_000)
    assert est.bandwidth_estimate_bps == 600_000
    update(est, received(2 * OBS_US))
    assert est.bandwidth_estimate_bps != 600_000


def test_acknowledged_bitrate_only_matters_with_additional_feedback() -> None:
    a = LossBasedBweV2(config=config())
    b = LossBasedBweV2(config=config())
    for est in (a, b):
        est.set_bandwidth_estimate(600_000)
        update(est, received(0))
    assert a.bandwidth_estimate_bps == 660_000
    a.set_acknowledged_bitrate(900_000)
    assert a.bandwidth_estimate_bps == 660_000
    for est in (a, b):
        update(est, received(2 * OBS_US))
    assert a.bandwidth_estimate_bps != b.bandwidth_estimate_bps


# ---------------------------------------------------------------- bounds


def test_estimate_is_capped_to_be_tcp_fair_given_too_high_loss() -> None:
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    update(est, loss_100p(0))
    # Instant upper bound: 90 kbps / (1.0 - 0.1).
    assert est.bandwidth_estimate_bps == 100_000


def test_estimate_capped_by_delay_based_estimate_when_network_normal() -> None:
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    update(est, received(0))
    first = est.bandwidth_estimate_bps
    assert first is not None and first > 600_000
    update(est, received(2 * OBS_US), delay_bps=500_000)
    assert est.bandwidth_estimate_bps == 500_000


def test_use_acked_bitrate_for_emergency_backoff() -> None:
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    est.set_acknowledged_bitrate(300_000)
    update(est, loss_50p(0))
    update(est, loss_100p(2 * OBS_US))
    bw = est.bandwidth_estimate_bps
    assert bw is not None and bw <= 300_000


def test_no_change_if_observation_duration_unchanged() -> None:
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    est.set_acknowledged_bitrate(300_000)
    update(est, received(0))
    first = est.bandwidth_estimate_bps
    update(est, received(0))
    assert est.bandwidth_estimate_bps == first


def test_no_change_if_observation_duration_is_small() -> None:
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    update(est, received(0))
    first = est.bandwidth_estimate_bps
    update(est, received(OBS_US - 1000))
    assert est.bandwidth_estimate_bps == first


def test_increase_to_delay_based_estimate_if_no_loss_or_delay_increase() -> None:
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    update(est, received(0), delay_bps=5_000_000)
    assert est.bandwidth_estimate_bps == 5_000_000
    update(est, received(2 * OBS_US), delay_bps=5_000_000)
    assert est.bandwidth_estimate_bps == 5_000_000


def test_increase_by_max_increase_factor_after_backing_off() -> None:
    est = LossBasedBweV2(
        config=short_config(
            loss_v2_candidate_factor_high=1.2,
            loss_v2_candidate_factor_mid=1.0,
            loss_v2_candidate_factor_low=0.5,
            loss_v2_instant_upper_bound_balance_bps=10_000_000,
            loss_v2_max_increase_factor=1.5,
            loss_v2_not_increase_if_inherent_loss_less_than_average_loss=False,
        )
    )
    est.set_bandwidth_estimate(600_000)
    est.set_acknowledged_bitrate(300_000)
    update(est, loss_100p(0), delay_bps=5_000_000)
    at_loss = est.bandwidth_estimate_bps
    assert at_loss is not None
    est.set_acknowledged_bitrate(600_000)
    update(est, received(OBS_US), delay_bps=5_000_000)
    assert est.bandwidth_estimate_bps == round(at_loss * 1.5)


RECOVERY = dict(
    loss_v2_candidate_factor_high=100.0,
    loss_v2_candidate_factor_mid=1.0,
    loss_v2_candidate_factor_low=0.5,
    loss_v2_instant_upper_bound_balance_bps=10_000_000,
    loss_v2_max_increase_factor=100.0,
)


def test_state_is_delay_based_estimate_after_network_recovering() -> None:
    est = LossBasedBweV2(
        config=short_config(
            **RECOVERY, loss_v2_not_increase_if_inherent_loss_less_than_average_loss=False
        )
    )
    est.set_bandwidth_estimate(600_000)
    est.set_acknowledged_bitrate(300_000)
    update(est, loss_100p(0), delay_bps=600_000)
    assert est.state == "decreasing"
    est.set_acknowledged_bitrate(600_000)
    update(est, received(OBS_US), delay_bps=600_000)
    assert est.state == "delay_based_estimate"
    update(est, received(2 * OBS_US), delay_bps=600_000)
    assert est.state == "delay_based_estimate"


def test_state_is_not_delay_based_if_delay_based_estimate_infinite() -> None:
    est = LossBasedBweV2(config=short_config(**RECOVERY))
    est.set_bandwidth_estimate(600_000)
    update(est, loss_100p(0))
    assert est.state == "decreasing"
    est.set_acknowledged_bitrate(600_000)
    update(est, received(OBS_US))
    assert est.state != "delay_based_estimate"


ACKED_BOUND = dict(
    loss_v2_loss_threshold_of_high_bandwidth_preference=0.99,
    loss_v2_rampup_upper_bound_factor=1.2,
    loss_v2_instant_upper_bound_balance_bps=10_000_000,  # no instant upper bound
)


def _back_off_then_recover(acked_factor: float) -> tuple[LossBasedBweV2, int, int]:
    est = LossBasedBweV2(config=short_config(**ACKED_BOUND))
    est.set_bandwidth_estimate(600_000)
    est.set_acknowledged_bitrate(300_000)
    update(est, loss_100p(0), delay_bps=5_000_000)
    assert est.state == "decreasing"
    first = est.bandwidth_estimate_bps
    assert first is not None and first < 600_000
    est.set_acknowledged_bitrate(round(first * acked_factor))
    count = 1
    while count < 5 and est.state != "increasing":
        update(est, received(count * OBS_US), delay_bps=5_000_000)
        count += 1
    assert est.state == "increasing"
    return est, first, count


def test_increase_by_factor_of_acked_bitrate_after_backing_off() -> None:
    est, first, count = _back_off_then_recover(0.9)
    # Capped by the acknowledged rate x BwRampupUpperBoundFactor.
    capped = round(round(first * 0.9) * 1.2)
    assert est.bandwidth_estimate_bps == capped
    # A lower acknowledged rate does not lower the estimate without loss.
    est.set_acknowledged_bitrate(round(first * 0.9))
    update(est, received(count * OBS_US), delay_bps=5_000_000)
    assert est.bandwidth_estimate_bps == capped


def test_ensure_increase_even_if_acked_bitrate_bound() -> None:
    est, first, _ = _back_off_then_recover(0.5)
    assert est.bandwidth_estimate_bps == first + 1  # up by 1 bps


def test_estimate_is_bounded_during_delayed_window_after_backing_off() -> None:
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    est.set_acknowledged_bitrate(300_000)
    update(est, received(0), delay_bps=5_000_000)
    est.set_acknowledged_bitrate(5_000_000)
    update(est, loss_50p(300_000 - 2000), delay_bps=5_000_000)
    second = est.bandwidth_estimate_bps
    update(est, received(300_000 - 1000), delay_bps=5_000_000)
    assert est.bandwidth_estimate_bps == second


def test_keep_increasing_estimate_after_delayed_increase_window() -> None:
    est = LossBasedBweV2(config=config())
    est.set_bandwidth_estimate(600_000)
    est.set_acknowledged_bitrate(300_000)
    update(est, received(0), delay_bps=5_000_000)
    est.set_acknowledged_bitrate(5_000_000)
    update(est, received(300_000 - 1000), delay_bps=5_000_000)
    second = est.bandwidth_estimate_bps
    assert second is not None
    update(est, received(300_000 + 1000), delay_bps=5_000_000)
    third = est.bandwidth_estimate_bps
    assert third is not None and third >= second


def _two_10p_reports(est: LossBasedBweV2, delay_bps: int | None) -> None:
    est.set_bandwidth_estimate(600_000)
    update(est, loss_10p(0), delay_bps=delay_bps)
    update(est, loss_10p(OBS_US), delay_bps=delay_bps)


def test_not_increase_if_inherent_loss_less_than_average_loss() -> None:
    # CandidateFactors:1.2 (a single factor: the same one three times is equivalent).
    est = LossBasedBweV2(
        config=short_config(
            loss_v2_candidate_factor_high=1.2,
            loss_v2_candidate_factor_mid=1.2,
            loss_v2_candidate_factor_low=1.2,
            loss_v2_not_increase_if_inherent_loss_less_than_average_loss=True,
        )
    )
    _two_10p_reports(est, None)
    assert est.bandwidth_estimate_bps == 600_000


def test_select_high_bandwidth_candidate_if_loss_under_threshold() -> None:
    est = LossBasedBweV2(
        config=short_config(
            loss_v2_loss_threshold_of_high_bandwidth_preference=0.20,
            loss_v2_not_increase_if_inherent_loss_less_than_average_loss=False,
        )
    )
    _two_10p_reports(est, 5_000_000)
    bw = est.bandwidth_estimate_bps
    assert bw is not None and bw > 600_000


def test_select_low_bandwidth_candidate_if_loss_over_threshold() -> None:
    est = LossBasedBweV2(
        config=short_config(loss_v2_loss_threshold_of_high_bandwidth_preference=0.05)
    )
    _two_10p_reports(est, 5_000_000)
    bw = est.bandwidth_estimate_bps
    assert bw is not None and bw < 600_000


def test_estimate_is_not_higher_than_max_bitrate() -> None:
    est = LossBasedBweV2(config=config())
    est.set_min_max_bitrate(10_000, 1_000_000)
    est.set_bandwidth_estimate(1_000_000)
    update(est, received(0))
    bw = est.bandwidth_estimate_bps
    assert bw is not None and bw <= 1_000_000


@pytest.mark.parametrize("in_alr", [True, False])
def test_back_off_to_acked_rate_only_outside_alr(in_alr: bool) -> None:
    est = LossBasedBweV2(config=short_config(loss_v2_instant_upper_bound_balance_bps=100_000))
    est.set_min_max_bitrate(10_000, 1_000_000_000)
    est.set_bandwidth_estimate(600_000)
    est.set_acknowledged_bitrate(100_000)
    update(est, loss_100p(0), delay_bps=5_000_000, in_alr=in_alr)
    bw = est.bandwidth_estimate_bps
    assert bw is not None
    if in_alr:
        assert 100_000 < bw < 600_000  # NotBackOffToAckedRateInAlr
    else:
        assert bw == 100_000  # BackOffToAckedRateIfNotInAlr


@pytest.mark.parametrize("factor", [1.0, 0.0])
def test_bound_estimate_by_acked_rate(factor: float) -> None:
    est = LossBasedBweV2(config=short_config(loss_v2_lower_bound_by_acked_rate_factor=factor))
    est.set_min_max_bitrate(10_000, 1_000_000_000)
    est.set_bandwidth_estimate(600_000)
    est.set_acknowledged_bitrate(500_000)
    update(est, loss_100p(0))
    bw = est.bandwidth_estimate_bps
    assert bw is not None
    if factor:
        assert bw == 500_000  # BoundEstimateByAckedRate
    else:
        assert bw < 500_000  # NotBoundEstimateByAckedRate


SINGLE_FACTOR_1 = dict(
    loss_v2_candidate_factor_high=1.0,
    loss_v2_candidate_factor_mid=1.0,
    loss_v2_candidate_factor_low=1.0,
)


def test_has_decrease_state_because_of_upper_bound() -> None:
    est = LossBasedBweV2(
        config=short_config(**SINGLE_FACTOR_1, loss_v2_instant_upper_bound_balance_bps=10_000)
    )
    est.set_min_max_bitrate(10_000, 1_000_000_000)
    est.set_bandwidth_estimate(500_000)
    est.set_acknowledged_bitrate(500_000)
    update(est, loss_10p(0))
    # Instant upper bound: 10 kbps / (0.1 - 0.05).
    assert est.bandwidth_estimate_bps == 200_000
    assert est.state == "decreasing"


def test_has_increase_state_because_of_lower_bound() -> None:
    est = LossBasedBweV2(
        config=short_config(**SINGLE_FACTOR_1, loss_v2_lower_bound_by_acked_rate_factor=10.0)
    )
    est.set_min_max_bitrate(10_000, 1_000_000_000)
    est.set_bandwidth_estimate(500_000)
    est.set_acknowledged_bitrate(1_000)
    update(est, loss_50p(0))
    assert est.state == "decreasing"
    est.set_acknowledged_bitrate(200_000)
    update(est, loss_50p(OBS_US))
    assert est.bandwidth_estimate_bps == 2_000_000
    assert est.state == "increasing"


def test_estimate_increases_slowly_from_instant_upper_bound_in_alr() -> None:
    est = LossBasedBweV2(config=short_config(loss_v2_upper_bound_candidate_in_alr=True))
    est.set_bandwidth_estimate(1_000_000)
    est.set_acknowledged_bitrate(150_000)
    update(est, loss_50p(0), in_alr=True)
    assert est.state == "decreasing"
    after_loss = est.bandwidth_estimate_bps
    assert after_loss is not None
    for k in range(1, 4):
        update(est, received(k * OBS_US), in_alr=True)
    bw = est.bandwidth_estimate_bps
    assert bw is not None and bw < 2 * after_loss


def test_has_delay_based_state_if_loss_based_estimate_is_max() -> None:
    est = LossBasedBweV2(config=short_config())
    est.set_min_max_bitrate(10_000, 1_000_000)
    update(est, received(0), delay_bps=2_000_000)
    assert est.state == "delay_based_estimate"
    assert est.bandwidth_estimate_bps == 1_000_000
    update(est, loss_50p(OBS_US), delay_bps=2_000_000)
    assert est.state == "decreasing"
    bw = est.bandwidth_estimate_bps
    assert bw is not None and bw < 1_000_000
    count = 2
    while count < 5 and est.state != "delay_based_estimate":
        update(est, received(count * OBS_US), delay_bps=2_000_000)
        count += 1
    assert est.state == "delay_based_estimate"
    assert est.bandwidth_estimate_bps == 1_000_000


# ---------------------------------------------------------------- robustness


@given(
    hst.lists(
        hst.tuples(hst.integers(1, 40), hst.floats(0.0, 1.0), hst.integers(100, 3000)),
        min_size=1,
        max_size=30,
    )
)
def test_estimate_is_finite_positive_and_bounded(reports: list[tuple[int, float, int]]) -> None:
    est = LossBasedBweV2()
    est.set_min_max_bitrate(30_000, 3_000_000)
    est.set_bandwidth_estimate(300_000)
    t = 0
    rng = np.random.default_rng(0)
    for n, loss, size in reports:
        send = t + np.arange(n, dtype=np.int64) * 10_000
        arrival = np.where(rng.random(n) < loss, -1, send + 50_000)
        est.update(send, arrival, np.full(n, size), delay_based_bps=2_000_000)
        est.set_acknowledged_bitrate(int(size * 8 * 100 * (1 - loss)))
        t += n * 10_000
        bw = est.bandwidth_estimate_bps
        assert bw is not None and 30_000 <= bw <= 3_000_000
        assert 0.0 <= est.inherent_loss <= 1.0


def test_bad_input_raises_value_error() -> None:
    est = LossBasedBweV2()
    with pytest.raises(ValueError, match="send_us"):
        est.update([0, 1], [5], [100, 100])
    with pytest.raises(ValueError, match="arrival_us"):
        est.update([0], [-5], [100])
    with pytest.raises(ValueError, match="config"):
        LossBasedBweV2(config=dataclasses.asdict(GccConfig()))  # type: ignore[arg-type]


# ---------------------------------------------------------------- inside GccEstimator


def _lossy_call(config: GccConfig, loss: float, seconds: int = 30) -> list[int]:
    """A sender at the target over a 2 Mbit/s link with random loss, 100 ms one way."""
    from mediaopt.bwe import GccEstimator

    est = GccEstimator(300_000, 30_000, 1_500_000, config=config)
    rng = np.random.default_rng(7)
    targets = [est.target_bps]
    t = 0
    for _ in range(seconds * 20):  # a report every 50 ms
        # 1200-byte packets at the target rate, spread over the 50 ms (the link is faster).
        n = max(1, round(targets[-1] * 0.05 / 9600))
        send = t + np.arange(n, dtype=np.int64) * (50_000 // n)
        for s in send:
            est.on_packet_sent(int(s), 1200)
        arrival = np.where(rng.random(n) < loss, -1, send + 100_000)
        t += 50_000
        est.process(t + 100_000)
        targets.append(est.on_feedback(send, arrival, np.full(n, 1200), t + 100_000))
    return targets


def test_gcc_with_v2_backs_off_modestly_where_the_classic_controller_collapses() -> None:
    on = _lossy_call(GccConfig(), 0.1)
    off = _lossy_call(GccConfig(loss_based_v2=False), 0.1)
    assert min(on[-100:]) > 2 * max(off[-100:])


def test_gcc_reports_the_loss_based_state() -> None:
    from mediaopt.bwe import GccEstimator

    est = GccEstimator(config=GccConfig(loss_based_v2=False))
    assert est.loss_based_state == "delay_based_estimate"
    states = set()
    rng = np.random.default_rng(3)
    est2 = GccEstimator(300_000, 30_000, 1_500_000)
    t = 0
    for k in range(400):
        send = t + np.arange(6, dtype=np.int64) * 8_000
        loss = 0.5 if 100 <= k < 200 else 0.0
        arrival = np.where(rng.random(6) < loss, -1, send + 100_000)
        t += 50_000
        est2.process(t + 100_000)
        est2.on_feedback(send, arrival, np.full(6, 1200), t + 100_000)
        states.add(est2.loss_based_state)
    assert "decreasing" in states and "delay_based_estimate" in states


# ---------------------------------------------------------------- hold (HoldDurationFactor)


def _after_50p_loss(**custom: object) -> tuple[LossBasedBweV2, int]:
    est = LossBasedBweV2(config=short_config(**custom))
    est.set_bandwidth_estimate(2_500_000)
    update(est, loss_50p(0))
    assert est.state == "decreasing"
    bw = est.bandwidth_estimate_bps
    assert bw is not None
    return est, bw


def test_increase_estimate_if_not_hold() -> None:
    est, first = _after_50p_loss(loss_v2_hold_duration_factor=0.0)
    update(est, received(OBS_US))
    assert est.state == "increasing"
    bw = est.bandwidth_estimate_bps
    assert bw is not None and bw > first


def test_increase_estimate_after_hold_duration() -> None:
    est, first = _after_50p_loss(loss_v2_hold_duration_factor=10.0)
    # Within the first hold (300 ms) the estimate cannot increase.
    update(est, received(OBS_US))
    assert est.state == "decreasing"
    assert est.bandwidth_estimate_bps == first
    # After it, it can.
    update(est, received(2 * OBS_US))
    assert est.state == "increasing"
    bw = est.bandwidth_estimate_bps
    assert bw is not None and bw >= first
    # Another loss: a new, longer hold (3 s) at the rate reached then.
    update(est, loss_50p(3 * OBS_US))
    assert est.state == "decreasing"
    at_hold = est.bandwidth_estimate_bps
    assert at_hold is not None
    for i in range(4, 7):
        update(est, loss_100p(i * OBS_US))
        assert est.state == "decreasing"
        bw = est.bandwidth_estimate_bps
        assert bw is not None and bw < at_hold
    k = 7
    while est.state != "increasing":
        update(est, received(k * OBS_US))
        bw = est.bandwidth_estimate_bps
        assert bw is not None
        if est.state == "decreasing":
            assert bw <= at_hold
        elif est.state == "increasing":
            assert bw > at_hold
        k += 1
        assert k < 100


def test_hold_rate_not_lower_than_acked_rate() -> None:
    est, _ = _after_50p_loss(
        loss_v2_hold_duration_factor=10.0, loss_v2_lower_bound_by_acked_rate_factor=1.0
    )
    est.set_acknowledged_bitrate(1_000_000)
    update(est, loss_50p(OBS_US))
    assert est.state == "decreasing"
    assert est.bandwidth_estimate_bps == 1_000_000


def test_estimate_not_lower_than_acked_rate() -> None:
    est = LossBasedBweV2(config=short_config(loss_v2_lower_bound_by_acked_rate_factor=1.0))
    est.set_bandwidth_estimate(2_500_000)
    update(est, loss_100p(0))
    bw = est.bandwidth_estimate_bps
    assert bw is not None and bw < 1_000_000
    est.set_acknowledged_bitrate(1_000_000)
    update(est, loss_100p(OBS_US))
    assert est.bandwidth_estimate_bps == 1_000_000
    update(est, received(2 * OBS_US))
    update(est, received(3 * OBS_US))
    bw = est.bandwidth_estimate_bps
    assert bw is not None and bw > 1_000_000


def test_end_hold_duration_if_delay_based_estimate_works() -> None:
    est, first = _after_50p_loss(loss_v2_hold_duration_factor=3.0)
    update(est, received(OBS_US), delay_bps=first + 10_000)
    assert est.state == "delay_based_estimate"
    assert est.bandwidth_estimate_bps == first + 10_000
