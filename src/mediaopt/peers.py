"""``mediaopt.peers``: a compatibility name for code written before the rooms.

The code lives in :mod:`mediaopt.replay.peers`.
"""

from mediaopt.replay.peers import (
    AiortcRemb,
    abs_send_time_24,
)

__all__ = [
    "AiortcRemb",
    "abs_send_time_24",
]
