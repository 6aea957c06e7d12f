"""``mediaopt.content``: a compatibility name for code written before the rooms.

The code lives in :mod:`mediaopt.media.content`.
"""

from mediaopt.media.content import (
    KINDS,
    count_frames,
    frames,
    read,
    synthetic,
)

__all__ = [
    "KINDS",
    "count_frames",
    "frames",
    "read",
    "synthetic",
]
