PACKET_LOSS_MAX: int
FEC_RATE_TABLE_SIZE: int
LOW_RTT_NACK_MS: int

def fec_rate_table() -> list[int]: ...
def bits_per_frame_kbits(bitrate_kbps: float, fps: float, temporal_layers: int = 1) -> int: ...
def fec_factor_delta(
    loss_255: int,
    bitrate_kbps: float,
    fps: float,
    width: int,
    height: int,
    temporal_layers: int = 1,
    max_payload_bytes: int = 1460,
) -> tuple[int, float]: ...
def protection_factor(
    method: str,
    loss_255: int,
    bitrate_kbps: float,
    fps: float,
    width: int,
    height: int,
    temporal_layers: int = 1,
    rtt_ms: int = 0,
    low_rtt_nack_ms: int = 20,
    high_rtt_nack_ms: int = -1,
    max_payload_bytes: int = 1460,
) -> tuple[int, float]: ...
