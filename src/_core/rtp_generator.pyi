import numpy as np
import numpy.typing as npt

class TwccGeneratorCore:
    last_process_us: int
    interval_us: int
    media_ssrc: int
    fb_count: int
    def __init__(self, interval_us: int = 100_000, max_size_bytes: int = 1200) -> None: ...
    def on_received(self, transport_seq: int, arrival_us: int, ssrc: int) -> None: ...
    def poll(self, now_us: int, sender_ssrc: int) -> list[bytes]: ...
    def set_interval(self, interval_us: int) -> None: ...
    def interval_for_estimate(self, estimate_bps: int) -> int: ...
    @property
    def window(self) -> tuple[int | None, int, int]: ...

class CcfbGeneratorCore:
    next_possible_us: int
    def __init__(
        self,
        min_between_us: int = 25_000,
        max_wait_marker_us: int = 25_000,
        max_between_us: int = 500_000,
        max_rate_bps: int = 500_000,
        ntp_offset_us: int = 0,
    ) -> None: ...
    def on_received(
        self, ssrc: int, rtp_seq: int, arrival_us: int, marker: bool, ecn: int
    ) -> bool: ...
    def due(self, now_us: int) -> bool: ...
    def next_feedback_us(self, now_us: int) -> int: ...
    def send(
        self, now_us: int
    ) -> tuple[
        int,
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
    ]: ...
    @property
    def stats(self) -> dict[int, dict[str, int]]: ...
