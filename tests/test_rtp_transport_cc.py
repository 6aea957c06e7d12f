"""transport-cc feedback: libwebrtc's transport_feedback_unittest.cc re-expressed.

libwebrtc's test builds packets with SetBase/AddReceivedPacket (our TransportFeedback.build),
checks the serialized size, the sequence numbers and the receive deltas, parses the bytes
back and checks again (FeedbackTester). Its scenarios and numbers are kept; byte vectors
come from hand-encoding libwebrtc's chunk rules and from pion/rtcp's captured packets.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaopt.errors import InputError
from mediaopt.rtp import FeedbackAdapter, TransportFeedback
from mediaopt.rtp.transport_cc import BASE_TICK_US, DELTA_TICK_US, TIME_WRAP_US

HEADER, CHUNK, SMALL, LARGE = 20, 2, 1, 2
DELTA_LIMIT_US = 0xFF * DELTA_TICK_US
TICK = DELTA_TICK_US


def words(n: int) -> int:
    return (n + 3) // 4 * 4


def default_times(seqs: list[int], delta_us: int) -> list[int]:
    # FeedbackTester::GenerateReceiveTimestamps
    out, last, t = [], seqs[0], 0
    for s in seqs:
        if s < last:
            t += 0x10000 * delta_us
        last = s
        out.append(t + last * delta_us)
    return out


def check(
    seqs: list[int],
    times: list[int] | None = None,
    *,
    expected_size: int | None = None,
    delta_us: int = 4 * TICK,
    include_timestamps: bool = True,
) -> TransportFeedback:
    """FeedbackTester: build, check, serialize, parse, check again."""
    times = default_times(seqs, delta_us) if times is None else times
    fb, n = TransportFeedback.build(seqs[0], seqs, times, include_timestamps=include_timestamps)
    assert n == len(seqs)
    data = fb.to_bytes()
    if expected_size is not None:
        assert len(data) == words(expected_size)
    for f in (fb, TransportFeedback.parse(data)):
        assert f.include_timestamps == include_timestamps
        assert list(f.seqs[f.received]) == [s & 0xFFFF for s in seqs]
        if include_timestamps:
            d = f.delta_ticks.astype(np.int64) * TICK
            # the first delta compensates the base time's precision
            assert d[0] == times[0] - (times[0] % TIME_WRAP_US) // BASE_TICK_US * BASE_TICK_US
            assert list(d[1:]) == [b - a for a, b in itertools.pairwise(times)]
    assert TransportFeedback.parse(data).to_bytes() == data
    return fb


def test_one_bit_vector_bytes():
    received = [1, 2, 7, 8, 9, 10, 13]
    fb = check(received, expected_size=HEADER + CHUNK + len(received) * SMALL)
    # hand-encoded: one-bit chunk 11 0000 1111 00 1 -> 0xB0F2, deltas 1 ms = 4 ticks
    assert fb.to_bytes().hex() == (
        "afcd000700000000000000000001000d00000000b0f20404140404040c000003"
    )


def test_one_bit_vector_no_recv_delta():
    check([1, 2, 7, 8, 9, 10, 13], expected_size=HEADER + CHUNK, include_timestamps=False)


def test_full_one_bit_vector():
    r = [1, 2, 7, 8, 9, 10, 13, 14]
    check(r, expected_size=HEADER + CHUNK + len(r) * SMALL)


def test_one_bit_vector_wrap_received():
    r = [0xFFFD, 0xFFFE, 0xFFFF, 0, 1, 2]
    check(r, expected_size=HEADER + CHUNK + len(r) * SMALL)


def test_one_bit_vector_wrap_missing():
    r = [0xFFFD, 0xFFFE, 1, 2]
    check(r, expected_size=HEADER + CHUNK + len(r) * SMALL)


def test_two_bit_vector():
    r = [1, 2, 6, 7]
    check(r, expected_size=HEADER + CHUNK + len(r) * LARGE, delta_us=DELTA_LIMIT_US + TICK)


def test_two_bit_vector_full():
    r = [1, 2, 6, 7, 8]
    check(r, expected_size=HEADER + 2 * CHUNK + len(r) * LARGE, delta_us=DELTA_LIMIT_US + TICK)


def test_large_base_time_is_consistent():
    t = 0x7FFFFFFF * TICK
    fb, n = TransportFeedback.build(0, [0], [t], ref_us=t)
    assert n == 1 and TransportFeedback.parse(fb.to_bytes()) == fb


def test_large_and_negative_deltas():
    times = [2000, 1000, 4000, 3000, 3000 + TICK * (1 << 8)]
    check([1, 2, 6, 7, 8], times, expected_size=HEADER + CHUNK + 3 * LARGE + SMALL)


def test_max_rle():
    # one-bit chunk (1 received + 13 lost), a full run-length chunk, a one-bit chunk
    count = (1 << 13) - 1 + 14
    fb = check([0, count], [1000, 2000], expected_size=HEADER + 3 * CHUNK + 2 * SMALL)
    assert fb.packet_status_count == count + 1


def test_min_rle():
    check([0, 14 * 2 + 1], [1000, 2000], expected_size=HEADER + 3 * CHUNK + 2 * SMALL)


def test_one_to_two_bit_vector():
    check([0, 6], [0, DELTA_LIMIT_US + TICK], expected_size=HEADER + CHUNK + SMALL + LARGE)


def test_one_to_two_bit_vector_simple_split():
    check([0, 7], [0, DELTA_LIMIT_US + TICK], expected_size=HEADER + 2 * CHUNK + SMALL + LARGE)


def test_one_to_two_bit_vector_split():
    n = 3 * 7 + 1
    times = [1000]
    for i in range(1, n):
        times.append(times[-1] + (TICK * (1 << 8) if i == 8 else 1000))
    check(list(range(n)), times, expected_size=HEADER + 3 * CHUNK + SMALL * (n - 1) + LARGE)


def test_aliasing():
    too_small = TICK / 3
    times = [int(i * too_small) for i in range(100)]
    fb, n = TransportFeedback.build(0, list(range(100)), times, ref_us=0)
    assert n == 100
    acc = np.cumsum(fb.delta_ticks.astype(np.int64)) * TICK
    assert np.all(np.abs(acc - np.array(times)) <= TICK / 2)


def test_limits():
    # sequence number wrap above 0x8000
    assert TransportFeedback.build(0, [0, 0x8000], [0, 1000], ref_us=0)[1] == 2
    assert TransportFeedback.build(0, [0, 0x8001], [0, 1000], ref_us=0)[1] == 1
    # packet status count at most 0xFFFF
    assert TransportFeedback.build(0, [0, 0x8000, 0xFFFE], [0, 1000, 2000], ref_us=0)[1] == 3
    assert (
        TransportFeedback.build(0, [0, 0x8000, 0xFFFE, 0xFFFF], [0, 1000, 2000, 3000], ref_us=0)[1]
        == 3
    )
    # too large delta
    max_pos = 32767 * TICK
    with pytest.raises(InputError, match="not even the first packet"):
        TransportFeedback.build(0, [1], [max_pos + TICK], ref_us=0)
    assert TransportFeedback.build(0, [1], [max_pos], ref_us=0)[1] == 1
    # too large negative delta
    base = 1_000_000 * 1_000_000
    with pytest.raises(InputError):
        TransportFeedback.build(0, [1], [base - 32768 * TICK - TICK], ref_us=base)
    assert TransportFeedback.build(0, [1], [base - 32768 * TICK], ref_us=base)[1] == 1


def test_base_time_is_consistent_across_multiple_packets():
    # packet 1 at the last base tick before the wrap, packet 2 one tick later (wrapped):
    # the adapter's GetBaseDelta must see +64 ms, not -12 days
    max_base = TIME_WRAP_US - BASE_TICK_US
    p1 = TransportFeedback.parse(TransportFeedback.build(0, [0], [max_base])[0].to_bytes())
    p2 = TransportFeedback.parse(
        TransportFeedback.build(1, [1], [max_base + BASE_TICK_US])[0].to_bytes()
    )
    assert (p1.base_time_ticks, p2.base_time_ticks) == ((1 << 24) - 1, 0)
    ad = FeedbackAdapter()
    ad.on_sent(0, 1000, 100)
    ad.on_sent(1, 2000, 100)
    a1 = ad.on_feedback(p1, 10_000_000)
    a2 = ad.on_feedback(p2, 10_000_000)
    assert a2.arrival_us[0] - a1.arrival_us[0] == BASE_TICK_US


def test_supports_maximum_number_of_negative_deltas():
    t = 1000 * TIME_WRAP_US
    min_delta = -32768 * TICK
    n = 65534
    times = [t + min_delta * (i + 1) for i in range(n + 1)]
    fb, added = TransportFeedback.build(0, list(range(1, n + 2)), times, ref_us=t)
    assert added == n
    parsed = TransportFeedback.parse(fb.to_bytes())
    assert parsed.delta_ticks.size == n
    assert np.all(parsed.delta_ticks == -32768)


def test_padding():
    fb, _ = TransportFeedback.build(0, [0], [0])
    data = fb.to_bytes()
    size = HEADER + CHUNK + SMALL
    assert len(data) == words(size)
    assert data[size:-1] == bytes(words(size) - size - 1)
    assert data[-1] == words(size) - size
    # four more bytes of padding, P bit set, length grown: still valid
    mod = bytearray(data) + bytes(3) + bytes([4 + words(size) - size])
    mod[0] |= 0x20
    mod[2:4] = (int.from_bytes(mod[2:4], "big") + 1).to_bytes(2, "big")
    assert TransportFeedback.parse(bytes(mod)) == fb


def test_padding_backwards_compatibility():
    # old clients padded with up to three zero bytes without the padding bit
    fb, _ = TransportFeedback.build(0, [0], [0])
    mod = bytearray(fb.to_bytes())
    mod[-1] = 0
    mod[0] &= ~0x20
    assert TransportFeedback.parse(bytes(mod)) == fb


def test_correctly_splits_vector_chunks():
    for deltas in range(16):
        seqs = list(range(deltas + 1))
        times = [i * 1000 for i in range(deltas)] + [deltas * 1000 + TICK * (1 << 8)]
        fb, n = TransportFeedback.build(0, seqs, times, ref_us=0)
        assert n == deltas + 1
        assert TransportFeedback.parse(fb.to_bytes()) == fb


def test_copy_keeps_bytes():
    fb, _ = TransportFeedback.build(
        7531,
        [7531 + i for i in range(100)],
        [123_456_789 + i * TICK for i in range(100)],
        fb_pkt_count=90,
    )
    assert TransportFeedback.parse(fb.to_bytes()).to_bytes() == fb.to_bytes()


@pytest.mark.parametrize("include", [True, False])
def test_reports_missing_packets(include):
    fb, _ = TransportFeedback.build(
        1000, [1000, 1003], [10_000, 12_000], fb_pkt_count=90, include_timestamps=include
    )
    p = TransportFeedback.parse(fb.to_bytes())
    assert list(p.received) == [True, False, False, True]
    assert list(p.seqs) == [1000, 1001, 1002, 1003]


# pion/rtcp's transport_layer_cc_test.go captured packets
PION_EX1 = bytes.fromhex("afcd0005fa17fa17 43032fa0 00990001 3de80217 2001 9401".replace(" ", ""))
PION_EX4 = bytes.fromhex(
    "afcd0007fa17fa17193dd8bb000400071063 6e01 2007 4c24 2410 0c0c 1000 0003".replace(" ", "")
)
PION_EX6 = bytes.fromhex("afcd00079b74f61f9371dcbc853c000963f916b3d55200309baa6aaa7b010901")


def test_pion_captured_packets():
    f1 = TransportFeedback.parse(PION_EX1)
    assert (f1.sender_ssrc, f1.media_ssrc, f1.base_seq, f1.base_time_ticks, f1.fb_pkt_count) == (
        4195875351,
        1124282272,
        153,
        4057090,
        23,
    )
    assert list(f1.delta_ticks.astype(int) * TICK) == [37000]
    assert f1.to_bytes() == PION_EX1
    f4 = TransportFeedback.parse(PION_EX4)
    assert list(f4.delta_ticks.astype(int) * TICK) == [19000, 9000, 9000, 4000, 3000, 3000, 4000]
    assert f4.to_bytes() == PION_EX4
    f6 = TransportFeedback.parse(PION_EX6)
    assert (f6.base_seq, f6.packet_status_count, f6.base_time_ticks, f6.fb_pkt_count) == (
        34108,
        9,
        6551830,
        179,
    )
    assert list(f6.status) == [1, 1, 1, 1, 1, 0, 2, 0, 0]
    assert list(f6.delta_ticks.astype(int) * TICK) == [38750, 42500, 26500, 42500, 30750, 66250]
    # libwebrtc's encoder ends with a run of 2 lost, not the capture's run of 48
    again = TransportFeedback.parse(f6.to_bytes())
    assert again == f6 and len(f6.to_bytes()) == len(PION_EX6)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "shorter than the 4-byte"),
        # pion's example7 (an empty feedback): libwebrtc needs at least 18 payload bytes
        (bytes.fromhex("8fcd00049acb044200000000000000000000000000"[:40]), "shorter than the 18"),
        (bytes.fromhex("8fcd0005" + "00" * 20), "status count is 0"),
        (bytes.fromhex("8fcd0005fa17fa1743032fa0009900143de80217c0000000"), "status chunks end"),
        (PION_EX1[:-4], "truncated"),
        (PION_EX1 + b"\0\0\0\0", "after the packet"),
        (bytes([0x4F]) + PION_EX1[1:], "version"),
        (bytes([0xAB]) + PION_EX1[1:], "FMT 11"),
        (PION_EX1[:-1] + b"\x00", "padding count is 0"),
        (PION_EX1[:-1] + b"\x40", "longer than"),
        ("not bytes", "expected bytes"),
    ],
)
def test_bad_bytes_name_the_problem(data, message):
    with pytest.raises(InputError, match=message):
        TransportFeedback.parse(data)


@pytest.mark.parametrize(
    "hexdata",
    [
        "afcd0005fa17fa1743032fa0009900033de8021720039401",
        "afcd0005fa17fa1743032fa0009900023de8021740029401",
    ],
)
def test_too_short_for_deltas_means_no_timestamps(hexdata):
    # pion rejects these (errPacketTooShort); libwebrtc reads them as feedback without
    # receive deltas (include_timestamps false), and so do we
    fb = TransportFeedback.parse(bytes.fromhex(hexdata))
    assert not fb.include_timestamps and fb.received.all()


def test_reserved_symbol_with_deltas():
    # one packet, two-bit chunk with symbol 3, room for three delta bytes
    data = bytes.fromhex("afcd0006" + "00" * 8 + "0000000100000000" + "f000" + "000000" + "000003")
    with pytest.raises(InputError, match="reserved"):
        TransportFeedback.parse(data)


@st.composite
def arrivals(draw):
    n = draw(st.integers(1, 300))
    gaps = draw(st.lists(st.integers(1, 40), min_size=n, max_size=n))
    seqs = np.cumsum(gaps) + draw(st.integers(0, 65535))
    kinds = draw(st.lists(st.sampled_from(["small", "large", "neg"]), min_size=n, max_size=n))
    t = draw(st.integers(10**7, 10**12))
    times = []
    for k in kinds:
        t += {
            "small": draw(st.integers(0, 63_000)),
            "large": draw(st.integers(64_000, 8_000_000)),
            "neg": -draw(st.integers(1, 8_000_000)),
        }[k]
        times.append(max(t, 0))
    return [int(s) & 0xFFFF for s in seqs], times


@given(arrivals(), st.booleans(), st.integers(0, 255))
def test_round_trip_every_chunk_type_wrap_and_delta_size(arr, include, count):
    seqs, times = arr
    fb, n = TransportFeedback.build(
        seqs[0], seqs, times, fb_pkt_count=count, include_timestamps=include
    )
    data = fb.to_bytes()
    parsed = TransportFeedback.parse(data)
    assert parsed == fb
    assert parsed.to_bytes() == data
    assert list(parsed.seqs[parsed.received]) == seqs[:n]
