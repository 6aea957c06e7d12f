"""Replay a folder of traces under two policies and print them side by side.

    python examples/compare_policies.py                          # the bundled synthetic traces
    python examples/compare_policies.py ../shared/traces/hsdpa   # a folder of recorded traces
    python examples/compare_policies.py ../shared/traces/hsdpa --policies gcc surgical \
        --duration-s 120 --seed 1

For each trace it prints one row: frame delay, freezes, usable share of one-second windows
and whether the clinical tier was met, for policy A and policy B next to each other; then
how often each policy met its tier. Metric definitions: docs/metrics.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from mediaopt import traces as mo_traces
from mediaopt.replay import replay

# Licence and README files sit next to recorded traces; they are not traces.
NOT_TRACES = ("license", "copying", "readme", "upstream-readme")

COLUMNS = {
    "frame_delay_p95_ms": "delay p95 ms",
    "freeze_count": "freezes",
    "fps_mean": "fps",
    "height_mean": "height",
    "usable_ratio": "usable",
    "tier_met": "tier",
}


def load_traces(folder: str | None) -> dict[str, mo_traces.Trace]:
    if folder is None:
        return dict(mo_traces.bundled())
    files = sorted(
        p
        for p in Path(folder).iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.lower().startswith(NOT_TRACES)
        and p.suffix.lower() != ".md"
    )
    return {p.name: mo_traces.load(p) for p in files}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", help="folder of traces (default: bundled traces)")
    ap.add_argument("--policies", nargs=2, default=["gcc", "consult"], metavar=("A", "B"))
    ap.add_argument("--duration-s", type=float, default=None, help="replay only the first S s")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    traces = load_traces(args.folder)
    a, b = args.policies
    rows = []
    for i, (name, trace) in enumerate(traces.items(), 1):
        print(f"[{i}/{len(traces)}] {name}", file=sys.stderr, flush=True)
        row: dict[tuple[str, str], object] = {}
        for policy in (a, b):
            res = replay(trace, policy, duration_s=args.duration_s, seed=args.seed)
            for key, label in COLUMNS.items():
                row[(label, policy)] = res.metrics[key]
        rows.append(pd.Series(row, name=name))

    # metric by metric, policy A next to policy B
    order = [(label, policy) for label in COLUMNS.values() for policy in (a, b)]
    table = pd.DataFrame(rows)[order]
    table.columns = pd.MultiIndex.from_tuples(order)
    shown = table.copy()
    for policy in (a, b):
        shown[("usable", policy)] = table[("usable", policy)].map("{:.2%}".format)
        shown[("tier", policy)] = table[("tier", policy)].map(lambda v: "met" if v else "missed")
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(shown.round(1).to_string())
    print()
    for policy in (a, b):
        met = int(table[("tier", policy)].sum())
        mean_usable = float(table[("usable", policy)].mean())
        print(
            f"{policy:>10}: tier met on {met}/{len(table)} traces, "
            f"mean usable share {mean_usable:.2%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
