import enum

from mediaopt.bwe import GccConfig

class BandwidthUsage(str, enum.Enum):
    NORMAL = "normal"
    UNDERUSING = "underusing"
    OVERUSING = "overusing"

BANDWIDTH_USAGE: tuple[BandwidthUsage, BandwidthUsage, BandwidthUsage]

class TrendlineEstimator:
    def __init__(
        self,
        window_size: int = 20,
        smoothing: float = 0.9,
        threshold_gain: float = 4.0,
        *,
        config: GccConfig | None = None,
    ) -> None: ...
    def update(
        self,
        recv_delta_us: float,
        send_delta_us: float,
        send_us: int,
        arrival_us: int,
        size_bytes: int = 1200,
    ) -> BandwidthUsage: ...
    @property
    def state(self) -> BandwidthUsage: ...
    @property
    def threshold_ms(self) -> float: ...
    @property
    def modified_trend(self) -> float: ...
    @property
    def num_deltas(self) -> int: ...
