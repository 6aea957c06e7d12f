"""mediaopt.rtp: the congestion-control feedback path of a real client.

Wire formats (each parser raises :class:`mediaopt.InputError` naming the problem):
:class:`TransportFeedback` (transport-cc, RTPFB FMT 15), :class:`CongestionControlFeedback`
(RFC 8888, RTPFB FMT 11), the transport-wide sequence number header extension
(:func:`read_transport_seq`, :func:`write_transport_seq`) and compound RTCP
(:func:`split_compound`, :func:`partition_feedback`).

The feedback loop: the sender's :class:`FeedbackAdapter` (send history -> the arrays
``GccEstimator.on_feedback`` takes, and :meth:`FeedbackAdapter.health`), the receiver's
:class:`FeedbackGenerator`, and the real-time :class:`Pacer` with its asyncio
:class:`PacerDriver`. :class:`RealtimeLink` shapes datagrams through a trace for tests.
``docs/embedding.md`` shows what to call on send, on receive, on feedback and on each tick.
"""

from mediaopt.rtp.adapter import FeedbackAdapter, FeedbackHealth, FeedbackStatus, PacketReport
from mediaopt.rtp.clock import MonotonicClock
from mediaopt.rtp.generator import FeedbackGenerator
from mediaopt.rtp.header_extension import (
    TRANSPORT_WIDE_CC_URI,
    read_extension,
    read_transport_seq,
    write_transport_seq,
)
from mediaopt.rtp.link import RealtimeLink
from mediaopt.rtp.pacer import Pacer, PacerDriver, PacketKind, Released
from mediaopt.rtp.rfc8888 import CongestionControlFeedback, EcnMarking
from mediaopt.rtp.rtcp import is_congestion_feedback, partition_feedback, split_compound
from mediaopt.rtp.transport_cc import TransportFeedback

__all__ = [
    "TRANSPORT_WIDE_CC_URI",
    "CongestionControlFeedback",
    "EcnMarking",
    "FeedbackAdapter",
    "FeedbackGenerator",
    "FeedbackHealth",
    "FeedbackStatus",
    "MonotonicClock",
    "Pacer",
    "PacerDriver",
    "PacketKind",
    "PacketReport",
    "RealtimeLink",
    "Released",
    "TransportFeedback",
    "is_congestion_feedback",
    "partition_feedback",
    "read_extension",
    "read_transport_seq",
    "split_compound",
    "write_transport_seq",
]
