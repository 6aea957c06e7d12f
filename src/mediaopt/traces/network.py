"""The network a session runs over, as one value: delay, queue, loss and the feedback path.

A recorded trace gives the bottleneck's capacity over time; :class:`Network` gives
everything else about the path, the way Mahimahi composes shells
(``mm-delay 50 mm-loss uplink 0.01 mm-link up down``): one-way delay, the bottleneck
queue, random or bursty loss, the return path (a constant delay or a trace of its own)
and the transport feedback's interval and loss. The command line, the study engine and
the tuner pass one ``Network`` around instead of six keywords; :func:`mediaopt.replay`
takes it as ``network=`` and still accepts the keywords one by one.

A trace's own columns win over the network: a trace with a ``delay_ms`` column sets the
path's delay (both ways), one with a ``loss`` column sets the forward loss.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, TypeAlias

from mediaopt._validate import check_float
from mediaopt.errors import InputError
from mediaopt.traces.formats import load
from mediaopt.traces.link import Link
from mediaopt.traces.loss import GilbertElliott, OnOffLoss
from mediaopt.traces.model import Trace

__all__ = ["DEFAULT_NETWORK", "REVERSE_SEED_XOR", "LossModel", "Network"]

#: A forward loss process: a probability, or one of the bursty loss models.
LossModel: TypeAlias = "float | GilbertElliott | OnOffLoss"

#: The reverse link's seed is the session seed with these bits flipped, so the two
#: directions draw independent losses from one seed.
REVERSE_SEED_XOR = 0x5EED_BAC4

#: Largest delay, queue and feedback interval a network may name (a sanity bound: far
#: beyond any real path, small enough that microsecond arithmetic never overflows).
_MAX_DELAY_MS = 1e6
_MAX_QUEUE_MS = 1e7
_MAX_FEEDBACK_INTERVAL_MS = 10_000.0


@dataclass(frozen=True)
class Network:
    """The path of a session apart from the bottleneck's capacity (see the module docstring).

    ``one_way_delay_ms``: propagation delay each way. ``queue_ms``: the bottleneck's
    droptail queue in milliseconds at the trace's rate (``None``: unlimited). ``loss``:
    forward random loss, a probability or a :class:`mediaopt.traces.GilbertElliott` /
    :class:`mediaopt.traces.OnOffLoss` model. ``reverse_trace``: a trace (or its path)
    for the feedback's own bottleneck; ``None`` gives a constant delay back.
    ``feedback_interval_ms``: how often the receiver sends transport feedback;
    ``feedback_loss``: the probability that a feedback message is lost. ``name`` labels
    the scenario in study results (default: a description of the values).
    """

    one_way_delay_ms: float = 50.0
    queue_ms: float | None = 300.0
    loss: LossModel = 0.0
    reverse_trace: Trace | str | None = None
    feedback_interval_ms: float = 50.0
    feedback_loss: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(
            self,
            "one_way_delay_ms",
            check_float("one_way_delay_ms", self.one_way_delay_ms, min_value=0.0,
                        max_value=_MAX_DELAY_MS),
        )  # fmt: skip
        if self.queue_ms is not None:
            set_(
                self,
                "queue_ms",
                check_float("queue_ms", self.queue_ms, min_value=1.0, max_value=_MAX_QUEUE_MS),
            )
        if not isinstance(self.loss, (GilbertElliott, OnOffLoss)):
            set_(self, "loss", check_float("loss", self.loss, min_value=0.0, max_value=1.0))
        if self.reverse_trace is not None and not isinstance(self.reverse_trace, Trace):
            if not isinstance(self.reverse_trace, (str, os.PathLike)):
                raise InputError(
                    "reverse_trace: expected a mediaopt.traces.Trace, a path or None, got "
                    f"{type(self.reverse_trace).__name__}"
                )
            set_(self, "reverse_trace", os.fspath(self.reverse_trace))
        set_(
            self,
            "feedback_interval_ms",
            check_float("feedback_interval_ms", self.feedback_interval_ms, min_value=1.0,
                        max_value=_MAX_FEEDBACK_INTERVAL_MS),
        )  # fmt: skip
        set_(
            self,
            "feedback_loss",
            check_float("feedback_loss", self.feedback_loss, min_value=0.0, max_value=0.99),
        )
        if not isinstance(self.name, str):
            raise InputError(f"name: expected a string, got {type(self.name).__name__}")

    def replace(self, **changes: Any) -> Network:
        """Return a copy with ``changes`` applied (checked like a new network)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise InputError(f"{unknown[0]}: not a Network field")
        return dataclasses.replace(self, **changes)

    @property
    def label(self) -> str:
        """``name``, or a short description of the values (for tables and study rows)."""
        if self.name:
            return self.name
        queue = "inf" if self.queue_ms is None else f"{self.queue_ms:g}ms"
        loss = self.loss if isinstance(self.loss, float) else type(self.loss).__name__
        parts = [f"delay={self.one_way_delay_ms:g}ms", f"queue={queue}", f"loss={loss}"]
        if self.reverse_trace is not None:
            parts.append(f"reverse={_trace_label(self.reverse_trace)}")
        if self.feedback_interval_ms != 50.0 or self.feedback_loss:
            parts.append(f"feedback={self.feedback_interval_ms:g}ms/{self.feedback_loss:g}")
        return ",".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain data (study rows and manifests): numbers, strings, None."""
        loss: Any = self.loss
        if isinstance(loss, (GilbertElliott, OnOffLoss)):
            loss = {"model": type(loss).__name__, **dataclasses.asdict(loss)}
        return {
            "network": self.label,
            "one_way_delay_ms": self.one_way_delay_ms,
            "queue_ms": self.queue_ms,
            "loss": loss,
            "reverse_trace": None
            if self.reverse_trace is None
            else _trace_label(self.reverse_trace),
            "feedback_interval_ms": self.feedback_interval_ms,
            "feedback_loss": self.feedback_loss,
        }

    # -- building the links of a session ---------------------------------------------------
    def forward_link(self, trace: Trace, seed: int) -> Link:
        """The bottleneck the media crosses; the trace's own delay and loss columns win."""
        delay_ms = 0.0 if trace.delay_ms is not None else self.one_way_delay_ms
        loss: Any = 0.0 if trace.loss is not None else self.loss
        return _link(trace, delay_ms, self.queue_ms, loss, seed)

    def reverse_link(self, seed: int) -> Link | None:
        """The feedback's own bottleneck when ``reverse_trace`` is set, else ``None``."""
        if self.reverse_trace is None:
            return None
        rtr = (
            self.reverse_trace
            if isinstance(self.reverse_trace, Trace)
            else _load(self.reverse_trace)
        )
        delay_ms = 0.0 if rtr.delay_ms is not None else self.one_way_delay_ms
        return _link(rtr, delay_ms, self.queue_ms, 0.0, seed ^ REVERSE_SEED_XOR)

    def reverse_delay_us(self, trace: Trace) -> int:
        """Constant one-way delay of the feedback path (0 when the trace carries delay)."""
        return 0 if trace.delay_ms is not None else round(self.one_way_delay_ms * 1000.0)


def _link(trace: Trace, delay_ms: float, queue_ms: float | None, loss: Any, seed: int) -> Link:
    if queue_ms is None:
        return Link(trace, one_way_delay_ms=delay_ms, queue="infinite", loss=loss, seed=seed)
    return Link(trace, one_way_delay_ms=delay_ms, queue_ms=queue_ms, loss=loss, seed=seed)


def _load(path: str) -> Trace:
    try:
        return load(path)
    except OSError as exc:
        raise InputError(f"reverse_trace: cannot read {path!r}: {exc.strerror or exc}") from exc


def _trace_label(trace: Trace | str) -> str:
    return trace.name if isinstance(trace, Trace) else os.path.basename(trace)


#: The network of a session when nothing is said: 50 ms each way, a 300 ms droptail
#: queue, no loss, feedback every 50 ms (libwebrtc's transport-feedback cadence).
DEFAULT_NETWORK = Network()
