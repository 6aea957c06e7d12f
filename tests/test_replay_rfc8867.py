"""RFC 8867 section 5.1 (variable available capacity, one flow): how the loop settles.

Run with ``-s`` to print the table quoted in docs/replay.md. For each capacity step it
measures: when the target first comes within 20 % of the new capacity; when the sent
rate (1 s mean) first reaches 80 % of it after a rise, or when the queueing delay is
back under 50 ms after a fall; and, over the last 10 s of the phase, the median target,
the median sent rate and the median / 95th percentile queueing delay (RTT minus the
2 x 50 ms propagation delay).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import mediaopt as mo
from mediaopt.replay import ReplayResult, replay

ONE_WAY_DELAY_MS = 50
QUEUE_MS = 300


@dataclass(frozen=True)
class Phase:
    """Settling of one capacity step (times in s after the step, rates in kbit/s)."""

    start_s: float
    capacity_kbps: float
    target_within_20pct_s: float | None
    settled_s: float | None
    target_kbps: float
    sent_kbps: float
    queue_p50_ms: float
    queue_p95_ms: float


def settling(res: ReplayResult, tr: mo.traces.Trace) -> list[Phase]:
    """Measure each phase of ``res`` (a replay of ``tr``)."""
    iv = res.intervals
    step = iv.interval_us / 1e6
    t_end = (iv.t_us + iv.interval_us) / 1e6
    target = iv.target_bps / 1e3
    sent = np.convolve(iv.sent_bytes * 8 / 1e3 / step, np.ones(10) / 10, mode="full")[: len(t_end)]
    queue = np.where(iv.rtt_us >= 0, iv.rtt_us / 1e3 - 2 * ONE_WAY_DELAY_MS, np.nan)
    starts = [float(s) / 1e6 for s in tr.step_times_us] + [tr.duration_s]
    out = []
    prev = None
    for i, cap in enumerate(float(c) for c in tr.capacity_kbps):
        a, b = starts[i], starts[i + 1]
        sel = (t_end > a) & (t_end <= b)
        near = sel & (np.abs(target - cap) <= 0.2 * cap)
        t_near = float(t_end[near][0] - a) if near.any() else None
        if prev is None or cap > prev:
            done = sel & (t_end > a + 1.0) & (sent >= 0.8 * cap)
        else:
            done = sel & (queue < 50)
        t_done = float(t_end[done][0] - a) if done.any() else None
        last = sel & (t_end > b - 10)
        q = queue[last]
        out.append(
            Phase(
                a,
                cap,
                t_near,
                t_done,
                float(np.median(target[last])),
                float(np.median(sent[last])),
                float(np.nanmedian(q)),
                float(np.nanpercentile(q, 95)),
            )
        )
        prev = cap
    return out


def _fmt(x: float | None) -> str:
    return "never" if x is None else f"{x:.1f}"


@pytest.mark.parametrize("policy", ["gcc", "consult"])
def test_rfc8867_5_1_settles_after_each_step(policy: str) -> None:
    tr = mo.traces.rfc8867("5.1")
    res = replay(tr, policy, one_way_delay_ms=ONE_WAY_DELAY_MS, queue_ms=QUEUE_MS, seed=0)
    phases = settling(res, tr)
    print(f"\nRFC 8867 5.1, policy {policy}, seed 0")
    print("| step at | capacity | target within 20 % | settled | target | sent | queue p50 / p95 |")
    for p in phases:
        print(
            f"| {p.start_s:.0f} s | {p.capacity_kbps:.0f} | {_fmt(p.target_within_20pct_s)} s "
            f"| {_fmt(p.settled_s)} s | {p.target_kbps:.0f} | {p.sent_kbps:.0f} "
            f"| {p.queue_p50_ms:.0f} / {p.queue_p95_ms:.0f} ms |"
        )
    assert [p.capacity_kbps for p in phases] == [1000, 2500, 600, 1000]
    for p in phases:
        # only a short queue stands and the sender never outruns the link for long
        assert p.queue_p50_ms < 60.0
        assert p.sent_kbps <= 1.05 * p.capacity_kbps
    # the rise to 2500 kbit/s is used, the fall to 600 is followed at once
    assert phases[1].sent_kbps > phases[0].sent_kbps
    assert phases[2].settled_s is not None and phases[2].settled_s <= 5.0
    assert phases[2].sent_kbps <= 600
    # the target reaches the first and the last capacity within 20 % in 30 s
    for p in (phases[0], phases[3]):
        assert p.target_within_20pct_s is not None and p.target_within_20pct_s <= 30.0
