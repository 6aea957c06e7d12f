"""BitrateEstimator / AcknowledgedBitrateEstimator: windows and Bayesian update.

libwebrtc's acknowledged_bitrate_estimator_unittest checks calls through mocks; the
numbers here follow from the algorithm (500 ms first window, then 150 ms windows).
"""

import numpy as np
import pytest

from mediaopt.bwe import AcknowledgedBitrateEstimator, BitrateEstimator


def test_first_estimate_after_the_500ms_window():
    be = BitrateEstimator()
    for i in range(50):
        be.update(i * 10_000, 1200)
        assert be.bitrate_bps is None
    be.update(500_000, 1200)
    # 50 packets of 1200 bytes in 500 ms.
    assert be.bitrate_bps == 960_000


def test_constant_rate_stays_put():
    be = BitrateEstimator()
    for i in range(400):
        be.update(i * 10_000, 1200)
    assert be.bitrate_bps == 960_000


def test_follows_a_rate_change_gradually():
    be = BitrateEstimator()
    t = 0
    for _ in range(200):
        be.update(t, 1200)
        t += 10_000
    seen = []
    for _ in range(600):  # half the rate: 1200 bytes every 20 ms
        be.update(t, 1200)
        t += 20_000
        seen.append(be.bitrate_bps)
    assert seen[0] == 960_000
    # One sample does not move the estimate all the way (the sample is uncertain) ...
    changed = [b for b in seen if b != 960_000]
    assert changed[0] > 600_000
    # ... but it settles around the new rate (windows hold 7 or 8 packets).
    assert seen[-1] == pytest.approx(480_000, rel=0.1)


def test_gap_longer_than_a_window_drops_old_bytes():
    be = BitrateEstimator()
    for i in range(60):
        be.update(i * 10_000, 1200)
    assert be.peek_bps() is not None
    be.update(5_000_000, 1200)  # after a long gap the old window is discarded
    assert be.bitrate_bps == 960_000
    # The next sample holds only the one packet after the gap: the estimate drops.
    be.update(5_150_000, 0)
    assert be.bitrate_bps < 960_000


def test_acknowledged_uses_arrival_times():
    abe = AcknowledgedBitrateEstimator()
    n = 100
    send = np.arange(n) * 10_000
    arrival = 50_000 + np.arange(n) * 20_000  # delivered at half the send rate
    abe.incoming_packet_feedback(send, arrival, np.full(n, 1200))
    assert abe.bitrate_bps == pytest.approx(480_000, rel=0.1)


def test_fast_rate_change_after_alr():
    slow, fast = AcknowledgedBitrateEstimator(), AcknowledgedBitrateEstimator()
    n = 200
    send = 40_000 + np.arange(n) * 10_000
    for e in (slow, fast):
        e.incoming_packet_feedback(send, send, np.full(n, 1200))
    send2 = send[-1] + 10_000 + np.arange(40) * 5_000  # the rate doubles
    # ALR ended just before packet 29: its variance bump meets the first fast window.
    fast.set_alr_ended_time(int(send2[28]))
    for e in (slow, fast):
        e.incoming_packet_feedback(send2, send2, np.full(40, 1200))
    assert slow.bitrate_bps < fast.bitrate_bps < 1_920_000


def test_bad_input():
    abe = AcknowledgedBitrateEstimator()
    with pytest.raises(ValueError, match="same length"):
        abe.incoming_packet_feedback([0, 1], [0], [1, 1])
    with pytest.raises(ValueError, match="size_bytes"):
        abe.incoming_packet_feedback([0], [0], [-1])


def test_empty_windows_never_give_nan():
    # A first window of zero-byte packets gives an estimate of exactly 0; the next sample
    # would divide by zero in libwebrtc. Here the estimate stays finite and follows.
    be = BitrateEstimator()
    for i in range(100):
        be.update(i * 10_000, 0)
    assert be.bitrate_bps == 0
    for i in range(100, 300):
        be.update(i * 10_000, 1200)
    assert be.bitrate_bps == 960_000
