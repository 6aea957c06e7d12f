"""A study's results: the sessions table, pooled SLA verdicts, the paired comparison, files.

:class:`Study` holds ``sessions`` (one row per trace x policy x network x seed),
optionally ``windows`` (every session's per-second table) and ``manifest`` (provenance:
versions, every input's path and hash, every parameter, the command line). ``sla()``
pools availability with its confidence bound and verdict per group, ``compare()`` pairs
each policy with a baseline per trace and seed, ``save()``/``load()`` write and read
``sessions.parquet``, ``windows.parquet``, ``sla.csv`` and ``manifest.json``.
``docs/study.md`` describes every column.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mediaopt import _atomic
from mediaopt._version import __version__
from mediaopt.core import core_info
from mediaopt.errors import InputError
from mediaopt.policies import Policy, load
from mediaopt.replay import ReplayResult, replay
from mediaopt.replay.metrics import METRIC_NAMES, TIMESERIES_COLUMNS
from mediaopt.sla import CONFIDENCE, REASONS, SUMMARY_COLUMNS, pooled
from mediaopt.study.inputs import PolicySpec, TraceSpec
from mediaopt.study.measures import MEASURES
from mediaopt.traces import Network, Trace

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COMPARE_MEASURES",
    "ID_COLUMNS",
    "KEEP",
    "NETWORK_COLUMNS",
    "SCHEMA",
    "SESSION_COLUMNS",
    "SLA_COLUMNS",
    "TIMING_COLUMNS",
    "Study",
    "assemble",
]

#: Version of the files ``Study.save`` writes.
SCHEMA = "mediaopt.study/1"
#: What a study keeps: one row per session, or also every session's windows.
KEEP = ("metrics", "windows")

#: Who a session is, in ``sessions`` column order.
ID_COLUMNS: tuple[str, ...] = (
    "trace_id", "group", "trace_sha256", "policy", "policy_sha256", "seed", "status", "error",
)  # fmt: skip
#: The clinical profile the session was judged against.
PROFILE_COLUMNS: tuple[str, ...] = ("tier", "target")
#: The network scenario (``Network.to_dict()``; ``loss_model`` holds a bursty loss model
#: as JSON, then ``loss`` is NaN; an unlimited queue is ``inf``; no reverse trace ``""``).
NETWORK_COLUMNS: tuple[str, ...] = (
    "network", "one_way_delay_ms", "queue_ms", "loss", "loss_model", "reverse_trace",
    "feedback_interval_ms", "feedback_loss",
)  # fmt: skip
#: Columns that depend on where and when a session ran, not on its inputs.
TIMING_COLUMNS: tuple[str, ...] = ("elapsed_s", "worker")
#: Every column of ``Study.sessions``, in order.
SESSION_COLUMNS: tuple[str, ...] = (
    *ID_COLUMNS, *PROFILE_COLUMNS, *NETWORK_COLUMNS, *METRIC_NAMES, *SUMMARY_COLUMNS,
    *TIMING_COLUMNS,
)  # fmt: skip
#: Key columns of ``Study.windows`` before the per-second columns.
WINDOW_KEY_COLUMNS: tuple[str, ...] = ("session", "trace_id", "policy", "network", "seed")
#: Columns of ``Study.sla()`` after the grouping columns.
SLA_COLUMNS: tuple[str, ...] = (
    "sessions", "errors", "counted_s", "usable_s", "excluded_s", "availability",
    "lower_bound", "tier", "target", "verdict", *(f"share_{r}" for r in REASONS),
)  # fmt: skip

#: The paired comparison's measures: (column, kind, which way is better, tie tolerance
#: (absolute, relative)). Ratios for delay, freezes and bitrate; differences for PSNR and
#: availability.
COMPARE_MEASURES: tuple[tuple[str, str, str, float, float], ...] = (
    ("frame_delay_p95_ms", "ratio", "lower", 0.0, 0.01),
    ("freeze_ratio", "ratio", "lower", 0.001, 0.0),
    ("sent_kbps", "ratio", "lower", 0.0, 0.01),
    ("quality_mean", "difference", "higher", 0.1, 0.0),
    ("usable_ratio", "difference", "higher", 0.001, 0.0),
)
#: Columns of ``Study.compare()``.
COMPARE_COLUMNS: tuple[str, ...] = (
    "policy", "baseline", "measure", "kind", "better", "pairs", "estimate", "ci_low",
    "ci_high", "wins", "ties", "losses",
)  # fmt: skip


@dataclass(frozen=True)
class ReplayInputs:
    """What re-running one of a study's sessions needs (kept in memory, not saved).

    ``sources`` maps ``trace_id`` to the path as given or the Trace object, ``policies``
    a policy label to its Policy, ``networks`` a network label to its Network.
    """

    sources: dict[str, str | Trace] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)
    duration_s: float | None = None
    options: dict[str, Any] = field(default_factory=dict)


def _network_row(net: Network) -> dict[str, Any]:
    d = net.to_dict()
    loss = d["loss"]
    model = ""
    if isinstance(loss, dict):
        model, loss = json.dumps(loss, sort_keys=True), math.nan
    queue = d["queue_ms"]
    return {
        "network": str(d["network"]),
        "one_way_delay_ms": float(d["one_way_delay_ms"]),
        "queue_ms": math.inf if queue is None else float(queue),
        "loss": float(loss),
        "loss_model": model,
        "reverse_trace": "" if d["reverse_trace"] is None else str(d["reverse_trace"]),
        "feedback_interval_ms": float(d["feedback_interval_ms"]),
        "feedback_loss": float(d["feedback_loss"]),
    }


def assemble(
    traces: Sequence[TraceSpec],
    policies: Sequence[PolicySpec],
    networks: Sequence[Network],
    tasks: Sequence[tuple[int, int, int, int, int]],
    values: npt.NDArray[np.float64],
    errors: Sequence[str],
    elapsed: npt.NDArray[np.float64],
    worker: npt.NDArray[np.int64],
    windows: Sequence[dict[str, Any] | None] | None,
    *,
    parameters: dict[str, Any],
    command: list[str] | None,
    options: dict[str, Any] | None = None,
) -> Study:
    """Build the :class:`Study` from the columns the engine filled (one DataFrame, once)."""
    import pandas as pd  # heavy: the study's tables

    idx = np.asarray(tasks, dtype=np.int64).reshape(-1, 5)
    ti, pi, ni, seed = idx[:, 1], idx[:, 2], idx[:, 3], idx[:, 4]

    def take(items: Sequence[Any], at: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        arr = np.empty(len(items), dtype=object)
        arr[:] = list(items)
        return arr[at]

    err = np.asarray(errors, dtype=object)
    cols: dict[str, Any] = {
        "trace_id": take([t.trace_id for t in traces], ti),
        "group": take([t.group for t in traces], ti),
        "trace_sha256": take([t.sha256 for t in traces], ti),
        "policy": take([p.label for p in policies], pi),
        "policy_sha256": take([p.sha256 for p in policies], pi),
        "seed": seed.astype(np.int64),
        "status": np.where(err == "", "ok", "error").astype(object),
        "error": err,
        "tier": take([p.policy.profile.tier if p.policy else "" for p in policies], pi),
        "target": take(
            [p.policy.profile.availability if p.policy else math.nan for p in policies], pi
        ).astype(np.float64),
    }
    net_rows = [_network_row(n) for n in networks]
    for c in NETWORK_COLUMNS:
        col = take([r[c] for r in net_rows], ni)
        cols[c] = col if isinstance(net_rows[0][c], str) else col.astype(np.float64)
    for j, name in enumerate((*METRIC_NAMES, *SUMMARY_COLUMNS)):
        cols[name] = values[:, j]
    cols["elapsed_s"] = np.asarray(elapsed, dtype=np.float64)
    cols["worker"] = np.asarray(worker, dtype=np.int64)
    sessions = pd.DataFrame(cols, columns=list(SESSION_COLUMNS))

    win_df = None
    if windows is not None:
        win_df = _windows_frame(sessions, windows)
    manifest = {
        "schema": SCHEMA,
        "mediaopt": __version__,
        "core": {k: v for k, v in core_info().items() if k != "modules"},
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "parameters": parameters,
        "inputs": {
            "traces": [
                {"trace_id": t.trace_id, "group": t.group, "path": t.path, "sha256": t.sha256}
                for t in traces
            ],
            "policies": [
                {"spec": p.spec, "policy": p.label, "sha256": p.sha256, "error": p.error}
                for p in policies
            ],
        },
        "sessions": len(sessions),
        "errors": int((sessions["status"] == "error").sum()),
    }
    inputs = ReplayInputs(
        sources={t.trace_id: t.trace if t.trace is not None else str(t.path) for t in traces},
        policies={p.label: p.policy for p in policies if p.policy is not None},
        networks={n.label: n for n in networks},
        duration_s=parameters.get("duration_s"),
        options=dict(options or {}),
    )
    return Study(sessions, manifest, win_df, inputs=inputs)


def _windows_frame(sessions: pd.DataFrame, windows: Sequence[dict[str, Any] | None]) -> Any:
    import pandas as pd  # heavy: the study's tables

    rows = [i for i, w in enumerate(windows) if w is not None]
    lengths = np.asarray([len(windows[i]["t_s"]) for i in rows], dtype=np.int64)  # type: ignore[index]
    at = np.repeat(np.asarray(rows, dtype=np.int64), lengths)
    data: dict[str, Any] = {"session": at}
    for key in WINDOW_KEY_COLUMNS[1:]:
        values = sessions[key].to_numpy()[at]
        data[key] = values if key == "seed" else pd.Categorical(values)
    for c in TIMESERIES_COLUMNS:
        parts = [np.asarray(windows[i][c]) for i in rows]  # type: ignore[index]
        data[c] = np.concatenate(parts) if parts else np.zeros(0)
    return pd.DataFrame(data)


def _by(by: str | Sequence[str], columns: Any) -> list[str]:
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise InputError("by: give at least one sessions column")
    for k in keys:
        if k not in columns:
            raise InputError(f"by: {k!r} is not a sessions column")
    return keys


def _groups(frame: Any, keys: list[str]) -> list[tuple[tuple[Any, ...], Any]]:
    """Groups of ``frame`` by ``keys``, ordered by each key's first appearance in turn."""
    rank = [{v: i for i, v in enumerate(dict.fromkeys(frame[k]))} for k in keys]
    out = []
    for key, g in frame.groupby(keys, sort=False, dropna=False):
        key_t = key if isinstance(key, tuple) else (key,)
        out.append((key_t, g))
    out.sort(key=lambda kg: tuple(r[v] for r, v in zip(rank, kg[0], strict=True)))
    return out


class Study:
    """The results of :func:`mediaopt.study`: ``sessions``, ``windows``, ``manifest``.

    ``sessions`` is a DataFrame with one row per session (columns
    :data:`SESSION_COLUMNS`, described in ``docs/study.md``); ``windows`` the per-second
    tables of every session when the study kept them (``keep="windows"``), else None;
    ``manifest`` the provenance written to ``manifest.json``.
    """

    def __init__(
        self,
        sessions: pd.DataFrame,
        manifest: dict[str, Any],
        windows: Any = None,
        *,
        inputs: ReplayInputs | None = None,
    ):
        self.sessions = sessions
        self.manifest = manifest
        self.windows = windows
        self.inputs = inputs if inputs is not None else _inputs_from(manifest)

    def __repr__(self) -> str:
        """A one-line summary: sessions, errors, policies and traces."""
        s = self.sessions
        return (
            f"<Study: {len(s)} sessions ({int((s['status'] == 'error').sum())} failed), "
            f"{s['policy'].nunique()} policies x {s['trace_id'].nunique()} traces>"
        )

    @property
    def failed(self) -> pd.DataFrame:
        """The sessions that failed, with their one-line errors."""
        s = self.sessions
        out: pd.DataFrame = s.loc[s["status"] == "error", ["trace_id", "policy", "seed", "error"]]
        return out

    # -- one session again ---------------------------------------------------------------
    def replay_session(self, row: int) -> ReplayResult:
        """Replay the session of ``sessions`` row ``row`` again (same inputs, same seed).

        Sessions are deterministic, so this gives that row's result with its frames,
        intervals and per-second table. A loaded study replays from the paths and policy
        specs in its manifest (run from the folder the study ran in); a session whose
        inputs cannot be found again raises ``InputError``.
        """
        r = self.sessions.iloc[int(row)]
        inp = self.inputs
        source = inp.sources.get(str(r["trace_id"]))
        policy = inp.policies.get(str(r["policy"]))
        network = inp.networks.get(str(r["network"]))
        if source is None or policy is None or network is None:
            raise InputError(
                f"row {row}: cannot replay {r['trace_id']} x {r['policy']} again "
                "(its trace, policy or network is not known to this study)"
            )
        return replay(
            source,
            policy,
            network=network,
            seed=int(r["seed"]),
            duration_s=inp.duration_s,
            **inp.options,
        )

    def session_windows(self, row: int) -> dict[str, Any]:
        """The per-second table of one session as arrays (kept windows, or a replay)."""
        if self.windows is not None:
            w = self.windows
            mine = w[w["session"] == int(row)]
            if len(mine):
                return {c: mine[c].to_numpy() for c in TIMESERIES_COLUMNS}
        return self.replay_session(row).window_table()

    # -- pooled service level ---------------------------------------------------------
    def sla(
        self, by: str | Sequence[str] = ("policy", "group"), *, confidence: float = CONFIDENCE
    ) -> pd.DataFrame:
        """Pooled availability per group: bound, target, verdict and where time went.

        One row per group of ``by`` (sessions columns; ``("policy",)`` pools the whole
        fleet per policy), ordered by each column's first appearance (policies in the
        order given, then sites), with :data:`SLA_COLUMNS`:
        ``sessions`` that ran and ``errors`` that failed; ``counted_s``, ``usable_s``,
        ``excluded_s``; ``availability`` = usable / counted and its one-sided
        ``lower_bound`` (``mediaopt.sla.lower_bound`` at ``confidence``); the group's
        ``tier`` and ``target`` (the strictest when a group mixes tiers); ``verdict``
        (``met``, ``not met``, ``inconclusive``); and ``share_<reason>``, the share of
        the unusable time that carried each reason (a window may carry several).
        """
        import pandas as pd  # heavy: the study's tables

        s = self.sessions
        keys = _by(by, s.columns)
        rows = []
        for key_t, g in _groups(s, keys):
            ok = g[g["status"] == "ok"]
            p = pooled(ok["usable_s"].to_numpy(), ok["counted_s"].to_numpy(),
                       confidence=confidence)  # fmt: skip
            targets = g["target"].to_numpy(dtype=np.float64)
            if np.all(np.isnan(targets)):
                target, tier = math.nan, ""
            else:
                j = int(np.nanargmax(targets))
                target, tier = float(targets[j]), str(g["tier"].iloc[j])
            unusable = float((ok["counted_s"] - ok["usable_s"]).sum())
            row: dict[str, Any] = dict(zip(keys, key_t, strict=True))
            row.update(
                sessions=len(ok),
                errors=int(len(g) - len(ok)),
                counted_s=float(ok["counted_s"].sum()),
                usable_s=float(ok["usable_s"].sum()),
                excluded_s=float(ok["excluded_s"].sum()),
                availability=p.availability,
                lower_bound=p.lower_bound,
                tier=tier,
                target=target,
                verdict="inconclusive" if math.isnan(target) else p.verdict(target),
            )
            for r in REASONS:
                t = float(ok[f"unusable_{r}_s"].sum())
                row[f"share_{r}"] = t / unusable if unusable > 0 else 0.0
            rows.append(row)
        out: pd.DataFrame = pd.DataFrame(rows, columns=[*keys, *SLA_COLUMNS])
        return out

    # -- study measures ---------------------------------------------------------------
    def measures(self, by: str | Sequence[str] = ("policy",)) -> pd.DataFrame:
        """Every study measure (:data:`mediaopt.study.MEASURES`) per group of ``by``."""
        import pandas as pd  # heavy: the study's tables

        keys = _by(by, self.sessions.columns)
        rows = []
        for key_t, g in _groups(self.sessions, keys):
            row: dict[str, Any] = dict(zip(keys, key_t, strict=True))
            row.update({name: m.function(g) for name, m in MEASURES.items()})
            rows.append(row)
        out: pd.DataFrame = pd.DataFrame(rows, columns=[*keys, *MEASURES])
        return out

    # -- paired comparison --------------------------------------------------------------
    def compare(
        self,
        baseline: str = "gcc",
        *,
        confidence: float = 0.95,
        resamples: int = 2000,
        seed: int = 0,
    ) -> pd.DataFrame:
        """Each policy against ``baseline``, paired per trace, network and seed.

        For each measure of :data:`COMPARE_MEASURES`: the median over pairs of the
        policy / baseline ratio (p95 frame delay, freeze ratio, sent bitrate; 0/0 = 1) or
        of the difference (PSNR, usable ratio), a two-sided ``confidence`` interval from a
        seeded bootstrap that resamples traces (a trace's seeds and networks stay
        together), and the pairs the policy wins, ties (within the measure's tolerance)
        and loses. Columns :data:`COMPARE_COLUMNS`.
        """
        import pandas as pd  # heavy: the study's tables

        s = self.sessions
        if baseline not in set(s["policy"]):
            raise InputError(f"baseline: no policy {baseline!r} in the study")
        ok = s[s["status"] == "ok"]
        key = ["trace_id", "network", "seed"]
        cols = [*key, *(m[0] for m in COMPARE_MEASURES)]
        base = ok.loc[ok["policy"] == baseline, cols]
        rng_seed = int(seed)
        rows = []
        for pol in dict.fromkeys(s["policy"]):
            if pol == baseline:
                continue
            mine = ok.loc[ok["policy"] == pol, cols]
            both = mine.merge(base, on=key, how="inner", suffixes=("", "_base"))
            traces = both["trace_id"].to_numpy()
            for name, kind, better, abs_tol, rel_tol in COMPARE_MEASURES:
                x = both[name].to_numpy(dtype=np.float64)
                y = both[f"{name}_base"].to_numpy(dtype=np.float64)
                vals = _ratio(x, y) if kind == "ratio" else x - y
                est, lo, hi = _median_ci(vals, traces, confidence, resamples, rng_seed)
                diff = x - y
                scale = np.maximum(np.abs(x), np.abs(y))
                tie = np.abs(diff) <= np.maximum(abs_tol, rel_tol * scale)
                win = ~tie & ((diff < 0) if better == "lower" else (diff > 0))
                rows.append(
                    {
                        "policy": pol, "baseline": baseline, "measure": name, "kind": kind,
                        "better": better, "pairs": int(x.size), "estimate": est,
                        "ci_low": lo, "ci_high": hi, "wins": int(win.sum()),
                        "ties": int(tie.sum()), "losses": int((~tie & ~win).sum()),
                    }
                )  # fmt: skip
        out: pd.DataFrame = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
        return out

    # -- files --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the study to folder ``path`` (created if missing; its parent must exist).

        Files: ``sessions.parquet``, ``windows.parquet`` (when kept), ``sla.csv`` (the
        fleet per policy, group ``"(all)"``, then per policy and group) and
        ``manifest.json``; each written atomically. Returns the folder.
        """
        import pandas as pd  # heavy: the study's tables

        out = Path(path)
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: exists and is not a folder")
        if not out.parent.is_dir():
            raise InputError(f"{out}: folder {out.parent} does not exist")
        out.mkdir(exist_ok=True)
        _write_parquet(out / "sessions.parquet", self.sessions)
        if self.windows is not None:
            _write_parquet(out / "windows.parquet", self.windows)
        fleet = self.sla(by=("policy",))
        fleet.insert(1, "group", "(all)")
        table = pd.concat([fleet, self.sla(by=("policy", "group"))], ignore_index=True)
        _atomic.write_text(out / "sla.csv", table.to_csv(index=False, lineterminator="\n"))
        _atomic.write_text(
            out / "manifest.json", json.dumps(self.manifest, indent=2, allow_nan=False) + "\n"
        )
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Study:
        """Read a study that :meth:`save` wrote."""
        import pyarrow.parquet as pq  # heavy: parquet files

        folder = Path(path)
        manifest_file = folder / "manifest.json"
        if not manifest_file.is_file():
            raise InputError(f"{folder}: not a saved study (no manifest.json)")
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
            raise InputError(
                f"{manifest_file}: schema {manifest.get('schema')!r}, expected {SCHEMA}"
            )
        sessions = pq.read_table(folder / "sessions.parquet").to_pandas()
        windows = None
        if (folder / "windows.parquet").is_file():
            windows = pq.read_table(folder / "windows.parquet").to_pandas()
        return cls(sessions, manifest, windows)

    def equals(self, other: Study) -> bool:
        """True when both studies hold the same tables and manifest."""
        if not isinstance(other, Study) or self.manifest != other.manifest:
            return False
        if not self.sessions.equals(other.sessions):
            return False
        if (self.windows is None) != (other.windows is None):
            return False
        return self.windows is None or bool(self.windows.equals(other.windows))


def _inputs_from(manifest: dict[str, Any]) -> ReplayInputs:
    """What a saved study's manifest says about re-running its sessions (best effort)."""
    ins = manifest.get("inputs", {})
    sources: dict[str, str | Trace] = {
        t["trace_id"]: t["path"] for t in ins.get("traces", []) if t.get("path")
    }
    pols: dict[str, Policy] = {}
    for p in ins.get("policies", []):
        if p.get("error"):
            continue
        try:
            pol = load(p["spec"])
        except (ValueError, OSError):
            continue
        text = pol.to_toml().encode("utf-8")
        if hashlib.sha256(text).hexdigest() == p.get("sha256"):
            pols[p["policy"]] = pol
    params = manifest.get("parameters", {})
    nets: dict[str, Network] = {}
    for d in params.get("networks", []):
        if isinstance(d.get("loss"), dict):
            continue  # a loss model's parameters are recorded, its object is not rebuilt
        try:
            net = Network(
                one_way_delay_ms=d["one_way_delay_ms"],
                queue_ms=d["queue_ms"],
                loss=d["loss"],
                reverse_trace=d["reverse_trace"],
                feedback_interval_ms=d["feedback_interval_ms"],
                feedback_loss=d["feedback_loss"],
            )
        except (KeyError, ValueError):
            continue
        nets[str(d["network"])] = (
            net if net.label == d["network"] else net.replace(name=str(d["network"]))
        )
    options = params.get("options") or {}
    # options were recorded as descriptions; only a study without any replays again
    return ReplayInputs(
        sources=sources if not options else {},
        policies=pols,
        networks=nets,
        duration_s=params.get("duration_s"),
    )


def _write_parquet(path: Path, df: Any) -> None:
    import pyarrow as pa  # heavy: parquet files
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    with _atomic.atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _ratio(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = x / y
    r = np.where((x == 0) & (y == 0), 1.0, r)
    return np.asarray(np.where((y == 0) & (x > 0), np.inf, r), dtype=np.float64)


def _median_ci(
    values: npt.NDArray[np.float64],
    clusters: npt.NDArray[Any],
    confidence: float,
    resamples: int,
    seed: int,
) -> tuple[float, float, float]:
    """Median of ``values`` and a percentile bootstrap interval resampling ``clusters``.

    Each resample draws as many clusters as there are, with replacement, and takes the
    median of all their values: computed as a weighted median (each value weighs the
    times its cluster was drawn) over the values sorted once, ``resamples`` at a time in
    blocks of bounded size.
    """
    n = values.size
    if n == 0:
        return math.nan, math.nan, math.nan
    order = np.argsort(values, kind="stable")
    sv = values[order]
    est = float((sv[(n - 1) // 2] + sv[n // 2]) / 2.0)
    ids, inverse = np.unique(clusters, return_inverse=True)
    k = ids.size
    cl = inverse.reshape(-1)[order]
    rng = np.random.default_rng(seed)
    stats = np.empty(resamples)
    block = max(1, min(resamples, 4_000_000 // max(n, k)))
    for b0 in range(0, resamples, block):
        b = min(block, resamples - b0)
        pick = rng.integers(0, k, (b, k))
        flat = (np.arange(b)[:, None] * k + pick).reshape(-1)
        counts = np.bincount(flat, minlength=b * k).reshape(b, k)
        cum = np.cumsum(counts[:, cl], axis=1)
        total = cum[:, -1]
        lo = np.argmax(cum > ((total - 1) // 2)[:, None], axis=1)
        hi = np.argmax(cum > (total // 2)[:, None], axis=1)
        stats[b0 : b0 + b] = (sv[lo] + sv[hi]) / 2.0
    alpha = (1.0 - confidence) / 2.0
    q_lo, q_hi = np.quantile(stats, [alpha, 1.0 - alpha], method="inverted_cdf")
    return est, float(q_lo), float(q_hi)
