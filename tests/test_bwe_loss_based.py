"""SendSideBandwidthEstimation (classic loss-based), re-expressing libwebrtc's unit tests."""

import pytest

from mediaopt.bwe import SendSideBandwidthEstimation


@pytest.mark.parametrize("second", [1_500_000])
def test_initial_delay_based_estimate_applies_at_once(second):
    bwe = SendSideBandwidthEstimation()
    now = 0
    bwe.set_min_max_bitrate(100_000, 1_500_000)
    bwe.set_send_bitrate(200_000, now)
    bwe.update_packets_lost(0, 1, now)
    bwe.update_rtt(50_000, now)
    bwe.update_delay_based_estimate(now, 1_000_000)
    bwe.update_estimate(now)
    assert bwe.target_bps == 1_000_000
    # A second estimate after the 2 s start phase does not apply by itself.
    now += 2_001_000
    bwe.update_delay_based_estimate(now, second)
    bwe.update_estimate(now)
    assert bwe.target_bps == 1_000_000


def test_does_not_reapply_decrease_without_new_loss_report():
    bwe = SendSideBandwidthEstimation()
    now = 1_000_000
    bwe.set_min_max_bitrate(100_000, 1_500_000)
    bwe.set_send_bitrate(1_000_000, now)
    now += 10_000_000
    assert bwe.target_bps == 1_000_000
    assert bwe.fraction_loss == 0
    assert bwe.round_trip_time_us == 0
    bwe.update_packets_lost(50, 100, now)  # heavy loss
    bwe.update_rtt(50_000, now)
    now += 1_000_000
    bwe.update_estimate(now)
    assert 100_000 < bwe.target_bps < 1_000_000
    assert bwe.fraction_loss == 128
    assert bwe.round_trip_time_us == 50_000
    last = bwe.target_bps
    now += 1_000_000
    bwe.update_estimate(now)
    assert bwe.target_bps == last
    assert bwe.fraction_loss == 128


def test_setting_send_bitrate_overrides_delay_based_estimate():
    bwe = SendSideBandwidthEstimation()
    bwe.set_min_max_bitrate(10_000, 10_000_000)
    bwe.set_send_bitrate(300_000, 0)
    bwe.update_delay_based_estimate(0, 350_000)
    bwe.update_estimate(0)
    assert 300_000 <= bwe.target_bps <= 350_000
    bwe.set_send_bitrate(2_500_000, 0)
    assert bwe.target_bps == 2_500_000


def _after_start_phase(loss_pct: int) -> tuple[int, int]:
    bwe = SendSideBandwidthEstimation()
    bwe.set_min_max_bitrate(10_000, 10_000_000)
    bwe.set_send_bitrate(1_000_000, 0)
    bwe.update_packets_lost(0, 100, 0)
    now = 3_000_000
    bwe.update_estimate(now)  # out of the start phase: history holds 1 Mbps
    before = bwe.target_bps
    bwe.update_packets_lost(loss_pct, 100, now + 10_000)
    return before, bwe.target_bps


def test_low_loss_increases_8_percent_plus_1kbps_over_the_last_second_minimum():
    before, after = _after_start_phase(1)
    first = int(1_000_000 * 1.08 + 0.5) + 1_000  # the loss-free report at t = 0
    assert before == int(first * 1.08 + 0.5) + 1_000
    # 10 ms later the minimum of the last second is still `first`: no further step.
    assert after == before


def test_moderate_loss_holds():
    before, after = _after_start_phase(5)
    assert after == before


def test_high_loss_decreases_by_half_the_loss():
    before, after = _after_start_phase(20)
    q8 = 20 * 256 // 100
    assert after == int(before * (512 - q8) / 512)


def test_target_never_below_min_or_above_max():
    bwe = SendSideBandwidthEstimation()
    bwe.set_min_max_bitrate(50_000, 200_000)
    bwe.set_send_bitrate(5_000_000, 0)
    assert bwe.target_bps == 200_000
    now = 0
    for _ in range(50):
        now += 1_000_000
        bwe.update_packets_lost(90, 100, now)
    assert bwe.target_bps == 50_000


def test_rtt_backoff_above_3s():
    bwe = SendSideBandwidthEstimation()
    bwe.set_min_max_bitrate(10_000, 10_000_000)
    bwe.set_send_bitrate(1_000_000, 0)
    bwe.update_propagation_rtt(0, 3_500_000)
    bwe.on_sent_packet(0)
    bwe.update_estimate(100_000)
    assert bwe.target_bps == 800_000
    bwe.update_estimate(200_000)  # at most once per second
    assert bwe.target_bps == 800_000
