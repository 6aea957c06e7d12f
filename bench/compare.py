#!/usr/bin/env python3
"""A/B speed comparison of two builds of mediaopt in one job.

Usage::

    python bench/compare.py BASE_REF [--threshold 0.10] [--rounds 3] [-m hot_path] [-k EXPR]

Builds ``BASE_REF`` (any git revision) and the current working tree into two fresh virtual
environments under ``build/compare/``, then runs the benchmarks of *this* tree's ``bench/``
folder against each build alternately (A B A B ...), so both see the same machine load
drift. For every benchmark it prints the median over rounds of each side's fastest round
and the median over rounds of the ratio B / A of each back-to-back pair (above 1.0 means
the working tree is slower). It exits 1 when any
benchmark got slower than ``--threshold`` (default 10 %), 0 otherwise.

The benchmark code is the same on both sides (the working tree's), so the comparison
measures the library, not changes to the benchmarks. A benchmark that fails on the base
build (for example because the feature is new) is reported as "new" and not compared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, **kw)  # type: ignore[call-overload]


def _make_env(src: Path, env_dir: Path) -> Path:
    """Create a fresh venv at env_dir and install src (with the test extra) into it."""
    if env_dir.exists():
        shutil.rmtree(env_dir)
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    print(f"  building {src} -> {env_dir}", file=sys.stderr)
    _run(
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{src}[test]"],
        stdout=subprocess.DEVNULL,
    )
    return py


def _bench_once(py: Path, args: argparse.Namespace, out: Path) -> dict[str, float] | None:
    """Run the selected benchmarks once with one build; return name -> fastest round (s)."""
    cmd = [
        str(py),
        "-m",
        "pytest",
        str(ROOT / "bench"),
        "-q",
        "-p",
        "no:cacheprovider",
        "--benchmark-only",
        f"--benchmark-json={out}",
        "-o",
        "addopts=",
        "--benchmark-min-rounds=3",
        "--continue-on-collection-errors",
    ]
    if args.marker:
        cmd += ["-m", args.marker]
    if args.keyword:
        cmd += ["-k", args.keyword]
    env = dict(os.environ)
    env.pop("MEDIAOPT_BENCH_SMOKE", None)
    # run from a neutral folder so the working tree's src/ can never shadow the install
    proc = subprocess.run(cmd, cwd=out.parent, env=env, text=True, capture_output=True)
    if not out.exists():
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        return None
    data = json.loads(out.read_text())
    return {b["fullname"].split("::")[-1]: float(b["stats"]["min"]) for b in data["benchmarks"]}


def main(argv: list[str] | None = None) -> int:
    """Build both sides, run them interleaved, print ratios, return the exit status."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("base_ref", help="git revision to compare against (e.g. HEAD~1, main)")
    p.add_argument("--threshold", type=float, default=0.10, help="allowed slowdown (0.10 = 10%%)")
    p.add_argument("--rounds", type=int, default=3, help="A/B rounds (default 3)")
    p.add_argument("-m", dest="marker", default="hot_path", help="pytest marker ('' for all)")
    p.add_argument("-k", dest="keyword", default="", help="pytest -k expression")
    args = p.parse_args(argv)
    if args.rounds < 1 or not 0 < args.threshold < 10:
        p.error("--rounds must be >= 1 and --threshold in (0, 10)")

    work = ROOT / "build" / "compare"
    work.mkdir(parents=True, exist_ok=True)
    base_src = Path(tempfile.mkdtemp(prefix="base-", dir=work))
    try:
        _run(
            ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{args.base_ref}^{{commit}}"],
            stdout=subprocess.DEVNULL,
        )
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.base_ref], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base_src)], input=archive, check=True)
        print(f"A = {args.base_ref}, B = working tree", file=sys.stderr)
        py_a = _make_env(base_src, work / "venv-a")
        py_b = _make_env(ROOT, work / "venv-b")
        runs: dict[str, dict[str, list[float]]] = {"A": {}, "B": {}}
        for r in range(args.rounds):
            for side, py in (("A", py_a), ("B", py_b)):
                print(f"  round {r + 1}/{args.rounds}: {side}", file=sys.stderr)
                res = _bench_once(py, args, work / f"run-{side}.json")
                for name, t in (res or {}).items():
                    runs[side].setdefault(name, []).append(t)
    finally:
        shutil.rmtree(base_src, ignore_errors=True)

    names = sorted(set(runs["A"]) | set(runs["B"]))
    if not names:
        print("no benchmark ran; check -m/-k", file=sys.stderr)
        return 2
    worst = 0.0
    print(f"{'benchmark':<52} {'A (s)':>11} {'B (s)':>11} {'B/A':>7}")
    for name in names:
        a, b = runs["A"].get(name), runs["B"].get(name)
        if not a or not b:
            sa = f"{statistics.median(a):.3e}" if a else "-"
            sb = f"{statistics.median(b):.3e}" if b else "-"
            print(f"{name:<52} {sa:>11} {sb:>11} {'new' if b else 'gone':>7}")
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        # the ratio of each A/B pair run back to back cancels slow drift in machine load
        # better than a ratio of two medians taken across the whole job
        pairs = [tb / ta for ta, tb in zip(a, b, strict=False) if ta > 0]
        ratio = statistics.median(pairs) if pairs else float("inf")
        worst = max(worst, ratio)
        flag = "  SLOWER" if ratio > 1 + args.threshold else ""
        print(f"{name:<52} {ma:>11.3e} {mb:>11.3e} {ratio:>7.3f}{flag}")
    if worst > 1 + args.threshold:
        print(f"FAIL: a hot path got more than {args.threshold:.0%} slower", file=sys.stderr)
        return 1
    print(f"OK: no hot path more than {args.threshold:.0%} slower (worst B/A = {worst:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
