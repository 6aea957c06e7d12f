"""``mediaopt.metrics``: a compatibility name for code written before the rooms.

The code lives in :mod:`mediaopt.replay.metrics`.
"""

from mediaopt.replay.metrics import (
    FREEZE_MIN_INCREASE_MS,
    FREEZE_MIN_SAMPLES,
    FREEZE_WINDOW_FRAMES,
    METRIC_NAMES,
    TIMESERIES_COLUMNS,
    WINDOW_US,
    FrameLog,
    IntervalLog,
    ProfileLike,
    freezes,
    session_metrics,
    timeseries,
)

__all__ = [
    "FREEZE_MIN_INCREASE_MS",
    "FREEZE_MIN_SAMPLES",
    "FREEZE_WINDOW_FRAMES",
    "METRIC_NAMES",
    "TIMESERIES_COLUMNS",
    "WINDOW_US",
    "FrameLog",
    "IntervalLog",
    "ProfileLike",
    "freezes",
    "session_metrics",
    "timeseries",
]
