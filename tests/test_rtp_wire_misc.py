"""The RFC 8285 header extension element and compound RTCP splitting."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaopt.errors import InputError
from mediaopt.rtp import (
    TransportFeedback,
    partition_feedback,
    read_extension,
    read_transport_seq,
    split_compound,
    write_transport_seq,
)


def rtp(
    ext: bytes | None = None,
    profile: int = 0xBEDE,
    payload: bytes = b"payload",
    csrc: int = 0,
    padding: int = 0,
) -> bytes:
    b0 = 0x80 | (0x10 if ext is not None else 0) | (0x20 if padding else 0) | csrc
    head = struct.pack("!BBHLL", b0, 96, 1, 2, 3) + bytes(4 * csrc)
    if ext is not None:
        ext = ext + bytes(-len(ext) % 4)
        head += struct.pack("!HH", profile, len(ext) // 4) + ext
    tail = (bytes(padding - 1) + bytes([padding])) if padding else b""
    return head + payload + tail


def test_add_to_a_packet_without_extensions():
    p = write_transport_seq(rtp(), 5, 0x1234)
    assert read_transport_seq(p, 5) == 0x1234
    assert p.endswith(b"payload")


def test_append_to_one_byte_block_and_overwrite():
    # aiortc's video packets: mid (id 1) and abs-send-time (id 3)
    p = rtp(bytes([0x10, ord("0"), 0x32, 1, 2, 3]))
    q = write_transport_seq(p, 5, 7)
    assert read_extension(q, 1) == b"0" and read_extension(q, 3) == b"\x01\x02\x03"
    assert read_transport_seq(q, 5) == 7
    r = write_transport_seq(q, 5, 9)
    assert len(r) == len(q) and read_transport_seq(r, 5) == 9


def test_two_byte_form():
    p = rtp(bytes([1, 0, 20, 1, 0xAA]), profile=0x1000)
    q = write_transport_seq(p, 21, 0xBEEF)
    assert read_transport_seq(q, 21) == 0xBEEF and read_extension(q, 1) == b""
    assert read_extension(q, 20) == b"\xaa"
    assert read_transport_seq(write_transport_seq(rtp(), 200, 3), 200) == 3


def test_keeps_csrc_and_padding():
    p = rtp(csrc=2, padding=4)
    q = write_transport_seq(p, 3, 11)
    assert read_transport_seq(q, 3) == 11 and q[-4:] == p[-4:] and q[0] & 0x2F == p[0] & 0x2F


def test_absent_and_reserved_id():
    assert read_transport_seq(rtp(), 5) is None
    # id 15 stops the scan (RFC 8285 4.2)
    assert read_transport_seq(rtp(bytes([0xF0, 0x51, 0, 1])), 5) is None


@pytest.mark.parametrize(
    "packet, message",
    [
        (b"\x80\x60", "shorter than the 12-byte"),
        (bytes([0x40]) + rtp()[1:], "version"),
        (rtp()[:12] + b"", None),
        (bytes([0x90]) + rtp()[1:12] + b"\xbe\xde\x00\x09", "runs past"),
        (rtp(bytes([0x53, 1])), "runs past its block"),
        (rtp(bytes([0x50, 1])), "expected 2"),
    ],
)
def test_bad_packets(packet, message):
    if message is None:
        assert read_transport_seq(packet, 5) is None
        return
    with pytest.raises(InputError, match=message):
        read_transport_seq(packet, 5)


def test_bad_arguments():
    with pytest.raises(InputError, match="ext_id"):
        write_transport_seq(rtp(), 0, 1)
    with pytest.raises(InputError, match="seq"):
        write_transport_seq(rtp(), 1, 70000)
    with pytest.raises(InputError, match="one-byte"):
        write_transport_seq(rtp(bytes([0x10, 1])), 20, 1)


@given(st.binary(max_size=64), st.integers(1, 14), st.integers(0, 65535))
def test_write_then_read_on_any_payload(payload, ext_id, seq):
    p = write_transport_seq(rtp(payload=payload), ext_id, seq)
    assert read_transport_seq(p, ext_id) == seq and p.endswith(payload)


SR = bytes.fromhex("80c80006" + "00000001" + "00" * 20)
RR = bytes.fromhex("81c90007" + "00000002" + "00" * 24)


def test_compound_split_and_partition():
    twcc, _ = TransportFeedback.build(0, [0], [0])
    padded = twcc.to_bytes()
    assert padded[0] & 0x20  # the FMT 15 packet carries padding (aiortc drops it all)
    compound = SR + padded + RR
    assert split_compound(compound) == [SR, padded, RR]
    fb, rest = partition_feedback(compound)
    assert fb == [padded] and rest == SR + RR


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (SR[:3], "shorter than a header"),
        (SR[:-4], "are left"),
        (bytes([0x40]) + SR[1:], "version"),
        (bytes([0xA0]) + SR[1:-1] + b"\x00", "padding"),
    ],
)
def test_compound_bad(data, message):
    with pytest.raises(InputError, match=message):
        split_compound(data)
