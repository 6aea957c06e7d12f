from typing import Any

def quality_db(
    bitrate_bps: float,
    width: int,
    height: int,
    fps: float,
    ref_width: int = 1280,
    ref_height: int = 720,
) -> float: ...
def packetize(size_bytes: int) -> list[int]: ...

PACKET_OVERHEAD_BYTES: int
MAX_PAYLOAD_BYTES: int

class VideoSource:
    noise_std: float
    keyframe_ratio: float
    reaction_lag_us: int
    drop_window_s: float
    payback_s: float
    ref_width: int
    ref_height: int
    min_frame_bytes: int
    encoder_bps: int
    requested_bps: int
    frames_encoded: int
    frames_dropped: int
    def __init__(
        self,
        *,
        start_bps: int = 300_000,
        seed: int = 0,
        noise_std: float = 0.1,
        keyframe_ratio: float = 4.0,
        reaction_lag_ms: float = 200.0,
        drop_window_s: float = 0.15,
        payback_s: float = 1.0,
        ref_width: int = 1280,
        ref_height: int = 720,
        min_frame_bytes: int = 60,
        content_table: tuple[Any, Any, Any, Any, Any] | None = None,
        size_factors: tuple[Any, Any] | None = None,
    ) -> None: ...
    def content_db(self, bitrate_bps: float, width: int, height: int, fps: float) -> float: ...
    def request_rate(self, bitrate_bps: int, now_us: int) -> None: ...
    def request_keyframe(self) -> None: ...
    def encode(
        self,
        now_us: int,
        width: int,
        height: int,
        fps: float,
        keyframe_interval_s: float = 0.0,
        temporal_layers: int = 1,
    ) -> dict[str, object] | None: ...
