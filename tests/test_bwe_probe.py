"""ProbeBitrateEstimator and ProbeController, re-expressing libwebrtc's unit tests."""

import pytest

from mediaopt.bwe import ProbeBitrateEstimator, ProbeController

REF_US = 1_000_000_000  # libwebrtc's tests offset every time by 1000 s
TARGET_UTILIZATION = 0.95


class Probes:
    def __init__(self) -> None:
        self.est = ProbeBitrateEstimator()
        self.measured: int | None = None

    def add(self, cluster, size, send_ms, arrival_ms, min_probes=5, min_bytes=5000):
        self.measured = self.est.handle(
            cluster,
            REF_US + send_ms * 1000,
            REF_US + arrival_ms * 1000,
            size,
            min_probes=min_probes,
            min_bytes=min_bytes,
        )


def test_one_cluster():
    p = Probes()
    for i in range(4):
        p.add(0, 1000, 10 * i, 10 * i + 10)
    assert p.measured == pytest.approx(800_000, abs=10)


def test_one_cluster_too_few_probes():
    p = Probes()
    for i in range(3):
        p.add(0, 2000, 10 * i, 10 * i + 10)
    assert p.measured is None


def test_one_cluster_too_few_bytes():
    p = Probes()
    for i in range(5):
        p.add(0, 800, 10 * i, 10 * i + 10, min_bytes=6000)
    assert p.measured is None


def test_small_cluster():
    p = Probes()
    for i in range(6):
        p.add(0, 150, 10 * i, 10 * i + 10, min_bytes=1000)
    assert p.measured == pytest.approx(120_000, abs=10)


def test_large_cluster():
    p = Probes()
    for i in range(25):
        p.add(0, 12_500, i, i + 5, min_probes=30, min_bytes=312_500)
    assert p.measured == pytest.approx(100_000_000, abs=10)


def test_fast_receive():
    p = Probes()
    for s, a in [(0, 15), (10, 30), (20, 35), (30, 40)]:
        p.add(0, 1000, s, a)
    assert p.measured == pytest.approx(800_000, abs=10)


def test_too_fast_receive():
    p = Probes()
    for s, a in [(0, 19), (10, 22), (20, 25), (40, 27)]:
        p.add(0, 1000, s, a)
    assert p.measured is None


def test_slow_receive():
    p = Probes()
    for s, a in [(0, 10), (10, 40), (20, 70), (30, 85)]:
        p.add(0, 1000, s, a)
    # Sent at 800 kbps, received at 320 kbps: saturated, 95 % of the receive rate.
    assert p.measured == pytest.approx(TARGET_UTILIZATION * 320_000, abs=10)


def test_burst_receive():
    p = Probes()
    for s in (0, 10, 20, 40):
        p.add(0, 1000, s, 50)
    assert p.measured is None


def test_multiple_clusters():
    p = Probes()
    for s, a in [(0, 10), (10, 20), (20, 30), (40, 60)]:
        p.add(0, 1000, s, a)
    assert p.measured == pytest.approx(TARGET_UTILIZATION * 480_000, abs=10)
    p.add(0, 1000, 50, 60)
    assert p.measured == pytest.approx(640_000, abs=10)
    for s, a in [(60, 70), (65, 77), (70, 84), (75, 90)]:
        p.add(1, 1000, s, a)
    assert p.measured == pytest.approx(TARGET_UTILIZATION * 1_200_000, abs=10)


def test_ignore_old_clusters():
    p = Probes()
    for s, a in [(0, 10), (10, 20), (20, 30)]:
        p.add(0, 1000, s, a)
    for s, a in [(60, 70), (65, 77), (70, 84), (75, 90)]:
        p.add(1, 1000, s, a)
    assert p.measured == pytest.approx(TARGET_UTILIZATION * 1_200_000, abs=10)
    # Six seconds later, cluster 0 has been forgotten: one packet is not enough.
    p.add(0, 1000, 40 + 6000, 60 + 6000)
    assert p.measured is None


def test_ignore_size_of_last_sent_packet():
    p = Probes()
    for i in range(4):
        p.add(0, 1000, 10 * i, 10 * i + 10)
    p.add(0, 1500, 40, 50)
    assert p.measured == pytest.approx(800_000, abs=10)


def test_ignore_size_of_first_received_packet():
    p = Probes()
    p.add(0, 1500, 0, 10)
    for i in range(1, 4):
        p.add(0, 1000, 10 * i, 10 * i + 10)
    assert p.measured == pytest.approx(TARGET_UTILIZATION * 800_000, abs=10)


def test_fetch_and_reset_last_estimate():
    p = Probes()
    assert p.est.fetch_and_reset_last_estimated_bitrate() is None
    for i in range(4):
        p.add(0, 1000, 10 * i, 10 * i + 10)
    assert p.est.fetch_and_reset_last_estimated_bitrate() == pytest.approx(800_000, abs=10)
    assert p.est.fetch_and_reset_last_estimated_bitrate() is None


# ---- ProbeController (probe_controller_unittest scenarios) ----

MIN_BPS, START_BPS, MAX_BPS = 100, 300, 10_000


def test_initiates_probing_at_start():
    pc = ProbeController()
    pc.set_bitrates(MIN_BPS, START_BPS, MAX_BPS, 0)
    probes = pc.pop_probes()
    assert [p["bitrate_bps"] for p in probes] == [3 * START_BPS, 6 * START_BPS]
    assert all(p["min_probes"] == 5 for p in probes)


def test_probe_only_when_network_is_up_is_the_default():
    pc = ProbeController()
    pc.set_bitrates(MIN_BPS, START_BPS, MAX_BPS, 0)
    assert len(pc.pop_probes()) >= 2


def test_further_probe_when_estimate_reaches_70_percent():
    pc = ProbeController()
    pc.set_bitrates(MIN_BPS, START_BPS, 100 * MAX_BPS, 0)
    pc.pop_probes()
    # Under 0.7 x the last probe (1800): no further probe.
    pc.set_estimated_bitrate(1000, 10_000)
    assert pc.pop_probes() == []
    pc.set_estimated_bitrate(1800, 20_000)
    assert [p["bitrate_bps"] for p in pc.pop_probes()] == [2 * 1800]


def test_no_further_probe_after_timeout():
    pc = ProbeController()
    pc.set_bitrates(MIN_BPS, START_BPS, 100 * MAX_BPS, 0)
    pc.pop_probes()
    pc.process(1_000_001 + 1)  # the probing result never came back within 1 s
    pc.set_estimated_bitrate(1800, 1_100_000)
    assert pc.pop_probes() == []


def test_probes_are_capped_at_the_max_bitrate():
    pc = ProbeController()
    pc.set_bitrates(MIN_BPS, START_BPS, 1000, 0)
    assert [p["bitrate_bps"] for p in pc.pop_probes()] == [900, 1000]


def test_periodic_alr_probing():
    pc = ProbeController()
    pc.enable_periodic_alr_probing(True)
    pc.set_bitrates(MIN_BPS, START_BPS, MAX_BPS, 0)
    pc.pop_probes()
    pc.set_estimated_bitrate(500, 10_000)
    pc.process(1_100_000)  # initial probing times out
    pc.set_alr_start_time(1_200_000)
    pc.process(6_100_000)
    assert pc.pop_probes() == []
    pc.process(6_200_000)  # 5 s after ALR started
    assert [p["bitrate_bps"] for p in pc.pop_probes()] == [1000]


def test_recovery_probe_after_large_drop_in_alr():
    pc = ProbeController()
    pc.set_bitrates(MIN_BPS, START_BPS, MAX_BPS, 0)
    pc.pop_probes()
    pc.set_estimated_bitrate(5000, 100_000)
    # 5000 > 0.7 x 1800: one further probe at 2 x 5000, capped at the max (and final).
    assert [p["bitrate_bps"] for p in pc.pop_probes()] == [MAX_BPS]
    pc.process(1_200_000)
    pc.set_alr_start_time(1_200_000)
    pc.set_estimated_bitrate(1000, 5_200_000)  # a drop below 66 %
    pc.request_probe(5_300_000)
    assert [p["bitrate_bps"] for p in pc.pop_probes()] == [int(0.85 * 5000)]


def test_bad_arguments():
    with pytest.raises(ValueError, match="cluster_id"):
        ProbeBitrateEstimator().handle(-3, 0, 0, 100)
    with pytest.raises(ValueError, match="size_bytes"):
        ProbeBitrateEstimator().handle(0, 0, 0, -100)
