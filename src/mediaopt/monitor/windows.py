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

__all__ = [
    "BASE_RTT_WINDOWS",
    "CONGESTED_LOSS",
    "QUEUEING_MS",
    "WINDOW_US",
    "Window",
    "WindowBuilder",
]

#: One availability window (DESIGN.md: "scored per one-second window").
WINDOW_US = 1_000_000
#: Windows of (last-frame delay − mean delay) kept to estimate the playout clock's offset.
OFFSET_SAMPLES = 120
#: The path was the bottleneck in a window whose RTT stood this far above its base RTT
#: (the bottleneck queue filling; cellular and Wi-Fi scheduling alone add up to ~100 ms) ...
QUEUEING_MS = 200.0
#: ... or that lost this share of its packets (random loss on the bundled Wi-Fi trace: 3.5 %).
CONGESTED_LOSS = 0.2
#: Windows over which the base (propagation) RTT is the smallest RTT seen.
BASE_RTT_WINDOWS = 10
#: A playout clock within this much of the NTP-shifted report clock counts from 1900 (ms).
SAME_CLOCK_MS = 600_000.0


@dataclass(slots=True)
class Window:
    """One window's observations, measured from the counters of the snapshots around it.

    ``nan`` marks a measurement the stats did not allow (a field missing or garbage); the
    windows of one snapshot gap (``gap``) share the gap's averages. ``reasons`` (a
    :class:`mediaopt.sla.Reason` bit set) and ``excluded`` are the verdict, set by
    :class:`mediaopt.monitor.CallMonitor`.
    """

    index: int  #: window number since the call's first snapshot
    start_us: int  #: window start on the client's clock (µs)
    duration_s: float  #: 1.0, or less for the call's partial last window
    frames: float  #: frames shown (rendered) in the window
    frozen: bool  #: a freeze overlapped the window
    freeze_s: float  #: freeze time the window's snapshots reported (s)
    frame_delay_ms: float  #: estimated capture-to-render delay of its frames (ms)
    fps: float  #: frame rate of the content shown, on the capture clock when known
    width: int  #: width of the smaller frame on screen at either end (0: none)
    height: int  #: height of that frame (0: none)
    rtt_ms: float  #: round-trip time reported at the window's end (ms)
    packet_loss: float  #: video packets lost / expected in the window
    goodput_kbps: float  #: inbound video bytes received in the window (kbit/s)
    available_kbps: float  #: availableOutgoingBitrate at the window's end (kbit/s)
    target_kbps: float  #: outbound targetBitrate at the window's end (kbit/s)
    gap: bool  #: the window's snapshots were more than one window apart
    reset: bool  #: a counter restarted (new stream, renegotiation) within the window
    congested: bool = False  #: the path was the bottleneck (queueing or heavy loss)
    final: bool = False  #: no later snapshot can change this window any more
    reasons: int = 0  #: sla.Reason bits (0: usable), set when scored
    excluded: bool = False  #: outside the contract (capacity below the floor), when scored

    @property
    def capacity_kbps(self) -> float:
        """The path's capacity where the stats show it, else ``nan`` (unknown).

        Only a congested window shows it: the path was the bottleneck, so what it delivered
        is what it could carry. Elsewhere the capacity was at least the delivered rate and
        the estimator's ``availableOutgoingBitrate``, by an unknown margin, so no window is
        excluded on a guess (docs/monitor.md, "Excluded windows").
        """
        return self.goodput_kbps if self.congested else math.nan


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


def _signed_delta(cur: float | None, prev: float | None, restart: bool) -> float | None:
    """Increase of a counter that may go negative (packetsLost), clamped at 0."""
    if cur is None or (prev is None and not restart):
        return None
    return max(cur - (0.0 if restart or prev is None else prev), 0.0)


def _nan(x: float | None) -> float:
    return math.nan if x is None else x


@dataclass(frozen=True, slots=True)
class _Measured:
    """What one stretch of counters says, before it is spread over its windows."""

    frames: float
    freeze_s: float
    froze: bool
    inter_frame_s: float | None
    delay_ms: float
    fps: float
    width: int
    height: int
    rtt_s: float | None
    loss: float
    goodput_kbps: float
    reset: bool


class WindowBuilder:
    """Turns snapshots, in any order, into one-second :class:`Window` rows.

    ``reorder_windows``: how many grid boundaries past a boundary to wait for a snapshot
    nearer to it (or a late one filling a gap) before using it. ``max_windows``: windows
    kept (the oldest, long final, are dropped; ``None`` keeps all).
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
        self._history: deque[Snapshot] = deque(maxlen=3)  # the last boundary snapshots used
        self._latest: Snapshot | None = None
        self._last_stream: Snapshot | None = None  # the latest snapshot with inbound video
        self._f0_us: float | None = None  # upper bound on the stream's first render time
        self._offsets: deque[float] = deque(maxlen=OFFSET_SAMPLES)
        self._last_delay_ms = math.nan
        self._rtts: deque[float] = deque(maxlen=BASE_RTT_WINDOWS)
        self.closed = False
        self.stale = 0  #: snapshots that came after their window was measured
        self.replaced = 0  #: snapshots another one nearer to the same boundary replaced
        self.invalid = 0  #: snapshots dropped: a video stream without a readable frame count
        self.resets = 0  #: counter restarts seen
        self.corrections: list[Window] = []  #: final windows a later freeze made frozen

    @property
    def latest(self) -> Snapshot | None:
        """The newest snapshot accepted."""
        return self._latest

    # ---------------------------------------------------------------- intake

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
            self._prev = self._latest = snap
            self._history.append(snap)
            if snap.stream is not None:
                self._last_stream = snap
                self._anchor(snap)
            return []
        b = self._boundary(snap.t_us)
        newest = self._latest is None or snap.t_us > self._latest.t_us
        if newest:
            # the newest snapshot ends the call's last window if no later one comes
            self._latest = snap
        if b <= self._b:
            if not newest:
                self.stale += 1
            return []
        old = self._pending.get(b)
        if old is not None:
            self.replaced += 1
            if self._distance(old.t_us, b) <= self._distance(snap.t_us, b):
                return []
        self._pending[b] = snap
        return self._consume(force=False)

    def close(self) -> list[Window]:
        """End the call: measure every pending snapshot and make every window final.

        The last window runs to the newest snapshot; when it is shorter than a second it
        weighs by its length and is judged on the call's last second (as
        :func:`mediaopt.sla.window_spans` judges a replay's partial last window). Nothing
        is known after the newest snapshot.
        """
        if self.closed:
            return []
        ready = self._consume(force=True)
        latest, prev = self._latest, self._prev
        if latest is not None and prev is not None and latest.t_us > prev.t_us:
            # the newest snapshot lost its boundary to a nearer one: one short window more
            ready += self._segment(prev, latest, 1, duration_s=(latest.t_us - prev.t_us) / 1e6)
        elif self.windows and prev is not None:
            last = self.windows[-1]
            last.duration_s = min(max((prev.t_us - last.start_us) / 1e6, 0.0), 1.0)
        if self.windows and self.windows[-1].duration_s < 1.0 and len(self._history) == 3:
            # judged on the last second: the stretch from two boundaries back to the end
            last = self.windows[-1]
            wide = self._measure(self._history[0], self._history[-1], update=False)
            last.frames = wide.frames
            last.frame_delay_ms = wide.delay_ms
            last.fps = wide.fps
            last.width, last.height = wide.width, wide.height
            last.frozen = last.frozen or wide.froze
        self.closed = True
        for w in self._open:
            w.final = True
        ready += self._open
        self._open = []
        return ready

    # ---------------------------------------------------------------- grid

    def _boundary(self, t_us: int) -> int:
        assert self.t0_us is not None
        return math.floor((t_us - self.t0_us) / WINDOW_US + 0.5)

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

    def _measure(self, prev: Snapshot, cur: Snapshot, *, update: bool) -> _Measured:
        """The observations between two snapshots; ``update`` moves the running estimators."""
        span_us = cur.t_us - prev.t_us
        base = prev
        restart = False
        if cur.stream is not None:
            if prev.stream is None and self._last_stream is not None:
                base = self._last_stream  # the stream was missing from a report or two
            restart = base.stream != cur.stream
        if restart and update:
            self._f0_us = None
            self._offsets.clear()
            self._last_delay_ms = math.nan
        frames, r1 = _delta(cur.frames, base.frames, restart)
        freezes_s, r2 = _delta(cur.freezes_s, base.freezes_s, restart)
        freeze_n, r3 = _delta(cur.freeze_count, base.freeze_count, restart)
        ifd_s, r4 = _delta(cur.inter_frame_s, base.inter_frame_s, restart)
        jb_s, r5 = _delta(cur.jb_delay_s, base.jb_delay_s, restart)
        jb_n, r6 = _delta(cur.jb_emitted, base.jb_emitted, restart)
        rx_pk, r7 = _delta(cur.packets_received, base.packets_received, restart)
        rx_bytes, r8 = _delta(cur.bytes_received, base.bytes_received, restart)
        lost = _signed_delta(cur.packets_lost, base.packets_lost, restart)
        reset = restart or r1 or r2 or r3 or r4 or r5 or r6 or r7 or r8
        f = 0.0 if cur.stream is None or frames is None else frames
        had_frames = base.frames is not None and base.frames >= 1 and not restart

        # frame delay: half the RTT (the network) plus the jitter buffer's mean per frame,
        # and the delay of the frame on screen from the playout clock, offset-corrected
        rtt_s = cur.rtt_s if cur.rtt_s is not None else prev.rtt_s
        mean_ms = math.nan
        if f > 0 and jb_s is not None and jb_n is not None and jb_n > 0:
            mean_ms = (jb_s / jb_n + (rtt_s or 0.0) / 2.0) * 1e3
        last_ms = math.nan
        prev_last_ms = self._last_delay_ms
        if f > 0 and cur.playout_ms is not None:
            raw = cur.t_us / 1e3 - cur.playout_ms
            if abs(raw - NTP_UNIX_OFFSET_MS) < SAME_CLOCK_MS:
                raw -= NTP_UNIX_OFFSET_MS  # the playout clock counts from 1900
            offsets = self._offsets if update else deque(self._offsets)
            if not math.isnan(mean_ms):
                offsets.append(raw - mean_ms)
            if offsets:
                last_ms = raw - statistics.median(offsets)
            if update:
                self._last_delay_ms = last_ms
        known = [x for x in (mean_ms, last_ms, prev_last_ms) if not math.isnan(x)]
        delay_ms = max(max(known), 0.0) if f > 0 and known else math.nan

        # frame rate on the capture clock: the playout clock moves with the capture time of
        # the frame on screen, so Δcapture = Δplayout − Δt + Δ(Σ inter-frame gaps)
        fps = 0.0
        if f > 0:
            fps = math.nan
            if had_frames and ifd_s is not None and None not in (cur.playout_ms, base.playout_ms):
                assert cur.playout_ms is not None and base.playout_ms is not None
                d_capture_s = (cur.playout_ms - base.playout_ms - span_us / 1e3) / 1e3 + ifd_s
                if d_capture_s > 0:
                    fps = f / d_capture_s
            if math.isnan(fps) and ifd_s is not None and ifd_s > 0:
                fps = (f if had_frames else f - 1) / ifd_s  # render clock
            if math.isnan(fps) and cur.fps is not None and span_us <= 1.5 * WINDOW_US:
                fps = cur.fps
            if math.isnan(fps) and span_us > 0:
                fps = f / (span_us / 1e6)
            fps = round(max(fps, 0.0), 2) if not math.isnan(fps) else fps

        # resolution: the smaller of the frames on screen at either end
        dims = [
            (s.width, s.height)
            for s, ok in ((base, had_frames), (cur, f > 0))
            if ok and s.width is not None and s.height is not None
        ]
        width = height = 0
        if dims:
            w, h = min(dims, key=lambda d: d[0] * d[1])
            width, height = int(w), int(h)

        span_s = span_us / 1e6 if span_us > 0 else 1.0
        loss = math.nan
        if lost is not None and rx_pk is not None:
            loss = lost / (lost + rx_pk) if lost + rx_pk > 0 else 0.0
        else:
            # the sender's view: what the far end reported lost of what was sent
            r_lost = _signed_delta(cur.remote_packets_lost, prev.remote_packets_lost, False)
            sent, _ = _delta(cur.packets_sent, prev.packets_sent, False)
            if r_lost is not None and sent:
                loss = min(r_lost / sent, 1.0)
        froze = bool((freezes_s or 0.0) > 0 or (freeze_n or 0.0) > 0)
        return _Measured(
            frames=f,
            freeze_s=freezes_s or 0.0,
            froze=froze,
            inter_frame_s=ifd_s,
            delay_ms=delay_ms,
            fps=fps,
            width=width,
            height=height,
            rtt_s=rtt_s,
            loss=loss,
            goodput_kbps=rx_bytes * 8 / span_s / 1e3 if rx_bytes is not None else math.nan,
            reset=reset,
        )

    def _segment(
        self, prev: Snapshot, cur: Snapshot, n: int, *, duration_s: float = 1.0
    ) -> list[Window]:
        """Measure the ``n`` windows from boundary snapshot ``prev`` to ``cur``."""
        assert self.t0_us is not None
        m = self._measure(prev, cur, update=True)
        if m.reset:
            # the running estimators lean on the old counters: start them again
            self.resets += 1
            self._f0_us = None
            self._offsets.clear()
        if cur.stream is not None:
            self._last_stream = cur
            self._anchor(cur)
        out = [
            Window(
                index=self._b + i,
                start_us=self.t0_us + (self._b + i) * WINDOW_US,
                duration_s=min(duration_s, 1.0),
                frames=m.frames / n,
                frozen=False,
                freeze_s=m.freeze_s / n,
                frame_delay_ms=m.delay_ms,
                fps=m.fps,
                width=m.width,
                height=m.height,
                rtt_ms=_nan(m.rtt_s) * 1e3,
                packet_loss=m.loss,
                goodput_kbps=m.goodput_kbps,
                available_kbps=_nan(cur.available_bps) / 1e3,
                target_kbps=_nan(cur.target_bps) / 1e3,
                gap=n > 1,
                reset=m.reset,
            )
            for i in range(n)
        ]
        if m.rtt_s is not None:
            self._rtts.append(m.rtt_s * 1e3)
        if self._rtts:
            queueing = m.rtt_s is not None and m.rtt_s * 1e3 - min(self._rtts) >= QUEUEING_MS
            lossy = not math.isnan(m.loss) and m.loss >= CONGESTED_LOSS
            for w in out:
                w.congested = queueing or lossy
        if m.froze:
            self._mark_freeze(out, m, prev)
        self._prev = cur
        self._history.append(cur)
        self.windows.extend(out)
        # a window with frames stays open until a later window shows frames: the freeze
        # that starts after its last frame is only reported when the picture moves again
        ready: list[Window] = []
        if m.frames > 0:
            for w in self._open:
                w.final = True
            ready, self._open = self._open, []
        for w in out:
            if w.frames > 0:
                self._open.append(w)
            else:
                w.final = True
                ready.append(w)
        return ready

    def _mark_freeze(self, out: list[Window], m: _Measured, prev: Snapshot) -> None:
        """Mark the windows a freeze reported in ``out`` overlapped, reaching back in time.

        A freeze of ``D`` s ending in ``out`` began after ``out``'s start minus ``D``: the
        windows without frames just before it are inside it, and so is the window whose last
        frame started it. With no such run, it began in the window before only if it cannot
        fit after this window's first frame (it is this window's first inter-frame gap).
        """
        for w in out:
            w.frozen = True
        earliest_us = out[0].start_us - m.freeze_s * 1e6
        expect = out[0].index - 1
        start: Window | None = None
        run = 0
        for w in reversed(self.windows):
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
        if run > 0 or len(out) > 1 or m.frames <= 1:
            self._freeze(start)
            return
        if self._f0_us is None or m.inter_frame_s is None or prev.inter_frame_s is None:
            return
        last_prev_us = self._f0_us + prev.inter_frame_s * 1e6
        since_last_s = max(prev.t_us - last_prev_us, 0.0) / 1e6
        if m.freeze_s >= m.inter_frame_s - since_last_s:
            self._freeze(start)

    def _freeze(self, w: Window) -> None:
        if not w.frozen:
            w.frozen = True
            if w.final:
                self.corrections.append(w)
