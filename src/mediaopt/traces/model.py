"""The trace model: delivery opportunities and a piecewise-constant capacity view.

A :class:`Trace` always carries both views of one period of a link:

* ``opportunities_us``: the times (µs, non-decreasing, within ``[0, duration_us]``) at which
  Mahimahi's ``mm-link`` may carry :data:`OPPORTUNITY_BYTES` bytes; this is what
  :class:`mediaopt.Link` replays;
* ``step_times_us`` / ``capacity_kbps``: a capacity that holds from each step's start until
  the next one (the last until ``duration_us``), with optional ``loss`` (probability) and
  ``delay_ms`` (extra one-way delay) columns on the same steps.

A trace recorded as opportunities (Mahimahi) gets its capacity view from one-second bins
of its opportunities; a trace given as a capacity (cooked, CSV, JSON, generators) gets its
opportunities from :func:`capacity_to_opportunities`, the deterministic credit rule of
Mahimahi-style ``rate-to-events`` converters. ``docs/formats.md`` describes both.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from mediaopt.errors import InputError, clip_repr

_T = TypeVar("_T", bound=np.generic)
Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]

#: Bytes one delivery opportunity carries (Mahimahi's ``LinkQueue::PACKET_SIZE``).
OPPORTUNITY_BYTES = 1504
#: Bits one delivery opportunity carries.
OPPORTUNITY_BITS = OPPORTUNITY_BYTES * 8
#: Width of the bins that turn opportunities into a capacity view (µs).
CAPACITY_BIN_US = 1_000_000
#: The "weak network" threshold used by the trace statistics (kbit/s).
WEAK_KBPS = 300.0
#: Largest extra one-way delay a trace's ``delay_ms`` column may hold (the Link's own
#: ``one_way_delay_ms`` ceiling): about 2.8 hours.
MAX_DELAY_MS = 1e7

_DAY_S = 86_400
#: Milliseconds of capacity evaluated at a time by :func:`capacity_to_opportunities`
#: (bounds its working memory to a few tens of MB whatever the trace's length).
_CHUNK_MS = 1 << 20


@dataclass(frozen=True)
class TraceLimits:
    """How large a trace mediaopt accepts; every loader and constructor checks these first.

    The defaults allow the longest real traces comfortably (the recorded ones in
    ``../shared/traces`` last at most 18 minutes) up to a day of 100 Mbit/s, and no more:
    a file that asks for more is refused with an ``InputError`` *before* anything is
    allocated for it, so a 12-byte file cannot cost gigabytes. ``docs/reliability.md``
    lists them with the memory each one bounds. Pass ``limits=`` to a loader to tighten
    them (the fuzzing harnesses do) or to loosen them for a trace you trust.
    """

    #: Longest period (s): one day.
    max_duration_s: float = float(_DAY_S)
    #: Most delivery opportunities (8 bytes each in memory): a day at 100 Mbit/s.
    max_opportunities: int = -(-_DAY_S * 100_000_000 // OPPORTUNITY_BITS)
    #: Most capacity steps (rows of a cooked, CSV or JSON trace): a day of 1 ms samples.
    max_steps: int = _DAY_S * 1000
    #: Longest line of a text trace, in bytes (real lines are under 40).
    max_line_bytes: int = 4096
    #: Largest text trace file (a day of 100 Mbit/s written for Mahimahi is about 6.5 GB).
    max_file_bytes: int = 8 << 30
    #: Largest JSON trace file (parsed whole, about ten times its size in memory).
    max_json_bytes: int = 64 << 20
    #: Deepest nesting of JSON arrays and objects (OpenNetLab traces nest 3 deep).
    max_nesting_depth: int = 32

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise InputError(f"limits.{f.name}: expected a positive number, got {v!r}")
            if not math.isfinite(v):
                raise InputError(f"limits.{f.name}: must be finite, got {v!r}")

    @property
    def max_duration_us(self) -> int:
        """:attr:`max_duration_s` in microseconds."""
        return int(self.max_duration_s * 1e6)


#: The limits every loader uses unless given others.
DEFAULT_LIMITS = TraceLimits()


def resolve_limits(limits: TraceLimits | None) -> TraceLimits:
    """Return ``limits``, or :data:`DEFAULT_LIMITS` when it is None."""
    if limits is None:
        return DEFAULT_LIMITS
    if not isinstance(limits, TraceLimits):
        raise InputError(f"limits: expected a TraceLimits, got {clip_repr(limits)}")
    return limits


def check_duration(name: str, duration_s: float, limits: TraceLimits | None = None) -> None:
    """Raise ``InputError`` unless ``0 < duration_s <= limits.max_duration_s``."""
    lim = resolve_limits(limits)
    if not (isinstance(duration_s, (int, float)) and math.isfinite(duration_s)) or duration_s <= 0:
        raise InputError(f"{name}: duration_s must be positive, got {clip_repr(duration_s)}")
    if duration_s > lim.max_duration_s:
        raise InputError(
            f"{name}: lasts {duration_s:.6g} s, longer than the longest trace accepted "
            f"({lim.max_duration_s:g} s, TraceLimits.max_duration_s)"
        )


def _check_opportunity_count(name: str, n: float, limits: TraceLimits) -> None:
    if not math.isfinite(n) or n > limits.max_opportunities:
        shown = f"{n:.3g}" if math.isfinite(n) else "infinitely many"
        raise InputError(
            f"{name}: {shown} delivery opportunities, more than the "
            f"{limits.max_opportunities} accepted (TraceLimits.max_opportunities: "
            "a day at 100 Mbit/s)"
        )


@dataclass(frozen=True)
class TraceStats:
    """Summary of one trace; capacities in kbit/s, shares in [0, 1]."""

    name: str
    duration_s: float
    mean_kbps: float
    p10_kbps: float
    p50_kbps: float
    p90_kbps: float
    share_below_300kbps: float
    opportunities: int

    def as_dict(self) -> dict[str, float | int | str]:
        """Return the statistics as a plain dict (for tables and JSON)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class Trace:
    """One period of a link: delivery opportunities plus a capacity view (see module doc).

    Build one with :meth:`from_opportunities`, :meth:`from_capacity`, a loader
    (:func:`mediaopt.traces.load`) or a generator (:func:`mediaopt.traces.steps` ...).
    Arrays are read-only.
    """

    name: str
    opportunities_us: Int64Array
    duration_us: int
    step_times_us: Int64Array
    capacity_kbps: Float64Array
    loss: Float64Array | None = None
    delay_ms: Float64Array | None = None
    source: str = ""

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_opportunities(
        cls,
        opportunities_ms: npt.ArrayLike,
        *,
        name: str = "trace",
        duration_ms: int | None = None,
        source: str = "",
        limits: TraceLimits | None = None,
    ) -> Trace:
        """Build a trace from Mahimahi opportunity timestamps in ms (repeats allowed).

        ``duration_ms`` defaults to the last timestamp, Mahimahi's loop period. ``limits``
        (default :data:`DEFAULT_LIMITS`) bounds the duration and the number of opportunities.
        """
        lim = resolve_limits(limits)
        try:
            ms = np.asarray(opportunities_ms)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"{name}: opportunity times must be numbers") from None
        if ms.ndim != 1 or ms.size == 0:
            raise InputError(f"{name}: no delivery opportunities (the trace has no capacity)")
        if ms.dtype.kind not in "iuf":
            raise InputError(f"{name}: opportunity times must be numbers, got dtype {ms.dtype}")
        _check_opportunity_count(name, float(ms.size), lim)
        if ms.dtype.kind == "f" and not np.all(np.isfinite(ms)):
            raise InputError(f"{name}: opportunity times contain NaN or infinity")
        max_ms = lim.max_duration_s * 1000.0
        lo, hi = float(ms.min()), float(ms.max())
        if lo < 0:
            raise InputError(f"{name}: negative opportunity time {clip_repr(ms.min().item())} ms")
        if hi > max_ms:
            raise InputError(
                f"{name}: an opportunity at {hi:.6g} ms is beyond the longest trace accepted "
                f"({lim.max_duration_s:g} s, TraceLimits.max_duration_s)"
            )
        ms = ms.astype(np.int64, copy=False)
        if ms.size > 1 and np.any(ms[1:] < ms[:-1]):
            i = int(np.argmax(ms[1:] < ms[:-1])) + 1
            raise InputError(f"{name}: opportunity times decrease at index {i}")
        if duration_ms is None:
            dur_ms = int(ms[-1])
        else:
            if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, np.integer)):
                raise InputError(f"{name}: duration_ms must be an integer, got {duration_ms!r}")
            dur_ms = int(duration_ms)
        if dur_ms <= 0:
            raise InputError(f"{name}: the trace must last a nonzero time (Mahimahi's rule)")
        check_duration(name, dur_ms / 1000.0, lim)
        if int(ms[-1]) > dur_ms:
            raise InputError(f"{name}: an opportunity at {int(ms[-1])} ms is after the end")
        opp_us = ms * 1000
        t, cap = _bin_opportunities(opp_us, dur_ms * 1000)
        return cls._make(name, opp_us, dur_ms * 1000, t, cap, None, None, source, owned=True)

    @classmethod
    def from_capacity(
        cls,
        times_s: npt.ArrayLike,
        capacity_kbps: npt.ArrayLike,
        duration_s: float,
        *,
        name: str = "trace",
        loss: npt.ArrayLike | None = None,
        delay_ms: npt.ArrayLike | None = None,
        source: str = "",
        limits: TraceLimits | None = None,
    ) -> Trace:
        """Build a trace from a piecewise capacity: ``capacity_kbps[i]`` from ``times_s[i]``.

        ``times_s`` must start at 0 and increase; the last step lasts until ``duration_s``.
        ``limits`` (default :data:`DEFAULT_LIMITS`) bounds the duration, the number of steps
        and the number of opportunities the capacity gives, checked before they are built.
        """
        lim = resolve_limits(limits)
        try:
            t_s = np.asarray(times_s, dtype=np.float64).reshape(-1)
            cap = np.asarray(capacity_kbps, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"{name}: step times and capacities must be numbers") from None
        if t_s.size == 0 or t_s.size != cap.size:
            raise InputError(f"{name}: need as many step times as capacities (at least one)")
        if t_s.size > lim.max_steps:
            raise InputError(
                f"{name}: {t_s.size} capacity steps, more than the {lim.max_steps} accepted "
                "(TraceLimits.max_steps)"
            )
        if not (np.all(np.isfinite(t_s)) and np.all(np.isfinite(cap))):
            raise InputError(f"{name}: capacity steps contain NaN or infinity")
        if np.any(cap < 0):
            raise InputError(f"{name}: negative capacity {float(cap.min())} kbit/s")
        if isinstance(duration_s, bool) or not isinstance(duration_s, (int, float, np.number)):
            raise InputError(f"{name}: duration_s must be a number, got {clip_repr(duration_s)}")
        duration_s = float(duration_s)
        check_duration(name, duration_s, lim)
        if float(t_s.min()) < 0 or float(t_s.max()) >= duration_s:
            bad = float(t_s.min()) if float(t_s.min()) < 0 else float(t_s.max())
            raise InputError(
                f"{name}: a step starts at {bad:.6g} s, outside the trace [0, {duration_s:g}) s"
            )
        t_us = np.round(t_s * 1e6).astype(np.int64)
        dur_us = round(duration_s * 1e6)
        if t_us[0] != 0:
            raise InputError(f"{name}: the first step must start at 0 s")
        if t_us.size > 1 and np.any(np.diff(t_us) <= 0):
            i = int(np.argmax(np.diff(t_us) <= 0)) + 1
            raise InputError(f"{name}: step times must increase (index {i})")
        if int(t_us[-1]) >= dur_us:
            raise InputError(f"{name}: a step starts at or after the end ({duration_s} s)")
        lo = _column(name, "loss", loss, cap.size, 0.0, 1.0)
        dl = _column(name, "delay_ms", delay_ms, cap.size, 0.0, MAX_DELAY_MS)
        bounds = np.append(t_us, dur_us).astype(np.float64)
        total_bits = float(np.sum(cap * np.diff(bounds) / 1000.0))
        _check_opportunity_count(name, total_bits / OPPORTUNITY_BITS, lim)
        opp = capacity_to_opportunities(t_us, cap, dur_us)
        if opp.size == 0:
            raise InputError(f"{name}: the trace has no capacity at all")
        return cls._make(name, opp, dur_us, t_us, cap, lo, dl, source, owned=True)

    @classmethod
    def _make(
        cls,
        name: str,
        opp_us: Int64Array,
        dur_us: int,
        t_us: Int64Array,
        cap: Float64Array,
        loss: Float64Array | None,
        delay: Float64Array | None,
        source: str,
        *,
        owned: bool = False,
    ) -> Trace:
        # owned: opp_us was built here, so it is frozen in place rather than copied
        # (the opportunities can be the largest array mediaopt holds)
        if owned:
            opp_us.setflags(write=False)
        return cls(
            name,
            opp_us if owned else _ro(opp_us),
            int(dur_us),
            _ro(t_us),
            _ro(cap),
            None if loss is None else _ro(loss),
            None if delay is None else _ro(delay),
            source,
        )

    def renamed(self, name: str) -> Trace:
        """Return the same trace under another name."""
        return dataclasses.replace(self, name=name)

    # ------------------------------------------------------------------ views

    @property
    def duration_s(self) -> float:
        """Length of one period in seconds (Mahimahi's loop period)."""
        return self.duration_us / 1e6

    @property
    def mean_bps(self) -> float:
        """Mean rate the link delivers over one period (bit/s): opportunities × 1504 bytes."""
        return self.opportunities_us.size * OPPORTUNITY_BITS * 1e6 / self.duration_us

    @property
    def mean_kbps(self) -> float:
        """:attr:`mean_bps` in kbit/s."""
        return self.mean_bps / 1000.0

    def _durations_us(self) -> Int64Array:
        ends = np.append(self.step_times_us[1:], self.duration_us)
        return np.asarray(ends - self.step_times_us, dtype=np.int64)

    def percentile_kbps(self, q: float) -> float:
        """Time-weighted percentile ``q`` (0–100) of the capacity view, kbit/s."""
        if not 0.0 <= q <= 100.0:
            raise InputError(f"q: must be within [0, 100], got {q}")
        w = self._durations_us().astype(np.float64)
        order = np.argsort(self.capacity_kbps, kind="stable")
        cw = np.cumsum(w[order])
        target = q / 100.0 * cw[-1]
        i = int(np.searchsorted(cw, target, side="left"))
        return float(self.capacity_kbps[order[min(i, order.size - 1)]])

    def share_below(self, kbps: float = WEAK_KBPS) -> float:
        """Share of the period whose capacity is under ``kbps`` (time-weighted, [0, 1])."""
        w = self._durations_us()
        return float(w[self.capacity_kbps < kbps].sum() / self.duration_us)

    def capacity_at(self, t_s: float) -> float:
        """Capacity view at ``t_s`` seconds (the trace loops), kbit/s."""
        t_us = round(t_s * 1e6) % self.duration_us
        i = int(np.searchsorted(self.step_times_us, t_us, side="right")) - 1
        return float(self.capacity_kbps[max(i, 0)])

    def stats(self) -> TraceStats:
        """Name, duration, mean, percentiles and the share of time under 300 kbit/s."""
        return TraceStats(
            name=self.name,
            duration_s=self.duration_s,
            mean_kbps=self.mean_kbps,
            p10_kbps=self.percentile_kbps(10),
            p50_kbps=self.percentile_kbps(50),
            p90_kbps=self.percentile_kbps(90),
            share_below_300kbps=self.share_below(WEAK_KBPS),
            opportunities=int(self.opportunities_us.size),
        )

    def same_as(self, other: Trace) -> bool:
        """Return True when both traces hold identical data (names and sources aside)."""

        def eq(a: npt.NDArray[np.generic] | None, b: npt.NDArray[np.generic] | None) -> bool:
            if a is None or b is None:
                return a is None and b is None
            return a.shape == b.shape and bool(np.array_equal(a, b))

        return (
            self.duration_us == other.duration_us
            and eq(self.opportunities_us, other.opportunities_us)
            and eq(self.step_times_us, other.step_times_us)
            and eq(self.capacity_kbps, other.capacity_kbps)
            and eq(self.loss, other.loss)
            and eq(self.delay_ms, other.delay_ms)
        )

    def __repr__(self) -> str:
        return (
            f"Trace(name={self.name!r}, duration_s={self.duration_s:g}, "
            f"mean_kbps={self.mean_kbps:.1f}, opportunities={self.opportunities_us.size})"
        )


def _ro(a: npt.NDArray[_T]) -> npt.NDArray[_T]:
    out = np.array(a, copy=True, order="C")
    out.setflags(write=False)
    return out


def _column(
    name: str, what: str, values: npt.ArrayLike | None, n: int, lo: float, hi: float | None
) -> Float64Array | None:
    if values is None:
        return None
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name}: the {what} column must hold numbers") from None
    if arr.size != n:
        raise InputError(f"{name}: the {what} column has {arr.size} values for {n} steps")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: the {what} column contains NaN or infinity")
    if np.any(arr < lo) or (hi is not None and np.any(arr > hi)):
        raise InputError(f"{name}: the {what} column is outside [{lo}, {hi}]")
    return arr


def capacity_to_opportunities(
    step_times_us: npt.ArrayLike, capacity_kbps: npt.ArrayLike, duration_us: int
) -> Int64Array:
    """Mahimahi opportunities (µs, on whole milliseconds) for a piecewise-constant capacity.

    Deterministic credit rule: the capacity accrues bits continuously; millisecond ``m``
    (covering ``(m-1, m]`` ms) gets one opportunity each time the running total crosses a
    multiple of 1504 × 8 bits, stamped ``m``. The number of opportunities up to any
    millisecond is therefore ``floor(bits so far / 12032)``: the rate is kept exactly, with
    at most one opportunity of rounding over the whole trace.

    Memory is the opportunities themselves plus a fixed working set: the milliseconds are
    evaluated in chunks of about a million, and the output is filled in place. The caller
    checks the count against :class:`TraceLimits` first (``Trace.from_capacity`` does).
    """
    t = np.asarray(step_times_us, dtype=np.int64)
    cap = np.asarray(capacity_kbps, dtype=np.float64)
    bounds = np.append(t, duration_us).astype(np.float64)
    # kbit/s × µs / 1000 = bits
    seg_bits = cap * np.diff(bounds) / 1000.0
    cum = np.concatenate(([0.0], np.cumsum(seg_bits)))
    n_ms = math.ceil(duration_us / 1000.0)
    # the count at the last millisecond, plus slack for rounding; grown if ever short
    out = np.empty(int(cum[-1] / OPPORTUNITY_BITS) + 16, dtype=np.int64)
    filled = 0
    prev_total = 0
    for start in range(0, n_ms, _CHUNK_MS):
        m = np.arange(start + 1, min(start + _CHUNK_MS, n_ms) + 1, dtype=np.int64)
        grid_us = np.minimum(m.astype(np.float64) * 1000.0, float(duration_us))
        bits = np.interp(grid_us, bounds, cum)
        # a tiny tolerance so that exact multiples (e.g. 12032 kbit/s for 1 ms) are not lost
        total = np.floor(bits / OPPORTUNITY_BITS + 1e-9).astype(np.int64)
        counts = np.diff(total, prepend=prev_total)
        prev_total = int(total[-1])
        counts = np.maximum(counts, 0)
        got = np.repeat(m, counts)
        if filled + got.size > out.size:
            out = np.resize(out, max(2 * out.size, filled + got.size))
        out[filled : filled + got.size] = got
        filled += got.size
    ms = out[:filled] if 2 * filled >= out.size else out[:filled].copy()
    ms *= 1000
    np.minimum(ms, duration_us, out=ms)
    return ms


def _bin_opportunities(opp_us: Int64Array, duration_us: int) -> tuple[Int64Array, Float64Array]:
    """Capacity view of an opportunity trace: kbit/s in one-second bins (last bin partial).

    An opportunity stamped ``t`` stands for the capacity of the millisecond ending at ``t``,
    so bin ``k`` counts stamps in ``(k, k + 1]`` seconds (stamp 0 counts in the first bin).
    """
    n_bins = max(1, math.ceil(duration_us / CAPACITY_BIN_US))
    starts = np.arange(n_bins, dtype=np.int64) * CAPACITY_BIN_US
    ends = np.minimum(starts + CAPACITY_BIN_US, duration_us)
    # as in the conversion rule, a stamp covers the time just before it: bin k is (k, k+1] s
    idx = np.clip((opp_us - 1) // CAPACITY_BIN_US, 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins).astype(np.float64)
    width_ms = (ends - starts) / 1000.0
    kbps = counts * OPPORTUNITY_BITS / np.maximum(width_ms, 1e-9)
    return starts, kbps
