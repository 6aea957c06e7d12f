"""Pacer: libwebrtc's PacingController / BitrateProber rules (pacing_controller_unittest.cc
and bitrate_prober_unittest.cc scenarios, re-expressed with their numbers)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from mediaopt.errors import InputError
from mediaopt.rtp import Pacer, PacerDriver, PacketKind

RATE = 800_000
SIZE = 250


def drain(p: Pacer, t: int, until: int):
    out = []
    while t <= until:
        out += [(t, r) for r in p.process(t)]
        t = max(p.next_send_us(t), t + 1)
    return out


def test_priority_order():
    # audio, then retransmissions, then video/FEC in queue order (PrioritizedPacketQueue)
    p = Pacer(burst_interval_ms=0)
    p.set_rates(RATE, 0, 0)
    p.push(PacketKind.VIDEO, "v1", SIZE, 0)
    p.push(PacketKind.FEC, "f1", SIZE, 0)
    p.push(PacketKind.RETRANSMISSION, "r1", SIZE, 0)
    p.push(PacketKind.AUDIO, "a1", SIZE, 0)
    p.push(PacketKind.VIDEO, "v2", SIZE, 0)
    order = [r.packet for _, r in drain(p, 0, 1_000_000)]
    assert order == ["a1", "r1", "v1", "f1", "v2"]


def test_audio_is_not_paced():
    p = Pacer(burst_interval_ms=0)
    p.set_rates(RATE, 0, 0)
    for i in range(10):
        p.push(PacketKind.VIDEO, i, 1200, 0)
    p.process(0)
    p.push(PacketKind.AUDIO, "a", 100, 1000)
    assert p.next_send_us(1000) == 1000
    assert [r.packet for r in p.process(1000)] == ["a"]


def test_paces_at_the_rate_without_burst():
    # 800 kbit/s, 250-byte packets: one every 2.5 ms
    p = Pacer(burst_interval_ms=0)
    p.set_rates(RATE, 0, 0)
    for i in range(40):
        p.push(PacketKind.VIDEO, i, SIZE, 0)
    sent = drain(p, 0, 200_000)
    assert len(sent) == 40
    ts = [t for t, _ in sent]
    gaps = {b - a for a, b in itertools.pairwise(ts)}
    assert gaps <= {2500, 2499, 2501}


def test_burst_interval_lets_packets_out_early():
    # send_burst_interval 40 ms (libwebrtc's default): a debt of up to 40 ms of data leaves
    # at once, so 40 ms x 800 kbit/s = 4000 bytes go back to back
    p = Pacer()
    p.set_rates(RATE, 0, 0)
    for i in range(40):
        p.push(PacketKind.VIDEO, i, SIZE, 0)
    first = p.process(0)
    assert 15 <= len(first) <= 17


def test_queue_time_limit_raises_the_rate():
    # drain_large_queues: bytes that could not leave within 2 s raise the pacing rate
    p = Pacer(burst_interval_ms=0)
    p.set_rates(100_000, 0, 0)
    for i in range(100):
        p.push(PacketKind.VIDEO, i, 1000, 0)
    assert p.adjusted_pacing_bps == 100 * 1000 * 8 * 1_000_000 // 2_000_000
    sent = drain(p, 0, 3_000_000)
    assert len(sent) == 100 and sent[-1][0] <= 2_000_000


def test_probe_cluster():
    # BitrateProber: activated by a large enough packet, opened by a padding packet,
    # bursts of bitrate x 2 ms, done after min probes and min bytes; padding tagged
    p = Pacer()
    p.set_rates(RATE, 0, 0)
    p.add_probes([{"bitrate_bps": 900_000, "cluster_id": 1, "min_probes": 5, "min_bytes": 1688}], 0)
    p.push(PacketKind.VIDEO, "media", 1200, 0)
    sent = drain(p, 0, 100_000)
    probe = [(t, r) for t, r in sent if r.probe_cluster_id == 1]
    assert probe[0][1].kind == PacketKind.PADDING and probe[0][1].packet is None
    assert any(r.packet == "media" for _, r in probe)
    assert len(probe) == 5 and sum(r.size_bytes for _, r in probe) >= 1688
    # bursts keep the cluster's rate: sent bytes / elapsed time
    t0, t1 = probe[0][0], probe[-1][0]
    bytes_before_last = sum(r.size_bytes for _, r in probe[:-1])
    assert t1 - t0 == pytest.approx(bytes_before_last * 8e6 / 900_000, abs=2)
    assert not p.is_probing


def test_probe_waits_for_a_large_enough_packet():
    p = Pacer()
    p.set_rates(RATE, 0, 0)
    p.add_probes([{"bitrate_bps": 900_000, "cluster_id": 2, "min_probes": 5, "min_bytes": 1688}], 0)
    p.push(PacketKind.VIDEO, "tiny", 100, 0)
    assert not p.is_probing
    p.push(PacketKind.VIDEO, "big", 1000, 0)
    assert p.is_probing


def test_late_cluster_is_dropped():
    # a cluster more than 10 ms (max_probe_delay) behind its next probe time is discarded
    p = Pacer()
    p.set_rates(RATE, 0, 0)
    p.add_probes([{"bitrate_bps": 900_000, "cluster_id": 3, "min_probes": 5, "min_bytes": 1688}], 0)
    p.push(PacketKind.VIDEO, "big", 1000, 0)
    first = p.process(0)
    assert first[0].probe_cluster_id == 3
    later = p.process(p.next_send_us(0) + 50_000)
    assert all(r.probe_cluster_id == -1 for r in later)


def test_no_padding_without_probe_or_padding_rate():
    p = Pacer()
    p.set_rates(RATE, 0, 0)
    p.push(PacketKind.VIDEO, "v", SIZE, 0)
    sent = drain(p, 0, 2_000_000)
    assert [r.packet for _, r in sent] == ["v"]


def test_padding_rate_fills_an_empty_queue():
    p = Pacer()
    p.set_rates(RATE, 200_000, 0)
    p.push(PacketKind.VIDEO, "v", SIZE, 0)
    sent = drain(p, 0, 1_000_000)
    pad = sum(r.size_bytes for _, r in sent if r.kind == PacketKind.PADDING)
    assert 200_000 / 8 * 0.8 <= pad <= 200_000 / 8 * 1.2


def test_bad_arguments():
    p = Pacer()
    with pytest.raises(InputError, match="kind"):
        p.push(PacketKind.PADDING, None, 100, 0)
    with pytest.raises(InputError, match="size_bytes"):
        p.push(PacketKind.VIDEO, None, 0, 0)
    with pytest.raises(InputError, match="probes"):
        p.add_probes([{"rate": 1}], 0)


def test_driver_sends_through_the_callback():
    got = []

    async def main():
        p = Pacer()
        p.set_rates(RATE, 0, 0)
        d = PacerDriver(p, lambda r: got.append(r.packet))
        d.start()
        for i in range(5):
            d.push(PacketKind.VIDEO, i, SIZE)
        for _ in range(100):
            if len(got) == 5:
                break
            await asyncio.sleep(0.01)
        await d.stop()

    asyncio.run(main())
    assert got == [0, 1, 2, 3, 4]
