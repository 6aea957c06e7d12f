"""Recorded and synthetic network traces: the model, loaders, writers and generators.

``mediaopt.traces`` gathers the public names; each idea lives in its own module:
``_trace_model`` (the :class:`Trace` and its statistics), ``_trace_formats`` (loaders with
format sniffing, and writers), ``_trace_generators`` (seeded synthetic traces and the
RFC 8867 schedules) and ``_loss_models`` (Gilbert–Elliott and on/off loss for the Link).
"""

from __future__ import annotations

from mediaopt._loss_models import GilbertElliott, OnOffLoss
from mediaopt._trace_model import (
    OPPORTUNITY_BYTES,
    Trace,
    TraceStats,
    capacity_to_opportunities,
)

__all__ = [
    "OPPORTUNITY_BYTES",
    "GilbertElliott",
    "OnOffLoss",
    "Trace",
    "TraceStats",
    "capacity_to_opportunities",
]
