"""Live calls watched with the replay's verdicts: stats → windows → :mod:`mediaopt.sla`.

``stats`` reads ``getStats()`` results and webrtc-internals dumps; ``windows`` turns
snapshots into one-second windows of observations; ``call`` (:class:`CallMonitor`) scores
them with :mod:`mediaopt.sla`; ``fleet`` (:class:`Fleet`) holds many calls by site and
tier; ``recorder`` turns a call's stats into a replayable trace. The HTTP service
(``service``) and the Prometheus exporter (``exporter``) need the ``monitor`` extra
(aiohttp, prometheus_client) and are imported on their own. ``docs/monitor.md``.
"""
