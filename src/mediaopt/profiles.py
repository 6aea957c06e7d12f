"""``mediaopt.profiles``: a compatibility name for code written before the rooms.

The code lives in :mod:`mediaopt.media.profiles`.
"""

from mediaopt.media.profiles import (
    ContentProfile,
    HullPoint,
    ProfilePoint,
    ResolutionFit,
    bundled,
    bundled_names,
    load,
    measure,
    resolve,
)

__all__ = [
    "ContentProfile",
    "HullPoint",
    "ProfilePoint",
    "ResolutionFit",
    "bundled",
    "bundled_names",
    "load",
    "measure",
    "resolve",
]
