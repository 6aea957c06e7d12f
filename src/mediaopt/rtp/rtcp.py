"""Compound RTCP: split it into packets and take congestion feedback out of it.

RFC 3550 compound packets are RTCP packets back to back, each with its own length
(section 6.1). :func:`split_compound` checks every header (version, length, padding) and
returns the packets' bytes; :func:`partition_feedback` separates transport-cc (RTPFB FMT
15) and RFC 8888 (RTPFB FMT 11) packets from the rest, which is rejoined unchanged for
its owner (an RTP stack's own SR/RR/SDES/BYE/NACK/PLI/REMB parser).
"""

from __future__ import annotations

from mediaopt.errors import InputError

#: RTCP packet type of transport-layer feedback (RFC 4585).
RTPFB = 205
#: RTPFB feedback message types.
FMT_NACK, FMT_CCFB, FMT_TRANSPORT_CC = 1, 11, 15


def split_compound(data: bytes | bytearray | memoryview) -> list[bytes]:
    """The RTCP packets of a compound packet, each exactly its own bytes."""
    if isinstance(data, str):
        raise InputError("rtcp: expected bytes, got str")
    buf = bytes(data)
    out: list[bytes] = []
    pos = 0
    n = len(buf)
    if n == 0:
        raise InputError("rtcp: empty packet")
    while pos < n:
        if n - pos < 4:
            raise InputError(f"rtcp: {n - pos} bytes at offset {pos}, shorter than a header")
        if buf[pos] >> 6 != 2:
            raise InputError(f"rtcp: version {buf[pos] >> 6} at offset {pos}, expected 2")
        length = 4 * (int.from_bytes(buf[pos + 2 : pos + 4], "big") + 1)
        if pos + length > n:
            raise InputError(
                f"rtcp: packet at offset {pos} says {length} bytes, {n - pos} are left"
            )
        if buf[pos] & 0x20:
            pad = buf[pos + length - 1]
            if pad == 0 or pad > length - 4:
                raise InputError(f"rtcp: packet at offset {pos} has an invalid padding count")
        out.append(buf[pos : pos + length])
        pos += length
    return out


def is_congestion_feedback(packet: bytes) -> bool:
    """True for a transport-cc or RFC 8888 packet (by its header)."""
    return (
        len(packet) >= 2
        and packet[1] == RTPFB
        and (packet[0] & 0x1F) in (FMT_TRANSPORT_CC, FMT_CCFB)
    )


def partition_feedback(data: bytes | bytearray | memoryview) -> tuple[list[bytes], bytes]:
    """``(congestion feedback packets, every other packet rejoined in order)``."""
    feedback: list[bytes] = []
    rest: list[bytes] = []
    for packet in split_compound(data):
        (feedback if is_congestion_feedback(packet) else rest).append(packet)
    return feedback, b"".join(rest)
