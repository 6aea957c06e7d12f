"""``mediaopt replay``: replay policies over traces and report what the consultations looked like.

``mediaopt replay TRACE... --policy NAME|FILE [--policy ...]`` replays every policy over
every trace (a file, a folder of traces, or the name of a bundled synthetic trace;
``--bundled`` adds all bundled traces), prints a results table per trace and optionally
writes JSON, CSV and an HTML report. Everything is checked before the first replay, files
are written atomically once all replays are done, and a problem the user can fix exits
with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediaopt import _atomic, policies, traces
from mediaopt._validate import check_float, check_int
from mediaopt._version import __version__
from mediaopt.cli.common import UsageError
from mediaopt.core import core_info
from mediaopt.media import content, encoders, profiles
from mediaopt.replay import fidelity, replay
from mediaopt.report.replay import format_table, results_frame, write_report
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
    p.add_argument("--json", metavar="OUT", help="write all results as JSON")
    p.add_argument("--csv", metavar="OUT", help="write the session metrics table as CSV")
    p.add_argument("--report", metavar="OUT.html", help="write a self-contained HTML report")
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


def _resolve_traces(specs: Sequence[str], bundled: bool, be: _Backend) -> list[Any]:
    """Load every trace named on the command line, in order, without duplicates.

    Everything is loaded up front, so a bad trace stops the command before any replay.
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
            raise UsageError(f"{path}: not a readable trace ({exc})") from None

    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            for f in _folder_files(path):
                load_file(f)
        elif path.is_file():
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


def _check_output(flag: str, path: str | None) -> None:
    """Fail before any replay if an output could not be written at the end."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{flag} {path}: is a folder")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{flag} {path}: folder {parent} is not writable")


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


def run(args: argparse.Namespace) -> int:
    """Replay every policy over every trace; print tables; write the requested files."""
    for flag, path in (("--json", args.json), ("--csv", args.csv), ("--report", args.report)):
        _check_output(flag, path)
    options = _options(args)
    if getattr(args, "content", None) is not None:
        try:
            options["content"] = profiles.resolve(args.content)
        except ValueError as exc:
            raise UsageError(f"--content {args.content}: {exc}") from None
    encode = _encode_options(args)
    fidelity_rows: list[dict[str, Any]] = []
    be = _backend()
    policy_specs = args.policy or [DEFAULT_POLICY]
    chosen_policies = []
    for spec in policy_specs:
        try:
            chosen_policies.append(be.load_policy(spec))
        except OSError as exc:
            raise UsageError(f"--policy {spec}: {exc.strerror or exc}") from None
        except (KeyError, ValueError) as exc:
            # KeyError's str() adds quotes; show its message as written
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise UsageError(f"--policy {spec}: {msg}") from None
    chosen_traces = _resolve_traces(args.traces, args.bundled, be)

    total = len(chosen_traces) * len(chosen_policies)
    show_progress = total > 1 and not args.quiet
    results = []
    done = 0
    started = time.perf_counter()
    for trace in chosen_traces:
        per_trace = []
        for policy in chosen_policies:
            done += 1
            if show_progress:
                name = getattr(trace, "name", "?")
                pname = getattr(policy, "name", str(policy))
                elapsed = time.perf_counter() - started
                print(
                    f"[{done}/{total}] {name} x {pname} ({elapsed:.1f} s elapsed)",
                    file=sys.stderr,
                    flush=True,
                )
            if encode is None:
                res = be.replay(trace, policy, **options)
            else:
                full = fidelity.replay_encoded(
                    trace,
                    policy,
                    encode["source"],
                    codec=encode["codec"],
                    scale=encode["scale"],
                    **options,
                )
                res = full.result
                summary = full.summary()
                fidelity_rows.append(
                    {
                        "trace": getattr(trace, "name", "?"),
                        "policy": getattr(policy, "name", "?"),
                        "source": encode["source"],
                        "codec": encode["codec"],
                        **{
                            k: round(float(v), 6) if math.isfinite(v) else None
                            for k, v in summary.items()
                        },
                    }
                )
                print(_fidelity_line(trace, policy, summary), flush=True)
            per_trace.append(res)
        results.extend(per_trace)
        print(format_table(per_trace), end="\n\n", flush=True)

    written = []
    prov = replay_provenance(args, chosen_traces, chosen_policies, options)
    if args.json:
        _atomic.write_text(args.json, results_json(results, fidelity_rows, prov))
        written.append(args.json)
    if args.csv:
        _atomic.write_text(args.csv, results_csv(results, prov))
        written.append(args.csv)
    if args.report:
        write_report(args.report, results)
        written.append(args.report)
    if written and not args.quiet:
        # tell the operator where the files went (stderr: stdout stays the result tables)
        print(f"wrote {', '.join(str(w) for w in written)}", file=sys.stderr, flush=True)
    return 0
