"""GccConfig: libwebrtc's constants as named fields, strict round trip."""

import dataclasses

import numpy as np
import pytest

from mediaopt.bwe import BandwidthUsage, GccConfig


def test_defaults_are_libwebrtcs():
    c = GccConfig()
    assert (c.trendline_window_size, c.trendline_smoothing, c.trendline_threshold_gain) == (
        20,
        0.9,
        4.0,
    )
    assert (c.initial_threshold_ms, c.threshold_k_up, c.threshold_k_down) == (12.5, 0.0087, 0.039)
    assert (c.min_threshold_ms, c.max_threshold_ms, c.max_adapt_offset_ms) == (6.0, 600.0, 15.0)
    assert c.overusing_time_threshold_ms == 10.0
    assert c.backoff_factor == 0.85
    assert c.multiplicative_increase_per_s == 1.08
    assert c.min_near_max_increase_bps_per_s == 4000.0
    assert c.default_rtt_us == 200_000
    assert (c.min_expected_period_us, c.default_expected_period_us, c.max_expected_period_us) == (
        2_000_000,
        3_000_000,
        50_000_000,
    )
    assert (c.bitrate_initial_window_ms, c.bitrate_window_ms, c.bitrate_uncertainty_scale) == (
        500,
        150,
        10.0,
    )
    assert (c.loss_low_threshold, c.loss_high_threshold) == (0.02, 0.1)
    assert c.loss_decrease_interval_us == 300_000
    assert (c.first_exponential_probe_scale, c.second_exponential_probe_scale) == (3.0, 6.0)
    assert c.further_probe_threshold == 0.7
    assert (c.probe_min_received_probes_ratio, c.probe_max_valid_ratio) == (0.8, 2.0)
    assert c.alr_bandwidth_usage_ratio == 0.65
    assert c.pacing_factor == 2.5


def test_asdict_round_trips():
    c = GccConfig(backoff_factor=0.8, trendline_window_size=30)
    d = dataclasses.asdict(c)
    assert GccConfig.from_dict(d) == c
    assert c.to_dict() == d


def test_unknown_keys_are_named():
    with pytest.raises(ValueError, match="unknown keys bogus_ms, nope"):
        GccConfig.from_dict({"nope": 1, "bogus_ms": 2, "backoff_factor": 0.8})
    with pytest.raises(ValueError, match="unknown keys"):
        GccConfig().replace(typo=1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("backoff_factor", 1.5),
        ("backoff_factor", float("nan")),
        ("trendline_window_size", 1),
        ("trendline_window_size", 2.5),
        ("loss_low_threshold", 0.5),
        ("pacing_factor", -1.0),
        ("enable_periodic_alr_probing", 1),
        ("default_rtt_us", "200"),
    ],
)
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        GccConfig.from_dict({field: value})


def test_frozen_and_integral_floats_accepted():
    c = GccConfig(default_rtt_us=100_000.0)
    assert c.default_rtt_us == 100_000 and isinstance(c.default_rtt_us, int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.backoff_factor = 0.5  # type: ignore[misc]


def test_bandwidth_usage_is_a_str_enum():
    assert BandwidthUsage("overusing") is BandwidthUsage.OVERUSING
    assert BandwidthUsage.NORMAL == "normal"


def test_python_defaults_are_the_cores_one_table():
    from mediaopt._core import gcc_config

    fields = dataclasses.fields(GccConfig)
    assert [f.name for f in fields] == list(gcc_config.DEFAULTS)
    c = GccConfig()
    for f in fields:
        value = gcc_config.DEFAULTS[f.name]
        assert getattr(c, f.name) == value, f.name
        assert type(getattr(c, f.name)) is type(value) and f.type == type(value).__name__, f.name
    # an estimator built without a config runs with (and reports) the same values
    from mediaopt.bwe import GccEstimator

    assert GccEstimator().config.to_dict() == c.to_dict()
    assert GccEstimator().config.backoff_factor == c.backoff_factor


def test_the_core_takes_any_object_with_the_fields_and_checks_it():
    import types

    from mediaopt.bwe import GccEstimator, TrendlineEstimator

    duck = types.SimpleNamespace(**GccConfig(backoff_factor=0.8).to_dict())
    est = GccEstimator(config=duck)
    assert est.config is duck
    ref = GccEstimator(config=GccConfig(backoff_factor=0.8))
    send = np.arange(0, 400_000, 5_000, dtype=np.int64)
    arrival = send + 40_000 + (np.arange(send.size) ** 2) * 10
    sizes = np.full(send.size, 1200, dtype=np.int64)
    assert est.on_feedback(send, arrival, sizes, 500_000) == ref.on_feedback(
        send, arrival, sizes, 500_000
    )
    # a duck is checked as a GccConfig is, with the same messages
    duck.backoff_factor = 1.5
    with pytest.raises(ValueError, match=r"^backoff_factor: must be within \[0, 1\]"):
        GccEstimator(config=duck)
    partial = types.SimpleNamespace(backoff_factor=0.8)
    with pytest.raises(ValueError, match=r"^config: expected a GccConfig .*without"):
        TrendlineEstimator(config=partial)


def test_config_values_the_core_cannot_hold_are_refused():
    with pytest.raises(ValueError, match="near_max_frame_rate_fps: must be positive"):
        GccConfig(near_max_frame_rate_fps=0.0)
    with pytest.raises(ValueError, match="probe_min_packets: must not exceed 2147483647"):
        GccConfig(probe_min_packets=2**31)
    with pytest.raises(ValueError, match="default_rtt_us: must not exceed"):
        GccConfig(default_rtt_us=2**63)
    with pytest.raises(ValueError, match="pacing_factor: must be finite"):
        GccConfig(pacing_factor=10**400)


def test_loss_v2_config_problem_is_libwebrtcs_is_config_valid():
    from mediaopt.bwe import LossBasedBweV2, loss_v2_config_problem

    assert loss_v2_config_problem(GccConfig()) is None
    bad = GccConfig(loss_v2_observation_window_size=40)
    assert loss_v2_config_problem(bad) == "observation window size > 32 (not supported)"
    assert not LossBasedBweV2(config=bad).enabled and LossBasedBweV2().enabled
    assert (
        loss_v2_config_problem(GccConfig(loss_v2_newton_iterations=0)) == "newton iterations <= 0"
    )
