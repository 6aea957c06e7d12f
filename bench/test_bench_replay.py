"""Closed-loop replay speed: ten minutes of an LTE drive under policy ``consult``.

The trace is ../shared/traces/mahimahi/ATT-LTE-driving-2016.down when present, otherwise
the bundled synthetic equivalent (``lte-driving-like``). One timed call is the whole
``mediaopt.replay`` a user runs: link and estimator construction, the per-packet loop
(sender model, pacer, link, receiver, feedback, GoogCC, adaptation), and the session
metrics and time series. The claim is a ratio against real time: replayed seconds per
wall-clock second. Required >= 5,000x, goal 20,000x; the smoke lane replays two minutes
and asserts >= 1,000x.
"""

from __future__ import annotations

import pytest
from conftest import lte_drive_trace, measured_seconds, smoke

import mediaopt as mo

REQUIRED_X_REAL_TIME = 5_000
GOAL_X_REAL_TIME = 20_000
SMOKE_X_REAL_TIME = 1_000


@pytest.mark.hot_path
def test_bench_replay_consult_lte(benchmark):
    tr = lte_drive_trace()
    policy = mo.policies.load("consult")
    duration_s = 120.0 if smoke() else 600.0

    def run():
        return mo.replay(tr, policy, duration_s=duration_s, seed=0)

    res = benchmark(run)
    seconds = measured_seconds(benchmark, run)
    x_real_time = duration_s / seconds
    benchmark.extra_info.update(
        {
            "trace": tr.name,
            "policy": policy.name,
            "replayed_s": duration_s,
            "packets": res.stats["packets_sent"],
            "frames": len(res.frames),
            "packets_per_s": res.stats["packets_sent"] / seconds,
            "x_real_time": x_real_time,
            "required_x_real_time": REQUIRED_X_REAL_TIME,
            "goal_x_real_time": GOAL_X_REAL_TIME,
        }
    )
    # a real session ran: video was delivered and scored
    assert res.metrics["duration_s"] == duration_s
    assert res.metrics["goodput_kbps"] > 100
    assert len(res.frames) > 5 * duration_s
    required = SMOKE_X_REAL_TIME if smoke() else REQUIRED_X_REAL_TIME
    assert x_real_time >= required, f"{x_real_time:.0f}x real time < {required}x"
