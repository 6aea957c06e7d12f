"""TrendlineEstimator, re-expressing libwebrtc's trendline_estimator_unittest."""

import math

import pytest

from mediaopt.bwe import BandwidthUsage, TrendlineEstimator

PACKETS = 25


def run(recv_factor: float, size: int = 1200) -> list[BandwidthUsage]:
    # 25 packets sent 20 ms apart; delivered at recv_factor x that pace (libwebrtc's
    # PacketTimeGenerator truncates to whole milliseconds).
    send_ms = [123456789 + int(20 * i) for i in range(PACKETS)]
    recv_ms = [987654321 + int(recv_factor * 20 * i) for i in range(PACKETS)]
    est = TrendlineEstimator()
    states = []
    for i in range(1, PACKETS):
        states.append(
            est.update(
                (recv_ms[i] - recv_ms[i - 1]) * 1000,
                (send_ms[i] - send_ms[i - 1]) * 1000,
                send_ms[i] * 1000,
                recv_ms[i] * 1000,
                size,
            )
        )
    return states


def transitions(states: list[BandwidthUsage]) -> list[BandwidthUsage]:
    out = [states[0]]
    for s in states[1:]:
        if s != out[-1]:
            out.append(s)
    return out


def test_normal_when_delivered_at_the_send_pace():
    assert transitions(run(1.0)) == [BandwidthUsage.NORMAL]


def test_overusing_when_delivery_is_10_percent_slower():
    assert transitions(run(1.1)) == [BandwidthUsage.NORMAL, BandwidthUsage.OVERUSING]


def test_underusing_when_delivery_is_15_percent_faster():
    assert transitions(run(0.85)) == [BandwidthUsage.NORMAL, BandwidthUsage.UNDERUSING]


def test_small_packets_are_included_by_default():
    assert transitions(run(1.1, size=100)) == [BandwidthUsage.NORMAL, BandwidthUsage.OVERUSING]


def test_states_compare_equal_to_plain_strings():
    assert run(1.1)[-1] == "overusing"
    assert str(run(1.0)[-1]) == "normal"


def test_threshold_starts_at_12_5_and_stays_clamped():
    est = TrendlineEstimator()
    assert est.threshold_ms == 12.5
    assert math.isnan(est.modified_trend)
    # A long, steady over-use pushes the threshold up but never beyond 600 ms.
    t = 0
    for _ in range(5000):
        t += 20
        est.update(40_000, 20_000, t * 1000, t * 2000)
        assert 6.0 <= est.threshold_ms <= 600.0


def test_threshold_decays_towards_the_floor_when_quiet():
    est = TrendlineEstimator()
    for i in range(1, 2000):
        est.update(20_000, 20_000, i * 20_000, i * 20_000)
    assert est.threshold_ms == pytest.approx(6.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="window_size"):
        TrendlineEstimator(window_size=1)
    with pytest.raises(ValueError, match="smoothing"):
        TrendlineEstimator(smoothing=1.5)
    with pytest.raises(ValueError, match="recv_delta_us"):
        TrendlineEstimator().update(float("nan"), 0, 0, 0)
