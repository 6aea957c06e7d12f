"""The transport-wide sequence number header extension (RFC 8285 elements).

The sender stamps every RTP packet with a 16-bit transport-wide sequence number in the
extension ``http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01``;
the receiver reads it to build transport-cc feedback. Both work on the packet's bytes,
in the one-byte (``0xBEDE``) or two-byte (``0x100X``) form; the scan runs in
``mediaopt._core.rtp_wire``.
"""

from __future__ import annotations

from mediaopt._core import rtp_wire

#: The extension's URI in SDP (``a=extmap``).
TRANSPORT_WIDE_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

Bytes = bytes | bytearray | memoryview


def read_transport_seq(packet: Bytes, ext_id: int) -> int | None:
    """The transport-wide sequence number of ``packet`` (element ``ext_id``), or None."""
    seq = rtp_wire.rtp_transport_seq(packet, ext_id)
    return None if seq < 0 else int(seq)


def write_transport_seq(packet: Bytes, ext_id: int, seq: int) -> bytes:
    """``packet`` with element ``ext_id`` set to ``seq`` (added if absent)."""
    return rtp_wire.rtp_write_transport_seq(packet, ext_id, seq)


def read_extension(packet: Bytes, ext_id: int) -> bytes | None:
    """The data of any element ``ext_id`` of ``packet``, or None when absent."""
    return rtp_wire.rtp_read_extension(packet, ext_id)
