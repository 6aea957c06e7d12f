class InterArrivalDelta:
    def __init__(
        self,
        send_time_group_length_us: int = 5_000,
        burst_delta_threshold_us: int = 5_000,
        max_burst_duration_us: int = 100_000,
        arrival_time_offset_threshold_us: int = 3_000_000,
        reordered_reset_threshold: int = 3,
    ) -> None: ...
    def compute_deltas(
        self, send_us: int, arrival_us: int, system_us: int, size_bytes: int
    ) -> tuple[int, int, int] | None: ...
    def reset(self) -> None: ...
