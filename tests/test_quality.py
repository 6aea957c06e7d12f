from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaopt.media import quality


def _image(seed: int, shape: tuple[int, ...] = (48, 64)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _ssim_reference(x: np.ndarray, y: np.ndarray) -> float:
    """Direct float64 2-D Gaussian-window SSIM (Wang et al. 2004), no shortcuts."""
    from numpy.lib.stride_tricks import sliding_window_view

    g = quality._gaussian_taps(11, 1.5)
    w = np.outer(g, g)

    def filt(m: np.ndarray) -> np.ndarray:
        return np.einsum("ijkl,kl->ij", sliding_window_view(m, (11, 11)), w)

    x = x.astype(np.float64)
    y = y.astype(np.float64)
    mx, my = filt(x), filt(y)
    vx = filt(x * x) - mx**2
    vy = filt(y * y) - my**2
    vxy = filt(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float(
        np.mean((2 * mx * my + c1) * (2 * vxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    )


def test_identical_frames_give_capped_psnr_and_unit_ssim() -> None:
    a = _image(1)
    assert quality.psnr(a, a.copy()) == quality.MAX_PSNR_DB == 100.0
    assert quality.ssim(a, a.copy()) == 1.0


@pytest.mark.parametrize("k", [1, 2, 5, 16, 40])
def test_uniform_offset_gives_known_psnr(k: int) -> None:
    a = np.full((40, 50), 100, dtype=np.uint8)
    b = a + np.uint8(k)
    assert quality.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / k**2), abs=1e-9)
    assert quality.mse(a, b) == pytest.approx(k * k)


@pytest.mark.parametrize("k", [1, 10, 60])
def test_offset_of_flat_image_gives_known_ssim(k: int) -> None:
    # flat images: no variance, so SSIM is the luminance term alone
    c = 90.0
    a = np.full((32, 32), c, dtype=np.uint8)
    b = np.full((32, 32), c + k, dtype=np.uint8)
    c1 = (0.01 * 255) ** 2
    expected = (2 * c * (c + k) + c1) / (c * c + (c + k) ** 2 + c1)
    assert quality.ssim(a, b) == pytest.approx(expected, abs=2e-5)
    assert quality._ssim_plane_numpy(a, b, 255.0) == pytest.approx(expected, abs=2e-5)


def test_psnr_of_known_mse() -> None:
    a = np.zeros((10, 10), dtype=np.uint8)
    b = a.copy()
    b[0, :] = 10  # MSE = 10 * 100 / 100 = 10
    assert quality.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 10.0))


@given(st.integers(0, 2**32 - 1), st.integers(1, 60))
def test_ssim_matches_direct_reference(seed: int, noise: int) -> None:
    rng = np.random.default_rng(seed)
    a = _image(seed, (24, 31))
    b = np.clip(a.astype(int) + rng.integers(-noise, noise + 1, a.shape), 0, 255).astype(np.uint8)
    ref = _ssim_reference(a, b)
    # numpy fallback: float32 window sums, documented agreement to about 1e-5
    assert quality._ssim_plane_numpy(a, b, 255.0) == pytest.approx(ref, abs=2e-5)
    if quality.COMPILED_SSIM:
        # compiled kernel: double precision throughout
        assert quality._ssim_plane(a, b, 255.0) == pytest.approx(ref, abs=1e-12)


def test_compiled_ssim_is_used_when_the_core_is_built() -> None:
    import os

    if os.environ.get("MEDIAOPT_EXPECT_CORE"):
        assert quality.COMPILED_SSIM


def test_compiled_kernel_handles_strided_and_odd_inputs() -> None:
    if not quality.COMPILED_SSIM:
        pytest.skip("compiled core not built")
    from mediaopt._core.quality import ssim_plane

    big = _image(9, (40, 60))
    a, b = big[::2, ::3], big[1::2, 1::3]  # non-contiguous views
    assert quality.ssim(a, b) == pytest.approx(_ssim_reference(a, b), abs=1e-12)
    with pytest.raises(ValueError, match="differ in shape"):
        ssim_plane(big[:20], big[:21])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim_plane(big[:10], big[:10])
    with pytest.raises(ValueError, match="peak"):
        ssim_plane(big, big, 0.0)
    # float images take the numpy path
    f = big.astype(np.float64)
    assert quality.ssim(f, f + 1.0) == pytest.approx(_ssim_reference(big, big), abs=1e-2)


def test_more_noise_lowers_both_metrics() -> None:
    rng = np.random.default_rng(3)
    a = _image(3)
    prev_p, prev_s = math.inf, math.inf
    for sigma in (2, 8, 30):
        b = np.clip(a + rng.normal(0, sigma, a.shape), 0, 255).astype(np.uint8)
        p, s = quality.psnr(a, b), quality.ssim(a, b)
        assert p < prev_p and s < prev_s
        prev_p, prev_s = p, s


def test_colour_ssim_is_channel_mean() -> None:
    a = _image(5, (30, 30, 3))
    b = _image(6, (30, 30, 3))
    per = [quality.ssim(a[..., c], b[..., c]) for c in range(3)]
    assert quality.ssim(a, b) == pytest.approx(np.mean(per))


def test_luma_of_rgb_matches_ffmpeg_conversion() -> None:
    av = pytest.importorskip("av")
    rgb = _image(7, (32, 48, 3))
    y_ff = quality.luma(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
    assert y_ff.shape == (32, 48)
    assert np.abs(y_ff.astype(int) - quality.luma(rgb).astype(int)).max() <= 1


def test_bad_inputs_raise() -> None:
    a = _image(1)
    with pytest.raises(ValueError, match="shape"):
        quality.psnr(a, a[:10])
    with pytest.raises(ValueError, match="at least 11x11"):
        quality.ssim(a[:5, :5], a[:5, :5] + 1)
    with pytest.raises(ValueError, match="dtype"):
        quality.psnr(np.array([["a"]]), np.array([["b"]]))
    with pytest.raises(ValueError, match="mse_value"):
        quality.psnr_from_mse(-1.0)
    with pytest.raises(ValueError, match="shape"):
        quality.luma(np.zeros((4, 4, 4), dtype=np.uint8))
