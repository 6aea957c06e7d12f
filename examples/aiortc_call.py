"""Two aiortc peers on 127.0.0.1 exchanging a synthetic consultation video through a
RealtimeLink, with mediaopt's estimator, adaptation and pacer on both ends.

    python examples/aiortc_call.py --duration-s 45 \
        --schedule "0:2000,20:400,30:2000" --policy consult --json call.json

The sender's datagrams go through a bottleneck that follows ``--schedule`` (capacity
steps ``T:KBPS``, T in seconds from the start); the feedback returns through a 10 Mbit/s
link with the same one-way delay. Loopback only; it ends by itself after
``--duration-s``. ``--json`` writes the timeline (every 0.5 s: capacity, target, sent
rate, RTT) and the feedback counters and ``on_feedback`` costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import sys
import time
from typing import Any

import numpy as np
from aiortc import RTCPeerConnection, VideoStreamTrack
from av import VideoFrame

from mediaopt import traces
from mediaopt._atomic import write_text
from mediaopt.errors import InputError
from mediaopt.integrations.aiortc import equip
from mediaopt.rtp import MonotonicClock, RealtimeLink, read_transport_seq

WIDTH, HEIGHT, FPS = 640, 480, 30


class ConsultationTrack(VideoStreamTrack):
    """A synthetic consultation picture: a blocky room panning slowly and a moving
    face-like ellipse, with mild sensor noise in every frame (VP8 then follows its target
    from 250 to 1500 kbit/s at 640x480)."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        blocks = rng.integers(40, 200, size=(HEIGHT * 2 // 16, WIDTH * 2 // 16), dtype=np.uint8)
        self._room = np.kron(blocks, np.ones((16, 16), dtype=np.uint8))
        self._noise = rng.integers(0, 6, size=(8, HEIGHT, WIDTH), dtype=np.uint8)
        yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
        self._yy, self._xx = yy, xx
        self._chroma = np.full((HEIGHT // 2, WIDTH), 128, dtype=np.uint8)
        self._n = 0
        self._t0: float | None = None

    async def recv(self) -> VideoFrame:
        if self._t0 is None:
            self._t0 = time.monotonic()
        n = self._n
        self._n += 1
        wait = self._t0 + n / FPS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        ox, oy = (n * 2) % WIDTH, (n // 2) % HEIGHT
        y = self._room[oy : oy + HEIGHT, ox : ox + WIDTH] + self._noise[n % 8]
        cx, cy = WIDTH / 2 + 80 * np.sin(n / 40), HEIGHT / 2 + 30 * np.sin(n / 55)
        face = ((self._xx - cx) / 90) ** 2 + ((self._yy - cy) / 120) ** 2 < 1
        y = np.where(face, 180 + self._noise[(n + 3) % 8], y).astype(np.uint8)
        frame = VideoFrame.from_ndarray(np.vstack([y, self._chroma]), format="yuv420p")
        frame.pts = n * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


def parse_schedule(text: str) -> list[tuple[float, float]]:
    """``"0:2000,20:400"`` -> [(0.0, 2000.0), (20.0, 400.0)]."""
    steps = []
    for part in text.split(","):
        t, _, k = part.partition(":")
        steps.append((float(t), float(k)))
    if not steps or steps[0][0] != 0:
        raise SystemExit("--schedule must start with a step at 0 s, e.g. 0:2000,20:400")
    return steps


def capacity_at(steps: list[tuple[float, float]], t: float) -> float:
    k = steps[0][1]
    for s, v in steps:
        if t >= s:
            k = v
    return k


def shape(pc: RTCPeerConnection, link: RealtimeLink) -> None:
    """Send this peer's datagrams through ``link`` (wraps its ICE transport's _send)."""
    ice = pc.getTransceivers()[0].sender.transport.transport
    orig = ice._send

    def shaped_send(data: bytes) -> Any:
        link.send(data)
        return asyncio.sleep(0)

    link._deliver = orig
    ice._send = shaped_send


async def consume(track: Any) -> None:
    try:
        while True:
            await track.recv()
    except Exception:
        return


async def run_call(
    duration_s: float,
    schedule: list[tuple[float, float]],
    policy: str,
    delay_ms: float = 20.0,
    queue_ms: float = 300.0,
) -> dict[str, Any]:
    """Run one call and return the results (see the module docstring)."""
    sender_pc, receiver_pc = RTCPeerConnection(), RTCPeerConnection()
    clock = MonotonicClock()
    # receive timestamps as a network card would take them: when the link delivers
    arrivals: dict[int, int] = {}
    tx = equip(
        sender_pc, policy=policy, max_width=WIDTH, max_height=HEIGHT, max_fps=FPS, clock=clock
    )
    rx = equip(receiver_pc, policy=policy, clock=clock, arrival_us_of=arrivals.pop)
    source = ConsultationTrack()
    sender_pc.addTrack(tx.adapt_track(source))
    consumers: list[asyncio.Task[None]] = []

    @receiver_pc.on("track")
    def on_track(track: Any) -> None:
        consumers.append(asyncio.ensure_future(consume(track)))

    await sender_pc.setLocalDescription(await sender_pc.createOffer())
    await receiver_pc.setRemoteDescription(sender_pc.localDescription)
    await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())

    def stamp(datagram: bytes, arrival_us: int) -> None:
        # the RTP header (with its extensions) is in the clear in SRTP
        if (
            tx.ext_id is not None
            and len(datagram) >= 12
            and 128 <= datagram[0] < 192
            and not 192 <= datagram[1] <= 208
        ):
            with contextlib.suppress(InputError):
                seq = read_transport_seq(datagram, tx.ext_id)
                if seq is not None:
                    arrivals[seq] = arrival_us

    link_clock = clock
    t_start = clock.now_us() / 1e6
    # the link's time zero is the clock's: shift the schedule to start now
    shifted = [(0.0, schedule[0][1])] + [(t + t_start, k) for t, k in schedule[1:]]
    trace = traces.steps(shifted, duration_s=max(duration_s, schedule[-1][0] + 1) + 60)
    forward = RealtimeLink(
        trace,
        lambda d: None,
        clock=link_clock,
        on_arrival=stamp,
        one_way_delay_ms=delay_ms,
        queue_ms=queue_ms,
        seed=0,
    )
    reverse = RealtimeLink(
        traces.constant(10_000, 60),
        lambda d: None,
        clock=link_clock,
        one_way_delay_ms=delay_ms,
        queue_ms=queue_ms,
        seed=1,
    )
    shape(sender_pc, forward)
    shape(receiver_pc, reverse)
    await sender_pc.setRemoteDescription(receiver_pc.localDescription)

    timeline = []
    last_bytes, last_t = tx.pacer.sent_bytes, 0.0
    step = 0.5
    t_next = step
    while True:
        now_s = link_clock.now_us() / 1e6 - t_start
        if now_s >= duration_s:
            break
        await asyncio.sleep(max(0.0, t_next - now_s))
        t = link_clock.now_us() / 1e6 - t_start
        sent = tx.pacer.sent_bytes
        timeline.append(
            {
                "t_s": round(t, 3),
                "capacity_kbps": capacity_at(schedule, t),
                "target_kbps": round(tx.target_bps / 1000, 1),
                "sent_kbps": round((sent - last_bytes) * 8 / max(t - last_t, 1e-3) / 1000, 1),
                "rtt_ms": round(tx.estimator.rtt_us / 1000, 1),
                "delay_based_kbps": round(tx.estimator.delay_based_bps / 1000, 1),
                "acked_kbps": round((tx.estimator.acknowledged_bps or 0) / 1000, 1),
                "loss_based_state": tx.estimator.loss_based_state,
                "in_alr": tx.estimator.in_alr,
                "encoder_kbps": round((tx.settings.bitrate_bps if tx.settings else 0) / 1000, 1),
                "pacer_queue_ms": round(tx.pacer.expected_queue_ms(0), 1),
            }
        )
        last_bytes, last_t = sent, t
        t_next += step

    # stop generating feedback, let what is in flight arrive, then read the counters
    await rx.close()
    await asyncio.sleep(0.5)
    stats = await sender_pc.getStats()
    remote_inbound = [s for s in stats.values() if s.type == "remote-inbound-rtp"]
    p50, p99 = tx.on_feedback_us()
    result = {
        "timeline": timeline,
        "feedback_sent": rx.stats.feedback_sent,
        "feedback_received": tx.stats.feedback_received,
        "feedback_used": tx.stats.feedback_used,
        "feedback_invalid": tx.stats.feedback_invalid,
        "on_feedback_us_p50": round(p50, 2),
        "on_feedback_us_p99": round(p99, 2),
        "on_feedback_calls": len(tx.on_feedback_ns),
        "packets_paced": tx.stats.packets_paced,
        "retransmissions_paced": tx.stats.retransmissions_paced,
        "padding_packets": tx.stats.padding_packets,
        "probe_bytes": tx.pacer.probe_sent_bytes,
        "rtcp_passed_to_aiortc": tx.stats.rtcp_passed_to_aiortc,
        "aiortc_remote_inbound_reports": len(remote_inbound),
        "aiortc_rtt_ms": (
            round(remote_inbound[0].roundTripTime * 1000, 1)
            if remote_inbound and remote_inbound[0].roundTripTime
            else None
        ),
        "feedback_health": tx.health().status.value,
        "link": forward.stats,
        "extension_id": tx.ext_id,
    }
    await tx.close()
    for c in consumers:
        c.cancel()
    forward.close()
    reverse.close()
    await sender_pc.close()
    await receiver_pc.close()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration-s", type=float, default=45.0)
    ap.add_argument("--schedule", default="0:2000,20:400,30:2000")
    ap.add_argument("--policy", default="consult")
    ap.add_argument("--delay-ms", type=float, default=20.0)
    ap.add_argument("--queue-ms", type=float, default=300.0)
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args(argv)
    result = asyncio.run(
        run_call(
            args.duration_s,
            parse_schedule(args.schedule),
            args.policy,
            args.delay_ms,
            args.queue_ms,
        )
    )
    for row in result["timeline"][1::2]:
        print(
            f"{row['t_s']:6.1f} s  capacity {row['capacity_kbps']:6.0f}  target "
            f"{row['target_kbps']:7.1f}  sent {row['sent_kbps']:7.1f} kbit/s  rtt "
            f"{row['rtt_ms']:5.1f} ms"
        )
    print(
        f"feedback sent {result['feedback_sent']} received {result['feedback_received']} "
        f"used {result['feedback_used']}; on_feedback p50 {result['on_feedback_us_p50']} us "
        f"p99 {result['on_feedback_us_p99']} us"
    )
    if args.json_out:
        write_text(args.json_out, json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
