import numpy as np
import numpy.typing as npt

class PacerCore:
    queued_packets: int
    queued_bytes: int
    media_debt_bytes: int
    padding_debt_bytes: int
    pacing_bps: int
    padding_bps: int
    adjusted_media_bps: int
    last_send_us: int
    seen_first_packet: bool
    burst_interval_us: int
    queue_time_limit_us: int
    can_pad: bool
    padding_packet_bytes: int
    padding_sent_bytes: int
    probe_sent_bytes: int
    def __init__(
        self,
        now_us: int = 0,
        burst_interval_us: int = 40_000,
        queue_time_limit_us: int = 2_000_000,
        drain_large_queues: bool = True,
        account_for_audio: bool = False,
        padding_packet_bytes: int = 256,
        min_probe_packet_bytes: int = 200,
        max_probe_delay_us: int = 10_000,
    ) -> None: ...
    def push(self, kind: int, handle: int, size_bytes: int, now_us: int) -> None: ...
    def set_rates(self, pacing_bps: int, padding_bps: int, now_us: int) -> None: ...
    def set_can_pad(self, can_pad: bool, padding_packet_bytes: int) -> None: ...
    def add_probe(
        self,
        bitrate_bps: int,
        cluster_id: int,
        min_probes: int,
        min_bytes: int,
        now_us: int,
        min_probe_delta_us: int = 2_000,
    ) -> None: ...
    def next_send_us(self, now_us: int) -> int: ...
    def average_queue_us(self, now_us: int) -> int: ...
    @property
    def is_probing(self) -> bool: ...
    @property
    def pending_clusters(self) -> int: ...
    def process(
        self,
        now_us: int,
        out_handle: npt.NDArray[np.int64],
        out_kind: npt.NDArray[np.int32],
        out_size: npt.NDArray[np.int64],
        out_cluster: npt.NDArray[np.int32],
    ) -> int: ...
