"""The full-fidelity check of a replayed session against real encodes (replay/fidelity.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import mediaopt as mo
from mediaopt.replay import fidelity


def _log(n: int, fps: int, lost: range, big: int, small: tuple[int, int]) -> SimpleNamespace:
    """A replay-like frame log: steady 300 kbps, a resolution drop, a stretch never rendered."""
    cap = (np.arange(n) * 1_000_000 // fps).astype(np.int64)
    ren = cap + 80_000
    ren[list(lost)] = -1
    wid = np.full(n, big, dtype=np.int32)
    hei = np.full(n, big * 9 // 16, dtype=np.int32)
    wid[n // 2 :], hei[n // 2 :] = small
    key = np.zeros(n, dtype=bool)
    key[0] = key[n // 2] = True
    size = np.full(n, 300_000 // 8 // fps, dtype=np.int64)
    size[key] *= 4
    return SimpleNamespace(
        capture_us=cap,
        render_us=ren,
        size_bytes=size,
        width=wid,
        height=hei,
        keyframe=key,
        quality_db=np.full(n, 36.0),
    )


def test_check_replay_measures_what_the_viewer_saw() -> None:
    fps, n = 30, 60
    log = _log(n, fps, range(12, 24), 320, (192, 108))
    res = fidelity.check_replay(log, "endoscope", codec="h264", fps=fps)
    assert res.real_size_bytes.shape == (n,) and np.all(res.real_size_bytes > 0)
    assert np.all(np.isfinite(res.real_psnr_db))
    ticks = res.shown_psnr_db
    # nothing is shown before the first render (80 ms = 2.4 ticks)
    assert np.isnan(ticks[:2]).all() and np.isfinite(ticks[3:]).all()
    # fluid playback: each tick shows the frame rendered 80 ms after capture, compared
    # with its own source, so shown quality is exactly the encoded frame's quality
    np.testing.assert_allclose(ticks[3:15], res.real_psnr_db[0:12])
    # frames 12..23 never render: the picture freezes on frame 11 while the source moves
    frozen = ticks[15:27]
    assert frozen.max() < ticks[3:15].min() - 5.0
    np.testing.assert_allclose(ticks[27:33], res.real_psnr_db[24:30])
    summary = res.summary()
    assert summary["model_quality_mean_db"] == pytest.approx(36.0)
    assert summary["quality_error_db"] == pytest.approx(summary["encoded_psnr_mean_db"] - 36.0)
    assert 0.5 < summary["size_ratio"] < 1.5
    assert summary["delivered_psnr_mean_db"] < summary["encoded_psnr_mean_db"]


def test_check_replay_scale_and_errors() -> None:
    log = _log(20, 30, range(0), 320, (160, 90))
    half = fidelity.check_replay(log, "talking_head", fps=30, scale=0.5, measure_every=4)
    assert np.isfinite(half.shown_psnr_db[4::4][1:]).all()
    assert np.isnan(half.shown_psnr_db[1::4]).all()
    empty = SimpleNamespace(**{k: np.zeros(0) for k in vars(log)})
    with pytest.raises(ValueError, match="empty"):
        fidelity.check_replay(empty, "talking_head")
    with pytest.raises(ValueError, match="scale"):
        fidelity.check_replay(log, "talking_head", scale=2.0)


def test_check_replay_on_a_real_replay() -> None:
    tr = mo.traces.constant(800, 4.0)
    res = mo.replay(tr, "consult", seed=0)
    fid = fidelity.check_replay(res.frames, "talking_head", scale=0.25, measure_every=5)
    s = fid.summary()
    assert fid.real_size_bytes.shape == res.frames.capture_us.shape
    assert s["model_quality_mean_db"] == pytest.approx(res.metrics["quality_mean"])
    assert np.isfinite(s["delivered_psnr_mean_db"]) and 0.0 < s["delivered_ssim_mean"] <= 1.0
    assert 0.3 < s["size_ratio"] < 3.0
