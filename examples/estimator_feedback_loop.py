"""Feed GccEstimator from a sender's feedback loop and read the target and pacing rate.

A sender (here: a toy one, over a toy bottleneck that drops from 2.5 to 1 Mbit/s after
8 s) does four things with the estimator, exactly as a WebRTC client does with GoogCC:

1. every packet the pacer sends:          est.on_packet_sent(send_us, size_bytes, probe_id)
2. every transport-feedback report:       est.on_feedback(send_us, arrival_us, size_bytes,
                                                          now_us, probe_cluster_id)
3. every 25 ms:                           est.process(now_us)
4. after each of those, probes to send:   est.pop_probes(now_us)

and sets the encoder to ``est.target_bps`` and the pacer to ``est.pacing_bps``.
Run: ``python examples/estimator_feedback_loop.py`` (about a second).
"""

from __future__ import annotations

import numpy as np

import mediaopt

PACKET_BYTES = 1200
ONE_WAY_US = 40_000


def capacity_bps(t_us: int) -> int:
    return 2_500_000 if t_us < 8_000_000 else 1_000_000


def main() -> None:
    est = mediaopt.GccEstimator(start_bps=300_000, min_bps=30_000, max_bps=5_000_000)
    link_free_us = 0
    # Packets sent and not yet reported: (send_us, arrival_us or -1, size, probe id) and
    # when the receiver learns about each (a loss shows up when the next packet arrives).
    unreported: list[tuple[int, int, int, int]] = []
    known_at: list[int] = []
    probes: list[dict[str, int]] = []
    t = 0
    next_tick, next_feedback, next_print = 0, 50_000, 0

    def send(now_us: int, probe_id: int) -> None:
        nonlocal link_free_us, unreported, known_at
        start = max(link_free_us, now_us)
        if start - now_us > 300_000:  # a 300 ms drop-tail queue
            unreported.append((now_us, mediaopt.LOST, PACKET_BYTES, probe_id))
            known_at.append(start + ONE_WAY_US)
        else:
            link_free_us = start + PACKET_BYTES * 8 * 1_000_000 // capacity_bps(now_us)
            unreported.append((now_us, link_free_us + ONE_WAY_US, PACKET_BYTES, probe_id))
            known_at.append(link_free_us + ONE_WAY_US)
        est.on_packet_sent(now_us, PACKET_BYTES, probe_id)

    print(" time   target   pacing  acked    state       loss")
    while t < 16_000_000:
        while min(next_tick, next_feedback) <= t:
            if next_tick <= next_feedback:
                est.process(next_tick)
                probes += est.pop_probes(next_tick)
                next_tick += 25_000
                continue
            # The feedback covers what the receiver knew one trip ago (lost = -1).
            ready = [k + ONE_WAY_US <= next_feedback for k in known_at]
            done = [p for p, r in zip(unreported, ready, strict=True) if r]
            if done:
                unreported = [p for p, r in zip(unreported, ready, strict=True) if not r]
                known_at = [k for k, r in zip(known_at, ready, strict=True) if not r]
                a = np.array(done, dtype=np.int64)
                est.on_feedback(a[:, 0], a[:, 1], a[:, 2], next_feedback, a[:, 3])
            next_feedback += 50_000
        if t >= next_print:
            acked = est.acknowledged_bps
            print(
                f"{t / 1e6:5.1f}s {est.target_bps / 1e3:6.0f}k {est.pacing_bps / 1e3:6.0f}k"
                f" {(acked or 0) / 1e3:6.0f}k  {est.delay_state.value:10s} {est.loss_ratio:5.1%}"
            )
            next_print += 1_000_000
        if probes:  # a probe cluster: min_probes packets at the probe rate
            p = probes.pop(0)
            gap = PACKET_BYTES * 8 * 1_000_000 // p["bitrate_bps"]
            for _ in range(max(p["min_probes"], -(-p["min_bytes"] // PACKET_BYTES))):
                send(t, p["cluster_id"])
                t += gap
            continue
        send(t, -1)  # media, at the target rate
        t += PACKET_BYTES * 8 * 1_000_000 // est.target_bps


if __name__ == "__main__":
    main()
