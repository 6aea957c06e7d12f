"""Picture quality between a source frame and what the receiver decoded: PSNR and SSIM.

Both metrics take two arrays of the same shape and dtype ``uint8`` (a luma plane, an
RGB image, a whole I420 buffer): the *reference* (what the encoder was given) and the
*distorted* frame (what the decoder produced). mediaopt reports quality on the **luma
plane of the encoder's yuv420p input**, so the codec's distortion is measured alone, not
mixed with the loss of RGB -> 4:2:0 conversion (``luma`` extracts that plane).

* PSNR is ``10 log10(255^2 / MSE)`` in dB, capped at :data:`MAX_PSNR_DB` (100 dB, the cap
  libvpx's own PSNR reports use) so identical frames give a finite number.
* SSIM is Wang, Bovik, Sheikh and Simoncelli (IEEE TIP 2004): an 11x11 Gaussian window
  with sigma 1.5, ``K1 = 0.01``, ``K2 = 0.03``, ``L = 255``, computed on the *valid*
  region (no padding) and averaged; identical frames give exactly 1.

SSIM runs in the compiled core (``mediaopt._core.quality``: one streaming pass in double
precision, about 50 ms for a 1280x720 plane) and falls back to vectorised numpy
(separable Gaussian filtering of five moment maps in float32, about four times slower,
agreeing to about 1e-5) when the core is not built.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from mediaopt.errors import InputError

#: PSNR reported for identical frames (dB). libvpx caps its PSNR statistics at 100 dB too.
MAX_PSNR_DB: float = 100.0
#: Peak sample value of 8-bit video.
PEAK: float = 255.0
#: SSIM constants from Wang et al. 2004.
SSIM_K1: float = 0.01
SSIM_K2: float = 0.03
#: Gaussian window of the reference SSIM implementation: 11 taps, sigma 1.5.
SSIM_WINDOW: int = 11
SSIM_SIGMA: float = 1.5

__all__ = [
    "MAX_PSNR_DB",
    "luma",
    "mse",
    "psnr",
    "psnr_from_mse",
    "ssim",
]


def _pair(reference: Any, distorted: Any) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    ref = _as_image("reference", reference)
    dis = _as_image("distorted", distorted)
    if ref.shape != dis.shape:
        raise InputError(f"reference and distorted differ in shape: {ref.shape} vs {dis.shape}")
    return ref, dis


def _as_image(name: str, value: Any) -> npt.NDArray[Any]:
    if hasattr(value, "to_ndarray") and hasattr(value, "planes"):
        # an av.VideoFrame: compare luma, as everywhere else in mediaopt
        return luma(value)
    arr = np.asarray(value)
    if arr.dtype.kind not in "uif":
        raise InputError(f"{name}: expected a numeric image array, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise InputError(f"{name}: expected a 2-D or 3-D non-empty image, got shape {arr.shape}")
    return arr


def luma(frame: Any) -> npt.NDArray[np.uint8]:
    """Return the luma (Y) plane of ``frame`` as an ``(H, W)`` uint8 array.

    ``frame`` is an ``av.VideoFrame`` (converted to yuv420p when needed), an I420 buffer
    of shape ``(H * 3 // 2, W)`` is NOT guessed: pass the plane you want instead. An
    ``(H, W, 3)`` RGB array is converted with the BT.601 limited-range matrix FFmpeg uses
    by default, so the result equals the Y plane the encoder sees.
    """
    if hasattr(frame, "to_ndarray") and hasattr(frame, "planes"):
        f = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
        plane = f.planes[0]
        h, w = f.height, f.width
        buf = np.frombuffer(memoryview(plane), dtype=np.uint8)
        out: npt.NDArray[np.uint8] = buf.reshape(h, plane.line_size)[:, :w].copy()
        return out
    arr = np.asarray(frame)
    if arr.ndim == 2:
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 3:
        rgb = arr.astype(np.float32)
        y = 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0
        y8: npt.NDArray[np.uint8] = np.clip(np.rint(y), 0, 255).astype(np.uint8)
        return y8
    raise InputError(f"frame: expected (H, W) or (H, W, 3), got shape {arr.shape}")


def mse(reference: Any, distorted: Any) -> float:
    """Mean squared error between two same-shaped images."""
    ref, dis = _pair(reference, distorted)
    d = ref.astype(np.float64) - dis.astype(np.float64)
    return float(np.mean(d * d))


def psnr_from_mse(mse_value: float, peak: float = PEAK) -> float:
    """PSNR in dB for a mean squared error, capped at :data:`MAX_PSNR_DB`."""
    if not math.isfinite(mse_value) or mse_value < 0:
        raise InputError(f"mse_value: must be finite and >= 0, got {mse_value!r}")
    if mse_value <= 0.0:
        return MAX_PSNR_DB
    return min(MAX_PSNR_DB, 10.0 * math.log10(peak * peak / mse_value))


def psnr(reference: Any, distorted: Any, peak: float = PEAK) -> float:
    """Peak signal-to-noise ratio in dB (capped at :data:`MAX_PSNR_DB` for equal frames)."""
    return psnr_from_mse(mse(reference, distorted), peak)


def _gaussian_taps(size: int, sigma: float) -> npt.NDArray[np.float64]:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return np.asarray(g / g.sum(), dtype=np.float64)


_TAPS = _gaussian_taps(SSIM_WINDOW, SSIM_SIGMA)


def _filter_valid(stack: npt.NDArray[np.float32], taps: npt.NDArray[np.float64]) -> Any:
    """Separable 'valid' correlation of every map in ``stack`` (shape (k, H, W)) at once."""
    n = taps.size
    _, h, w = stack.shape
    t = [np.float32(v) for v in taps]
    rows = t[0] * stack[:, 0 : h - n + 1, :]
    for k in range(1, n):
        rows += t[k] * stack[:, k : h - n + 1 + k, :]
    out = t[0] * rows[:, :, 0 : w - n + 1]
    for k in range(1, n):
        out += t[k] * rows[:, :, k : w - n + 1 + k]
    return out


_compiled_ssim_plane: Callable[..., float] | None
try:
    from mediaopt._core.quality import ssim_plane as _compiled_ssim_plane
except ImportError:  # pragma: no cover - a source tree without the built core
    _compiled_ssim_plane = None

#: True when SSIM runs in the compiled core rather than the numpy fallback.
COMPILED_SSIM: bool = _compiled_ssim_plane is not None


def _ssim_plane(ref: npt.NDArray[Any], dis: npt.NDArray[Any], peak: float) -> float:
    if (
        _compiled_ssim_plane is not None
        and ref.dtype == np.uint8
        and dis.dtype == np.uint8
        and min(ref.shape) >= SSIM_WINDOW
    ):
        return float(
            _compiled_ssim_plane(np.ascontiguousarray(ref), np.ascontiguousarray(dis), peak)
        )
    return _ssim_plane_numpy(ref, dis, peak)


def _ssim_plane_numpy(ref: npt.NDArray[Any], dis: npt.NDArray[Any], peak: float) -> float:
    if min(ref.shape) < SSIM_WINDOW:
        raise InputError(
            f"ssim: images must be at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {ref.shape}"
        )
    # Moments of mean-removed samples, filtered in float32 (four times faster than float64
    # here): centring keeps E[x^2] - E[x]^2 small, and the SSIM terms are then formed in
    # float64. The result agrees with a float64 reference to about 1e-5.
    offset = 0.5 * (float(ref.mean()) + float(dis.mean()))
    x = ref.astype(np.float32) - np.float32(offset)
    y = dis.astype(np.float32) - np.float32(offset)
    stack = np.stack([x, y, x * x, y * y, x * y])
    mu_x, mu_y, ex2, ey2, exy = _filter_valid(stack, _TAPS).astype(np.float64)
    c1 = (SSIM_K1 * peak) ** 2
    c2 = (SSIM_K2 * peak) ** 2
    mx = mu_x + offset
    my = mu_y + offset
    vxx = ex2 - mu_x * mu_x
    vyy = ey2 - mu_y * mu_y
    vxy = exy - mu_x * mu_y
    num = (2.0 * mx * my + c1) * (2.0 * vxy + c2)
    den = (mx * mx + my * my + c1) * (vxx + vyy + c2)
    # den >= c1 * c2 > 0 (variances are >= 0 up to rounding, far below c2)
    return float(np.mean(num / den, dtype=np.float64))


def ssim(reference: Any, distorted: Any, peak: float = PEAK) -> float:
    """Mean structural similarity (Wang et al. 2004) of two same-shaped images.

    A 3-D array is treated channel by channel and the channels averaged. Identical
    images give 1.0 (to rounding); the value lies in [-1, 1].
    """
    ref, dis = _pair(reference, distorted)
    if np.array_equal(ref, dis):
        return 1.0
    if ref.ndim == 2:
        return _ssim_plane(ref, dis, peak)
    return float(
        np.mean([_ssim_plane(ref[..., c], dis[..., c], peak) for c in range(ref.shape[2])])
    )
