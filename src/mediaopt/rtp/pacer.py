"""The real-time pacer and its asyncio driver.

:class:`Pacer` queues outgoing RTP packets by priority and releases them at the pacing
rate, the way libwebrtc's ``PacingController`` does (the rules are listed in
``mediaopt._core.rtp_pacer``): audio first and unpaced, then retransmissions, then video
and FEC in queue order, padding last; bursts up to 40 ms of data; a queue that could not
drain within 2 s raises the rate; probe clusters from ``GccEstimator.pop_probes`` sent at
their own rate, filled with padding (tagged with the cluster id) when media runs out.

:class:`PacerDriver` runs it on an asyncio loop: it sleeps until the next send time,
wakes when a packet is queued, and hands each released packet to a send callback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import numpy as np

from mediaopt._core.rtp_pacer import PacerCore
from mediaopt._validate import check_float, check_int
from mediaopt.errors import InputError
from mediaopt.rtp.clock import MonotonicClock

_MAX_TIME_US = 1 << 62
#: Events one ``process`` call writes at most (the driver calls again at once when full).
_BATCH = 256


class PacketKind(enum.IntEnum):
    """Priority classes of the pacer (libwebrtc ``RtpPacketMediaType``)."""

    AUDIO = 0
    RETRANSMISSION = 1
    VIDEO = 2
    FEC = 3
    PADDING = 4


@dataclasses.dataclass(frozen=True)
class Released:
    """A packet the pacer releases now.

    ``packet`` is what was pushed (None for padding the sender must make,
    ``size_bytes`` long on the wire).
    """

    kind: PacketKind
    packet: Any
    size_bytes: int
    probe_cluster_id: int  # -1 when not part of a probe


class Pacer:
    """Priority queues + pacing budget + probe clusters (see the module docstring).

    ``padding_packet_bytes`` is the on-wire size of one padding packet the sender makes;
    ``can_pad=False`` when it cannot make any (probes then use media only).
    ``max_probe_delay_ms`` is libwebrtc's ``WebRTC-Bwe-ProbingBehavior/max_probe_delay``
    (10 ms): a probe cluster whose next burst is later than this is dropped.
    """

    def __init__(
        self,
        *,
        now_us: int = 0,
        burst_interval_ms: float = 40.0,
        queue_time_limit_ms: float = 2000.0,
        drain_large_queues: bool = True,
        padding_packet_bytes: int = 256,
        can_pad: bool = True,
        max_probe_delay_ms: float = 10.0,
    ) -> None:
        t = check_int("now_us", now_us, min_value=0, max_value=_MAX_TIME_US - 1)
        b = check_float("burst_interval_ms", burst_interval_ms, min_value=0.0, max_value=1000.0)
        q = check_float(
            "queue_time_limit_ms", queue_time_limit_ms, min_value=1.0, max_value=60_000.0
        )
        pb = check_int("padding_packet_bytes", padding_packet_bytes, min_value=16, max_value=1500)
        md = check_float("max_probe_delay_ms", max_probe_delay_ms, min_value=0.0, max_value=1000.0)
        self._core = PacerCore(
            t,
            int(b * 1000),
            int(q * 1000),
            bool(drain_large_queues),
            False,
            pb,
            200,
            int(md * 1000),
        )
        self._core.set_can_pad(bool(can_pad), pb)
        self._packets: dict[int, Any] = {}
        self._next_handle = 0
        self._h = np.empty(_BATCH, dtype=np.int64)
        self._k = np.empty(_BATCH, dtype=np.int32)
        self._s = np.empty(_BATCH, dtype=np.int64)
        self._c = np.empty(_BATCH, dtype=np.int32)
        self.sent_bytes = 0
        self.sent_packets = 0

    def push(self, kind: PacketKind | int, packet: Any, size_bytes: int, now_us: int) -> None:
        """Queue ``packet`` (any object; handed back by :meth:`process`)."""
        k = int(kind)
        if k not in (0, 1, 2, 3):
            raise InputError(f"kind: expected AUDIO, RETRANSMISSION, VIDEO or FEC, got {kind!r}")
        if type(size_bytes) is not int or not 1 <= size_bytes <= 65535:
            size_bytes = check_int("size_bytes", size_bytes, min_value=1, max_value=65535)
        if type(now_us) is not int or not 0 <= now_us < _MAX_TIME_US:
            now_us = check_int("now_us", now_us, min_value=0, max_value=_MAX_TIME_US - 1)
        h = self._next_handle
        self._next_handle += 1
        self._packets[h] = packet
        self._core.push(k, h, size_bytes, now_us)

    def set_rates(self, pacing_bps: int, padding_bps: int = 0, now_us: int = 0) -> None:
        """Set the pacing (``GccEstimator.pacing_bps``) and padding rates."""
        p = check_int("pacing_bps", pacing_bps, min_value=1, max_value=10**11)
        q = check_int("padding_bps", padding_bps, min_value=0, max_value=10**11)
        self._core.set_rates(
            p, q, check_int("now_us", now_us, min_value=0, max_value=_MAX_TIME_US - 1)
        )

    def add_probes(self, probes: Iterable[Mapping[str, int]], now_us: int) -> None:
        """Queue probe clusters as ``GccEstimator.pop_probes`` returns them."""
        t = check_int("now_us", now_us, min_value=0, max_value=_MAX_TIME_US - 1)
        for p in probes:
            try:
                rate, cid = int(p["bitrate_bps"]), int(p["cluster_id"])
                n, size = int(p.get("min_probes", 5)), int(p.get("min_bytes", 0))
            except (KeyError, TypeError, ValueError):
                raise InputError(f"probes: expected pop_probes() dicts, got {p!r}") from None
            check_int("bitrate_bps", rate, min_value=1, max_value=10**11)
            self._core.add_probe(rate, cid, n, size, t)

    def next_send_us(self, now_us: int) -> int:
        """When :meth:`process` next has something to do, us."""
        return int(self._core.next_send_us(now_us))

    def process(self, now_us: int) -> list[Released]:
        """Release what may leave at ``now_us``, in send order."""
        if type(now_us) is not int or not 0 <= now_us < _MAX_TIME_US:
            now_us = check_int("now_us", now_us, min_value=0, max_value=_MAX_TIME_US - 1)
        out: list[Released] = []
        while True:
            n = self._core.process(now_us, self._h, self._k, self._s, self._c)
            for i in range(n):
                h = int(self._h[i])
                pkt = self._packets.pop(h) if h >= 0 else None
                size = int(self._s[i])
                out.append(Released(PacketKind(int(self._k[i])), pkt, size, int(self._c[i])))
                self.sent_bytes += size
                self.sent_packets += 1
            if n < _BATCH:
                return out

    @property
    def queued_packets(self) -> int:
        """Packets waiting."""
        return int(self._core.queued_packets)

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting."""
        return int(self._core.queued_bytes)

    @property
    def pacing_bps(self) -> int:
        """The pacing rate set, bps."""
        return int(self._core.pacing_bps)

    @property
    def adjusted_pacing_bps(self) -> int:
        """The rate actually used (raised to drain a long queue), bps."""
        return int(self._core.adjusted_media_bps)

    @property
    def is_probing(self) -> bool:
        """A probe cluster is being sent."""
        return bool(self._core.is_probing)

    @property
    def padding_sent_bytes(self) -> int:
        """Padding released so far, bytes."""
        return int(self._core.padding_sent_bytes)

    @property
    def probe_sent_bytes(self) -> int:
        """Bytes released as part of probe clusters so far."""
        return int(self._core.probe_sent_bytes)

    def expected_queue_ms(self, now_us: int) -> float:
        """Time to drain the queue at the current rate, ms (libwebrtc ExpectedQueueTime)."""
        rate = self.adjusted_pacing_bps
        return 0.0 if rate <= 0 else self.queued_bytes * 8000.0 / rate


SendCallback = Callable[[Released], "Awaitable[None] | None"]


class PacerDriver:
    """Runs a :class:`Pacer` on the running asyncio loop and sends through ``send``.

    ``send`` receives each :class:`Released` packet (it may be a coroutine function).
    Use :meth:`push` instead of ``Pacer.push`` so that the driver wakes at once.
    """

    def __init__(
        self, pacer: Pacer, send: SendCallback, clock: MonotonicClock | None = None
    ) -> None:
        self.pacer = pacer
        self.clock = clock or MonotonicClock()
        self._send = send
        self._is_coro = inspect.iscoroutinefunction(send)
        self._task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._stopping = False
        self.ticks = 0

    def push(self, kind: PacketKind | int, packet: Any, size_bytes: int) -> None:
        """Queue a packet now and wake the driver."""
        self.pacer.push(kind, packet, size_bytes, self.clock.now_us())
        self.wake()

    def wake(self) -> None:
        """Re-evaluate the next send time now (after a push or a rate change)."""
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def start(self) -> None:
        """Start the driver task on the running loop."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the driver (queued packets stay queued)."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            task, self._task = self._task, None
            await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            now = self.clock.now_us()
            for r in self.pacer.process(now):
                if self._is_coro:
                    await self._send(r)  # type: ignore[misc]
                else:
                    self._send(r)
            self.ticks += 1
            now = self.clock.now_us()
            nxt = self.pacer.next_send_us(now)
            # libwebrtc's TaskQueuePacedSender sleeps at least 1 ms between process calls
            delay_us = min(max(nxt - now, 1000), 500_000)
            self._waiter = loop.create_future()
            handle = loop.call_later(delay_us / 1e6, self._wake_if_pending, self._waiter)
            try:
                await self._waiter
            finally:
                handle.cancel()
                self._waiter = None

    @staticmethod
    def _wake_if_pending(w: asyncio.Future[None]) -> None:
        if not w.done():
            w.set_result(None)
