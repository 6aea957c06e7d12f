"""``mediaopt study``: replay a fleet of traces x policies x seeds and judge the service level.

``mediaopt study TRACE_OR_DIR... --policy NAME|FILE [--policy ...] [--seeds N]
[--workers N] [--dask local|ADDRESS] [--out DIR] [--report FILE.html] [--no-plots]``
runs every session on a local process pool (or a Dask cluster), shows a progress bar
with an ETA on stderr, prints the pooled SLA table (per policy over the whole fleet, then
per policy and site) on stdout, writes the study folder and the HTML report when asked,
and exits with status 2 when any session failed (everything else is still written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mediaopt import traces
from mediaopt._validate import check_float, check_int
from mediaopt.cli.common import UsageError, echo, output
from mediaopt.report.study import format_compare, format_sla, write_report
from mediaopt.study import Study, default_workers, study

#: Default policies when no ``--policy`` is given: the reference peer and a routine
#: consultation, so that the comparison has its baseline.
DEFAULT_POLICIES = ("gcc", "consult")


def register(sub: Any) -> None:
    """Add the ``study`` sub-command to ``sub`` (an argparse sub-parser collection)."""
    p = sub.add_parser(
        "study",
        help="replay a fleet of traces x policies x seeds and judge the service level",
        description=(
            "Replay every policy over every trace (files, folders searched recursively, or "
            "bundled trace names) and seed, on a process pool or a Dask cluster; print the "
            "pooled availability, its 95 %% lower bound and the tier verdict per policy and "
            "site. Exit status 2 when any session failed."
        ),
    )
    p.add_argument(
        "traces", nargs="*", metavar="TRACE_OR_DIR", help="trace file, folder or bundled name"
    )
    p.add_argument(
        "--policy",
        action="append",
        metavar="NAME|FILE",
        help="built-in policy or TOML file; repeatable (default: gcc and consult)",
    )
    p.add_argument("--bundled", action="store_true", help="add every bundled synthetic trace")
    p.add_argument("--seeds", default="1", metavar="N", help="seeds 0..N-1 (default 1)")
    p.add_argument(
        "--workers",
        metavar="N",
        help=f"worker processes (default: every core, here {default_workers()})",
    )
    p.add_argument(
        "--dask",
        metavar="local|ADDRESS",
        help="run on Dask: 'local' starts a LocalCluster, tcp://HOST:PORT joins one",
    )
    p.add_argument(
        "--duration-s",
        metavar="S",
        help="replay S seconds of each trace (looped; default the trace's length)",
    )
    p.add_argument("--one-way-delay-ms", default="50", help="one-way delay (default 50)")
    p.add_argument("--queue-ms", default="300", help="bottleneck queue in ms (default 300)")
    p.add_argument("--loss", default="0", help="random loss ratio 0..1 (default 0)")
    p.add_argument(
        "--keep-windows",
        action="store_true",
        help="keep every session's per-second table (windows.parquet)",
    )
    p.add_argument("--out", metavar="DIR", help="write sessions.parquet, sla.csv, manifest.json")
    p.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report")
    p.add_argument("--no-plots", action="store_true", help="report without the session plots")
    p.add_argument("--baseline", default="gcc", help="policy the comparison pairs with (gcc)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _int(flag: str, text: Any, lo: int) -> int:
    try:
        return check_int(flag, int(text), min_value=lo)
    except (TypeError, ValueError):
        raise UsageError(f"{flag}: expected an integer >= {lo}, got {text!r}") from None


def _float(flag: str, text: Any, lo: float, hi: float | None = None) -> float:
    try:
        return check_float(flag, float(text), min_value=lo, max_value=hi)
    except (TypeError, ValueError):
        raise UsageError(f"{flag}: expected a number >= {lo:g}, got {text!r}") from None


def _inputs(args: argparse.Namespace) -> tuple[list[Any], dict[str, str]]:
    """Paths as given, and bundled traces as objects in the group ``bundled``."""
    out: list[Any] = []
    groups: dict[str, str] = {}
    bundled: dict[str, Any] | None = None
    for spec in args.traces:
        if Path(spec).exists():
            out.append(spec)
            continue
        if bundled is None:
            bundled = traces.bundled()
        if spec not in bundled:
            names = ", ".join(sorted(bundled))
            raise UsageError(f"{spec}: no such trace file, folder or bundled trace ({names})")
        out.append(bundled[spec])
        groups[spec] = "bundled"
    if args.bundled:
        for name, trace in (bundled or traces.bundled()).items():
            if name not in groups:
                out.append(trace)
                groups[name] = "bundled"
    if not out:
        raise UsageError(
            "give at least one TRACE_OR_DIR (file, folder or bundled name) or --bundled"
        )
    return out, groups


def _check_outputs(args: argparse.Namespace) -> None:
    if args.out is not None:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {args.out}: exists and is not a folder")
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise UsageError(f"--out {args.out}: folder {parent} does not exist")
    if args.report is not None:
        # the shared rule of every command's outputs (issue 13): a regular file we create
        # or replace, never a link, device, FIFO, folder or read-only file
        output("--report", args.report, allow_stdout=False)


def _client(address: str, workers: int | None) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster  # optional: the "study" extra
    except ImportError:
        raise UsageError("--dask: needs dask.distributed (pip install 'mediaopt[study]')") from None
    if address == "local":
        cluster = LocalCluster(  # type: ignore[no-untyped-call, unused-ignore]
            n_workers=workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        return Client(cluster), cluster  # type: ignore[no-untyped-call, unused-ignore]
    try:
        return Client(address, timeout="10s"), None  # type: ignore[no-untyped-call, unused-ignore]
    except OSError as exc:
        raise UsageError(f"--dask {address}: cannot join the cluster ({exc})") from None


def run(args: argparse.Namespace) -> int:
    """Run the study; print the SLA table; write the requested files; 2 if a session failed."""
    _check_outputs(args)
    seeds = range(_int("--seeds", args.seeds, 1))
    workers = None if args.workers is None else _int("--workers", args.workers, 1)
    duration = None if args.duration_s is None else _float("--duration-s", args.duration_s, 1e-3)
    network = traces.Network(
        one_way_delay_ms=_float("--one-way-delay-ms", args.one_way_delay_ms, 0.0),
        queue_ms=_float("--queue-ms", args.queue_ms, 1.0),
        loss=_float("--loss", args.loss, 0.0, 1.0),
    )
    inputs, groups = _inputs(args)
    chosen = list(args.policy or DEFAULT_POLICIES)
    command = ["mediaopt", *getattr(args, "argv", ["study"])]
    client = cluster = None
    if args.dask:
        client, cluster = _client(args.dask, workers)
    try:
        st = study(
            inputs,
            chosen,
            seeds=seeds,
            network=network,
            duration_s=duration,
            workers=workers,
            client=client,
            progress=not args.quiet,
            keep="windows" if args.keep_windows else "metrics",
            groups=groups or None,
            command=command,
        )
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    return _finish(st, args)


def _finish(st: Study, args: argparse.Namespace) -> int:
    fleet = st.sla(by=("policy",))
    sites = st.sla(by=("policy", "group"))
    echo(format_sla(fleet, sites))
    if args.baseline in set(st.sessions["policy"]) and st.sessions["policy"].nunique() > 1:
        echo("\n" + format_compare(st.compare(baseline=args.baseline)))
    written = []
    if args.out:
        st.save(args.out)
        written.append(args.out)
    if args.report:
        write_report(
            args.report,
            st,
            plots=not args.no_plots,
            progress=not args.quiet,
            baseline=args.baseline,
        )
        written.append(args.report)
    if written and not args.quiet:
        print(f"wrote {', '.join(written)}", file=sys.stderr, flush=True)
    failed = st.failed
    if len(failed):
        first = failed.iloc[0]
        print(
            f"mediaopt study: {len(failed)} of {len(st.sessions)} sessions failed "
            f"(first: {first['trace_id']} x {first['policy']} seed {first['seed']}: "
            f"{first['error']})",
            file=sys.stderr,
            flush=True,
        )
        return 2
    return 0
