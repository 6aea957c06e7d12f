"""RFC 8888 congestion control feedback (RTPFB FMT 11).

:class:`CongestionControlFeedback` holds one packet's reports: per reported RTP packet its
SSRC, sequence number, whether it was received, its ECN codepoint and the 13-bit arrival
time offset (1/1024 s before the report timestamp, a compact NTP time). ``parse`` and
``to_bytes`` follow libwebrtc's ``rtcp::CongestionControlFeedback``.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import numpy as np
import numpy.typing as npt

from mediaopt._core import rtp_wire
from mediaopt._validate import check_int
from mediaopt.errors import InputError

#: Arrival time offsets that are not times (RFC 8888 section 3.1).
ATO_OVER_RANGE = rtp_wire.ATO_OVER_RANGE
ATO_UNAVAILABLE = rtp_wire.ATO_UNAVAILABLE


class EcnMarking(enum.IntEnum):
    """The two ECN bits (RFC 3168)."""

    NOT_ECT = 0
    ECT1 = 1
    ECT0 = 2
    CE = 3


@dataclasses.dataclass(frozen=True, eq=False)
class CongestionControlFeedback:
    """One RFC 8888 feedback packet: a report per RTP packet, in report-block order."""

    report_timestamp: int
    ssrc: npt.NDArray[np.uint32]
    seq: npt.NDArray[np.uint16]
    received: npt.NDArray[np.bool_]
    ecn: npt.NDArray[np.uint8]
    ato: npt.NDArray[np.uint16]
    sender_ssrc: int = 0

    def __post_init__(self) -> None:
        check_int("report_timestamp", self.report_timestamp, min_value=0, max_value=0xFFFFFFFF)
        check_int("sender_ssrc", self.sender_ssrc, min_value=0, max_value=0xFFFFFFFF)
        n = np.asarray(self.ssrc).size
        for name, dtype in (
            ("ssrc", np.uint32),
            ("seq", np.uint16),
            ("received", np.bool_),
            ("ecn", np.uint8),
            ("ato", np.uint16),
        ):
            a = np.asarray(getattr(self, name))
            if a.ndim != 1 or a.size != n:
                raise InputError(f"{name}: expected {n} values, one per report")
            a = np.ascontiguousarray(a, dtype=dtype)
            a.flags.writeable = False
            object.__setattr__(self, name, a)

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> CongestionControlFeedback:
        """Parse one packet (exactly its bytes); ``InputError`` names what is wrong."""
        sender, rts, ssrc, seq, received, ecn, ato = rtp_wire.ccfb_parse(data)
        return cls(rts, ssrc, seq, received, ecn, ato, sender)

    @classmethod
    def build(
        cls,
        report_timestamp: int,
        ssrc: npt.ArrayLike,
        seq: npt.ArrayLike,
        arrival_offset_us: npt.ArrayLike,
        ecn: npt.ArrayLike | None = None,
        *,
        sender_ssrc: int = 0,
    ) -> CongestionControlFeedback:
        """Reports from arrival offsets (us before ``report_timestamp``; -1 not received).

        Offsets are coded as libwebrtc's ``To13bitAto`` does (1024 x single-precision
        seconds, truncated; 0x1FFE beyond 8189/1024 s).
        """
        n = np.asarray(ssrc).size
        e = np.zeros(n, dtype=np.int64) if ecn is None else ecn
        return cls.parse(
            rtp_wire.ccfb_encode(sender_ssrc, report_timestamp, ssrc, seq, arrival_offset_us, e)
        )

    def to_bytes(self) -> bytes:
        """Serialize as libwebrtc's ``CongestionControlFeedback::Create`` does.

        The 13-bit codes are written as held, so parse -> to_bytes is byte-identical.
        """
        offsets = np.where(self.received, 0, -1)
        data = bytearray(
            rtp_wire.ccfb_encode(
                self.sender_ssrc,
                self.report_timestamp,
                self.ssrc.astype(np.int64),
                self.seq.astype(np.int64),
                offsets,
                self.ecn.astype(np.int64),
            )
        )
        words = (0x8000 | (self.ecn.astype(np.uint32) << 13) | self.ato).astype(">u2")
        pos, k = 8, 0
        while pos + 8 < len(data) - 4:
            num = int.from_bytes(data[pos + 6 : pos + 8], "big")
            pos += 8
            block = words[k : k + num].copy()
            block[~self.received[k : k + num]] = 0
            data[pos : pos + 2 * num] = block.tobytes()
            pos += 2 * num + (2 if num % 2 else 0)
            k += num
        return bytes(data)

    @property
    def arrival_offset_us(self) -> npt.NDArray[np.int64]:
        """Arrival before the report timestamp, us (libwebrtc's ``AtoToTimeDelta``).

        -1 not received or unavailable, -2 over range.
        """
        out = rtp_wire.ato_to_us(self.ato)
        out[~self.received] = -1
        return out

    @property
    def block_length(self) -> int:
        """Bytes of the serialized packet."""
        return int(rtp_wire.ccfb_block_length(self.ssrc, self.seq))

    def __len__(self) -> int:
        return int(self.ssrc.size)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, CongestionControlFeedback):
            return NotImplemented
        return (
            self.report_timestamp == other.report_timestamp
            and self.sender_ssrc == other.sender_ssrc
            and all(
                np.array_equal(getattr(self, f), getattr(other, f))
                for f in ("ssrc", "seq", "received", "ecn")
            )
            and np.array_equal(
                np.where(self.received, self.ato, 0), np.where(other.received, other.ato, 0)
            )
        )

    __hash__ = None  # type: ignore[assignment]
