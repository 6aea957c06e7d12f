"""ProbeBitrateEstimator and ProbeController, re-expressing libwebrtc's unit tests."""

import pytest

from mediaopt.bwe import GccConfig, ProbeBitrateEstimator, ProbeController

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
T0 = 100_000_000  # libwebrtc's SimulatedClock starts at 100 s
EXP_PROBING_TIMEOUT = 5_000_000
ALR_PROBE_INTERVAL = 5_000_000
ALR_ENDED_TIMEOUT = 3_000_000
BITRATE_DROP_TIMEOUT = 5_000_000


def started(config=None) -> ProbeController:
    pc = ProbeController(config=config)
    pc.set_bitrates(MIN_BPS, START_BPS, MAX_BPS, T0)
    return pc


def rates(pc: ProbeController) -> list[int]:
    return [p["bitrate_bps"] for p in pc.pop_probes()]


def test_initiates_probing_at_start():
    pc = started()
    probes = pc.pop_probes()
    assert len(probes) >= 2
    assert probes[0]["min_probes"] == 5  # 5 probes over 15 ms by default


def test_can_configure_initial_probe_rate_factor():
    pc = started(GccConfig(first_exponential_probe_scale=2, second_exponential_probe_scale=3))
    assert rates(pc) == [START_BPS * 2, START_BPS * 3]


def test_second_initial_probe_disabled_when_its_factor_is_zero():
    pc = started(GccConfig(first_exponential_probe_scale=2, second_exponential_probe_scale=0))
    assert rates(pc) == [START_BPS * 2]


def test_exponential_probing():
    pc = started()
    pc.pop_probes()
    # A further probe only once the estimate climbs above 0.7 * 6 * start = 1260.
    pc.set_estimated_bitrate(1000, T0)
    assert rates(pc) == []
    pc.set_estimated_bitrate(1800, T0)
    assert rates(pc) == [2 * 1800]


def test_exponential_probing_timeout():
    pc = started()
    pc.pop_probes()
    pc.process(T0 + EXP_PROBING_TIMEOUT)
    pc.set_estimated_bitrate(1800, T0 + EXP_PROBING_TIMEOUT)
    assert rates(pc) == []


def _dropped_estimate(pc: ProbeController, alr_start):
    pc.pop_probes()
    pc.set_estimated_bitrate(500, T0)
    pc.set_alr_start_time(alr_start)
    now = T0 + ALR_PROBE_INTERVAL + 1_000
    pc.process(now)
    pc.set_estimated_bitrate(250, now)
    return now


def test_request_probe_in_alr():
    pc = started()
    now = _dropped_estimate(pc, T0)
    pc.request_probe(now)
    assert rates(pc) == [int(0.85 * 500)]


def test_request_probe_when_alr_ended_recently():
    pc = started()
    now = _dropped_estimate(pc, None)
    pc.set_alr_ended_time(now)
    pc.request_probe(now + ALR_ENDED_TIMEOUT - 1_000)
    assert rates(pc) == [int(0.85 * 500)]


def test_no_request_probe_when_alr_did_not_end_recently():
    pc = started()
    now = _dropped_estimate(pc, None)
    pc.set_alr_ended_time(now)
    pc.request_probe(now + ALR_ENDED_TIMEOUT + 1_000)
    assert rates(pc) == []


def test_no_request_probe_when_the_drop_is_not_recent():
    pc = started()
    now = _dropped_estimate(pc, T0)
    pc.request_probe(now + BITRATE_DROP_TIMEOUT + 1_000)
    assert rates(pc) == []


def test_periodic_probing():
    pc = ProbeController()
    pc.enable_periodic_alr_probing(True)
    pc.set_bitrates(MIN_BPS, START_BPS, MAX_BPS, T0)
    assert len(pc.pop_probes()) == 2
    pc.set_estimated_bitrate(500, T0)
    pc.set_alr_start_time(T0)
    pc.process(T0 + 5_000_000)  # 5 s after ALR started: probe at 2x the estimate
    assert rates(pc) == [1000]
    pc.set_estimated_bitrate(500, T0 + 5_000_000)
    pc.process(T0 + 9_000_000)  # the next one is due 5 s after the last probe
    assert rates(pc) == []
    pc.process(T0 + 10_000_000)
    assert rates(pc) == [1000]


def test_probes_are_capped_at_the_max_bitrate():
    pc = ProbeController()
    pc.set_bitrates(MIN_BPS, START_BPS, 1000, T0)
    assert rates(pc) == [900, 1000]


def test_bad_arguments():
    with pytest.raises(ValueError, match="cluster_id"):
        ProbeBitrateEstimator().handle(-3, 0, 0, 100)
    with pytest.raises(ValueError, match="size_bytes"):
        ProbeBitrateEstimator().handle(0, 0, 0, -100)
