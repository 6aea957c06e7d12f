from typing import Any

import numpy as np
import numpy.typing as npt

ATO_OVER_RANGE: int
ATO_UNAVAILABLE: int

def twcc_from_arrivals(
    base_seq: int,
    ref_us: int,
    seqs: npt.ArrayLike,
    arrival_us: npt.ArrayLike,
    include_timestamps: bool = True,
    max_size_bytes: int = 262144,
) -> tuple[int, int, npt.NDArray[np.uint8], npt.NDArray[np.int16]]: ...
def twcc_encode(
    base_seq: int,
    base_time_ticks: int,
    fb_count: int,
    sender_ssrc: int,
    media_ssrc: int,
    status: npt.ArrayLike,
    delta_ticks: npt.ArrayLike,
    include_timestamps: bool = True,
) -> bytes: ...
def twcc_parse(
    data: Any,
) -> tuple[int, int, int, int, int, bool, npt.NDArray[np.uint8], npt.NDArray[np.int16]]: ...
def ccfb_parse(
    data: Any,
) -> tuple[
    int,
    int,
    npt.NDArray[np.uint32],
    npt.NDArray[np.uint16],
    npt.NDArray[np.bool_],
    npt.NDArray[np.uint8],
    npt.NDArray[np.uint16],
]: ...
def ccfb_block_length(ssrc: npt.ArrayLike, seq: npt.ArrayLike) -> int: ...
def ccfb_encode(
    sender_ssrc: int,
    report_timestamp: int,
    ssrc: npt.ArrayLike,
    seq: npt.ArrayLike,
    arrival_offset_us: npt.ArrayLike,
    ecn: npt.ArrayLike,
) -> bytes: ...
def ato_to_us(ato: npt.ArrayLike) -> npt.NDArray[np.int64]: ...
def rtp_read_extension(packet: Any, ext_id_obj: int) -> bytes | None: ...
def rtp_transport_seq(packet: Any, ext_id_obj: int) -> int: ...
def rtp_write_transport_seq(packet: Any, ext_id_obj: int, seq_obj: int) -> bytes: ...
