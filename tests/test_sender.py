"""The statistical video encoder, the content-quality model and the packetiser."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mediaopt._core.sender import MAX_PAYLOAD_BYTES, VideoSource, packetize, quality_db

FRAME_US = 33_333


def _encode_run(
    src: VideoSource, start: int, n: int, fps: float = 30.0, **kw: object
) -> list[dict]:
    out = []
    for i in range(start, start + n):
        f = src.encode(round(i * 1e6 / fps), 1280, 720, fps, **kw)  # type: ignore[arg-type]
        if f is not None:
            f["i"] = i
            out.append(f)
    return out


def test_mean_rate_follows_the_target() -> None:
    src = VideoSource(start_bps=1_000_000, seed=3)
    frames = _encode_run(src, 0, 900)
    bits = sum(f["size_bytes"] for f in frames) * 8
    assert bits / 30.0 == pytest.approx(1_000_000, rel=0.05)


def test_first_frame_is_a_keyframe_several_times_a_delta() -> None:
    src = VideoSource(start_bps=1_000_000, seed=1, keyframe_ratio=4.0)
    frames = _encode_run(src, 0, 60)
    assert frames[0]["keyframe"] and not any(f["keyframe"] for f in frames[1:])
    delta = np.median([f["size_bytes"] for f in frames[1:]])
    assert 3.0 < frames[0]["size_bytes"] / delta < 5.5


def test_sizes_are_noisy_but_seeded() -> None:
    a = [f["size_bytes"] for f in _encode_run(VideoSource(start_bps=800_000, seed=7), 0, 100)]
    b = [f["size_bytes"] for f in _encode_run(VideoSource(start_bps=800_000, seed=7), 0, 100)]
    c = [f["size_bytes"] for f in _encode_run(VideoSource(start_bps=800_000, seed=8), 0, 100)]
    assert a == b and a != c
    rel = np.std(a[10:]) / np.mean(a[10:])
    assert 0.03 < rel < 0.3


def test_rate_change_takes_effect_after_the_reaction_lag() -> None:
    src = VideoSource(start_bps=1_000_000, seed=2, reaction_lag_ms=200.0)
    _encode_run(src, 0, 60)
    src.request_rate(2_000_000, 60 * FRAME_US)
    assert src.encoder_bps == 1_000_000
    _encode_run(src, 60, 3)  # 100 ms later: still the old rate
    assert src.encoder_bps == 1_000_000
    _encode_run(src, 63, 6)  # 300 ms after the request
    assert src.encoder_bps == 2_000_000


def test_frames_are_dropped_when_output_runs_over_budget() -> None:
    src = VideoSource(start_bps=2_000_000, seed=4, reaction_lag_ms=500.0)
    _encode_run(src, 0, 60)
    assert src.frames_dropped == 0
    src.request_rate(300_000, 60 * FRAME_US)  # encoder keeps 2 Mbit/s for 0.5 s
    _encode_run(src, 60, 30)
    assert src.frames_dropped > 0


def test_keyframe_on_request_on_resolution_change_and_periodically() -> None:
    src = VideoSource(start_bps=500_000, seed=0)
    assert src.encode(0, 640, 360, 30.0)["keyframe"]  # type: ignore[index]
    assert not src.encode(FRAME_US, 640, 360, 30.0)["keyframe"]  # type: ignore[index]
    src.request_keyframe()
    assert src.encode(2 * FRAME_US, 640, 360, 30.0)["keyframe"]  # type: ignore[index]
    assert src.encode(3 * FRAME_US, 320, 180, 30.0)["keyframe"]  # type: ignore[index]
    keys = [f["i"] for f in _encode_run(src, 4, 200, keyframe_interval_s=2.0) if f["keyframe"]]
    assert keys and all(b - a == 60 for a, b in itertools.pairwise(keys))


@pytest.mark.parametrize(
    ("layers", "expected"),
    [(1, [1, 1, 1, 1]), (2, [1, 2, 1, 2]), (3, [1, 2, 1, 4])],
)
def test_temporal_layer_reference_structure(layers: int, expected: list[int]) -> None:
    src = VideoSource(start_bps=500_000, seed=0)
    fr = _encode_run(src, 0, 5, temporal_layers=layers)
    assert fr[0]["ref_offset"] == 0
    assert [f["ref_offset"] for f in fr[1:]] == expected


def test_quality_increases_with_rate_and_favours_lower_resolution_at_low_rates() -> None:
    q = [quality_db(r, 1280, 720, 30) for r in (200e3, 500e3, 1e6, 2e6, 4e6)]
    assert all(b > a for a, b in itertools.pairwise(q))
    # at 300 kbit/s 360p beats 720p; at 4 Mbit/s 720p beats 360p
    assert quality_db(300e3, 640, 360, 30) > quality_db(300e3, 1280, 720, 30)
    assert quality_db(4e6, 1280, 720, 30) > quality_db(4e6, 640, 360, 30)
    # anchor: 0.05 bit/pixel at full resolution is 38 dB
    assert quality_db(0.05 * 1280 * 720 * 30, 1280, 720, 30) == pytest.approx(38.0)


@given(
    st.floats(0, 1e9, allow_nan=False),
    st.integers(0, 4000),
    st.integers(0, 3000),
    st.floats(0.1, 120),
)
def test_quality_is_finite_and_bounded(rate: float, w: int, h: int, fps: float) -> None:
    q = quality_db(rate, w, h, fps)
    assert math.isfinite(q) and 10.0 <= q <= 60.0


def test_quality_rejects_zero_fps() -> None:
    with pytest.raises(ValueError, match="fps"):
        quality_db(1e6, 640, 360, 0)


@given(st.integers(0, 200_000))
def test_packetize_splits_evenly_under_the_payload_limit(size: int) -> None:
    parts = packetize(size)
    assert sum(parts) == size
    assert all(p <= MAX_PAYLOAD_BYTES for p in parts)
    assert max(parts) - min(parts) <= 1
    assert len(parts) == max(1, -(-size // MAX_PAYLOAD_BYTES))


def test_bad_parameters_raise() -> None:
    with pytest.raises(ValueError, match="start_bps"):
        VideoSource(start_bps=0)
    with pytest.raises(ValueError, match="keyframe_ratio"):
        VideoSource(keyframe_ratio=0.5)
