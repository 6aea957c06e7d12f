"""Service-level accounting: one-second windows scored with reasons, and pooled availability.

DESIGN.md's "Service tiers and how they are judged", as code. The replay scores its
sessions with these functions (``mediaopt.replay.metrics`` summarises a frame log into
per-window statistics and calls :func:`score_windows`), the study pools them
(:func:`pooled`), and the live monitor scores one-second windows of live statistics with
the same functions: one definition. ``docs/sla.md`` states every rule and the confidence
bound's method and coverage.

- :func:`window_spans`: the one-second windows of a session ``[0, T)``; a partial last
  window is judged on the session's last second and weighs by the time it covers.
- :func:`score_windows`: each window's reasons (:class:`Reason`: ``frozen``, ``late``,
  ``low_fps``, ``low_resolution``, ``no_video``); usable = no reason; ``excluded`` when
  the link's capacity was below the profile's ``min_capacity_kbps`` (outside the contract).
- :class:`WindowSummary`: one call's time accounting, additive (``a + b``), so a stream
  of live windows can be tallied as it comes.
- :func:`pooled`: availability over a group of calls (usable time / counted time) with a
  one-sided lower confidence bound that respects that bad seconds cluster within calls,
  and :func:`verdict`: ``met`` / ``not met`` / ``inconclusive`` against a tier's target.
"""

from __future__ import annotations

import enum
import math
import statistics
from dataclasses import dataclass, fields
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from mediaopt._validate import as_float64_array, as_int64_array, check_float, check_same_length
from mediaopt.errors import InputError

__all__ = [
    "CONFIDENCE",
    "REASONS",
    "SUMMARY_COLUMNS",
    "VERDICTS",
    "WINDOW_US",
    "Pooled",
    "ProfileLike",
    "Reason",
    "Spans",
    "WindowScores",
    "WindowSummary",
    "check_profile",
    "lower_bound",
    "pooled",
    "reason_names",
    "score_windows",
    "verdict",
    "window_spans",
]

#: The availability window of DESIGN.md ("scored per one-second window").
WINDOW_US = 1_000_000
#: Default confidence of the pooled availability's one-sided lower bound.
CONFIDENCE = 0.95
#: The verdicts of :func:`verdict`.
VERDICTS: tuple[str, ...] = ("met", "not met", "inconclusive")

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
UInt8Array = npt.NDArray[np.uint8]


class Reason(enum.IntFlag):
    """Why a window is not usable; a window may carry several (a bit set)."""

    FROZEN = 1  #: a freeze (WebRTC's definition) overlaps the window
    LATE = 2  #: a frame shown in the window took at least the profile's delay ceiling
    LOW_FPS = 4  #: the window's frame rate is below the profile's floor
    LOW_RESOLUTION = 8  #: a frame shown in the window has fewer pixels than the floor
    NO_VIDEO = 16  #: no frame was shown in the window


#: Reason names in bit order (the ``Reason`` members, lower-case).
REASONS: tuple[str, ...] = tuple(str(r.name).lower() for r in Reason)
_REASON_BITS: tuple[tuple[str, int], ...] = tuple(
    (str(r.name).lower(), int(r.value)) for r in Reason
)


class ProfileLike(Protocol):
    """What scoring needs from a clinical profile (``mediaopt.policies.ClinicalProfile``).

    A ``min_capacity_kbps`` attribute is read when present (``None`` or absent: no window
    is ever excluded).
    """

    @property
    def name(self) -> str:
        """Profile name."""

    @property
    def tier(self) -> str:
        """Service tier: ``"basic"``, ``"standard"`` or ``"advanced"``."""

    @property
    def availability(self) -> float:
        """Share of usable time the tier promises (0.995, 0.999, 0.9999)."""

    @property
    def max_frame_delay_ms(self) -> float:
        """Ceiling on the capture-to-render delay of every frame in a usable window (ms)."""

    @property
    def min_fps(self) -> float:
        """Floor on the frame rate of a usable window (frames per second)."""

    @property
    def min_width(self) -> int:
        """Width of the resolution floor (pixels); the floor is ``min_width * min_height``."""

    @property
    def min_height(self) -> int:
        """Height of the resolution floor (pixels); the floor is ``min_width * min_height``."""


def check_profile(profile: ProfileLike) -> None:
    """Raise :class:`mediaopt.InputError` unless ``profile`` has valid floors and a target."""
    for attr in ("max_frame_delay_ms", "min_fps", "min_width", "min_height", "availability"):
        if not hasattr(profile, attr):
            raise InputError(f"profile: missing attribute {attr!r}")
        check_float(f"profile.{attr}", getattr(profile, attr), min_value=0.0)
    check_float("profile.availability", profile.availability, min_value=0.0, max_value=1.0)
    cap = getattr(profile, "min_capacity_kbps", None)
    if cap is not None:
        check_float("profile.min_capacity_kbps", cap, min_value=0.0)


def reason_names(mask: int) -> tuple[str, ...]:
    """The names of the reasons set in ``mask`` (a :class:`Reason` bit set), in bit order."""
    m = int(mask)
    return tuple(name for name, bit in _REASON_BITS if m & bit)


# ---------------------------------------------------------------------------------------
# Windows of a session


class Spans(NamedTuple):
    """The one-second windows of a session (µs), from :func:`window_spans`.

    Window ``k`` starts at ``start_us[k]`` = k s and ends at ``stop_us[k]``; it is judged
    on ``[judged_from_us[k], stop_us[k])`` and weighs ``covered_us[k]`` =
    ``stop_us[k] - start_us[k]``.
    """

    start_us: Int64Array
    judged_from_us: Int64Array
    stop_us: Int64Array

    @property
    def covered_us(self) -> Int64Array:
        """Time each window covers (µs): one second, except a partial last window."""
        return np.asarray(self.stop_us - self.start_us, dtype=np.int64)


def window_spans(end_us: int) -> Spans:
    """The one-second windows of the session ``[0, end_us)``.

    Window ``k`` covers ``[k s, (k+1) s) ∩ [0, T)``. Every window is judged on a full
    second where the session has one: a partial last window (``T`` not a whole number of
    seconds, ``T > 1 s``) is judged on the session's last second ``[T - 1 s, T)`` (a 32 ms
    tail holds no frame even on a perfect link, yet the viewer saw nothing wrong) and
    weighs by the time it covers. A session shorter than a second is one window.
    """
    t = int(end_us)
    if t < 0:
        raise InputError(f"end_us: must be >= 0, got {end_us!r}")
    n = -(-t // WINDOW_US)
    start = np.arange(n, dtype=np.int64) * WINDOW_US
    stop = np.minimum(start + WINDOW_US, t)
    judged = np.maximum(np.minimum(start, t - WINDOW_US), 0)
    return Spans(start, judged, stop)


# ---------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class WindowSummary:
    """One call's (or any set of windows') time accounting; ``a + b`` adds two.

    Times are whole microseconds so that sums are exact. ``excluded_us`` is time outside
    the contract (the link below the profile's capacity floor); the rest is *counted*:
    ``usable_us`` of it usable, each ``unusable_<reason>_us`` the counted time of windows
    carrying that reason (a window with two reasons counts in both, so they may add up to
    more than the unusable time).
    """

    windows: int = 0
    covered_us: int = 0
    excluded_us: int = 0
    usable_us: int = 0
    unusable_frozen_us: int = 0
    unusable_late_us: int = 0
    unusable_low_fps_us: int = 0
    unusable_low_resolution_us: int = 0
    unusable_no_video_us: int = 0

    def __add__(self, other: WindowSummary) -> WindowSummary:
        """The accounting of both sets of windows together."""
        if not isinstance(other, WindowSummary):
            return NotImplemented
        return WindowSummary(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )

    @property
    def counted_us(self) -> int:
        """Time inside the contract (covered minus excluded, µs)."""
        return self.covered_us - self.excluded_us

    @property
    def unusable_us(self) -> int:
        """Counted time that was not usable (µs)."""
        return self.counted_us - self.usable_us

    @property
    def availability(self) -> float:
        """Usable time / counted time; 0.0 when nothing was counted."""
        c = self.counted_us
        return min(max(self.usable_us / c, 0.0), 1.0) if c > 0 else 0.0

    def tier_met(self, target: float) -> bool:
        """The strict per-call reading: some time counted and ``availability >= target``."""
        return self.counted_us > 0 and self.availability >= float(target)

    def as_dict(self) -> dict[str, float]:
        """Seconds, as the study's session columns: ``counted_s``, ``usable_s``, ...

        Keys: ``counted_s``, ``usable_s``, ``excluded_s``, then ``unusable_<reason>_s``
        for each reason of :data:`REASONS`.
        """
        out = {
            "counted_s": self.counted_us / 1e6,
            "usable_s": self.usable_us / 1e6,
            "excluded_s": self.excluded_us / 1e6,
        }
        for name in REASONS:
            out[f"unusable_{name}_s"] = getattr(self, f"unusable_{name}_us") / 1e6
        return out


#: Keys of :meth:`WindowSummary.as_dict`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = tuple(WindowSummary().as_dict())


@dataclass(frozen=True, eq=False)
class WindowScores:
    """The verdict on each window: its weight, its reasons and whether it was excluded.

    ``covered_us`` is the time each window covers (its weight), ``reasons`` a
    :class:`Reason` bit set per window (0 = usable), ``excluded`` True where the link's
    capacity was below the profile's ``min_capacity_kbps``. Arrays are read-only.
    """

    covered_us: Int64Array
    reasons: UInt8Array
    excluded: BoolArray

    def __len__(self) -> int:
        """Return the number of windows."""
        return int(self.covered_us.shape[0])

    @property
    def usable(self) -> BoolArray:
        """True for a window with no reason (whether or not it was excluded)."""
        return np.asarray(self.reasons == 0)

    def has(self, reason: Reason | str) -> BoolArray:
        """True for the windows carrying ``reason`` (a :class:`Reason` or its name)."""
        bit = Reason[reason.upper()] if isinstance(reason, str) else Reason(reason)
        return np.asarray((self.reasons & np.uint8(bit)) != 0)

    def summary(self) -> WindowSummary:
        """The time accounting of these windows (:class:`WindowSummary`)."""
        w = self.covered_us
        counted = ~self.excluded
        values: dict[str, int] = {
            "windows": len(self),
            "covered_us": int(w.sum()),
            "excluded_us": int(w[self.excluded].sum()),
            "usable_us": int(w[counted & (self.reasons == 0)].sum()),
        }
        for name, bit in _REASON_BITS:
            values[f"unusable_{name}_us"] = int(w[counted & ((self.reasons & bit) != 0)].sum())
        return WindowSummary(**values)


def _readonly(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    arr.setflags(write=False)
    return arr


def score_windows(
    profile: ProfileLike,
    *,
    frames: npt.ArrayLike,
    frame_delay_ms: npt.ArrayLike,
    fps: npt.ArrayLike,
    min_pixels: npt.ArrayLike,
    frozen: npt.ArrayLike,
    covered_us: npt.ArrayLike | None = None,
    capacity_kbps: npt.ArrayLike | None = None,
) -> WindowScores:
    """Score windows against ``profile`` from per-window statistics (equal-length arrays).

    Per window: ``frames`` shown, the largest ``frame_delay_ms`` among them, the frame
    rate ``fps``, the smallest ``min_pixels`` (width x height) among them, ``frozen``
    (a freeze overlaps the window), ``covered_us`` (default one second each) and the
    link's ``capacity_kbps`` (``None``, or NaN for a window, when unknown: never excluded).
    The rules (docs/sla.md):

    - ``no_video``: no frame shown;
    - ``frozen``: a freeze overlaps the window;
    - ``late``: a frame shown with ``frame_delay_ms >= profile.max_frame_delay_ms``;
    - ``low_fps``: frames shown at ``fps < profile.min_fps``;
    - ``low_resolution``: a frame shown with ``min_pixels < min_width * min_height``;
    - usable: no reason; ``excluded``: ``capacity_kbps < profile.min_capacity_kbps``.

    Works the same on a whole session's windows and on one live window at a time.
    """
    check_profile(profile)
    n_frames = as_int64_array("frames", frames, min_value=0)
    delay = as_float64_array("frame_delay_ms", frame_delay_ms, min_value=0.0)
    rate = as_float64_array("fps", fps, min_value=0.0)
    pixels = as_int64_array("min_pixels", min_pixels, min_value=0)
    froz = np.asarray(frozen)
    if froz.ndim == 0:
        froz = froz.reshape(1)
    if froz.dtype.kind != "b":
        raise InputError(f"frozen: expected a boolean array, got dtype {froz.dtype}")
    n = len(n_frames)
    if covered_us is None:
        covered = np.full(n, WINDOW_US, dtype=np.int64)
    else:
        covered = as_int64_array("covered_us", covered_us, min_value=0, max_value=WINDOW_US)
    if capacity_kbps is None:
        capacity = np.full(n, np.nan)
    else:
        capacity = np.asarray(capacity_kbps, dtype=np.float64).reshape(-1)
        if np.any(np.isinf(capacity)) or np.any(capacity < 0):
            raise InputError("capacity_kbps: expected finite numbers >= 0 (NaN: unknown)")
    check_same_length(
        frames=n_frames,
        frame_delay_ms=delay,
        fps=rate,
        min_pixels=pixels,
        frozen=froz,
        covered_us=covered,
        capacity_kbps=capacity,
    )

    shown = n_frames > 0
    reasons = np.zeros(n, dtype=np.uint8)
    reasons |= np.where(froz, np.uint8(Reason.FROZEN), np.uint8(0))
    late = shown & (delay >= float(profile.max_frame_delay_ms))
    reasons |= np.where(late, np.uint8(Reason.LATE), np.uint8(0))
    low_fps = shown & (rate < float(profile.min_fps))
    reasons |= np.where(low_fps, np.uint8(Reason.LOW_FPS), np.uint8(0))
    # The resolution floor is a pixel count (as ClinicalProfile defines it and the
    # adaptation steers to it), so it does not depend on the aspect ratio.
    floor_px = int(profile.min_width) * int(profile.min_height)
    reasons |= np.where(shown & (pixels < floor_px), np.uint8(Reason.LOW_RESOLUTION), np.uint8(0))
    reasons |= np.where(shown, np.uint8(0), np.uint8(Reason.NO_VIDEO))

    floor_kbps = getattr(profile, "min_capacity_kbps", None)
    if floor_kbps is None:
        excluded = np.zeros(n, dtype=bool)
    else:
        with np.errstate(invalid="ignore"):
            excluded = ~np.isnan(capacity) & (capacity < float(floor_kbps))
    return WindowScores(
        covered_us=_readonly(np.ascontiguousarray(covered)),
        reasons=_readonly(reasons),
        excluded=_readonly(np.ascontiguousarray(excluded, dtype=bool)),
    )


# ---------------------------------------------------------------------------------------
# Pooled availability over many calls


@dataclass(frozen=True)
class Pooled:
    """Availability pooled over a group of calls, with its one-sided lower bound.

    ``availability`` and ``lower_bound`` are NaN when nothing was counted.
    """

    sessions: int  #: calls with counted time
    counted_s: float  #: time inside the contract (s)
    usable_s: float  #: usable time of it (s)
    availability: float  #: usable_s / counted_s
    lower_bound: float  #: one-sided lower confidence bound on the availability
    confidence: float  #: the bound's confidence level

    def verdict(self, target: float) -> str:
        """:func:`verdict` of this estimate and bound against ``target``."""
        return verdict(self.availability, self.lower_bound, target)


def verdict(availability: float, lower_bound: float, target: float) -> str:
    """``met`` when the bound reaches ``target``, ``not met`` when the estimate misses it.

    Otherwise (the estimate reaches the target but the bound does not, or nothing was
    counted and both are NaN) ``inconclusive``.
    """
    t = check_float("target", target, min_value=0.0, max_value=1.0)
    if math.isnan(availability) or math.isnan(lower_bound):
        return "inconclusive"
    if lower_bound >= t:
        return "met"
    if availability < t:
        return "not met"
    return "inconclusive"


def _session_arrays(usable_s: npt.ArrayLike, counted_s: npt.ArrayLike) -> tuple[Any, Any]:
    u = as_float64_array("usable_s", usable_s, min_value=0.0)
    c = as_float64_array("counted_s", counted_s, min_value=0.0)
    check_same_length(usable_s=u, counted_s=c)
    if np.any(u > c * (1 + 1e-12) + 1e-9):
        i = int(np.argmax(u > c * (1 + 1e-12) + 1e-9))
        raise InputError(f"usable_s: session {i} has more usable time than counted time")
    keep = c > 0
    return np.minimum(u[keep], c[keep]), c[keep]


def pooled(
    usable_s: npt.ArrayLike, counted_s: npt.ArrayLike, *, confidence: float = CONFIDENCE
) -> Pooled:
    """Pool per-call usable and counted seconds: availability and its lower bound.

    ``usable_s[i]`` and ``counted_s[i]`` are call ``i``'s usable and counted time
    (:class:`WindowSummary`); calls with no counted time carry no information and are
    left out. The bound is :func:`lower_bound`.
    """
    u, c = _session_arrays(usable_s, counted_s)
    total = float(c.sum())
    if total <= 0:
        return Pooled(0, 0.0, 0.0, math.nan, math.nan, float(confidence))
    est = min(max(float(u.sum()) / total, 0.0), 1.0)
    return Pooled(
        sessions=int(c.size),
        counted_s=total,
        usable_s=float(u.sum()),
        availability=est,
        lower_bound=_kg_bound(u, c, confidence),
        confidence=float(confidence),
    )


def lower_bound(
    usable_s: npt.ArrayLike, counted_s: npt.ArrayLike, *, confidence: float = CONFIDENCE
) -> float:
    """One-sided lower confidence bound on pooled availability, clustered by call.

    The Korn–Graubard (1998) interval for a proportion estimated from clustered data: the
    Clopper–Pearson bound at the design-based effective sample size, with the degrees of
    freedom of the between-call variance estimated by Satterthwaite's approximation.
    Deterministic (no resampling). Method, reasoning and the coverage measured by
    simulation: docs/sla.md. NaN when nothing was counted.
    """
    u, c = _session_arrays(usable_s, counted_s)
    if float(c.sum()) <= 0:
        return math.nan
    return _kg_bound(u, c, confidence)


def _kg_bound(u: Float64Array, c: Float64Array, confidence: float) -> float:
    conf = check_float("confidence", confidence, min_value=0.5, max_value=0.9999)
    n = int(c.size)
    if n < 2:
        # One call says nothing about how much calls differ from one another.
        return 0.0
    total = float(c.sum())
    bad = c - u
    p = min(max(float(bad.sum()) / total, 0.0), 1.0)
    if p >= 1.0:
        return 0.0
    r = bad - p * c
    s2 = float(np.sum(r * r))
    if s2 > 0:
        var = n / (n - 1) * s2 / (total * total)
        n_eff = min(p * (1.0 - p) / var, total)
        df = min(max(s2 * s2 / float(np.sum(r**4)), 1.0), n - 1.0)
    else:
        n_eff = total
        # No unusable second at all: how bad seconds would cluster is unknown, so the
        # bound takes the fewest degrees of freedom; identical shares in every call are
        # the strongest evidence of homogeneity there is.
        df = 1.0 if p == 0.0 else n - 1.0
    z = statistics.NormalDist().inv_cdf(conf)
    n_eff *= (z / _t_ppf(conf, df)) ** 2
    x = p * n_eff
    if n_eff - x <= 0:
        return 0.0
    upper = _beta_ppf(conf, x + 1.0, n_eff - x)
    return min(max(1.0 - upper, 0.0), 1.0 - p)


# ---------------------------------------------------------------------------------------
# The few distribution functions the bound needs (numpy has none; scipy is not a dependency)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-13:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta ``I_x(a, b)`` for ``a, b > 0``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _beta_ppf(q: float, a: float, b: float) -> float:
    """The ``q`` quantile of Beta(a, b), by bisection on a log scale (relative 1e-10)."""
    # bracket the quantile by factors of 4 around twice the mean, then bisect
    hi = min(1.0, max(2.0 * a / (a + b), 1e-300))
    while _betainc(a, b, hi) < q and hi < 1.0:
        hi = min(1.0, hi * 4.0)
    lo = hi / 4.0
    while lo > 1e-300 and _betainc(a, b, lo) > q:
        lo /= 4.0
    for _ in range(200):
        mid = math.sqrt(lo * hi) if lo > 0 else hi / 2.0
        if _betainc(a, b, mid) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-10 * hi:
            break
    return hi


def _t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile (``q > 0.5``) of Student's t with ``df`` degrees of freedom."""
    if df > 1e7:
        return statistics.NormalDist().inv_cdf(q)
    tail = 1.0 - q  # P(T > t) = I_{df/(df+t^2)}(df/2, 1/2) / 2

    def upper(t: float) -> float:
        return 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))

    lo, hi = 0.0, 1.0
    while upper(hi) > tail:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if upper(mid) > tail:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return 0.5 * (lo + hi)
