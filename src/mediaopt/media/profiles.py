"""Content rate–quality profiles: how good a source looks at each bitrate and resolution.

A :class:`ContentProfile` holds the results of encoding one source over a grid of
resolutions x bitrates (x frame rates) with one codec (:func:`measure`, or the command
``mediaopt profile``): for every grid point the measured bitrate, luma PSNR and SSIM,
encode speed and keyframe size. Quality is always measured at the *display* resolution
(the largest of the grid): a lower resolution is upscaled (bicubic) before comparison,
so resolutions compete fairly.

From the points it derives:

* per resolution, a fit of quality against bits per pixel,
  ``psnr_db = a + b * log2(bits_per_pixel)`` (:meth:`ContentProfile.fit`), and a
  monotone prediction :meth:`ContentProfile.quality_db` that interpolates between the
  measured points and follows the fit's slope outside them;
* across resolutions, the upper convex hull of (log bitrate, PSNR)
  (:meth:`ContentProfile.hull`): which resolution gives the best picture at each
  bitrate — a per-content resolution ladder, the replacement for a fixed table.

Profiles save to and load from JSON (atomically); two profiles are equal when their
data are equal. Small profiles of the built-in synthetic sources ship in
``mediaopt/media/data`` (:func:`bundled`); ``docs/encoders.md`` gives the command that
regenerates them.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mediaopt import _atomic
from mediaopt._validate import check_float, check_int, parse_json, read_text_file
from mediaopt.errors import InputError, clip_repr
from mediaopt.media import content, quality
from mediaopt.media.encoders import Decoder, Encoder, check_codec, check_size
from mediaopt.media.quality import MAX_PSNR_DB

#: Format version written into every profile file.
PROFILE_FORMAT = 1
#: Largest profile file read, in bytes (the bundled ones are under 10 KB).
MAX_PROFILE_BYTES = 16 << 20
#: Most grid points in a profile.
MAX_PROFILE_POINTS = 100_000
#: Deepest JSON nesting in a profile file (a profile nests 3 deep).
MAX_PROFILE_NESTING = 8

#: Type and closed range of every number in a profile file: (int or float, low, high).
POINT_RANGES: dict[str, tuple[type, float, float]] = {
    "width": (int, 1, 16_384),
    "height": (int, 1, 16_384),
    "fps": (float, 0.1, 1000.0),
    "target_bps": (int, 0, 10**11),
    "bitrate_bps": (float, 0.0, 1e11),
    "psnr_db": (float, 0.0, MAX_PSNR_DB),
    "ssim": (float, -1.0, 1.0),
    "encode_fps": (float, 0.0, 1e9),
    "frames": (int, 0, 10**9),
    "keyframe_bytes": (int, 0, 2**40),
    "delta_bytes_mean": (float, 0.0, 2.0**40),
}
_HEADER_RANGES: dict[str, tuple[type, float, float]] = {
    "seconds": (float, 0.0, 86_400.0),
    "seed": (int, 0, 2**64 - 1),
    "display_width": (int, 0, 16_384),
    "display_height": (int, 0, 16_384),
}
_DISPLAY_KEYS = ("display_width", "display_height")


def _profile_number(key: str, value: Any) -> Any:
    kind, lo, hi = POINT_RANGES.get(key.rpartition(".")[2]) or _HEADER_RANGES[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"profile: {key} must be a number, got {clip_repr(value)}")
    if not lo <= value <= hi:  # (NaN fails this comparison too)
        raise InputError(f"profile: {key} {clip_repr(value)} is outside [{lo:g}, {hi:g}]")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise InputError(f"profile: {key} must be an integer, got {clip_repr(value)}")
        return int(value)
    return float(value)


__all__ = [
    "ContentProfile",
    "HullPoint",
    "ProfilePoint",
    "ResolutionFit",
    "bundled",
    "bundled_names",
    "load",
    "measure",
    "resolve",
]


@dataclass(frozen=True)
class ProfilePoint:
    """One encoded grid point and what it measured."""

    width: int
    height: int
    fps: float
    target_bps: int  #: bitrate asked of the encoder
    bitrate_bps: float  #: bitrate measured over the clip (all frames, keyframe included)
    psnr_db: float  #: mean luma PSNR at display resolution
    ssim: float  #: mean luma SSIM at display resolution
    encode_fps: float  #: frames encoded per second of wall time (encoder call only)
    frames: int  #: frames encoded
    keyframe_bytes: int  #: size of the first (key) frame
    delta_bytes_mean: float  #: mean size of the other frames

    @property
    def bits_per_pixel(self) -> float:
        """Measured bits per pixel: ``bitrate / (width * height * fps)``."""
        return self.bitrate_bps / (self.width * self.height * self.fps)


@dataclass(frozen=True)
class ResolutionFit:
    """Least-squares fit ``quality = a + b * log2(bits_per_pixel)`` at one resolution."""

    width: int
    height: int
    psnr_a: float
    psnr_b: float  #: dB per doubling of bits per pixel (clamped at >= 0)
    ssim_a: float
    ssim_b: float  #: SSIM per doubling of bits per pixel (clamped at >= 0)

    def psnr_db(self, bits_per_pixel: float) -> float:
        """Fitted PSNR (dB) at ``bits_per_pixel``, within [0, MAX_PSNR_DB]."""
        v = self.psnr_a + self.psnr_b * math.log2(max(bits_per_pixel, 1e-9))
        return min(MAX_PSNR_DB, max(0.0, v))

    def ssim(self, bits_per_pixel: float) -> float:
        """Fitted SSIM at ``bits_per_pixel``, within [0, 1]."""
        v = self.ssim_a + self.ssim_b * math.log2(max(bits_per_pixel, 1e-9))
        return min(1.0, max(0.0, v))


@dataclass(frozen=True)
class HullPoint:
    """A point on the convex hull: at this bitrate, this resolution is best."""

    bitrate_bps: float
    width: int
    height: int
    fps: float
    psnr_db: float


def _fit_line(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.size == 1 or float(np.ptp(xs)) == 0.0:
        return float(ys.mean()), 0.0
    b, _a = np.polyfit(xs, ys, 1)
    b = max(0.0, float(b))
    # refit the intercept for the clamped slope so the line passes through the centroid
    return float(ys.mean() - b * xs.mean()), b


@dataclass(frozen=True)
class ContentProfile:
    """Measured rate–quality behaviour of one source with one codec (see module doc)."""

    source: str
    codec: str
    points: tuple[ProfilePoint, ...]
    seconds: float = 0.0
    seed: int = 0
    display_width: int = 0
    display_height: int = 0
    format: int = PROFILE_FORMAT
    _cache: dict[str, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if not self.points:
            raise InputError("points: a profile needs at least one grid point")
        object.__setattr__(self, "points", tuple(self.points))

    # -- grid ---------------------------------------------------------------------------------
    def resolutions(self) -> list[tuple[int, int]]:
        """Resolutions in the grid, smallest first."""
        return sorted({(p.width, p.height) for p in self.points}, key=lambda r: r[0] * r[1])

    def frame_rates(self) -> list[float]:
        """Frame rates in the grid, lowest first."""
        return sorted({p.fps for p in self.points})

    def _at(self, width: int, height: int, fps: float | None) -> list[ProfilePoint]:
        pts = [p for p in self.points if (p.width, p.height) == (width, height)]
        if not pts:
            raise InputError(
                f"width, height: {width}x{height} is not in the profile "
                f"({', '.join(f'{w}x{h}' for w, h in self.resolutions())})"
            )
        if fps is not None:
            same = [p for p in pts if math.isclose(p.fps, fps)]
            if same:
                pts = same
        return sorted(pts, key=lambda p: p.bits_per_pixel)

    # -- fits ---------------------------------------------------------------------------------
    def fit(self, width: int, height: int) -> ResolutionFit:
        """Fit of PSNR and SSIM against log2(bits per pixel) at one resolution."""
        key = f"fit{width}x{height}"
        if key not in self._cache:
            pts = self._at(width, height, None)
            x = [math.log2(max(p.bits_per_pixel, 1e-9)) for p in pts]
            pa, pb = _fit_line(x, [p.psnr_db for p in pts])
            sa, sb = _fit_line(x, [p.ssim for p in pts])
            self._cache[key] = ResolutionFit(width, height, pa, pb, sa, sb)
        fit: ResolutionFit = self._cache[key]
        return fit

    def _curve(self, width: int, height: int, fps: float | None, metric: str) -> Any:
        pts = self._at(width, height, fps)
        x = np.array([math.log2(max(p.bits_per_pixel, 1e-9)) for p in pts])
        y = np.array([getattr(p, metric) for p in pts], dtype=np.float64)
        # a profile promises quality never falls as bits rise: use the running maximum
        return x, np.maximum.accumulate(y)

    def _predict(
        self, metric: str, bitrate_bps: float, width: int, height: int, fps: float | None
    ) -> float:
        b = check_float("bitrate_bps", bitrate_bps, min_value=0.0)
        f = self.frame_rates()[-1] if fps is None else check_float("fps", fps, min_value=0.1)
        x, y = self._curve(width, height, fps, metric)
        bpp = max(b, 1.0) / (width * height * f)
        lx = math.log2(bpp)
        fit = self.fit(width, height)
        slope = fit.psnr_b if metric == "psnr_db" else fit.ssim_b
        if lx <= x[0]:
            v = float(y[0] + slope * (lx - x[0]))
        elif lx >= x[-1]:
            v = float(y[-1] + slope * (lx - x[-1]))
        else:
            v = float(np.interp(lx, x, y))
        hi = MAX_PSNR_DB if metric == "psnr_db" else 1.0
        return min(hi, max(0.0, v))

    def quality_db(
        self, bitrate_bps: float, width: int, height: int, fps: float | None = None
    ) -> float:
        """Predicted luma PSNR (dB) at a bitrate and resolution; never falls as bits rise."""
        return self._predict("psnr_db", bitrate_bps, width, height, fps)

    def ssim(self, bitrate_bps: float, width: int, height: int, fps: float | None = None) -> float:
        """Predicted luma SSIM at a bitrate and resolution; never falls as bits rise."""
        return self._predict("ssim", bitrate_bps, width, height, fps)

    # -- for a frame-size / quality model (the replay's encoder model) --------------------------
    def quality_table(
        self, width: int, height: int, fps: float | None = None
    ) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.float64]]]:
        """Return ``(log2 bits per pixel, PSNR dB)`` at one resolution, PSNR non-decreasing.

        The measured points as a lookup table a compiled model can interpolate.
        """
        x, y = self._curve(width, height, fps, "psnr_db")
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def keyframe_ratio(self, width: int | None = None, height: int | None = None) -> float:
        """Return the median keyframe size over the mean delta-frame size (>= 1).

        Over the points of one resolution, or of all when ``width``/``height`` are None.
        """
        pts = (
            list(self.points) if width is None or height is None else self._at(width, height, None)
        )
        ratios = [p.keyframe_bytes / p.delta_bytes_mean for p in pts if p.delta_bytes_mean > 0]
        return max(1.0, float(np.median(ratios))) if ratios else 1.0

    def codec_model(self) -> dict[str, float]:
        """Return the display-resolution PSNR fit in the replay content model's terms.

        ``PSNR = ref_db + db_per_decade * log10(bpp / ref_bpp)`` with ``ref_bpp`` 0.05: the
        parameterisation of the replay's content model (its codec term; the replay adds its
        own upscaling term for lower resolutions).
        """
        fit = self.fit(*self.resolutions()[-1])
        ref_bpp = 0.05
        return {
            "ref_bpp": ref_bpp,
            "ref_db": fit.psnr_a + fit.psnr_b * math.log2(ref_bpp),
            "db_per_decade": fit.psnr_b * math.log2(10.0),
        }

    # -- across resolutions -------------------------------------------------------------------
    def hull(self, fps: float | None = None) -> tuple[HullPoint, ...]:
        """Upper convex hull of the measured (log2 bitrate, PSNR) points of all resolutions.

        Returned by rising bitrate, each point naming the resolution that achieved it; the
        hull's quality rises strictly. ``fps`` picks one frame rate (default: the highest).
        """
        f = self.frame_rates()[-1] if fps is None else fps
        pts = [p for p in self.points if math.isclose(p.fps, f)]
        if not pts:
            raise InputError(f"fps: {f} is not in the profile ({self.frame_rates()})")
        # by rising rate; at equal rates only the best picture can be on the hull
        pts.sort(key=lambda p: (p.bitrate_bps, -p.psnr_db))
        pts = [p for i, p in enumerate(pts) if i == 0 or p.bitrate_bps != pts[i - 1].bitrate_bps]
        hull: list[ProfilePoint] = []

        def cross(o: ProfilePoint, a: ProfilePoint, b: ProfilePoint) -> float:
            ox, ax, bx = (math.log2(max(q.bitrate_bps, 1.0)) for q in (o, a, b))
            return (ax - ox) * (b.psnr_db - o.psnr_db) - (a.psnr_db - o.psnr_db) * (bx - ox)

        for p in pts:
            while len(hull) >= 2 and cross(hull[-2], hull[-1], p) >= 0:
                hull.pop()
            hull.append(p)
        out: list[HullPoint] = []
        for p in hull:
            if out and p.psnr_db <= out[-1].psnr_db:
                continue
            out.append(HullPoint(p.bitrate_bps, p.width, p.height, p.fps, p.psnr_db))
        return tuple(out)

    def best_resolution(self, bitrate_bps: float, fps: float | None = None) -> tuple[int, int]:
        """Return the resolution with the highest predicted PSNR at ``bitrate_bps``.

        Ties go to the smaller resolution (cheaper to encode and decode).
        """
        best: tuple[float, tuple[int, int]] | None = None
        for w, h in self.resolutions():
            q = self.quality_db(bitrate_bps, w, h, fps)
            if best is None or q > best[0] + 1e-9:
                best = (q, (w, h))
        assert best is not None
        return best[1]

    def ladder(
        self, min_bps: int = 30_000, max_bps: int | None = None, fps: float | None = None
    ) -> tuple[tuple[int, int, int, int, int], ...]:
        """Return a resolution ladder for this content in the adaptation's table format.

        Rows ``(width, height, min_bps, target_bps, max_bps)``, largest picture first (the
        layout of libwebrtc's simulcast format table that ``mediaopt.policies.adaptation`` reads):
        each resolution that is the best one (:meth:`best_resolution`) somewhere between
        ``min_bps`` and ``max_bps`` (default: twice the highest measured bitrate), with the
        range where it is best; ``target_bps`` is the geometric middle of that range.
        """
        lo_bps = check_int("min_bps", min_bps, min_value=1_000)
        top = max(p.bitrate_bps for p in self.points) * 2.0
        hi_bps = top if max_bps is None else check_int("max_bps", max_bps, min_value=lo_bps + 1)
        grid = np.geomspace(lo_bps, hi_bps, 241)
        spans: dict[tuple[int, int], list[float]] = {}
        for b in grid:
            r = self.best_resolution(float(b), fps)
            spans.setdefault(r, []).append(float(b))
        rows = []
        for (w, h), rates in spans.items():
            lo, hi = min(rates), max(rates)
            rows.append((w, h, round(lo), round(math.sqrt(lo * hi)), round(hi)))
        rows.sort(key=lambda r: r[0] * r[1], reverse=True)
        return tuple(rows)

    # -- persistence --------------------------------------------------------------------------
    def to_json_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict with a stable key order."""
        return {
            "format": self.format,
            "source": self.source,
            "codec": self.codec,
            "seconds": self.seconds,
            "seed": self.seed,
            "display_width": self.display_width,
            "display_height": self.display_height,
            "points": [asdict(p) for p in self.points],
        }

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> ContentProfile:
        """Build a profile from :meth:`to_json_dict` output; unknown or missing keys raise.

        Every value is checked for its type and range (:data:`POINT_RANGES`), so a profile
        that loads can be predicted from without a division by zero or an overflow.
        """
        if not isinstance(data, dict):
            raise InputError("profile: expected a JSON object")
        fmt = data.get("format")
        if fmt != PROFILE_FORMAT or isinstance(fmt, bool):
            raise InputError(
                f"profile: unsupported format {clip_repr(fmt)} (expected {PROFILE_FORMAT})"
            )
        known = {"format", "source", "codec", "seconds", "seed", "display_width", "display_height"}
        extra = set(data) - known - {"points"}
        if extra:
            raise InputError(f"profile: unknown key(s) {clip_repr(', '.join(sorted(extra)))}")
        missing = {"source", "codec"} - set(data)
        if missing:
            raise InputError(f"profile: missing key(s) {', '.join(sorted(missing))}")
        for key in ("source", "codec"):
            if not isinstance(data[key], str):
                raise InputError(f"profile: {key} must be a string, got {clip_repr(data[key])}")
        raw_points = data.get("points")
        if not isinstance(raw_points, list):
            raise InputError("profile: 'points' must be a list")
        if len(raw_points) > MAX_PROFILE_POINTS:
            raise InputError(
                f"profile: {len(raw_points)} points, more than the {MAX_PROFILE_POINTS} "
                "accepted (MAX_PROFILE_POINTS)"
            )
        point_fields = set(ProfilePoint.__dataclass_fields__)
        points = []
        for i, rp in enumerate(raw_points):
            if not isinstance(rp, dict) or set(rp) != point_fields:
                raise InputError(
                    f"profile: point {i} must have exactly the keys {sorted(point_fields)}"
                )
            values = {k: _profile_number(f"points[{i}].{k}", rp[k]) for k in POINT_RANGES}
            points.append(ProfilePoint(**values))
        header = {
            k: _profile_number(k, data.get(k, 0)) for k in ("seconds", "seed", *_DISPLAY_KEYS)
        }
        return cls(
            source=data["source"],
            codec=data["codec"],
            points=tuple(points),
            seconds=header["seconds"],
            seed=header["seed"],
            display_width=header["display_width"],
            display_height=header["display_height"],
        )

    def to_json(self) -> str:
        """Return the profile as JSON text (deterministic: same profile, same bytes)."""
        return json.dumps(self.to_json_dict(), indent=1) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the profile to ``path`` as JSON, atomically."""
        _atomic.write_text(path, self.to_json())


def load(path: str | os.PathLike[str]) -> ContentProfile:
    """Read a profile written by :meth:`ContentProfile.save`.

    The file is bounded (:data:`MAX_PROFILE_BYTES`, :data:`MAX_PROFILE_NESTING`) and every
    problem is an ``InputError`` naming it; a missing file raises ``FileNotFoundError``.
    """
    p = Path(path)
    text = read_text_file(
        p, max_bytes=MAX_PROFILE_BYTES, what="profile file", limit_name="MAX_PROFILE_BYTES"
    )
    try:
        data = parse_json(
            text, source=str(p), max_depth=MAX_PROFILE_NESTING, limit_name="MAX_PROFILE_NESTING"
        )
    except InputError as exc:
        raise InputError(f"{exc} (not a JSON profile)") from None
    try:
        return ContentProfile.from_json_dict(data)
    except InputError as exc:
        raise InputError(f"{p}: {exc}") from None


def _bundled_dir() -> Any:
    return resources.files("mediaopt.media").joinpath("data")


def bundled_names() -> list[str]:
    """Names of the profiles shipped with mediaopt (``<kind>_<codec>``)."""
    d = _bundled_dir()
    if not d.is_dir():
        return []
    return sorted(p.name[: -len(".json")] for p in d.iterdir() if p.name.endswith(".json"))


def bundled(name: str) -> ContentProfile:
    """Load a shipped profile by name, for example ``"talking_head_h264"``."""
    names = bundled_names()
    if name not in names:
        raise InputError(f"name: no bundled profile {name!r}; have {', '.join(names) or 'none'}")
    text = _bundled_dir().joinpath(f"{name}.json").read_text(encoding="utf-8")
    return ContentProfile.from_json_dict(json.loads(text))  # shipped with the package


def resolve(content: ContentProfile | str | os.PathLike[str]) -> ContentProfile:
    """Return a profile from a :class:`ContentProfile`, a bundled name or a JSON file.

    A bundled name is ``<kind>_<codec>`` (``"talking_head_h264"``) or just the kind
    (``"talking_head"``) when one codec has it. Anything else raises ``InputError``.
    """
    if isinstance(content, ContentProfile):
        return content
    if not isinstance(content, (str, os.PathLike)):
        raise InputError(
            f"content: expected a ContentProfile, a bundled profile name or a path, "
            f"got {type(content).__name__}"
        )
    text = os.fspath(content)
    names = bundled_names()
    if text in names:
        return bundled(text)
    by_kind = [n for n in names if n.startswith(text + "_")]
    if len(by_kind) == 1:
        return bundled(by_kind[0])
    path = Path(text)
    if path.is_file():
        try:
            return load(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"content: cannot read {text!r}: {exc}") from None
        except ValueError as exc:
            raise InputError(f"content: {text!r}: {exc}") from None
    raise InputError(
        f"content: {text!r} is neither a bundled profile ({', '.join(names) or 'none'}) "
        "nor a profile file"
    )


def replay_table(
    profile: ContentProfile,
) -> tuple[
    np.ndarray[Any, np.dtype[np.float64]],
    np.ndarray[Any, np.dtype[np.int64]],
    np.ndarray[Any, np.dtype[np.float64]],
    np.ndarray[Any, np.dtype[np.float64]],
    np.ndarray[Any, np.dtype[np.float64]],
]:
    """Return the profile as the plain arrays the replay's compiled encoder model reads.

    ``(pixels, start, log2_bpp, psnr_db, slope_db)``: per resolution (smallest first) its
    pixel count, the first row of its :meth:`ContentProfile.quality_table` in the
    concatenated ``log2_bpp``/``psnr_db`` columns (plus the end), and the fit's dB per
    doubling used beyond the measured rows — the same prediction as
    :meth:`ContentProfile.quality_db`, evaluated in C without the GIL.
    """
    pixels: list[float] = []
    start = [0]
    xs: list[Any] = []
    ys: list[Any] = []
    slopes: list[float] = []
    for w, h in profile.resolutions():
        x, y = profile.quality_table(w, h)
        pixels.append(float(w * h))
        xs.append(x)
        ys.append(y)
        start.append(start[-1] + len(x))
        slopes.append(profile.fit(w, h).psnr_b)
    return (
        np.asarray(pixels, dtype=np.float64),
        np.asarray(start, dtype=np.int64),
        np.concatenate(xs).astype(np.float64),
        np.concatenate(ys).astype(np.float64),
        np.asarray(slopes, dtype=np.float64),
    )


# -- measuring --------------------------------------------------------------------------------
#: The grid ``mediaopt profile`` uses unless told otherwise.
DEFAULT_RESOLUTIONS: tuple[tuple[int, int], ...] = ((320, 180), (640, 360), (1280, 720))
DEFAULT_BITRATES_BPS: tuple[int, ...] = (150_000, 300_000, 600_000, 1_200_000, 2_500_000)

ProgressFn = Callable[[int, int, ProfilePoint], None]


def _reference_frames(
    source: str | os.PathLike[str],
    width: int,
    height: int,
    fps: float,
    seconds: float,
    seed: int,
) -> list[Any]:
    import av  # PyAV: heavy, loaded only when frames are encoded

    out = []
    for rgb in content.frames(
        source, width=width, height=height, fps=fps, seconds=seconds, seed=seed
    ):
        out.append(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p"))
    if not out:
        raise InputError(f"source: {source!s} gave no frames")
    return out


def _measure_point(
    refs: Sequence[Any],
    ref_luma: Sequence[Any],
    codec: str,
    width: int,
    height: int,
    fps: float,
    target_bps: int,
    measure_every: int,
    options: dict[str, Any],
) -> ProfilePoint:
    disp_h, disp_w = ref_luma[0].shape
    enc = Encoder(codec, width, height, fps, target_bps, **options)
    dec = Decoder(codec)
    scaled = [
        r if (r.width, r.height) == (width, height) else r.reformat(width=width, height=height)
        for r in refs
    ]
    sizes: list[int] = []
    psnrs: list[float] = []
    ssims: list[float] = []
    last: Any = None
    enc_s = 0.0
    for i, vf in enumerate(scaled):
        t0 = time.perf_counter()
        out = enc.encode(vf)
        enc_s += time.perf_counter() - t0
        for ef in out:
            sizes.append(ef.size_bytes)
            pics = dec.decode(ef)
            if pics:
                last = pics[-1]
        if i % measure_every == 0 and last is not None:
            shown = last
            if (last.width, last.height) != (disp_w, disp_h):
                shown = last.reformat(width=disp_w, height=disp_h, interpolation="BICUBIC")
            y = quality.luma(shown)
            psnrs.append(quality.psnr(ref_luma[i], y))
            ssims.append(quality.ssim(ref_luma[i], y))
    for ef in enc.flush():
        sizes.append(ef.size_bytes)
    enc.close()
    n = len(scaled)
    bitrate = 8.0 * sum(sizes) * fps / n
    return ProfilePoint(
        width=width,
        height=height,
        fps=float(fps),
        target_bps=int(target_bps),
        bitrate_bps=round(bitrate, 1),
        psnr_db=round(float(np.mean(psnrs)), 4) if psnrs else 0.0,
        ssim=round(float(np.mean(ssims)), 6) if ssims else 0.0,
        encode_fps=round(n / enc_s, 1) if enc_s > 0 else 0.0,
        frames=n,
        keyframe_bytes=int(sizes[0]) if sizes else 0,
        delta_bytes_mean=round(float(np.mean(sizes[1:])), 1) if len(sizes) > 1 else 0.0,
    )


def measure(
    source: str | os.PathLike[str],
    codec: str = "h264",
    *,
    resolutions: Iterable[tuple[int, int]] = DEFAULT_RESOLUTIONS,
    bitrates_bps: Iterable[int] = DEFAULT_BITRATES_BPS,
    fps_values: Iterable[float] = (30.0,),
    seconds: float = 2.0,
    seed: int = 0,
    measure_every: int = 1,
    progress: ProgressFn | None = None,
    **encoder_options: Any,
) -> ContentProfile:
    """Encode ``source`` over the grid and return its :class:`ContentProfile`.

    ``source`` is a synthetic kind (see :mod:`mediaopt.media.content`) or a video file. The
    display resolution is the largest of ``resolutions``; every point's quality is
    measured there. ``measure_every`` measures quality on every n-th frame only (bits
    always count every frame). ``progress(done, total, point)`` is called after each
    point.
    """
    check_codec(codec)
    res = [
        (check_int("width", w, min_value=16), check_int("height", h, min_value=16))
        for w, h in resolutions
    ]
    rates = [check_int("bitrates_bps", b, min_value=10_000) for b in bitrates_bps]
    fpss = [check_float("fps", f, min_value=1.0, max_value=240.0) for f in fps_values]
    if not res or not rates or not fpss:
        raise InputError("resolutions, bitrates_bps, fps_values: each needs at least one value")
    for w, h in res:
        check_size(codec, w, h)
    secs = check_float("seconds", seconds, min_value=0.1, max_value=600.0)
    step = check_int("measure_every", measure_every, min_value=1)
    disp_w, disp_h = max(res, key=lambda r: r[0] * r[1])
    total = len(res) * len(rates) * len(fpss)
    points: list[ProfilePoint] = []
    for f in fpss:
        refs = _reference_frames(source, disp_w, disp_h, f, secs, seed)
        ref_luma = [quality.luma(r) for r in refs]
        for w, h in res:
            for b in rates:
                pt = _measure_point(refs, ref_luma, codec, w, h, f, b, step, encoder_options)
                points.append(pt)
                if progress is not None:
                    progress(len(points), total, pt)
    label = source if isinstance(source, str) and os.sep not in source else Path(source).name
    return ContentProfile(
        source=str(label),
        codec=codec,
        points=tuple(points),
        seconds=secs,
        seed=int(seed),
        display_width=disp_w,
        display_height=disp_h,
    )
