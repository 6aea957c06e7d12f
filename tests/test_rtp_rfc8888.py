"""RFC 8888 feedback: libwebrtc's congestion_control_feedback_unittest.cc re-expressed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaopt.errors import InputError
from mediaopt.rtp import CongestionControlFeedback, EcnMarking


def fb(packets, rts=1):
    ssrc = [p[0] for p in packets]
    seq = [p[1] for p in packets]
    off = [p[2] for p in packets]
    ecn = [p[3] if len(p) > 3 else 0 for p in packets]
    return CongestionControlFeedback.build(rts, ssrc, seq, off, ecn)


def test_block_length_no_packets():
    assert fb([]).block_length == 4 + 4 + 4


def test_block_length_two_ssrc_one_packet_each():
    assert fb([(1, 1, 0), (2, 1, 0)]).block_length == 4 + 4 + 4 + 2 * 8 + 2 * 4


def test_block_length_two_ssrc_two_packets_each():
    assert (
        fb([(1, 1, 0), (1, 2, 0), (2, 1, 0), (2, 2, 0)]).block_length == 4 + 4 + 4 + 2 * 8 + 2 * 4
    )


def test_block_length_missing_packets():
    # reports 1 and 4 of one SSRC: the block covers 1..4
    from mediaopt._core.rtp_wire import ccfb_block_length

    assert ccfb_block_length([1, 1], [1, 4]) == 4 + 4 + 4 + 8 + 2 * 4


def test_can_create_and_parse_without_packets():
    f = fb([], rts=1234)
    p = CongestionControlFeedback.parse(f.to_bytes())
    assert len(p) == 0 and p.report_timestamp == 1234


def test_can_create_and_parse_packets_with_two_ssrc():
    f = fb([(1, 1, 1000), (2, 1, 3000)], rts=1234)
    data = f.to_bytes()
    assert data[0] & 0x1F == 11 and data[1] == 205
    p = CongestionControlFeedback.parse(data)
    assert p.report_timestamp == 1234
    assert list(p.ssrc) == [1, 2] and list(p.seq) == [1, 1]
    # equal within 1/1024 s after the CompactNtp round trip
    assert np.all(np.abs(p.arrival_offset_us - [1000, 3000]) < 1_000_000 / 1024)


@pytest.mark.parametrize("ecn", [EcnMarking.CE, EcnMarking.ECT1])
def test_can_create_and_parse_with_ecn(ecn):
    p = CongestionControlFeedback.parse(fb([(1, 1, 1000, int(ecn))]).to_bytes())
    assert p.ecn[0] == ecn


def test_can_create_and_parse_with_missing_packets_and_wrap():
    f = fb([(1, 0xFFFE, 1000), (1, 0xFFFF, -1), (1, 0, -1), (1, 1, 1000)], rts=1234)
    p = CongestionControlFeedback.parse(f.to_bytes())
    assert list(p.seq) == [0xFFFE, 0xFFFF, 0, 1]
    assert list(p.received) == [True, False, False, True]
    assert p == f


def test_ato_is_libwebrtcs_13_bit_code():
    # To13bitAto: 1024 x seconds, truncated; capped at 0x1FFE; AtoToTimeDelta truncates
    p = fb([(1, 1, 500_000), (1, 2, 9_000_000), (1, 3, 999)])
    assert list(p.ato) == [512, 0x1FFE, 1]
    assert list(p.arrival_offset_us[:1]) == [500_000]
    assert p.arrival_offset_us[1] == -2  # over range: libwebrtc's +infinity


def test_not_consecutive_is_refused():
    with pytest.raises(InputError, match="consecutive"):
        fb([(1, 1, 0), (1, 3, 0)])


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x8b\xcd\x00\x00", "needs a multiple of 4"),
        (bytes.fromhex("8bcd00050000000100000002000100050000000000000000"), "runs past"),
        (bytes.fromhex("8bcd0003000000010000000200000000"), "do not end"),
        (bytes.fromhex("8fcd00020000000100000002"), "FMT 11"),
    ],
)
def test_bad_bytes_name_the_problem(data, message):
    with pytest.raises(InputError, match=message):
        CongestionControlFeedback.parse(data)


@given(
    st.lists(st.tuples(st.integers(1, 5), st.integers(1, 40)), min_size=0, max_size=6),
    st.integers(0, 2**32 - 1),
    st.data(),
)
def test_round_trip(blocks, rts, data):
    ssrc, seq, off, ecn = [], [], [], []
    for s, n in blocks:
        start = data.draw(st.integers(0, 65535))
        for i in range(n):
            ssrc.append(s * 1000 + len(ssrc))  # a new SSRC per block
            seq.append((start + i) & 0xFFFF)
            off.append(data.draw(st.sampled_from([-1, 0, 1000, 250_000, 7_999_000])))
            ecn.append(data.draw(st.integers(0, 3)))
        ssrc[-n:] = [ssrc[-n]] * n
    f = CongestionControlFeedback.build(rts, ssrc, seq, off, ecn)
    raw = f.to_bytes()
    p = CongestionControlFeedback.parse(raw)
    assert p == f and p.to_bytes() == raw
