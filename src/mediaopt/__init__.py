"""mediaopt: keep real-time video consultations usable on weak networks.

The compiled core (``mediaopt._core``) runs the per-packet work; this package is the API,
one room per idea (``docs/architecture.md``). ``import mediaopt`` stays light: the rooms
that need pandas, matplotlib or PyAV load when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mediaopt import bwe, policies, sla, traces
from mediaopt._version import __version__
from mediaopt.bwe import GccEstimator
from mediaopt.core import core_info
from mediaopt.errors import InputError
from mediaopt.policies import Adaptation, EncoderSettings
from mediaopt.replay import ReplayResult, replay
from mediaopt.study import Study, study
from mediaopt.traces import Network
from mediaopt.traces.link import Link

if TYPE_CHECKING:
    from mediaopt import content, encoders, metrics, peers, profiles, quality
    from mediaopt.media.encoders import Decoder, EncodedFrame, Encoder

#: Arrival time that marks a lost packet, in every ``*_us`` array.
LOST: int = -1

# Loaded on first use (PEP 562), so that ``import mediaopt`` does not pay for them.
_LAZY_MODULES = {
    "content": "mediaopt.content",
    "encoders": "mediaopt.encoders",
    "metrics": "mediaopt.metrics",
    "peers": "mediaopt.peers",
    "profiles": "mediaopt.profiles",
    "quality": "mediaopt.quality",
    "media": "mediaopt.media",
    "report": "mediaopt.report",
}
_LAZY_NAMES = {
    "Decoder": "mediaopt.media.encoders",
    "EncodedFrame": "mediaopt.media.encoders",
    "Encoder": "mediaopt.media.encoders",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        module = importlib.import_module(_LAZY_MODULES[name])
        globals()[name] = module
        return module
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mediaopt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))


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
    "Network",
    "ReplayResult",
    "Study",
    "__version__",
    "bwe",
    "content",
    "core_info",
    "encoders",
    "metrics",
    "peers",
    "policies",
    "profiles",
    "quality",
    "replay",
    "sla",
    "study",
    "traces",
]
