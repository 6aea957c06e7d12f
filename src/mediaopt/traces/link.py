"""The bottleneck link: :class:`Link` resolves its arguments here and hands the core plain values.

:func:`resolve` checks what a user gives (a trace or a path, a delay, a queue and its limit,
a loss probability or model, a seed) and turns it into a :class:`LinkConfig` in the core's
units; :class:`Link` builds the compiled link (``mediaopt._core.link``) from it, so the
core never sees a trace, a loss model or a path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from mediaopt._core import link as _core_link
from mediaopt._validate import Float64Array, check_float, check_int
from mediaopt.errors import InputError
from mediaopt.traces.formats import load
from mediaopt.traces.loss import GilbertElliott, OnOffLoss
from mediaopt.traces.model import Int64Array, Trace

__all__ = ["QUEUE_KINDS", "Link", "LinkConfig", "resolve"]

#: Queue disciplines and their core codes (Mahimahi's names).
QUEUE_KINDS = {name: code for code, name in enumerate(_core_link.QUEUE_KINDS)}
#: Loss process codes in the core.
LOSS_NONE, LOSS_BERNOULLI, LOSS_GILBERT_ELLIOTT, LOSS_ONOFF, LOSS_PERIODIC = (
    _core_link.LOSS_KINDS.index(k)
    for k in ("none", "bernoulli", "gilbert_elliott", "onoff", "periodic")
)


@dataclass(frozen=True)
class LinkConfig:
    """Everything the core needs, already checked and in core units (µs, bytes)."""

    trace: Trace
    opportunities_us: Int64Array
    period_us: int
    repeat: bool
    col_t_us: Int64Array | None
    col_loss: Float64Array | None
    col_delay_us: Int64Array | None
    queue: str
    queue_kind: int
    limit_bytes: int
    limit_packets: int
    codel_target_ms: int
    codel_interval_ms: int
    delay_us: int
    delay_before_queue: bool
    direction: str
    fifo_engine: bool
    loss_kind: int
    loss_p: float
    ge_p_good_bad: float
    ge_p_bad_good: float
    ge_loss_good: float
    ge_loss_bad: float
    on_ms: int
    off_ms: int
    seed: int


def resolve(
    trace: Any,
    *,
    one_way_delay_ms: Any,
    queue: Any,
    queue_bytes: Any,
    queue_packets: Any,
    queue_ms: Any,
    loss: Any,
    repeat: Any,
    seed: Any,
    direction: Any,
    codel_target_ms: Any,
    codel_interval_ms: Any,
    engine: Any,
) -> LinkConfig:
    """Validate the ``Link`` arguments; every error names the argument."""
    if isinstance(trace, (str, os.PathLike)):
        trace = load(trace)
    if not isinstance(trace, Trace):
        raise InputError(f"trace: expected a mediaopt.traces.Trace or a path, got {trace!r}")
    delay_ms = check_float("one_way_delay_ms", one_way_delay_ms, min_value=0.0, max_value=1e7)
    delay_us = round(delay_ms * 1000.0)
    limits = {"queue_bytes": queue_bytes, "queue_packets": queue_packets, "queue_ms": queue_ms}
    given = {k: v for k, v in limits.items() if v is not None}
    if queue is None:
        queue = "droptail" if given else "infinite"
    if not isinstance(queue, str) or queue not in QUEUE_KINDS:
        raise InputError(f"queue: expected one of {sorted(QUEUE_KINDS)}, got {queue!r}")
    limit_bytes = 0
    limit_packets = 0
    if queue == "infinite":
        if given:
            raise InputError(f"queue: an infinite queue takes no limit (got {sorted(given)})")
    else:
        if not given:
            raise InputError(
                f"queue: {queue!r} needs queue_bytes=, queue_packets= or queue_ms= "
                "(Mahimahi's dropping queues need a limit)"
            )
        if queue_ms is not None and queue_bytes is not None:
            raise InputError("queue_ms: give queue_ms or queue_bytes, not both")
        if queue_bytes is not None:
            limit_bytes = check_int("queue_bytes", queue_bytes, min_value=1)
        if queue_ms is not None:
            ms = check_float("queue_ms", queue_ms, min_value=0.0, max_value=1e7)
            # a delay budget becomes bytes at the trace's mean rate
            limit_bytes = max(1, int(trace.mean_bps * ms / 8000.0))
        if queue_packets is not None:
            limit_packets = check_int("queue_packets", queue_packets, min_value=1)
    target = check_int("codel_target_ms", codel_target_ms, min_value=1, max_value=10**7)
    interval = check_int("codel_interval_ms", codel_interval_ms, min_value=1, max_value=10**7)
    if direction not in ("uplink", "downlink"):
        raise InputError(f"direction: expected 'uplink' or 'downlink', got {direction!r}")
    if not isinstance(repeat, (bool, np.bool_)):
        raise InputError(f"repeat: expected True or False, got {repeat!r}")
    seed_i = check_int("seed", seed, min_value=0, max_value=2**64 - 1)
    if engine not in ("auto", "events"):
        raise InputError(f"engine: expected 'auto' or 'events', got {engine!r}")
    fifo = engine == "auto" and queue in ("infinite", "droptail")

    kind, p = LOSS_NONE, 0.0
    ge = (0.0, 0.0, 0.0, 0.0)
    on_ms = off_ms = 0
    if isinstance(loss, GilbertElliott):
        kind = LOSS_GILBERT_ELLIOTT
        ge = (loss.p_good_bad, loss.p_bad_good, loss.loss_good, loss.loss_bad)
    elif isinstance(loss, OnOffLoss):
        kind = LOSS_PERIODIC if loss.periodic else LOSS_ONOFF
        on_ms = min(int(loss.mean_on_s * 1000.0), 1 << 30)
        off_ms = min(int(loss.mean_off_s * 1000.0), 1 << 30)
        if loss.periodic and on_ms == 0 and off_ms == 0:
            raise InputError("loss: periodic on/off periods round to 0 ms")
    else:
        p = check_float("loss", loss, min_value=0.0, max_value=1.0)
        kind = LOSS_BERNOULLI if p > 0 else LOSS_NONE

    col_t = col_loss = col_delay = None
    if trace.loss is not None or trace.delay_ms is not None:
        col_t = np.ascontiguousarray(trace.step_times_us, dtype=np.int64)
        if trace.loss is not None:
            col_loss = np.ascontiguousarray(trace.loss, dtype=np.float64)
        if trace.delay_ms is not None:
            col_delay = np.round(np.asarray(trace.delay_ms) * 1000.0).astype(np.int64)

    return LinkConfig(
        trace=trace,
        opportunities_us=np.ascontiguousarray(trace.opportunities_us, dtype=np.int64),
        period_us=int(trace.duration_us),
        repeat=bool(repeat),
        col_t_us=col_t,
        col_loss=col_loss,
        col_delay_us=col_delay,
        queue=queue,
        queue_kind=QUEUE_KINDS[queue],
        limit_bytes=limit_bytes,
        limit_packets=limit_packets,
        codel_target_ms=target,
        codel_interval_ms=interval,
        delay_us=delay_us,
        delay_before_queue=direction == "downlink",
        direction=direction,
        fifo_engine=fifo,
        loss_kind=kind,
        loss_p=p,
        ge_p_good_bad=ge[0],
        ge_p_bad_good=ge[1],
        ge_loss_good=ge[2],
        ge_loss_bad=ge[3],
        on_ms=on_ms,
        off_ms=off_ms,
        seed=seed_i,
    )


class Link(_core_link.Link):
    """A bottleneck link that behaves like Mahimahi's ``mm-delay D mm-link TRACE``.

    ``Link(trace, one_way_delay_ms=0, queue=None, *, queue_bytes=None, queue_packets=None,
    queue_ms=None, loss=0.0, repeat=True, seed=0, direction="uplink", codel_target_ms=5,
    codel_interval_ms=100)``

    ``trace`` is a :class:`mediaopt.traces.Trace` (or a path, loaded with
    :func:`mediaopt.traces.load`). ``queue`` is ``"infinite"``, ``"droptail"``, ``"drophead"``
    or ``"codel"``; when omitted it is ``"droptail"`` if a limit is given, else
    ``"infinite"``. Limits are Mahimahi's ``bytes=``/``packets=``; ``queue_ms`` converts a
    delay budget to bytes at the trace's mean rate. ``loss`` is a probability or a loss
    model from :mod:`mediaopt.traces` (Gilbert–Elliott, on/off). ``direction="uplink"``
    puts the delay after the queue (the sender is the program inside the shells),
    ``"downlink"`` before it. See ``docs/link.md``.

    The arguments are resolved here (:func:`resolve`); the compiled base class runs the
    link, and the replay loop drives it directly (``transmit``, ``enqueue``, ``advance``
    and ``capacity_bps`` are the base class's).
    """

    __slots__ = ("_config",)

    def __init__(
        self,
        trace: Trace | str | os.PathLike[str],
        one_way_delay_ms: float = 0.0,
        queue: str | None = None,
        *,
        queue_bytes: int | None = None,
        queue_packets: int | None = None,
        queue_ms: float | None = None,
        loss: float | GilbertElliott | OnOffLoss = 0.0,
        repeat: bool = True,
        seed: int = 0,
        direction: str = "uplink",
        codel_target_ms: int = _core_link.CODEL_TARGET_MS,
        codel_interval_ms: int = _core_link.CODEL_INTERVAL_MS,
        engine: str = "auto",
    ) -> None:
        cfg = resolve(
            trace,
            one_way_delay_ms=one_way_delay_ms,
            queue=queue,
            queue_bytes=queue_bytes,
            queue_packets=queue_packets,
            queue_ms=queue_ms,
            loss=loss,
            repeat=repeat,
            seed=seed,
            direction=direction,
            codel_target_ms=codel_target_ms,
            codel_interval_ms=codel_interval_ms,
            engine=engine,
        )
        super().__init__(
            cfg.opportunities_us,
            cfg.period_us,
            repeat=cfg.repeat,
            col_t_us=cfg.col_t_us,
            col_loss=cfg.col_loss,
            col_delay_us=cfg.col_delay_us,
            queue_kind=cfg.queue_kind,
            limit_bytes=cfg.limit_bytes,
            limit_packets=cfg.limit_packets,
            codel_target_ms=cfg.codel_target_ms,
            codel_interval_ms=cfg.codel_interval_ms,
            delay_us=cfg.delay_us,
            delay_before_queue=cfg.delay_before_queue,
            fifo_engine=cfg.fifo_engine,
            loss_kind=cfg.loss_kind,
            loss_p=cfg.loss_p,
            ge_p_good_bad=cfg.ge_p_good_bad,
            ge_p_bad_good=cfg.ge_p_bad_good,
            ge_loss_good=cfg.ge_loss_good,
            ge_loss_bad=cfg.ge_loss_bad,
            on_ms=cfg.on_ms,
            off_ms=cfg.off_ms,
            seed=cfg.seed,
        )
        self._config = cfg

    @property
    def trace(self) -> Trace:
        """The :class:`mediaopt.traces.Trace` this link replays."""
        return self._config.trace

    @property
    def config(self) -> LinkConfig:
        """The resolved configuration (:class:`LinkConfig`)."""
        return self._config
