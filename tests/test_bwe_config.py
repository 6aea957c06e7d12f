"""GccConfig: libwebrtc's constants as named fields, strict round trip."""

import dataclasses

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
