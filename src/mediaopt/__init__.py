"""mediaopt: keep real-time video consultations usable on weak networks.

The compiled core (``mediaopt._core``) runs the per-packet work; this package is the API.
See ``docs/architecture.md`` for the data path.
"""

from mediaopt import content, encoders, policies, quality, traces
from mediaopt._core.link import Link
from mediaopt._version import __version__
from mediaopt.adaptation import Adaptation, EncoderSettings
from mediaopt.bwe import GccEstimator
from mediaopt.core import core_info
from mediaopt.encoders import Decoder, EncodedFrame, Encoder
from mediaopt.errors import InputError
from mediaopt.replay import ReplayResult, replay

#: Arrival time that marks a lost packet, in every ``*_us`` array.
LOST: int = -1

__all__ = [
    "LOST",
    "Adaptation",
    "Decoder",
    "EncodedFrame",
    "Encoder",
    "EncoderSettings",
    "GccEstimator",
    "InputError",
    "Link",
    "ReplayResult",
    "__version__",
    "content",
    "core_info",
    "encoders",
    "policies",
    "quality",
    "replay",
    "traces",
]
