"""The sender's feedback adapter and feedback health.

:class:`FeedbackAdapter` is libwebrtc's ``TransportFeedbackAdapter``
(modules/congestion_controller/rtp/transport_feedback_adapter.cc): it remembers every
packet sent (transport sequence number, send time, size, probe cluster) and turns each
transport-cc or RFC 8888 feedback into the arrays ``GccEstimator.on_feedback`` takes,
with arrival times in the local clock. It unwraps 16-bit sequence numbers, ignores
packets it has forgotten or already seen acknowledged (duplicate and reordered feedback),
reports a packet lost until some feedback reports it received, forgets packets after a
60 s horizon and tracks the bytes in flight.

:meth:`FeedbackAdapter.health` says how long ago feedback last arrived, as a
:class:`FeedbackStatus`; the client decides what to do (docs/embedding.md describes what
libwebrtc does when feedback stops).
"""

from __future__ import annotations

import dataclasses
import enum

import numpy as np
import numpy.typing as npt

from mediaopt._core.rtp_adapter import FeedbackAdapterCore
from mediaopt._validate import check_float, check_int
from mediaopt.errors import InputError
from mediaopt.rtp.rfc8888 import CongestionControlFeedback
from mediaopt.rtp.transport_cc import TransportFeedback

#: Largest time value accepted, us (about 146 000 years).
MAX_TIME_US = 1 << 62
#: libwebrtc's kSendTimeHistoryWindow, s.
SEND_HISTORY_WINDOW_S = 60.0


@dataclasses.dataclass(frozen=True)
class PacketReport:
    """What one feedback says about the packets we sent, in send order.

    Arrays, one element per packet: hand ``send_us, arrival_us, size_bytes, feedback_us,
    probe_cluster_id`` to ``GccEstimator.on_feedback``.
    """

    transport_seq: npt.NDArray[np.int64]  # unwrapped transport sequence number
    send_us: npt.NDArray[np.int64]
    arrival_us: npt.NDArray[np.int64]  # local clock; -1 = reported lost
    size_bytes: npt.NDArray[np.int64]
    probe_cluster_id: npt.NDArray[np.int32]  # -1 = not a probe
    lost_first_time: npt.NDArray[np.bool_]  # reported lost for the first time
    recovered: npt.NDArray[np.bool_]  # reported received after being reported lost
    feedback_us: int  # when the feedback arrived
    in_flight_bytes: int  # after this feedback

    def __len__(self) -> int:
        return int(self.send_us.size)

    @property
    def lost(self) -> int:
        """Packets reported lost."""
        return int(np.count_nonzero(self.arrival_us < 0))


class FeedbackStatus(str, enum.Enum):
    """Whether feedback keeps arriving."""

    WAITING = "waiting"  # sending, no feedback yet, still within the start-up grace
    OK = "ok"  # feedback is arriving (or nothing is in flight)
    LATE = "late"  # no feedback for longer than late_after_ms with data in flight
    STOPPED = "stopped"  # none for longer than stopped_after_ms: the estimate is blind

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class FeedbackHealth:
    """A reading of :meth:`FeedbackAdapter.health`."""

    status: FeedbackStatus
    since_feedback_us: int | None  # None before the first feedback
    in_flight_bytes: int
    feedback_count: int  # feedback packets that matched sent packets
    packets_acknowledged: int  # packets reported received so far


def _arrays(n: int) -> tuple[npt.NDArray[np.int64], ...]:
    return tuple(np.empty(n, dtype=np.int64) for _ in range(4))


class FeedbackAdapter:
    """Send history + feedback mapping (libwebrtc's ``TransportFeedbackAdapter``).

    Call :meth:`on_sent` for every packet as it leaves the pacer and :meth:`on_feedback`
    for every transport-cc or RFC 8888 packet that comes back. ``late_after_ms`` and
    ``stopped_after_ms`` set the :meth:`health` thresholds (defaults: 500 ms, five
    times libwebrtc's default feedback interval; 3 s, when libwebrtc's RTT back-off
    starts cutting the estimate).
    """

    def __init__(
        self,
        *,
        horizon_s: float = SEND_HISTORY_WINDOW_S,
        max_packets: int = 1 << 18,
        late_after_ms: float = 500.0,
        stopped_after_ms: float = 3000.0,
    ) -> None:
        h = check_float("horizon_s", horizon_s, min_value=0.001, max_value=3600.0)
        m = check_int("max_packets", max_packets, min_value=128, max_value=1 << 22)
        self._late_us = int(
            check_float("late_after_ms", late_after_ms, min_value=1.0, max_value=3.6e6) * 1000
        )
        self._stopped_us = int(
            check_float(
                "stopped_after_ms", stopped_after_ms, min_value=late_after_ms, max_value=3.6e6
            )
            * 1000
        )
        self._core = FeedbackAdapterCore(int(h * 1e6), m)
        self._first_send_us: int | None = None
        self._last_send_us = -1
        self._last_feedback_us: int | None = None
        self._last_now_us = -1
        self.feedback_count = 0
        self.feedback_empty = 0
        self.packets_acknowledged = 0
        self.packets_reported_lost = 0

    # ------------------------------------------------------------------ sending

    def on_sent(
        self,
        transport_seq: int,
        send_us: int,
        size_bytes: int,
        probe_cluster: int = -1,
        *,
        ssrc: int | None = None,
        rtp_seq: int | None = None,
        ect1: bool = False,
    ) -> bool:
        """Record a packet that left; False for a duplicate (only its send time moves).

        ``transport_seq`` is the 16-bit transport-wide sequence number; ``ssrc`` and
        ``rtp_seq`` identify the packet in RFC 8888 feedback.
        """
        if type(transport_seq) is not int or not 0 <= transport_seq <= 0xFFFF:
            transport_seq = check_int("transport_seq", transport_seq, min_value=0, max_value=0xFFFF)
        if type(send_us) is not int or not 0 <= send_us < MAX_TIME_US:
            send_us = check_int("send_us", send_us, min_value=0, max_value=MAX_TIME_US - 1)
        if type(size_bytes) is not int or not 0 <= size_bytes <= 65535:
            size_bytes = check_int("size_bytes", size_bytes, min_value=0, max_value=65535)
        if type(probe_cluster) is not int or not -1 <= probe_cluster < 1 << 31:
            probe_cluster = check_int(
                "probe_cluster", probe_cluster, min_value=-1, max_value=(1 << 31) - 1
            )
        s = -1 if ssrc is None else check_int("ssrc", ssrc, min_value=0, max_value=0xFFFFFFFF)
        r = -1 if rtp_seq is None else check_int("rtp_seq", rtp_seq, min_value=0, max_value=0xFFFF)
        if self._first_send_us is None:
            self._first_send_us = send_us
        self._last_send_us = max(self._last_send_us, send_us)
        return bool(
            self._core.on_sent(transport_seq, send_us, size_bytes, probe_cluster, s, r, bool(ect1))
            >= 0
        )

    # ------------------------------------------------------------------ feedback

    def _check_now(self, now_us: int) -> int:
        if type(now_us) is not int or not 0 <= now_us < MAX_TIME_US:
            now_us = check_int("now_us", now_us, min_value=0, max_value=MAX_TIME_US - 1)
        self._last_now_us = max(self._last_now_us, now_us)
        return now_us

    def on_feedback(
        self,
        feedback: TransportFeedback | CongestionControlFeedback | bytes,
        now_us: int,
    ) -> PacketReport | None:
        """Map one feedback packet onto the history; None when no packet matched.

        ``feedback`` may be raw bytes (either format, told apart by its FMT).
        """
        now = self._check_now(now_us)
        if isinstance(feedback, (bytes, bytearray, memoryview)):
            raw = bytes(feedback)
            if len(raw) >= 1 and (raw[0] & 0x1F) == 11:
                feedback = CongestionControlFeedback.parse(raw)
            else:
                feedback = TransportFeedback.parse(raw)
        if isinstance(feedback, TransportFeedback):
            n_max = feedback.packet_status_count
            seq, send, arr, size = _arrays(n_max)
            probe = np.empty(n_max, dtype=np.int32)
            flags = np.empty(n_max, dtype=np.uint8)
            n = self._core.process_twcc(
                feedback.base_seq,
                feedback.base_time_ticks,
                feedback.status,
                feedback.delta_ticks,
                now,
                seq,
                send,
                arr,
                size,
                probe,
                flags,
            )
        elif isinstance(feedback, CongestionControlFeedback):
            n_max = len(feedback)
            seq, send, arr, size = _arrays(n_max)
            probe = np.empty(n_max, dtype=np.int32)
            flags = np.empty(n_max, dtype=np.uint8)
            n, lo, hi = self._core.process_ccfb(
                feedback.report_timestamp,
                feedback.ssrc,
                feedback.seq,
                feedback.received.view(np.uint8),
                feedback.ato,
                now,
                seq,
                send,
                arr,
                size,
                probe,
                flags,
            )
            if n > 0 and hi >= lo:
                k = int(hi - lo + 1)
                iseq, isend, iarr, isize = _arrays(k)
                iprobe = np.empty(k, dtype=np.int32)
                iflags = np.empty(k, dtype=np.uint8)
                m = self._core.implicit_losses(lo, hi, iseq, isend, iarr, isize, iprobe, iflags)
                if m:
                    seq = np.concatenate([seq[:n], iseq[:m]])
                    send = np.concatenate([send[:n], isend[:m]])
                    arr = np.concatenate([arr[:n], iarr[:m]])
                    size = np.concatenate([size[:n], isize[:m]])
                    probe = np.concatenate([probe[:n], iprobe[:m]])
                    flags = np.concatenate([flags[:n], iflags[:m]])
                    n += m
                order = np.argsort(seq[:n], kind="stable")
                seq, send, arr, size = (a[:n][order] for a in (seq, send, arr, size))
                probe, flags = probe[:n][order], flags[:n][order]
        else:
            raise InputError(
                f"feedback: expected TransportFeedback, CongestionControlFeedback or bytes, "
                f"got {type(feedback).__name__}"
            )
        if n == 0:
            self.feedback_empty += 1
            return None
        self.feedback_count += 1
        self._last_feedback_us = now
        report = PacketReport(
            transport_seq=seq[:n],
            send_us=send[:n],
            arrival_us=arr[:n],
            size_bytes=size[:n],
            probe_cluster_id=probe[:n],
            lost_first_time=(flags[:n] & 1) != 0,
            recovered=(flags[:n] & 2) != 0,
            feedback_us=now,
            in_flight_bytes=int(self._core.in_flight_bytes),
        )
        lost = report.lost
        self.packets_acknowledged += n - lost
        self.packets_reported_lost += lost
        return report

    # ------------------------------------------------------------------ state

    @property
    def in_flight_bytes(self) -> int:
        """Bytes sent and not yet covered by feedback (libwebrtc ``GetOutstandingData``)."""
        return int(self._core.in_flight_bytes)

    @property
    def history_packets(self) -> int:
        """Packets in the send history."""
        return int(self._core.history_packets)

    @property
    def failed_lookups(self) -> int:
        """Reported packets that were not (or no longer) in the history."""
        return int(self._core.failed_lookups)

    @property
    def forgotten_packets(self) -> int:
        """Packets dropped from the history by the horizon or the capacity."""
        return int(self._core.n_forgotten)

    def health(self, now_us: int) -> FeedbackHealth:
        """How feedback is doing at ``now_us`` (see :class:`FeedbackStatus`)."""
        now = self._check_now(now_us)
        in_flight = self.in_flight_bytes
        since = None if self._last_feedback_us is None else max(0, now - self._last_feedback_us)
        if self._first_send_us is None:
            status = FeedbackStatus.OK if since is not None else FeedbackStatus.WAITING
        elif since is None:
            waited = now - self._first_send_us
            status = (
                FeedbackStatus.WAITING if waited <= self._stopped_us else FeedbackStatus.STOPPED
            )
        elif in_flight == 0 or since <= self._late_us:
            status = FeedbackStatus.OK
        elif since <= self._stopped_us:
            status = FeedbackStatus.LATE
        else:
            status = FeedbackStatus.STOPPED
        return FeedbackHealth(
            status, since, in_flight, self.feedback_count, self.packets_acknowledged
        )
