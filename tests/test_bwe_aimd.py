"""AimdRateControl, re-expressing libwebrtc's aimd_rate_control_unittest."""

import pytest

from mediaopt.bwe import AimdRateControl, BandwidthUsage

T0_US = 123_456_000  # libwebrtc's kClockInitialTime (123456 ms)
FRACTION_AFTER_OVERUSE = 0.85


def test_min_near_max_increase_rate_on_low_bandwidth():
    a = AimdRateControl()
    a.set_estimate(30_000, T0_US)
    assert a.near_max_increase_bps_per_s() == 4_000


def test_near_max_increase_rate_is_5kbps_on_90kbps_and_200ms_rtt():
    a = AimdRateControl()
    a.set_estimate(90_000, T0_US)
    assert a.near_max_increase_bps_per_s() == 5_000


def test_near_max_increase_rate_is_5kbps_on_60kbps_and_100ms_rtt():
    a = AimdRateControl()
    a.set_estimate(60_000, T0_US)
    a.set_rtt(100_000)
    assert a.near_max_increase_bps_per_s() == 5_000


def test_increase_rate_and_bandwidth_period_after_overuse():
    a = AimdRateControl()
    a.set_estimate(300_000, T0_US)
    a.update(BandwidthUsage.OVERUSING, 300_000, T0_US)
    assert a.near_max_increase_bps_per_s() == pytest.approx(14_000, abs=1_000)
    assert a.expected_period_us() == 3_000_000


def test_bwe_limited_by_acked_bitrate():
    a = AimdRateControl()
    acked = 10_000
    a.set_estimate(acked, T0_US)
    t = T0_US
    while t - T0_US < 20_000_000:
        a.update("normal", acked, t)
        t += 100_000
    assert a.valid_estimate
    assert a.latest_estimate_bps == int(1.5 * acked + 10_000)


def test_bwe_not_limited_by_decreasing_acked_bitrate():
    a = AimdRateControl()
    acked = 100_000
    a.set_estimate(acked, T0_US)
    t = T0_US
    while t - T0_US < 20_000_000:
        a.update("normal", acked, t)
        t += 100_000
    prev = a.latest_estimate_bps
    # A lower acked rate neither cuts the estimate to 1.5x of it nor lets it grow.
    new = a.update("normal", acked // 2, t)
    assert new == pytest.approx(int(1.5 * acked + 10_000), abs=2_000)
    assert new == prev


def test_default_period_until_first_overuse():
    a = AimdRateControl()
    a.set_start_bitrate(300_000)
    assert a.expected_period_us() == 3_000_000
    a.update("overusing", 280_000, T0_US + 100_000)
    assert a.expected_period_us() != 3_000_000


def test_expected_period_after_20kbps_drop_and_5kbps_increase():
    a = AimdRateControl()
    initial = 110_000
    a.set_estimate(initial, T0_US)
    # Back off from 110 kbps to about 90 kbps, where the increase is 5 kbps/s: 4 s.
    acked = int((initial - 20_000) / FRACTION_AFTER_OVERUSE)
    a.update("overusing", acked, T0_US + 100_000)
    assert a.near_max_increase_bps_per_s() == 5_000
    assert round(a.expected_period_us() / 1000) == 4_000


def test_bandwidth_period_is_not_below_min():
    a = AimdRateControl()
    a.set_estimate(10_000, T0_US)
    a.update("overusing", 10_000 - 1, T0_US + 100_000)
    assert a.expected_period_us() == 2_000_000


def test_bandwidth_period_is_not_above_max():
    a = AimdRateControl()
    a.set_estimate(10_010_000, T0_US)
    a.update("overusing", int(10_000 / FRACTION_AFTER_OVERUSE), T0_US + 100_000)
    assert a.expected_period_us() == 50_000_000


def test_sending_rate_bounded_when_throughput_not_estimated():
    a = AimdRateControl()
    initial = 123_000
    t = T0_US
    a.update("normal", initial, t)
    # The rate is taken from the throughput once 5 s have passed.
    t += 5_000_000 + 1_000
    a.update("normal", initial, t)
    for _ in range(100):
        a.update("normal", None, t)
        t += 100_000
    assert a.latest_estimate_bps <= initial * 1.5 + 10_000


def test_overuse_backs_off_to_85_percent_of_acked():
    a = AimdRateControl()
    a.set_estimate(1_000_000, T0_US)
    assert a.update("overusing", 800_000, T0_US + 300_000) == int(800_000 * 0.85)
    assert a.link_capacity_bps == 800_000


def test_hold_while_underusing():
    a = AimdRateControl()
    a.set_estimate(500_000, T0_US)
    assert a.update("underusing", 500_000, T0_US + 1_000_000) == 500_000


def test_multiplicative_increase_is_8_percent_per_second():
    a = AimdRateControl()
    a.set_estimate(500_000, T0_US)
    # Hold -> increase: the first step is the 1 kbps floor, then 8 % over one second.
    assert a.update("normal", 500_000, T0_US) == 501_000
    assert a.update("normal", 500_000, T0_US + 1_000_000) == 501_000 + int(501_000 * 0.08)


def test_bad_state_and_arguments():
    a = AimdRateControl()
    with pytest.raises(ValueError, match="state"):
        a.update("sideways", None, 0)
    with pytest.raises(ValueError, match="acked_bps"):
        a.update("normal", -5, 0)
    with pytest.raises(ValueError, match="rtt_us"):
        a.set_rtt(float("inf"))
