"""The work of one session, and of a chunk of sessions, wherever it runs.

The same function runs a chunk serially in the calling process, in a process-pool worker
and on a Dask worker. A worker receives the study's :class:`Context` once (the pool's
initializer, or a Dask future scattered to every worker) and keeps each trace it parsed
for the next sessions (parsed once per worker). A chunk returns plain tuples of floats
and, when windows are kept, numpy arrays: cheap to pickle, and the calling process
builds one table at the end.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mediaopt.policies import Policy
from mediaopt.replay import replay
from mediaopt.replay.metrics import METRIC_NAMES, TIMESERIES_COLUMNS
from mediaopt.sla import SUMMARY_COLUMNS
from mediaopt.study.inputs import one_line
from mediaopt.traces import Network, Trace, load

__all__ = [
    "Context",
    "SessionResult",
    "Task",
    "forget",
    "init_worker",
    "run_chunk",
    "run_chunk_in",
]

#: Numbers each session returns, in order: the metrics, then its time accounting.
VALUE_COLUMNS: tuple[str, ...] = (*METRIC_NAMES, *SUMMARY_COLUMNS)
#: Traces a worker keeps parsed (least recently used ones are dropped beyond this).
TRACE_CACHE_SIZE = 256

#: A session to run: (row index, trace index, policy index, network index, seed).
Task = tuple[int, int, int, int, int]
#: What a session returns: (row index, error ("" = ok), values (VALUE_COLUMNS),
#: elapsed seconds, worker pid, window table or None).
SessionResult = tuple[int, str, tuple[float, ...], float, int, "dict[str, Any] | None"]


@dataclass(frozen=True)
class Context:
    """Everything a worker needs, sent once per worker.

    ``traces`` holds a path (str) or a Trace object per trace, or the one-line error
    found while hashing; ``policies`` a Policy or an error string per policy.
    """

    token: str
    traces: tuple[str | Trace, ...]
    trace_errors: tuple[str, ...]
    policies: tuple[Policy | str, ...]
    networks: tuple[Network, ...]
    duration_s: float | None
    options: dict[str, Any] = field(default_factory=dict)
    keep_windows: bool = False


_CONTEXT: Context | None = None
# (context token, trace index) -> parsed trace or the error parsing it gave
_TRACES: OrderedDict[tuple[str, int], Trace | str] = OrderedDict()


def init_worker(context: Context) -> None:
    """Process-pool initializer: remember the study's context in this worker."""
    global _CONTEXT
    _CONTEXT = context


def _trace(ctx: Context, i: int) -> Trace | str:
    key = (ctx.token, i)
    hit = _TRACES.get(key)
    if hit is not None:
        _TRACES.move_to_end(key)
        return hit
    source = ctx.traces[i]
    value: Trace | str
    if ctx.trace_errors[i]:
        value = ctx.trace_errors[i]
    elif isinstance(source, Trace):
        value = source
    else:
        try:
            value = load(source)
        except (ValueError, OSError) as exc:
            value = f"{source}: {one_line(exc)}"
    _TRACES[key] = value
    while len(_TRACES) > TRACE_CACHE_SIZE:
        _TRACES.popitem(last=False)
    return value


_NAN_VALUES = (float("nan"),) * len(VALUE_COLUMNS)


def run_session(ctx: Context, task: Task) -> SessionResult:
    """Run one session of ``ctx``; any error becomes the row's one-line ``error``."""
    row, ti, pi, ni, seed = task
    started = time.perf_counter()
    pid = os.getpid()
    pol = ctx.policies[pi]
    if isinstance(pol, str):
        return row, pol, _NAN_VALUES, 0.0, pid, None
    trace = _trace(ctx, ti)
    if isinstance(trace, str):
        return row, trace, _NAN_VALUES, time.perf_counter() - started, pid, None
    try:
        res = replay(
            trace,
            pol,
            network=ctx.networks[ni],
            seed=seed,
            duration_s=ctx.duration_s,
            **ctx.options,
        )
        summary = res.window_scores.summary().as_dict()
        values = tuple(float(res.metrics[k]) for k in METRIC_NAMES) + tuple(
            float(summary[k]) for k in SUMMARY_COLUMNS
        )
        windows = None
        if ctx.keep_windows:
            table = res.window_table()
            windows = {c: np.asarray(table[c]) for c in TIMESERIES_COLUMNS}
    except Exception as exc:  # a session's failure is its row, the rest go on
        return row, one_line(exc) or "error", _NAN_VALUES, time.perf_counter() - started, pid, None
    return row, "", values, time.perf_counter() - started, pid, windows


def forget(token: str) -> None:
    """Drop the traces this process keeps for the study ``token`` (after a serial run)."""
    for key in [k for k in _TRACES if k[0] == token]:
        del _TRACES[key]


def run_chunk_in(ctx: Context, tasks: list[Task]) -> list[SessionResult]:
    """Run ``tasks`` with an explicit context (serially, or on a Dask worker)."""
    return [run_session(ctx, t) for t in tasks]


def run_chunk(tasks: list[Task]) -> list[SessionResult]:
    """Run ``tasks`` with the context :func:`init_worker` installed (a pool worker)."""
    if _CONTEXT is None:
        raise RuntimeError("mediaopt.study worker: no context (init_worker was not run)")
    return run_chunk_in(_CONTEXT, tasks)
