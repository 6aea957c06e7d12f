"""``mediaopt replay``: replay policies over traces and report what the consultations looked like.

``mediaopt replay TRACE... --policy NAME|FILE [--policy ...]`` replays every policy over
every trace (a file, a folder of traces, or the name of a bundled synthetic trace;
``--bundled`` adds all bundled traces), prints a results table per trace and optionally
writes JSON, CSV and an HTML report (``-`` for standard output).

Options, output paths and the names of traces and policies are checked before the first
replay (a typo exits with status 2 and one line, nothing replayed). A session that fails
(a trace or policy file that cannot be read, an error in the replay) becomes a failed row
with its one-line reason, in the tables and in every output; the other sessions run and
their results are written; a summary of the failures goes to stderr and the exit status
is 2. The output files are written together once every session is done, all or nothing:
an interrupt (SIGINT, SIGTERM) before then leaves none of them, and says so.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mediaopt import policies, traces
from mediaopt._validate import check_float, check_int
from mediaopt._version import __version__
from mediaopt.cli.common import (
    Output,
    Terminated,
    UsageError,
    check_distinct,
    echo,
    output,
    write_outputs,
)
from mediaopt.core import core_info
from mediaopt.errors import clip_repr
from mediaopt.media import content, encoders, profiles
from mediaopt.replay import fidelity, replay
from mediaopt.report.replay import format_table, render_html, results_frame
from mediaopt.study.inputs import trace_sha256

#: Files in a trace folder that are documentation, not traces (licences, READMEs).
_NOT_TRACES = ("license", "copying", "readme", "upstream-readme", "notice", "authors")
_DOC_SUFFIXES = (".md", ".rst", ".html", ".json", ".toml", ".py")

#: Default policy when no ``--policy`` is given (DESIGN.md: routine consultation).
DEFAULT_POLICY = "consult"


def register(sub: Any) -> None:
    """Add the ``replay`` sub-command to ``sub`` (an argparse sub-parser collection)."""
    p = sub.add_parser(
        "replay",
        help="replay policies over network traces and report consultation QoE",
        description=(
            "Replay each policy over each trace in the closed loop (estimator, adaptation, "
            "encoder model, link, receiver) and print the session metrics per trace. "
            "TRACE is a trace file, a folder of traces, or a bundled trace name."
        ),
    )
    p.add_argument("traces", nargs="*", metavar="TRACE", help="trace file, folder or bundled name")
    p.add_argument(
        "--policy",
        action="append",
        metavar="NAME|FILE",
        help=f"built-in policy name or policy TOML file; repeatable (default: {DEFAULT_POLICY})",
    )
    p.add_argument("--bundled", action="store_true", help="add every bundled synthetic trace")
    p.add_argument("--json", metavar="OUT", help="write all results as JSON (- for stdout)")
    p.add_argument(
        "--csv", metavar="OUT", help="write the session metrics table as CSV (- for stdout)"
    )
    p.add_argument(
        "--report", metavar="OUT.html", help="write a self-contained HTML report (- for stdout)"
    )
    p.add_argument("--seed", default="0", help="random seed (default 0)")
    p.add_argument(
        "--duration-s",
        help="replay only the first S seconds of each trace (default: the whole trace)",
    )
    p.add_argument(
        "--one-way-delay-ms",
        default="50",
        help="one-way propagation delay, unless the trace has a delay column (default 50)",
    )
    p.add_argument(
        "--queue-ms",
        default="300",
        help="bottleneck queue size in ms at the trace's rate (default 300)",
    )
    p.add_argument(
        "--loss",
        default="0",
        help="random loss ratio 0..1, unless the trace has a loss column (default 0)",
    )
    p.add_argument(
        "--content",
        metavar="NAME|FILE",
        help="ground the encoder model in a content rate-quality profile: a bundled name "
        "(talking_head, document_share, endoscope, ultrasound) or a profile JSON file",
    )
    p.add_argument(
        "--encode",
        metavar="SOURCE",
        help="full-fidelity replay: encode real frames of SOURCE (a synthetic kind such as "
        "talking_head, or a video file) at the policy's settings and send their real sizes "
        "through the link (two passes; docs/encoders.md)",
    )
    p.add_argument("--codec", default="h264", help="codec for --encode (default h264)")
    p.add_argument(
        "--encode-scale",
        default="0.5",
        help="--encode: shrink the encoded pictures by this factor, same bits per pixel "
        "(default 0.5)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def _number(
    flag: str, text: Any, *, lo: float, hi: float | None = None, strict: bool = False
) -> float:
    """Parse a numeric option here rather than in argparse, so errors stay one line."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"{flag}: expected a number, got {text!r}") from None
    value = check_float(flag, value, min_value=lo, max_value=hi)
    if strict and value <= lo:
        raise UsageError(f"{flag}: must be greater than {lo:g}, got {text}")
    return value


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the replay keyword arguments from the command line, validated."""
    try:
        seed = check_int("--seed", int(args.seed), min_value=0)
    except (TypeError, ValueError):
        raise UsageError(f"--seed: expected a non-negative integer, got {args.seed!r}") from None
    duration = None
    if args.duration_s is not None:
        duration = _number("--duration-s", args.duration_s, lo=0.0, strict=True)
    network = traces.Network(
        one_way_delay_ms=_number("--one-way-delay-ms", args.one_way_delay_ms, lo=0.0),
        queue_ms=_number("--queue-ms", args.queue_ms, lo=0.0, strict=True),
        loss=_number("--loss", args.loss, lo=0.0, hi=1.0),
    )
    return {"network": network, "duration_s": duration, "seed": seed}


@dataclass(frozen=True)
class _Backend:
    """The library functions the command drives (one place, so the wiring is visible)."""

    load_trace: Callable[[str], Any]
    bundled: Callable[[], dict[str, Any]]
    load_policy: Callable[[str], Any]
    replay: Callable[..., Any]


def _backend() -> _Backend:
    return _Backend(
        load_trace=traces.load,
        bundled=traces.bundled,
        load_policy=policies.load,
        replay=replay,
    )


def _is_doc_file(path: Path) -> bool:
    name = path.name.lower()
    return (
        name.startswith(".")
        or any(name.startswith(stem) for stem in _NOT_TRACES)
        or path.suffix.lower() in _DOC_SUFFIXES
    )


def _folder_files(folder: Path) -> list[Path]:
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    files = [p for p in files if not _is_doc_file(p)]
    if not files:
        raise UsageError(f"{folder}: folder holds no trace files")
    return files


@dataclass(frozen=True)
class FailedSession:
    """A session that could not be replayed: its row in the tables and in every output.

    It has the fields the tables and files read from a result (``trace_name``,
    ``policy_name``, ``seed``, empty ``metrics``) plus ``error``, the one-line reason.
    """

    trace_name: str
    policy_name: str
    seed: int
    error: str
    metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def timeseries(self) -> Any:
        """No time series: the session did not run (an empty frame)."""
        return pd.DataFrame()

    def to_json_dict(self) -> dict[str, Any]:
        """Return the JSON row: trace, policy, seed, the error and no metrics."""
        return {
            "trace": self.trace_name,
            "policy": self.policy_name,
            "seed": int(self.seed),
            "error": self.error,
            "metrics": {},
        }


@dataclass(frozen=True)
class _Unreadable:
    """A trace or policy named on the command line that could not be loaded."""

    label: str  #: how the failed rows name it
    reason: str  #: one line

    @property
    def name(self) -> str:
        """The label, under the name results and provenance read."""
        return self.label


def _one_line(exc: BaseException) -> str:
    """The reason a session failed, on one line and at most a few hundred characters."""
    msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    text = " ".join(str(msg).split()) or type(exc).__name__
    if not isinstance(exc, (ValueError, UsageError, OSError, KeyError)):
        # not a problem with the input: say what broke (a core error, a bug)
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 300 else clip_repr(text, 300)


def _resolve_traces(specs: Sequence[str], bundled: bool, be: _Backend) -> list[Any]:
    """Load every trace named on the command line, in order, without duplicates.

    A name that is neither a file, a folder nor a bundled trace (a typo) or a folder
    without traces raises ``UsageError`` before anything runs. A file that exists but
    cannot be loaded is returned as an :class:`_Unreadable` (its sessions fail; the rest
    run).
    """
    out: dict[str, Any] = {}
    bundled_traces: dict[str, Any] | None = None

    def load_file(path: Path) -> None:
        key = str(path.resolve())
        if key in out:
            return
        try:
            out[key] = be.load_trace(str(path))
        except (ValueError, OSError) as exc:
            out[key] = _Unreadable(str(path), f"not a readable trace ({_one_line(exc)})")

    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            for f in _folder_files(path):
                load_file(f)
        elif path.exists():
            load_file(path)
        else:
            if bundled_traces is None:
                bundled_traces = be.bundled()
            if spec not in bundled_traces:
                names = ", ".join(sorted(bundled_traces)) or "none"
                raise UsageError(
                    f"{spec}: no such trace file, folder or bundled trace (bundled: {names})"
                )
            out.setdefault(f"bundled:{spec}", bundled_traces[spec])
    if bundled:
        if bundled_traces is None:
            bundled_traces = be.bundled()
        for name, trace in bundled_traces.items():
            out.setdefault(f"bundled:{name}", trace)
    if not out:
        raise UsageError("give at least one TRACE (file, folder or bundled name) or --bundled")
    return list(out.values())


def _resolve_policies(specs: Sequence[str], be: _Backend) -> list[Any]:
    """Load every ``--policy``: an unknown name or a missing file is a ``UsageError``.

    A policy file that exists but cannot be used (bad TOML, a bad value) is returned as
    an :class:`_Unreadable`: its sessions fail, the others run.
    """
    chosen: list[Any] = []
    for spec in specs:
        try:
            chosen.append(be.load_policy(spec))
        except (KeyError, ValueError, OSError) as exc:
            if not Path(spec).is_file():
                msg = exc.strerror if isinstance(exc, OSError) and exc.strerror else None
                raise UsageError(f"--policy {spec}: {msg or _one_line(exc)}") from None
            reason = _one_line(exc).removeprefix(f"{spec}: ")  # the row names the file
            chosen.append(_Unreadable(spec, f"not a usable policy ({reason})"))
    return chosen


def results_json(
    results: Sequence[Any],
    fidelity_rows: Sequence[dict[str, Any]] = (),
    provenance: dict[str, Any] | None = None,
) -> str:
    """Return the JSON document ``--json`` writes: deterministic, one entry per session.

    With ``--encode`` the results are the second (measured-size) pass and ``fidelity_rows``
    holds each session's model-vs-measurement summary. ``provenance``
    (:func:`replay_provenance`) adds the versions, inputs and parameters, and each
    session's ``trace_sha256`` and ``policy_sha256``.
    """
    entries = [r.to_json_dict() for r in results]
    doc: dict[str, Any] = {"mediaopt": __version__}
    if provenance is not None:
        for entry, ids in zip(entries, provenance["sessions"], strict=False):
            entry["trace_sha256"] = ids["trace_sha256"]
            entry["policy_sha256"] = ids["policy_sha256"]
        doc["provenance"] = {k: v for k, v in provenance.items() if k != "sessions"}
    doc["results"] = entries
    if fidelity_rows:
        doc["fidelity"] = list(fidelity_rows)
    return json.dumps(doc, indent=2) + "\n"


# -- provenance (shared with mediaopt study's manifest: versions, inputs, parameters) ------


def replay_provenance(
    args: argparse.Namespace, traces_: Sequence[Any], policies_: Sequence[Any], options: Any
) -> dict[str, Any]:
    """What ``--json``/``--csv`` record about a run: versions, inputs, parameters.

    Traces are named by the paths as given on the command line (``traces``) and by each
    trace's name and content hash; policies by name and the hash of their TOML. The
    ``sessions`` list follows the replay order (trace x policy). The command line itself
    is left out, so that the same replays write the same bytes whatever the output paths.
    """
    trace_ids = [
        (getattr(t, "name", "?"), trace_sha256(t) if isinstance(t, traces.Trace) else None)
        for t in traces_
    ]
    policy_ids = [
        (
            getattr(p, "name", "?"),
            hashlib.sha256(p.to_toml().encode("utf-8")).hexdigest()
            if callable(getattr(p, "to_toml", None))
            else None,
        )
        for p in policies_
    ]
    network = options.get("network")
    return {
        "schema": "mediaopt.replay/1",
        "mediaopt": __version__,
        "core": {k: v for k, v in core_info().items() if k != "modules"},
        "inputs": {
            "traces": list(args.traces) + (["--bundled"] if args.bundled else []),
            "trace_sha256": {name: sha for name, sha in trace_ids},
            "policies": [{"policy": n, "sha256": sha} for n, sha in policy_ids],
        },
        "parameters": {
            "seed": options.get("seed"),
            "duration_s": options.get("duration_s"),
            "network": network.to_dict() if network is not None else None,
            "content": getattr(options.get("content"), "name", None),
        },
        "sessions": [
            {"trace_sha256": tsha, "policy_sha256": psha}
            for _, tsha in trace_ids
            for _, psha in policy_ids
        ],
    }


def _encode_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """Return the full-fidelity options (``--encode``), checked before any replay."""
    if getattr(args, "encode", None) is None:
        return None
    try:
        codec = encoders.check_codec(args.codec)
    except ValueError as exc:
        raise UsageError(f"--codec {args.codec}: {exc}") from None
    scale = _number("--encode-scale", args.encode_scale, lo=0.05, hi=1.0)
    source = args.encode
    if source not in content.KINDS and not Path(source).is_file():
        raise UsageError(
            f"--encode {source}: neither a synthetic kind ({', '.join(content.KINDS)}) "
            "nor a video file"
        )
    return {"source": source, "codec": codec, "scale": scale}


def _fidelity_line(trace: Any, policy: Any, summary: dict[str, float]) -> str:
    s = summary
    return (
        f"full fidelity {getattr(trace, 'name', '?')} x {getattr(policy, 'name', '?')}: "
        f"model {s['model_quality_mean_db']:.1f} dB, "
        f"delivered {s['delivered_psnr_mean_db']:.1f} dB "
        f"(SSIM {s['delivered_ssim_mean']:.3f}, error {s['delivered_error_db']:+.1f} dB); "
        f"freeze ratio model {s['model_freeze_ratio']:.3f}, measured {s['freeze_ratio']:.3f}; "
        f"real/model bits {s['size_ratio']:.2f}"
    )


def results_csv(results: Sequence[Any], provenance: dict[str, Any] | None = None) -> str:
    """Return the CSV ``--csv`` writes: one row per session (trace, policy, seed, metrics).

    With ``provenance`` (:func:`replay_provenance`) each row also carries its
    ``trace_sha256``, ``policy_sha256``, the mediaopt version, the core flavour and the
    network parameters.
    """
    frame = results_frame(results)
    if provenance is not None and len(frame):
        ids = provenance["sessions"][: len(frame)]
        frame.insert(1, "trace_sha256", [i["trace_sha256"] for i in ids])
        frame.insert(3, "policy_sha256", [i["policy_sha256"] for i in ids])
        frame["mediaopt"] = provenance["mediaopt"]
        frame["core"] = "debug" if provenance["core"].get("debug") else "release"
        net = provenance["parameters"].get("network") or {}
        for key in ("one_way_delay_ms", "queue_ms", "loss"):
            value = net.get(key)
            frame[key] = json.dumps(value) if isinstance(value, dict) else value
    text: str = frame.to_csv(index=False, lineterminator="\n")
    return text


def _outputs(args: argparse.Namespace) -> dict[str, Output]:
    """Check every output option before any replay (one shared rule: cli.common)."""
    outs = {
        flag: output(flag, value)
        for flag, value in (("--json", args.json), ("--csv", args.csv), ("--report", args.report))
        if value is not None
    }
    check_distinct(list(outs.values()))
    return outs


def _replay_one(
    be: _Backend,
    trace: Any,
    policy: Any,
    options: dict[str, Any],
    encode: dict[str, Any] | None,
    fidelity_rows: list[dict[str, Any]],
) -> Any:
    """Run one session; return its result (raises whatever the replay raises)."""
    if encode is None:
        return be.replay(trace, policy, **options)
    full = fidelity.replay_encoded(
        trace,
        policy,
        encode["source"],
        codec=encode["codec"],
        scale=encode["scale"],
        **options,
    )
    summary = full.summary()
    fidelity_rows.append(
        {
            "trace": getattr(trace, "name", "?"),
            "policy": getattr(policy, "name", "?"),
            "source": encode["source"],
            "codec": encode["codec"],
            **{k: round(float(v), 6) if math.isfinite(v) else None for k, v in summary.items()},
        }
    )
    echo(_fidelity_line(trace, policy, summary))
    return full.result


def _label(item: Any) -> str:
    if isinstance(item, _Unreadable):
        return item.label
    return str(getattr(item, "name", "?"))


def _failure_summary(failed: Sequence[FailedSession], total: int) -> list[str]:
    """Lines for stderr: the count, then one line per cause (a file that failed once)."""
    causes: dict[str, list[FailedSession]] = {}
    for f in failed:
        causes.setdefault(f.error, []).append(f)
    lines = []
    for reason, rows in causes.items():
        trace_names = sorted({r.trace_name for r in rows})
        policy_names = sorted({r.policy_name for r in rows})
        if len(rows) == 1:
            who = f"{rows[0].trace_name} x {rows[0].policy_name}"
        elif len(trace_names) == 1:
            who = f"{trace_names[0]} x {len(rows)} policies"
        elif len(policy_names) == 1:
            who = f"{len(rows)} traces x {policy_names[0]}"
        else:
            who = f"{len(rows)} sessions"
        lines.append(f"{who}: {reason}")
    head = f"{len(failed)} of {total} session{'s' if total != 1 else ''} failed"
    if len(lines) == 1:
        return [f"mediaopt replay: error: {head}: {lines[0]}"]
    return [f"mediaopt replay: error: {head}:", *(f"  {line}" for line in lines)]


def run(args: argparse.Namespace) -> int:
    """Replay every policy over every trace; print tables; write the requested files.

    Returns 0 when every session ran, 2 when any failed (their rows say why).
    """
    outs = _outputs(args)
    options = _options(args)
    if getattr(args, "content", None) is not None:
        try:
            options["content"] = profiles.resolve(args.content)
        except ValueError as exc:
            raise UsageError(f"--content {args.content}: {exc}") from None
    encode = _encode_options(args)
    fidelity_rows: list[dict[str, Any]] = []
    be = _backend()
    chosen_policies = _resolve_policies(args.policy or [DEFAULT_POLICY], be)
    chosen_traces = _resolve_traces(args.traces, args.bundled, be)
    # a table on stdout would corrupt a document written there
    tables = not any(o.is_stdout for o in outs.values())

    total = len(chosen_traces) * len(chosen_policies)
    try:
        rows, failed = _run_sessions(
            be, chosen_traces, chosen_policies, options, encode, fidelity_rows, args, tables
        )
    except (KeyboardInterrupt, Terminated) as exc:
        if not outs:
            raise
        why = "no output file was written (outputs are all or nothing)"
        raise type(exc)(why) from None

    prov = replay_provenance(args, chosen_traces, chosen_policies, options)
    _write_files(outs, rows, fidelity_rows, prov, quiet=args.quiet)
    for line in _failure_summary(failed, total) if failed else ():
        echo(line, file=sys.stderr)
    return 2 if failed else 0


def _run_sessions(
    be: _Backend,
    chosen_traces: Sequence[Any],
    chosen_policies: Sequence[Any],
    options: dict[str, Any],
    encode: dict[str, Any] | None,
    fidelity_rows: list[dict[str, Any]],
    args: argparse.Namespace,
    tables: bool,
) -> tuple[list[Any], list[FailedSession]]:
    """Run every session in order; a failing one becomes a :class:`FailedSession` row."""
    total = len(chosen_traces) * len(chosen_policies)
    show_progress = total > 1 and not args.quiet
    rows: list[Any] = []  # every session in order: results and FailedSession rows
    failed: list[FailedSession] = []
    done = 0
    started = time.perf_counter()
    for trace in chosen_traces:
        per_trace: list[Any] = []
        for policy in chosen_policies:
            done += 1
            if show_progress:
                elapsed = time.perf_counter() - started
                echo(
                    f"[{done}/{total}] {_label(trace)} x {_label(policy)} "
                    f"({elapsed:.1f} s elapsed)",
                    file=sys.stderr,
                )
            bad = trace if isinstance(trace, _Unreadable) else policy
            if isinstance(bad, _Unreadable):
                reason = bad.reason
            else:
                try:
                    per_trace.append(_replay_one(be, trace, policy, options, encode, fidelity_rows))
                    continue
                except Exception as exc:  # a failed session is a row; the run goes on
                    reason = _one_line(exc)
            row = FailedSession(_label(trace), _label(policy), options["seed"], reason)
            per_trace.append(row)
            failed.append(row)
        rows.extend(per_trace)
        if tables:
            _print_trace_block(per_trace, trace)
    return rows, failed


def _print_trace_block(per_trace: Sequence[Any], trace: Any) -> None:
    good = [r for r in per_trace if not isinstance(r, FailedSession)]
    bad = [r for r in per_trace if isinstance(r, FailedSession)]
    lines = [format_table(good)] if good else [f"trace {_label(trace)}"]
    lines += [f"{r.policy_name}: FAILED: {r.error}" for r in bad]
    echo("\n".join(lines), end="\n\n")


def _write_files(
    outs: dict[str, Output],
    rows: Sequence[Any],
    fidelity_rows: Sequence[dict[str, Any]],
    provenance: dict[str, Any],
    *,
    quiet: bool,
) -> None:
    """Render every output, then write them all or nothing (and say where they went)."""
    if not outs:
        return
    items: list[tuple[Output, str | bytes]] = []
    done: list[Any] = []  # filled by the renames, so an interrupt after them is told apart
    try:
        if "--json" in outs:
            items.append((outs["--json"], results_json(rows, fidelity_rows, provenance)))
        if "--csv" in outs:
            items.append((outs["--csv"], results_csv(rows, provenance)))
        if "--report" in outs:
            items.append((outs["--report"], render_html(rows)))
        written = write_outputs(items, done)
    except (KeyboardInterrupt, Terminated) as exc:
        if done:
            raise  # every file was already in place when the signal landed
        why = "no output file was written (outputs are all or nothing)"
        raise type(exc)(why) from None
    if not quiet:
        # tell the operator where the files went (stderr: stdout stays the result tables)
        echo(f"wrote {', '.join(written)}", file=sys.stderr)
