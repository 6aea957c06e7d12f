"""What ``getStats()`` would have said during a replay: one W3C webrtc-stats snapshot a second.

:func:`stats_reports` turns a replay's frame and interval logs into the snapshots a
receiver's ``RTCPeerConnection.getStats()`` would have returned at t = 0, 1, 2, ... s and at
the session end, in the W3C ``webrtc-stats`` names (``inbound-rtp`` video, and the sender's
``outbound-rtp``, ``remote-inbound-rtp`` and ``candidate-pair``, as a client agent that posts
both ends' stats of a consultation sends them). Feeding them to
:class:`mediaopt.monitor.CallMonitor` gives the replay's own windows: the test that keeps the
offline and the live verdicts one definition. ``docs/monitor.md`` ("The replay's stats")
says how each field is derived from the logs and where the logs do not say enough.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mediaopt._validate import check_float
from mediaopt.replay.metrics import WINDOW_US, FrameLog, IntervalLog, _freeze_gaps, _shown

__all__ = ["REPLAY_EPOCH_MS", "STATS_IDS", "stats_reports"]

#: Wall-clock time (ms since the Unix epoch) the replay's t = 0 is reported at: stats
#: timestamps are ``DOMHighResTimeStamp`` milliseconds on a wall clock, never 0.
REPLAY_EPOCH_MS = 1_700_000_000_000.0
#: The ``id`` of each stats object in a replayed snapshot.
STATS_IDS = {
    "inbound-rtp": "IT01V",
    "outbound-rtp": "OT01V",
    "remote-inbound-rtp": "RI01V",
    "candidate-pair": "CP01",
    "transport": "T01",
}
_SSRC = 1001

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]


def _snapshot_times(end_us: int) -> Int64Array:
    """0, 1 s, 2 s, ... up to the session end, and the end itself when it is not whole."""
    whole = np.arange(0, end_us + 1, WINDOW_US, dtype=np.int64)
    if whole[-1] != end_us:
        whole = np.append(whole, np.int64(end_us))
    return whole


def _at(values: npt.NDArray[Any], count: Int64Array, empty: float = 0.0) -> Float64Array:
    """``values[count - 1]`` (the latest of the first ``count`` values), ``empty`` for 0."""
    out = np.full(count.shape, empty, dtype=np.float64)
    has = count > 0
    out[has] = values[count[has] - 1]
    return out


def _cum_at(values: npt.NDArray[Any], count: Int64Array) -> Float64Array:
    """Sum of the first ``count`` values, for each count."""
    csum = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
    return np.asarray(csum[count], dtype=np.float64)


def stats_reports(
    frames: FrameLog, intervals: IntervalLog, duration_s: float
) -> list[list[dict[str, Any]]]:
    """Return the ``getStats()`` snapshots of a replayed session, one a second.

    One snapshot at t = 0, 1 s, 2 s, ... and one at the session end (``duration_s``) when it
    is not a whole second; each is a list of stats objects, as
    ``JSON.stringify([...(await pc.getStats()).values()])`` gives. Counters cover
    everything that happened strictly before the snapshot's time, so snapshot ``k + 1``
    minus snapshot ``k`` is exactly one-second window ``k`` of the replay's time series.
    """
    dur = check_float("duration_s", duration_s, min_value=0.0, max_value=1e9)
    end_us = round(dur * 1e6)
    t_us = _snapshot_times(end_us)
    n = int(t_us.size)
    shown = _shown(frames, end_us)
    render = shown.render_us
    capture = shown.capture_us

    # Receiver: frames shown (rendered), decoded (complete and decodable, shown or
    # superseded), the libwebrtc freezes of the replay's own definition.
    rendered = np.searchsorted(render, t_us, side="left").astype(np.int64)
    decoded_render = np.sort(frames.render_us[frames.render_us >= 0])
    decoded = np.searchsorted(decoded_render, t_us, side="left").astype(np.int64)
    key_render = np.sort(frames.render_us[(frames.render_us >= 0) & frames.keyframe])
    key_decoded = np.searchsorted(key_render, t_us, side="left").astype(np.int64)
    last_second = np.searchsorted(render, t_us - WINDOW_US, side="left").astype(np.int64)
    gaps_s = np.diff(render).astype(np.float64) / 1e6
    # inter-frame delays are recorded per rendered frame after the first
    gaps_done = np.maximum(rendered - 1, 0)
    tifd = _cum_at(gaps_s, gaps_done)
    tsifd = _cum_at(gaps_s * gaps_s, gaps_done)
    _, f_stop, f_ms = _freeze_gaps(render, end_us)
    # libwebrtc counts a freeze when the frame that ends it renders; the replay also counts
    # a picture still frozen at the session end, reported here by the final snapshot.
    freezes_done = np.searchsorted(f_stop, t_us, side="left").astype(np.int64)
    if f_stop.size and int(f_stop[-1]) >= end_us:
        freezes_done[-1] = f_stop.size
    freeze_s = _cum_at(f_ms.astype(np.float64) / 1e3, freezes_done)

    # Network, from the intervals that started before each snapshot.
    iv_done = np.searchsorted(intervals.t_us, t_us, side="left").astype(np.int64)
    sent_pk = _cum_at(intervals.packets_sent, iv_done)
    lost_pk = _cum_at(intervals.packets_lost, iv_done)
    goodput = _cum_at(intervals.goodput_bytes, iv_done)
    sent_bytes = _cum_at(intervals.sent_bytes, iv_done)
    target = _at(intervals.target_bps, iv_done, empty=-1.0)
    rtt_us = _at(intervals.rtt_us, iv_done, empty=-1.0)
    known = (intervals.rtt_us >= 0).astype(np.float64)
    rtt_n = _cum_at(known, iv_done)
    rtt_sum_s = _cum_at(np.where(intervals.rtt_us >= 0, intervals.rtt_us, 0) / 1e6, iv_done)

    # The jitter buffer holds what the frame's delay has above the network's one-way part,
    # which a receiver estimates as half the RTT known when the frame's window closes (the
    # replay keeps no per-packet arrival log); see docs/monitor.md.
    delay_s = (render - capture).astype(np.float64) / 1e6
    closing = np.minimum(render // WINDOW_US + 1, n - 1)
    half_rtt_s = np.where(rtt_us[closing] >= 0, rtt_us[closing], 0.0) / 2e6
    jb = np.maximum(delay_s - half_rtt_s, 0.0)
    jb_sum = _cum_at(jb, rendered)
    last_capture = _at(capture, rendered, empty=-1.0)
    last_render = _at(render, rendered, empty=-1.0)
    width = _at(shown.width, rendered)
    height = _at(shown.height, rendered)

    # Sender: frames the encoder produced before each snapshot.
    encoded = np.searchsorted(frames.capture_us, t_us, side="left").astype(np.int64)
    encoded_last_second = np.searchsorted(frames.capture_us, t_us - WINDOW_US, side="left")
    enc_w = _at(frames.width, encoded)
    enc_h = _at(frames.height, encoded)
    biggest = int(np.max(frames.width.astype(np.int64) * frames.height)) if len(frames) else 0

    ids = STATS_IDS
    out: list[list[dict[str, Any]]] = []
    for k in range(n):
        ts = REPLAY_EPOCH_MS + float(t_us[k]) / 1e3
        inbound: dict[str, Any] = {
            "id": ids["inbound-rtp"],
            "type": "inbound-rtp",
            "timestamp": ts,
            "kind": "video",
            "ssrc": _SSRC,
            "transportId": ids["transport"],
            "packetsReceived": int(sent_pk[k] - lost_pk[k]),
            "packetsLost": int(lost_pk[k]),
            "bytesReceived": int(goodput[k]),
            "framesReceived": int(decoded[k]),
            "framesDecoded": int(decoded[k]),
            "keyFramesDecoded": int(key_decoded[k]),
            "framesRendered": int(rendered[k]),
            "framesDropped": int(decoded[k] - rendered[k]),
            "framesPerSecond": int(rendered[k] - last_second[k]),
            "freezeCount": int(freezes_done[k]),
            "totalFreezesDuration": float(freeze_s[k]),
            "pauseCount": 0,
            "totalPausesDuration": 0.0,
            "totalInterFrameDelay": float(tifd[k]),
            "totalSquaredInterFrameDelay": float(tsifd[k]),
            "jitterBufferDelay": float(jb_sum[k]),
            "jitterBufferEmittedCount": int(rendered[k]),
        }
        if rendered[k] > 0:
            inbound["frameWidth"] = int(width[k])
            inbound["frameHeight"] = int(height[k])
            # the capture time of the frame on screen, extrapolated to now (sender clock)
            inbound["estimatedPlayoutTimestamp"] = (
                REPLAY_EPOCH_MS + (last_capture[k] + float(t_us[k]) - last_render[k]) / 1e3
            )
        outbound: dict[str, Any] = {
            "id": ids["outbound-rtp"],
            "type": "outbound-rtp",
            "timestamp": ts,
            "kind": "video",
            "ssrc": _SSRC,
            "transportId": ids["transport"],
            "packetsSent": int(sent_pk[k]),
            "bytesSent": int(sent_bytes[k]),
            "framesEncoded": int(encoded[k]),
            "framesSent": int(encoded[k]),
            "framesPerSecond": int(encoded[k] - encoded_last_second[k]),
        }
        if target[k] >= 0:
            outbound["targetBitrate"] = float(target[k])
        if encoded[k] > 0:
            outbound["frameWidth"] = int(enc_w[k])
            outbound["frameHeight"] = int(enc_h[k])
            limited = enc_w[k] * enc_h[k] < biggest
            outbound["qualityLimitationReason"] = "bandwidth" if limited else "none"
        remote: dict[str, Any] = {
            "id": ids["remote-inbound-rtp"],
            "type": "remote-inbound-rtp",
            "timestamp": ts,
            "kind": "video",
            "ssrc": _SSRC,
            "localId": ids["outbound-rtp"],
            "packetsLost": int(lost_pk[k]),
            "totalRoundTripTime": float(rtt_sum_s[k]),
            "roundTripTimeMeasurements": int(rtt_n[k]),
        }
        pair: dict[str, Any] = {
            "id": ids["candidate-pair"],
            "type": "candidate-pair",
            "timestamp": ts,
            "transportId": ids["transport"],
            "state": "succeeded",
            "nominated": True,
            "bytesSent": int(sent_bytes[k]),
            "bytesReceived": int(goodput[k]),
        }
        if target[k] >= 0:
            pair["availableOutgoingBitrate"] = float(target[k])
        if rtt_us[k] >= 0:
            remote["roundTripTime"] = float(rtt_us[k]) / 1e6
            pair["currentRoundTripTime"] = float(rtt_us[k]) / 1e6
        transport = {
            "id": ids["transport"],
            "type": "transport",
            "timestamp": ts,
            "selectedCandidatePairId": ids["candidate-pair"],
        }
        out.append([inbound, outbound, remote, pair, transport])
    return out
