from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt

from mediaopt.traces.link import LinkConfig
from mediaopt.traces.loss import GilbertElliott, OnOffLoss
from mediaopt.traces.model import Trace

OPPORTUNITY_BYTES: int
CODEL_TARGET_MS: int
CODEL_INTERVAL_MS: int
QUEUE_KINDS: tuple[str, ...]
DIRECTIONS: tuple[str, ...]

class Link:
    def __init__(
        self,
        trace: Trace | str | PathLike[str],
        one_way_delay_ms: float = ...,
        queue: str | None = ...,
        *,
        queue_bytes: int | None = ...,
        queue_packets: int | None = ...,
        queue_ms: float | None = ...,
        loss: float | GilbertElliott | OnOffLoss = ...,
        repeat: bool = ...,
        seed: int = ...,
        direction: str = ...,
        codel_target_ms: int = ...,
        codel_interval_ms: int = ...,
        engine: str = ...,
    ) -> None: ...
    def transmit(
        self, send_us: npt.ArrayLike, size_bytes: npt.ArrayLike
    ) -> npt.NDArray[np.int64]: ...
    def enqueue(self, send_us: int, size_bytes: int, tag: int) -> bool: ...
    def advance(self, until_us: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    def capacity_bps(self, t0_us: int, t1_us: int) -> int: ...
    @property
    def queued_bytes(self) -> int: ...
    @property
    def stats(self) -> dict[str, int]: ...
    @property
    def trace(self) -> Trace: ...
    @property
    def config(self) -> LinkConfig: ...
    def _configure(self, cfg: Any) -> None: ...
