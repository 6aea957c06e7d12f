"""Closed-loop replay: what a policy would have done to a call on a recorded network.

:func:`replay` runs one session through the whole media path (encoder model, pacer,
bottleneck link, receiver, transport feedback, estimator, adaptation) in the compiled
loop of ``mediaopt._core.replay`` and scores it with :mod:`mediaopt.replay.metrics`. The loop,
the sender and receiver models and their sources are described in ``docs/replay.md``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mediaopt._core.gcc import GccEstimator
from mediaopt._core.replay import ReplayLoop
from mediaopt._validate import check_float, check_int
from mediaopt.errors import InputError
from mediaopt.media import profiles
from mediaopt.policies import ClinicalProfile, Policy, resolve
from mediaopt.policies.adaptation import build_core
from mediaopt.replay.metrics import FrameLog, IntervalLog, evaluate, timeseries_frame
from mediaopt.sla import WindowScores
from mediaopt.traces import Trace, load
from mediaopt.traces.network import DEFAULT_NETWORK, LossModel, Network

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReplayResult", "replay"]

#: Decimal places kept for floats in :meth:`ReplayResult.to_json_dict`.
JSON_DECIMALS = 6


@dataclass(frozen=True, eq=False)
class ReplayResult:
    """The outcome of one replayed session.

    ``metrics`` holds the session metrics of ``docs/metrics.md`` (names from DESIGN.md),
    ``timeseries`` the per-second table (built on first use), ``window_scores`` the
    verdict on each of those windows (:class:`mediaopt.sla.WindowScores`; the same
    computation as ``metrics["usable_ratio"]``), ``frames``/``intervals`` the raw logs,
    ``profile`` the clinical profile the session was judged against and ``stats`` the
    loop's counters (packets, retransmissions, FEC, probes, feedback).
    """

    trace_name: str
    policy_name: str
    seed: int
    metrics: dict[str, float]
    frames: FrameLog
    intervals: IntervalLog
    profile: ClinicalProfile
    stats: dict[str, int] = field(default_factory=dict)
    #: the window table and scores computed with ``metrics`` (None: computed on first use)
    windows: tuple[dict[str, Any], WindowScores] | None = field(default=None, repr=False)

    def _windows(self) -> tuple[dict[str, Any], WindowScores]:
        w = self.windows
        if w is None:
            # a result built by hand: score it over the same session as its metrics
            _, table, scores = evaluate(
                self.frames, self.intervals, self.profile, self.metrics["duration_s"]
            )
            w = (table, scores)
            object.__setattr__(self, "windows", w)
        return w

    @functools.cached_property
    def timeseries(self) -> pd.DataFrame:
        """One row per one-second window (:func:`mediaopt.replay.metrics.timeseries`)."""
        return timeseries_frame(self._windows()[0])

    @property
    def window_scores(self) -> WindowScores:
        """The verdict on each one-second window (:mod:`mediaopt.sla`)."""
        return self._windows()[1]

    def window_table(self) -> dict[str, Any]:
        """The per-second table as numpy arrays (the columns of ``timeseries``, no pandas)."""
        return self._windows()[0]

    def to_json_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict with a fixed key order and floats rounded reproducibly.

        Non-finite floats become ``None`` (JSON has no NaN).
        """
        return {
            "trace": self.trace_name,
            "policy": self.policy_name,
            "seed": int(self.seed),
            "metrics": {k: _json_float(v) for k, v in self.metrics.items()},
            "stats": {k: int(v) for k, v in sorted(self.stats.items())},
        }


def _json_float(v: float) -> float | None:
    x = float(v)
    if not math.isfinite(x):
        return None
    r = round(x, JSON_DECIMALS)
    return 0.0 if r == 0 else r  # no "-0.0"


def _resolve_trace(trace: Any) -> Trace:
    if isinstance(trace, Trace):
        return trace
    if isinstance(trace, (str, os.PathLike)):
        try:
            return load(trace)
        except OSError as exc:
            raise InputError(
                f"trace: cannot read {os.fspath(trace)!r}: {exc.strerror or exc}"
            ) from exc
    raise InputError(
        f"trace: expected a mediaopt.traces.Trace or a path, got {type(trace).__name__}"
    )


def _network(network: Network | None, **keywords: Any) -> Network:
    """``network`` (or the default) with the keywords the caller gave applied over it."""
    if network is not None and not isinstance(network, Network):
        raise InputError(
            f"network: expected a mediaopt.traces.Network, got {type(network).__name__}"
        )
    base = DEFAULT_NETWORK if network is None else network
    given = {k: v for k, v in keywords.items() if v is not _UNSET}
    return base.replace(**given) if given else base


def _resolve_policy(policy: Any) -> Policy:
    try:
        return resolve(policy)
    except OSError as exc:
        raise InputError(f"policy: cannot read {policy!r}: {exc.strerror or exc}") from exc


def _is_py_estimator(obj: Any) -> bool:
    return callable(getattr(obj, "on_feedback", None)) and hasattr(obj, "target_bps")


class _Unset(enum.Enum):
    """Marks a network keyword the caller did not give (``None`` means something)."""

    UNSET = enum.auto()


_UNSET = _Unset.UNSET


def replay(
    trace: Trace | str | os.PathLike[str],
    policy: Policy | str | os.PathLike[str],
    *,
    network: Network | None = None,
    one_way_delay_ms: float | _Unset = _UNSET,
    queue_ms: float | _Unset | None = _UNSET,
    loss: LossModel | _Unset = _UNSET,
    duration_s: float | None = None,
    start_bps: int | None = None,
    min_bps: int | None = None,
    max_bps: int | None = None,
    seed: int = 0,
    estimator: Any = None,
    feedback_interval_ms: float | _Unset = _UNSET,
    feedback_loss: float | _Unset = _UNSET,
    reverse_trace: Trace | str | os.PathLike[str] | _Unset | None = _UNSET,
    max_width: int = 1280,
    max_height: int = 720,
    max_fps: float = 30.0,
    audio_kbps: float = 32.0,
    interval_ms: float = 100.0,
    content: Any = None,
    _size_factors: tuple[Any, Any] | None = None,
) -> ReplayResult:
    """Replay ``policy`` over ``trace`` in the closed loop and score the session.

    ``trace`` is a :class:`mediaopt.traces.Trace` or a trace file; ``policy`` a built-in
    name, a TOML path or a :class:`mediaopt.policies.Policy`. ``network`` (a
    :class:`mediaopt.traces.Network`; default: 50 ms each way, a 300 ms droptail queue,
    no loss, feedback every 50 ms) is the rest of the path. The keywords
    ``one_way_delay_ms``, ``queue_ms`` (``None``: unlimited), ``loss`` (a probability or
    a loss model), ``reverse_trace``, ``feedback_interval_ms`` and ``feedback_loss``
    set the same fields one by one and override ``network``'s. A trace's own delay or
    loss column replaces the network's. Feedback travels back with the same one-way
    delay (the trace's delay column when it has one), or through a link of its own when
    there is a reverse trace (same delay and queue; its own columns apply), and each
    message is lost with probability ``feedback_loss``. ``duration_s`` defaults to
    the trace's length (the trace loops when shorter). ``start_bps``/``min_bps``/
    ``max_bps`` override the policy's. ``estimator`` (default: the policy's
    :class:`mediaopt.GccEstimator`) may be a native ``GccEstimator`` or any object with
    ``on_feedback(send_us, arrival_us, size_bytes, now_us)`` and ``target_bps`` (run in
    the same loop through a slower path). The camera gives ``max_width`` x ``max_height``
    at ``max_fps``; audio is a constant ``audio_kbps`` stream (0 disables it).

    ``content`` (a :class:`mediaopt.media.profiles.ContentProfile`, a bundled profile name such
    as ``"talking_head"`` or a profile file) replaces the encoder model's built-in
    content formula: each frame's PSNR comes from the profile's measured rate–quality
    table at the frame's bits per pixel and resolution, and key frames are the profile's
    keyframe/delta size ratio (docs/encoders.md, "Replay with a content profile").
    ``None`` (default) keeps the formula.

    Raises :class:`mediaopt.InputError` for an unknown policy, an unreadable or invalid
    trace, a non-positive duration or any other bad argument.
    """
    tr = _resolve_trace(trace)
    pol = _resolve_policy(policy)
    net = _network(
        network,
        one_way_delay_ms=one_way_delay_ms,
        queue_ms=queue_ms,
        loss=loss,
        reverse_trace=reverse_trace,
        feedback_interval_ms=feedback_interval_ms,
        feedback_loss=feedback_loss,
    )
    seed_i = check_int("seed", seed, min_value=0, max_value=2**63 - 1)
    if duration_s is None:
        dur_s = float(tr.duration_s)
    else:
        dur_s = check_float("duration_s", duration_s, min_value=0.0)
    if not dur_s > 0:
        raise InputError(f"duration_s: must be > 0, got {duration_s!r}")
    duration_us = round(dur_s * 1e6)
    if duration_us <= 0:
        raise InputError(f"duration_s: must be at least 1 us, got {duration_s!r}")
    iv_ms = check_float("interval_ms", interval_ms, min_value=1.0, max_value=60_000.0)
    audio = check_float("audio_kbps", audio_kbps, min_value=0.0, max_value=1000.0)
    bounds = [pol.start_bps, pol.min_bps, pol.max_bps]
    for i, (key, value) in enumerate(
        (("start_bps", start_bps), ("min_bps", min_bps), ("max_bps", max_bps))
    ):
        if value is not None:
            bounds[i] = check_int(key, value, min_value=1_000, max_value=1_000_000_000)
    if bounds != [pol.start_bps, pol.min_bps, pol.max_bps]:
        # Policy re-validates min <= start <= max.
        pol = dataclasses.replace(pol, start_bps=bounds[0], min_bps=bounds[1], max_bps=bounds[2])
    core = build_core(pol, max_width, max_height, max_fps)
    source_options: dict[str, Any] = {}
    if content is not None:
        prof = profiles.resolve(content)
        source_options["content_table"] = profiles.replay_table(prof)
        source_options["keyframe_ratio"] = prof.keyframe_ratio()
    if _size_factors is not None:
        source_options["size_factors"] = _size_factors

    link = net.forward_link(tr, seed_i)
    rev: dict[str, Any] = {}
    if tr.delay_ms is not None:
        rev = {
            "reverse_delay_t_us": np.asarray(tr.step_times_us, dtype=np.int64),
            "reverse_delay_us": np.round(np.asarray(tr.delay_ms) * 1000.0).astype(np.int64),
            "reverse_period_us": int(tr.duration_us),
        }
    rev_link = net.reverse_link(seed_i)

    native: GccEstimator | None = None
    py_est: Any = None
    if estimator is None:
        native = GccEstimator(
            start_bps=pol.start_bps, min_bps=pol.min_bps, max_bps=pol.max_bps, config=pol.estimator
        )
    elif isinstance(estimator, GccEstimator):
        native = estimator
    elif _is_py_estimator(estimator):
        py_est = estimator
    else:
        raise InputError(
            "estimator: expected a GccEstimator or an object with on_feedback(send_us, "
            f"arrival_us, size_bytes, now_us) and target_bps, got {type(estimator).__name__}"
        )

    loop = ReplayLoop(
        link,
        core,
        duration_us,
        estimator=native,
        py_estimator=py_est,
        start_bps=pol.start_bps,
        seed=seed_i,
        one_way_delay_us=net.reverse_delay_us(tr),
        feedback_interval_us=round(net.feedback_interval_ms * 1000.0),
        feedback_loss=net.feedback_loss,
        interval_us=round(iv_ms * 1000.0),
        audio_bps=round(audio * 1000.0),
        max_width=max_width,
        max_height=max_height,
        reverse_link=rev_link,
        source_options=source_options or None,
        **rev,
    )
    loop.run()
    fa = loop.frame_arrays()
    frames = FrameLog(
        capture_us=fa["capture_us"],
        render_us=fa["render_us"],
        size_bytes=fa["size_bytes"],
        width=fa["width"],
        height=fa["height"],
        keyframe=fa["keyframe"],
        quality_db=fa["quality_db"],
    )
    ia = loop.interval_arrays()
    intervals = IntervalLog(**ia, interval_us=round(iv_ms * 1000.0))
    metrics, table, scores = evaluate(frames, intervals, pol.profile, dur_s)
    stats = dict(loop.stats())
    stats["frames_undecodable_chain"] = int(np.count_nonzero(fa["state"] == 3))
    return ReplayResult(
        trace_name=tr.name,
        policy_name=pol.name,
        seed=seed_i,
        metrics=dict(metrics),
        frames=frames,
        intervals=intervals,
        profile=pol.profile,
        stats=stats,
        windows=(table, scores),
    )
