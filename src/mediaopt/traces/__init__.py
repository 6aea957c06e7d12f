"""Recorded and synthetic network traces: the model, loaders, writers and generators.

``mediaopt.traces`` gathers the public names; each idea lives in its own module:
``model`` (the :class:`Trace` and its statistics), ``formats`` (loaders with format
sniffing, and writers), ``generators`` (seeded synthetic traces and the RFC 8867
schedules), ``loss`` (Gilbert–Elliott and on/off loss for the Link), ``link`` (how a
trace, a queue, a delay and a loss model become the compiled :class:`mediaopt.Link`) and
``network`` (:class:`Network`, the network scenario a replay runs in).
``docs/formats.md`` describes the file formats.
"""

from __future__ import annotations

from mediaopt.traces.formats import (
    FORMATS,
    clip_glitches,
    csv_text,
    load,
    load_cooked,
    load_csv,
    load_json,
    load_mahimahi,
    mahimahi_text,
    save,
    sniff,
    write_csv,
    write_mahimahi,
)
from mediaopt.traces.generators import (
    RFC8867_SCHEDULES,
    bundled,
    cellular,
    constant,
    rfc8867,
    steps,
    wifi_congested,
    write_bundled,
)
from mediaopt.traces.loss import GilbertElliott, OnOffLoss
from mediaopt.traces.model import (
    DEFAULT_LIMITS,
    OPPORTUNITY_BYTES,
    Trace,
    TraceLimits,
    TraceStats,
    capacity_to_opportunities,
)
from mediaopt.traces.network import DEFAULT_NETWORK, Network

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_NETWORK",
    "FORMATS",
    "OPPORTUNITY_BYTES",
    "RFC8867_SCHEDULES",
    "GilbertElliott",
    "Network",
    "OnOffLoss",
    "Trace",
    "TraceLimits",
    "TraceStats",
    "bundled",
    "capacity_to_opportunities",
    "cellular",
    "clip_glitches",
    "constant",
    "csv_text",
    "load",
    "load_cooked",
    "load_csv",
    "load_json",
    "load_mahimahi",
    "mahimahi_text",
    "rfc8867",
    "save",
    "sniff",
    "steps",
    "wifi_congested",
    "write_bundled",
    "write_csv",
    "write_mahimahi",
]
