"""A live call's stats timeline turned into a trace ``mediaopt replay`` and ``study`` load.

:func:`record` reads the call's snapshots through the same
:class:`~mediaopt.monitor.windows.WindowBuilder` the monitor uses (gaps, resets and
out-of-order snapshots handled alike) and writes one trace step per one-second window:

- ``capacity_kbps``: the larger of what the path delivered (inbound ``bytesReceived``
  rate) and what the sender's estimator held available (``availableOutgoingBitrate``);
  in a congested window (:attr:`~mediaopt.monitor.windows.Window.congested`: RTT above
  its base by :data:`~mediaopt.monitor.windows.QUEUEING_MS`, or loss above
  :data:`~mediaopt.monitor.windows.CONGESTED_LOSS`) the path was the bottleneck and the
  delivered rate is its capacity;
- ``loss``: the packets lost in the window, except in congested windows, where the
  replayed bottleneck queue drops them itself;
- ``delay_ms``: half the base RTT (the smallest RTT of the last
  :data:`~mediaopt.monitor.windows.BASE_RTT_WINDOWS` windows): the propagation delay
  each way; queueing is the replayed link's to add.

Windows with no usable number take the previous step's. ``docs/monitor.md`` ("Recording
a call") explains the choices.
"""

from __future__ import annotations

import json
import math
import os
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mediaopt.errors import InputError
from mediaopt.monitor.stats import internals_reports, parse_snapshot
from mediaopt.monitor.windows import BASE_RTT_WINDOWS, WindowBuilder
from mediaopt.traces import Trace
from mediaopt.traces.formats import write_csv

__all__ = [
    "read_stats_jsonl",
    "record",
    "record_file",
]

#: Capacity written for a window before anything was measured (kbit/s).
UNKNOWN_CAPACITY_KBPS = 0.0


def read_stats_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[Any, int | None]]:
    """Yield ``(report, timestamp_us)`` per line of a stats timeline.

    A line is a ``getStats()`` result, or the service's request body
    (``{"report": ..., "timestamp_us": ...}``). Blank lines are skipped; anything else
    raises :class:`mediaopt.InputError` naming the file and line.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not a UTF-8 text file ({exc.reason})") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{p}:{lineno}: not JSON: {exc}") from None
        if isinstance(doc, dict) and "report" in doc:
            ts = doc.get("timestamp_us")
            if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int)):
                raise InputError(f"{p}:{lineno}: timestamp_us: expected an integer")
            yield doc["report"], ts
        elif isinstance(doc, dict) and "PeerConnections" in doc:
            for rep in internals_reports(doc):
                yield rep, None
        else:
            yield doc, None


def record(reports: Iterable[tuple[Any, int | None]] | Iterable[Any], *, name: str) -> Trace:
    """Turn a call's snapshots into a :class:`mediaopt.traces.Trace` (see the module doc).

    ``reports`` yields ``getStats()`` results, or ``(report, timestamp_us)`` pairs. Raises
    :class:`mediaopt.InputError` when fewer than two snapshots make a window.
    """
    builder = WindowBuilder(reorder_windows=2)
    for item in reports:
        if isinstance(item, tuple) and len(item) == 2:
            rep, ts = item
        else:
            rep, ts = item, None
        try:
            builder.add(parse_snapshot(rep, ts))
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
    builder.close()
    windows = list(builder.windows)
    if not windows:
        raise InputError(f"{name}: need at least two stats snapshots a second apart")
    times: list[float] = []
    kbps: list[float] = []
    loss: list[float] = []
    delay: list[float] = []
    rtts: deque[float] = deque(maxlen=BASE_RTT_WINDOWS)
    cap_prev, loss_prev, delay_prev = UNKNOWN_CAPACITY_KBPS, 0.0, math.nan
    t0 = windows[0].start_us
    for w in windows:
        if not math.isnan(w.rtt_ms):
            rtts.append(w.rtt_ms)
        base = min(rtts) if rtts else math.nan
        congested = w.congested
        delivered = w.goodput_kbps
        if congested and not math.isnan(delivered):
            cap = delivered
        else:
            known = [x for x in (w.available_kbps, delivered) if not math.isnan(x)]
            cap = max(known) if known else math.nan
        cap = cap_prev if math.isnan(cap) else cap
        lo = loss_prev if math.isnan(w.packet_loss) else (0.0 if congested else w.packet_loss)
        dl = delay_prev if math.isnan(base) else base / 2.0
        times.append((w.start_us - t0) / 1e6)
        kbps.append(round(max(cap, 0.0), 3))
        loss.append(round(min(max(lo, 0.0), 1.0), 6))
        delay.append(dl)
        cap_prev, loss_prev, delay_prev = cap, lo, dl
    # before the first RTT is known, the first known base delay holds
    first = next((d for d in delay if not math.isnan(d)), 0.0)
    delay = [round(first if math.isnan(d) else d, 3) for d in delay]
    last = windows[-1]
    duration_s = (last.start_us - t0) / 1e6 + max(last.duration_s, 1e-3)
    if max(kbps) <= 0:
        raise InputError(f"{name}: the stats show no capacity at all (nothing delivered)")
    return Trace.from_capacity(
        times, kbps, duration_s, name=name, loss=loss, delay_ms=delay, source="monitor"
    )


def record_file(
    stats_path: str | os.PathLike[str], out: str | os.PathLike[str], *, name: str | None = None
) -> Trace:
    """:func:`record` the timeline in ``stats_path`` and write it as CSV to ``out`` (atomically)."""
    p = Path(stats_path)
    trace = record(read_stats_jsonl(p), name=name or p.stem)
    write_csv(trace, out)
    return trace
