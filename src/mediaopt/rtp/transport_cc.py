"""transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01, RTPFB FMT 15).

:class:`TransportFeedback` is one feedback packet as numbers: the base sequence number,
the 24-bit reference time (64 ms units), the feedback packet count, one status symbol per
described packet and one receive delta (250 us ticks) per received packet. ``parse`` and
``to_bytes`` follow libwebrtc's ``rtcp::TransportFeedback`` byte for byte (the chunk
choice of its ``LastChunk`` encoder, padding with the count in the last byte); ``build``
adds arrivals as its ``SetBase`` + ``AddReceivedPacket`` do. The per-packet loops run in
``mediaopt._core.rtp_wire``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from mediaopt._core import rtp_wire
from mediaopt._validate import check_int
from mediaopt.errors import InputError

#: Receive delta unit (libwebrtc ``kDeltaTick``), us.
DELTA_TICK_US = 250
#: Reference time unit (``kBaseTimeTick``), us.
BASE_TICK_US = 64_000
#: The reference time wraps after 2^24 ticks (``kTimeWrapPeriod``), us.
TIME_WRAP_US = BASE_TICK_US * (1 << 24)
#: Packets one feedback can describe (``kMaxReportedPackets``).
MAX_REPORTED_PACKETS = 0xFFFF
#: Status symbols.
NOT_RECEIVED, SMALL_DELTA, LARGE_DELTA = 0, 1, 2


@dataclasses.dataclass(frozen=True, eq=False)
class TransportFeedback:
    """One transport-cc feedback packet.

    ``status[i]`` describes sequence number ``base_seq + i`` (mod 2^16): 0 not received,
    1 received with a one-byte delta, 2 received with a two-byte delta (3 is reserved;
    a packet without deltas may carry it). ``delta_ticks[j]`` is the receive delta of the
    j-th received packet in 250 us ticks: the first one from the reference time, each
    next one from the previous received packet.
    """

    base_seq: int
    base_time_ticks: int
    fb_pkt_count: int
    status: npt.NDArray[np.uint8]
    delta_ticks: npt.NDArray[np.int16]
    sender_ssrc: int = 0
    media_ssrc: int = 0
    include_timestamps: bool = True

    def __post_init__(self) -> None:
        check_int("base_seq", self.base_seq, min_value=0, max_value=0xFFFF)
        check_int("base_time_ticks", self.base_time_ticks, min_value=0, max_value=(1 << 24) - 1)
        check_int("fb_pkt_count", self.fb_pkt_count, min_value=0, max_value=0xFF)
        check_int("sender_ssrc", self.sender_ssrc, min_value=0, max_value=0xFFFFFFFF)
        check_int("media_ssrc", self.media_ssrc, min_value=0, max_value=0xFFFFFFFF)
        status = np.asarray(self.status)
        if status.ndim != 1 or not 1 <= status.size <= MAX_REPORTED_PACKETS:
            raise InputError(f"status: needs 1..{MAX_REPORTED_PACKETS} symbols")
        if status.dtype.kind not in "iu" or int(status.min()) < 0 or int(status.max()) > 3:
            raise InputError("status: symbols must be 0..3")
        status = np.ascontiguousarray(status, dtype=np.uint8)
        deltas = np.asarray(self.delta_ticks)
        if deltas.ndim != 1 or (deltas.size and deltas.dtype.kind not in "iu"):
            raise InputError("delta_ticks: expected a 1-D integer array")
        if deltas.size and (int(deltas.min()) < -32768 or int(deltas.max()) > 32767):
            raise InputError("delta_ticks: each delta must fit in 16 bits")
        n_recv = int(np.count_nonzero(status))
        if deltas.size != n_recv:
            raise InputError(f"delta_ticks: {deltas.size} deltas for {n_recv} received packets")
        deltas = np.ascontiguousarray(deltas, dtype=np.int16)
        status.flags.writeable = False
        deltas.flags.writeable = False
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "delta_ticks", deltas)
        object.__setattr__(self, "base_seq", int(self.base_seq))
        object.__setattr__(self, "base_time_ticks", int(self.base_time_ticks))
        object.__setattr__(self, "fb_pkt_count", int(self.fb_pkt_count))
        object.__setattr__(self, "sender_ssrc", int(self.sender_ssrc))
        object.__setattr__(self, "media_ssrc", int(self.media_ssrc))

    # ------------------------------------------------------------------ wire

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> TransportFeedback:
        """Parse one packet (exactly its bytes); ``InputError`` names what is wrong."""
        sender, media, base, ticks, fbc, with_ts, status, deltas = rtp_wire.twcc_parse(data)
        return cls(base, ticks, fbc, status, deltas, sender, media, bool(with_ts))

    def to_bytes(self) -> bytes:
        """Serialize as libwebrtc's ``TransportFeedback::Create`` does."""
        return rtp_wire.twcc_encode(
            self.base_seq,
            self.base_time_ticks,
            self.fb_pkt_count,
            self.sender_ssrc,
            self.media_ssrc,
            self.status,
            self.delta_ticks,
            self.include_timestamps,
        )

    @classmethod
    def build(
        cls,
        base_seq: int,
        seqs: Sequence[int] | npt.ArrayLike,
        arrival_us: Sequence[int] | npt.ArrayLike,
        *,
        ref_us: int | None = None,
        fb_pkt_count: int = 0,
        sender_ssrc: int = 0,
        media_ssrc: int = 0,
        include_timestamps: bool = True,
        max_size_bytes: int = 262_144,
    ) -> tuple[TransportFeedback, int]:
        """Feedback for received packets ``seqs`` (in order) arriving at ``arrival_us``.

        As libwebrtc's ``SetBase(base_seq, ref_us)`` then ``AddReceivedPacket`` for each
        packet; ``ref_us`` defaults to the first arrival. Packets are added until the
        first one that does not fit (delta beyond 16 bits, sequence not increasing, more
        than 65535 packets, ``max_size_bytes``); returns the feedback and how many fit.
        """
        arr = np.asarray(arrival_us)
        ref = int(arr[0]) if ref_us is None and arr.size else (0 if ref_us is None else ref_us)
        n, ticks, status, deltas = rtp_wire.twcc_from_arrivals(
            base_seq, ref, seqs, arrival_us, include_timestamps, max_size_bytes
        )
        if n == 0:
            raise InputError("seqs: not even the first packet fits in a feedback")
        fb = cls(
            base_seq,
            ticks,
            fb_pkt_count,
            status,
            deltas,
            sender_ssrc,
            media_ssrc,
            include_timestamps,
        )
        return fb, int(n)

    # ------------------------------------------------------------------ views

    @property
    def packet_status_count(self) -> int:
        """Packets described (received and not)."""
        return int(self.status.size)

    @property
    def seqs(self) -> npt.NDArray[np.uint16]:
        """Sequence number of every described packet."""
        return ((self.base_seq + np.arange(self.status.size)) & 0xFFFF).astype(np.uint16)

    @property
    def received(self) -> npt.NDArray[np.bool_]:
        """True for each described packet that was received."""
        return np.asarray(self.status != NOT_RECEIVED, dtype=np.bool_)

    @property
    def base_time_us(self) -> int:
        """The reference time, us (modulo the 24-bit wrap)."""
        return self.base_time_ticks * BASE_TICK_US

    def arrival_offsets_us(self) -> npt.NDArray[np.int64]:
        """Arrival of each received packet relative to the reference time, us."""
        return np.cumsum(self.delta_ticks.astype(np.int64)) * DELTA_TICK_US

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, TransportFeedback):
            return NotImplemented
        return (
            self.base_seq == other.base_seq
            and self.base_time_ticks == other.base_time_ticks
            and self.fb_pkt_count == other.fb_pkt_count
            and self.sender_ssrc == other.sender_ssrc
            and self.media_ssrc == other.media_ssrc
            and self.include_timestamps == other.include_timestamps
            and np.array_equal(self.status != 0, other.status != 0)
            and np.array_equal(self.delta_ticks, other.delta_ticks)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"TransportFeedback(base_seq={self.base_seq}, packets={self.status.size}, "
            f"received={self.delta_ticks.size}, base_time_ticks={self.base_time_ticks}, "
            f"fb_pkt_count={self.fb_pkt_count})"
        )
