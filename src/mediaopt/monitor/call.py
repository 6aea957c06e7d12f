"""One live call: stats snapshots in, one-second windows scored by :mod:`mediaopt.sla` out.

:class:`CallMonitor` reads each ``getStats()`` snapshot (or a webrtc-internals dump),
measures one-second windows from the counters (:mod:`mediaopt.monitor.windows`) and scores
every window with :func:`mediaopt.sla.score_windows`, the function the replay scores its
windows with: the live verdict and the offline one are one definition. The call's time
accounting is :class:`mediaopt.sla.WindowSummary`, as the study pools it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mediaopt.errors import InputError
from mediaopt.monitor.stats import Snapshot, internals_reports, parse_snapshot
from mediaopt.monitor.windows import WINDOW_US, Window, WindowBuilder
from mediaopt.policies import ClinicalProfile, Policy, resolve
from mediaopt.sla import REASONS, Reason, WindowScores, WindowSummary, reason_names, score_windows

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STATES", "WINDOW_COLUMNS", "CallMonitor", "resolve_profile", "summary_difference"]

#: What :attr:`CallMonitor.state` can be.
STATES: tuple[str, ...] = ("usable", "unusable", "excluded", "no data")
#: Columns of :attr:`CallMonitor.windows`, in order (names shared with the replay's
#: time series where the quantity is the same).
WINDOW_COLUMNS: tuple[str, ...] = (
    "t_s",
    "start_us",
    "covered_s",
    "frames",
    "frame_delay_ms",
    "fps",
    "width",
    "height",
    "rtt_ms",
    "packet_loss",
    "goodput_kbps",
    "available_kbps",
    "target_kbps",
    "capacity_kbps",
    "frozen_s",
    *REASONS,
    "excluded",
    "usable",
    "gap",
    "reset",
    "final",
)


def resolve_profile(profile: Any) -> tuple[ClinicalProfile, str]:
    """``(profile, policy name)`` from a ClinicalProfile, a Policy or a policy name/path."""
    if isinstance(profile, ClinicalProfile):
        return profile, profile.name
    if isinstance(profile, Policy):
        return profile.profile, profile.name
    if isinstance(profile, (str, os.PathLike)):
        try:
            pol = resolve(profile)
        except OSError as exc:
            raise InputError(f"profile: cannot read {profile!r}: {exc.strerror or exc}") from exc
        return pol.profile, pol.name
    raise InputError(
        "profile: expected a ClinicalProfile, a Policy or a policy name, got "
        f"{type(profile).__name__}"
    )


def _summary(windows: Sequence[Window]) -> WindowSummary:
    """Sla's time accounting of scored windows."""
    if not windows:
        return WindowSummary()
    scores = WindowScores(
        covered_us=np.array([round(w.duration_s * WINDOW_US) for w in windows], dtype=np.int64),
        reasons=np.array([w.reasons for w in windows], dtype=np.uint8),
        excluded=np.array([w.excluded for w in windows], dtype=bool),
    )
    return scores.summary()


def summary_difference(new: WindowSummary, old: WindowSummary) -> WindowSummary:
    """``new - old``, field by field (the time two accountings differ by)."""
    return WindowSummary(
        **{
            f.name: getattr(new, f.name) - getattr(old, f.name)
            for f in dataclasses.fields(WindowSummary)
        }
    )


class CallMonitor:
    """Watch one call: its windows, availability, current state and reasons.

    ``profile``: the clinical profile the call is judged against (a
    :class:`mediaopt.policies.ClinicalProfile`, a :class:`~mediaopt.policies.Policy` or a
    policy name or TOML path, whose profile is used). ``call_id`` names the call (never a
    metric label); ``site`` is where it runs. ``reorder_windows``: grid boundaries to wait
    for a late or nearer snapshot before measuring (latency of the verdict, in seconds).
    ``max_windows``: windows kept in :attr:`windows` (``None``: all); the time accounting
    (:attr:`summary`, :attr:`availability`) always covers the whole call.
    """

    def __init__(
        self,
        profile: ClinicalProfile | Policy | str | os.PathLike[str],
        *,
        call_id: str,
        site: str,
        reorder_windows: int = 1,
        max_windows: int | None = None,
    ) -> None:
        self.profile, self.policy = resolve_profile(profile)
        self.call_id = str(call_id)
        self.site = str(site)
        self._builder = WindowBuilder(reorder_windows=reorder_windows, max_windows=max_windows)
        self._summary = WindowSummary()
        self._snapshots = 0
        # final windows not yet taken by a Fleet (bounded: a lone monitor never takes them)
        self._fresh: deque[Window] = deque(maxlen=max_windows or 3600)
        self.invalid_fields = 0  #: fields present with unusable values, over all snapshots
        self._floor_px = int(self.profile.min_width) * int(self.profile.min_height)

    # ---------------------------------------------------------------- intake

    @property
    def tier(self) -> str:
        """The service tier the call is judged at (the profile's)."""
        return str(self.profile.tier)

    @property
    def ended(self) -> bool:
        """True once :meth:`end` was called."""
        return self._builder.closed

    def add_stats(self, report: Any, now_us: int | None = None) -> list[Window]:
        """Take one stats snapshot; return the windows it made final (scored).

        ``report`` is a ``getStats()`` result as JSON (a list of stats objects, or a map
        from id to object) or a chrome://webrtc-internals dump (every sample in it is
        taken, in time order). ``now_us`` overrides the snapshot time (default: the
        report's newest ``timestamp``). Strange values never raise; a body that is not a
        report raises :class:`mediaopt.InputError`.
        """
        if isinstance(report, Mapping) and "PeerConnections" in report:
            out: list[Window] = []
            for rep in internals_reports(report):
                out += self.add_snapshot(parse_snapshot(rep))
            return out
        return self.add_snapshot(parse_snapshot(report, now_us))

    def add_snapshot(self, snap: Snapshot) -> list[Window]:
        """Take one parsed :class:`~mediaopt.monitor.stats.Snapshot` (see :meth:`add_stats`)."""
        self._snapshots += 1
        self.invalid_fields += snap.invalid_fields
        return self._score(self._builder.add(snap))

    def end(self, report: Any = None, now_us: int | None = None) -> list[Window]:
        """End the call (after taking ``report``, when given); return the last windows."""
        out = [] if report is None else self.add_stats(report, now_us)
        return out + self._score(self._builder.close())

    # ---------------------------------------------------------------- scoring

    def _arrays(self, windows: Sequence[Window]) -> dict[str, Any]:
        frames = np.array([math.ceil(w.frames) for w in windows], dtype=np.int64)
        # A measurement the stats did not allow never fails a window on its own: an
        # unknown delay counts as none, an unknown rate or size as meeting the floor.
        delay = np.array(
            [0.0 if math.isnan(w.frame_delay_ms) else w.frame_delay_ms for w in windows]
        )
        fps = np.array(
            [float(self.profile.min_fps) if math.isnan(w.fps) else w.fps for w in windows]
        )
        pixels = np.array(
            [
                w.width * w.height if w.width and w.height else (self._floor_px if w.frames else 0)
                for w in windows
            ],
            dtype=np.int64,
        )
        return {
            "frames": frames,
            "frame_delay_ms": delay,
            "fps": fps,
            "min_pixels": pixels,
            "frozen": np.array([w.frozen for w in windows], dtype=bool),
            "covered_us": np.array(
                [round(w.duration_s * WINDOW_US) for w in windows], dtype=np.int64
            ),
            "capacity_kbps": np.array([w.capacity_kbps for w in windows], dtype=np.float64),
        }

    def _judge(self, windows: Sequence[Window]) -> None:
        if not windows:
            return
        scores = score_windows(self.profile, **self._arrays(windows))
        for w, bits, exc in zip(windows, scores.reasons, scores.excluded, strict=True):
            w.reasons = int(bits)
            w.excluded = bool(exc)

    def _score(self, ready: list[Window]) -> list[Window]:
        self._judge(ready)
        self._summary = self._summary + _summary(ready)
        self._fresh.extend(ready)
        fixes = self._builder.corrections
        if fixes:
            self._builder.corrections = []
            before = _summary(fixes)
            self._judge(fixes)
            self._summary = self._summary + summary_difference(_summary(fixes), before)
        return ready

    def take_final(self) -> list[Window]:
        """The windows made final since the last call (each handed out once)."""
        out = list(self._fresh)
        self._fresh.clear()
        return out

    # ---------------------------------------------------------------- reading

    @property
    def summary(self) -> WindowSummary:
        """The time accounting of the final windows (:class:`mediaopt.sla.WindowSummary`)."""
        return self._summary

    @property
    def availability(self) -> float:
        """Usable time / counted time over the final windows (0.0 before any)."""
        return self._summary.availability

    def _current(self) -> Window | None:
        ws = self._builder.windows
        if not ws:
            return None
        last = ws[-1]
        if not last.final:
            self._judge([last])  # provisional: a later freeze may still reach it
        return last

    @property
    def state(self) -> str:
        """The latest window's verdict: ``usable``, ``unusable``, ``excluded`` or ``no data``."""
        w = self._current()
        if w is None:
            return "no data"
        if w.excluded:
            return "excluded"
        return "usable" if w.reasons == 0 else "unusable"

    @property
    def reasons(self) -> tuple[str, ...]:
        """The latest window's reasons (:data:`mediaopt.sla.REASONS` names), ``()`` if usable."""
        w = self._current()
        return () if w is None else reason_names(w.reasons)

    @property
    def last_snapshot_us(self) -> int | None:
        """Time of the newest snapshot taken (µs, client clock), ``None`` before any."""
        latest = self._builder.latest
        return None if latest is None else latest.t_us

    @property
    def counters(self) -> dict[str, int]:
        """Snapshots taken, and how many were stale, replaced, invalid; counter resets."""
        b = self._builder
        return {
            "snapshots": self._snapshots,
            "stale": b.stale,
            "replaced": b.replaced,
            "invalid": b.invalid,
            "resets": b.resets,
            "invalid_fields": self.invalid_fields,
        }

    def window_list(self) -> list[Window]:
        """The windows kept, oldest first (the last may not be final yet)."""
        ws = list(self._builder.windows)
        self._judge([w for w in ws if not w.final])
        return ws

    @property
    def windows(self) -> pd.DataFrame:
        """One row per window kept, columns :data:`WINDOW_COLUMNS` (reasons as booleans)."""
        ws = self.window_list()
        data: dict[str, list[Any]] = {c: [] for c in WINDOW_COLUMNS}
        bits = {name: int(Reason[name.upper()]) for name in REASONS}
        for w in ws:
            data["t_s"].append((w.start_us - (self._builder.t0_us or 0)) / 1e6)
            data["start_us"].append(w.start_us)
            data["covered_s"].append(w.duration_s)
            data["frames"].append(w.frames)
            data["frame_delay_ms"].append(w.frame_delay_ms)
            data["fps"].append(w.fps)
            data["width"].append(w.width)
            data["height"].append(w.height)
            data["rtt_ms"].append(w.rtt_ms)
            data["packet_loss"].append(w.packet_loss)
            data["goodput_kbps"].append(w.goodput_kbps)
            data["available_kbps"].append(w.available_kbps)
            data["target_kbps"].append(w.target_kbps)
            data["capacity_kbps"].append(w.capacity_kbps)
            data["frozen_s"].append(w.freeze_s)
            for name, bit in bits.items():
                data[name].append(bool(w.reasons & bit))
            data["excluded"].append(w.excluded)
            data["usable"].append(w.reasons == 0)
            data["gap"].append(w.gap)
            data["reset"].append(w.reset)
            data["final"].append(w.final)
        import pandas as pd  # heavy: loaded when a table is asked for

        df: pd.DataFrame = pd.DataFrame(data, columns=list(WINDOW_COLUMNS))
        return df
