"""Run the fuzz targets with atheris (libFuzzer) for a time budget; report inputs per target.

    python tests/fuzz/run.py --budget-s 60                 # every runnable target, 60 s in all
    python tests/fuzz/run.py --budget-s 600 --target csv   # one target
    python tests/fuzz/run.py --list

Each target runs in its own process (``--child``): its corpus starts from the committed
seeds in ``tests/fuzz/corpus/<kind>/`` plus, when the recorded traces are present, the
first 1 KB of every real trace of the matching format (read in place from
``../shared/traces`` or ``$MEDIAOPT_TRACE_DIR``). The rules (``targets.guarded``): only
``InputError`` escapes, no input over 1 s (libFuzzer's ``-timeout`` catches a hang),
no input allocating over 100 MB (tracemalloc peak per input, and an RSS cap). A crash
leaves its input in ``--artifacts`` and makes the runner exit 1. ``--json FILE`` records
the count of inputs run per target (``docs/reliability.md`` keeps the long-run record).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "corpus"
#: libFuzzer's per-input timeout (s): a hang is caught here, the 1 s rule in the harness.
HANG_S = 3
#: RSS cap of a child (MB): the interpreter, numpy and the core, plus the 100 MB rule.
RSS_LIMIT_MB = 1024
#: Largest input libFuzzer makes (bytes).
MAX_LEN = 8192


def _shm() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


def _shared_traces() -> Path | None:
    env = os.environ.get("MEDIAOPT_TRACE_DIR")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "traces"]:
        if cand.is_dir():
            return cand
    return None


_REAL_KINDS = {
    "mahimahi": ("mahimahi",),
    "cooked": ("hsdpa", "fcc"),
    "any": ("mahimahi", "hsdpa", "fcc"),
}
_NOT_TRACES = {"LICENSE", "COPYING", "UPSTREAM-README", "README.md"}


def seed_corpus(kind: str, out: Path) -> int:
    """Fill ``out`` with the seeds of ``kind``; return how many."""
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    kinds = [kind] if kind != "any" else ["mahimahi", "cooked", "csv", "json"]
    for k in kinds:
        folder = CORPUS / k
        if folder.is_dir():
            for f in sorted(folder.iterdir()):
                if f.is_file():
                    shutil.copyfile(f, out / f"seed-{k}-{f.name}")
                    n += 1
    shared = _shared_traces()
    if shared is not None:
        for sub in _REAL_KINDS.get(kind, ()):
            for f in sorted((shared / sub).glob("*")):
                if not f.is_file() or f.name in _NOT_TRACES:
                    continue
                with open(f, "rb") as fh:
                    head = fh.read(1024)
                head = head[: head.rfind(b"\n") + 1] or head
                (out / f"real-{sub}-{f.name}").write_bytes(head)
                n += 1
    return n


def _child(args: argparse.Namespace) -> int:
    import atheris

    with atheris.instrument_imports(include=["mediaopt"]):
        sys.path.insert(0, str(HERE))
        import targets

    target = targets.TARGETS[args.child]
    one = targets.guarded(target, track_memory=not args.no_tracemalloc)
    if args.no_tracemalloc:
        # an allocation never touched does not show in the resident size: cap the address
        # space at what the process maps now plus 1 GB
        import resource

        with open("/proc/self/status") as fh:
            vm_kb = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmSize:"))
        cap = (vm_kb + 1024 * 1024) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    lib_args = [
        sys.argv[0],
        str(args.corpus),
        f"-max_total_time={max(1, int(args.seconds))}",
        f"-timeout={HANG_S}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-max_len={MAX_LEN}",
        f"-artifact_prefix={args.artifacts}/{target.name}-",
        "-print_final_stats=1",
    ]
    if args.runs:
        lib_args.append(f"-runs={args.runs}")
    if args.seed:
        lib_args.append(f"-seed={args.seed}")
    atheris.Setup(lib_args, one)
    atheris.Fuzz()
    return 0


_RUNS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
_DONE = re.compile(r"Done (\d+) runs in")


def _run_target(name: str, seconds: float, ns: argparse.Namespace, work: Path) -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    import targets

    t = targets.TARGETS[name]
    corpus = work / name
    n_seeds = seed_corpus(t.seeds, corpus) if not corpus.exists() else len(list(corpus.iterdir()))
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        name,
        "--seconds",
        str(seconds),
        "--corpus",
        str(corpus),
        "--artifacts",
        str(ns.artifacts),
    ]
    if ns.runs:
        cmd += ["--runs", str(ns.runs)]
    if ns.seed:
        cmd += ["--seed", str(ns.seed)]
    if ns.no_tracemalloc:
        cmd.append("--no-tracemalloc")
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix=f"mediaopt-fuzz-{name}-", dir=_shm()))
    env = {**os.environ, "MEDIAOPT_FUZZ_TMP": str(scratch)}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=work, check=False, env=env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.monotonic() - started
    log = proc.stdout + proc.stderr
    m = _RUNS.search(log) or _DONE.search(log)
    runs = int(m.group(1)) if m else 0
    ok = proc.returncode == 0
    row: dict[str, object] = {
        "target": name,
        "inputs": runs,
        "seconds": round(elapsed, 1),
        "seeds": n_seeds,
        "ok": ok,
    }
    for key in ("slowest_unit_time_sec", "peak_rss_mb", "new_units_added"):
        found = re.search(rf"stat::{key}:\s*(\d+)", log)
        if found:
            row[key] = int(found.group(1))
    if not ok:
        lines = log.strip().splitlines()
        why = [ln for ln in lines if "CrashError" in ln or "ERROR: libFuzzer" in ln]
        saved = [ln for ln in lines if "Test unit written to" in ln]
        row["failure"] = "\n".join(why[-3:] + saved[-1:]) or "\n".join(lines[-25:])
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the targets (or one child process); exit 1 when any target crashed."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--target", action="append", help="target name (repeatable; default: all)")
    p.add_argument("--budget-s", type=float, default=60.0, help="total seconds over the targets")
    p.add_argument("--loaders", action="store_true", help="only the file-loader targets")
    p.add_argument(
        "--include-core", action="store_true", help="also run targets blocked by core findings"
    )
    p.add_argument("--runs", type=int, default=0, help="stop each target after this many inputs")
    p.add_argument(
        "--seed", type=int, default=0, help="libFuzzer's random seed (0: a new one each run)"
    )
    p.add_argument("--work", type=Path, help="keep corpora here (default: a temporary folder)")
    p.add_argument("--artifacts", type=Path, default=None, help="where crashing inputs go")
    p.add_argument("--json", type=Path, help="write the per-target counts as JSON")
    p.add_argument("--no-tracemalloc", action="store_true", help="skip the per-input peak check")
    p.add_argument("--list", action="store_true", help="list the targets and exit")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, default=10.0, help=argparse.SUPPRESS)
    p.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    ns = p.parse_args(argv)
    if ns.child:
        return _child(ns)

    sys.path.insert(0, str(HERE))
    import targets

    if ns.list:
        for name, t in targets.TARGETS.items():
            why = targets.CORE_FINDINGS.get(name, "")
            print(f"{name:<26} {'loader' if t.loader else 'arrays':<7} {why}")
        return 0
    names = ns.target or [n for n, t in targets.TARGETS.items() if t.loader or not ns.loaders]
    unknown = [n for n in names if n not in targets.TARGETS]
    if unknown:
        p.error(f"unknown target(s) {unknown}; see --list")
    skipped = [n for n in names if n in targets.CORE_FINDINGS and not ns.include_core]
    names = [n for n in names if n not in skipped]
    for n in skipped:
        print(f"skip {n}: {targets.CORE_FINDINGS[n]}", file=sys.stderr)
    work = ns.work or Path(tempfile.mkdtemp(prefix="mediaopt-fuzz-work-"))
    work.mkdir(parents=True, exist_ok=True)
    ns.artifacts = (ns.artifacts or work / "artifacts").resolve()
    ns.artifacts.mkdir(parents=True, exist_ok=True)
    per = ns.budget_s / max(1, len(names))
    rows = []
    for name in names:
        row = _run_target(name, per, ns, work)
        rows.append(row)
        status = "ok" if row["ok"] else "CRASH"
        print(
            f"fuzz {name:<24} {row['inputs']:>10} inputs in {row['seconds']:>7} s  {status}",
            flush=True,
        )
        if not row["ok"]:
            print(row["failure"], file=sys.stderr)
    total = sum(int(r["inputs"]) for r in rows)  # type: ignore[call-overload]
    print(f"fuzz total: {total} inputs, {sum(not r['ok'] for r in rows)} crashed")
    if ns.json:
        doc = {"rows": rows, "skipped": {n: targets.CORE_FINDINGS[n] for n in skipped}}
        ns.json.write_text(json.dumps(doc, indent=2) + "\n")
    if ns.work is None:
        shutil.rmtree(work / "artifacts", ignore_errors=True) if all(
            r["ok"] for r in rows
        ) else None
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
