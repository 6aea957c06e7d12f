"""A monotonic microsecond clock for the real-time parts (pacer, generator, link)."""

from __future__ import annotations

import time


class MonotonicClock:
    """Microseconds since the clock was made, from ``time.monotonic_ns`` (never backwards).

    Every real-time object of a call should share one clock, so that send, arrival and
    feedback times are comparable.
    """

    def __init__(self) -> None:
        self._t0_ns = time.monotonic_ns()

    def now_us(self) -> int:
        """Microseconds since the clock was made."""
        return (time.monotonic_ns() - self._t0_ns) // 1000

    def loop_time_at(self, us: int, loop_now_s: float) -> float:
        """The event-loop time (``loop.time()``) at which this clock reads ``us``."""
        return loop_now_s + (us - self.now_us()) / 1e6
