"""Video sources for encoding: synthetic consultation content and any video file.

:func:`synthetic` draws deterministic RGB frames that look, to an encoder, like the four
kinds of picture a telemedicine call carries (no external file needed):

``talking_head``
    a face and shoulders in front of a softly textured wall; small head sway, blinks and
    mouth movement, camera sensor noise. Mostly static: cheap to code.
``document_share``
    a shared screen: sharp black-on-white "text" lines and a greyscale radiograph-like
    image, static for seconds, with an occasional smooth scroll. High detail, little
    motion: keyframes are expensive, deltas nearly free.
``endoscope``
    a circular field of view on reddish tissue that moves fast (pan, rotation, zoom
    breathing) with moving specular highlights. Hard to code.
``ultrasound``
    a greyscale sector scan with speckle that decorrelates from frame to frame, a dark
    cyst and bright boundaries moving with a slow "breathing" cycle.

:func:`read` yields RGB frames of any file FFmpeg reads (through PyAV), and
:func:`frames` accepts either a kind name or a path.

Every frame is an ``(height, width, 3)`` ``uint8`` array. The same ``(kind, width, height,
fps, seconds, seed)`` always gives the same bits.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mediaopt._validate import check_float, check_int
from mediaopt.errors import InputError

#: The synthetic content kinds, in the order the docs describe them.
KINDS: tuple[str, ...] = ("talking_head", "document_share", "endoscope", "ultrasound")

Frame = npt.NDArray[np.uint8]

__all__ = ["KINDS", "count_frames", "frames", "read", "synthetic"]


def _smooth_noise(
    rng: np.random.Generator, height: int, width: int, scale: float
) -> npt.NDArray[np.float32]:
    """Band-limited noise in [-1, 1]: white noise upsampled bilinearly from a coarse grid."""
    gh = max(2, math.ceil(height / scale) + 2)
    gw = max(2, math.ceil(width / scale) + 2)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    ys = np.linspace(0, gh - 1.001, height, dtype=np.float32)
    xs = np.linspace(0, gw - 1.001, width, dtype=np.float32)
    y0 = ys.astype(np.int64)
    x0 = xs.astype(np.int64)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    a = coarse[y0][:, x0]
    b = coarse[y0][:, x0 + 1]
    c = coarse[y0 + 1][:, x0]
    d = coarse[y0 + 1][:, x0 + 1]
    out = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy
    peak = float(np.max(np.abs(out))) or 1.0
    return np.asarray(out / peak, dtype=np.float32)


def _fractal(
    rng: np.random.Generator, height: int, width: int, base_scale: float, octaves: int = 4
) -> npt.NDArray[np.float32]:
    out = np.zeros((height, width), dtype=np.float32)
    amp = 1.0
    scale = base_scale
    for _ in range(octaves):
        out += amp * _smooth_noise(rng, height, width, max(scale, 1.0))
        amp *= 0.5
        scale /= 2.0
    return np.asarray(out / 1.9375, dtype=np.float32)


def _to_rgb8(img: npt.NDArray[Any]) -> Frame:
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _grey_to_rgb8(img: npt.NDArray[Any]) -> Frame:
    grey = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


class _NoiseBank:
    """A few precomputed sensor-noise fields, picked per frame: cheap and deterministic."""

    def __init__(self, rng: np.random.Generator, h: int, w: int, sigma: float) -> None:
        self.fields = rng.normal(0.0, sigma, (4, h + 8, w + 8)).astype(np.float32)
        self.rng = rng
        self.h, self.w = h, w

    def next(self) -> npt.NDArray[np.float32]:
        k, dy, dx = self.rng.integers(0, (4, 8, 8))
        return self.fields[k, dy : dy + self.h, dx : dx + self.w]


class _TalkingHead:
    def __init__(self, w: int, h: int, fps: float, rng: np.random.Generator) -> None:
        self.w, self.h, self.fps, self.rng = w, h, fps, rng
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        wall = 150 + 25 * _fractal(rng, h, w, max(w, h) / 6) - 20 * (yy / h)
        bg = np.stack([wall * 0.95, wall * 0.9, wall * 0.8], axis=-1).astype(np.float32)
        shoulders = ((xx - w / 2) / (0.42 * w)) ** 2 + ((yy - h * 1.05) / (0.38 * h)) ** 2 < 1.0
        bg[shoulders] = (40.0, 70.0, 120.0)
        self.background = bg
        self.skin = np.array([205.0, 160.0, 135.0], dtype=np.float32)
        self.skin_tex = (10 * _fractal(rng, h, w, max(w, h) / 40, 3)).astype(np.float32)
        self.noise = _NoiseBank(rng, h, w, 2.0)
        self.blink_at = sorted(int(t * fps) for t in rng.uniform(0.5, 600, 200))

    def frame(self, i: int) -> Frame:
        w, h = self.w, self.h
        t = i / self.fps
        cx = w * (0.5 + 0.02 * math.sin(2 * math.pi * 0.23 * t))
        cy = h * (0.42 + 0.01 * math.sin(2 * math.pi * 0.31 * t + 1.0))
        rx, ry = 0.16 * w, 0.26 * h
        img = self.background.copy()
        # only the face's bounding box changes from frame to frame
        x0, x1 = max(0, int(cx - 1.1 * rx)), min(w, int(cx + 1.1 * rx) + 1)
        y0, y1 = max(0, int(cy - 1.1 * ry)), min(h, int(cy + 1.1 * ry) + 1)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        box = img[y0:y1, x0:x1]
        face = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
        inside = face < 1.0
        shade = (1.0 - 0.25 * face)[..., None]
        box[inside] = (self.skin * shade + self.skin_tex[y0:y1, x0:x1, None])[inside]
        box[(face < 1.08) & (yy < cy - 0.55 * ry)] = (40.0, 28.0, 20.0)
        blink = any(0 <= i - k < 3 for k in self.blink_at)
        eye_h = 0.02 * h if not blink else 0.003 * h
        for side in (-1, 1):
            ex, ey = cx + side * 0.38 * rx, cy - 0.15 * ry
            eye = ((xx - ex) / (0.18 * rx)) ** 2 + ((yy - ey) / max(eye_h, 0.5)) ** 2 < 1.0
            box[eye] = (30.0, 30.0, 35.0)
        mouth_open = 0.015 * h * (0.5 + 0.5 * math.sin(2 * math.pi * 3.1 * t) ** 2)
        mouth = ((xx - cx) / (0.4 * rx)) ** 2 + ((yy - cy - 0.5 * ry) / max(mouth_open, 0.5)) ** 2
        box[mouth < 1.0] = (120.0, 40.0, 45.0)
        img += self.noise.next()[..., None]
        return _to_rgb8(img)


class _Document:
    def __init__(self, w: int, h: int, fps: float, rng: np.random.Generator) -> None:
        self.w, self.h, self.fps = w, h, fps
        page_h = 3 * h
        page = np.full((page_h, w), 250.0, dtype=np.float32)
        line_h = max(4, h // 30)
        glyph_w = max(2, line_h // 2)
        text_right = int(0.55 * w)
        y = line_h
        while y + line_h < page_h:
            x = max(2, w // 40)
            end = int(text_right * rng.uniform(0.7, 1.0))
            while x + glyph_w < end:
                if rng.random() < 0.18:
                    x += glyph_w  # a space between words
                    continue
                glyph = rng.random((line_h - line_h // 4, glyph_w - 1)) < 0.45
                page[y : y + glyph.shape[0], x : x + glyph.shape[1]][glyph] = 20.0
                x += glyph_w
            y += int(line_h * 1.6)
        # a radiograph-like greyscale panel on the right: smooth body, ribs, fine grain
        px0, py0 = int(0.6 * w), int(0.1 * h)
        pw, ph = w - px0 - max(2, w // 40), int(0.8 * h)
        if pw > 8 and ph > 8:
            py, px = np.mgrid[0:ph, 0:pw].astype(np.float32)
            body = np.exp(
                -(((px - pw / 2) / (0.38 * pw)) ** 2) - ((py - ph / 2) / (0.55 * ph)) ** 2
            )
            ribs = 0.5 + 0.5 * np.sin(
                py / max(ph / 14, 1.0) * 2 * math.pi + 0.3 * np.abs(px - pw / 2) / max(pw, 1)
            )
            grain = _fractal(rng, ph, pw, max(pw, 8) / 30, 3)
            panel = 30 + 150 * body * (0.7 + 0.3 * ribs) + 12 * grain
            page[py0 : py0 + ph, px0 : px0 + pw] = panel
        self.page = page
        self.scrolls = sorted(rng.uniform(2.0, 600.0, 60))
        self.scroll_px = max(1, h // 3)

    def _offset(self, t: float) -> float:
        off = 0.0
        for k, start in enumerate(self.scrolls):
            if t < start:
                break
            step = self.scroll_px * (1 if k % 4 != 3 else -3)
            frac = min(1.0, (t - start) / 0.5)
            off += step * (0.5 - 0.5 * math.cos(math.pi * frac))
        return off % (self.page.shape[0] - self.h)

    def frame(self, i: int) -> Frame:
        off = self._offset(i / self.fps)
        o0 = math.floor(off)
        f = off - o0
        view = self.page[o0 : o0 + self.h] * (1 - f) + self.page[o0 + 1 : o0 + 1 + self.h] * f
        return _grey_to_rgb8(view)


class _Endoscope:
    def __init__(self, w: int, h: int, fps: float, rng: np.random.Generator) -> None:
        self.w, self.h, self.fps, self.rng = w, h, fps, rng
        size = int(1.6 * max(w, h)) + 4
        self.size = size
        tex = _fractal(rng, size, size, size / 8, 5)
        vessels = np.abs(_smooth_noise(rng, size, size, size / 20)) < 0.06
        r = 170 + 50 * tex - 70 * vessels
        g = 70 + 35 * tex - 30 * vessels
        b = 60 + 25 * tex - 20 * vessels
        # packed so one gather per pixel fetches all three channels
        self.tissue = np.stack([r, g, b], axis=-1).astype(np.float32).reshape(-1, 3)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.u = xx - w / 2
        self.v = yy - h / 2
        radius = 0.48 * min(w, h) * 1.15
        d = np.sqrt(self.u**2 + self.v**2) / radius
        self.shade = (np.clip((1.0 - d) * 12.0, 0.0, 1.0) * np.clip(1.15 - 0.6 * d * d, 0, 1))[
            ..., None
        ].astype(np.float32)
        self.spots = rng.uniform(0, 1, (6, 4))
        self.noise = _NoiseBank(rng, h, w, 1.5)

    def frame(self, i: int) -> Frame:
        w, h, size = self.w, self.h, self.size
        t = i / self.fps
        ang = 0.5 * math.sin(2 * math.pi * 0.11 * t) + 0.15 * t
        zoom = 1.0 + 0.15 * math.sin(2 * math.pi * 0.4 * t)
        cx = size / 2 + 0.2 * size * math.sin(2 * math.pi * 0.07 * t + 0.5)
        cy = size / 2 + 0.2 * size * math.cos(2 * math.pi * 0.09 * t)
        ca, sa = math.cos(ang) / zoom, math.sin(ang) / zoom
        sx = np.clip(cx + ca * self.u - sa * self.v, 0, size - 1).astype(np.int32)
        sy = np.clip(cy + sa * self.u + ca * self.v, 0, size - 1).astype(np.int32)
        img = self.tissue[sy * size + sx]
        rad = 0.012 * min(w, h) + 1.0
        reach = int(4 * rad) + 1
        for k in range(self.spots.shape[0]):
            px, py, fx, fy = self.spots[k]
            x = w * (0.5 + 0.35 * math.sin(2 * math.pi * (0.3 + fx) * t + 6 * px))
            y = h * (0.5 + 0.35 * math.cos(2 * math.pi * (0.25 + fy) * t + 6 * py))
            x0, x1 = max(0, int(x) - reach), min(w, int(x) + reach + 1)
            y0, y1 = max(0, int(y) - reach), min(h, int(y) + reach + 1)
            if x0 >= x1 or y0 >= y1:
                continue
            gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            glint = np.exp(-((gx - x) ** 2 + (gy - y) ** 2) / (2 * rad * rad))
            img[y0:y1, x0:x1] += 255.0 * glint[..., None]
        img += self.noise.next()[..., None]
        img *= self.shade
        return _to_rgb8(img)


class _Ultrasound:
    def __init__(self, w: int, h: int, fps: float, rng: np.random.Generator) -> None:
        self.w, self.h, self.fps, self.rng = w, h, fps, rng
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        apex_x, apex_y = w / 2, -0.1 * h
        self.r = np.sqrt((xx - apex_x) ** 2 + (yy - apex_y) ** 2) / (1.05 * h)
        self.theta = np.arctan2(xx - apex_x, yy - apex_y)
        self.sector = ((np.abs(self.theta) < 0.6) & (self.r > 0.12) & (self.r < 1.0)).astype(
            np.float32
        )
        self.tissue = 0.55 + 0.25 * _fractal(rng, h, w, max(w, h) / 10, 3)
        self.speckle = rng.rayleigh(0.8, (h, w)).astype(np.float32)
        self.fresh = rng.rayleigh(0.8, (4, h + 8, w + 8)).astype(np.float32)
        self.xx, self.yy = xx, yy
        self.gain = ((1.0 - 0.45 * self.r) * self.sector).astype(np.float32)

    def frame(self, i: int) -> Frame:
        w, h = self.w, self.h
        t = i / self.fps
        breath = math.sin(2 * math.pi * 0.25 * t)
        # speckle decorrelates partly each frame (probe and tissue motion)
        k, dy, dx = self.rng.integers(0, (4, 8, 8))
        fresh = self.fresh[k, dy : dy + h, dx : dx + w]
        self.speckle = 0.7 * self.speckle + 0.3 * fresh
        cyst = (
            ((self.xx - w * (0.5 + 0.03 * breath)) / (0.12 * w)) ** 2
            + ((self.yy - h * (0.55 + 0.02 * breath)) / (0.09 * h)) ** 2
        ) < 1.0
        echo = self.tissue.copy()
        echo[cyst] = 0.06
        line = np.abs(self.r - (0.35 + 0.015 * breath)) < 0.008
        echo[line] = 1.6
        img = (150.0 * echo) * self.speckle * self.gain
        return _grey_to_rgb8(img)


_GENERATORS: dict[str, type[_TalkingHead | _Document | _Endoscope | _Ultrasound]] = {
    "talking_head": _TalkingHead,
    "document_share": _Document,
    "endoscope": _Endoscope,
    "ultrasound": _Ultrasound,
}


def count_frames(fps: float, seconds: float) -> int:
    """Return how many frames :func:`synthetic` yields: ``round(fps * seconds)``."""
    return max(0, round(fps * seconds))


def synthetic(
    kind: str,
    width: int = 640,
    height: int = 360,
    fps: float = 30.0,
    seconds: float = 2.0,
    seed: int = 0,
) -> Iterator[Frame]:
    """Yield ``round(fps * seconds)`` deterministic RGB frames of a synthetic ``kind``.

    ``kind`` is one of :data:`KINDS`. Frames are ``(height, width, 3)`` uint8. The same
    arguments (including ``seed``) give identical frames.
    """
    if kind not in _GENERATORS:
        raise InputError(f"kind: unknown content kind {kind!r}; choose one of {', '.join(KINDS)}")
    w = check_int("width", width, min_value=16, max_value=7680)
    h = check_int("height", height, min_value=16, max_value=4320)
    f = check_float("fps", fps, min_value=1.0, max_value=240.0)
    s = check_float("seconds", seconds, min_value=0.0, max_value=3600.0)
    seed_i = check_int("seed", seed, min_value=0)
    n = count_frames(f, s)
    return _iterate(kind, w, h, f, n, seed_i)


def _iterate(kind: str, w: int, h: int, fps: float, n: int, seed: int) -> Iterator[Frame]:
    rng = np.random.default_rng(seed)
    gen = _GENERATORS[kind](w, h, fps, rng)
    for i in range(n):
        yield gen.frame(i)


def _open_video(path: str | os.PathLike[str]) -> Any:
    import av  # PyAV: heavy, loaded only when a codec or file is opened

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise IsADirectoryError(f"{p}: is a folder, expected a video file")
    try:
        container = av.open(str(p), mode="r")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not a video file FFmpeg can read ({exc})") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"{p}: contains no video stream")
    return container


def read(
    path: str | os.PathLike[str],
    *,
    width: int | None = None,
    height: int | None = None,
    max_frames: int | None = None,
    seconds: float | None = None,
) -> Iterator[Frame]:
    """Yield the frames of a video file (anything FFmpeg reads) as RGB arrays.

    ``width``/``height`` rescale (both or neither); ``max_frames`` or ``seconds`` stop early.
    A file that is not a video raises ``InputError`` at once (before the first frame).
    """
    if (width is None) != (height is None):
        raise InputError("width and height: give both or neither")
    w = None if width is None else check_int("width", width, min_value=16)
    h = None if height is None else check_int("height", height, min_value=16)
    limit = None if max_frames is None else check_int("max_frames", max_frames, min_value=0)
    secs = None if seconds is None else check_float("seconds", seconds, min_value=0.0)
    container = _open_video(path)
    return _read_frames(container, w, h, limit, secs)


def _read_frames(
    container: Any, w: int | None, h: int | None, limit: int | None, secs: float | None
) -> Iterator[Frame]:
    try:
        stream = container.streams.video[0]
        first_t: float | None = None
        for n, vf in enumerate(container.decode(stream)):
            if limit is not None and n >= limit:
                break
            if secs is not None and vf.time is not None:
                if first_t is None:
                    first_t = vf.time
                if vf.time - first_t >= secs:
                    break
            if w is not None and h is not None:
                arr = vf.to_ndarray(format="rgb24", width=w, height=h)
            else:
                arr = vf.to_ndarray(format="rgb24")
            yield np.ascontiguousarray(arr)
    finally:
        container.close()


def video_fps(path: str | os.PathLike[str]) -> float:
    """Return the average frame rate of the first video stream of ``path`` (30 when unknown)."""
    container = _open_video(path)
    try:
        rate = container.streams.video[0].average_rate
        return float(rate) if rate else 30.0
    finally:
        container.close()


def frames(
    source: str | os.PathLike[str],
    *,
    width: int,
    height: int,
    fps: float = 30.0,
    seconds: float = 2.0,
    seed: int = 0,
) -> Iterator[Frame]:
    """Frames of ``source``: a synthetic kind name, or the path of a video file.

    Synthetic content is drawn at ``width`` x ``height``; a file is rescaled to it and cut
    after ``seconds``.
    """
    if isinstance(source, str) and source in _GENERATORS:
        return synthetic(source, width, height, fps, seconds, seed)
    p = Path(source)
    if not p.exists() and isinstance(source, str) and os.sep not in source and "." not in source:
        raise InputError(
            f"source: {source!r} is neither a content kind ({', '.join(KINDS)}) nor a file"
        )
    return read(p, width=width, height=height, seconds=seconds)
