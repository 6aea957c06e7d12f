"""Hypothesis fuzzing of every mediaopt.rtp parser: any bytes -> a value or InputError.

(tests/fuzz/fuzz_rtp.py is the coverage-guided atheris harness for long runs.)
"""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from mediaopt.errors import InputError
from mediaopt.rtp import (
    CongestionControlFeedback,
    FeedbackAdapter,
    FeedbackGenerator,
    TransportFeedback,
    partition_feedback,
    read_extension,
    read_transport_seq,
    write_transport_seq,
)


@st.composite
def rtcp_like(draw, fmt: int):
    # valid headers with random bodies reach deeper than random bytes
    body = draw(st.binary(min_size=0, max_size=120))
    body += bytes(-len(body) % 4)
    pad = draw(st.booleans())
    b0 = 0x80 | (0x20 if pad else 0) | fmt
    data = bytes([b0, 205]) + struct.pack("!H", len(body) // 4) + body
    if draw(st.booleans()):
        data = bytearray(data)
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
        data = bytes(data)
    return data


def only_input_errors(fn, *args):
    try:
        return fn(*args)
    except InputError:
        return None


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=200), rtcp_like(15)))
def test_transport_cc_parser(data):
    fb = only_input_errors(TransportFeedback.parse, data)
    if fb is not None:
        assert TransportFeedback.parse(fb.to_bytes()) == fb


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=200), rtcp_like(11)))
def test_rfc8888_parser(data):
    fb = only_input_errors(CongestionControlFeedback.parse, data)
    if fb is not None:
        assert CongestionControlFeedback.parse(fb.to_bytes()) == fb


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_compound_splitter(data):
    only_input_errors(partition_feedback, data)


@settings(max_examples=300)
@given(st.binary(max_size=100), st.integers(1, 14), st.integers(0, 65535))
def test_header_extension(data, ext_id, seq):
    rtp = bytes([0x90 | (data[0] & 0x2F) if data else 0x90]) + data[1:]
    only_input_errors(read_transport_seq, rtp, ext_id)
    only_input_errors(read_extension, rtp, ext_id)
    out = only_input_errors(write_transport_seq, rtp, ext_id, seq)
    if out is not None:
        assert read_transport_seq(out, ext_id) == seq


@settings(max_examples=200)
@given(st.lists(st.one_of(rtcp_like(15), rtcp_like(11), st.binary(max_size=60)), max_size=8))
def test_adapter_on_hostile_feedback(packets):
    ad = FeedbackAdapter()
    for s in range(100):
        ad.on_sent(s, s * 1000, 1000, ssrc=s % 3, rtp_seq=s)
    for i, p in enumerate(packets):
        r = only_input_errors(ad.on_feedback, p, 1_000_000 + i)
        if r is not None:
            assert (r.arrival_us >= -1).all() and len(r) <= 65535
    assert ad.in_flight_bytes >= 0


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 65535), st.integers(0, 10**9)), max_size=300))
def test_generator_on_any_arrivals(arrivals):
    g = FeedbackGenerator(max_packet_bytes=200)
    for seq, t in arrivals:
        g.on_received(t, transport_seq=seq)
    for p in g.poll(10**9 + 1):
        assert len(p) <= 200
        TransportFeedback.parse(p)
