"""Closed-loop replay: what a policy would have done to a call on a recorded network.

:func:`replay` (in ``loop``) runs one session through the compiled loop and scores it;
``metrics`` holds the frame and interval logs and the session metrics of
``docs/metrics.md``; ``peers`` the estimators compared in the same loop (aiortc's REMB);
``fidelity`` the full-fidelity replay over real encodes; ``regression`` the golden
call-quality results benchmark CI compares against.
"""

from mediaopt.replay.fidelity import EncodedReplay, FidelityResult, check_replay, replay_encoded
from mediaopt.replay.loop import ReplayResult, replay

__all__ = [
    "EncodedReplay",
    "FidelityResult",
    "ReplayResult",
    "check_replay",
    "replay",
    "replay_encoded",
]
