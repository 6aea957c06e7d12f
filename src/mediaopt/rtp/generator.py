"""Receiver-side feedback: which packets arrived, when, sent back to the sender.

:class:`FeedbackGenerator` records every received RTP packet and, from :meth:`poll`,
returns the feedback packets due now:

* ``transport-cc`` (default): libwebrtc's ``TransportSequenceNumberFeedbackGenenerator``
  (formerly ``RemoteEstimatorProxy``): periodic feedback every ``interval_ms`` (100 ms,
  or adapted to the send rate as libwebrtc does with :meth:`set_send_estimate`), starting
  where the previous one stopped, re-reporting packets that arrive late (reordering),
  dropping duplicates, forgetting arrivals older than 500 ms, split into several packets
  when a delta overflows 16 bits or a packet would exceed ``max_packet_bytes``;
* ``rfc8888``: libwebrtc's ``CongestionControlFeedbackGenerator`` (feedback after the
  marker bit of a frame or 25 ms after the first unreported packet, 25 to 500 ms apart,
  within 500 kbit/s).
"""

from __future__ import annotations

from typing import Literal

from mediaopt._core.rtp_generator import CcfbGeneratorCore, TwccGeneratorCore
from mediaopt._core.rtp_wire import ccfb_encode
from mediaopt._validate import check_float, check_int
from mediaopt.errors import InputError

FeedbackFormat = Literal["transport-cc", "rfc8888"]

_MAX_TIME_US = 1 << 62


class FeedbackGenerator:
    """Builds the feedback a receiver sends (see the module docstring).

    ``sender_ssrc`` goes into each packet as the SSRC of the packet sender.
    """

    def __init__(
        self,
        format: FeedbackFormat = "transport-cc",
        *,
        interval_ms: float = 100.0,
        sender_ssrc: int = 0,
        max_packet_bytes: int = 1200,
        adaptive_interval: bool = False,
    ) -> None:
        if format not in ("transport-cc", "rfc8888"):
            raise InputError(f"format: expected 'transport-cc' or 'rfc8888', got {format!r}")
        self.format: FeedbackFormat = format
        iv = check_float("interval_ms", interval_ms, min_value=1.0, max_value=10_000.0)
        self.sender_ssrc = check_int("sender_ssrc", sender_ssrc, min_value=0, max_value=0xFFFFFFFF)
        mx = check_int("max_packet_bytes", max_packet_bytes, min_value=24, max_value=262_144)
        self.adaptive_interval = bool(adaptive_interval)
        self._twcc = TwccGeneratorCore(int(iv * 1000), mx) if format == "transport-cc" else None
        self._ccfb = CcfbGeneratorCore() if format == "rfc8888" else None
        self._pending: list[bytes] = []
        self.packets_received = 0
        self.feedback_sent = 0
        self.feedback_bytes = 0

    def on_received(
        self,
        arrival_us: int,
        *,
        transport_seq: int | None = None,
        ssrc: int = 0,
        rtp_seq: int | None = None,
        marker: bool = False,
        ecn: int = 0,
    ) -> None:
        """Record a received RTP packet.

        transport-cc needs ``transport_seq`` (the header extension's value); RFC 8888
        needs ``ssrc`` and ``rtp_seq`` (and uses ``marker`` and ``ecn``).
        """
        if type(arrival_us) is not int or not 0 <= arrival_us < _MAX_TIME_US:
            arrival_us = check_int(
                "arrival_us", arrival_us, min_value=0, max_value=_MAX_TIME_US - 1
            )
        if type(ssrc) is not int or not 0 <= ssrc <= 0xFFFFFFFF:
            ssrc = check_int("ssrc", ssrc, min_value=0, max_value=0xFFFFFFFF)
        self.packets_received += 1
        if self._twcc is not None:
            if transport_seq is None:
                raise InputError("transport_seq: transport-cc feedback needs it")
            if type(transport_seq) is not int or not 0 <= transport_seq <= 0xFFFF:
                transport_seq = check_int(
                    "transport_seq", transport_seq, min_value=0, max_value=0xFFFF
                )
            self._twcc.on_received(transport_seq, arrival_us, ssrc)
            return
        assert self._ccfb is not None
        if rtp_seq is None:
            raise InputError("rtp_seq: RFC 8888 feedback needs it")
        q = check_int("rtp_seq", rtp_seq, min_value=0, max_value=0xFFFF)
        e = check_int("ecn", ecn, min_value=0, max_value=3)
        if self._ccfb.on_received(ssrc, q, arrival_us, bool(marker), e):
            self._pending.append(self._ccfb_packet(arrival_us))

    def _ccfb_packet(self, now_us: int) -> bytes:
        assert self._ccfb is not None
        rts, ssrc, seq, offset, ecn = self._ccfb.send(now_us)
        return ccfb_encode(self.sender_ssrc, rts, ssrc, seq, offset, ecn)

    def poll(self, now_us: int) -> list[bytes]:
        """The feedback packets to send at ``now_us`` (often none)."""
        now = check_int("now_us", now_us, min_value=0, max_value=_MAX_TIME_US - 1)
        if self._twcc is not None:
            out = self._twcc.poll(now, self.sender_ssrc)
        else:
            assert self._ccfb is not None
            out, self._pending = self._pending, []
            if self._ccfb.due(now):
                out.append(self._ccfb_packet(now))
        self.feedback_sent += len(out)
        self.feedback_bytes += sum(len(p) for p in out)
        return out

    def next_poll_us(self, now_us: int) -> int:
        """When :meth:`poll` should next be called, us."""
        if self._twcc is not None:
            last = self._twcc.last_process_us
            return now_us if last < 0 else last + self._twcc.interval_us
        assert self._ccfb is not None
        return now_us if self._pending else int(self._ccfb.next_feedback_us(now_us))

    @property
    def interval_ms(self) -> float:
        """The transport-cc feedback interval, ms."""
        return self._twcc.interval_us / 1000 if self._twcc is not None else float("nan")

    def set_send_estimate(self, estimate_bps: int) -> None:
        """Follow the send estimate (libwebrtc's ``OnSendBandwidthEstimateChanged``).

        With ``adaptive_interval``, transport-cc feedback stays near 5 % of
        ``estimate_bps`` (50 to 250 ms apart).
        """
        bps = check_int("estimate_bps", estimate_bps, min_value=0, max_value=10**12)
        if self._twcc is not None and self.adaptive_interval:
            self._twcc.set_interval(self._twcc.interval_for_estimate(bps))

    @staticmethod
    def interval_for_estimate_ms(estimate_bps: int) -> float:
        """The interval libwebrtc picks for a send estimate, ms."""
        bps = check_int("estimate_bps", estimate_bps, min_value=0, max_value=10**12)
        return TwccGeneratorCore().interval_for_estimate(bps) / 1000
