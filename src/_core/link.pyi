import numpy as np
import numpy.typing as npt

OPPORTUNITY_BYTES: int
CODEL_TARGET_MS: int
CODEL_INTERVAL_MS: int
QUEUE_KINDS: tuple[str, ...]
DIRECTIONS: tuple[str, ...]
LOSS_KINDS: tuple[str, ...]

class Link:
    def __init__(
        self,
        opportunities_us: npt.ArrayLike,
        period_us: int,
        *,
        repeat: bool = True,
        col_t_us: npt.ArrayLike | None = None,
        col_loss: npt.ArrayLike | None = None,
        col_delay_us: npt.ArrayLike | None = None,
        queue_kind: int = 0,
        limit_bytes: int = 0,
        limit_packets: int = 0,
        codel_target_ms: int = ...,
        codel_interval_ms: int = ...,
        delay_us: int = 0,
        delay_before_queue: bool = False,
        fifo_engine: bool = True,
        loss_kind: int = 0,
        loss_p: float = 0.0,
        ge_p_good_bad: float = 0.0,
        ge_p_bad_good: float = 0.0,
        ge_loss_good: float = 0.0,
        ge_loss_bad: float = 0.0,
        on_ms: int = 0,
        off_ms: int = 0,
        seed: int = 0,
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
