"""GccEstimator throughput against aiortc's RemoteBitrateEstimator, same stream, same process.

The stream: 1200-byte packets from a paced video sender (30 fps frames of 3-12 packets
1 ms apart, about 2.2 Mbit/s) through a FIFO bottleneck whose capacity alternates between
1.8 and 3 Mbit/s every 2 s (so a queue builds and drains), 30 ms base delay, 0.5 % random
loss, feedback reports of 32 packets. Requirement: >= 100x aiortc's packets per second
(goal 300x). Smoke mode: 100,000 packets, ratio >= 20.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from aiortc.rate import RemoteBitrateEstimator

from bench.conftest import measured_seconds, smoke
from mediaopt.bwe import GccEstimator

PKT = 1200
REPORT = 32
REQUIRED_RATIO = 100.0


def make_stream(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Frames every 33.3 ms with a varying packet count, packets paced 1 ms apart.
    per_frame = rng.integers(3, 13, size=n // 3 + 10)
    frame_of = np.repeat(np.arange(per_frame.size), per_frame)[:n]
    first = np.r_[0, np.cumsum(per_frame)[:-1]][frame_of]
    send = frame_of * 33_333 + (np.arange(n) - first) * 1_000
    send = send.astype(np.int64)
    cap_bps = np.where((send // 2_000_000) % 2 == 0, 1_800_000, 3_000_000)
    tx = PKT * 8 * 1_000_000 // cap_bps
    c = np.cumsum(tx)
    # FIFO: departure_i = max(send_i + tx_i, departure_{i-1} + tx_i), as a running max.
    depart = c + np.maximum.accumulate(send - c + tx)
    arrival = depart + 30_000 + rng.integers(0, 300, n)
    arrival[rng.random(n) < 0.005] = -1
    m = n // REPORT * REPORT
    send, arrival = send[:m], arrival[:m]
    ends = np.arange(REPORT, m + 1, REPORT)
    last_arrival = np.maximum.accumulate(np.where(arrival < 0, send, arrival))
    report_now = np.maximum.accumulate(last_arrival[ends - 1] + 20_000)
    return {
        "send_us": send,
        "arrival_us": arrival,
        "size_bytes": np.full(m, PKT, dtype=np.int64),
        "report_sizes": np.full(m // REPORT, REPORT, dtype=np.int64),
        "report_now_us": report_now,
    }


def aiortc_inputs(stream: dict[str, np.ndarray], n: int) -> list[tuple[int, int, int]]:
    send = stream["send_us"][:n]
    arr = stream["arrival_us"][:n]
    ok = arr >= 0
    abs_send = ((send[ok] << 18) + 500_000) // 1_000_000 & 0xFFFFFF
    return list(
        zip((arr[ok] // 1000).tolist(), abs_send.tolist(), [PKT] * int(ok.sum()), strict=True)
    )


def run_aiortc(packets: list[tuple[int, int, int]]) -> None:
    est = RemoteBitrateEstimator()
    for arrival_ms, abs_send, size in packets:
        est.add(arrival_ms, abs_send, size, 1)


def run_gcc(stream: dict[str, np.ndarray]) -> np.ndarray:
    est = GccEstimator(start_bps=300_000, min_bps=30_000, max_bps=30_000_000)
    return est.on_feedback_reports(**stream)


@pytest.fixture(scope="module")
def stream() -> dict[str, np.ndarray]:
    return make_stream(100_000 if smoke() else 1_000_000)


def _cpu_seconds(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


@pytest.mark.hot_path
def test_gcc_estimator_vs_aiortc(benchmark, stream):
    n_packets = int(stream["send_us"].size)
    targets = benchmark.pedantic(run_gcc, args=(stream,), rounds=5, iterations=1)
    assert targets.min() >= 30_000 and targets.max() <= 30_000_000
    gcc_wall_s = measured_seconds(benchmark, lambda: run_gcc(stream))

    # The ratio: both sides timed alternately in this process, in CPU seconds, best of
    # each, so that the load of a shared machine (descheduling, drift) hits both alike.
    peer = aiortc_inputs(stream, 10_000 if smoke() else 50_000)
    gcc_s = aiortc_s = float("inf")
    for _ in range(1 if smoke() else 3):
        gcc_s = min(gcc_s, _cpu_seconds(lambda: run_gcc(stream)))
        aiortc_s = min(aiortc_s, _cpu_seconds(lambda: run_aiortc(peer)))

    # The per-report Python call, for reference (validation + one C call per report).
    sub = 20_000
    est = GccEstimator()
    t0 = time.process_time()
    for lo in range(0, sub, REPORT):
        hi = lo + REPORT
        est.on_feedback(
            stream["send_us"][lo:hi],
            stream["arrival_us"][lo:hi],
            stream["size_bytes"][lo:hi],
            int(stream["report_now_us"][lo // REPORT]),
        )
    per_call_ns = (time.process_time() - t0) / sub * 1e9

    gcc_ns = gcc_s / n_packets * 1e9
    aiortc_ns = aiortc_s / len(peer) * 1e9
    ratio = aiortc_ns / gcc_ns
    benchmark.extra_info.update(
        {
            "packets": n_packets,
            "gcc_packets_per_s": n_packets / gcc_s,
            "gcc_ns_per_packet": gcc_ns,
            "gcc_wall_ns_per_packet": gcc_wall_s / n_packets * 1e9,
            "gcc_python_per_report_ns_per_packet": per_call_ns,
            "aiortc_packets": len(peer),
            "aiortc_packets_per_s": len(peer) / aiortc_s,
            "aiortc_ns_per_packet": aiortc_ns,
            "ratio_vs_aiortc": ratio,
            "required_ratio": REQUIRED_RATIO,
        }
    )
    print(
        f"\ngcc {gcc_ns:.1f} ns/packet, aiortc {aiortc_ns:.0f} ns/packet, ratio {ratio:.0f}x,"
        f" python per-report path {per_call_ns:.0f} ns/packet"
    )
    assert ratio >= (REQUIRED_RATIO / 5 if smoke() else REQUIRED_RATIO)
