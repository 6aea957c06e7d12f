"""FeedbackGenerator: libwebrtc's transport_sequence_number_feedback_generator_unittest.cc
and congestion_control_feedback_generator_unittest.cc re-expressed."""

from __future__ import annotations

import pytest

from mediaopt.errors import InputError
from mediaopt.rtp import CongestionControlFeedback, FeedbackGenerator, TransportFeedback
from mediaopt.rtp.transport_cc import TIME_WRAP_US

MEDIA_SSRC = 456
BASE_SEQ = 10
BASE_TIME = 123_000
MAX_SMALL_DELTA = 250 * 0xFF
INTERVAL = 100_000


class Twcc:
    def __init__(self):
        self.gen = FeedbackGenerator(sender_ssrc=1)
        self.now = 0

    def packet(self, seq: int, t: int) -> None:
        self.gen.on_received(t, transport_seq=seq & 0xFFFF, ssrc=MEDIA_SSRC)

    def process(self) -> list[TransportFeedback]:
        self.now += INTERVAL
        return [TransportFeedback.parse(p) for p in self.gen.poll(self.now)]


def times(fb: TransportFeedback) -> list[int]:
    # the tests' Timestamps(): base time aligned near BASE_TIME, then the deltas
    base = fb.base_time_us
    if base > BASE_TIME:
        base -= round((base - BASE_TIME) / TIME_WRAP_US) * TIME_WRAP_US
    return list(base + fb.arrival_offsets_us())


def seqs(fb: TransportFeedback) -> list[int]:
    return [int(s) for s in fb.seqs[fb.received]]


def test_sends_single_packet_feedback():
    g = Twcc()
    g.packet(BASE_SEQ, BASE_TIME)
    [fb] = g.process()
    assert fb.base_seq == BASE_SEQ and fb.media_ssrc == MEDIA_SSRC
    assert seqs(fb) == [BASE_SEQ] and times(fb) == [BASE_TIME]


def test_duplicated_packets():
    g = Twcc()
    g.packet(BASE_SEQ, BASE_TIME)
    g.packet(BASE_SEQ, BASE_TIME + 1_000_000)
    [fb] = g.process()
    assert seqs(fb) == [BASE_SEQ] and times(fb) == [BASE_TIME]


def test_feedback_with_missing_start():
    g = Twcc()
    g.packet(BASE_SEQ, BASE_TIME)
    g.packet(BASE_SEQ + 1, BASE_TIME + 1_000_000)
    assert len(g.process()) == 1
    g.packet(BASE_SEQ + 3, BASE_TIME + 3_000_000)
    [fb] = g.process()
    assert fb.base_seq == BASE_SEQ + 2
    assert seqs(fb) == [BASE_SEQ + 3] and times(fb) == [BASE_TIME + 3_000_000]


def test_sends_feedback_with_varying_deltas():
    g = Twcc()
    t = [BASE_TIME, BASE_TIME + MAX_SMALL_DELTA, BASE_TIME + 2 * MAX_SMALL_DELTA + 1000]
    for i, ti in enumerate(t):
        g.packet(BASE_SEQ + i, ti)
    [fb] = g.process()
    assert seqs(fb) == [BASE_SEQ, BASE_SEQ + 1, BASE_SEQ + 2] and times(fb) == t


def test_sends_fragmented_feedback():
    too_large = 250 * (1 << 16)
    g = Twcc()
    g.packet(BASE_SEQ, BASE_TIME)
    g.packet(BASE_SEQ + 1, BASE_TIME + too_large)
    fb1, fb2 = g.process()
    assert (fb1.base_seq, seqs(fb1), times(fb1)) == (BASE_SEQ, [BASE_SEQ], [BASE_TIME])
    assert (fb2.base_seq, seqs(fb2), times(fb2)) == (
        BASE_SEQ + 1,
        [BASE_SEQ + 1],
        [BASE_TIME + too_large],
    )


def test_handles_reordering_and_wrap():
    large = 62762
    g = Twcc()
    g.packet(BASE_SEQ, BASE_TIME)
    g.packet(large, BASE_TIME + 1_000_000)
    [fb] = g.process()
    assert fb.base_seq == large
    assert times(fb) == [BASE_TIME + 1_000_000, BASE_TIME]


def test_handles_malformed_sequence_numbers():
    g = Twcc()
    for i in range(10):
        g.packet(BASE_SEQ + i, BASE_TIME + 3 * i * 1_000_000)
        g.packet(BASE_SEQ + 20000 + i, BASE_TIME + (3 * i + 1) * 1_000_000)
        g.packet(BASE_SEQ + 40000 + i, BASE_TIME + (3 * i + 2) * 1_000_000)
    [fb] = g.process()
    assert seqs(fb) == [BASE_SEQ + 20009, BASE_SEQ + 40009]
    assert times(fb) == [BASE_TIME + 28_000_000, BASE_TIME + 29_000_000]


def test_handles_backwards_wrapping_sequence_numbers():
    g = Twcc()
    for i in range(10):
        g.packet(BASE_SEQ + i, BASE_TIME + 3 * i * 1_000_000)
        g.packet(BASE_SEQ + 40000 + i, BASE_TIME + (3 * i + 1) * 1_000_000)
        g.packet(BASE_SEQ + 20000 + i, BASE_TIME + (3 * i + 2) * 1_000_000)
    [fb] = g.process()
    assert fb.base_seq == BASE_SEQ + 40000
    assert seqs(fb) == [BASE_SEQ + 40000, BASE_SEQ]
    assert times(fb) == [BASE_TIME + 1_000_000, BASE_TIME]


def test_resends_timestamps_on_reordering():
    g = Twcc()
    g.packet(BASE_SEQ, BASE_TIME)
    g.packet(BASE_SEQ + 2, BASE_TIME + 2000)
    [fb] = g.process()
    assert seqs(fb) == [BASE_SEQ, BASE_SEQ + 2] and times(fb) == [BASE_TIME, BASE_TIME + 2000]
    g.packet(BASE_SEQ + 1, BASE_TIME + 1000)
    [fb] = g.process()
    assert fb.base_seq == BASE_SEQ + 1
    assert seqs(fb) == [BASE_SEQ + 1, BASE_SEQ + 2]
    assert times(fb) == [BASE_TIME + 1000, BASE_TIME + 2000]


def test_removes_timestamps_out_of_scope():
    timeout = BASE_TIME + 500_000
    g = Twcc()
    g.packet(BASE_SEQ + 2, BASE_TIME)
    [fb] = g.process()
    assert fb.base_seq == BASE_SEQ + 2 and times(fb) == [BASE_TIME]
    g.packet(BASE_SEQ + 3, timeout)  # BASE_SEQ + 2 times out here
    [fb] = g.process()
    assert fb.base_seq == BASE_SEQ + 3 and times(fb) == [timeout]
    g.packet(BASE_SEQ, BASE_TIME - 1000)
    g.packet(BASE_SEQ + 1, timeout - 1000)
    [fb] = g.process()
    assert fb.base_seq == BASE_SEQ
    assert seqs(fb) == [BASE_SEQ, BASE_SEQ + 1, BASE_SEQ + 3]
    assert times(fb) == [BASE_TIME - 1000, timeout - 1000, timeout]


@pytest.mark.parametrize("bps, ms", [(300_000, 50), (0, 250), (20_000, 250), (80_000, 136)])
def test_interval_follows_the_send_estimate(bps, ms):
    # TimeUntilNextProcessIs*: 5 % of the estimate, 50..250 ms
    assert FeedbackGenerator.interval_for_estimate_ms(bps) == ms
    g = FeedbackGenerator(adaptive_interval=True)
    g.set_send_estimate(bps)
    assert g.interval_ms == ms


def test_default_interval():
    assert FeedbackGenerator().interval_ms == 100


def test_splits_at_max_packet_bytes():
    g = FeedbackGenerator(max_packet_bytes=100)
    for i in range(400):
        g.on_received(i * 1000, transport_seq=i)
    out = g.poll(1_000_000)
    assert len(out) > 1 and all(len(p) <= 100 for p in out)
    got = [s for p in out for s in seqs(TransportFeedback.parse(p))]
    assert got == list(range(400))
    assert [TransportFeedback.parse(p).fb_pkt_count for p in out] == list(range(len(out)))


def test_first_arrival_at_zero():
    # the lost-feedback bug: a first arrival stamped 0 must not overflow a delta
    g = FeedbackGenerator()
    g.on_received(0, transport_seq=0)
    g.on_received(5000, transport_seq=1)
    [p] = g.poll(100_000)
    assert times(TransportFeedback.parse(p)) == [0, 5000]


def test_needs_the_sequence_number():
    with pytest.raises(InputError, match="transport_seq"):
        FeedbackGenerator().on_received(0)


# ---------------------------------------------------------------------- RFC 8888


def test_ccfb_sends_after_packet_with_marker_bit():
    g = FeedbackGenerator("rfc8888")
    t = 123_456_000
    assert g.next_poll_us(t) - t > 10_000
    t += 10_000
    g.on_received(t, ssrc=1234, rtp_seq=1, marker=False)
    g.on_received(t, ssrc=1234, rtp_seq=2, marker=True)
    assert len(g.poll(t)) == 1


def test_ccfb_delayed_without_marker_bit():
    g = FeedbackGenerator("rfc8888")
    t = 123_456_000
    assert g.next_poll_us(t) - t == 25_000
    t += 10_000
    g.on_received(t, ssrc=1234, rtp_seq=1, marker=False)
    assert g.poll(t + 24_999) == []
    assert len(g.poll(t + 25_000)) == 1


def test_ccfb_after_min_time_if_packets_with_marker_bit():
    g = FeedbackGenerator("rfc8888")
    t = 123_456_000
    sent_at = []
    for i in range(3):
        g.on_received(t, ssrc=1234, rtp_seq=i, marker=True)
        if g.poll(t):
            sent_at.append(t)
        t += 2000
    t = g.next_poll_us(t)
    assert len(g.poll(t)) == 1
    sent_at.append(t)
    assert sent_at[1] - sent_at[0] == 25_000


@pytest.mark.parametrize("per_ms, count", [(30, 40), (60, None)])
def test_ccfb_stays_within_500_kbit_s(per_ms, count):
    g = FeedbackGenerator("rfc8888")
    t0 = t = 123_456_000
    seq, sizes = 0, []
    nxt = g.next_poll_us(t)
    while t < t0 + 1_000_000:
        for _ in range(per_ms):
            g.on_received(t, ssrc=1234, rtp_seq=seq & 0xFFFF, marker=True)
            seq += 1
        if t >= nxt:
            sizes += [len(p) for p in g.poll(t)]
            nxt = g.next_poll_us(t)
        t += 1000
    assert sum(sizes) * 8 <= 500_000 + (sizes[-1] * 8 if per_ms == 60 else 0)
    if count is not None:
        assert len(sizes) == count
    else:
        assert len(sizes) < 40


def test_ccfb_two_ssrcs_missing_packets_and_wrap():
    g = FeedbackGenerator("rfc8888")
    t = 123_456_000
    g.on_received(t, ssrc=123, rtp_seq=1)
    g.on_received(t, ssrc=234, rtp_seq=1)
    g.on_received(t + 2000, ssrc=123, rtp_seq=0xFFFA)
    g.on_received(t + 2000, ssrc=234, rtp_seq=0xFFFC)
    [p] = g.poll(t + 25_000)
    fb = CongestionControlFeedback.parse(p)
    assert len(fb) == 14


def test_ccfb_first_arrival_but_ce_of_duplicate():
    g = FeedbackGenerator("rfc8888")
    t = 123_456_000
    g.on_received(t, ssrc=1, rtp_seq=2, ecn=1)
    g.on_received(t + 2000, ssrc=1, rtp_seq=2, ecn=3)
    now = t + 25_000
    [p] = g.poll(now)
    fb = CongestionControlFeedback.parse(p)
    assert len(fb) == 1 and fb.ecn[0] == 3
    assert abs(fb.arrival_offset_us[0] - (now - t)) < 1_000_000 / 1024
