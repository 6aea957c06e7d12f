"""``mediaopt monitor``: watch live calls (``serve``) and turn a call into a trace (``record``).

``serve`` runs the HTTP service of :mod:`mediaopt.monitor.service`, which needs the
``monitor`` extra (aiohttp and prometheus_client); without it ``serve`` says how to install
it and ``record``, which needs neither, still works.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from mediaopt import traces
from mediaopt.cli.common import UsageError, output, write_outputs
from mediaopt.monitor.fleet import Fleet
from mediaopt.monitor.recorder import read_stats_jsonl, record

service: ModuleType | None
try:
    from mediaopt.monitor import service
except ImportError as _missing:  # the monitor extra is not installed
    service = None
    _MISSING = str(_missing)

#: Defaults of ``serve``, shared with :mod:`mediaopt.monitor.service`.
DEFAULT_PORT = 9464
DEFAULT_MAX_BODY_BYTES = 256 * 1024


def register(sub: Any) -> None:
    """Add the ``monitor`` sub-commands to ``sub`` (an argparse sub-parser collection)."""
    p = sub.add_parser("monitor", help="watch live calls; record a call as a trace")
    msub = p.add_subparsers(dest="monitor_command", metavar="SUBCOMMAND")
    msub.required = True

    s = msub.add_parser(
        "serve",
        help="HTTP service: POST getStats() snapshots, GET /metrics for Prometheus",
        description="Serve /v1/calls/{id}/stats, /v1/calls/{id}/end, /v1/calls, /metrics and "
        "/healthz. Binds to loopback unless --host says otherwise.",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 9464; 0: any)")
    s.add_argument("--token-file", required=True, help="file holding the bearer token (chmod 600)")
    s.add_argument("--sites", help="sites.toml: [sites.NAME] policies = [...] (default: one site)")
    s.add_argument("--evict-after-s", type=float, default=300.0, help="keep ended calls this long")
    s.add_argument("--idle-timeout-s", type=float, default=60.0, help="end calls silent this long")
    s.add_argument("--max-calls", type=int, default=10_000, help="calls held at most")
    s.add_argument("--max-windows", type=int, default=600, help="windows of detail per call")
    s.add_argument(
        "--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES, help="largest request body"
    )
    s.set_defaults(func=run_serve)

    r = msub.add_parser(
        "record",
        help="turn a call's stats timeline (JSON lines) into a trace CSV",
        description="Each line of STATS is a getStats() result or a service request body; "
        "the trace has capacity, loss and delay per second (docs/monitor.md).",
    )
    r.add_argument("stats", metavar="STATS.jsonl")
    r.add_argument(
        "--out", required=True, metavar="TRACE.csv", help="trace CSV to write (- for stdout)"
    )
    r.add_argument("--name", help="trace name (default: the stats file's stem)")
    r.set_defaults(func=run_record)


def run_serve(args: argparse.Namespace) -> int:
    """Run the service until interrupted."""
    if service is None:
        raise UsageError(
            "the monitor service needs the monitor extra: pip install 'mediaopt[monitor]' "
            f"({_MISSING})"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: expected 0-65535, got {args.port}")
    token = service.read_token(args.token_file)
    sites = service.Sites.load(args.sites) if args.sites else None
    fleet = Fleet(
        evict_after_s=args.evict_after_s,
        idle_timeout_s=args.idle_timeout_s,
        max_calls=args.max_calls,
        max_windows=args.max_windows,
    )

    def ready(url: str) -> None:
        print(f"mediaopt monitor: listening on {url}", file=sys.stderr, flush=True)

    service.run(
        fleet,
        token=token,
        host=args.host,
        port=args.port,
        sites=sites,
        max_body_bytes=args.max_body_bytes,
        ready=ready,
    )
    return 0


def run_record(args: argparse.Namespace) -> int:
    """Write the trace of a recorded call."""
    out = output("--out", args.out)
    path = Path(args.stats)
    trace = record(read_stats_jsonl(path), name=args.name or path.stem)
    written = write_outputs([(out, traces.csv_text(trace))])
    print(
        f"mediaopt monitor record: wrote {', '.join(written)} ({trace.duration_s:g} s, "
        f"mean {trace.mean_kbps:.0f} kbit/s)",
        file=sys.stderr,
    )
    return 0
