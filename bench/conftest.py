"""Benchmark helpers shared by every suite in bench/.

Run the full suites with ``pytest bench --benchmark-only``. With ``MEDIAOPT_BENCH_SMOKE=1``
(as .ci/run does, together with ``--benchmark-disable``) each benchmark runs once on a
smaller input and checks its required ratio loosely, so CI catches a collapse without
timing anything precisely on a noisy shared machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest

import mediaopt as mo
from mediaopt._paths import shared_trace_dir


def smoke() -> bool:
    """True in the CI smoke lane: small inputs, one run, loose ratio checks."""
    return os.environ.get("MEDIAOPT_BENCH_SMOKE", "") not in {"", "0"}


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Return the shortest wall time of ``repeat`` calls of ``fn``, in seconds.

    Used to time a peer (for example aiortc) in the same process as the benchmark, so a
    ratio compares two measurements taken under the same machine load.
    """
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measured_seconds(benchmark: Any, fallback: Callable[[], Any]) -> float:
    """The benchmark's best round, or one timed call of ``fallback`` when timing is disabled."""
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        return float(stats.stats.min)
    return best_of(fallback, repeat=1)


def lte_drive_trace() -> mo.traces.Trace:
    """The LTE drive both the link and the replay benchmarks use.

    ``../shared/traces/mahimahi/ATT-LTE-driving-2016.down`` when present, otherwise the
    bundled synthetic equivalent ``lte-driving-like`` (same mean rate).
    """
    d = shared_trace_dir()
    if d is not None and (d / "mahimahi" / "ATT-LTE-driving-2016.down").is_file():
        return mo.traces.load(d / "mahimahi" / "ATT-LTE-driving-2016.down")
    return mo.traces.bundled()["lte-driving-like"]


@pytest.fixture
def is_smoke() -> bool:
    """Fixture form of :func:`smoke`."""
    return smoke()
