"""What a consultation looked like: per-frame and per-interval logs, session QoE metrics.

The replay loop records one :class:`FrameLog` row per encoded frame and one
:class:`IntervalLog` row per fixed interval (100 ms by default). From those two logs this
module computes the session metrics named in ``DESIGN.md`` (:func:`session_metrics`) and a
one-row-per-second time series (:func:`timeseries`). Every definition is written down in
``docs/metrics.md``; the numbers here follow it exactly, and no result is ever NaN.

Freezes follow libwebrtc's ``VideoQualityObserver`` (``video/video_quality_observer2.cc``):
an inter-frame gap at the renderer is a freeze when it is at least
``max(3 * avg, avg + 150 ms)``, ``avg`` being the integer-ms mean (rounded down) of the last
30 inter-frame gaps including the current one, and at least 5 gaps are known.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mediaopt._validate import (
    as_float64_array,
    as_int64_array,
    check_float,
    check_int,
    check_nondecreasing,
    check_same_length,
)
from mediaopt.errors import InputError
from mediaopt.sla import (
    WINDOW_US,
    ProfileLike,
    WindowScores,
    check_profile,
    score_windows,
    window_spans,
)

if TYPE_CHECKING:
    import pandas as pd

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
    "evaluate",
    "freezes",
    "session_metrics",
    "timeseries",
    "timeseries_frame",
    "window_scores",
]

#: libwebrtc ``kMinIncreaseForFreezeMs``: a freeze is at least this much longer than the mean.
FREEZE_MIN_INCREASE_MS = 150
#: libwebrtc ``kMinFrameSamplesToDetectFreeze``: gaps needed before any freeze is detected.
FREEZE_MIN_SAMPLES = 5
#: libwebrtc ``kAvgInterframeDelaysWindowSizeFrames``: gaps in the moving mean.
FREEZE_WINDOW_FRAMES = 30
#: Session metric names, in DESIGN.md's order (the contract; never renamed silently).
METRIC_NAMES: tuple[str, ...] = (
    "duration_s",
    "capacity_kbps",
    "sent_kbps",
    "goodput_kbps",
    "utilization",
    "frame_delay_p50_ms",
    "frame_delay_p95_ms",
    "frame_delay_p99_ms",
    "freeze_count",
    "freeze_s",
    "freeze_ratio",
    "packet_loss",
    "frames_undecodable",
    "fps_mean",
    "height_mean",
    "quality_mean",
    "usable_ratio",
    "tier_met",
)

#: Columns of :func:`timeseries`, in order.
TIMESERIES_COLUMNS: tuple[str, ...] = (
    "t_s",
    "covered_s",
    "capacity_kbps",
    "target_kbps",
    "sent_kbps",
    "goodput_kbps",
    "packet_loss",
    "rtt_ms",
    "frames",
    "frame_delay_ms",
    "fps",
    "width",
    "height",
    "quality",
    "frozen",
    "frozen_s",
    "late",
    "low_fps",
    "low_resolution",
    "no_video",
    "excluded",
    "usable",
)

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
Float64Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _readonly(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    arr.setflags(write=False)
    return arr


def _as_bool_array(name: str, values: Any) -> BoolArray:
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind == "b":
        return np.ascontiguousarray(arr, dtype=np.bool_)
    if arr.dtype.kind in "iu" or (arr.size == 0 and arr.dtype.kind in "fO"):
        if arr.size and not np.all((arr == 0) | (arr == 1)):
            raise InputError(f"{name}: expected booleans (0 or 1)")
        return np.ascontiguousarray(arr, dtype=np.bool_)
    raise InputError(f"{name}: expected a boolean array, got dtype {arr.dtype}")


def _arrays_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            if not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


@dataclass(frozen=True, eq=False)
class FrameLog:
    """One row per frame the encoder produced, in capture order (read-only arrays).

    ``render_us`` is the time the frame was complete and decodable at the receiver (after
    the jitter buffer), or ``-1`` when it never was (lost, or its reference chain broke).
    Frames the encoder skipped are absent; they show up as longer inter-frame gaps.
    """

    capture_us: Int64Array  #: capture time at the sender (µs), non-decreasing
    render_us: Int64Array  #: render time at the receiver (µs), -1 = never rendered
    size_bytes: Int64Array  #: encoded size (bytes)
    width: Int32Array  #: encoded width (pixels)
    height: Int32Array  #: encoded height (pixels)
    keyframe: BoolArray  #: True for a keyframe
    quality_db: Float64Array  #: PSNR of the encoded frame from the content model (dB)

    def __post_init__(self) -> None:
        capture = as_int64_array("capture_us", self.capture_us, min_value=0)
        render = as_int64_array("render_us", self.render_us, min_value=0, allow=(-1,))
        size = as_int64_array("size_bytes", self.size_bytes, min_value=0)
        width = as_int64_array("width", self.width, min_value=1, max_value=2**31 - 1)
        height = as_int64_array("height", self.height, min_value=1, max_value=2**31 - 1)
        key = _as_bool_array("keyframe", self.keyframe)
        quality = as_float64_array("quality_db", self.quality_db)
        check_same_length(
            capture_us=capture,
            render_us=render,
            size_bytes=size,
            width=width,
            height=height,
            keyframe=key,
            quality_db=quality,
        )
        check_nondecreasing("capture_us", capture)
        rendered = render >= 0
        if np.any(render[rendered] < capture[rendered]):
            i = int(np.flatnonzero(rendered & (render < capture))[0])
            raise InputError(
                f"render_us: frame {i} renders at {render[i]} before its capture {capture[i]}"
            )
        values: dict[str, npt.NDArray[Any]] = {
            "capture_us": capture,
            "render_us": render,
            "size_bytes": size,
            "width": width.astype(np.int32),
            "height": height.astype(np.int32),
            "keyframe": key,
            "quality_db": quality,
        }
        for name, arr in values.items():
            object.__setattr__(self, name, _readonly(arr))

    def __len__(self) -> int:
        """Return the number of frames the encoder produced."""
        return int(self.capture_us.shape[0])

    def __eq__(self, other: object) -> bool:
        """Equal when every column is equal element by element."""
        return _arrays_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def empty(cls) -> FrameLog:
        """Return a log with no frames."""
        z = np.zeros(0, dtype=np.int64)
        z32 = np.zeros(0, dtype=np.int32)
        return cls(z, z, z, z32, z32, np.zeros(0, dtype=bool), np.zeros(0, dtype=np.float64))

    def to_dataframe(self) -> pd.DataFrame:
        """Return the log as a DataFrame, one column per field."""
        data: dict[str, npt.NDArray[Any]] = {f.name: getattr(self, f.name) for f in fields(self)}
        import pandas as pd  # heavy: loaded when a table is asked for

        df: pd.DataFrame = pd.DataFrame(data)
        return df


@dataclass(frozen=True, eq=False)
class IntervalLog:
    """One row per fixed interval of ``interval_us`` from t=0 to the session end (read-only).

    Rates are what happened inside the interval; ``target_bps`` and ``rtt_us`` are the values
    held at the interval's end.
    """

    t_us: Int64Array  #: interval start (µs), non-decreasing
    capacity_bps: Int64Array  #: link capacity in the interval, from the trace (bps)
    target_bps: Int64Array  #: estimator target at the interval end (bps)
    sent_bytes: Int64Array  #: bytes put on the wire (media, audio, FEC, retransmits, probes)
    goodput_bytes: Int64Array  #: bytes delivered to the receiver
    packets_sent: Int64Array  #: packets put on the wire
    packets_lost: Int64Array  #: packets lost (dropped by the link or never delivered)
    rtt_us: Int64Array  #: latest RTT seen by the sender (µs), -1 = unknown
    interval_us: int = field(default=100_000)  #: interval length (µs)

    def __post_init__(self) -> None:
        interval = check_int("interval_us", self.interval_us, min_value=1)
        values = {
            "t_us": as_int64_array("t_us", self.t_us, min_value=0),
            "capacity_bps": as_int64_array("capacity_bps", self.capacity_bps, min_value=0),
            "target_bps": as_int64_array("target_bps", self.target_bps, min_value=0),
            "sent_bytes": as_int64_array("sent_bytes", self.sent_bytes, min_value=0),
            "goodput_bytes": as_int64_array("goodput_bytes", self.goodput_bytes, min_value=0),
            "packets_sent": as_int64_array("packets_sent", self.packets_sent, min_value=0),
            "packets_lost": as_int64_array("packets_lost", self.packets_lost, min_value=0),
            "rtt_us": as_int64_array("rtt_us", self.rtt_us, min_value=0, allow=(-1,)),
        }
        check_same_length(**values)
        check_nondecreasing("t_us", values["t_us"])
        for name, arr in values.items():
            object.__setattr__(self, name, _readonly(arr))
        object.__setattr__(self, "interval_us", interval)

    def __len__(self) -> int:
        """Return the number of intervals."""
        return int(self.t_us.shape[0])

    def __eq__(self, other: object) -> bool:
        """Equal when every column and the interval length are equal."""
        return _arrays_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def empty(cls, interval_us: int = 100_000) -> IntervalLog:
        """Return a log with no intervals."""
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, z, z, z, z, z, interval_us=interval_us)

    @property
    def end_us(self) -> int:
        """End of the last interval (µs); 0 for an empty log."""
        if len(self) == 0:
            return 0
        return int(self.t_us[-1]) + self.interval_us

    def to_dataframe(self) -> pd.DataFrame:
        """Return the log as a DataFrame, one column per array field."""
        data: dict[str, npt.NDArray[Any]] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "interval_us"
        }
        import pandas as pd  # heavy: loaded when a table is asked for

        df: pd.DataFrame = pd.DataFrame(data)
        return df


# ---------------------------------------------------------------------------------------
# Frames actually shown, and freezes among them


@dataclass(frozen=True)
class _Shown:
    """Frames the viewer saw before ``end_us``, in display order."""

    capture_us: Int64Array
    render_us: Int64Array
    width: Int32Array
    height: Int32Array
    quality_db: Float64Array


def _shown(frames: FrameLog, end_us: int) -> _Shown:
    render = frames.render_us
    idx = np.flatnonzero((render >= 0) & (render < end_us))
    rt = render[idx]
    if rt.size:
        # A renderer never goes back in time: a frame that completes after a later-captured
        # frame was already shown is superseded and never displayed.
        prev_max = np.empty_like(rt)
        prev_max[0] = -1
        np.maximum.accumulate(rt[:-1], out=prev_max[1:])
        idx = idx[rt >= prev_max]
    return _Shown(
        capture_us=frames.capture_us[idx],
        render_us=render[idx],
        width=frames.width[idx],
        height=frames.height[idx],
        quality_db=frames.quality_db[idx],
    )


def _round_ms(t_us: Int64Array) -> Int64Array:
    # libwebrtc's Timestamp::ms() rounds to the nearest millisecond.
    return np.asarray(np.floor_divide(t_us + 500, 1000), dtype=np.int64)


def _freeze_gaps(render_us: Int64Array, end_us: int) -> tuple[Int64Array, Int64Array, Int64Array]:
    """Freezes among display times ``render_us``, the session end acting as one more frame.

    Returns (start_us, stop_us, duration_ms) of each freeze, in time order.
    """
    empty = np.zeros(0, dtype=np.int64)
    if render_us.size == 0:
        return empty, empty, empty
    times = render_us
    if end_us > int(render_us[-1]):
        # A picture still frozen when the session ends is a freeze too (libwebrtc would
        # report it when the next frame arrives, which never happens in a finite session).
        times = np.append(render_us, np.int64(end_us))
    if times.size < 2:
        return empty, empty, empty
    gaps_ms = np.diff(_round_ms(times))
    n = gaps_ms.size
    csum = np.concatenate(([0], np.cumsum(gaps_ms)))
    pos = np.arange(1, n + 1)  # gaps seen so far, the current one included
    size = np.minimum(pos, FREEZE_WINDOW_FRAMES)
    avg_ms = (csum[pos] - csum[pos - size]) // size
    threshold = np.maximum(3 * avg_ms, avg_ms + FREEZE_MIN_INCREASE_MS)
    is_freeze = (size >= FREEZE_MIN_SAMPLES) & (gaps_ms >= threshold)
    k = np.flatnonzero(is_freeze)
    return times[k], times[k + 1], gaps_ms[k]


def freezes(frames: FrameLog, end_us: int | None = None) -> pd.DataFrame:
    """List the freezes the viewer saw: columns ``start_us``, ``stop_us``, ``duration_ms``.

    ``end_us`` is the session end (default: the last render time, so no trailing freeze).
    """
    if end_us is None:
        rendered = frames.render_us[frames.render_us >= 0]
        end_us = int(rendered.max()) + 1 if rendered.size else 0
    end_us = check_int("end_us", end_us, min_value=0)
    shown = _shown(frames, end_us)
    start, stop, dur = _freeze_gaps(shown.render_us, end_us)
    import pandas as pd  # heavy: loaded when a table is asked for

    df: pd.DataFrame = pd.DataFrame({"start_us": start, "stop_us": stop, "duration_ms": dur})
    return df


def _covered_time(start: Int64Array, stop: Int64Array, t: Int64Array) -> Int64Array:
    """Total time in [0, t) covered by the disjoint, sorted intervals [start, stop)."""
    if start.size == 0:
        return np.zeros(t.shape, dtype=np.int64)
    lengths = np.concatenate(([0], np.cumsum(stop - start)))
    i = np.searchsorted(start, t, side="right")  # intervals starting at or before t
    covered = lengths[i]
    has = i > 0
    overhang = np.zeros(t.shape, dtype=np.int64)
    overhang[has] = np.maximum(stop[i[has] - 1] - t[has], 0)
    return np.asarray(covered - overhang, dtype=np.int64)


# ---------------------------------------------------------------------------------------
# One-second windows: each judged over its span (mediaopt.sla.window_spans), scored by sla


def _span_sum(values: npt.NDArray[Any], lo: Int64Array, hi: Int64Array) -> npt.NDArray[Any]:
    """Sums of ``values[lo[k]:hi[k]]`` (spans may overlap)."""
    csum = np.concatenate((np.zeros(1, dtype=values.dtype), np.cumsum(values)))
    return np.asarray(csum[hi] - csum[lo])


def _span_reduce(
    ufunc: np.ufunc, values: npt.NDArray[Any], lo: Int64Array, hi: Int64Array, empty: Any
) -> npt.NDArray[Any]:
    """``ufunc`` (maximum, minimum) over ``values[lo[k]:hi[k]]``; ``empty`` for empty spans."""
    if lo.size == 0:
        return np.zeros(0, dtype=values.dtype)
    if values.size == 0:
        return np.full(lo.shape, empty, dtype=values.dtype)
    # reduceat over (lo, hi) pairs reduces values[lo:hi] at the even positions; a sentinel
    # element keeps hi == len(values) a valid index
    ext = np.append(values, values[-1])
    idx = np.empty(2 * lo.size, dtype=np.int64)
    idx[0::2] = lo
    idx[1::2] = hi
    out = ufunc.reduceat(ext, idx)[0::2]
    return np.asarray(np.where(hi > lo, out, empty))


def _window_table(
    frames: FrameLog, intervals: IntervalLog, profile: ProfileLike, end_us: int
) -> tuple[dict[str, npt.NDArray[Any]], WindowScores, _Shown, Int64Array]:
    """Per one-second window statistics and verdicts over [0, end_us); see docs/metrics.md.

    Also returns the scores (:class:`mediaopt.sla.WindowScores`), the shown frames and the
    freeze durations (ms), which the session metrics reuse.
    """
    spans = window_spans(end_us)
    a, b = spans.judged_from_us, spans.stop_us
    out: dict[str, npt.NDArray[Any]] = {
        "t_s": spans.start_us / 1e6,
        "covered_s": spans.covered_us / 1e6,
    }

    # Network side: the intervals starting in each judged span.
    t = intervals.t_us
    lo_i = np.searchsorted(t, a, side="left").astype(np.int64)
    hi_i = np.searchsorted(t, b, side="left").astype(np.int64)
    n_int = (hi_i - lo_i).astype(np.float64)
    covered_s = np.minimum(n_int * intervals.interval_us, (b - a)) / 1e6
    has_int = n_int > 0
    safe_int = np.maximum(n_int, 1.0)
    safe_cov = np.where(covered_s > 0, covered_s, 1.0)

    def isum(values: Int64Array) -> Float64Array:
        return np.asarray(_span_sum(values, lo_i, hi_i), dtype=np.float64)

    out["capacity_kbps"] = np.where(has_int, isum(intervals.capacity_bps) / safe_int / 1e3, 0.0)
    out["target_kbps"] = np.where(has_int, isum(intervals.target_bps) / safe_int / 1e3, 0.0)
    out["sent_kbps"] = np.where(covered_s > 0, isum(intervals.sent_bytes) * 8 / safe_cov / 1e3, 0.0)
    out["goodput_kbps"] = np.where(
        covered_s > 0, isum(intervals.goodput_bytes) * 8 / safe_cov / 1e3, 0.0
    )
    sent_pk = isum(intervals.packets_sent)
    lost_pk = isum(intervals.packets_lost)
    out["packet_loss"] = np.clip(
        np.where(sent_pk > 0, lost_pk / np.maximum(sent_pk, 1.0), 0.0), 0.0, 1.0
    )
    rtt = intervals.rtt_us
    n_rtt = isum((rtt >= 0).astype(np.int64))
    rtt_sum = isum(np.where(rtt >= 0, rtt, 0).astype(np.int64)) / 1e3
    out["rtt_ms"] = np.where(n_rtt > 0, rtt_sum / np.maximum(n_rtt, 1.0), 0.0)

    # Viewer side: the frames shown in each judged span (render times never go back).
    shown = _shown(frames, end_us)
    lo_f = np.searchsorted(shown.render_us, a, side="left").astype(np.int64)
    hi_f = np.searchsorted(shown.render_us, b, side="left").astype(np.int64)
    count = hi_f - lo_f
    has_frames = count > 0
    delay_ms = (shown.render_us - shown.capture_us) / 1e3
    max_delay = _span_reduce(np.maximum, delay_ms, lo_f, hi_f, 0.0)
    width64 = shown.width.astype(np.int64)
    height64 = shown.height.astype(np.int64)
    min_w = _span_reduce(np.minimum, width64, lo_f, hi_f, 0)
    min_h = _span_reduce(np.minimum, height64, lo_f, hi_f, 0)
    min_px = _span_reduce(np.minimum, width64 * height64, lo_f, hi_f, 0)
    q_sum = _span_sum(shown.quality_db, lo_f, hi_f)
    quality = np.where(has_frames, q_sum / np.maximum(count, 1), 0.0)

    # Frame rate on the capture clock: frames shown in the span over the capture time they
    # cover (each frame after the first covers the capture interval since the frame shown
    # before it). The jitter buffer's delay variation does not enter it; late delivery is
    # a freeze instead.
    cap_gap = np.zeros(shown.capture_us.size, dtype=np.int64)
    cap_gap[1:] = np.diff(shown.capture_us)
    lo_g = np.minimum(np.maximum(lo_f, 1), cap_gap.size)  # the first frame covers nothing
    hi_g = np.maximum(hi_f, lo_g)
    gap_n = (hi_g - lo_g).astype(np.float64)
    gap_sum = _span_sum(cap_gap, lo_g, hi_g).astype(np.float64)
    fps = np.where(gap_sum > 0, gap_n * 1e6 / np.where(gap_sum > 0, gap_sum, 1.0), 0.0)
    fps = np.round(fps, 2)

    f_start, f_stop, f_ms = _freeze_gaps(shown.render_us, end_us)
    frozen_us = _covered_time(f_start, f_stop, b) - _covered_time(f_start, f_stop, a)
    frozen = frozen_us > 0

    scores = score_windows(
        profile,
        frames=count,
        frame_delay_ms=max_delay,
        fps=fps,
        min_pixels=min_px,
        frozen=frozen,
        covered_us=spans.covered_us,
        capacity_kbps=np.where(has_int, out["capacity_kbps"], np.nan),
    )

    out["frames"] = count.astype(np.int64)
    out["frame_delay_ms"] = max_delay
    out["fps"] = fps
    out["width"] = min_w
    out["height"] = min_h
    out["quality"] = quality
    out["frozen"] = frozen
    out["frozen_s"] = frozen_us / 1e6
    for name in ("late", "low_fps", "low_resolution", "no_video"):
        out[name] = scores.has(name)
    out["excluded"] = np.asarray(scores.excluded)
    out["usable"] = scores.usable
    return out, scores, shown, f_ms


def _session_end_us(frames: FrameLog, intervals: IntervalLog, duration_s: float | None) -> int:
    if duration_s is not None:
        d = check_float("duration_s", duration_s, min_value=0.0, max_value=1e9)
        return round(d * 1e6)
    end_us = intervals.end_us
    if end_us == 0:
        rendered = frames.render_us[frames.render_us >= 0]
        end_us = int(rendered.max()) + 1 if rendered.size else 0
    return end_us


def timeseries(
    frames: FrameLog,
    intervals: IntervalLog,
    profile: ProfileLike,
    *,
    duration_s: float | None = None,
) -> pd.DataFrame:
    """One row per one-second window of the session, columns :data:`TIMESERIES_COLUMNS`.

    The session is ``[0, duration_s)`` (default: to the end of the interval log or, with
    no intervals, to just after the last rendered frame). A partial last window is judged
    on the session's last second and weighs ``covered_s`` (``mediaopt.sla``). Network
    columns summarise the intervals starting in the window; viewer columns the frames
    rendered in it; ``frozen``, ``late``, ``low_fps``, ``low_resolution`` and
    ``no_video`` are the window's reasons, ``excluded`` whether the link was below the
    profile's capacity floor and ``usable`` whether it had no reason (see
    ``docs/metrics.md``). Never NaN.
    """
    check_profile(profile)
    end_us = _session_end_us(frames, intervals, duration_s)
    table, _, _, _ = _window_table(frames, intervals, profile, end_us)
    return timeseries_frame(table)


def timeseries_frame(table: dict[str, npt.NDArray[Any]]) -> pd.DataFrame:
    """The DataFrame of a window table (the arrays :func:`evaluate` returns)."""
    import pandas as pd  # heavy: loaded when a table is asked for

    df: pd.DataFrame = pd.DataFrame({c: table[c] for c in TIMESERIES_COLUMNS})
    return df


def window_scores(
    frames: FrameLog,
    intervals: IntervalLog,
    profile: ProfileLike,
    *,
    duration_s: float | None = None,
) -> WindowScores:
    """The session's windows as scored by :func:`mediaopt.sla.score_windows`.

    The same windows, verdicts and session end as :func:`timeseries`.
    """
    check_profile(profile)
    end_us = _session_end_us(frames, intervals, duration_s)
    _, scores, _, _ = _window_table(frames, intervals, profile, end_us)
    return scores


def _undecodable(frames: FrameLog, shown: _Shown, end_us: int) -> float:
    """Never-rendered frames, leaving out those still in flight when the session ends.

    A frame captured less than the path's latency at the end (the frame delay of the last
    shown frame) before the end could not have rendered in time even on a healthy path.
    """
    tail_us = int(shown.render_us[-1] - shown.capture_us[-1]) if shown.render_us.size else 0
    due = frames.capture_us < end_us - tail_us
    return float(np.count_nonzero((frames.render_us < 0) & due))


def _ratio(num: float, den: float) -> float:
    return min(max(num / den, 0.0), 1.0) if den > 0 else 0.0


def evaluate(
    frames: FrameLog, intervals: IntervalLog, profile: ProfileLike, duration_s: float
) -> tuple[dict[str, float], dict[str, npt.NDArray[Any]], WindowScores]:
    """Session metrics, the per-window table and the window scores, from one computation.

    Returns ``(metrics, table, scores)``: :func:`session_metrics`'s dict, the columns of
    :func:`timeseries` as arrays, and the :class:`mediaopt.sla.WindowScores` they share,
    so that ``usable_ratio`` and the time series agree by construction.
    """
    duration_s = check_float("duration_s", duration_s, min_value=0.0, max_value=1e9)
    check_profile(profile)
    end_us = round(duration_s * 1e6)
    table, scores, shown, freeze_ms = _window_table(frames, intervals, profile, end_us)

    keep = intervals.t_us < end_us
    capacity_kbps = float(np.mean(intervals.capacity_bps[keep])) / 1e3 if keep.any() else 0.0
    sent_kbps = float(intervals.sent_bytes[keep].sum()) * 8 / 1e3 / duration_s if end_us else 0.0
    goodput_kbps = (
        float(intervals.goodput_bytes[keep].sum()) * 8 / 1e3 / duration_s if end_us else 0.0
    )
    sent_pk = float(intervals.packets_sent[keep].sum())
    lost_pk = float(intervals.packets_lost[keep].sum())

    n_shown = shown.render_us.size
    if n_shown:
        delays_ms = (shown.render_us - shown.capture_us) / 1e3
        p50, p95, p99 = (float(v) for v in np.percentile(delays_ms, [50, 95, 99]))
        height_mean = float(np.mean(shown.height))
        quality_mean = float(np.mean(shown.quality_db))
    else:
        # Nothing reached the screen within the session: every frame waited at least as
        # long as the session itself.
        p50 = p95 = p99 = duration_s * 1e3
        height_mean = quality_mean = 0.0
    freeze_s = float(freeze_ms.sum()) / 1e3
    summary = scores.summary()

    metrics = {
        "duration_s": duration_s,
        "capacity_kbps": capacity_kbps,
        "sent_kbps": sent_kbps,
        "goodput_kbps": goodput_kbps,
        "utilization": _ratio(goodput_kbps, capacity_kbps),
        "frame_delay_p50_ms": p50,
        "frame_delay_p95_ms": p95,
        "frame_delay_p99_ms": p99,
        "freeze_count": float(freeze_ms.size),
        "freeze_s": freeze_s,
        "freeze_ratio": _ratio(freeze_s, duration_s),
        "packet_loss": _ratio(lost_pk, sent_pk),
        "frames_undecodable": _undecodable(frames, shown, end_us),
        "fps_mean": n_shown / duration_s if duration_s > 0 else 0.0,
        "height_mean": height_mean,
        "quality_mean": quality_mean,
        "usable_ratio": summary.availability,
        "tier_met": 1.0 if summary.tier_met(float(profile.availability)) else 0.0,
    }
    return metrics, table, scores


def session_metrics(
    frames: FrameLog, intervals: IntervalLog, profile: ProfileLike, duration_s: float
) -> dict[str, float]:
    """Compute the session metrics of DESIGN.md over [0, ``duration_s``): :data:`METRIC_NAMES`.

    Every value is a finite float (``tier_met`` is 1.0 or 0.0); definitions, including the
    values for sessions with no rendered frame, are in ``docs/metrics.md``. ``usable_ratio``
    and ``tier_met`` come from :mod:`mediaopt.sla`: usable time over counted time (windows
    weighted by the time they cover, excluded windows left out).
    """
    metrics, _, _ = evaluate(frames, intervals, profile, duration_s)
    return metrics
