import numpy as np
import pytest

pytest.importorskip("aiortc")

from aiortc.rate import RemoteBitrateEstimator

from mediaopt.replay.peers import AiortcRemb, abs_send_time_24

SIZE = 1200


def bottleneck(rate_bps, capacity_bps, seconds, one_way_us=50_000):
    """Packets sent at rate_bps through a FIFO bottleneck of capacity_bps (no loss)."""
    gap_us = SIZE * 8 * 1_000_000 // rate_bps
    service_us = SIZE * 8 * 1_000_000 // capacity_bps
    send = np.arange(0, seconds * 1_000_000, gap_us, dtype=np.int64)
    arrival = np.empty_like(send)
    last = 0
    for i, s in enumerate(send):
        last = max(int(s) + one_way_us, last + service_us)
        arrival[i] = last
    return send, arrival


def feed(est, send, arrival, seconds, every_us=50_000):
    targets = []
    for now in range(every_us, seconds * 1_000_000 + 1, every_us):
        m = (arrival <= now) & (arrival > now - every_us)
        targets.append(est.on_feedback(send[m], arrival[m], np.full(m.sum(), SIZE), now))
    return targets


def test_abs_send_time_is_6_18_fixed_point_24_bits():
    assert abs_send_time_24(1_000_000) == 1 << 18
    assert abs_send_time_24(500_000) == 1 << 17
    assert abs_send_time_24(64_000_000) == 0  # wraps every 64 s
    assert abs_send_time_24(64_000_000 + 250_000) == 1 << 16


def test_matches_aiortc_driven_directly():
    send, arrival = bottleneck(1_000_000, 600_000, 8)
    est = AiortcRemb(start_bps=300_000, min_bps=1, max_bps=10**9)
    targets = feed(est, send, arrival, 8)
    ref = RemoteBitrateEstimator()
    expected = None
    for s, a in zip(send.tolist(), arrival.tolist(), strict=True):
        r = ref.add(
            arrival_time_ms=a // 1000,
            abs_send_time=((s << 18) // 1_000_000) & 0xFFFFFF,
            payload_size=SIZE,
            ssrc=1,
        )
        if r is not None:
            expected = r[0]
    assert expected is not None
    assert targets[-1] == expected


def test_overuse_drives_target_towards_capacity():
    send, arrival = bottleneck(1_000_000, 600_000, 10)
    est = AiortcRemb()
    targets = feed(est, send, arrival, 10)
    assert est.delay_state == "overusing"
    # AIMD decrease: 0.85 x the measured incoming rate (~600 kbit/s)
    assert 450_000 <= targets[-1] <= 560_000
    assert est.pacing_bps == int(2.5 * est.target_bps)


def test_underuse_holds_start_then_follows_incoming_rate():
    send, arrival = bottleneck(1_000_000, 3_000_000, 10)
    est = AiortcRemb(start_bps=300_000)
    targets = feed(est, send, arrival, 10)
    assert targets[0] == 300_000  # aiortc waits for ~3 s of incoming rate
    assert est.delay_state == "normal"
    assert targets[-1] > 1_000_000  # grows above the incoming rate when not congested


def test_clamped_to_bounds():
    send, arrival = bottleneck(1_000_000, 3_000_000, 10)
    est = AiortcRemb(start_bps=300_000, min_bps=50_000, max_bps=400_000)
    assert max(feed(est, send, arrival, 10)) == 400_000
    assert AiortcRemb(start_bps=10, min_bps=50_000).target_bps == 50_000
    send, arrival = bottleneck(1_000_000, 100_000, 6)
    low = AiortcRemb(start_bps=300_000, min_bps=250_000)
    assert min(feed(low, send, arrival, 6)) == 250_000


def test_lost_packets_and_arrival_order():
    est = AiortcRemb()
    send = np.array([0, 10_000, 20_000, 30_000])
    arrival = np.array([60_000, -1, 50_000, 70_000])
    assert est.on_feedback(send, arrival, [SIZE] * 4, 80_000) == 300_000
    assert est.loss_ratio == 0.25
    assert est.on_feedback([], [], [], 90_000) == 300_000
    assert est.loss_ratio == 0.0
    assert est.on_feedback([40_000], [-1], [SIZE], 100_000) == 300_000
    assert est.loss_ratio == 1.0


def test_protocol_extras_and_errors():
    est = AiortcRemb()
    est.set_rtt(100_000, 0)
    est.process(0)
    est.on_packet_sent(0, SIZE, -1)
    assert est.pop_probes(0) == []
    assert "AiortcRemb" in repr(est)
    with pytest.raises(ValueError, match="same length"):
        est.on_feedback([0, 1], [5], [SIZE], 10)
    with pytest.raises(ValueError, match="arrival_us"):
        est.on_feedback([0], [-5], [SIZE], 10)
    with pytest.raises(ValueError, match="max_bps"):
        AiortcRemb(min_bps=100, max_bps=10)


def test_clear_error_without_aiortc(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "aiortc", None)
    monkeypatch.setitem(sys.modules, "aiortc.rate", None)
    with pytest.raises(ImportError, match=r"pip install 'mediaopt\[test\]'"):
        AiortcRemb()


def test_runs_in_the_replay_loop():
    import math

    from mediaopt import traces
    from mediaopt.replay import replay

    trace = traces.bundled()["constant-1mbps"]
    peer = AiortcRemb(start_bps=300_000, min_bps=30_000, max_bps=2_000_000)
    res = replay(trace, "gcc", estimator=peer, duration_s=8, seed=1)
    assert all(math.isfinite(v) for v in res.metrics.values())
    assert res.metrics["goodput_kbps"] > 0
    targets = res.intervals.target_bps
    assert targets.min() >= 30_000 and targets.max() <= 2_000_000
    assert (targets != 300_000).any()  # aiortc's estimate took over after its start-up
