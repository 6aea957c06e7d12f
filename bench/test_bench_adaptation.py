"""Adaptation decisions per second from Python, against the 1,000,000/s requirement.

The replay loop and a consultation client call ``Adaptation.update`` on every feedback
report. The claim is a throughput against a fixed requirement, so the ratio recorded is
(decisions per second measured here) / 1,000,000; the goal is 5.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import measured_seconds, smoke

import mediaopt as mo

REQUIRED_PER_S = 1_000_000
GOAL_PER_S = 5_000_000


def _inputs(n: int) -> tuple[list[float], list[float], list[int], list[int]]:
    # a varying estimate with some loss, so the kernel walks the path and protects
    rng = np.random.default_rng(0)
    target = (900_000 * np.exp(np.cumsum(rng.normal(0, 0.05, n)).clip(-2, 1))).tolist()
    loss = np.where(rng.random(n) < 0.2, rng.uniform(0, 0.1, n), 0.0).tolist()
    rtt = rng.integers(10_000, 200_000, n).tolist()
    now = (np.arange(n, dtype=np.int64) * 50_000).tolist()
    return target, loss, rtt, now


@pytest.mark.hot_path
@pytest.mark.parametrize("policy", ["gcc", "consult"])
def test_bench_adaptation_update(benchmark: pytest.FixtureRequest, policy: str) -> None:
    n = 20_000 if smoke() else 200_000
    target, loss, rtt, now = _inputs(n)
    ad = mo.Adaptation(policy)
    rows = list(zip(target, loss, rtt, now, strict=True))

    def run() -> None:
        ad.reset()
        update = ad.update
        for t, lo, r, ts in rows:
            update(t, lo, r, ts)

    benchmark(run)  # type: ignore[operator]
    seconds = measured_seconds(benchmark, run)
    per_s = n / seconds
    ratio = per_s / REQUIRED_PER_S
    benchmark.extra_info["decisions_per_s"] = per_s  # type: ignore[attr-defined]
    benchmark.extra_info["ratio_vs_1M_per_s"] = ratio  # type: ignore[attr-defined]
    benchmark.extra_info["ratio_vs_goal_5M_per_s"] = per_s / GOAL_PER_S  # type: ignore[attr-defined]
    # smoke lane: a fifth of the requirement, loosely, on a shared machine
    assert ratio >= (0.2 if smoke() else 1.0), f"{per_s:,.0f} decisions/s"


@pytest.mark.hot_path
def test_bench_adaptation_update_many(benchmark: pytest.FixtureRequest) -> None:
    # the same decisions for a whole sequence in one call (offline sweeps)
    n = 100_000 if smoke() else 1_000_000
    target, loss, rtt, now = (np.asarray(a) for a in _inputs(n))
    ad = mo.Adaptation("consult")

    def run() -> None:
        ad.reset()
        ad.update_many(target, loss, rtt, now)

    benchmark(run)  # type: ignore[operator]
    per_s = n / measured_seconds(benchmark, run)
    benchmark.extra_info["decisions_per_s"] = per_s  # type: ignore[attr-defined]
    benchmark.extra_info["ratio_vs_1M_per_s"] = per_s / REQUIRED_PER_S  # type: ignore[attr-defined]
    benchmark.extra_info["ratio_vs_goal_5M_per_s"] = per_s / GOAL_PER_S  # type: ignore[attr-defined]
    assert per_s / REQUIRED_PER_S >= (0.2 if smoke() else 1.0), f"{per_s:,.0f} decisions/s"
