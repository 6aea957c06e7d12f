"""Link emulator speed: a saturating sender over ten minutes of an LTE drive trace.

The trace is ../shared/traces/mahimahi/ATT-LTE-driving-2016.down when present, otherwise
the bundled synthetic equivalent (``lte-driving-like``, same mean rate). The sender offers
1200-byte packets at 1.25x the trace's mean rate into a 300 ms droptail queue, so the
queue is rarely empty and every opportunity is worked. The claim is a ratio against real
time: emulated seconds per wall-clock second. Required >= 10,000x, goal 50,000x.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import lte_drive_trace, measured_seconds, smoke

import mediaopt as mo

REQUIRED_X_REAL_TIME = 10_000
GOAL_X_REAL_TIME = 50_000
PACKET_BYTES = 1200


@pytest.mark.hot_path
def test_bench_link_saturating_sender(benchmark):
    tr = lte_drive_trace()
    duration_s = 60.0 if smoke() else 600.0
    rate_bps = tr.mean_bps * 1.25
    n = int(duration_s * rate_bps / (PACKET_BYTES * 8))
    send_us = (np.arange(n) * (PACKET_BYTES * 8 / rate_bps) * 1e6).astype(np.int64)
    size_bytes = np.full(n, PACKET_BYTES, dtype=np.int64)

    def run():
        link = mo.Link(tr, one_way_delay_ms=50, queue_ms=300, seed=0)
        return link.transmit(send_us, size_bytes)

    arrival = benchmark(run)
    seconds = measured_seconds(benchmark, run)
    x_real_time = duration_s / seconds
    delivered = int((arrival >= 0).sum())
    benchmark.extra_info.update(
        {
            "trace": tr.name,
            "emulated_s": duration_s,
            "packets": n,
            "delivered": delivered,
            "packets_per_s": n / seconds,
            "x_real_time": x_real_time,
            "required_x_real_time": REQUIRED_X_REAL_TIME,
            "goal_x_real_time": GOAL_X_REAL_TIME,
        }
    )
    # the link is the bottleneck: the queue overflows, and it never beats the trace
    delivered_bps = delivered * PACKET_BYTES * 8 / duration_s
    assert delivered < n
    assert 0.5 * tr.mean_bps < delivered_bps <= 1.01 * tr.mean_bps
    required = REQUIRED_X_REAL_TIME / 5 if smoke() else REQUIRED_X_REAL_TIME
    assert x_real_time >= required, f"{x_real_time:.0f}x real time < {required}x"
