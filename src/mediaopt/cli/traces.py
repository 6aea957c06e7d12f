"""``mediaopt traces``: list, summarise, plot, convert and regenerate traces.

Outputs follow the shared rules of :mod:`mediaopt.cli.common` (``-`` for standard output,
regular files only, written atomically); a file in a folder that is not a trace is
reported and skipped by ``ls``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mediaopt import traces
from mediaopt.cli.common import Output, UsageError, echo, output, write_outputs

#: Files in a trace folder that are never traces.
_NOT_TRACES = {"license", "copying", "readme", "readme.md", "upstream-readme"}


def register(sub: Any) -> None:
    """Add the ``traces`` sub-commands to ``sub`` (an argparse sub-parser collection)."""
    p = sub.add_parser("traces", help="list, show, plot and convert network traces")
    tsub = p.add_subparsers(dest="traces_command", metavar="ACTION")
    tsub.required = True

    ls = tsub.add_parser("ls", help="summarise every trace in a folder (recursively)")
    ls.add_argument("folder", help="folder of trace files")
    ls.add_argument("--json", action="store_true", help="print machine-readable JSON")
    ls.set_defaults(func=run_ls)

    show = tsub.add_parser("show", help="summarise one trace (a file or a bundled name)")
    show.add_argument("trace", help="trace file, or the name of a bundled trace")
    show.add_argument("--format", choices=_formats(), help="force the input format")
    show.add_argument(
        "--plot", metavar="OUT.png", help="also plot the capacity to OUT.png (- for stdout)"
    )
    show.add_argument("--json", action="store_true", help="print machine-readable JSON")
    show.set_defaults(func=run_show)

    conv = tsub.add_parser("convert", help="convert a trace (OUT .csv -> CSV, else Mahimahi)")
    conv.add_argument("input", help="trace file, or the name of a bundled trace")
    conv.add_argument("output", help="file to write (- for standard output)")
    conv.add_argument("--format", choices=_formats(), help="force the input format")
    conv.add_argument("--to", choices=("mahimahi", "csv"), help="force the output format")
    conv.set_defaults(func=run_convert)

    bundle = tsub.add_parser("bundle", help="regenerate the bundled synthetic traces")
    bundle.add_argument("folder", help="folder to write them to")
    bundle.set_defaults(func=run_bundle)


def _formats() -> tuple[str, ...]:
    return traces.FORMATS


def _resolve(spec: str, fmt: str | None = None) -> Any:
    p = Path(spec)
    if p.exists():
        return traces.load(p, format=fmt)
    b = traces.bundled()
    if spec in b:
        return b[spec]
    raise UsageError(f"{spec}: no such file, and not a bundled trace ({', '.join(sorted(b))})")


def _row(stats: Any, source: str) -> dict[str, Any]:
    return {
        "name": stats.name,
        "format": source,
        "duration_s": round(stats.duration_s, 3),
        "mean_kbps": round(stats.mean_kbps, 1),
        "p10_kbps": round(stats.p10_kbps, 1),
        "p90_kbps": round(stats.p90_kbps, 1),
        "share_below_300kbps": round(stats.share_below_300kbps, 4),
    }


def run_ls(args: argparse.Namespace) -> int:
    """Print one line per trace in the folder."""
    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    rows = []
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or f.name.lower() in _NOT_TRACES or f.name.startswith("."):
            continue
        try:
            tr = traces.load(f)
        except (ValueError, OSError) as exc:
            echo(f"skipped {f}: {exc}", file=sys.stderr)
            continue
        row = _row(tr.stats(), tr.source)
        row["path"] = str(f.relative_to(folder))
        rows.append(row)
    if args.json:
        echo(json.dumps(rows, indent=2))
        return 0
    echo(f"{'trace':<48} {'format':<8} {'dur_s':>8} {'mean':>8} {'p10':>8} {'p90':>8} {'<300k':>6}")
    for r in rows:
        echo(
            f"{r['path'][:48]:<48} {r['format']:<8} {r['duration_s']:>8.1f} "
            f"{r['mean_kbps']:>8.0f} {r['p10_kbps']:>8.0f} {r['p90_kbps']:>8.0f} "
            f"{100 * r['share_below_300kbps']:>5.1f}%"
        )
    echo(f"{len(rows)} traces (capacities in kbit/s)")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print a summary of one trace and optionally plot it.

    With ``--plot -`` the PNG goes to standard output and the summary to stderr.
    """
    plot = output("--plot", args.plot) if args.plot else None
    tr = _resolve(args.trace, args.format)
    row = _row(tr.stats(), tr.source)
    row["opportunities"] = int(tr.opportunities_us.size)
    row["p50_kbps"] = round(tr.percentile_kbps(50), 1)
    row["loss_column"] = tr.loss is not None
    row["delay_column"] = tr.delay_ms is not None
    summary_to = sys.stderr if plot is not None and plot.is_stdout else None
    if plot is not None:
        write_outputs([(plot, _plot(tr))])
        row["plot"] = args.plot
    if args.json:
        echo(json.dumps(row, indent=2), file=summary_to)
        return 0
    width = max(len(k) for k in row)
    for k, v in row.items():
        echo(f"{k:<{width}}  {v}", file=summary_to)
    return 0


def _plot(tr: Any) -> bytes:
    """Return a PNG of the trace's capacity over one period."""
    # matplotlib: heavy, loaded only when a plot is asked for (Agg canvas, no pyplot state)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = np.append(tr.step_times_us, tr.duration_us) / 1e6
    cap = np.append(tr.capacity_kbps, tr.capacity_kbps[-1])
    fig = Figure(figsize=(9, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.step(t, cap, where="post", lw=1.0, color="tab:blue", label="capacity")
    ax.axhline(tr.mean_kbps, color="tab:gray", ls="--", lw=0.8, label="mean")
    ax.axhline(300, color="tab:red", ls=":", lw=0.8, label="300 kbit/s")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("kbit/s")
    ax.set_title(tr.name)
    ax.set_xlim(0, tr.duration_s)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def run_convert(args: argparse.Namespace) -> int:
    """Convert one trace to Mahimahi or CSV (``-``: to standard output, Mahimahi unless --to)."""
    out: Output = output("output", args.output)
    tr = _resolve(args.input, args.format)
    fmt = args.to or ("csv" if out.path is not None and out.path.suffix.lower() == ".csv" else "")
    text = traces.csv_text(tr) if fmt == "csv" else traces.mahimahi_text(tr)
    write_outputs([(out, text)])
    note = f"wrote {out} ({tr.stats().mean_kbps:.0f} kbit/s, {tr.duration_s:g} s)"
    echo(note, file=sys.stderr if out.is_stdout else None)
    return 0


def run_bundle(args: argparse.Namespace) -> int:
    """Regenerate the bundled synthetic traces (deterministic, seeded)."""
    for p in traces.write_bundled(args.folder):
        echo(f"wrote {p}")
    return 0
