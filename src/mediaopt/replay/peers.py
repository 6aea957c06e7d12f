"""Peer estimators run in the same replay loop as GoogCC, for comparison on identical traces.

:class:`AiortcRemb` wraps aiortc's receive-side REMB estimator
(``aiortc.rate.RemoteBitrateEstimator``: inter-arrival grouping, Kalman overuse estimator,
adaptive threshold, AIMD) behind the Python side of ``mediaopt.GccEstimator``'s protocol:
``on_feedback(send_us, arrival_us, size_bytes, now_us) -> target_bps``, ``target_bps``,
``delay_state``, ``pacing_bps`` and ``loss_ratio``. aiortc is an optional test/bench extra
(``pip install 'mediaopt[test]'``) and is imported only when an adapter is built.

The adapter feeds aiortc exactly what an aiortc receiver would see: each delivered packet,
in arrival order, with its arrival time in whole milliseconds and its send time as the
24-bit abs-send-time header extension (6.18 fixed-point seconds, wrapping every 64 s).
The REMB value aiortc returns becomes the target, clamped to ``[min_bps, max_bps]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mediaopt._validate import as_int64_array, check_int, check_same_length

__all__ = ["AiortcRemb", "abs_send_time_24"]

#: The abs-send-time extension counts 2^18 units per second in 24 bits (RFC draft
#: "abs-send-time", as aiortc's sender writes it: NTP time >> 14, masked to 24 bits).
ABS_SEND_TIME_FRACTION_BITS = 18
ABS_SEND_TIME_MASK = 0xFFFFFF
#: libwebrtc paces at 2.5 x the target (``kDefaultPaceMultiplier``).
PACING_FACTOR = 2.5
#: SSRC under which every packet is reported to aiortc (one video stream).
_SSRC = 1

_DELAY_STATES = {0: "normal", 1: "underusing", 2: "overusing"}


def abs_send_time_24(send_us: Any) -> Any:
    """Return the 24-bit abs-send-time value(s) for send time(s) in microseconds."""
    t = np.asarray(send_us, dtype=np.int64)
    return ((t << ABS_SEND_TIME_FRACTION_BITS) // 1_000_000) & ABS_SEND_TIME_MASK


def _import_rate() -> Any:
    try:
        from aiortc import rate  # aiortc: an optional extra, loaded when a peer is built
    except ImportError as exc:
        raise ImportError(
            "mediaopt.replay.peers.AiortcRemb needs aiortc, an optional peer for comparisons: "
            "pip install 'mediaopt[test]' (or pip install aiortc)"
        ) from exc
    return rate


class AiortcRemb:
    """aiortc's receive-side REMB estimator behind ``GccEstimator``'s Python protocol.

    ``start_bps`` is the target until aiortc produces its first estimate (it waits for
    about three seconds of incoming-rate history, or the first overuse). Every target is
    clamped to ``[min_bps, max_bps]``. aiortc ignores loss, RTT and probes; ``loss_ratio``
    reports the loss seen in the latest feedback report for the record only.
    """

    def __init__(
        self, start_bps: int = 300_000, min_bps: int = 30_000, max_bps: int = 30_000_000
    ) -> None:
        rate = _import_rate()
        self.min_bps = check_int("min_bps", min_bps, min_value=1)
        self.max_bps = check_int("max_bps", max_bps, min_value=self.min_bps)
        start = check_int("start_bps", start_bps, min_value=1)
        self.start_bps = min(max(start, self.min_bps), self.max_bps)
        self._estimator = rate.RemoteBitrateEstimator()
        self._target_bps = self.start_bps
        self._loss_ratio = 0.0
        self._rtt_us = -1

    def __repr__(self) -> str:
        """Show the bounds and the current target."""
        return (
            f"AiortcRemb(target_bps={self._target_bps}, min_bps={self.min_bps}, "
            f"max_bps={self.max_bps})"
        )

    def on_feedback(
        self,
        send_us: Sequence[int] | np.ndarray[Any, Any],
        arrival_us: Sequence[int] | np.ndarray[Any, Any],
        size_bytes: Sequence[int] | np.ndarray[Any, Any],
        now_us: int,
        probe_cluster_id: Any = None,
    ) -> int:
        """Feed one feedback report (packets in send order, arrival -1 = lost); return target.

        ``probe_cluster_id`` is accepted for protocol compatibility and ignored: aiortc's
        estimator has no probing.
        """
        send = as_int64_array("send_us", send_us, min_value=0)
        arrival = as_int64_array("arrival_us", arrival_us, min_value=0, allow=(-1,))
        size = as_int64_array("size_bytes", size_bytes, min_value=0)
        n = check_same_length(send_us=send, arrival_us=arrival, size_bytes=size)
        check_int("now_us", now_us)
        received = np.flatnonzero(arrival >= 0)
        self._loss_ratio = (n - received.size) / n if n else 0.0
        if received.size == 0:
            return self._target_bps
        # The receiver sees packets in arrival order (stable: ties keep send order).
        order = received[np.argsort(arrival[received], kind="stable")]
        arrival_ms = (arrival[order] // 1000).tolist()
        abs_time = abs_send_time_24(send[order]).tolist()
        sizes = size[order].tolist()
        add = self._estimator.add
        latest: int | None = None
        for a_ms, ts, sz in zip(arrival_ms, abs_time, sizes, strict=True):
            remb = add(arrival_time_ms=a_ms, abs_send_time=ts, payload_size=sz, ssrc=_SSRC)
            if remb is not None:
                latest = int(remb[0])
        if latest is not None:
            self._target_bps = min(max(latest, self.min_bps), self.max_bps)
        return self._target_bps

    @property
    def target_bps(self) -> int:
        """Current target (bps), within ``[min_bps, max_bps]``."""
        return self._target_bps

    @property
    def pacing_bps(self) -> int:
        """Pacing rate (bps): 2.5 x the target, as libwebrtc paces."""
        return int(PACING_FACTOR * self._target_bps)

    @property
    def delay_state(self) -> str:
        """Overuse detector state in aiortc: ``"normal"``, ``"overusing"`` or ``"underusing"``."""
        return _DELAY_STATES[int(self._estimator.detector.state().value)]

    @property
    def loss_ratio(self) -> float:
        """Share of packets lost in the latest feedback report (not used by aiortc)."""
        return self._loss_ratio

    def set_rtt(self, rtt_us: int, now_us: int) -> None:
        """Record the RTT; aiortc's receiver never passes RTT to its estimator, so neither do we."""
        self._rtt_us = check_int("rtt_us", rtt_us)

    def process(self, now_us: int) -> None:
        """Periodic tick: aiortc's estimator has no timers, so nothing happens."""

    def on_packet_sent(self, send_us: int, size_bytes: int, probe_cluster_id: int = -1) -> None:
        """Sender-side packet report: unused by a receive-side estimator."""

    def pop_probes(self, now_us: int) -> list[Any]:
        """Return no probe clusters: aiortc does not probe."""
        return []
