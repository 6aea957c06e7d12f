from collections.abc import Sequence
from typing import Any

import numpy.typing as npt

class AdaptationCore:
    def __init__(
        self,
        widths: Sequence[int],
        heights: Sequence[int],
        fps: Sequence[float],
        need_bps: Sequence[int],
        max_bps: Sequence[int],
        *,
        up_margin: float = 0.15,
        down_margin: float = 0.1,
        up_dwell_s: float = 4.0,
        down_dwell_s: float = 0.0,
        up_max_steps: int = 1,
        start_dwell_s: float = 4.0,
        start_caps: Sequence[tuple[int, int]] = (),
        min_bps: int = 0,
        max_bps_cap: int = 0,
        protection: str = "nack_fec",
        low_rtt_nack_ms: int = 20,
        high_rtt_nack_ms: int = -1,
        loss_bins: int = 10,
        loss_bin_s: float = 1.0,
        max_payload_bytes: int = 1460,
        overhead_cap: float = 0.5,
        nack_overhead_factor: float = 1.0,
        keyframe_interval_s: float = 0.0,
        keyframe_on_loss: bool = True,
        keyframe_min_gap_s: float = 1.0,
        temporal_layers: int = 1,
    ) -> None: ...
    @property
    def state_index(self) -> int: ...
    @property
    def filtered_loss(self) -> float: ...
    @property
    def states(self) -> list[tuple[int, int, float, int, int]]: ...
    def reset(self) -> None: ...
    def decide(
        self, target_bps: int, loss: float, rtt_us: int, now_us: int
    ) -> tuple[int, int, int, float, float, bool, float, bool, int]: ...

class EncoderSettings:
    def __init__(
        self,
        bitrate_bps: int,
        width: int,
        height: int,
        fps: float,
        keyframe_interval_s: float = 0.0,
        request_keyframe: bool = False,
        fec_rate: float = 0.0,
        nack: bool = False,
        temporal_layers: int = 1,
    ) -> None: ...
    @property
    def bitrate_bps(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def fps(self) -> float: ...
    @property
    def keyframe_interval_s(self) -> float: ...
    @property
    def request_keyframe(self) -> bool: ...
    @property
    def fec_rate(self) -> float: ...
    @property
    def nack(self) -> bool: ...
    @property
    def temporal_layers(self) -> int: ...
    def as_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class Adaptation:
    @property
    def core(self) -> AdaptationCore: ...
    def __init__(self, core: AdaptationCore) -> None: ...
    def update(
        self, target_bps: float, loss: float, rtt_us: int, now_us: int
    ) -> EncoderSettings: ...
    def update_many(
        self,
        target_bps: npt.ArrayLike,
        loss: npt.ArrayLike,
        rtt_us: npt.ArrayLike,
        now_us: npt.ArrayLike,
    ) -> dict[str, npt.NDArray[Any]]: ...
    def reset(self) -> None: ...
