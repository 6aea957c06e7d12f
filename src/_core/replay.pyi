from typing import Any

import numpy as np
from mediaopt._core.adaptation import AdaptationCore
from mediaopt._core.gcc import GccEstimator
from mediaopt._core.link import Link

class ReplayLoop:
    packets_sent: int
    packets_lost: int
    retransmissions: int
    fec_packets: int
    padding_packets: int
    feedback_sent: int
    feedback_lost: int
    plis_received: int
    def __init__(
        self,
        link: Link,
        adaptation: AdaptationCore,
        duration_us: int,
        *,
        estimator: GccEstimator | None = None,
        py_estimator: Any = None,
        start_bps: int = 300_000,
        seed: int = 0,
        one_way_delay_us: int = 50_000,
        reverse_delay_t_us: Any = None,
        reverse_delay_us: Any = None,
        reverse_period_us: int = 0,
        feedback_interval_us: int = 50_000,
        feedback_loss: float = 0.0,
        interval_us: int = 100_000,
        audio_bps: int = 32_000,
        audio_interval_us: int = 20_000,
        max_width: int = 1280,
        max_height: int = 720,
        source_options: dict[str, Any] | None = None,
        reverse_link: Link | None = None,
    ) -> None: ...
    def run(self) -> None: ...
    def frame_arrays(self) -> dict[str, np.ndarray]: ...
    def interval_arrays(self) -> dict[str, np.ndarray]: ...
    def stats(self) -> dict[str, int]: ...
    @property
    def target_bps(self) -> int: ...
