"""The receiver: frame assembly, FEC, the decode chain, jitter buffer, NACK and PLI."""

from __future__ import annotations

import numpy as np
from mediaopt._core.receiver import Receiver

RTX, VIDEO, FEC = 1, 2, 3
PENDING, DECODED, DROPPED, UNDECODABLE = 0, 1, 2, 3
FRAME_US = 33_333


def _chain(rx: Receiver, n: int, packets: int = 1, fec: int = 0, key_every: int = 0) -> None:
    """Register n frames of `packets` media packets each, media seqs consecutive."""
    for i in range(n):
        key = i == 0 or (key_every > 0 and i % key_every == 0)
        rx.add_frame(
            i * FRAME_US,
            1000 * packets,
            640,
            360,
            key,
            35.0,
            -1 if key else i - 1,
            packets,
            fec,
            i * packets,
        )


def _deliver(
    rx: Receiver, frame: int, packets: int, at_us: int, skip: tuple[int, ...] = ()
) -> None:
    for j in range(packets):
        if j not in skip:
            rx.on_packet(VIDEO, frame, frame * packets + j, at_us + j * 100)


def test_in_order_frames_all_render_after_capture() -> None:
    rx = Receiver()
    _chain(rx, 30, packets=2)
    for f in range(30):
        _deliver(rx, f, 2, f * FRAME_US + 60_000)
    assert (rx.states == DECODED).all()
    r = rx.render_us
    cap = np.arange(30) * FRAME_US
    assert (r >= cap + 60_000).all() and (np.diff(r) >= 0).all()


def test_lost_packet_without_nack_breaks_the_chain_until_a_keyframe() -> None:
    rx = Receiver()
    rx.set_nack(False)
    _chain(rx, 12, packets=2, key_every=8)
    for f in range(12):
        _deliver(rx, f, 2, f * FRAME_US + 50_000, skip=(1,) if f == 3 else ())
        rx.poll(f * FRAME_US + 60_000)
    s = rx.states
    assert list(s[:3]) == [DECODED] * 3
    assert s[3] == DROPPED
    assert (s[4:8] == UNDECODABLE).all()
    assert (s[8:] == DECODED).all()
    assert rx.plis_sent >= 1 and rx.take_pli()
    assert rx.take_nacks() == []


def test_nack_asks_for_the_gap_and_a_retransmission_repairs_the_chain() -> None:
    rx = Receiver()
    rx.set_nack(True)
    rx.set_rtt(100_000)
    _chain(rx, 6, packets=2)
    _deliver(rx, 0, 2, 50_000)
    _deliver(rx, 1, 2, 83_000, skip=(1,))
    _deliver(rx, 2, 2, 116_000)
    assert rx.take_nacks() == [3]  # frame 1's second packet
    assert list(rx.states[:3]) == [DECODED, PENDING, PENDING]
    rx.poll(150_000)
    assert rx.take_nacks() == []  # less than one RTT since the request
    rx.poll(220_000)
    assert rx.take_nacks() == [3]  # asked again after an RTT
    rx.on_packet(RTX, 1, 3, 240_000)
    assert list(rx.states[:3]) == [DECODED] * 3
    assert rx.render_us[1] >= 240_000 and rx.render_us[2] >= rx.render_us[1]
    rx.poll(400_000)
    assert rx.take_nacks() == []
    assert rx.plis_sent == 0


def test_nack_gives_up_after_a_wait_and_requests_a_keyframe() -> None:
    rx = Receiver()
    rx.set_nack(True)
    rx.set_rtt(50_000)
    _chain(rx, 5, packets=1)
    for f in range(5):
        if f != 1:
            rx.on_packet(VIDEO, f, f, f * FRAME_US + 40_000)
    t = 200_000
    while t < 600_000:
        rx.poll(t)
        t += 10_000
    assert rx.states[1] == DROPPED
    assert (rx.states[2:] == UNDECODABLE).all()
    assert rx.plis_sent >= 1


def test_fec_recovers_a_lost_packet() -> None:
    rx = Receiver()
    rx.set_nack(False)
    _chain(rx, 3, packets=3, fec=1)
    _deliver(rx, 0, 3, 40_000)
    rx.on_packet(FEC, 0, -1, 41_000)
    _deliver(rx, 1, 3, 80_000, skip=(2,))
    rx.on_packet(FEC, 1, -1, 81_000)
    _deliver(rx, 2, 3, 110_000)
    assert (rx.states == DECODED).all()
    assert rx.frames_recovered_fec == 1


def test_keyframe_skips_older_pending_frames() -> None:
    rx = Receiver()
    rx.set_nack(True)
    rx.add_frame(0, 1000, 640, 360, True, 35.0, -1, 1, 0, 0)
    rx.add_frame(FRAME_US, 1000, 640, 360, False, 35.0, 0, 1, 0, 1)
    rx.add_frame(2 * FRAME_US, 1000, 640, 360, True, 35.0, -1, 1, 0, 2)
    rx.on_packet(VIDEO, 0, 0, 40_000)
    rx.on_packet(VIDEO, 2, 2, 110_000)  # frame 1 lost, frame 2 is a key frame
    assert list(rx.states) == [DECODED, DROPPED, DECODED]


def test_temporal_layer_loss_does_not_break_the_base_layer() -> None:
    rx = Receiver()
    rx.set_nack(False)
    refs = [-1, 0, 0, 2, 2]  # L1T2: odd frames reference the previous even frame
    for i, r in enumerate(refs):
        rx.add_frame(i * FRAME_US, 1000, 640, 360, i == 0, 35.0, r, 1, 0, i)
    for i in range(5):
        if i != 1:
            rx.on_packet(VIDEO, i, i, i * FRAME_US + 40_000)
    assert list(rx.states) == [DECODED, DROPPED, DECODED, DECODED, DECODED]
    assert rx.plis_sent == 0


def test_jitter_raises_the_playout_delay() -> None:
    def run(jitter_us: int) -> float:
        rx = Receiver()
        _chain(rx, 200)
        rng = np.random.default_rng(0)
        last = 0
        for f in range(200):
            at = max(last, f * FRAME_US + 50_000 + int(rng.integers(0, jitter_us + 1)))
            last = at
            rx.on_packet(VIDEO, f, f, at)
        delay = rx.render_us - np.arange(200) * FRAME_US
        return float(np.median(delay[50:]))

    assert run(40_000) > run(0) + 10_000
