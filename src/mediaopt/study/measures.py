"""Study measures: one number per set of sessions, as the tuner's objectives and constraints.

Each measure is a function of a sessions table (``Study.sessions``, or any DataFrame with
its columns), computed over the rows with ``status == "ok"``; filter the rows first to
measure one policy or one site. An empty set gives NaN. ``docs/study.md`` defines them:

- :func:`availability`: pooled usable time / counted time (``mediaopt.sla.pooled``);
- :func:`availability_lower_bound`: its one-sided lower confidence bound;
- :func:`frame_delay_p95_ms`: the median over sessions of each session's p95 frame delay;
- :func:`freeze_ratio`: total freeze time / total session time;
- :func:`quality_mean`: the mean over sessions of each session's mean PSNR (dB);
- :func:`sent_kbps`: total bits sent / total session time (kbit/s).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mediaopt.errors import InputError
from mediaopt.sla import CONFIDENCE, pooled

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MEASURES",
    "Measure",
    "availability",
    "availability_lower_bound",
    "frame_delay_p95_ms",
    "freeze_ratio",
    "measure",
    "quality_mean",
    "sent_kbps",
]


def _ok(sessions: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, Any]:
    missing = [c for c in (*columns, "status") if c not in sessions.columns]
    if missing:
        raise InputError(f"sessions: missing column {missing[0]!r} (a Study.sessions table?)")
    keep = np.asarray(sessions["status"] == "ok")
    return {c: np.asarray(sessions[c], dtype=np.float64)[keep] for c in columns}


def availability(sessions: pd.DataFrame) -> float:
    """Pooled availability: usable time / counted time over the sessions (NaN: none)."""
    v = _ok(sessions, ("usable_s", "counted_s"))
    return pooled(v["usable_s"], v["counted_s"]).availability


def availability_lower_bound(sessions: pd.DataFrame, confidence: float = CONFIDENCE) -> float:
    """The one-sided lower confidence bound on :func:`availability` (``mediaopt.sla``)."""
    v = _ok(sessions, ("usable_s", "counted_s"))
    return pooled(v["usable_s"], v["counted_s"], confidence=confidence).lower_bound


def frame_delay_p95_ms(sessions: pd.DataFrame) -> float:
    """The median over sessions of each session's 95th-percentile frame delay (ms)."""
    v = _ok(sessions, ("frame_delay_p95_ms",))["frame_delay_p95_ms"]
    return float(np.median(v)) if v.size else math.nan


def freeze_ratio(sessions: pd.DataFrame) -> float:
    """Total freeze time over total session time (WebRTC's freezes, pooled)."""
    v = _ok(sessions, ("freeze_s", "duration_s"))
    total = float(v["duration_s"].sum())
    return float(v["freeze_s"].sum()) / total if total > 0 else math.nan


def quality_mean(sessions: pd.DataFrame) -> float:
    """The mean over sessions of each session's mean PSNR of the frames shown (dB)."""
    v = _ok(sessions, ("quality_mean",))["quality_mean"]
    return float(np.mean(v)) if v.size else math.nan


def sent_kbps(sessions: pd.DataFrame) -> float:
    """Mean sent bitrate over all the sessions' time: total bits / total seconds (kbit/s)."""
    v = _ok(sessions, ("sent_kbps", "duration_s"))
    total = float(v["duration_s"].sum())
    return float((v["sent_kbps"] * v["duration_s"]).sum()) / total if total > 0 else math.nan


@dataclass(frozen=True)
class Measure:
    """A named study measure: its function, which way is better and its unit."""

    name: str
    function: Callable[[pd.DataFrame], float]
    goal: str  #: "maximize" or "minimize"
    unit: str
    description: str


#: The study measures by name (the tuner's objectives and constraints).
MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("availability", availability, "maximize", "ratio",
                "pooled usable time / counted time"),
        Measure("availability_lower_bound", availability_lower_bound, "maximize", "ratio",
                "one-sided 95 % lower bound on the pooled availability"),
        Measure("frame_delay_p95_ms", frame_delay_p95_ms, "minimize", "ms",
                "median over sessions of the p95 frame delay"),
        Measure("freeze_ratio", freeze_ratio, "minimize", "ratio",
                "total freeze time / total session time"),
        Measure("quality_mean", quality_mean, "maximize", "dB",
                "mean over sessions of the mean PSNR"),
        Measure("sent_kbps", sent_kbps, "minimize", "kbit/s",
                "total bits sent / total session time"),
    )
}  # fmt: skip


def measure(sessions: pd.DataFrame, name: str) -> float:
    """The measure called ``name`` (a key of :data:`MEASURES`) over ``sessions``."""
    if name not in MEASURES:
        raise InputError(f"measure: unknown {name!r} (known: {', '.join(MEASURES)})")
    return MEASURES[name].function(sessions)
