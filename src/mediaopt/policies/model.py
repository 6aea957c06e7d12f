"""The policy model: every tunable number of a call, as data.

A :class:`Policy` bundles the estimator's constants (:class:`mediaopt.bwe.GccConfig`), the
adaptation's (:class:`AdaptationConfig`: ladder, degradation preference, hysteresis,
protection, keyframes) and the clinical profile it is judged against
(:class:`ClinicalProfile`: service tier, frame-delay ceiling, frame-rate and resolution
floors). Policies load from and save to TOML; equality is by value; every error names the
offending key. Built-ins: ``gcc`` (libwebrtc's defaults), ``consult``, ``surgical`` and
``followup``; ``docs/tuning.md`` explains each number.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from mediaopt import _atomic
from mediaopt.bwe import GccConfig
from mediaopt.errors import InputError, clip_repr
from mediaopt.media import profiles
from mediaopt.policies.toml import dumps

#: Availability each service tier promises (DESIGN.md, "Service tiers").
TIER_AVAILABILITY: dict[str, float] = {"basic": 0.995, "standard": 0.999, "advanced": 0.9999}

#: Degradation preferences (libwebrtc ``DegradationPreference`` names, lower-case).
DEGRADATIONS: tuple[str, ...] = ("maintain-framerate", "maintain-resolution", "balanced")

#: Protection methods (libwebrtc ``VCMProtectionMethodEnum``, plus ``none``).
PROTECTIONS: tuple[str, ...] = ("none", "nack", "fec", "nack_fec")

#: libwebrtc ``video/config/simulcast.cc`` ``kSimulcastFormatsVP8`` as
#: (width, height, min_bps, target_bps, max_bps), highest resolution first; the final
#: 0x0 row is the low-resolution interpolation anchor.
LIBWEBRTC_VP8_LADDER: tuple[tuple[int, int, int, int, int], ...] = (
    (1920, 1080, 800_000, 4_000_000, 5_000_000),
    (1280, 720, 600_000, 2_500_000, 2_500_000),
    (960, 540, 350_000, 1_200_000, 1_200_000),
    (640, 360, 150_000, 500_000, 700_000),
    (480, 270, 150_000, 350_000, 450_000),
    (320, 180, 30_000, 150_000, 200_000),
    (0, 0, 30_000, 0, 0),
)

#: libwebrtc ``rtc_base/experiments/balanced_degradation_settings.cc`` default configs:
#: (max pixels, min fps) — at or below that many pixels the balanced preference may
#: lower the frame rate to that fps; above the last row it never lowers the frame rate.
LIBWEBRTC_BALANCED_MIN_FPS: tuple[tuple[int, float], ...] = (
    (320 * 240, 7.0),
    (480 * 360, 10.0),
    (640 * 480, 15.0),
)

#: libwebrtc's initial frame-size limit (``MaximumFrameSizeForBitrate`` in the video
#: stream encoder): a start rate below ``bps`` caps the picture at ``pixels``.
LIBWEBRTC_START_CAPS: tuple[tuple[int, int], ...] = (
    (300_000, 320 * 240),
    (500_000, 640 * 480),
)


#: Every policy scalar fits the core's int64 (the core reads them as C integers and
#: doubles; a larger one is refused when the policy is loaded, naming its key).
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: Every entry of a policy table (ladder, balanced frame rates, start caps) is within
#: [0, TABLE_MAX]: 2**31 - 1, so that a width times a height still fits int64.
TABLE_MAX = 2**31 - 1


class LadderLimits(NamedTuple):
    """Bitrates the ladder gives one picture size (bps)."""

    min_bps: int
    target_bps: int
    max_bps: int


def ladder_limits(
    width: int,
    height: int,
    ladder: tuple[tuple[int, int, int, int, int], ...],
    lowres_interpolation: bool = False,
) -> LadderLimits:
    """Min/target/max bitrate of a ``width`` x ``height`` picture from ``ladder``.

    Reproduces libwebrtc ``InterpolateSimulcastFormat`` (video/config/simulcast.cc): find
    the first row with no more pixels than the picture, interpolate linearly in pixel
    count from the row above with a single-precision weight, and round each term to whole
    bps as ``DataRate`` arithmetic does. Without ``lowres_interpolation`` (libwebrtc's
    default) a final 0x0 row takes the values of the row before it, so pictures smaller
    than the last real row keep its rates.
    """
    rows = [list(r) for r in ladder]
    if rows and rows[-1][0] * rows[-1][1] == 0 and not lowres_interpolation and len(rows) >= 2:
        rows[-1][2:] = rows[-2][2:]
    pixels = width * height
    index = len(rows) - 1
    for i, r in enumerate(rows):
        if pixels >= r[0] * r[1]:
            index = i
            break
    if index == 0:
        return LadderLimits(rows[0][2], rows[0][3], rows[0][4])
    up, down = rows[index - 1], rows[index]
    px_up, px_down = up[0] * up[1], down[0] * down[1]
    if px_up == px_down:
        return LadderLimits(down[2], down[3], down[4])
    rate = float(np.float32(px_up - pixels) / np.float32(px_up - px_down))

    def interp(a: int, b: int) -> int:
        # DataRate * double rounds to the nearest bps, then the two terms are added
        return round(a * (1.0 - rate)) + round(b * rate)

    return LadderLimits(interp(up[2], down[2]), interp(up[3], down[3]), interp(up[4], down[4]))


#: What a contract's capacity floor adds to the floor picture's video rate (see
#: :func:`floor_capacity_kbps` and docs/sla.md): the replay's audio stream (Opus speech,
#: ``mediaopt.replay(audio_kbps=32)``) ...
FLOOR_AUDIO_BPS = 32_000
#: ... and the packet headers on each full media packet: IPv4 20 + UDP 8 + RTP 12 + the
#: transport-wide sequence number extension 8 bytes on a 1200-byte payload (the core's
#: ``PKT_OVERHEAD_BYTES`` and ``PKT_MAX_PAYLOAD_BYTES`` in ``src/_core/sender.pxd``).
FLOOR_PACKET_OVERHEAD = 48 / 1200
#: The frame rate libwebrtc's ladder rates are for (``kDefaultVideoMaxFramerate``) and the
#: exponent that scales them to another frame rate (``AdaptationConfig`` defaults).
FLOOR_FPS_REFERENCE = 30.0
FLOOR_FPS_EXPONENT = 0.6


def floor_capacity_kbps(min_width: int, min_height: int, min_fps: float) -> float:
    """The link capacity (kbit/s) below which no policy can hold a profile's floors.

    The floor picture (``min_width * min_height`` pixels at ``min_fps``) needs at least
    libwebrtc's ladder minimum for its pixel count (:data:`LIBWEBRTC_VP8_LADDER`,
    interpolated as ``InterpolateSimulcastFormat`` does), scaled to the floor frame rate
    by ``(min_fps / 30) ** 0.6``; add the packet headers (:data:`FLOOR_PACKET_OVERHEAD`)
    and the audio stream (:data:`FLOOR_AUDIO_BPS`). Rounded to 0.1 kbit/s. A window whose
    capacity is below this is outside the contract (``excluded`` in :mod:`mediaopt.sla`).
    The derivation is in docs/sla.md ("The capacity floor").
    """
    video_bps = ladder_limits(int(min_width), int(min_height), LIBWEBRTC_VP8_LADDER).min_bps
    scale: float = (max(float(min_fps), 0.0) / FLOOR_FPS_REFERENCE) ** FLOOR_FPS_EXPONENT
    need_bps = float(video_bps * scale * (1.0 + FLOOR_PACKET_OVERHEAD) + FLOOR_AUDIO_BPS)
    return round(need_bps / 1000.0, 1)


#: The profile fields the capacity floor is derived from.
FLOOR_FIELDS: tuple[str, ...] = ("min_width", "min_height", "min_fps")


def follow_floors(before: Mapping[str, Any], after: dict[str, Any], given: Any) -> None:
    """Let a derived ``min_capacity_kbps`` follow floors that an overlay or override changed.

    ``before`` is a profile table, ``after`` the same table with the keys in ``given``
    changed. When ``given`` changes a floor (:data:`FLOOR_FIELDS`) but not
    ``min_capacity_kbps``, and ``before`` held the number its own floors derive (or none),
    the number is dropped from ``after`` so that the new floors derive it again; a number
    set by hand stays.
    """
    keys = set(given)
    if "min_capacity_kbps" in keys or not keys & set(FLOOR_FIELDS):
        return
    if "min_capacity_kbps" not in after:
        return
    defaults = ClinicalProfile.__dataclass_fields__
    floors = [before.get(f, defaults[f].default) for f in FLOOR_FIELDS]
    try:
        derived = floor_capacity_kbps(*floors)
    except (TypeError, ValueError):
        return  # a bad floor is reported when the profile is built
    if before.get("min_capacity_kbps", derived) == derived:
        del after["min_capacity_kbps"]


def _fail(key: str, problem: str) -> InputError:
    return InputError(f"{key}: {problem}")


def _check_int64(key: str, value: int | float) -> None:
    """Refuse a number outside the int64 range before anything converts it."""
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise _fail(key, f"{clip_repr(value)} is outside the int64 range")
    elif math.isfinite(value) and not INT64_MIN <= value <= INT64_MAX:
        raise _fail(key, f"{clip_repr(value)} is outside the int64 range")


def _coerce_fields(obj: Any, prefix: str) -> None:
    """Check and normalise the scalar and table fields of a frozen dataclass in place."""
    for f in dataclasses.fields(obj):
        key = f"{prefix}{f.name}"
        value = getattr(obj, f.name)
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if kind == "bool":
            if not isinstance(value, bool):
                raise _fail(key, f"expected true or false, got {value!r}")
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _fail(key, f"expected an integer, got {clip_repr(value)}")
            _check_int64(key, value)
            if isinstance(value, float):
                if not value.is_integer():
                    raise _fail(key, f"expected an integer, got {clip_repr(value)}")
                object.__setattr__(obj, f.name, int(value))
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _fail(key, f"expected a number, got {clip_repr(value)}")
            _check_int64(key, value)
            if not math.isfinite(value):
                raise _fail(key, f"must be finite, got {clip_repr(value)}")
            object.__setattr__(obj, f.name, float(value))
        elif kind == "str" and not isinstance(value, str):
            raise _fail(key, f"expected a string, got {clip_repr(value)}")


def _check_range(key: str, value: float, lo: float | None = None, hi: float | None = None) -> None:
    if lo is not None and value < lo:
        raise _fail(key, f"{value!r} is below the minimum {lo!r}")
    if hi is not None and value > hi:
        raise _fail(key, f"{value!r} is above the maximum {hi!r}")


def _rows(key: str, value: Any, width: int, kinds: tuple[type, ...]) -> tuple[tuple[Any, ...], ...]:
    """Normalise a list of fixed-width numeric rows (TOML array of arrays) to tuples."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise _fail(key, f"expected a list of {width}-item rows, got {clip_repr(value)}")
    if len(value) > 64:
        raise _fail(key, f"at most 64 rows, got {len(value)}")
    out = []
    for i, row in enumerate(value):
        if isinstance(row, (str, bytes)) or not isinstance(row, (list, tuple)) or len(row) != width:
            raise _fail(f"{key}[{i}]", f"expected {width} numbers, got {clip_repr(row)}")
        items: list[Any] = []
        for item, kind in zip(row, kinds, strict=True):
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise _fail(f"{key}[{i}]", f"expected numbers, got {clip_repr(row)}")
            if not 0 <= item <= TABLE_MAX:
                # (NaN fails this comparison too)
                raise _fail(
                    f"{key}[{i}]",
                    f"expected finite numbers in [0, {TABLE_MAX}], got {clip_repr(row)}",
                )
            if kind is int:
                if isinstance(item, float) and not item.is_integer():
                    raise _fail(f"{key}[{i}]", f"expected integers, got {clip_repr(row)}")
                items.append(int(item))
            else:
                items.append(float(item))
        out.append(tuple(items))
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class ClinicalProfile:
    """The service bar a call is judged against (DESIGN.md, "Service tiers").

    A one-second window is usable when nothing freezes, frame delay stays under
    ``max_frame_delay_ms`` and the picture stays at or above ``min_fps`` and
    ``min_width`` x ``min_height`` (compared as a pixel count, so the floor does not
    depend on the aspect ratio). ``availability`` is the tier's share of usable windows.
    ``min_capacity_kbps`` is the contract's capacity floor: a window whose link capacity
    is below it is ``excluded`` from availability (``mediaopt.sla``). ``None`` (the
    default) derives it from the floors with :func:`floor_capacity_kbps`; after
    construction it is always a number. Changing a floor with ``dataclasses.replace``
    keeps the old number: pass ``min_capacity_kbps=None`` to derive it again.
    """

    name: str = "consult"
    tier: str = "standard"
    availability: float = 0.999
    max_frame_delay_ms: float = 300.0
    min_fps: float = 15.0
    min_width: int = 640
    min_height: int = 480
    min_capacity_kbps: float | None = None

    def __post_init__(self) -> None:
        _coerce_fields(self, "profile.")
        if self.tier not in TIER_AVAILABILITY:
            raise _fail(
                "profile.tier", f"expected one of {sorted(TIER_AVAILABILITY)}, got {self.tier!r}"
            )
        if not math.isclose(self.availability, TIER_AVAILABILITY[self.tier], abs_tol=1e-12):
            raise _fail(
                "profile.availability",
                f"the {self.tier} tier promises {TIER_AVAILABILITY[self.tier]}, "
                f"got {self.availability!r}",
            )
        _check_range("profile.max_frame_delay_ms", self.max_frame_delay_ms, 1.0, 10_000.0)
        _check_range("profile.min_fps", self.min_fps, 0.0, 240.0)
        _check_range("profile.min_width", self.min_width, 0, 7680)
        _check_range("profile.min_height", self.min_height, 0, 4320)
        cap = self.min_capacity_kbps
        if cap is None:
            cap = floor_capacity_kbps(self.min_width, self.min_height, self.min_fps)
        elif isinstance(cap, bool) or not isinstance(cap, (int, float)):
            raise _fail("profile.min_capacity_kbps", f"expected a number, got {cap!r}")
        elif not math.isfinite(cap):
            raise _fail("profile.min_capacity_kbps", f"must be finite, got {cap!r}")
        _check_range("profile.min_capacity_kbps", float(cap), 0.0, 1_000_000.0)
        object.__setattr__(self, "min_capacity_kbps", float(cap))

    @property
    def min_pixels(self) -> int:
        """The resolution floor as a pixel count."""
        return self.min_width * self.min_height


@dataclasses.dataclass(frozen=True)
class AdaptationConfig:
    """How the adaptation turns a target rate into encoder settings; defaults are libwebrtc's.

    Every field is documented in ``docs/tuning.md``. Rates are bps, times seconds or
    milliseconds as named; ``ladder_bps`` rows are (width, height, min_bps, target_bps,
    max_bps), highest resolution first; ``balanced_min_fps`` rows are (max pixels, fps);
    ``start_caps`` rows are (start rate below which the cap applies in bps, max pixels).
    """

    degradation: str = "maintain-framerate"
    ladder_bps: tuple[tuple[int, int, int, int, int], ...] = LIBWEBRTC_VP8_LADDER
    ladder_from_profile: str = ""
    lowres_interpolation: bool = False
    switch_point: float = 1.0
    fps_reference: float = 30.0
    fps_rate_exponent: float = 0.6
    pixel_step_down: float = 0.6
    fps_step_down: float = 2.0 / 3.0
    min_pixels: int = 320 * 180
    min_fps: float = 2.0
    balanced_min_fps: tuple[tuple[int, float], ...] = LIBWEBRTC_BALANCED_MIN_FPS
    respect_floors: bool = False
    max_pixels: int = 0
    max_fps: float = 0.0
    up_margin: float = 0.15
    down_margin: float = 0.1
    up_dwell_s: float = 4.0
    down_dwell_s: float = 0.0
    up_max_steps: int = 1
    start_dwell_s: float = 4.0
    start_caps: tuple[tuple[int, int], ...] = LIBWEBRTC_START_CAPS
    protection: str = "nack_fec"
    low_rtt_nack_ms: int = 20
    high_rtt_nack_ms: int = -1
    loss_bins: int = 10
    loss_bin_s: float = 1.0
    max_payload_bytes: int = 1460
    overhead_cap: float = 0.5
    nack_overhead_factor: float = 1.0
    keyframe_interval_s: float = 0.0
    keyframe_on_loss: bool = True
    keyframe_min_gap_s: float = 1.0
    temporal_layers: int = 1

    def __post_init__(self) -> None:
        p = "adaptation."
        _coerce_fields(self, p)
        if self.degradation not in DEGRADATIONS:
            raise _fail(
                p + "degradation", f"expected one of {list(DEGRADATIONS)}, got {self.degradation!r}"
            )
        if self.protection not in PROTECTIONS:
            raise _fail(
                p + "protection", f"expected one of {list(PROTECTIONS)}, got {self.protection!r}"
            )
        if self.ladder_from_profile:
            try:
                rows = profile_ladder(self.ladder_from_profile)
            except ValueError as exc:
                raise _fail(p + "ladder_from_profile", str(exc)) from None
            object.__setattr__(self, "ladder_bps", rows)
        ladder = _rows(p + "ladder_bps", self.ladder_bps, 5, (int, int, int, int, int))
        if len(ladder) < 2:
            raise _fail(p + "ladder_bps", "needs at least two rows")
        pixels = [w * h for w, h, *_ in ladder]
        if any(a <= b for a, b in itertools.pairwise(pixels)):
            raise _fail(p + "ladder_bps", "rows must go from the highest resolution to the lowest")
        for i, (w, h, lo, _tgt, mx) in enumerate(ladder):
            if (w == 0) != (h == 0):
                raise _fail(f"{p}ladder_bps[{i}]", "width and height must both be zero or positive")
            if w and not lo <= mx:
                raise _fail(f"{p}ladder_bps[{i}]", "min_bps must not exceed max_bps")
        object.__setattr__(self, "ladder_bps", ladder)
        bal = _rows(p + "balanced_min_fps", self.balanced_min_fps, 2, (int, float))
        if any(a[0] >= b[0] for a, b in itertools.pairwise(bal)):
            raise _fail(p + "balanced_min_fps", "rows must go from the fewest pixels to the most")
        object.__setattr__(self, "balanced_min_fps", bal)
        caps = _rows(p + "start_caps", self.start_caps, 2, (int, int))
        if len(caps) > 8:
            raise _fail(p + "start_caps", "at most 8 caps")
        if any(a[0] >= b[0] for a, b in itertools.pairwise(caps)):
            raise _fail(p + "start_caps", "rows must go from the lowest start rate to the highest")
        object.__setattr__(self, "start_caps", caps)
        _check_range(p + "switch_point", self.switch_point, 0.0, 1.0)
        _check_range(p + "fps_reference", self.fps_reference, 1.0, 240.0)
        _check_range(p + "fps_rate_exponent", self.fps_rate_exponent, 0.0, 2.0)
        _check_range(p + "pixel_step_down", self.pixel_step_down, 0.1, 0.9)
        _check_range(p + "fps_step_down", self.fps_step_down, 0.1, 0.9)
        _check_range(p + "min_pixels", self.min_pixels, 1, 7680 * 4320)
        _check_range(p + "min_fps", self.min_fps, 0.5, 240.0)
        _check_range(p + "max_pixels", self.max_pixels, 0, 7680 * 4320)
        _check_range(p + "max_fps", self.max_fps, 0.0, 240.0)
        _check_range(p + "up_margin", self.up_margin, 0.0, 10.0)
        _check_range(p + "down_margin", self.down_margin, 0.0, 0.9)
        _check_range(p + "up_dwell_s", self.up_dwell_s, 0.0, 3600.0)
        _check_range(p + "down_dwell_s", self.down_dwell_s, 0.0, 3600.0)
        _check_range(p + "up_max_steps", self.up_max_steps, 0, 64)
        _check_range(p + "start_dwell_s", self.start_dwell_s, 0.0, 3600.0)
        _check_range(p + "low_rtt_nack_ms", self.low_rtt_nack_ms, -1, 60_000)
        _check_range(p + "high_rtt_nack_ms", self.high_rtt_nack_ms, -1, 60_000)
        if self.high_rtt_nack_ms >= 0 and self.low_rtt_nack_ms > self.high_rtt_nack_ms:
            raise _fail(p + "low_rtt_nack_ms", "must not exceed high_rtt_nack_ms")
        _check_range(p + "loss_bins", self.loss_bins, 1, 64)
        _check_range(p + "loss_bin_s", self.loss_bin_s, 0.001, 60.0)
        _check_range(p + "max_payload_bytes", self.max_payload_bytes, 100, 65_000)
        _check_range(p + "overhead_cap", self.overhead_cap, 0.0, 0.5)
        _check_range(p + "nack_overhead_factor", self.nack_overhead_factor, 0.0, 10.0)
        _check_range(p + "keyframe_interval_s", self.keyframe_interval_s, 0.0, 3600.0)
        _check_range(p + "keyframe_min_gap_s", self.keyframe_min_gap_s, 0.0, 3600.0)
        _check_range(p + "temporal_layers", self.temporal_layers, 1, 4)


@dataclasses.dataclass(frozen=True)
class Policy:
    """A complete tuning: estimator, adaptation and the clinical profile it serves."""

    name: str = "gcc"
    description: str = ""
    start_bps: int = 300_000
    min_bps: int = 30_000
    max_bps: int = 2_500_000
    estimator: GccConfig = dataclasses.field(default_factory=GccConfig)
    adaptation: AdaptationConfig = dataclasses.field(default_factory=AdaptationConfig)
    profile: ClinicalProfile = dataclasses.field(default_factory=ClinicalProfile)

    def __post_init__(self) -> None:
        _coerce_fields(self, "")
        if not self.name:
            raise _fail("name", "must not be empty")
        _check_range("min_bps", self.min_bps, 1_000, 1_000_000_000)
        _check_range("max_bps", self.max_bps, 1_000, 1_000_000_000)
        if self.min_bps > self.max_bps:
            raise _fail("min_bps", f"{self.min_bps} exceeds max_bps {self.max_bps}")
        _check_range("start_bps", self.start_bps, self.min_bps, self.max_bps)
        for key, cls in (
            ("estimator", GccConfig),
            ("adaptation", AdaptationConfig),
            ("profile", ClinicalProfile),
        ):
            if not isinstance(getattr(self, key), cls):
                raise _fail(
                    key, f"expected a {cls.__name__}, got {type(getattr(self, key)).__name__}"
                )

    # --- conversion ---
    def to_dict(self) -> dict[str, Any]:
        """Return the policy as nested plain data (what the TOML file holds)."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "start_bps": self.start_bps,
            "min_bps": self.min_bps,
            "max_bps": self.max_bps,
            "profile": dataclasses.asdict(self.profile),
            "adaptation": dataclasses.asdict(self.adaptation),
            "estimator": dataclasses.asdict(self.estimator),
        }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from nested plain data; unknown or mistyped keys raise ``InputError``.

        Missing keys take the defaults (libwebrtc's numbers and the standard tier).
        """
        if not isinstance(data, Mapping):
            raise InputError(f"policy: expected a table, got {type(data).__name__}")
        top = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - top)
        if unknown:
            raise _fail(
                unknown[0],
                "unknown key" + (f" (also {', '.join(unknown[1:])})" if unknown[1:] else ""),
            )
        kwargs: dict[str, Any] = {
            k: v for k, v in data.items() if k not in {"estimator", "adaptation", "profile"}
        }
        for key, sub in (("adaptation", AdaptationConfig), ("profile", ClinicalProfile)):
            if key in data:
                table = data[key]
                if not isinstance(table, Mapping):
                    raise _fail(key, f"expected a table, got {table!r}")
                known = {f.name for f in dataclasses.fields(sub)}
                bad = sorted(set(table) - known)
                if bad:
                    raise _fail(f"{key}.{bad[0]}", "unknown key")
                kwargs[key] = sub(**dict(table))
        if "estimator" in data:
            table = data["estimator"]
            if not isinstance(table, Mapping):
                raise _fail("estimator", f"expected a table, got {table!r}")
            bad = sorted(set(table) - {f.name for f in dataclasses.fields(GccConfig)})
            if bad:
                raise _fail(f"estimator.{bad[0]}", "unknown key")
            for k, v in table.items():
                # before the estimator sees it: a value past int64 names its key here
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    _check_int64(f"estimator.{k}", v)
            try:
                kwargs["estimator"] = GccConfig.from_dict(table)
            except ValueError as exc:
                raise InputError(f"estimator.{exc}") from None
        return cls(**kwargs)

    def to_toml(self) -> str:
        """Return the policy as TOML text (what :meth:`save` writes)."""
        return dumps(self.to_dict())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the policy to ``path`` as TOML, atomically."""
        _atomic.write_text(path, self.to_toml())

    def replace(self, **changes: Any) -> Policy:
        """Return a copy with top-level fields changed (nested configs: pass new objects)."""
        return dataclasses.replace(self, **changes)

    def flat(self) -> dict[str, Any]:
        """Every field as a dotted key (``"adaptation.up_dwell_s"``) with its value.

        The keys are the ones :meth:`with_overrides`, a search space and
        ``mediaopt policies diff`` use; table rows are tuples.
        """
        return flatten(self.to_dict())

    def with_overrides(self, overrides: Mapping[str, Any]) -> Policy:
        """Return a copy with fields changed by dotted key, checked like a loaded file.

        ``policy.with_overrides({"adaptation.up_dwell_s": 2.0, "estimator.pacing_factor":
        2.0, "max_bps": 1_500_000})``. An unknown key, a wrong type or a value out of range
        raises :class:`mediaopt.InputError` naming the key.
        """
        if not isinstance(overrides, Mapping):
            raise InputError(f"overrides: expected a mapping, got {type(overrides).__name__}")
        data = self.to_dict()
        before = dict(data["profile"])
        for key, value in overrides.items():
            _set_dotted(data, key, value)
        given = [k.partition(".")[2] for k in overrides if k.startswith("profile.")]
        follow_floors(before, data["profile"], given)
        return Policy.from_dict(data)


#: The nested tables of a policy, as they appear in TOML and in dotted keys.
POLICY_TABLES: tuple[str, ...] = ("profile", "adaptation", "estimator")


def flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """Nested policy data (what the TOML file holds) as ``{"table.key": value}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            for sub, v in value.items():
                out[f"{key}.{sub}"] = _freeze(v)
        else:
            out[key] = _freeze(value)
    return out


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _known_keys() -> set[str]:
    return set(Policy().flat())


def _set_dotted(data: dict[str, Any], key: Any, value: Any) -> None:
    if not isinstance(key, str) or not key:
        raise InputError(f"overrides: keys are dotted field names, got {key!r}")
    if key not in _known_keys():
        raise InputError(f"{key}: unknown key")
    table, _, field_name = key.rpartition(".")
    if table:
        data.setdefault(table, {})[field_name] = value
    else:
        data[field_name] = value


def diff(a: Policy, b: Policy) -> list[tuple[str, Any, Any]]:
    """The fields in which two policies differ: ``(dotted key, value in a, value in b)``."""
    fa, fb = a.flat(), b.flat()
    return [(k, fa[k], fb[k]) for k in fa if fa[k] != fb[k]]


def profile_ladder(profile: Any) -> tuple[tuple[int, int, int, int, int], ...]:
    """Return ``ladder_bps`` rows from a content profile's convex hull.

    ``profile`` is a :class:`mediaopt.media.profiles.ContentProfile`, a bundled profile name
    (``"talking_head"``) or a profile file. The rows are
    :meth:`~mediaopt.media.profiles.ContentProfile.ladder` (each resolution over the bitrates
    where it gives the best measured picture) plus libwebrtc's closing ``0x0`` row, so
    pictures below the smallest profiled one keep its rates.
    """
    rows = profiles.resolve(profile).ladder()
    last = rows[-1]
    return (*rows, (0, 0, last[2], 0, 0))


def with_profile_ladder(policy: Policy, profile: Any) -> Policy:
    """Return a copy of ``policy`` whose adaptation ladder is the profile's convex hull.

    A name or path is recorded as ``adaptation.ladder_from_profile`` (so a saved policy
    keeps saying where its ladder came from); a :class:`~mediaopt.media.profiles.ContentProfile`
    object is written into ``adaptation.ladder_bps`` directly.
    """
    if not isinstance(policy, Policy):
        raise InputError(f"policy: expected a Policy, got {type(policy).__name__}")
    if isinstance(profile, (str, os.PathLike)):
        adaptation = dataclasses.replace(policy.adaptation, ladder_from_profile=os.fspath(profile))
    else:
        adaptation = dataclasses.replace(
            policy.adaptation, ladder_from_profile="", ladder_bps=profile_ladder(profile)
        )
    return policy.replace(adaptation=adaptation)
