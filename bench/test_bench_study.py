"""Fleet study throughput: 1,000 ten-minute sessions, serial loop vs process pool vs Dask.

The sessions are recorded traces from ../shared/traces (HSDPA and FCC, read in place) x
seeds under policy ``consult``, ``keep="metrics"``. In the same run:

- a serial in-process loop of ``mediaopt.replay`` calls over a subset (the peer: what a
  user writes by hand), and ``mediaopt.study(workers=1)`` over the same subset (the
  study's own per-session overhead);
- ``mediaopt.study`` on the local process pool (2 workers) over all 1,000 sessions:
  required >= 1.6x the serial loop's sessions/s on 2 idle cores, goal <= 20 s in total;
- ``mediaopt.study`` on a Dask ``LocalCluster`` (2 worker processes, started before the
  clock) over the same sessions: required within 1.3x of the pool's time.

The machine is shared: the figures are reported (``extra_info``, and printed) as measured.
The smoke lane (``MEDIAOPT_BENCH_SMOKE=1``) runs 40 one-minute sessions and checks only that
the pool is not slower than the serial loop by more than half, and that Dask finishes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import smoke

import mediaopt as mo
from mediaopt._paths import shared_trace_dir
from mediaopt.study import TIMING_COLUMNS

SESSIONS = 1_000
DURATION_S = 600.0
SERIAL_SUBSET = 100
REQUIRED_POOL_SPEEDUP = 1.6
REQUIRED_DASK_OF_POOL = 1.3
GOAL_TOTAL_S = 20.0


def _fleet() -> tuple[list[Path], int, float, int]:
    root = shared_trace_dir()
    if root is None:
        pytest.skip("recorded traces not present (../shared/traces or $MEDIAOPT_TRACE_DIR)")
    files = sorted(p for p in (root / "hsdpa").iterdir() if p.name.startswith("norway"))
    files += sorted(p for p in (root / "fcc").iterdir() if p.name.startswith("trace"))
    if smoke():
        return files[:20], 2, 60.0, 20
    return files[:100], SESSIONS // 100, DURATION_S, SERIAL_SUBSET


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def test_bench_study_pool_and_dask_against_a_serial_loop(benchmark, capsys):
    distributed = pytest.importorskip("distributed")
    files, n_seeds, duration_s, subset = _fleet()
    seeds = range(n_seeds)
    sessions = len(files) * n_seeds
    policy = mo.policies.load("consult")

    # the peer: a hand-written serial loop over a subset (every k-th session)
    pairs = [(f, s) for f in files for s in seeds]
    step = max(1, len(pairs) // subset)
    sample = pairs[::step][:subset]
    t0 = time.perf_counter()
    loaded = {f: mo.traces.load(f) for f, _ in sample}
    for f, s in sample:
        mo.replay(loaded[f], policy, seed=s, duration_s=duration_s)
    loop_s = time.perf_counter() - t0
    loop_rate = _rate(len(sample), loop_s)

    # the study's own serial backend over the same subset: its per-session overhead
    t0 = time.perf_counter()
    mo.study(
        [str(f) for f, _ in dict.fromkeys(sample)],
        [policy],
        seeds=seeds,
        duration_s=duration_s,
        workers=1,
        progress=False,
    )
    serial_study_s = time.perf_counter() - t0
    serial_study_n = len(dict.fromkeys(f for f, _ in sample)) * n_seeds

    def pool_run():
        return mo.study(
            files, [policy], seeds=seeds, duration_s=duration_s, workers=2, progress=False
        )

    t0 = time.perf_counter()
    pool = benchmark.pedantic(pool_run, rounds=1, iterations=1)
    pool_s = time.perf_counter() - t0
    pool_rate = _rate(sessions, pool_s)

    t_cluster = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        cluster_start_s = time.perf_counter() - t_cluster
        t0 = time.perf_counter()
        on_dask = mo.study(
            files, [policy], seeds=seeds, duration_s=duration_s, client=client, progress=False
        )
        dask_s = time.perf_counter() - t0
    dask_rate = _rate(sessions, dask_s)

    drop = list(TIMING_COLUMNS)
    assert (pool.sessions["status"] == "ok").all()
    assert pool.sessions.drop(columns=drop).equals(on_dask.sessions.drop(columns=drop))

    speedup = pool_rate / loop_rate
    dask_of_pool = dask_s / pool_s
    figures = {
        "sessions": sessions,
        "session_s": duration_s,
        "serial_loop_sessions_per_s": round(loop_rate, 2),
        "serial_study_sessions_per_s": round(_rate(serial_study_n, serial_study_s), 2),
        "pool_sessions_per_s": round(pool_rate, 2),
        "pool_total_s": round(pool_s, 2),
        "pool_speedup_vs_loop": round(speedup, 3),
        "dask_sessions_per_s": round(dask_rate, 2),
        "dask_total_s": round(dask_s, 2),
        "dask_cluster_start_s": round(cluster_start_s, 2),
        "dask_time_vs_pool": round(dask_of_pool, 3),
        "goal_total_s": GOAL_TOTAL_S,
    }
    benchmark.extra_info.update(figures)
    with capsys.disabled():
        print("\nstudy throughput:", figures)
    if smoke():
        assert speedup >= 0.5, figures
        return
    assert speedup >= REQUIRED_POOL_SPEEDUP, figures
    assert dask_of_pool <= REQUIRED_DASK_OF_POOL, figures
