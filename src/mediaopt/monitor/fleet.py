"""Many live calls, grouped by site, tier and policy, in bounded memory.

:class:`Fleet` holds one :class:`~mediaopt.monitor.CallMonitor` per call and, per group
(site, tier, policy), the running totals the exporter publishes: time by result and by
reason (:class:`mediaopt.sla.WindowSummary`), calls started and ended, a histogram of the
windows' frame delay. Ended calls, and calls silent for longer than ``idle_timeout_s``
(which are ended), stay readable for ``evict_after_s`` and are then dropped; at most
``max_calls`` calls are held, each with at most ``max_windows`` windows of detail. Call
identifiers are keys here, never labels of a group.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mediaopt.errors import InputError
from mediaopt.monitor.call import CallMonitor, resolve_profile, summary_difference
from mediaopt.monitor.stats import Snapshot
from mediaopt.policies import ClinicalProfile
from mediaopt.sla import REASONS, WindowSummary

__all__ = ["FRAME_DELAY_BUCKETS_S", "Fleet", "FleetFullError", "GroupTotals"]

#: Upper bounds (s) of the frame-delay histogram: the clinical anchors (150 ms transparent,
#: 300 ms COMAR / tele-surgery suitable, 400 ms usable per G.114) and a tail.
FRAME_DELAY_BUCKETS_S: tuple[float, ...] = (
    0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0, 5.0,
)  # fmt: skip


class FleetFullError(Exception):
    """A new call was refused: the fleet already holds ``max_calls`` calls."""


@dataclass
class GroupTotals:
    """Running totals of one (site, tier, policy) group: only ever grow, except ``active``."""

    summary: WindowSummary = field(default_factory=WindowSummary)
    active: int = 0
    started: int = 0
    ended: int = 0
    delay_buckets: list[int] = field(default_factory=lambda: [0] * len(FRAME_DELAY_BUCKETS_S))
    delay_count: int = 0
    delay_sum_s: float = 0.0
    snapshots: int = 0
    resets: int = 0

    def observe_delay(self, seconds: float) -> None:
        """Add one window's frame delay to the histogram (cumulative buckets at export)."""
        for i, bound in enumerate(FRAME_DELAY_BUCKETS_S):
            if seconds <= bound:
                self.delay_buckets[i] += 1
                break
        self.delay_count += 1
        self.delay_sum_s += seconds


@dataclass
class _Entry:
    monitor: CallMonitor
    key: tuple[str, str, str]
    last_seen: float  # fleet clock (s)
    ended_at: float | None = None
    resets: int = 0
    summary: WindowSummary = field(default_factory=WindowSummary)


class Fleet:
    """Live calls by site, tier and policy; ended calls evicted after ``evict_after_s``.

    ``clock`` (seconds, monotonic; default :func:`time.monotonic`) drives idling and
    eviction, so tests can step it. ``reorder_windows`` and ``max_windows`` are passed to
    every :class:`~mediaopt.monitor.CallMonitor`.
    """

    def __init__(
        self,
        *,
        evict_after_s: float = 300.0,
        idle_timeout_s: float = 60.0,
        max_calls: int = 10_000,
        max_windows: int = 600,
        reorder_windows: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (evict_after_s >= 0 and idle_timeout_s > 0 and max_calls >= 1 and max_windows >= 1):
            raise InputError(
                "fleet: evict_after_s >= 0, idle_timeout_s > 0, max_calls >= 1 and "
                "max_windows >= 1 are required"
            )
        self.evict_after_s = float(evict_after_s)
        self.idle_timeout_s = float(idle_timeout_s)
        self.max_calls = int(max_calls)
        self.max_windows = int(max_windows)
        self.reorder_windows = int(reorder_windows)
        self.clock = clock
        self._calls: dict[str, _Entry] = {}
        self._groups: dict[tuple[str, str, str], GroupTotals] = {}
        self._profiles: dict[str, tuple[ClinicalProfile, str]] = {}
        self.evicted = 0  #: calls dropped after they ended

    # ---------------------------------------------------------------- calls

    def __len__(self) -> int:
        """Return the number of calls held (active and ended, not yet evicted)."""
        return len(self._calls)

    def __contains__(self, call_id: object) -> bool:
        """True when the call is held."""
        return call_id in self._calls

    def get(self, call_id: str) -> CallMonitor | None:
        """The call's monitor, or ``None`` when it is not held."""
        e = self._calls.get(call_id)
        return None if e is None else e.monitor

    def group(self, key: tuple[str, str, str]) -> GroupTotals:
        """The totals of group ``(site, tier, policy)`` (created empty when new)."""
        g = self._groups.get(key)
        if g is None:
            g = self._groups[key] = GroupTotals()
        return g

    def groups(self) -> dict[tuple[str, str, str], GroupTotals]:
        """Every group's totals, keyed by ``(site, tier, policy)``."""
        return dict(self._groups)

    def profile(self, policy: str) -> tuple[ClinicalProfile, str]:
        """The profile and policy name of ``policy`` (a built-in name or a TOML path), cached."""
        hit = self._profiles.get(policy)
        if hit is None:
            hit = self._profiles[policy] = resolve_profile(policy)
        return hit

    def profile_name(self, policy: str) -> str:
        """The policy name ``policy`` (a built-in name or a TOML path) resolves to."""
        return self.profile(policy)[1]

    def open(self, call_id: str, *, site: str, policy: str) -> CallMonitor:
        """The call's monitor, started now when new. Raises :class:`FleetFullError` when full."""
        e = self._calls.get(call_id)
        if e is not None:
            return e.monitor
        if len(self._calls) >= self.max_calls:
            self.evict()
            if len(self._calls) >= self.max_calls:
                raise FleetFullError(f"the monitor holds {self.max_calls} calls already")
        profile, name = self.profile(policy)
        mon = CallMonitor(
            profile,
            call_id=call_id,
            site=site,
            reorder_windows=self.reorder_windows,
            max_windows=self.max_windows,
        )
        mon.policy = name
        key = (site, mon.tier, name)
        self._calls[call_id] = _Entry(mon, key, self.clock())
        g = self.group(key)
        g.active += 1
        g.started += 1
        return mon

    def add_stats(
        self, call_id: str, report: Any, *, site: str, policy: str, now_us: int | None = None
    ) -> CallMonitor:
        """Give the call ``call_id`` one snapshot (starting the call when new).

        ``report`` is a ``getStats()`` result, a webrtc-internals dump or a parsed
        :class:`~mediaopt.monitor.stats.Snapshot`.
        """
        mon = self.open(call_id, site=site, policy=policy)
        e = self._calls[call_id]
        before = mon.counters["snapshots"]
        if isinstance(report, Snapshot):
            mon.add_snapshot(report)
        else:
            mon.add_stats(report, now_us)
        e.last_seen = self.clock()
        g = self.group(e.key)
        g.snapshots += mon.counters["snapshots"] - before
        self._account(e)
        return mon

    def end(self, call_id: str, report: Any = None, now_us: int | None = None) -> CallMonitor:
        """End the call (after taking ``report``, when given). Raises ``KeyError`` if unknown."""
        e = self._calls[call_id]
        if e.ended_at is None:
            e.monitor.end(report, now_us)
            self._finish(e)
        return e.monitor

    def _finish(self, e: _Entry) -> None:
        e.ended_at = self.clock()
        self._account(e)
        g = self.group(e.key)
        g.active -= 1
        g.ended += 1

    def _account(self, e: _Entry) -> None:
        """Move the call's new final windows into its group's totals."""
        mon = e.monitor
        g = self.group(e.key)
        new = mon.summary
        g.summary = g.summary + summary_difference(new, e.summary)
        e.summary = new
        resets = mon.counters["resets"]
        g.resets += resets - e.resets
        e.resets = resets
        for w in mon.take_final():
            if w.frames > 0 and not math.isnan(w.frame_delay_ms):
                g.observe_delay(w.frame_delay_ms / 1e3)

    def evict(self) -> int:
        """End calls silent for ``idle_timeout_s``; drop calls ended ``evict_after_s`` ago."""
        now = self.clock()
        gone = []
        for cid, e in self._calls.items():
            if e.ended_at is None and now - e.last_seen >= self.idle_timeout_s:
                e.monitor.end()
                self._finish(e)
            if e.ended_at is not None and now - e.ended_at >= self.evict_after_s:
                gone.append(cid)
        for cid in gone:
            del self._calls[cid]
        self.evicted += len(gone)
        return len(gone)

    # ---------------------------------------------------------------- reading

    def calls(self) -> list[dict[str, Any]]:
        """A JSON-ready summary of every call held, in the order they started."""
        out = []
        for cid, e in self._calls.items():
            m = e.monitor
            s = m.summary
            out.append(
                {
                    "call_id": cid,
                    "site": m.site,
                    "tier": m.tier,
                    "policy": m.policy,
                    "ended": e.ended_at is not None,
                    "state": m.state,
                    "reasons": list(m.reasons),
                    "availability": round(m.availability, 6),
                    "counted_s": s.counted_us / 1e6,
                    "usable_s": s.usable_us / 1e6,
                    "excluded_s": s.excluded_us / 1e6,
                    **{f"unusable_{r}_s": getattr(s, f"unusable_{r}_us") / 1e6 for r in REASONS},
                    "snapshots": m.counters["snapshots"],
                }
            )
        return out

    def current_states(self) -> dict[tuple[str, str, str], dict[str, int]]:
        """Per group, active calls by current state and by current reason."""
        out: dict[tuple[str, str, str], dict[str, int]] = {}
        for e in self._calls.values():
            if e.ended_at is not None:
                continue
            d = out.setdefault(e.key, {})
            d[e.monitor.state] = d.get(e.monitor.state, 0) + 1
            for r in e.monitor.reasons:
                d["reason:" + r] = d.get("reason:" + r, 0) + 1
        return out
