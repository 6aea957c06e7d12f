"""Trace files: loaders with format sniffing, and writers (``docs/formats.md``).

Formats: ``mahimahi`` (one millisecond timestamp per line), ``cooked`` (Pensieve's two
columns: seconds, Mbit/s), ``csv`` (header ``time_s,capacity_kbps[,loss][,delay_ms]``) and
``json`` (OpenNetLab/AlphaRTC ``trace_pattern``). Text loaders read line by line (large
files stream), skip blank lines and ``#`` comments, and accept CRLF line ends. Every
problem raises ``InputError`` naming the file and, where there is one, the line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mediaopt._atomic import write_text
from mediaopt.errors import InputError
from mediaopt.traces.model import Trace

#: Formats :func:`load` understands.
FORMATS = ("mahimahi", "cooked", "csv", "json")
#: JSON capacities above this many times the median are recording glitches (clipped).
GLITCH_FACTOR = 100.0
#: ... and so is anything above this absolute ceiling (kbit/s): 1 Gbit/s.
GLITCH_CEILING_KBPS = 1_000_000.0


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, content without comment) for non-blank lines, streaming."""
    try:
        with open(path, encoding="utf-8", newline=None) as fh:
            for lineno, raw in enumerate(fh, start=1):
                text = raw.split("#", 1)[0].strip()
                if text:
                    yield lineno, text
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a text trace file ({exc.reason})") from None


def _comments(path: Path) -> dict[str, str]:
    """``# key=value`` comments at the top of a file (used for ``duration_s``)."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace", newline=None) as fh:
        for raw in fh:
            s = raw.strip()
            if not s:
                continue
            if not s.startswith("#"):
                break
            body = s[1:].strip()
            if "=" in body:
                k, v = body.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def _trace_name(path: Path) -> str:
    return path.stem if path.suffix.lower() in (".csv", ".json") else path.name


def sniff(path: str | os.PathLike[str]) -> str:
    """Return the format of ``path``: one of :data:`FORMATS`, or raise ``InputError``."""
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(4096)
    stripped = head.lstrip()
    if not stripped:
        raise InputError(f"{p}: empty trace file")
    if stripped[:1] in (b"{", b"["):
        return "json"
    for lineno, text in _lines(p):
        if any(c.isalpha() for c in text.replace("e-", "").replace("e+", "")):
            if "time" in text.lower() and "," in text:
                return "csv"
            raise InputError(f"{p}:{lineno}: not a trace line: {text[:40]!r}")
        fields = text.replace(",", " ").split()
        if len(fields) == 1:
            return "mahimahi"
        if len(fields) == 2:
            return "cooked"
        raise InputError(f"{p}:{lineno}: cannot tell the trace format; pass format=")
    raise InputError(f"{p}: no trace data (only blank lines or comments)")


def load(path: str | os.PathLike[str], format: str | None = None) -> Trace:
    """Load a trace file; the format is sniffed unless ``format`` names one of :data:`FORMATS`."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such trace file")
    if p.is_dir():
        raise IsADirectoryError(f"{p}: is a folder, not a trace file")
    fmt = sniff(p) if format is None else format
    if fmt not in FORMATS:
        raise InputError(f"format: expected one of {FORMATS}, got {format!r}")
    loader = {
        "mahimahi": load_mahimahi,
        "cooked": load_cooked,
        "csv": load_csv,
        "json": load_json,
    }[fmt]
    return loader(p)


def load_mahimahi(path: str | os.PathLike[str]) -> Trace:
    """Load a Mahimahi trace: one integer millisecond per line, non-decreasing."""
    p = Path(path)
    ms = array("q")
    prev = 0
    last_line = 0
    for lineno, text in _lines(p):
        try:
            v = int(text)
        except ValueError:
            raise InputError(f"{p}:{lineno}: expected whole milliseconds, got {text!r}") from None
        if v < 0:
            raise InputError(f"{p}:{lineno}: negative timestamp {v}")
        if v < prev:
            raise InputError(f"{p}:{lineno}: timestamp {v} is before the previous one ({prev})")
        ms.append(v)
        prev = v
        last_line = lineno
    if not ms:
        raise InputError(f"{p}: no timestamps (an empty trace has no capacity)")
    if prev == 0:
        raise InputError(f"{p}:{last_line}: the trace must last a nonzero time (last stamp 0)")
    return Trace.from_opportunities(
        np.frombuffer(ms, dtype=np.int64), name=_trace_name(p), source="mahimahi"
    )


def _finish_steps(
    p: Path,
    times_s: list[float],
    kbps: list[float],
    duration_s: float | None,
    extra: dict[str, list[float]] | None = None,
) -> Trace:
    t = np.asarray(times_s, dtype=np.float64)
    cap = np.asarray(kbps, dtype=np.float64)
    if t.size == 0:
        raise InputError(f"{p}: no capacity samples")
    # repeated times: the later sample wins (a zero-length step carries nothing)
    keep = np.append(np.diff(t) > 0, True)
    cols = {k: np.asarray(v, dtype=np.float64)[keep] for k, v in (extra or {}).items()}
    t, cap = t[keep], cap[keep]
    t = t - t[0]
    if duration_s is None:
        step = float(np.median(np.diff(t))) if t.size > 1 else 1.0
        duration_s = float(t[-1]) + step
    if duration_s <= float(t[-1]):
        raise InputError(f"{p}: duration_s={duration_s} is not after the last sample")
    if not np.any(cap > 0):
        raise InputError(f"{p}: the trace has no capacity at all (every sample is 0)")
    try:
        return Trace.from_capacity(
            t,
            cap,
            duration_s,
            name=_trace_name(p),
            loss=cols.get("loss"),
            delay_ms=cols.get("delay_ms"),
            source="",
        )
    except ValueError as exc:
        raise InputError(f"{p}: {exc}") from None


def _number(p: Path, lineno: int, text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"{p}:{lineno}: {what} is not a number: {text!r}") from None
    if not math.isfinite(v):
        raise InputError(f"{p}:{lineno}: {what} is {text!r}")
    return v


def _check_time(p: Path, lineno: int, t: float, prev: float | None) -> None:
    if t < 0:
        raise InputError(f"{p}:{lineno}: negative time {t}")
    if prev is not None and t < prev:
        raise InputError(f"{p}:{lineno}: time {t} is before the previous one ({prev})")


def load_cooked(path: str | os.PathLike[str]) -> Trace:
    """Load Pensieve's "cooked" format: seconds and Mbit/s per line (held until the next).

    Times are shifted to start at 0; the last sample holds for the median sample interval.
    """
    p = Path(path)
    times: list[float] = []
    kbps: list[float] = []
    prev: float | None = None
    for lineno, text in _lines(p):
        fields = text.replace(",", " ").split()
        if len(fields) != 2:
            raise InputError(f"{p}:{lineno}: expected two columns (seconds, Mbit/s)")
        t = _number(p, lineno, fields[0], "time")
        v = _number(p, lineno, fields[1], "throughput")
        _check_time(p, lineno, t, prev)
        if v < 0:
            raise InputError(f"{p}:{lineno}: negative throughput {v}")
        times.append(t)
        kbps.append(v * 1000.0)
        prev = t
    if not times:
        raise InputError(f"{p}: no samples (empty trace)")
    return _tag(_finish_steps(p, times, kbps, None), "cooked")


def load_csv(path: str | os.PathLike[str]) -> Trace:
    """Load a CSV with header ``time_s,capacity_kbps[,loss][,delay_ms]``.

    A ``# duration_s=...`` comment before the header sets the length of the last step
    (otherwise the median sample interval).
    """
    p = Path(path)
    rows = _lines(p)
    try:
        lineno, header = next(rows)
    except StopIteration:
        raise InputError(f"{p}: empty trace file") from None
    cols = [c.strip().lower() for c in header.split(",")]
    if "time_s" not in cols or "capacity_kbps" not in cols:
        raise InputError(f"{p}:{lineno}: expected a header with time_s and capacity_kbps")
    unknown = set(cols) - {"time_s", "capacity_kbps", "loss", "delay_ms"}
    if unknown:
        raise InputError(f"{p}:{lineno}: unknown columns {sorted(unknown)}")
    idx = {c: i for i, c in enumerate(cols)}
    times: list[float] = []
    kbps: list[float] = []
    extra: dict[str, list[float]] = {c: [] for c in ("loss", "delay_ms") if c in idx}
    prev: float | None = None
    for lineno, text in rows:
        fields = [f.strip() for f in text.split(",")]
        if len(fields) != len(cols):
            raise InputError(f"{p}:{lineno}: expected {len(cols)} fields, got {len(fields)}")
        t = _number(p, lineno, fields[idx["time_s"]], "time_s")
        v = _number(p, lineno, fields[idx["capacity_kbps"]], "capacity_kbps")
        _check_time(p, lineno, t, prev)
        if v < 0:
            raise InputError(f"{p}:{lineno}: negative capacity {v}")
        for c, lst in extra.items():
            x = _number(p, lineno, fields[idx[c]], c)
            if x < 0 or (c == "loss" and x > 1):
                raise InputError(f"{p}:{lineno}: {c} {x} out of range")
            lst.append(x)
        times.append(t)
        kbps.append(v)
        prev = t
    if not times:
        raise InputError(f"{p}: no samples after the header")
    meta = _comments(p)
    duration = None
    if "duration_s" in meta:
        duration = _number(p, 1, meta["duration_s"], "duration_s")
    return _tag(_finish_steps(p, times, kbps, duration, extra), "csv")


def load_json(path: str | os.PathLike[str]) -> Trace:
    """Load an OpenNetLab/AlphaRTC JSON trace (``uplink`` or ``downlink`` ``trace_pattern``).

    Each entry has ``duration`` (ms), ``capacity`` (kbit/s) and optionally ``loss``
    (a share, or a percentage when any value exceeds 1) and ``rtt`` (ms; half of it becomes
    the one-way ``delay_ms`` column). Absurd capacity glitches are clipped with a warning.
    """
    p = Path(path)
    try:
        with open(p, encoding="utf-8") as fh:
            doc = json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(f"{p}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    pattern = _find_pattern(doc)
    if pattern is None:
        raise InputError(f"{p}: no trace_pattern under uplink or downlink")
    if not pattern:
        raise InputError(f"{p}: empty trace_pattern")
    times: list[float] = []
    kbps: list[float] = []
    loss: list[float] = []
    delay: list[float] = []
    t_ms = 0.0
    for i, entry in enumerate(pattern):
        where = f"{p}: trace_pattern[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object")
        dur = _json_number(where, entry, "duration", None)
        cap = _json_number(where, entry, "capacity", None)
        if dur <= 0 or cap < 0:
            raise InputError(f"{where}: duration must be > 0 and capacity >= 0")
        times.append(t_ms / 1000.0)
        kbps.append(cap)
        loss.append(_json_number(where, entry, "loss", 0.0))
        delay.append(_json_number(where, entry, "rtt", 0.0) / 2.0)
        t_ms += dur
    cap_arr = np.asarray(kbps)
    positive = cap_arr[cap_arr > 0]
    if positive.size:
        ceiling = min(GLITCH_CEILING_KBPS, GLITCH_FACTOR * float(np.median(positive)))
        glitch = cap_arr > ceiling
        if np.any(glitch) and np.any(~glitch):
            clip_to = float(cap_arr[~glitch].max())
            warnings.warn(
                f"{p}: clipped {int(glitch.sum())} capacity glitch(es) above "
                f"{ceiling:.0f} kbit/s to {clip_to:.0f} kbit/s",
                UserWarning,
                stacklevel=2,
            )
            cap_arr = np.where(glitch, clip_to, cap_arr)
    loss_arr = np.asarray(loss)
    if np.any(loss_arr > 1.0):
        loss_arr = loss_arr / 100.0
    if np.any(loss_arr < 0) or np.any(loss_arr > 1):
        raise InputError(f"{p}: loss values outside [0, 1] (or [0, 100] %)")
    extra: dict[str, list[float]] = {}
    if np.any(loss_arr > 0):
        extra["loss"] = list(loss_arr)
    if any(d > 0 for d in delay):
        extra["delay_ms"] = delay
    return _tag(_finish_steps(p, times, list(cap_arr), t_ms / 1000.0, extra), "json")


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
        raise InputError(f"{where}: {key} must be a finite number, got {v!r}")
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
