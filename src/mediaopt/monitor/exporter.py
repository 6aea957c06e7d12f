"""The Prometheus exposition of a :class:`~mediaopt.monitor.Fleet` (``prometheus_client``).

:class:`FleetCollector` reads the fleet's group totals at scrape time, so ingesting a
snapshot costs no metric update. Labels are the configured ``site``, the ``tier`` and the
``policy``, and ``result`` / ``reason`` / ``state``: never a call identifier. Names follow
Prometheus conventions (base units, ``_total`` counters, ``_seconds``); the list, with
what each means, is in ``docs/monitor.md`` ("Metrics"). Needs the ``monitor`` extra.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from mediaopt.monitor.call import STATES
from mediaopt.monitor.fleet import FRAME_DELAY_BUCKETS_S, Fleet
from mediaopt.sla import REASONS

__all__ = ["INGEST_BUCKETS_S", "FleetCollector", "Metrics"]

#: Upper bounds (s) of the ingest latency histogram (the load test's 20 ms p99 target inside).
INGEST_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
_GROUP = ("site", "tier", "policy")


class FleetCollector(Collector):
    """Publishes the fleet's totals on every scrape."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families (see ``docs/monitor.md``)."""
        seconds = CounterMetricFamily(
            "mediaopt_call_seconds",
            "Call time in final one-second windows by result: usable, unusable (counted "
            "against the tier) or excluded (capacity below the profile's floor)",
            labels=[*_GROUP, "result"],
        )
        reasons = CounterMetricFamily(
            "mediaopt_unusable_seconds",
            "Counted unusable call time by reason (a window with two reasons counts in both)",
            labels=[*_GROUP, "reason"],
        )
        active = GaugeMetricFamily(
            "mediaopt_calls_active", "Calls being watched now", labels=list(_GROUP)
        )
        started = CounterMetricFamily(
            "mediaopt_calls_started", "Calls the monitor started watching", labels=list(_GROUP)
        )
        ended = CounterMetricFamily(
            "mediaopt_calls_ended", "Calls ended (by the client or idle)", labels=list(_GROUP)
        )
        state = GaugeMetricFamily(
            "mediaopt_calls_state",
            "Active calls by the verdict of their latest window",
            labels=[*_GROUP, "state"],
        )
        now_reason = GaugeMetricFamily(
            "mediaopt_calls_unusable_now",
            "Active calls whose latest window carries the reason",
            labels=[*_GROUP, "reason"],
        )
        snaps = CounterMetricFamily(
            "mediaopt_stats_snapshots", "Stats snapshots taken", labels=list(_GROUP)
        )
        resets = CounterMetricFamily(
            "mediaopt_stats_counter_resets",
            "Stats counters seen restarting (new stream, renegotiation)",
            labels=list(_GROUP),
        )
        delay = HistogramMetricFamily(
            "mediaopt_frame_delay_seconds",
            "Estimated capture-to-render frame delay, one observation per final window with video",
            labels=list(_GROUP),
        )
        states = self.fleet.current_states()
        for key, g in sorted(self.fleet.groups().items()):
            lab = list(key)
            s = g.summary
            seconds.add_metric([*lab, "usable"], s.usable_us / 1e6)
            seconds.add_metric([*lab, "unusable"], s.unusable_us / 1e6)
            seconds.add_metric([*lab, "excluded"], s.excluded_us / 1e6)
            for r in REASONS:
                reasons.add_metric([*lab, r], getattr(s, f"unusable_{r}_us") / 1e6)
            active.add_metric(lab, g.active)
            started.add_metric(lab, g.started)
            ended.add_metric(lab, g.ended)
            snaps.add_metric(lab, g.snapshots)
            resets.add_metric(lab, g.resets)
            now = states.get(key, {})
            for st in STATES:
                state.add_metric([*lab, st], now.get(st, 0))
            for r in REASONS:
                now_reason.add_metric([*lab, r], now.get("reason:" + r, 0))
            cum = 0
            buckets: list[tuple[str, float]] = []
            for bound, n in zip(FRAME_DELAY_BUCKETS_S, g.delay_buckets, strict=True):
                cum += n
                buckets.append((repr(bound), cum))
            buckets.append(("+Inf", g.delay_count))
            delay.add_metric(lab, buckets, g.delay_sum_s)
        tracked = GaugeMetricFamily(
            "mediaopt_monitor_calls_tracked", "Calls held in memory (active and recently ended)"
        )
        tracked.add_metric([], len(self.fleet))
        evicted = CounterMetricFamily(
            "mediaopt_monitor_calls_evicted", "Ended calls dropped from memory"
        )
        evicted.add_metric([], self.fleet.evicted)
        yield from (seconds, reasons, active, started, ended, state, now_reason, snaps, resets)
        yield from (delay, tracked, evicted)


class Metrics:
    """A registry with the fleet's collector and the service's own ingest metrics."""

    def __init__(self, fleet: Fleet) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(FleetCollector(fleet))
        self.ingest_requests = Counter(
            "mediaopt_ingest_requests",
            "Requests to the /v1 API by HTTP status code",
            ["code"],
            registry=self.registry,
        )
        self.ingest_seconds = Histogram(
            "mediaopt_ingest_duration_seconds",
            "Time to handle one /v1 request, from the request read to the response",
            buckets=INGEST_BUCKETS_S,
            registry=self.registry,
        )
