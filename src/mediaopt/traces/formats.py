"""Trace files: loaders with format sniffing, and writers (``docs/formats.md``).

Formats: ``mahimahi`` (one millisecond timestamp per line), ``cooked`` (Pensieve's two
columns: seconds, Mbit/s), ``csv`` (header ``time_s,capacity_kbps[,loss][,delay_ms]``) and
``json`` (OpenNetLab/AlphaRTC ``trace_pattern``). Text loaders read line by line (large
files stream, no line may exceed :attr:`TraceLimits.max_line_bytes`), skip blank lines and
``#`` comments, accept CRLF line ends and a UTF-8 byte-order mark. Numbers follow a strict
grammar: ASCII digits only (no ``_``, no ``+``, no other scripts' digits). Capacity glitches
are clipped alike in every capacity format (:func:`clip_glitches`). Every problem raises
``InputError`` naming the file and, where there is one, the line, with the offending value
cut to 120 characters; :class:`TraceLimits` bounds what a file may ask for (duration,
opportunities, steps, line length, file size, JSON nesting) before anything is allocated.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import stat
import warnings
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from mediaopt._atomic import write_text
from mediaopt._validate import parse_json, read_text_file
from mediaopt.errors import InputError, clip_repr
from mediaopt.traces.model import MAX_DELAY_MS, Trace, TraceLimits, resolve_limits

#: Formats :func:`load` understands.
FORMATS = ("mahimahi", "cooked", "csv", "json")
#: Capacities above this many times the median are recording glitches (clipped).
GLITCH_FACTOR = 100.0
#: ... and so is anything above this absolute ceiling (kbit/s): 1 Gbit/s.
GLITCH_CEILING_KBPS = 1_000_000.0

#: A decimal number as the text formats write it: ASCII digits, an optional leading minus
#: (so that a negative value gets its own clear message), fraction and exponent.
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: Words that Python's float() takes but no trace format means as a number.
_NON_FINITE = frozenset({"nan", "-nan", "inf", "-inf", "infinity", "-infinity"})
#: Whitespace around fields: ASCII only (str.strip() would also take Unicode spaces).
_SPACE = " \t\r\n\v\f"
_BOM = b"\xef\xbb\xbf"


def _open_checked(p: Path, limit_bytes: int) -> int:
    """Stat ``p``: a regular file no larger than ``limit_bytes``; return its size."""
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: no such trace file") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{p}: is a folder, not a trace file")
    if not stat.S_ISREG(st.st_mode):
        # a FIFO or a device could block or never end
        raise InputError(f"{p}: not a regular file")
    if st.st_size > limit_bytes:
        raise InputError(
            f"{p}: {st.st_size} bytes, larger than the {limit_bytes} accepted "
            "(TraceLimits.max_file_bytes / max_json_bytes)"
        )
    return st.st_size


def _raw_lines(p: Path, limits: TraceLimits) -> Iterator[tuple[int, str]]:
    """Yield (line number, decoded line without its end), reading at most a line at a time.

    Lines are read as bytes with a bound, so a gigabyte without a newline costs one
    bounded read; each line is decoded on its own, so a bad byte is reported on its line.
    """
    _open_checked(p, limits.max_file_bytes)
    cap = limits.max_line_bytes
    with open(p, "rb") as fh:
        lineno = 0
        while True:
            raw = fh.readline(cap + 2)
            if not raw:
                return
            lineno += 1
            if lineno == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            body = raw[:-1] if raw.endswith(b"\n") else raw
            if body.endswith(b"\r"):
                body = body[:-1]
            if len(body) > cap:
                raise InputError(
                    f"{p}:{lineno}: line longer than {cap} bytes (TraceLimits.max_line_bytes)"
                )
            try:
                yield lineno, body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{p}:{lineno}: not UTF-8 text (byte {body[exc.start]:#04x} at "
                    f"column {exc.start + 1}); is this a trace file?"
                ) from None


def _lines(
    p: Path, limits: TraceLimits, comments: dict[str, str] | None = None
) -> Iterator[tuple[int, str]]:
    """Yield (line number, content without comment) for non-blank lines, streaming.

    ``comments``, when given, collects ``# key=value`` lines before the first data line.
    """
    seen_data = False
    for lineno, line in _raw_lines(p, limits):
        body, hash_, comment = line.partition("#")
        text = body.strip(_SPACE)
        if text:
            seen_data = True
            yield lineno, text
        elif hash_ and comments is not None and not seen_data and "=" in comment:
            k, v = comment.split("=", 1)
            comments[k.strip(_SPACE)] = v.strip(_SPACE)


_F = TypeVar("_F", bound=Callable[..., Trace])


def _loader(fn: _F) -> _F:
    """Mark a loader: memory exhaustion or deep recursion becomes an ``InputError`` too.

    The limits keep every input within a size the defaults allow; a machine that cannot
    hold even that (or a stack that is already deep) still gets a message naming the file.
    """

    @functools.wraps(fn)
    def wrapper(path: Any, *args: Any, **kwargs: Any) -> Trace:
        try:
            return fn(path, *args, **kwargs)
        except MemoryError:
            raise InputError(f"{path}: not enough memory to load this trace") from None
        except RecursionError:
            raise InputError(f"{path}: too deeply nested to load") from None

    return wrapper  # type: ignore[return-value]


def _trace_name(path: Path) -> str:
    return path.stem if path.suffix.lower() in (".csv", ".json") else path.name


def _is_number(token: str) -> bool:
    return _DECIMAL.fullmatch(token) is not None or token.lower() in _NON_FINITE


def sniff(path: str | os.PathLike[str], *, limits: TraceLimits | None = None) -> str:
    """Return the format of ``path``: one of :data:`FORMATS`, or raise ``InputError``."""
    lim = resolve_limits(limits)
    p = Path(path)
    _open_checked(p, lim.max_file_bytes)
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    stripped = head.lstrip()
    if not stripped:
        raise InputError(f"{p}: empty trace file")
    if stripped[:1] in (b"{", b"["):
        return "json"
    for lineno, text in _lines(p, lim):
        fields = text.replace(",", " ").split()
        if not all(_is_number(f) for f in fields):
            if "time" in text.lower() and "," in text:
                return "csv"
            raise InputError(f"{p}:{lineno}: not a trace line: {clip_repr(text)}")
        if len(fields) == 1:
            return "mahimahi"
        if len(fields) == 2:
            return "cooked"
        raise InputError(f"{p}:{lineno}: cannot tell the trace format; pass format=")
    raise InputError(f"{p}: no trace data (only blank lines or comments)")


@_loader
def load(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    limits: TraceLimits | None = None,
) -> Trace:
    """Load a trace file; the format is sniffed unless ``format`` names one of :data:`FORMATS`.

    ``limits`` (default :data:`~mediaopt.traces.model.DEFAULT_LIMITS`) bounds what the
    file may ask for. A missing file raises ``FileNotFoundError``, a folder
    ``IsADirectoryError``; anything wrong with the file's content raises ``InputError``.
    """
    lim = resolve_limits(limits)
    p = Path(path)
    if format is not None and format not in FORMATS:
        raise InputError(f"format: expected one of {FORMATS}, got {clip_repr(format)}")
    fmt = sniff(p, limits=lim) if format is None else format
    loader = {
        "mahimahi": load_mahimahi,
        "cooked": load_cooked,
        "csv": load_csv,
        "json": load_json,
    }[fmt]
    return loader(p, limits=lim)


@_loader
def load_mahimahi(path: str | os.PathLike[str], *, limits: TraceLimits | None = None) -> Trace:
    """Load a Mahimahi trace: one integer millisecond per line (ASCII digits), non-decreasing."""
    lim = resolve_limits(limits)
    p = Path(path)
    max_ms = int(lim.max_duration_s * 1000)
    # longer than this many digits is over the limit whatever it says (and int() of a
    # few thousand digits is slow or refused)
    max_digits = len(str(max_ms))
    ms = array("q")
    prev = 0
    last_line = 0
    for lineno, text in _lines(p, lim):
        if not (text.isascii() and text.isdigit()):
            if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
                raise InputError(f"{p}:{lineno}: negative timestamp {clip_repr(text)}")
            raise InputError(
                f"{p}:{lineno}: expected whole milliseconds (ASCII digits), got {clip_repr(text)}"
            )
        v = int(text) if len(text.lstrip("0")) <= max_digits else max_ms + 1
        if v > max_ms:
            raise InputError(
                f"{p}:{lineno}: timestamp {clip_repr(text)} ms is beyond the longest trace "
                f"accepted ({lim.max_duration_s:g} s, TraceLimits.max_duration_s)"
            )
        if v < prev:
            raise InputError(f"{p}:{lineno}: timestamp {v} is before the previous one ({prev})")
        if len(ms) >= lim.max_opportunities:
            raise InputError(
                f"{p}:{lineno}: more than {lim.max_opportunities} delivery opportunities "
                "(TraceLimits.max_opportunities: a day at 100 Mbit/s)"
            )
        ms.append(v)
        prev = v
        last_line = lineno
    if not ms:
        raise InputError(f"{p}: no timestamps (an empty trace has no capacity)")
    if prev == 0:
        raise InputError(f"{p}:{last_line}: the trace must last a nonzero time (last stamp 0)")
    try:
        return Trace.from_opportunities(
            np.frombuffer(ms, dtype=np.int64), name=_trace_name(p), source="mahimahi", limits=lim
        )
    except InputError as exc:
        raise InputError(f"{p}: {exc}") from None


def clip_glitches(
    where: str | os.PathLike[str], capacity_kbps: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Return ``capacity_kbps`` with recording glitches clipped, warning when any were.

    A glitch is a capacity above min(:data:`GLITCH_FACTOR` x the median positive capacity,
    :data:`GLITCH_CEILING_KBPS`); it is clipped to the largest ordinary capacity (to the
    ceiling when every sample is a glitch). Every capacity format uses this, so a CSV, a
    cooked and a JSON file with the same samples give the same trace.
    """
    cap_arr = np.asarray(capacity_kbps, dtype=np.float64)
    positive = cap_arr[cap_arr > 0]
    if not positive.size:
        return cap_arr
    ceiling = min(GLITCH_CEILING_KBPS, GLITCH_FACTOR * float(np.median(positive)))
    glitch = cap_arr > ceiling
    if not np.any(glitch):
        return cap_arr
    clip_to = float(cap_arr[~glitch].max()) if np.any(~glitch) else ceiling
    warnings.warn(
        f"{where}: clipped {int(glitch.sum())} capacity glitch(es) above "
        f"{ceiling:.0f} kbit/s to {clip_to:.0f} kbit/s",
        UserWarning,
        stacklevel=3,
    )
    return np.where(glitch, clip_to, cap_arr)


def _finish_steps(
    p: Path,
    times_s: array[float],
    kbps: array[float],
    duration_s: float | None,
    limits: TraceLimits,
    extra: dict[str, array[float]] | None = None,
) -> Trace:
    t = np.frombuffer(times_s, dtype=np.float64)
    cap = np.frombuffer(kbps, dtype=np.float64)
    if t.size == 0:
        raise InputError(f"{p}: no capacity samples")
    # repeated times: the later sample wins (a zero-length step carries nothing)
    keep = np.append(np.diff(t) > 0, True)
    cols = {k: np.frombuffer(v, dtype=np.float64)[keep] for k, v in (extra or {}).items()}
    t, cap = t[keep], cap[keep]
    t = t - t[0]
    if duration_s is None:
        step = float(np.median(np.diff(t))) if t.size > 1 else 1.0
        duration_s = float(t[-1]) + step
    if duration_s <= float(t[-1]):
        raise InputError(f"{p}: duration_s={duration_s:g} is not after the last sample")
    if not np.any(cap > 0):
        raise InputError(f"{p}: the trace has no capacity at all (every sample is 0)")
    cap = clip_glitches(p, cap)
    try:
        return Trace.from_capacity(
            t,
            cap,
            duration_s,
            name=_trace_name(p),
            loss=cols.get("loss"),
            delay_ms=cols.get("delay_ms"),
            source="",
            limits=limits,
        )
    except InputError as exc:
        raise InputError(f"{p}: {exc}") from None


def _number(p: Path, lineno: int, text: str, what: str) -> float:
    """Parse one field of a text trace: strict decimal grammar, finite."""
    if text.lower() in _NON_FINITE:
        raise InputError(f"{p}:{lineno}: {what} is {clip_repr(text)}")
    if _DECIMAL.fullmatch(text) is None:
        raise InputError(f"{p}:{lineno}: {what} is not a number: {clip_repr(text)}")
    v = float(text)
    if not math.isfinite(v):
        raise InputError(f"{p}:{lineno}: {what} {clip_repr(text)} is out of range")
    return v


class _Steps:
    """Collects the rows of a capacity trace, checking the limits as they come."""

    def __init__(self, p: Path, limits: TraceLimits) -> None:
        self.p = p
        self.limits = limits
        self.times: array[float] = array("d")
        self.kbps: array[float] = array("d")
        self.prev: float | None = None
        self.first = 0.0

    def add(self, lineno: int, t: float, kbps: float) -> None:
        p, lim = self.p, self.limits
        if t < 0:
            raise InputError(f"{p}:{lineno}: negative time {t:g}")
        if self.prev is not None and t < self.prev:
            raise InputError(f"{p}:{lineno}: time {t} is before the previous one ({self.prev})")
        if self.prev is None:
            self.first = t
        if t - self.first > lim.max_duration_s:
            raise InputError(
                f"{p}:{lineno}: time {t:.6g} s is beyond the longest trace accepted "
                f"({lim.max_duration_s:g} s, TraceLimits.max_duration_s)"
            )
        if len(self.times) >= lim.max_steps:
            raise InputError(
                f"{p}:{lineno}: more than {lim.max_steps} capacity samples (TraceLimits.max_steps)"
            )
        self.times.append(t)
        self.kbps.append(kbps)
        self.prev = t


@_loader
def load_cooked(path: str | os.PathLike[str], *, limits: TraceLimits | None = None) -> Trace:
    """Load Pensieve's "cooked" format: seconds and Mbit/s per line (held until the next).

    Times are shifted to start at 0; the last sample holds for the median sample interval.
    """
    lim = resolve_limits(limits)
    p = Path(path)
    steps = _Steps(p, lim)
    for lineno, text in _lines(p, lim):
        fields = text.replace(",", " ").split()
        if len(fields) != 2:
            raise InputError(f"{p}:{lineno}: expected two columns (seconds, Mbit/s)")
        t = _number(p, lineno, fields[0], "time")
        v = _number(p, lineno, fields[1], "throughput")
        if v < 0:
            raise InputError(f"{p}:{lineno}: negative throughput {v:g}")
        steps.add(lineno, t, v * 1000.0)
    if not steps.times:
        raise InputError(f"{p}: no samples (empty trace)")
    return _tag(_finish_steps(p, steps.times, steps.kbps, None, lim), "cooked")


_CSV_COLUMNS = ("time_s", "capacity_kbps", "loss", "delay_ms")


@_loader
def load_csv(path: str | os.PathLike[str], *, limits: TraceLimits | None = None) -> Trace:
    """Load a CSV with header ``time_s,capacity_kbps[,loss][,delay_ms]``.

    A ``# duration_s=...`` comment before the header sets the length of the last step
    (otherwise the median sample interval).
    """
    lim = resolve_limits(limits)
    p = Path(path)
    meta: dict[str, str] = {}
    rows = _lines(p, lim, meta)
    try:
        lineno, header = next(rows)
    except StopIteration:
        raise InputError(f"{p}: empty trace file") from None
    cols = [c.strip(_SPACE).lower() for c in header.split(",")]
    if "time_s" not in cols or "capacity_kbps" not in cols:
        raise InputError(f"{p}:{lineno}: expected a header with time_s and capacity_kbps")
    unknown = sorted(set(cols) - set(_CSV_COLUMNS))
    if unknown:
        raise InputError(f"{p}:{lineno}: unknown columns {clip_repr(unknown)}")
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise InputError(f"{p}:{lineno}: column {dup[0]!r} appears more than once in the header")
    idx = {c: i for i, c in enumerate(cols)}
    steps = _Steps(p, lim)
    extra: dict[str, array[float]] = {c: array("d") for c in ("loss", "delay_ms") if c in idx}
    for lineno, text in rows:
        fields = [f.strip(_SPACE) for f in text.split(",")]
        if len(fields) != len(cols):
            raise InputError(f"{p}:{lineno}: expected {len(cols)} fields, got {len(fields)}")
        t = _number(p, lineno, fields[idx["time_s"]], "time_s")
        v = _number(p, lineno, fields[idx["capacity_kbps"]], "capacity_kbps")
        if v < 0:
            raise InputError(f"{p}:{lineno}: negative capacity {v:g}")
        for c, lst in extra.items():
            x = _number(p, lineno, fields[idx[c]], c)
            hi = 1.0 if c == "loss" else MAX_DELAY_MS
            if not 0 <= x <= hi:
                raise InputError(f"{p}:{lineno}: {c} {x:g} is outside [0, {hi:g}]")
            lst.append(x)
        steps.add(lineno, t, v)
    if not steps.times:
        raise InputError(f"{p}: no samples after the header")
    duration = None
    if "duration_s" in meta:
        duration = _number(p, 1, meta["duration_s"], "duration_s")
        if not 0 < duration <= lim.max_duration_s:
            raise InputError(
                f"{p}: duration_s={clip_repr(meta['duration_s'])} is outside (0, "
                f"{lim.max_duration_s:g}] s (TraceLimits.max_duration_s)"
            )
    return _tag(_finish_steps(p, steps.times, steps.kbps, duration, lim, extra), "csv")


@_loader
def load_json(path: str | os.PathLike[str], *, limits: TraceLimits | None = None) -> Trace:
    """Load an OpenNetLab/AlphaRTC JSON trace (``uplink`` or ``downlink`` ``trace_pattern``).

    Each entry has ``duration`` (ms), ``capacity`` (kbit/s) and optionally ``loss``
    (a share, or a percentage when any value exceeds 1) and ``rtt`` (ms, not negative; half
    of it becomes the one-way ``delay_ms`` column). Capacity glitches are clipped with a
    warning (:func:`clip_glitches`).
    """
    lim = resolve_limits(limits)
    p = Path(path)
    text = read_text_file(
        p, max_bytes=lim.max_json_bytes, what="trace file", limit_name="TraceLimits.max_json_bytes"
    )
    doc = parse_json(
        text,
        source=str(p),
        max_depth=lim.max_nesting_depth,
        limit_name="TraceLimits.max_nesting_depth",
    )
    del text
    pattern = _find_pattern(doc)
    if pattern is None:
        raise InputError(f"{p}: no trace_pattern under uplink or downlink")
    if not pattern:
        raise InputError(f"{p}: empty trace_pattern")
    if len(pattern) > lim.max_steps:
        raise InputError(
            f"{p}: {len(pattern)} trace_pattern entries, more than the {lim.max_steps} "
            "accepted (TraceLimits.max_steps)"
        )
    times: array[float] = array("d")
    kbps: array[float] = array("d")
    loss: array[float] = array("d")
    delay: array[float] = array("d")
    t_ms = 0.0
    max_ms = lim.max_duration_s * 1000.0
    for i, entry in enumerate(pattern):
        where = f"{p}: trace_pattern[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object, got {clip_repr(entry)}")
        dur = _json_number(where, entry, "duration", None)
        cap = _json_number(where, entry, "capacity", None)
        if dur <= 0:
            raise InputError(f"{where}: duration must be > 0 ms, got {dur:g}")
        if cap < 0:
            raise InputError(f"{where}: capacity must be >= 0 kbit/s, got {cap:g}")
        rtt = _json_number(where, entry, "rtt", 0.0)
        if not 0 <= rtt <= 2 * MAX_DELAY_MS:
            raise InputError(
                f"{where}: rtt must be within [0, {2 * MAX_DELAY_MS:g}] ms, got {rtt:g}"
            )
        lo = _json_number(where, entry, "loss", 0.0)
        if not 0 <= lo <= 100:
            raise InputError(f"{where}: loss must be a share in [0, 1] or a percentage, got {lo:g}")
        times.append(t_ms / 1000.0)
        kbps.append(cap)
        loss.append(lo)
        delay.append(rtt / 2.0)
        t_ms += dur
        if t_ms > max_ms:
            raise InputError(
                f"{where}: the pattern lasts {t_ms / 1000.0:.6g} s by here, longer than the "
                f"longest trace accepted ({lim.max_duration_s:g} s, TraceLimits.max_duration_s)"
            )
    loss_arr = np.frombuffer(loss, dtype=np.float64)
    if np.any(loss_arr > 1.0):
        loss_arr = loss_arr / 100.0
    extra: dict[str, array[float]] = {}
    if np.any(loss_arr > 0):
        extra["loss"] = array("d", loss_arr.tobytes())
    if any(d > 0 for d in delay):
        extra["delay_ms"] = delay
    return _tag(_finish_steps(p, times, kbps, t_ms / 1000.0, lim, extra), "json")


def _find_pattern(doc: Any) -> list[Any] | None:
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("trace_pattern"), list):
        return list(doc["trace_pattern"])
    for side in ("uplink", "downlink"):
        sub = doc.get(side)
        if (
            isinstance(sub, dict)
            and isinstance(sub.get("trace_pattern"), list)
            and sub["trace_pattern"]
        ):
            return list(sub["trace_pattern"])
    for side in ("uplink", "downlink"):
        sub = doc.get(side)
        if isinstance(sub, dict) and isinstance(sub.get("trace_pattern"), list):
            return list(sub["trace_pattern"])
    return None


def _json_number(where: str, entry: dict[str, Any], key: str, default: float | None) -> float:
    if key not in entry:
        if default is None:
            raise InputError(f"{where}: missing {key!r}")
        return default
    v = entry[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InputError(f"{where}: {key} must be a finite number, got {clip_repr(v)}")
    return float(v)


def _tag(tr: Trace, source: str) -> Trace:
    return dataclasses.replace(tr, source=source)


# ---------------------------------------------------------------------- writers


def mahimahi_text(trace: Trace) -> str:
    """Return the Mahimahi text of ``trace``.

    Opportunities are written in whole milliseconds (rounded down). Mahimahi's loop period
    is the last timestamp, so when the trace's last opportunity comes before its end one
    more opportunity is written at the end to keep the period (documented in formats.md).
    """
    ms = trace.opportunities_us // 1000
    dur_ms = trace.duration_us // 1000
    if dur_ms <= 0:
        raise InputError(f"{trace.name}: shorter than 1 ms, cannot be written for Mahimahi")
    if ms.size == 0 or int(ms[-1]) < dur_ms:
        ms = np.append(ms, dur_ms)
    return "\n".join(map(str, ms.tolist())) + "\n"


def write_mahimahi(trace: Trace, path: str | os.PathLike[str]) -> None:
    """Write ``trace`` as a Mahimahi trace file (atomically)."""
    write_text(path, mahimahi_text(trace))


def csv_text(trace: Trace) -> str:
    """Return the CSV text of ``trace`` (its capacity view, with loss/delay columns)."""
    cols = ["time_s", "capacity_kbps"]
    data = [trace.step_times_us / 1e6, trace.capacity_kbps]
    if trace.loss is not None:
        cols.append("loss")
        data.append(trace.loss)
    if trace.delay_ms is not None:
        cols.append("delay_ms")
        data.append(trace.delay_ms)
    lines = [f"# {trace.name}", f"# duration_s={trace.duration_s!r}", ",".join(cols)]
    for row in zip(*(d.tolist() for d in data), strict=True):
        lines.append(",".join(repr(float(v)) for v in row))
    return "\n".join(lines) + "\n"


def write_csv(trace: Trace, path: str | os.PathLike[str]) -> None:
    """Write ``trace`` as CSV (atomically)."""
    write_text(path, csv_text(trace))


def save(trace: Trace, path: str | os.PathLike[str], format: str | None = None) -> None:
    """Write ``trace``: ``.csv`` files as CSV, anything else for Mahimahi (or ``format=``)."""
    fmt = format or ("csv" if Path(path).suffix.lower() == ".csv" else "mahimahi")
    if fmt == "csv":
        write_csv(trace, path)
    elif fmt == "mahimahi":
        write_mahimahi(trace, path)
    else:
        raise InputError(f"format: can write 'mahimahi' or 'csv', got {format!r}")
