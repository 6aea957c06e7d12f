"""The pacer: rate, priorities, probe clusters and the queue-time limit."""

from __future__ import annotations

import itertools

import pytest
from mediaopt._core.pacer import Pacer

RTX, VIDEO, FEC = 1, 2, 3


def _drain(p: Pacer, start_us: int = 0) -> list[tuple[int, int, int, int, int]]:
    """Pop everything, each packet at the time the pacer allows: (t, kind, size, frame, cid)."""
    out = []
    now = start_us
    while True:
        t = p.next_send_us()
        if t < 0:
            return out
        now = max(now, t)
        got = p.pop(now)
        assert got is not None
        out.append((now, *got))


def test_packets_leave_at_the_pacing_rate() -> None:
    p = Pacer(1_000_000)
    for i in range(20):
        p.push(VIDEO, 1250, 0, frame=0, index=i)
    sent = _drain(p)
    assert len(sent) == 20
    gaps = {b[0] - a[0] for a, b in itertools.pairwise(sent)}
    assert gaps == {10_000}  # 1250 bytes at 1 Mbit/s


def test_retransmissions_go_first() -> None:
    p = Pacer(1_000_000)
    for i in range(3):
        p.push(VIDEO, 1000, 0, frame=0, index=i)
    p.push(RTX, 1000, 0, frame=0, media_seq=7)
    kinds = [k for _, k, *_ in _drain(p)]
    assert kinds == [RTX, VIDEO, VIDEO, VIDEO]


def test_probe_cluster_uses_media_then_padding_at_the_probe_rate() -> None:
    p = Pacer(300_000)
    p.push(VIDEO, 1000, 0, frame=0)
    p.add_probe(2_000_000, cluster_id=4, min_probes=5, min_bytes=5000)
    sent = _drain(p)
    probes = [s for s in sent if s[4] == 4]
    assert probes[0][1] == VIDEO
    assert all(s[1] == 4 for s in probes[1:])  # padding afterwards
    assert len(probes) >= 5 and sum(s[2] for s in probes) >= 5000
    assert p.padding_bytes == sum(s[2] for s in probes[1:])
    # the cluster leaves at the probe rate, not the pacing rate
    span = probes[-1][0] - probes[0][0]
    bits = sum(s[2] for s in probes[:-1]) * 8
    assert bits / (span / 1e6) == pytest.approx(2_000_000, rel=0.02)
    assert p.next_send_us() == -1


def test_queue_time_limit_raises_the_rate() -> None:
    p = Pacer(100_000)
    for i in range(100):  # 100 kB at 100 kbit/s would take 8 s
        p.push(VIDEO, 1000, 0, frame=i)
    sent = _drain(p)
    assert sent[-1][0] <= 2_100_000


def test_bad_push_raises() -> None:
    p = Pacer()
    with pytest.raises(ValueError, match="kind"):
        p.push(0, 100, 0)
    with pytest.raises(ValueError, match="size_bytes"):
        p.push(VIDEO, 0, 0)
