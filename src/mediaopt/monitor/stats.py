"""WebRTC stats snapshots: a ``getStats()`` result or a webrtc-internals dump, read robustly.

A live client posts what ``RTCPeerConnection.getStats()`` returned, as JSON: a list of stats
objects (``[...report.values()]``) or a map from id to object (``Object.fromEntries``), with
the W3C ``webrtc-stats`` names. :func:`parse_snapshot` reduces one to a :class:`Snapshot`:
the handful of numbers the monitor reads, each ``None`` when the report does not carry it or
carries something that is not a finite number (a string that is not a number, ``NaN``,
``true``). :func:`internals_reports` turns a ``chrome://webrtc-internals`` dump (its
``PeerConnections`` section: one series per stats object and field) back into one report
per sampling time. Nothing here raises on a strange value; only a body that is not a report
at all raises :class:`mediaopt.InputError`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from mediaopt.errors import InputError

__all__ = [
    "NTP_UNIX_OFFSET_MS",
    "Snapshot",
    "internals_reports",
    "number",
    "parse_snapshot",
    "stats_objects",
]

#: Milliseconds from the NTP epoch (1900) to the Unix epoch (1970): browsers report
#: ``estimatedPlayoutTimestamp`` on the NTP clock and ``timestamp`` on the Unix clock.
NTP_UNIX_OFFSET_MS = 2_208_988_800_000.0


def number(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` (missing, ``NaN``, infinite, not a number).

    Numeric strings count as numbers (webrtc-internals dumps and some SDKs send them);
    booleans do not.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        x = float(value)
    elif isinstance(value, str):
        try:
            x = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return x if math.isfinite(x) else None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One stats snapshot, reduced to what the monitor reads (``None``: not reported).

    Counters are cumulative since the stream started, as the W3C names define them; times
    are seconds where the W3C field is in seconds. ``stream`` identifies the inbound video
    stream (its stats id and SSRC): when it changes, every counter starts again.
    """

    t_us: int  #: when the snapshot was taken (µs on the client's wall clock)
    stream: str | None  #: inbound video stream id; None: no inbound video in the report
    frames: float | None  #: framesRendered (else framesDecoded, else framesReceived)
    frames_decoded: float | None  #: framesDecoded
    frames_dropped: float | None  #: framesDropped
    freeze_count: float | None  #: freezeCount
    freezes_s: float | None  #: totalFreezesDuration (s)
    inter_frame_s: float | None  #: totalInterFrameDelay (s)
    fps: float | None  #: framesPerSecond as reported
    width: float | None  #: frameWidth of the frame on screen
    height: float | None  #: frameHeight of the frame on screen
    jb_delay_s: float | None  #: jitterBufferDelay (s)
    jb_emitted: float | None  #: jitterBufferEmittedCount
    playout_ms: float | None  #: estimatedPlayoutTimestamp (ms, sender's clock)
    packets_received: float | None  #: packetsReceived (inbound video)
    packets_lost: float | None  #: packetsLost (inbound video)
    bytes_received: float | None  #: bytesReceived (inbound video)
    rtt_s: float | None  #: remote-inbound-rtp roundTripTime, else candidate-pair's
    available_bps: float | None  #: candidate-pair availableOutgoingBitrate
    target_bps: float | None  #: outbound-rtp video targetBitrate
    bytes_sent: float | None  #: outbound-rtp video bytesSent
    packets_sent: float | None  #: outbound-rtp video packetsSent
    remote_packets_lost: float | None  #: remote-inbound-rtp video packetsLost
    quality_limitation: str | None  #: outbound-rtp qualityLimitationReason
    invalid_fields: int  #: fields present with a value that is not a usable number


def stats_objects(report: Any) -> list[Mapping[str, Any]]:
    """The stats objects of a report: a list of objects or a map from id to object.

    Raises :class:`mediaopt.InputError` when ``report`` is neither, or holds something
    other than objects.
    """
    if isinstance(report, Mapping):
        items: Iterable[Any] = report.values()
    elif isinstance(report, list):
        items = report
    else:
        raise InputError(
            f"report: expected a list of stats objects or a map of them, got "
            f"{type(report).__name__}"
        )
    out: list[Mapping[str, Any]] = []
    for i, obj in enumerate(items):
        if not isinstance(obj, Mapping):
            raise InputError(f"report[{i}]: expected a stats object, got {type(obj).__name__}")
        out.append(obj)
    return out


class _Reader:
    """Reads numbers from stats objects and counts the ones that are there but unusable."""

    __slots__ = ("invalid",)

    def __init__(self) -> None:
        self.invalid = 0

    def get(self, obj: Mapping[str, Any] | None, key: str, *, counter: bool = True) -> float | None:
        if obj is None or key not in obj:
            return None
        raw = obj[key]
        x = number(raw)
        if x is None or (counter and x < 0):
            if raw is not None:
                self.invalid += 1
            return None
        return x


def _kind(obj: Mapping[str, Any]) -> str | None:
    kind = obj.get("kind", obj.get("mediaType"))
    return kind if isinstance(kind, str) else None


def _pick(objs: list[Mapping[str, Any]], rank_key: str) -> Mapping[str, Any] | None:
    """The object with the largest ``rank_key`` (the main stream when there are several)."""
    if not objs:
        return None
    return max(objs, key=lambda o: number(o.get(rank_key)) or 0.0)


def _report_time_us(objs: list[Mapping[str, Any]]) -> int | None:
    best: float | None = None
    for o in objs:
        ts = number(o.get("timestamp"))
        if ts is not None and ts > 0 and (best is None or ts > best):
            best = ts
    return None if best is None else round(best * 1000.0)


def parse_snapshot(report: Any, now_us: int | None = None) -> Snapshot:
    """Reduce one ``getStats()`` result to a :class:`Snapshot`.

    The snapshot's time is ``now_us`` when given, else the newest ``timestamp`` in the
    report (ms), else the wall clock now. The inbound video stream is the ``inbound-rtp``
    of kind ``video`` with the most bytes received; the RTT is the video
    ``remote-inbound-rtp`` ``roundTripTime``, else the selected ``candidate-pair``'s
    ``currentRoundTripTime``. Raises :class:`mediaopt.InputError` only when ``report`` is
    not a report (see :func:`stats_objects`).
    """
    objs = stats_objects(report)
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for o in objs:
        t = o.get("type")
        if isinstance(t, str):
            by_type.setdefault(t, []).append(o)
    video_in = [o for o in by_type.get("inbound-rtp", []) if _kind(o) == "video"]
    inbound = _pick(video_in, "bytesReceived")
    video_out = [o for o in by_type.get("outbound-rtp", []) if _kind(o) == "video"]
    outbound = _pick(video_out, "bytesSent")
    remote_in = [o for o in by_type.get("remote-inbound-rtp", []) if _kind(o) == "video"]
    remote = _pick(remote_in, "packetsLost")
    pair = _selected_pair(by_type)

    r = _Reader()
    if now_us is not None:
        t_us = int(now_us)
    else:
        found = _report_time_us(objs)
        t_us = found if found is not None else time.time_ns() // 1000
    stream: str | None = None
    if inbound is not None:
        stream = f"{inbound.get('id', '')}/{inbound.get('ssrc', '')}"
    frames = r.get(inbound, "framesRendered")
    decoded = r.get(inbound, "framesDecoded")
    if frames is None:
        frames = decoded if decoded is not None else r.get(inbound, "framesReceived")
    rtt = r.get(remote, "roundTripTime")
    if rtt is None:
        rtt = r.get(pair, "currentRoundTripTime")
    reason = outbound.get("qualityLimitationReason") if outbound is not None else None
    return Snapshot(
        t_us=t_us,
        stream=stream,
        frames=frames,
        frames_decoded=decoded,
        frames_dropped=r.get(inbound, "framesDropped"),
        freeze_count=r.get(inbound, "freezeCount"),
        freezes_s=r.get(inbound, "totalFreezesDuration"),
        inter_frame_s=r.get(inbound, "totalInterFrameDelay"),
        fps=r.get(inbound, "framesPerSecond"),
        width=r.get(inbound, "frameWidth"),
        height=r.get(inbound, "frameHeight"),
        jb_delay_s=r.get(inbound, "jitterBufferDelay"),
        jb_emitted=r.get(inbound, "jitterBufferEmittedCount"),
        playout_ms=r.get(inbound, "estimatedPlayoutTimestamp"),
        packets_received=r.get(inbound, "packetsReceived"),
        # packetsLost may be negative (RFC 3550: duplicates); the deltas are clamped
        packets_lost=r.get(inbound, "packetsLost", counter=False),
        bytes_received=r.get(inbound, "bytesReceived"),
        rtt_s=rtt,
        available_bps=r.get(pair, "availableOutgoingBitrate"),
        target_bps=r.get(outbound, "targetBitrate"),
        bytes_sent=r.get(outbound, "bytesSent"),
        packets_sent=r.get(outbound, "packetsSent"),
        remote_packets_lost=r.get(remote, "packetsLost", counter=False),
        quality_limitation=reason if isinstance(reason, str) else None,
        invalid_fields=r.invalid,
    )


def _selected_pair(by_type: dict[str, list[Mapping[str, Any]]]) -> Mapping[str, Any] | None:
    pairs = by_type.get("candidate-pair", [])
    if not pairs:
        return None
    for tr in by_type.get("transport", []):
        sel = tr.get("selectedCandidatePairId")
        for p in pairs:
            if sel is not None and p.get("id") == sel:
                return p
    for p in pairs:
        if p.get("nominated") is True and p.get("state") == "succeeded":
            return p
    return _pick(pairs, "bytesSent")


# ---------------------------------------------------------------------------------------
# chrome://webrtc-internals dumps


def _iso_ms(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp() * 1000.0


def _series_values(entry: Mapping[str, Any]) -> list[Any] | None:
    values = entry.get("values")
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except ValueError:
            return None
    return values if isinstance(values, list) else None


def internals_reports(dump: Any, peer_connection: str | None = None) -> list[list[dict[str, Any]]]:
    """One report (a list of stats objects) per sampling time of a webrtc-internals dump.

    ``dump`` is the parsed JSON of chrome://webrtc-internals' "Create a dump": its
    ``PeerConnections`` map holds, per stats object and field, a series
    (``"<id>-<field>": {"statsType", "startTime", "endTime", "values"}``). The peer
    connection read is ``peer_connection`` or the one with an ``inbound-rtp`` video series
    and the most samples. Each object's times come from its own ``timestamp`` series, else
    from spreading its samples evenly between ``startTime`` and ``endTime``. Computed
    series (``[bytesReceived_in_bits/s]`` and the like) are skipped. Reports come out in
    time order. Raises :class:`mediaopt.InputError` when ``dump`` has no peer connection
    with stats.
    """
    if not isinstance(dump, Mapping) or not isinstance(dump.get("PeerConnections"), Mapping):
        raise InputError("dump: not a webrtc-internals dump (no 'PeerConnections' object)")
    pcs: Mapping[str, Any] = dump["PeerConnections"]
    candidates: list[tuple[int, str]] = []
    for name, pc in pcs.items():
        stats = pc.get("stats") if isinstance(pc, Mapping) else None
        if not isinstance(stats, Mapping) or not stats:
            continue
        has_video = any(
            isinstance(e, Mapping) and e.get("statsType") == "inbound-rtp" for e in stats.values()
        )
        candidates.append((int(has_video) * 10**9 + len(stats), str(name)))
    if peer_connection is not None:
        if peer_connection not in pcs:
            raise InputError(f"peer_connection: {peer_connection!r} is not in the dump")
        chosen = peer_connection
    elif candidates:
        chosen = max(candidates)[1]
    else:
        raise InputError("dump: no peer connection with stats")
    stats = pcs[chosen].get("stats", {})

    # id -> field -> (values, start_ms, end_ms, type)
    objects: dict[str, dict[str, list[Any]]] = {}
    spans: dict[str, tuple[float | None, float | None, str]] = {}
    for key, entry in stats.items():
        if not isinstance(key, str) or not isinstance(entry, Mapping) or "[" in key:
            continue
        sid, sep, field = key.rpartition("-")
        if not sep or not sid or not field:
            continue
        values = _series_values(entry)
        if values is None:
            continue
        objects.setdefault(sid, {})[field] = values
        st = entry.get("statsType")
        if sid not in spans:
            spans[sid] = (
                _iso_ms(entry.get("startTime")),
                _iso_ms(entry.get("endTime")),
                st if isinstance(st, str) else "",
            )
    by_time: dict[int, list[dict[str, Any]]] = {}
    for sid, fields in objects.items():
        start_ms, end_ms, stype = spans[sid]
        n = max(len(v) for v in fields.values())
        times: list[float | None]
        ts_series = fields.get("timestamp")
        if ts_series is not None and len(ts_series) == n:
            times = [number(v) for v in ts_series]
        elif start_ms is not None and end_ms is not None:
            step = (end_ms - start_ms) / (n - 1) if n > 1 else 0.0
            times = [start_ms + i * step for i in range(n)]
        else:
            continue
        for i, t_ms in enumerate(times):
            if t_ms is None:
                continue
            obj: dict[str, Any] = {"id": sid, "type": stype, "timestamp": t_ms}
            for field, values in fields.items():
                # a series shorter than the object's is aligned on its newest samples
                j = i - (n - len(values))
                if field != "timestamp" and 0 <= j < len(values):
                    obj[field] = values[j]
            # one getStats() call stamps all its objects alike; 100 ms absorbs the rounding
            # of series whose times were spread from startTime/endTime
            by_time.setdefault(round(t_ms / 100.0), []).append(obj)
    return [by_time[t] for t in sorted(by_time)]
