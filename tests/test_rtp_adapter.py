"""FeedbackAdapter: libwebrtc's transport_feedback_adapter_unittest.cc re-expressed.

Each TEST_P runs for transport-cc and for RFC 8888 as in libwebrtc; packets are
PacketTemplates (ssrc, transport seq, rtp seq, send time, receive time or None).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mediaopt.rtp import (
    CongestionControlFeedback,
    FeedbackAdapter,
    FeedbackStatus,
    TransportFeedback,
)

NOW_US = 1_234_000  # TimeNow()


@dataclasses.dataclass
class Pkt:
    ssrc: int = 1
    tseq: int = 0
    rtp_seq: int = 2
    size: int = 100
    send_us: int = 0
    recv_us: int | None = None


def templates(n_ssrcs: int, per_ssrc: int, first_tseq: int = 99) -> list[Pkt]:
    out, tseq, send, recv = [], first_tseq, 200_000, 100_000
    for ssrc in range(3, 3 + n_ssrcs):
        for rtp in range(ssrc * 10, ssrc * 10 + per_ssrc):
            out.append(Pkt(ssrc, tseq, rtp, 100, send, recv))
            tseq += 1
            send += 10_000
            recv += 13_000
    return out


def compact_ntp(t_us: int) -> int:
    # SimulatedClock::ConvertTimestampToNtpTime + CompactNtp
    sec = (t_us // 1_000_000 + 2208988800) & 0xFFFFFFFF
    frac = ((t_us % 1_000_000) << 32) // 1_000_000
    return ((sec << 16) | (frac >> 16)) & 0xFFFFFFFF


def twcc(pkts: list[Pkt]) -> TransportFeedback:
    got = [p for p in pkts if p.recv_us is not None]
    fb, n = TransportFeedback.build(
        pkts[0].tseq & 0xFFFF,
        [p.tseq & 0xFFFF for p in got],
        [p.recv_us for p in got],
        ref_us=pkts[0].recv_us or 0,
    )
    assert n == len(got)
    return TransportFeedback.parse(fb.to_bytes())


def ccfb(pkts: list[Pkt]) -> CongestionControlFeedback:
    sent_at = max(p.recv_us for p in pkts if p.recv_us is not None)
    off = [sent_at - p.recv_us if p.recv_us is not None else -1 for p in pkts]
    f = CongestionControlFeedback.build(
        compact_ntp(sent_at), [p.ssrc for p in pkts], [p.rtp_seq for p in pkts], off
    )
    return CongestionControlFeedback.parse(f.to_bytes())


@pytest.fixture(params=["TransportFeedback", "CongestionControlFeedback"])
def fmt(request):
    return request.param


def send_all(ad: FeedbackAdapter, pkts: list[Pkt]) -> None:
    for p in pkts:
        ad.on_sent(p.tseq & 0xFFFF, p.send_us, p.size, ssrc=p.ssrc, rtp_seq=p.rtp_seq)


def tol(fmt: str) -> int:
    return 0 if fmt == "TransportFeedback" else 1_000_000 // 1024 + 1


def process(ad, pkts, fmt, now=NOW_US):
    return ad.on_feedback(twcc(pkts) if fmt == "TransportFeedback" else ccfb(pkts), now)


def compare(truth: list[Pkt], r, tol_us: int = 0) -> None:
    """ComparePacketFeedbackVectors: same packets, same send times and sizes; receive
    times off by one constant (the adapter's time base), within the format's resolution
    (RFC 8888 arrival offsets are 1/1024 s)."""
    assert len(r) == len(truth)
    offset = None
    for p, seq, send, arr, size in zip(
        truth, r.transport_seq, r.send_us, r.arrival_us, r.size_bytes, strict=False
    ):
        assert (p.recv_us is not None) == (arr >= 0)
        if arr >= 0:
            d = p.recv_us - arr
            offset = d if offset is None else offset
            assert abs(d - offset) <= tol_us
        assert send == p.send_us and seq == p.tseq and size == p.size


def test_adapts_feedback_and_populates_send_times(fmt):
    ad = FeedbackAdapter()
    pkts = templates(2, 3)
    send_all(ad, pkts)
    compare(pkts, process(ad, pkts, fmt), tol(fmt))


def test_feedback_vector_reports_unreceived(fmt):
    ad = FeedbackAdapter()
    pkts = templates(2, 3)
    send_all(ad, pkts)
    pkts[1].recv_us = None
    pkts[4].recv_us = None
    compare(pkts, process(ad, pkts, fmt), tol(fmt))


def test_handles_dropped_packets(fmt):
    ad = FeedbackAdapter()
    pkts = templates(2, 2, first_tseq=0)
    send_side_drop_before, receive_side_drop_after = 1, 3
    send_all(ad, [p for p in pkts if p.tseq >= send_side_drop_before])
    received = [p for p in pkts if p.tseq <= receive_side_drop_after]
    compare(
        pkts[send_side_drop_before : receive_side_drop_after + 1],
        process(ad, received, fmt),
        tol(fmt),
    )


def test_handles_dropped_packets_from_an_ssrc(fmt):
    ad = FeedbackAdapter()
    pkts = [
        Pkt(123, 1, 101, 100, 1_200_000, 100_000),
        Pkt(456, 2, 201, 100, 1_210_000),
        Pkt(456, 3, 202, 100, 1_220_000),
        Pkt(123, 4, 102, 100, 1_230_000, 130_000),
    ]
    send_all(ad, pkts)
    r = process(ad, [pkts[0], pkts[3]], fmt)
    # RFC 8888 leaves the lost SSRC out; the adapter still reports its packets lost
    compare(pkts, r, tol(fmt))


def test_receive_time_wraps_both_ways(fmt):
    ad = FeedbackAdapter()
    high = 250 * (1 << 8) * ((1 << 23) - 1)
    pkts = [
        Pkt(1, 0, 102, recv_us=high + 64_000),
        Pkt(1, 1, 103, recv_us=high - 64_000),
        Pkt(1, 2, 104, recv_us=high),
    ]
    send_all(ad, pkts)
    for p in pkts:
        r = process(ad, [p], fmt)
        assert r is not None
        compare([p], r, tol(fmt))


def test_handles_arrival_reordering(fmt):
    ad = FeedbackAdapter()
    pkts = [
        Pkt(1, 0, 101, 100, 200_000, 120_000),
        Pkt(1, 1, 102, 100, 210_000, 110_000),
        Pkt(1, 2, 103, 100, 220_000, 100_000),
    ]
    send_all(ad, pkts)
    compare(pkts, process(ad, pkts, fmt), tol(fmt))


def test_ignore_duplicate_packet_sent_calls():
    ad = FeedbackAdapter()
    assert ad.on_sent(0, 0, 100) is True
    assert ad.on_sent(0, 0, 100) is False


def test_send_receive_time_diff_continuous_between_feedback(fmt):
    ad = FeedbackAdapter()
    pkts = [Pkt(1, 1, 101, 100, 100_000, 200_000), Pkt(1, 2, 102, 100, 110_000, 210_000)]
    send_all(ad, pkts)
    r1 = process(ad, [pkts[0]], fmt)
    r2 = process(ad, [pkts[1]], fmt)
    d1 = r1.arrival_us[0] - r1.send_us[0]
    d2 = r2.arrival_us[0] - r2.send_us[0]
    assert round(d1 / 1000) == round(d2 / 1000)


def test_process_sent_packet_increases_outstanding_data():
    ad = FeedbackAdapter()
    ad.on_sent(1, 0, 200)
    assert ad.in_flight_bytes == 200
    ad.on_sent(2, 0, 300)
    assert ad.in_flight_bytes == 500


def test_transport_packet_feedback_has_data_in_flight(fmt):
    ad = FeedbackAdapter()
    pkts = [Pkt(1, 1, 101, 200, 100_000, 200_000), Pkt(1, 2, 102, 300, 110_000, 210_000)]
    send_all(ad, pkts)
    assert process(ad, [pkts[0]], fmt).in_flight_bytes == 300
    assert process(ad, [pkts[1]], fmt).in_flight_bytes == 0


def test_packets_in_lost_feedback_are_not_reported_as_lost(fmt):
    ad = FeedbackAdapter()
    pkts = [Pkt(1, i, 100 + i, 100, 90_000 + 10_000 * i, 110_000 + 10_000 * i) for i in range(1, 5)]
    send_all(ad, pkts)
    process(ad, [pkts[0]], fmt)
    r3 = process(ad, [pkts[2]], fmt)
    assert 2 not in r3.transport_seq
    r4 = process(ad, [pkts[3]], fmt)
    assert 2 not in r4.transport_seq


def test_handles_reordered_feedback_packets(fmt):
    ad = FeedbackAdapter()
    p1 = Pkt(1, 1, 101, 100, 100_000, 120_000)
    p2 = Pkt(1, 2, 102, 100, 110_000, 130_000)
    send_all(ad, [p1, p2])
    r2 = process(ad, [p2], fmt, now=1_000_000)
    r1 = process(ad, [p1], fmt, now=1_010_000)
    assert abs((r2.arrival_us[0] - r2.send_us[0]) - (r1.arrival_us[0] - r1.send_us[0])) <= 1000


def test_ccfb_reports_lost_packet_once():
    ad = FeedbackAdapter()
    pkts = [
        Pkt(1, 1, 101, 100, 100_000, 200_000),
        Pkt(1, 2, 102, 100, 110_000),
        Pkt(1, 3, 103, 100, 120_000, 210_000),
    ]
    send_all(ad, pkts)
    fb = ccfb(pkts)
    r = ad.on_feedback(fb, NOW_US)
    i = list(r.transport_seq).index(2)
    assert r.arrival_us[i] == -1 and r.lost_first_time[i]
    r = ad.on_feedback(fb, NOW_US)
    i = list(r.transport_seq).index(2)
    assert r.arrival_us[i] == -1 and not r.lost_first_time[i]


def test_ccfb_reports_implicitly_lost_packet_once():
    ad = FeedbackAdapter()
    pkts = [
        Pkt(1, 1, 101, 100, 100_000),
        Pkt(2, 2, 201, 100, 110_000),
        Pkt(1, 3, 102, 100, 120_000),
        Pkt(2, 4, 202, 100, 120_000),
    ]
    send_all(ad, pkts)
    pkts[0].recv_us, pkts[2].recv_us = 200_000, 220_000
    r = ad.on_feedback(ccfb([pkts[0], pkts[2]]), NOW_US)
    i = list(r.transport_seq).index(2)
    assert r.arrival_us[i] == -1
    pkts[3].recv_us = 240_000
    r = ad.on_feedback(ccfb([pkts[1], pkts[3]]), NOW_US)
    i = list(r.transport_seq).index(2)
    assert r.arrival_us[i] == -1 and not r.lost_first_time[i]


def test_ccfb_reports_recovered_packet_once():
    ad = FeedbackAdapter()
    pkts = [Pkt(1, i, 100 + i, 100, 90_000 + 10_000 * i) for i in range(1, 4)]
    send_all(ad, pkts)
    pkts[0].recv_us, pkts[2].recv_us = 200_000, 220_000
    r = ad.on_feedback(ccfb(pkts), NOW_US)
    assert r.arrival_us[list(r.transport_seq).index(2)] == -1
    pkts[1].recv_us = 240_000
    fb = ccfb(pkts)
    r = ad.on_feedback(fb, NOW_US)
    i = list(r.transport_seq).index(2)
    assert r.arrival_us[i] >= 0 and r.recovered[i]
    r = ad.on_feedback(fb, NOW_US)
    if r is not None and 2 in r.transport_seq:
        assert not r.recovered[list(r.transport_seq).index(2)]


def test_twcc_lost_then_received():
    # a packet reported lost stays in the history; a later feedback may report it received
    ad = FeedbackAdapter()
    for s in range(3):
        ad.on_sent(s, 1000 * s, 100)
    r = ad.on_feedback(TransportFeedback.build(0, [0, 2], [10_000, 12_000])[0], NOW_US)
    assert list(r.arrival_us >= 0) == [True, False, True] and r.lost_first_time[1]
    r = ad.on_feedback(TransportFeedback.build(1, [1], [11_000])[0], NOW_US + 1000)
    assert list(r.transport_seq) == [1] and r.arrival_us[0] >= 0


def test_duplicate_feedback_reports_received_packets_once():
    ad = FeedbackAdapter()
    for s in range(3):
        ad.on_sent(s, 1000 * s, 100)
    fb = TransportFeedback.build(0, [0, 1, 2], [10_000, 11_000, 12_000])[0]
    assert len(ad.on_feedback(fb, NOW_US)) == 3
    assert ad.on_feedback(fb, NOW_US) is None
    assert ad.failed_lookups == 3


def test_timestamp_deltas():
    # the 2023 TimestampDeltas test: small, large positive, large negative deltas, and a
    # delta too large for one feedback (a second one carries it)
    small = (250 * 0xFF) // 1000 * 1000
    large_pos = (250 * 32767) // 1000 * 1000
    large_neg = -((250 * 32768) // 1000 * 1000)
    sends, recvs = [100_000], [200_000]
    for d in (small, large_pos, large_neg):
        sends.append(sends[-1] + d)
        recvs.append(recvs[-1] + d)
    last_send, last_recv = sends[-1] + large_pos + 1000, recvs[-1] + large_pos + 1000
    ad = FeedbackAdapter()
    for i, s in enumerate([*sends, last_send]):
        ad.on_sent(i + 1, s, 1500)
    fb, n = TransportFeedback.build(1, [1, 2, 3, 4, 5], [*recvs, last_recv], ref_us=recvs[0])
    assert n == 4
    r = ad.on_feedback(TransportFeedback.parse(fb.to_bytes()), NOW_US)
    compare(
        [Pkt(0, i + 1, 0, 1500, s, rv) for i, (s, rv) in enumerate(zip(sends, recvs, strict=True))],
        r,
    )
    r = ad.on_feedback(TransportFeedback.build(5, [5], [last_recv])[0], NOW_US)
    assert list(r.send_us) == [last_send]


def test_sequence_numbers_unwrap_across_65536():
    ad = FeedbackAdapter()
    for i in range(70_000):
        ad.on_sent(i & 0xFFFF, i * 100, 100)
    fb, _ = TransportFeedback.build(
        69_998 & 0xFFFF, [69_998 & 0xFFFF, 69_999 & 0xFFFF], [10_000_000, 10_001_000]
    )
    r = ad.on_feedback(fb, 8_000_000)
    assert list(r.transport_seq) == [69_998, 69_999]
    assert list(r.send_us) == [6_999_800, 6_999_900]


def test_history_horizon():
    # libwebrtc's kSendTimeHistoryWindow: packets created more than 60 s before the
    # newest one are forgotten (and leave the in-flight count)
    ad = FeedbackAdapter()
    ad.on_sent(0, 0, 100)
    ad.on_sent(1, 60_000_000, 100)
    assert ad.history_packets == 2
    ad.on_sent(2, 60_000_001, 100)
    assert ad.history_packets == 2 and ad.forgotten_packets == 1 and ad.in_flight_bytes == 200
    r = ad.on_feedback(TransportFeedback.build(0, [0, 1], [1000, 2000])[0], 61_000_000)
    assert list(r.transport_seq) == [1]


def test_health():
    ad = FeedbackAdapter(late_after_ms=500, stopped_after_ms=3000)
    assert ad.health(0).status == FeedbackStatus.WAITING
    ad.on_sent(0, 0, 100)
    assert ad.health(2_000_000).status == FeedbackStatus.WAITING
    assert ad.health(3_500_000).status == FeedbackStatus.STOPPED
    ad.on_feedback(TransportFeedback.build(0, [0], [1000])[0], 3_600_000)
    ad.on_sent(1, 3_600_000, 100)
    assert ad.health(3_900_000).status == FeedbackStatus.OK
    assert ad.health(4_500_000).status == FeedbackStatus.LATE
    h = ad.health(7_000_000)
    assert h.status == FeedbackStatus.STOPPED and h.since_feedback_us == 3_400_000
    assert h.in_flight_bytes == 100


def test_report_feeds_the_estimator():
    import mediaopt as mo

    ad = FeedbackAdapter()
    est = mo.GccEstimator()
    for i in range(20):
        ad.on_sent(i, 1000 + i * 5000, 1200)
    fb, _ = TransportFeedback.build(0, list(range(20)), [50_000 + i * 5000 for i in range(20)])
    r = ad.on_feedback(fb, 200_000)
    target = est.on_feedback(
        r.send_us, r.arrival_us, r.size_bytes, r.feedback_us, r.probe_cluster_id
    )
    assert target > 0 and np.all(np.diff(r.arrival_us) == 5000)
