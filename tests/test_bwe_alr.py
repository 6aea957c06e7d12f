"""AlrDetector, re-expressing libwebrtc's alr_detector_unittest."""

from mediaopt.bwe import AlrDetector

ESTIMATE_BPS = 300_000


class Traffic:
    """Send at a share of the estimate in 10 ms steps (libwebrtc's SimulateOutgoingTrafficIn)."""

    def __init__(self, alr: AlrDetector) -> None:
        self.alr = alr
        self.t_ms = 1000

    def send(self, duration_ms: int, percent: int) -> None:
        step = 10
        for _ in range(0, duration_ms, step):
            self.t_ms += step
            self.alr.on_bytes_sent(
                ESTIMATE_BPS * percent * step // (8 * 100 * 1000), self.t_ms * 1000
            )
        rem = duration_ms % step
        if rem:
            self.t_ms += step
            self.alr.on_bytes_sent(
                ESTIMATE_BPS * percent * rem // (8 * 100 * 1000), self.t_ms * 1000
            )


def make() -> tuple[AlrDetector, Traffic]:
    alr = AlrDetector()
    alr.set_estimated_bitrate(ESTIMATE_BPS)
    return alr, Traffic(alr)


def test_alr_detection():
    alr, tr = make()
    assert not alr.in_alr
    tr.send(1000, 90)  # close to 100 %: not application limited
    assert not alr.in_alr
    tr.send(1500, 20)  # 20 %: ALR starts
    assert alr.in_alr
    assert alr.alr_start_us is not None
    tr.send(4000, 100)  # back above 65 %: ALR ends
    assert not alr.in_alr
    assert alr.alr_start_us is None


def test_short_spike_keeps_alr():
    alr, tr = make()
    tr.send(1000, 20)
    assert alr.in_alr
    tr.send(100, 150)
    assert alr.in_alr
    tr.send(3000, 100)
    assert not alr.in_alr


def test_bandwidth_estimate_changes():
    alr, tr = make()
    tr.send(1000, 20)
    assert alr.in_alr
    # After the estimate drops, the same traffic is no longer application limited.
    alr.set_estimated_bitrate(ESTIMATE_BPS // 5)
    assert alr.in_alr
    tr.send(1000, 50)
    assert not alr.in_alr


def test_no_estimate_means_no_alr():
    alr = AlrDetector()
    for i in range(100):
        alr.on_bytes_sent(10, i * 10_000)
    assert not alr.in_alr
