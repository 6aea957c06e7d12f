import numpy as np
import numpy.typing as npt

class FeedbackAdapterCore:
    last_ack_seq: int
    in_flight_bytes: int
    failed_lookups: int
    n_forgotten: int
    def __init__(self, horizon_us: int = 60_000_000, max_packets: int = 262144) -> None: ...
    def on_sent(
        self,
        transport_seq: int,
        send_us: int,
        size_bytes: int,
        probe_cluster: int,
        ssrc: int,
        rtp_seq: int,
        ect1: bool,
    ) -> int: ...
    def process_twcc(
        self,
        base_seq: int,
        base_time_ticks: int,
        status: npt.NDArray[np.uint8],
        deltas: npt.NDArray[np.int16],
        now_us: int,
        out_seq: npt.NDArray[np.int64],
        out_send: npt.NDArray[np.int64],
        out_arrival: npt.NDArray[np.int64],
        out_size: npt.NDArray[np.int64],
        out_probe: npt.NDArray[np.int32],
        out_flags: npt.NDArray[np.uint8],
    ) -> int: ...
    def process_ccfb(
        self,
        report_timestamp: int,
        ssrc: npt.NDArray[np.uint32],
        rtp_seq: npt.NDArray[np.uint16],
        received: npt.NDArray[np.uint8],
        ato: npt.NDArray[np.uint16],
        now_us: int,
        out_seq: npt.NDArray[np.int64],
        out_send: npt.NDArray[np.int64],
        out_arrival: npt.NDArray[np.int64],
        out_size: npt.NDArray[np.int64],
        out_probe: npt.NDArray[np.int32],
        out_flags: npt.NDArray[np.uint8],
    ) -> tuple[int, int, int]: ...
    def implicit_losses(
        self,
        lo: int,
        hi: int,
        out_seq: npt.NDArray[np.int64],
        out_send: npt.NDArray[np.int64],
        out_arrival: npt.NDArray[np.int64],
        out_size: npt.NDArray[np.int64],
        out_probe: npt.NDArray[np.int32],
        out_flags: npt.NDArray[np.uint8],
    ) -> int: ...
    @property
    def history_packets(self) -> int: ...
