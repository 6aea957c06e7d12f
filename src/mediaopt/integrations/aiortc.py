"""Equip an aiortc ``RTCPeerConnection`` with mediaopt's estimator, adaptation and pacer.

``bridge = equip(pc, policy="consult")`` before the offer/answer exchange makes the
connection negotiate the transport-wide sequence number extension and ``transport-cc``
feedback, and then, on the sending side, paces every RTP packet (:class:`Pacer`, probes
from the estimator, padding on the RTX payload type), stamps the transport-wide sequence
number as it leaves, feeds the feedback through a :class:`FeedbackAdapter` into a
:class:`GccEstimator`, runs the policy's :class:`Adaptation` and sets the encoder's
target bitrate; on the receiving side it records arrivals and sends transport-cc
feedback every ``feedback_interval_ms``. aiortc's own RTCP (SR, RR, SDES, BYE, NACK,
PLI, REMB) still goes to aiortc, untouched.

Supported aiortc: ``SUPPORTED_AIORTC`` (the versions this module was tested against;
``equip`` refuses others unless ``allow_untested=True``). aiortc has no API for any of
this, so the surface patched is kept small, per connection, and listed here:

1. ``pc.createOffer`` / ``pc.createAnswer`` / ``pc.setRemoteDescription`` (instance
   attributes): the SDP gains ``a=extmap:<id> <transport-wide-cc URI>`` and
   ``a=rtcp-fb:<pt> transport-cc`` for each video codec (``goog-remb`` is dropped, as
   send-side estimation replaces it); the remote description tells the extension id.
2. ``RTCDtlsTransport._send_rtp`` (instance attribute): RTP goes into the pacer; RTCP
   is sent at once.
3. ``RTCDtlsTransport._handle_rtp_data`` (instance attribute): the arrival of each packet
   with the extension is recorded before aiortc handles the packet.
4. ``RTCDtlsTransport._handle_rtcp_data`` (instance attribute): transport-cc and RFC 8888
   packets are taken out of each compound packet; the rest goes to aiortc (aiortc 1.16
   reads FMT 15 as garbage NACKs and drops a whole compound packet when one carries
   padding).
5. ``RTCRtpSender``'s encoder (private ``_RTCRtpSender__encoder``): its
   ``target_bitrate`` is set from the adaptation (aiortc's VP8 encoder clamps it to
   250-1500 kbit/s).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import struct
import time
from collections.abc import Callable
from typing import Any

import aiortc
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from mediaopt import policies
from mediaopt.bwe import GccEstimator
from mediaopt.errors import InputError
from mediaopt.policies import Adaptation, EncoderSettings
from mediaopt.rtp import (
    TRANSPORT_WIDE_CC_URI,
    FeedbackAdapter,
    FeedbackGenerator,
    FeedbackHealth,
    MonotonicClock,
    Pacer,
    PacerDriver,
    PacketKind,
    Released,
    partition_feedback,
    read_transport_seq,
    write_transport_seq,
)

#: aiortc versions this bridge was tested against (the extra ``mediaopt[aiortc]`` pins them).
SUPPORTED_AIORTC = ((1, 16),)
#: Bytes a packet gains on the wire: SRTP auth tag (10) + IPv4/UDP (28).
WIRE_OVERHEAD_BYTES = 38
#: Bytes our transport-wide sequence number element adds at most.
EXTENSION_BYTES = 4
#: GoogCC's process interval, us.
PROCESS_INTERVAL_US = 25_000
#: How often the adaptation decides and the encoder is updated, us.
ADAPT_INTERVAL_US = 100_000

_EXTMAP_RE = re.compile(r"^a=extmap:(\d+)(?:/\S+)?\s+(\S+)")
_RTPMAP_RE = re.compile(r"^a=rtpmap:(\d+)\s+([^/\s]+)/")


def _aiortc_version() -> tuple[int, int]:
    parts = aiortc.__version__.split(".")
    return int(parts[0]), int(parts[1])


def _is_rtcp(data: bytes) -> bool:
    return len(data) >= 2 and 192 <= data[1] <= 208


# ---------------------------------------------------------------------- SDP


def _sections(sdp: str) -> list[list[str]]:
    lines = [ln for ln in sdp.replace("\r\n", "\n").split("\n") if ln]
    out: list[list[str]] = [[]]
    for ln in lines:
        if ln.startswith("m="):
            out.append([])
        out[-1].append(ln)
    return out


def _join(sections: list[list[str]]) -> str:
    return "\r\n".join(ln for sec in sections for ln in sec) + "\r\n"


def extension_id(sdp: str) -> int | None:
    """The id the SDP gives the transport-wide sequence number extension, or None."""
    for ln in sdp.replace("\r\n", "\n").split("\n"):
        m = _EXTMAP_RE.match(ln)
        if m and m.group(2) == TRANSPORT_WIDE_CC_URI:
            return int(m.group(1))
    return None


def rtx_payload_types(sdp: str) -> set[int]:
    """Payload types the SDP maps to ``rtx``."""
    out = set()
    for ln in sdp.replace("\r\n", "\n").split("\n"):
        m = _RTPMAP_RE.match(ln)
        if m and m.group(2).lower() == "rtx":
            out.add(int(m.group(1)))
    return out


def munge_sdp(sdp: str, ext_id: int | None = None) -> tuple[str, int]:
    """Add the transport-wide-cc extension and ``transport-cc`` feedback to an SDP.

    ``ext_id`` None picks the lowest one-byte id no ``a=extmap`` uses (BUNDLE shares the
    id space). Video codecs (not RTX) get ``a=rtcp-fb:<pt> transport-cc`` and lose
    ``goog-remb``. Returns the new SDP and the id.
    """
    sections = _sections(sdp)
    used = {int(m.group(1)) for sec in sections for ln in sec if (m := _EXTMAP_RE.match(ln))}
    if ext_id is None:
        free = [i for i in range(1, 15) if i not in used]
        if not free:
            raise InputError("sdp: no free one-byte header extension id")
        ext_id = free[0]
    for sec in sections:
        if not sec or not sec[0].startswith(("m=audio", "m=video")):
            continue
        if not any(
            ln.startswith(f"a=extmap:{ext_id} ") and TRANSPORT_WIDE_CC_URI in ln for ln in sec
        ):
            last_ext = max((i for i, ln in enumerate(sec) if ln.startswith("a=extmap:")), default=0)
            sec.insert(last_ext + 1, f"a=extmap:{ext_id} {TRANSPORT_WIDE_CC_URI}")
        if not sec[0].startswith("m=video"):
            continue
        pts = []
        for ln in sec:
            m = _RTPMAP_RE.match(ln)
            if m and m.group(2).lower() not in ("rtx", "red", "ulpfec"):
                pts.append(int(m.group(1)))
        sec[:] = [ln for ln in sec if not (ln.startswith("a=rtcp-fb:") and "goog-remb" in ln)]
        for pt in pts:
            if f"a=rtcp-fb:{pt} transport-cc" in sec:
                continue
            at = max(
                (
                    i
                    for i, ln in enumerate(sec)
                    if ln.startswith((f"a=rtcp-fb:{pt} ", f"a=rtpmap:{pt} "))
                ),
                default=0,
            )
            sec.insert(at + 1, f"a=rtcp-fb:{pt} transport-cc")
    return _join(sections), ext_id


# ---------------------------------------------------------------------- the bridge


@dataclasses.dataclass
class BridgeStats:
    """Counters of one equipped connection."""

    packets_paced: int = 0
    retransmissions_paced: int = 0
    padding_packets: int = 0
    padding_bytes: int = 0
    feedback_sent: int = 0
    feedback_received: int = 0
    feedback_used: int = 0
    feedback_invalid: int = 0
    rtcp_passed_to_aiortc: int = 0
    packets_received: int = 0
    encoder_updates: int = 0


class MediaoptBridge:
    """mediaopt's send and receive path on one ``RTCPeerConnection`` (see :func:`equip`)."""

    def __init__(
        self,
        pc: RTCPeerConnection,
        *,
        policy: str | policies.Policy = "consult",
        max_width: int = 1280,
        max_height: int = 720,
        max_fps: float = 30.0,
        feedback_interval_ms: float = 100.0,
        clock: MonotonicClock | None = None,
        on_health: Callable[[FeedbackHealth], Any] | None = None,
        arrival_us_of: Callable[[int], int | None] | None = None,
        max_probe_delay_ms: float = 50.0,
    ) -> None:
        self.pc = pc
        self._arrival_us_of = arrival_us_of
        self.policy = policy if isinstance(policy, policies.Policy) else policies.load(policy)
        self.clock = clock or MonotonicClock()
        self.estimator = GccEstimator(
            self.policy.start_bps,
            self.policy.min_bps,
            self.policy.max_bps,
            config=self.policy.estimator,
        )
        self.adaptation = Adaptation(self.policy, max_width, max_height, max_fps)
        self.adapter = FeedbackAdapter()
        self.generator = FeedbackGenerator("transport-cc", interval_ms=feedback_interval_ms)
        # an asyncio loop shared with aiortc's media work is often 10-30 ms late where
        # libwebrtc's pacer thread is not: allow probe bursts that late (the field trial
        # WebRTC-Bwe-ProbingBehavior/max_probe_delay) rather than drop the clusters
        self.pacer = Pacer(
            now_us=self.clock.now_us(),
            padding_packet_bytes=256,
            max_probe_delay_ms=max_probe_delay_ms,
        )
        self.driver = PacerDriver(self.pacer, self._send_released, self.clock)
        self.stats = BridgeStats()
        self.settings: EncoderSettings | None = None
        self.ext_id: int | None = None
        self.remote_supports = False
        self.on_feedback_ns: list[int] = []
        self._on_health = on_health
        self._last_health: str | None = None
        self._transports: list[Any] = []
        self._orig_send: dict[int, Callable[[bytes], Any]] = {}
        self._main_send: Callable[[bytes], Any] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._tseq = 0
        self._pad_seq = int.from_bytes(os.urandom(2), "big") & 0x7FFF
        self._pad_ssrc = int.from_bytes(os.urandom(4), "big") | 1
        self._rtx_pts: set[int] = set()
        self._audio_ssrcs: set[int] = set()
        self._last_ts = 0
        self._closed = False
        self._started = False
        self._control_started = False
        self._wrap_signaling()

    # ------------------------------------------------------------------ signaling

    def _wrap_signaling(self) -> None:
        pc = self.pc
        create_offer, create_answer = pc.createOffer, pc.createAnswer
        set_remote, set_local = pc.setRemoteDescription, pc.setLocalDescription

        async def offer() -> RTCSessionDescription:
            desc = await create_offer()
            sdp, self.ext_id = munge_sdp(desc.sdp, self.ext_id)
            self._hook_transports()
            return RTCSessionDescription(sdp=sdp, type=desc.type)

        async def answer() -> RTCSessionDescription:
            desc = await create_answer()
            if self.ext_id is None:  # the offer did not ask for it
                return desc
            sdp, _ = munge_sdp(desc.sdp, self.ext_id)
            self._hook_transports()
            return RTCSessionDescription(sdp=sdp, type=desc.type)

        async def remote(desc: RTCSessionDescription) -> None:
            await set_remote(desc)
            remote_id = extension_id(desc.sdp)
            if desc.type == "offer":
                self.ext_id = remote_id
            self.remote_supports = remote_id is not None and (
                self.ext_id is None or remote_id == self.ext_id
            )
            self._rtx_pts |= rtx_payload_types(desc.sdp)
            self._hook_transports()
            self._maybe_start()

        async def local(desc: RTCSessionDescription | None = None) -> None:
            await set_local(desc)
            if pc.localDescription is not None:
                self._rtx_pts |= rtx_payload_types(pc.localDescription.sdp)
            self._hook_transports()
            self._maybe_start()

        pc.createOffer = offer  # type: ignore[method-assign]
        pc.createAnswer = answer  # type: ignore[method-assign]
        pc.setRemoteDescription = remote  # type: ignore[method-assign,assignment]
        pc.setLocalDescription = local  # type: ignore[method-assign,assignment]

    def _hook_transports(self) -> None:
        for t in self.pc.getTransceivers():
            dtls = t.sender.transport
            if t.kind == "audio":
                self._audio_ssrcs.add(t.sender._ssrc)
            if dtls is None or any(d is dtls for d in self._transports):
                continue
            self._transports.append(dtls)
            self._hook(dtls)
        can_pad = bool(self._rtx_pts)
        self.pacer._core.set_can_pad(can_pad, 256)

    def _hook(self, dtls: Any) -> None:
        orig_send, orig_rtp, orig_rtcp = (
            dtls._send_rtp,
            dtls._handle_rtp_data,
            dtls._handle_rtcp_data,
        )
        self._orig_send[id(dtls)] = orig_send
        if self._main_send is None:
            self._main_send = orig_send

        async def send_rtp(data: bytes) -> None:
            if self._closed or _is_rtcp(data) or self.ext_id is None or not self.remote_supports:
                await orig_send(data)
                return
            if not self._control_started:
                self._start_control()
            kind = PacketKind.VIDEO
            ssrc = int.from_bytes(data[8:12], "big") if len(data) >= 12 else 0
            if ssrc in self._audio_ssrcs:
                kind = PacketKind.AUDIO
            elif (data[1] & 0x7F) in self._rtx_pts:
                kind = PacketKind.RETRANSMISSION
                self.stats.retransmissions_paced += 1
            else:
                self._last_ts = int.from_bytes(data[4:8], "big")
            self.driver.push(
                kind, (orig_send, data), len(data) + EXTENSION_BYTES + WIRE_OVERHEAD_BYTES
            )

        async def handle_rtp(data: bytes, arrival_time_ms: int) -> None:
            if self.ext_id is not None:
                now = self.clock.now_us()
                try:
                    seq = read_transport_seq(data, self.ext_id)
                except InputError:
                    seq = None
                if seq is not None:
                    if self._arrival_us_of is not None:
                        stamped = self._arrival_us_of(seq)
                        if stamped is not None and 0 <= stamped <= now:
                            now = stamped
                    self.stats.packets_received += 1
                    self.generator.on_received(
                        now, transport_seq=seq, ssrc=int.from_bytes(data[8:12], "big")
                    )
            await orig_rtp(data, arrival_time_ms)

        async def handle_rtcp(data: bytes) -> None:
            try:
                feedback, rest = partition_feedback(data)
            except InputError:
                feedback, rest = [], data
            for fb in feedback:
                self._on_feedback(fb)
            if rest:
                self.stats.rtcp_passed_to_aiortc += 1
                await orig_rtcp(rest)

        dtls._send_rtp = send_rtp
        dtls._handle_rtp_data = handle_rtp
        dtls._handle_rtcp_data = handle_rtcp

    def _maybe_start(self) -> None:
        if self._started or self.pc.remoteDescription is None or self.pc.localDescription is None:
            return
        self._started = True
        loop = asyncio.get_running_loop()
        self.driver.start()
        self._tasks.append(loop.create_task(self._feedback_loop()))

    def _start_control(self) -> None:
        # GoogCC starts (and asks for its initial probes) when media starts to flow, as
        # libwebrtc's controller does once the transport is writable
        if not self._control_started and not self._closed:
            self._control_started = True
            self._tasks.append(asyncio.get_running_loop().create_task(self._control_loop()))

    # ------------------------------------------------------------------ send side

    def _padding_packet(self, size_bytes: int) -> bytes:
        pt = min(self._rtx_pts)
        pad = max(1, min(255, size_bytes - WIRE_OVERHEAD_BYTES - 12 - 8))
        self._pad_seq = (self._pad_seq + 1) & 0xFFFF
        header = struct.pack("!BBHLL", 0xA0, pt, self._pad_seq, self._last_ts, self._pad_ssrc)
        return header + bytes(pad - 1) + bytes([pad])

    async def _send_released(self, r: Released) -> None:
        if r.packet is None:
            send = self._main_send
            data = self._padding_packet(r.size_bytes)
            self.stats.padding_packets += 1
            self.stats.padding_bytes += len(data)
        else:
            send, data = r.packet
        if send is None or self._closed:
            return
        assert self.ext_id is not None
        now = self.clock.now_us()
        seq = self._tseq
        self._tseq = (seq + 1) & 0xFFFF
        with contextlib.suppress(InputError):  # not RTP we can stamp: send it as is
            data = write_transport_seq(data, self.ext_id, seq)
        size = len(data) + WIRE_OVERHEAD_BYTES
        self.adapter.on_sent(seq, now, size, r.probe_cluster_id)
        self.estimator.on_packet_sent(now, size, r.probe_cluster_id)
        self.stats.packets_paced += 1
        with contextlib.suppress(ConnectionError):
            await send(data)

    def _on_feedback(self, packet: bytes) -> None:
        now = self.clock.now_us()
        self.stats.feedback_received += 1
        try:
            report = self.adapter.on_feedback(packet, now)
        except InputError:
            self.stats.feedback_invalid += 1
            return
        if report is None:
            return
        t0 = time.perf_counter_ns()
        self.estimator.on_feedback(
            report.send_us,
            report.arrival_us,
            report.size_bytes,
            report.feedback_us,
            report.probe_cluster_id,
        )
        self.on_feedback_ns.append(time.perf_counter_ns() - t0)
        self.stats.feedback_used += 1

    def _encoders(self) -> list[Any]:
        out = []
        for t in self.pc.getTransceivers():
            if t.kind == "video":
                enc = getattr(t.sender, "_RTCRtpSender__encoder", None)
                if enc is not None and hasattr(enc, "target_bitrate"):
                    out.append(enc)
        return out

    async def _control_loop(self) -> None:
        next_adapt = 0
        first = True
        while not self._closed:
            if first:
                first = False
                now = self.clock.now_us()
                # the first tick asks for the initial probes; queue them before the first
                # packet is released so the prober sees it
                self.estimator.process(now)
                self.pacer.add_probes(self.estimator.pop_probes(now), now)
            now = self.clock.now_us()
            est = self.estimator
            est.process(now)
            probes = est.pop_probes(now)
            if probes:
                self.pacer.add_probes(probes, now)
            self.pacer.set_rates(max(est.pacing_bps, 1), 0, now)
            self.driver.wake()
            if now >= next_adapt:
                next_adapt = now + ADAPT_INTERVAL_US
                s = self.adaptation.update(est.target_bps, est.loss_ratio, est.rtt_us, now)
                self.settings = s
                for enc in self._encoders():
                    if enc.target_bitrate != s.bitrate_bps:
                        enc.target_bitrate = s.bitrate_bps
                        self.stats.encoder_updates += 1
                if self._on_health is not None:
                    h = self.adapter.health(now)
                    if h.status.value != self._last_health:
                        self._last_health = h.status.value
                        self._on_health(h)
            await asyncio.sleep(PROCESS_INTERVAL_US / 1e6)

    # ------------------------------------------------------------------ receive side

    def _feedback_ssrc(self) -> int:
        for t in self.pc.getTransceivers():
            return int(t.sender._ssrc)
        return 0

    async def _feedback_loop(self) -> None:
        self.generator.sender_ssrc = self._feedback_ssrc()
        while not self._closed:
            now = self.clock.now_us()
            if self.generator.packets_received:
                send = self._main_send
                for pkt in self.generator.poll(now):
                    self.stats.feedback_sent += 1
                    if send is not None:
                        with contextlib.suppress(ConnectionError):
                            await send(pkt)
            wait = self.generator.next_poll_us(now) - self.clock.now_us()
            await asyncio.sleep(min(max(wait, 1000), 100_000) / 1e6)

    # ------------------------------------------------------------------ readings

    @property
    def target_bps(self) -> int:
        """The estimator's target, bps."""
        return int(self.estimator.target_bps)

    def health(self) -> FeedbackHealth:
        """Whether transport-cc feedback keeps arriving (sending side)."""
        return self.adapter.health(self.clock.now_us())

    def on_feedback_us(self) -> tuple[float, float]:
        """Median and 99th percentile of ``GccEstimator.on_feedback`` per call, us."""
        if not self.on_feedback_ns:
            return float("nan"), float("nan")
        a = np.asarray(self.on_feedback_ns, dtype=np.float64) / 1000
        return float(np.percentile(a, 50)), float(np.percentile(a, 99))

    def adapt_track(self, track: MediaStreamTrack) -> MediaStreamTrack:
        """Wrap a video track so that frames follow the adaptation's resolution and rate."""
        return AdaptedVideoTrack(track, self)

    async def close(self) -> None:
        """Stop the bridge's tasks (the connection itself is the caller's to close)."""
        self._closed = True
        await self.driver.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()


class AdaptedVideoTrack(MediaStreamTrack):
    """A video track that follows the adaptation's resolution and frame rate.

    Frames are scaled down to the adaptation's width x height and thinned to its frame
    rate (frames above it are skipped), never above the source.
    """

    kind = "video"

    def __init__(self, source: MediaStreamTrack, bridge: MediaoptBridge) -> None:
        super().__init__()
        self.source = source
        self.bridge = bridge
        self._next_pts_s = 0.0
        self.frames_dropped = 0

    async def recv(self) -> Any:
        """The next frame, scaled and thinned."""
        while True:
            frame: Any = await self.source.recv()
            s = self.bridge.settings
            if s is None:
                return frame
            t = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
            if s.fps > 0 and t + 1e-6 < self._next_pts_s:
                self.frames_dropped += 1
                continue
            self._next_pts_s = max(self._next_pts_s + 1.0 / s.fps, t) if s.fps > 0 else t
            if s.width < frame.width or s.height < frame.height:
                w, h = s.width - s.width % 2, s.height - s.height % 2
                scaled = frame.reformat(width=w, height=h)
                scaled.pts, scaled.time_base = frame.pts, frame.time_base
                return scaled
            return frame

    def stop(self) -> None:
        """Stop this track and its source."""
        super().stop()
        self.source.stop()


def equip(
    pc: RTCPeerConnection,
    *,
    policy: str | policies.Policy = "consult",
    max_width: int = 1280,
    max_height: int = 720,
    max_fps: float = 30.0,
    feedback_interval_ms: float = 100.0,
    clock: MonotonicClock | None = None,
    on_health: Callable[[FeedbackHealth], Any] | None = None,
    arrival_us_of: Callable[[int], int | None] | None = None,
    allow_untested: bool = False,
) -> MediaoptBridge:
    """Equip ``pc`` (before ``createOffer``/``setRemoteDescription``); see the module doc.

    Both peers should be equipped (or the remote must speak transport-cc); a connection
    whose remote does not negotiate the extension is left to aiortc unchanged.
    ``on_health`` is called with each change of the feedback status.
    ``arrival_us_of(transport_seq)`` may return a receive timestamp taken earlier than
    aiortc hands the packet over (a socket or NIC timestamp, in ``clock``'s time); by
    default the arrival is stamped when aiortc delivers the decrypted packet, after its
    event-loop and GIL delays.
    """
    if not isinstance(pc, RTCPeerConnection):
        raise InputError(f"pc: expected an aiortc RTCPeerConnection, got {type(pc).__name__}")
    if not allow_untested and _aiortc_version() not in SUPPORTED_AIORTC:
        raise InputError(
            f"aiortc {aiortc.__version__}: mediaopt's bridge is tested with "
            f"{', '.join('.'.join(map(str, v)) for v in SUPPORTED_AIORTC)}.x "
            f"(pass allow_untested=True to try anyway)"
        )
    if getattr(pc, "_mediaopt_bridge", None) is not None:
        raise InputError("pc: already equipped")
    bridge = MediaoptBridge(
        pc,
        policy=policy,
        max_width=max_width,
        max_height=max_height,
        max_fps=max_fps,
        feedback_interval_ms=feedback_interval_ms,
        clock=clock,
        on_health=on_health,
        arrival_us_of=arrival_us_of,
    )
    pc._mediaopt_bridge = bridge  # type: ignore[attr-defined]
    return bridge
