from typing import Any

import numpy as np
import numpy.typing as npt
from mediaopt._core.gcc_config import GccConstants
from mediaopt._core.trendline import BandwidthUsage
from numpy.typing import ArrayLike

from mediaopt.bwe import GccConfig

class GccEstimator:
    start_bps: int
    min_bps: int
    max_bps: int
    def __init__(
        self,
        start_bps: int = 300_000,
        min_bps: int = 30_000,
        max_bps: int = 30_000_000,
        config: GccConfig | None = None,
    ) -> None: ...
    def on_feedback(
        self,
        send_us: ArrayLike,
        arrival_us: ArrayLike,
        size_bytes: ArrayLike,
        now_us: int,
        probe_cluster_id: ArrayLike | None = None,
    ) -> int: ...
    def on_feedback_reports(
        self,
        send_us: ArrayLike,
        arrival_us: ArrayLike,
        size_bytes: ArrayLike,
        report_sizes: ArrayLike,
        report_now_us: ArrayLike,
        probe_cluster_id: ArrayLike | None = None,
        process: bool = True,
    ) -> npt.NDArray[np.int64]: ...
    def on_packet_sent(self, send_us: int, size_bytes: int, probe_cluster_id: int = -1) -> None: ...
    def set_rtt(self, rtt_us: int, now_us: int) -> None: ...
    def process(self, now_us: int) -> None: ...
    def pop_probes(self, now_us: int) -> list[dict[str, int]]: ...
    @property
    def target_bps(self) -> int: ...
    @property
    def pacing_bps(self) -> int: ...
    @property
    def loss_ratio(self) -> float: ...
    @property
    def fraction_loss(self) -> int: ...
    @property
    def delay_state(self) -> BandwidthUsage: ...
    @property
    def delay_based_bps(self) -> int: ...
    @property
    def acknowledged_bps(self) -> int | None: ...
    @property
    def rtt_us(self) -> int: ...
    @property
    def loss_based_state(self) -> str: ...
    @property
    def in_alr(self) -> bool: ...
    @property
    def config(self) -> GccConfig | GccConstants: ...
    @property
    def stats(self) -> dict[str, Any]: ...
