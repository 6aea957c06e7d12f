"""RealtimeLink: a trace's bottleneck applied to datagrams in wall-clock time.

Each datagram handed to :meth:`RealtimeLink.send` goes through a :class:`mediaopt.Link`
(Mahimahi-exact capacity from the trace, the queue and its drops, the one-way delay,
random loss) at the current clock time, and is handed to ``deliver`` on the asyncio loop
at the arrival time the link computes, or dropped. It is for tests and for experiments
with a real RTP stack: wrap the function that puts datagrams on the wire.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any

from mediaopt import traces
from mediaopt.errors import InputError
from mediaopt.rtp.clock import MonotonicClock
from mediaopt.traces.link import Link

#: IPv4 + UDP header bytes counted on the bottleneck for each datagram.
UDP_IPV4_OVERHEAD_BYTES = 28


class RealtimeLink:
    """Shape datagrams through ``link`` in real time and hand them to ``deliver``.

    ``link`` is a :class:`mediaopt.Link` (droptail or infinite queue: its answer is final
    when a datagram is offered) or a trace/path, in which case ``link_kwargs`` build the
    Link (``one_way_delay_ms``, ``queue_ms``, ``loss``, ``seed``...). Time zero of the trace
    is ``clock``'s zero. ``on_arrival(datagram, arrival_us)`` is called just before each
    delivery with the arrival time the link computed (an asyncio timer may fire late;
    this is the time a receive timestamp taken by the network card would show).
    """

    def __init__(
        self,
        link: Any,
        deliver: Callable[[bytes], Any],
        *,
        clock: MonotonicClock | None = None,
        overhead_bytes: int = UDP_IPV4_OVERHEAD_BYTES,
        on_arrival: Callable[[bytes, int], Any] | None = None,
        **link_kwargs: Any,
    ) -> None:
        if isinstance(link, Link):
            if link_kwargs:
                raise InputError("link_kwargs: only when link is a trace, not a Link")
            self.link = link
        else:
            trace = link if isinstance(link, traces.Trace) else traces.load(link)
            self.link = Link(trace, **link_kwargs)
        if not self.link.config.fifo_engine:
            raise InputError(
                "link: RealtimeLink needs a droptail or infinite queue (an AQM "
                "queue decides a datagram's fate after it was offered)"
            )
        if not 0 <= int(overhead_bytes) <= 1000:
            raise InputError(f"overhead_bytes: {overhead_bytes} is outside 0..1000")
        self.clock = clock or MonotonicClock()
        self._deliver = deliver
        self._on_arrival = on_arrival
        self._overhead = int(overhead_bytes)
        self._last_us = 0
        self._closed = False
        # FIFO links deliver in order: one timer for the head of the queue keeps it so
        self._in_flight: collections.deque[tuple[int, bytes, int]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self.sent = 0
        self.delivered = 0
        self.dropped = 0
        self.sent_bytes = 0
        self.delivered_bytes = 0

    def send(self, datagram: bytes) -> bool:
        """Offer a datagram now; False when the link drops it."""
        if self._closed:
            return False
        loop = asyncio.get_running_loop()
        now = max(self.clock.now_us(), self._last_us)
        self._last_us = now
        size = len(datagram) + self._overhead
        arrival = int(self.link.transmit([now], [size])[0])
        self.sent += 1
        self.sent_bytes += size
        if arrival < 0:
            self.dropped += 1
            return False
        self._in_flight.append((arrival, datagram, size))
        if self._timer is None:
            self._arm(loop)
        return True

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        head = self._in_flight[0][0]
        self._timer = loop.call_later(max(0.0, (head - self.clock.now_us()) / 1e6), self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._closed:
            self._in_flight.clear()
            return
        now = self.clock.now_us()
        while self._in_flight and self._in_flight[0][0] <= now:
            arrival, datagram, size = self._in_flight.popleft()
            self._arrive(datagram, size, arrival)
        if self._in_flight:
            self._arm(asyncio.get_running_loop())

    def _arrive(self, datagram: bytes, size: int, arrival_us: int) -> None:
        if self._on_arrival is not None:
            self._on_arrival(datagram, arrival_us)
        self.delivered += 1
        self.delivered_bytes += size
        result = self._deliver(datagram)
        if asyncio.iscoroutine(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def capacity_kbps(self, t0_s: float, t1_s: float) -> float:
        """The trace's mean capacity over [t0_s, t1_s), kbit/s."""
        return self.link.capacity_bps(int(t0_s * 1e6), int(t1_s * 1e6)) / 1000

    def close(self) -> None:
        """Drop everything still in flight; later datagrams are dropped too."""
        self._closed = True
        self._in_flight.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def stats(self) -> dict[str, int]:
        """Datagrams and bytes sent, delivered and dropped."""
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "dropped": self.dropped,
            "sent_bytes": self.sent_bytes,
            "delivered_bytes": self.delivered_bytes,
        }
