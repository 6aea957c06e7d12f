"""What a study runs: traces found under roots, policies, network scenarios and seeds.

Everything here happens in the calling process before any session runs: traces are
*found* and hashed (not parsed: each worker parses a trace once), policies are loaded and
hashed, and a policy or trace that cannot be used becomes an error carried to its
sessions' rows instead of stopping the study.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mediaopt.errors import InputError
from mediaopt.policies import Policy, resolve
from mediaopt.traces import DEFAULT_NETWORK, Network, Trace

__all__ = [
    "PolicySpec",
    "TraceSpec",
    "find_traces",
    "resolve_networks",
    "resolve_policies",
    "resolve_seeds",
    "trace_sha256",
]

#: Files in a trace folder that are documentation, not traces (licences, READMEs).
NOT_TRACES = ("license", "copying", "readme", "upstream-readme", "notice", "authors")
#: Suffixes of documentation and configuration files found beside traces.
DOC_SUFFIXES = (".md", ".rst", ".html", ".json", ".toml", ".py", ".txt", ".pdf")


@dataclass(frozen=True)
class TraceSpec:
    """One trace of a study: where it came from, its identity and its site.

    ``path`` is the file as the user named it (the root they gave joined with the part
    below it; never resolved), or ``None`` for a :class:`~mediaopt.traces.Trace` object
    (then ``trace`` holds it). ``trace_id`` is the path relative to the root it was
    found under, ``group`` the first folder under that root (or the root's own name for a
    file directly in it), ``sha256`` the hash of the file's bytes (of the arrays for an
    object), ``error`` a one-line reason when the file cannot be read.
    """

    trace_id: str
    group: str
    path: str | None
    sha256: str
    trace: Trace | None = None
    error: str = ""


@dataclass(frozen=True)
class PolicySpec:
    """One policy of a study: the spec as given, its label, the policy and its hash.

    ``label`` is the policy's name (the spec as given when two policies share a name);
    ``policy`` is ``None`` and ``error`` says why when it cannot be loaded.
    """

    spec: str
    label: str
    sha256: str
    policy: Policy | None
    error: str = ""


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (the first line of the message)."""
    text = str(exc).strip().splitlines()
    msg = text[0] if text else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _is_doc_file(path: Path) -> bool:
    name = path.name.lower()
    return (
        name.startswith(".")
        or any(name.startswith(stem) for stem in NOT_TRACES)
        or path.suffix.lower() in DOC_SUFFIXES
    )


def _folder_files(folder: Path) -> list[Path]:
    """Trace files under ``folder``, recursively, sorted; hidden and doc files left out."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            p = Path(dirpath) / f
            if not _is_doc_file(p):
                out.append(p)
    return sorted(out, key=lambda p: p.relative_to(folder).parts)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def trace_sha256(trace: Trace) -> str:
    """A hash of a trace object's content (its arrays and duration), for provenance."""
    h = hashlib.sha256()
    h.update(b"mediaopt.Trace/1")
    h.update(np.int64(trace.duration_us).tobytes())
    for arr in (trace.opportunities_us, trace.step_times_us, trace.capacity_kbps):
        h.update(np.ascontiguousarray(arr).tobytes())
    for opt in (trace.loss, trace.delay_ms):
        h.update(b"-" if opt is None else np.ascontiguousarray(opt).tobytes())
    return h.hexdigest()


def find_traces(
    inputs: Any,
    *,
    groups: Mapping[str, str] | Callable[[str], str] | None = None,
) -> list[TraceSpec]:
    """Expand files, folders (recursively) and Trace objects into :class:`TraceSpec`.

    A folder's files get ``trace_id`` = their path below the folder and ``group`` = the
    first folder below it (files directly in it: the folder's own name). A file named
    directly is its own ``trace_id`` in its parent's group. A trace object is identified
    by its name, group ``""``. Same-named files from different roots stay apart: when two
    inputs would share a ``trace_id`` both take the path as given instead. The same file
    named twice counts once. ``groups`` (a mapping from ``trace_id`` or a function of it)
    overrides the group.
    """
    items = [inputs] if isinstance(inputs, (str, os.PathLike, Trace)) else list(inputs)
    if not items:
        raise InputError("traces: give at least one trace file, folder or Trace")
    found: list[tuple[str, str, str | None, Path | None, Trace | None]] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Trace):
            found.append((item.name, "", None, None, item))
            continue
        if not isinstance(item, (str, os.PathLike)):
            raise InputError(
                f"traces: expected a path or a mediaopt.traces.Trace, got {type(item).__name__}"
            )
        given = os.fspath(item)
        root = Path(given)
        if root.is_dir():
            files = _folder_files(root)
            if not files:
                raise InputError(f"traces: {given}: folder holds no trace files")
            root_name = root.resolve().name
            for f in files:
                key = str(f.resolve())
                if key in seen:
                    continue
                seen.add(key)
                rel = f.relative_to(root)
                group = rel.parts[0] if len(rel.parts) > 1 else root_name
                found.append((rel.as_posix(), group, os.path.join(given, *rel.parts), f, None))
        elif root.exists():
            key = str(root.resolve())
            if key in seen:
                continue
            seen.add(key)
            found.append((root.name, root.resolve().parent.name, given, root, None))
        else:
            raise InputError(f"traces: {given}: no such file or folder")
    counts: dict[str, int] = {}
    for tid, *_ in found:
        counts[tid] = counts.get(tid, 0) + 1
    specs: list[TraceSpec] = []
    used: set[str] = set()
    for tid, group, given_path, path, obj in found:
        if counts[tid] > 1:
            tid = Path(given_path).as_posix() if given_path is not None else tid
        base, k = tid, 2
        while tid in used:  # Trace objects of the same name, or a path equal to an id
            tid = f"{base}#{k}"
            k += 1
        used.add(tid)
        if groups is not None:
            group = str(groups(tid) if callable(groups) else groups.get(tid, group))
        if obj is not None:
            specs.append(TraceSpec(tid, group, None, trace_sha256(obj), trace=obj))
            continue
        assert path is not None
        try:
            sha = _file_sha256(path)
            error = ""
        except OSError as exc:
            sha, error = "", f"{given_path}: cannot read ({exc.strerror or exc})"
        specs.append(TraceSpec(tid, group, given_path, sha, error=error))
    return specs


def resolve_policies(policies: Any) -> list[PolicySpec]:
    """Load each policy (name, TOML path or Policy); a bad one becomes an error spec."""
    items = [policies] if isinstance(policies, (str, os.PathLike, Policy)) else list(policies)
    if not items:
        raise InputError("policies: give at least one policy")
    loaded: list[tuple[str, Policy | None, str, str]] = []
    for item in items:
        spec = item.name if isinstance(item, Policy) else os.fspath(item)
        try:
            pol = resolve(item)
        except (ValueError, OSError) as exc:
            sha = ""
            if isinstance(item, (str, os.PathLike)) and Path(spec).is_file():
                with contextlib.suppress(OSError):
                    sha = _file_sha256(Path(spec))
            loaded.append((spec, None, sha, f"{spec}: {one_line(exc)}"))
            continue
        text = pol.to_toml().encode("utf-8")
        loaded.append((spec, pol, hashlib.sha256(text).hexdigest(), ""))
    names: dict[str, set[str]] = {}
    for spec, maybe, sha, _ in loaded:
        names.setdefault(maybe.name if maybe is not None else spec, set()).add(sha)
    out = []
    for spec, maybe, sha, error in loaded:
        label = maybe.name if maybe is not None else spec
        if maybe is not None and len(names[label]) > 1:
            label = spec if spec != maybe.name else f"{maybe.name}@{sha[:8]}"
        out.append(PolicySpec(spec, label, sha, maybe, error))
    labels = [p.label for p in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        # the same policy twice: one row each would double-count it in every pool
        raise InputError(f"policies: {dup[0]} is given more than once")
    return out


def resolve_networks(network: Network | Sequence[Network] | None) -> list[Network]:
    """The network scenarios: one :class:`~mediaopt.traces.Network`, several, or the default."""
    if network is None:
        return [DEFAULT_NETWORK]
    items = [network] if isinstance(network, Network) else list(network)
    if not items:
        raise InputError("network: give at least one Network (or None for the default)")
    for n in items:
        if not isinstance(n, Network):
            raise InputError(f"network: expected mediaopt.traces.Network, got {type(n).__name__}")
    labels = [n.label for n in items]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise InputError(f"network: two scenarios share the label {dup[0]!r} (give them names)")
    return items


def resolve_seeds(seeds: Iterable[int]) -> list[int]:
    """The seeds, checked: non-negative integers, each once."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        raise InputError(f"seeds: expected an iterable of seeds such as range({int(seeds)})")
    out: list[int] = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or int(s) < 0:
            raise InputError(f"seeds: expected non-negative integers, got {s!r}")
        if int(s) in out:
            raise InputError(f"seeds: {int(s)} is given more than once")
        out.append(int(s))
    if not out:
        raise InputError("seeds: give at least one seed")
    return out
