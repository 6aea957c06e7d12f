"""From stats snapshots to one-second windows of observations (counter deltas, gaps, resets).

A :class:`WindowBuilder` lays a one-second grid from the call's first snapshot and keeps,
for each grid boundary, the snapshot taken nearest to it; the counters' deltas between two
boundaries are one window's observations (frames shown, freezes, frame delay, frame rate
on the capture clock, resolution, network). Snapshots may come late, twice, out of order
or not at all; counters may restart; fields may be missing or garbage. How each
observation is derived, and what happens in each of those cases, is ``docs/monitor.md``
("From counters to windows"). The builder measures; :mod:`mediaopt.sla` judges.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass

from mediaopt.monitor.stats import NTP_UNIX_OFFSET_MS, Snapshot

__all__ = ["WINDOW_US", "Window", "WindowBuilder"]

#: One availability window (DESIGN.md: "scored per one-second window").
WINDOW_US = 1_000_000
#: Windows of (last-frame delay − mean delay) kept to estimate the playout clock's offset.
OFFSET_SAMPLES = 120
#: A playout clock within this much of the report clock is the same clock (ms).
SAME_CLOCK_MS = 600_000.0


@dataclass(slots=True)
class Window:
    """One window's observations, measured from the counters of the snapshots around it.

    ``nan`` marks a measurement the stats did not allow (a field missing or garbage); a
    window whose snapshots spanned several windows (``gap``) shares their averages.
    """

    index: int  #: window number since the call's first snapshot
    start_us: int  #: window start on the client's clock (µs)
    duration_s: float  #: 1.0, or less for the call's partial last window
    frames: float  #: frames shown (rendered) in the window
    frozen: bool  #: a freeze overlapped the window
    freeze_s: float  #: freeze time reported by the window's snapshots (s)
    frame_delay_ms: float  #: estimated capture-to-render delay of its frames (ms)
    fps: float  #: frame rate of the content shown, on the capture clock when known
    width: int  #: smallest frame width around the window (0: no frame)
    height: int  #: smallest frame height around the window (0: no frame)
    rtt_ms: float  #: round-trip time reported at the window's end (ms)
    packet_loss: float  #: inbound video packets lost / expected in the window
    goodput_kbps: float  #: inbound video bytes received in the window (kbit/s)
    available_kbps: float  #: availableOutgoingBitrate at the window's end (kbit/s)
    target_kbps: float  #: outbound targetBitrate at the window's end (kbit/s)
    gap: bool  #: the window's snapshots were more than one window apart
    reset: bool  #: a counter restarted (new stream, renegotiation) within the window
    final: bool = False  #: no later snapshot can change this window any more


def _delta(cur: float | None, prev: float | None, restart: bool) -> tuple[float | None, bool]:
    """Counter increase from ``prev`` to ``cur``; a decrease means it restarted from 0."""
    if cur is None:
        return None, False
    if restart:
        return cur, False
    if prev is None:
        return None, False
    if cur < prev:
        return cur, True
    return cur - prev, False


def _nan(x: float | None) -> float:
    return math.nan if x is None else x


class WindowBuilder:
    """Turns snapshots, in any order, into one-second :class:`Window` rows.

    ``reorder_windows``: how many grid boundaries past a boundary to wait for a snapshot
    nearer to it (or a late one filling a gap) before using it. ``max_windows``: final
    windows kept (the oldest are dropped; ``None`` keeps all).
    """

    def __init__(self, *, reorder_windows: int = 1, max_windows: int | None = None) -> None:
        self.reorder_windows = max(int(reorder_windows), 0)
        self.t0_us: int | None = None
        #: every window measured so far, in order (the oldest dropped past max_windows)
        self.windows: deque[Window] = deque(maxlen=max_windows)
        self._open: list[Window] = []  # windows with frames a later freeze may still reach
        self._pending: dict[int, Snapshot] = {}
        self._prev: Snapshot | None = None  # the snapshot at boundary self._b
        self._b = 0
        self._latest: Snapshot | None = None
        self._last_stream: Snapshot | None = None  # the latest snapshot with inbound video
        self._f0_us: float | None = None  # render time of the stream's first frame (bound)
        self._offsets: deque[float] = deque(maxlen=OFFSET_SAMPLES)
        self._last_delay_ms = math.nan
        self.closed = False
        self.stale = 0  #: snapshots that came after their window was measured
        self.duplicates = 0  #: snapshots another one nearer to the same boundary replaced
        self.invalid = 0  #: snapshots dropped: a video stream without a readable frame count
        self.resets = 0  #: counter restarts seen
        self.corrections: list[Window] = []  #: final windows a later freeze made frozen

    # ---------------------------------------------------------------- intake

    @property
    def latest(self) -> Snapshot | None:
        """The newest snapshot accepted."""
        return self._latest

    def add(self, snap: Snapshot) -> list[Window]:
        """Take one snapshot; return the windows that became final because of it."""
        if self.closed:
            self.stale += 1
            return []
        if snap.stream is not None and snap.frames is None:
            self.invalid += 1
            return []
        if self.t0_us is None:
            self.t0_us = snap.t_us
            self._prev = snap
            self._latest = snap
            if snap.stream is not None:
                self._last_stream = snap
                self._anchor(snap)
            return []
        b = self._boundary(snap.t_us)
        if b <= self._b:
            self.stale += 1
            return []
        if self._latest is None or snap.t_us > self._latest.t_us:
            self._latest = snap
        old = self._pending.get(b)
        if old is not None:
            self.duplicates += 1
            if self._distance(old.t_us, b) <= self._distance(snap.t_us, b):
                return []
        self._pending[b] = snap
        return self._consume(force=False)

    def close(self) -> list[Window]:
        """End the call: measure every pending snapshot and make every window final.

        The last window runs to the newest snapshot and weighs by its length when shorter
        than a second; nothing is known after the newest snapshot.
        """
        if self.closed:
            return []
        ready = self._consume(force=True)
        latest = self._latest
        if latest is not None and self._prev is not None and latest.t_us > self._prev.t_us:
            # the newest snapshot lost its boundary to a nearer one: one short window more
            ready += self._segment(self._prev, latest, 1, final_window=True)
            self._prev = latest
        elif self.windows and self._prev is not None:
            last = self.windows[-1]
            span_s = (self._prev.t_us - last.start_us) / 1e6
            last.duration_s = min(max(span_s, 0.0), 1.0)
        self.closed = True
        for w in self._open:
            w.final = True
        ready += self._open
        self._open = []
        return ready

    # ---------------------------------------------------------------- grid

    def _boundary(self, t_us: int) -> int:
        assert self.t0_us is not None
        return int(math.floor((t_us - self.t0_us) / WINDOW_US + 0.5))

    def _distance(self, t_us: int, b: int) -> int:
        assert self.t0_us is not None
        return abs(t_us - (self.t0_us + b * WINDOW_US))

    def _consume(self, *, force: bool) -> list[Window]:
        ready: list[Window] = []
        while self._pending:
            b = min(self._pending)
            if not force and max(self._pending) - b < self.reorder_windows:
                break
            snap = self._pending.pop(b)
            assert self._prev is not None
            ready += self._segment(self._prev, snap, b - self._b)
            self._prev = snap
            self._b = b
        return ready

    # ---------------------------------------------------------------- measuring

    def _anchor(self, snap: Snapshot) -> None:
        """Tighten the bound on the first frame's render time: F_last = f0 + Σ gaps ≤ t."""
        if snap.frames is None or snap.frames < 1 or snap.inter_frame_s is None:
            return
        bound = snap.t_us - snap.inter_frame_s * 1e6
        if self._f0_us is None or bound < self._f0_us:
            self._f0_us = bound

    def _segment(
        self, prev: Snapshot, cur: Snapshot, n: int, *, final_window: bool = False
    ) -> list[Window]:
        """Measure the ``n`` windows between two boundary snapshots."""
        assert self.t0_us is not None
        span_us = cur.t_us - prev.t_us
        base = prev
        restart = False
        if cur.stream is not None:
            if prev.stream is None and self._last_stream is not None:
                base = self._last_stream
            restart = base.stream != cur.stream
        if restart:
            self._f0_us = None
            self._offsets.clear()
            self._last_delay_ms = math.nan
        frames, r1 = _delta(cur.frames, base.frames, restart)
        if cur.stream is None:
            frames = 0.0
        freezes_s, r2 = _delta(cur.freezes_s, base.freezes_s, restart)
        freeze_n, r3 = _delta(cur.freeze_count, base.freeze_count, restart)
        ifd_s, r4 = _delta(cur.inter_frame_s, base.inter_frame_s, restart)
        jb_s, r5 = _delta(cur.jb_delay_s, base.jb_delay_s, restart)
        jb_n, r6 = _delta(cur.jb_emitted, base.jb_emitted, restart)
        rx_pk, r7 = _delta(cur.packets_received, base.packets_received, restart)
        rx_bytes, r8 = _delta(cur.bytes_received, base.bytes_received, restart)
        lost = None
        if cur.packets_lost is not None and (restart or base.packets_lost is not None):
            lost = max(cur.packets_lost - (0.0 if restart else (base.packets_lost or 0.0)), 0.0)
        was_reset = restart or r1 or r2 or r3 or r4 or r5 or r6 or r7 or r8
        if was_reset:
            self.resets += 1
        if cur.stream is not None:
            self._last_stream = cur
            self._anchor(cur)
        f = frames if frames is not None else 0.0
        had_frames = base.frames is not None and base.frames >= 1 and not restart

        # frame delay: half the RTT (network) + the jitter buffer's mean per frame, and the
        # delay of the frame on screen from the playout clock, offset-corrected
        rtt_s = cur.rtt_s if cur.rtt_s is not None else prev.rtt_s
        mean_ms = math.nan
        if f > 0 and jb_s is not None and jb_n is not None and jb_n > 0:
            mean_ms = (jb_s / jb_n + (rtt_s or 0.0) / 2.0) * 1e3
        last_ms = math.nan
        prev_last_ms = self._last_delay_ms
        if f > 0 and cur.playout_ms is not None:
            raw = cur.t_us / 1e3 - cur.playout_ms
            if abs(raw + NTP_UNIX_OFFSET_MS) < SAME_CLOCK_MS:
                raw += NTP_UNIX_OFFSET_MS  # the playout clock counts from 1900
            if not math.isnan(mean_ms):
                self._offsets.append(raw - mean_ms)
            if self._offsets:
                last_ms = raw - statistics.median(self._offsets)
            self._last_delay_ms = last_ms
        candidates = [x for x in (mean_ms, last_ms, prev_last_ms) if not math.isnan(x)]
        delay_ms = max(candidates) if f > 0 and candidates else math.nan

        # frame rate on the capture clock: the playout clock moves with the capture time of
        # the frame on screen, so Δcapture = Δplayout − Δt + Δ(Σ inter-frame gaps)
        fps = 0.0
        if f > 0:
            fps = math.nan
            if (
                had_frames
                and ifd_s is not None
                and cur.playout_ms is not None
                and base.playout_ms is not None
            ):
                d_capture_s = (cur.playout_ms - base.playout_ms - span_us / 1e3) / 1e3 + ifd_s
                if d_capture_s > 0:
                    fps = f / d_capture_s
            if math.isnan(fps) and ifd_s is not None and ifd_s > 0:
                gaps = f if had_frames else f - 1
                fps = gaps / ifd_s
            if math.isnan(fps) and cur.fps is not None and n == 1:
                fps = cur.fps
            if math.isnan(fps) and span_us > 0:
                fps = f / (span_us / 1e6)
            fps = round(fps, 2)

        # resolution: the smaller of the frame on screen at either end
        dims = [
            (s.width, s.height)
            for s, ok in ((base, had_frames), (cur, f > 0))
            if ok and s.width is not None and s.height is not None
        ]
        width, height = (0, 0)
        if dims:
            w, h = min(dims, key=lambda d: d[0] * d[1])
            width, height = int(w), int(h)

        span_s = span_us / 1e6 if span_us > 0 else 1.0
        loss = math.nan
        if lost is not None and rx_pk is not None:
            loss = lost / (lost + rx_pk) if lost + rx_pk > 0 else 0.0
        goodput = rx_bytes * 8 / span_s / 1e3 if rx_bytes is not None else math.nan
        out: list[Window] = []
        for i in range(n):
            idx = self._b + i
            out.append(
                Window(
                    index=idx,
                    start_us=self.t0_us + idx * WINDOW_US,
                    duration_s=1.0 if not final_window else min(span_s, 1.0),
                    frames=f / n,
                    frozen=False,
                    freeze_s=(freezes_s or 0.0) / n,
                    frame_delay_ms=delay_ms,
                    fps=fps,
                    width=width,
                    height=height,
                    rtt_ms=_nan(rtt_s) * 1e3,
                    packet_loss=loss,
                    goodput_kbps=goodput,
                    available_kbps=_nan(cur.available_bps) / 1e3,
                    target_kbps=_nan(cur.target_bps) / 1e3,
                    gap=n > 1,
                    reset=was_reset,
                )
            )
        froze = (freezes_s is not None and freezes_s > 0) or (freeze_n is not None and freeze_n > 0)
        if froze:
            self._mark_freeze(out, freezes_s or 0.0, f, ifd_s, prev)
        self.windows.extend(out)
        # a window with frames stays open until a later window shows frames: the freeze
        # that starts after its last frame is only reported when the picture moves again
        ready: list[Window] = []
        if f > 0:
            for w in self._open:
                w.final = True
            ready = self._open
            self._open = []
        for w in out:
            if w.frames > 0:
                self._open.append(w)
            else:
                w.final = True
                ready.append(w)
        return ready

    def _mark_freeze(
        self,
        out: list[Window],
        freeze_s: float,
        frames: float,
        ifd_s: float | None,
        prev: Snapshot,
    ) -> None:
        """Mark the windows a freeze reported in ``out`` overlapped, reaching back in time."""
        for w in out:
            w.frozen = True
        # earlier windows: the run of windows without frames just before, and the window
        # whose last frame started the freeze
        expect = out[0].index - 1
        # the freeze ended after this segment began, so it began after this time
        earliest_us = out[0].start_us - freeze_s * 1e6
        start: Window | None = None
        run = 0
        for w in reversed(self.windows):
            if w.index >= out[0].index:
                continue
            if w.index != expect or w.start_us + WINDOW_US <= earliest_us:
                break
            if w.frames > 0:
                start = w
                break
            self._freeze(w)
            run += 1
            expect -= 1
        if start is None:
            return
        if run > 0 or len(out) > 1:
            self._freeze(start)
            return
        # a freeze inside one window: it began in the window before only if it is the
        # first gap of this one, that is, when it cannot fit after this window's first frame
        if frames <= 1:
            self._freeze(start)
            return
        if self._f0_us is None or ifd_s is None or prev.inter_frame_s is None:
            return
        last_prev_us = self._f0_us + prev.inter_frame_s * 1e6
        since_last_s = max(prev.t_us - last_prev_us, 0.0) / 1e6
        if freeze_s >= ifd_s - since_last_s:
            self._freeze(start)

    def _freeze(self, w: Window) -> None:
        if not w.frozen:
            w.frozen = True
            if w.final:
                self.corrections.append(w)
