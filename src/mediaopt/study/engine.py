"""Run a study: every trace x policy x network x seed, serially, on a process pool or on Dask.

The calling process finds and hashes the inputs, cuts the sessions into small chunks and
keeps a bounded number of chunks in flight; results stream back as plain tuples, are
written into preallocated columns by row index (so the order of completion never shows)
and become one DataFrame at the end. The same inputs and seeds give the same rows on
every backend.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from mediaopt._validate import check_float, check_int
from mediaopt.errors import InputError
from mediaopt.policies import Policy
from mediaopt.study.inputs import (
    find_traces,
    resolve_networks,
    resolve_policies,
    resolve_seeds,
)
from mediaopt.study.results import KEEP, Study, assemble
from mediaopt.study.worker import (
    VALUE_COLUMNS,
    Context,
    SessionResult,
    Task,
    forget,
    init_worker,
    run_chunk,
    run_chunk_in,
)
from mediaopt.traces import Network, Trace

__all__ = ["default_workers", "study"]

#: Sessions per chunk at most (small chunks balance the load; one chunk is one message).
MAX_CHUNK = 8
#: Chunks in flight per worker (enough to keep every worker busy, few enough to bound
#: memory: results are folded into the columns as they arrive).
IN_FLIGHT_PER_WORKER = 4


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _chunks(tasks: list[Task], workers: int) -> list[list[Task]]:
    size = max(1, min(MAX_CHUNK, math.ceil(len(tasks) / max(1, workers * 8))))
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


class _NoBar:
    """Stands in for the progress bar when there is none."""

    def update(self, n: int) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm  # optional at import time: only a study with progress needs it

    class Bar(tqdm):  # type: ignore[misc]
        # no monitor thread: a study's bar is updated by the loop that waits for results
        monitor_interval = 0

    return Bar(
        total=total,
        unit="session",
        desc="mediaopt study",
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.05,
    )


def _serial(ctx: Context, chunks: list[list[Task]]) -> Iterator[list[SessionResult]]:
    try:
        for chunk in chunks:
            yield run_chunk_in(ctx, chunk)
    finally:
        forget(ctx.token)


def _mp_context() -> Any:
    """The start method for pool workers.

    ``fork`` where it is safe and quiet (POSIX, Python < 3.12, no other Python thread):
    workers start in milliseconds and inherit the loaded modules. Otherwise
    ``forkserver`` (workers fork from a clean single-threaded server), or ``spawn``.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and sys.version_info < (3, 12) and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _pool(ctx: Context, chunks: list[list[Task]], workers: int) -> Iterator[list[SessionResult]]:
    """Start the pool and its first chunks now; the returned iterator yields results."""
    pending = iter(chunks)
    pool = cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_mp_context(),
        initializer=init_worker,
        initargs=(ctx,),
    )
    running: set[cf.Future[list[SessionResult]]] = set()
    try:
        for chunk in pending:
            running.add(pool.submit(run_chunk, chunk))
            if len(running) >= workers * IN_FLIGHT_PER_WORKER:
                break
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise

    def results() -> Iterator[list[SessionResult]]:
        nonlocal running
        try:
            while running:
                done, running = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
                    nxt = next(pending, None)
                    if nxt is not None:
                        running.add(pool.submit(run_chunk, nxt))
        finally:
            # also on Ctrl-C or a failed chunk: drop what has not started, wait for the rest
            pool.shutdown(wait=True, cancel_futures=True)

    return results()


def _dask(ctx: Context, chunks: list[list[Task]], client: Any) -> Iterator[list[SessionResult]]:
    from distributed import as_completed  # optional: the "study" extra, dask[distributed]

    def limit() -> int:
        # workers may join (or leave) while the study runs: keep each one busy
        return IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info().get("workers", {})))

    # the context goes to every worker once; tasks carry only their indices
    ctx_future = client.scatter(ctx, broadcast=True, hash=False)
    pending = iter(chunks)
    futures = as_completed()  # type: ignore[no-untyped-call, unused-ignore]
    in_flight = 0

    def top_up() -> None:
        nonlocal in_flight
        want = limit()
        while in_flight < want:
            nxt = next(pending, None)
            if nxt is None:
                return
            futures.add(client.submit(run_chunk_in, ctx_future, nxt, pure=False))  # type: ignore[no-untyped-call, unused-ignore]
            in_flight += 1

    top_up()
    try:
        for fut in futures:
            result = fut.result()
            fut.release()
            in_flight -= 1
            top_up()
            yield result
    except BaseException:
        client.cancel(list(futures.futures))
        raise
    finally:
        client.cancel([ctx_future])


def study(
    traces: str | os.PathLike[str] | Trace | Iterable[str | os.PathLike[str] | Trace],
    policies: str | os.PathLike[str] | Policy | Iterable[str | os.PathLike[str] | Policy],
    *,
    seeds: Iterable[int] = (0,),
    network: Network | Sequence[Network] | None = None,
    duration_s: float | None = None,
    workers: int | None = None,
    client: Any = None,
    progress: bool = True,
    keep: str = "metrics",
    groups: Mapping[str, str] | Callable[[str], str] | None = None,
    options: Mapping[str, Any] | None = None,
    command: Sequence[str] | None = None,
) -> Study:
    """Replay every trace x policy x network x seed and return a :class:`Study`.

    ``traces``: files, folders (searched recursively) or :class:`mediaopt.traces.Trace`
    objects; each gets a ``trace_id`` (its path below the root it was found under) and a
    ``group`` (the first folder below that root: the site), ``groups`` overriding it.
    ``policies``: built-in names, TOML files or :class:`mediaopt.policies.Policy` objects.
    ``network``: one :class:`mediaopt.traces.Network` or several scenarios (default
    :data:`mediaopt.traces.DEFAULT_NETWORK`). ``duration_s`` replays that long (the trace
    loops; default each trace's length); ``options`` are further :func:`mediaopt.replay`
    keywords (``max_width``, ``content``, ...).

    Runs on a local process pool of ``workers`` processes (default: every core; ``1``:
    serially in this process), or on a Dask cluster when ``client`` is a
    ``dask.distributed.Client``. ``progress`` shows a progress bar with an ETA on stderr.
    ``keep="metrics"`` keeps one row per session (memory bounded by the session count);
    ``keep="windows"`` also keeps every session's per-second table.

    A session that fails (unreadable trace, bad policy, an error in the replay) is a row
    with ``status="error"`` and a one-line ``error``; the others run normally. The same
    inputs and seeds give the same ``sessions`` (apart from ``elapsed_s`` and ``worker``)
    serially, on the pool and on Dask. ``command`` is recorded in the manifest as the
    command line (the CLI passes its own).
    """
    if keep not in KEEP:
        raise InputError(f"keep: expected one of {KEEP}, got {keep!r}")
    trace_specs = find_traces(traces, groups=groups)
    policy_specs = resolve_policies(policies)
    networks = resolve_networks(network)
    seed_list = resolve_seeds(seeds)
    dur = None if duration_s is None else check_float("duration_s", duration_s, min_value=1e-6)
    opts = dict(options or {})
    for bad in ("network", "seed", "duration_s", "trace", "policy"):
        if bad in opts:
            raise InputError(f"options: {bad!r} is a study parameter, not a replay option")
    if client is None:
        n_workers = default_workers() if workers is None else check_int("workers", workers,
                                                                       min_value=1)  # fmt: skip
    else:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))

    tasks: list[Task] = []
    for ti in range(len(trace_specs)):
        for pi in range(len(policy_specs)):
            for ni in range(len(networks)):
                for seed in seed_list:
                    tasks.append((len(tasks), ti, pi, ni, seed))
    ctx = Context(
        token=uuid.uuid4().hex,
        traces=tuple(s.trace if s.trace is not None else str(s.path) for s in trace_specs),
        trace_errors=tuple(s.error for s in trace_specs),
        policies=tuple(p.policy if p.policy is not None else p.error for p in policy_specs),
        networks=tuple(networks),
        duration_s=dur,
        options=opts,
        keep_windows=keep == "windows",
    )
    chunks = _chunks(tasks, n_workers)
    if client is not None:
        backend = "dask"
        stream = _dask(ctx, chunks, client)
    elif n_workers == 1 or len(chunks) <= 1:
        backend = "serial"
        stream = _serial(ctx, chunks)
    else:
        backend = "pool"
        stream = _pool(ctx, chunks, n_workers)

    n = len(tasks)
    values = np.full((n, len(VALUE_COLUMNS)), np.nan)
    errors = [""] * n
    elapsed = np.zeros(n)
    worker = np.zeros(n, dtype=np.int64)
    windows: list[dict[str, Any] | None] = [None] * n
    bar = _progress(n, progress)
    try:
        for results in stream:
            for row, error, vals, secs, pid, table in results:
                values[row] = vals
                errors[row] = error
                elapsed[row] = secs
                worker[row] = pid
                windows[row] = table
            bar.update(len(results))
    finally:
        bar.close()

    parameters = {
        "seeds": seed_list,
        "networks": [n.to_dict() for n in networks],
        "duration_s": dur,
        "options": {k: _describe(v) for k, v in sorted(opts.items())},
        "keep": keep,
        "backend": backend,
        "workers": n_workers,
    }
    return assemble(
        trace_specs,
        policy_specs,
        networks,
        tasks,
        values,
        errors,
        elapsed,
        worker,
        windows if keep == "windows" else None,
        parameters=parameters,
        command=None if command is None else [str(c) for c in command],
        options=opts,
    )


def _describe(value: Any) -> Any:
    """A replay option as plain data for the manifest."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    name = getattr(value, "name", None)
    return f"{type(value).__name__}({name})" if isinstance(name, str) else type(value).__name__
