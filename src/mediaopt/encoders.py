"""``mediaopt.encoders``: a compatibility name for code written before the rooms.

The code lives in :mod:`mediaopt.media.encoders` and :mod:`mediaopt.replay.fidelity`.
"""

from mediaopt.media.encoders import (
    DECODERS,
    ENCODERS,
    Decoder,
    EncodedFrame,
    Encoder,
    Reconfigure,
    available_codecs,
    round_trip,
)
from mediaopt.replay.fidelity import (
    EncodedReplay,
    FidelityResult,
    check_replay,
    replay_encoded,
)

__all__ = [
    "DECODERS",
    "ENCODERS",
    "Decoder",
    "EncodedFrame",
    "EncodedReplay",
    "Encoder",
    "FidelityResult",
    "Reconfigure",
    "available_codecs",
    "check_replay",
    "replay_encoded",
    "round_trip",
]
