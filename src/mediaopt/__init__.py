"""mediaopt: keep real-time video consultations usable on weak networks.

The compiled core (``mediaopt._core``) runs the per-packet work; this package is the API.
See ``docs/architecture.md`` for the data path.
"""

from mediaopt import content, encoders, quality
from mediaopt._version import __version__
from mediaopt.core import core_info
from mediaopt.encoders import Decoder, EncodedFrame, Encoder

#: Arrival time that marks a lost packet, in every ``*_us`` array.
LOST: int = -1

__all__ = [
    "LOST",
    "Decoder",
    "EncodedFrame",
    "Encoder",
    "__version__",
    "content",
    "core_info",
    "encoders",
    "quality",
]
