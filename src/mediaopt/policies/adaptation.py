"""Adaptation: encoder settings (bitrate, resolution, frame rate, keyframes, FEC/NACK) per policy.

:class:`Adaptation` resolves a policy and a camera here and builds on the compiled class
of ``mediaopt._core.adaptation`` (which, with :class:`EncoderSettings`, makes the
per-report decisions); this module builds what the kernel walks: the **degradation
path**, a list of (width, height, fps) states from the best picture to the worst, each with
the media rate it needs. The path follows the policy's degradation preference the way
libwebrtc's ``VideoStreamAdapter`` does (pixel steps of x3/5, frame-rate steps of x2/3,
the balanced settings' minimum frame rate per resolution) and, when the policy respects
the clinical floors, first exhausts every state that keeps the profile's frame-rate and
resolution floors. Rates come from the policy's ladder, interpolated by pixel count
exactly as libwebrtc's ``InterpolateSimulcastFormat`` does.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

from mediaopt._core import adaptation as _core_adaptation
from mediaopt._core.adaptation import AdaptationCore, EncoderSettings
from mediaopt._validate import check_float, check_int
from mediaopt.errors import InputError
from mediaopt.policies.model import (
    AdaptationConfig,
    ClinicalProfile,
    LadderLimits,
    Policy,
    ladder_limits,
)
from mediaopt.policies.store import resolve


class PathState(NamedTuple):
    """One state of the degradation path."""

    width: int
    height: int
    fps: float
    need_bps: int
    max_bps: int


def _size_for_pixels(max_width: int, max_height: int, pixels: int) -> tuple[int, int]:
    """Largest even-sized picture of the camera's aspect ratio with about ``pixels`` pixels."""
    scale = math.sqrt(pixels / float(max_width * max_height))
    w = max(2, int(max_width * scale) // 2 * 2)
    h = max(2, int(max_height * scale) // 2 * 2)
    return min(w, max_width), min(h, max_height)


def _balanced_min_fps(cfg: AdaptationConfig, pixels: int) -> float | None:
    for max_px, fps in cfg.balanced_min_fps:
        if pixels <= max_px:
            return fps
    return None


def _lower_fps(cfg: AdaptationConfig, fps: float, floor: float) -> float:
    # libwebrtc steps integer frame rates by (fps * 2) / 3; other steps keep the same shape
    if cfg.fps_step_down == 2.0 / 3.0 and float(fps).is_integer():
        lower = float((int(fps) * 2) // 3)
    else:
        lower = math.floor(fps * cfg.fps_step_down * 1000.0) / 1000.0
    return max(lower, floor)


def _walk(
    cfg: AdaptationConfig,
    rungs: list[int],
    start: tuple[int, float],
    last_rung: int,
    fps_floor: float,
) -> list[tuple[int, float]]:
    """States after ``start`` in preference order, never below ``last_rung``/``fps_floor``."""
    r, f = start
    out: list[tuple[int, float]] = []

    def fps_down() -> None:
        nonlocal f
        while f > fps_floor:
            f = _lower_fps(cfg, f, fps_floor)
            out.append((r, f))

    def res_down() -> None:
        nonlocal r
        while r < last_rung:
            r += 1
            out.append((r, f))

    if cfg.degradation == "maintain-framerate":
        res_down()
        fps_down()
    elif cfg.degradation == "maintain-resolution":
        fps_down()
        res_down()
    else:  # balanced: libwebrtc first drops to the resolution's minimum fps, then a rung
        while True:
            m = _balanced_min_fps(cfg, rungs[r])
            if m is not None and max(m, fps_floor) < f:
                f = max(m, fps_floor)
                out.append((r, f))
            elif r < last_rung:
                r += 1
                out.append((r, f))
            else:
                break
        fps_down()
    return out


def degradation_path(
    adaptation: AdaptationConfig,
    profile: ClinicalProfile,
    max_width: int,
    max_height: int,
    max_fps: float,
) -> list[PathState]:
    """Return the states the adaptation may use, best first, with the media rate each needs.

    Resolution rungs start at the camera's picture (capped by ``max_pixels``) and step by
    ``pixel_step_down`` down to ``min_pixels``; frame rates start at the camera's rate
    (capped by ``max_fps``) and step by ``fps_step_down`` down to ``min_fps``. A state
    needs ``switch_point`` of the way from the ladder's min to its target rate, scaled by
    ``(fps / fps_reference) ** fps_rate_exponent``; it may use up to the ladder's max,
    scaled the same way.
    """
    cfg = adaptation
    cam_pixels = max_width * max_height
    top_pixels = min(cam_pixels, cfg.max_pixels) if cfg.max_pixels > 0 else cam_pixels
    top_fps = min(max_fps, cfg.max_fps) if cfg.max_fps > 0 else max_fps
    rungs = [top_pixels]
    while True:
        nxt = int(rungs[-1] * cfg.pixel_step_down + 1e-9)
        if nxt < cfg.min_pixels or len(rungs) >= 16:
            break
        rungs.append(nxt)
    fps_min = min(cfg.min_fps, top_fps)
    seq: list[tuple[int, float]] = [(0, top_fps)]
    if cfg.respect_floors:
        floor_rung = max([i for i, px in enumerate(rungs) if px >= profile.min_pixels], default=0)
        floor_fps = min(max(profile.min_fps, fps_min), top_fps)
        seq += _walk(cfg, rungs, seq[-1], floor_rung, floor_fps)
    seq += _walk(cfg, rungs, seq[-1], len(rungs) - 1, fps_min)
    # drop repeats, keep at most what the core holds
    states: list[PathState] = []
    seen: set[tuple[int, float]] = set()
    for r, f in seq:
        if (r, f) in seen:
            continue
        seen.add((r, f))
        w, h = (
            (max_width, max_height)
            if rungs[r] == cam_pixels
            else _size_for_pixels(max_width, max_height, rungs[r])
        )
        lim = ladder_limits(w, h, cfg.ladder_bps, cfg.lowres_interpolation)
        scale = (f / cfg.fps_reference) ** cfg.fps_rate_exponent
        base = lim.min_bps + cfg.switch_point * (lim.target_bps - lim.min_bps)
        need = round(base * scale)
        cap = max(round(lim.max_bps * scale), need)
        states.append(PathState(w, h, f, need, cap))
    return states[:64]


def build_core(policy: Policy, max_width: int, max_height: int, max_fps: float) -> AdaptationCore:
    """Build the C kernel for ``policy`` and a camera of the given maximum size and rate."""
    if isinstance(max_width, bool) or not 16 <= check_int("max_width", max_width) <= 7680:
        raise InputError(f"max_width: {max_width!r} is outside [16, 7680]")
    if isinstance(max_height, bool) or not 16 <= check_int("max_height", max_height) <= 4320:
        raise InputError(f"max_height: {max_height!r} is outside [16, 4320]")
    if not (isinstance(max_fps, (int, float)) and 1.0 <= max_fps <= 240.0):
        raise InputError(f"max_fps: {max_fps!r} is outside [1, 240]")
    cfg = policy.adaptation
    path = degradation_path(
        cfg, policy.profile, int(max_width), int(max_height), check_float("max_fps", max_fps)
    )
    return AdaptationCore(
        [s.width for s in path],
        [s.height for s in path],
        [s.fps for s in path],
        [s.need_bps for s in path],
        [s.max_bps for s in path],
        up_margin=cfg.up_margin,
        down_margin=cfg.down_margin,
        up_dwell_s=cfg.up_dwell_s,
        down_dwell_s=cfg.down_dwell_s,
        up_max_steps=cfg.up_max_steps,
        start_dwell_s=cfg.start_dwell_s,
        start_caps=cfg.start_caps,
        min_bps=policy.min_bps,
        max_bps_cap=policy.max_bps,
        protection=cfg.protection,
        low_rtt_nack_ms=cfg.low_rtt_nack_ms,
        high_rtt_nack_ms=cfg.high_rtt_nack_ms,
        loss_bins=cfg.loss_bins,
        loss_bin_s=cfg.loss_bin_s,
        max_payload_bytes=cfg.max_payload_bytes,
        overhead_cap=cfg.overhead_cap,
        nack_overhead_factor=cfg.nack_overhead_factor,
        keyframe_interval_s=cfg.keyframe_interval_s,
        keyframe_on_loss=cfg.keyframe_on_loss,
        keyframe_min_gap_s=cfg.keyframe_min_gap_s,
        temporal_layers=cfg.temporal_layers,
    )


class Adaptation(_core_adaptation.Adaptation):
    """Encoder settings from the bandwidth estimate, per policy (see ``docs/tuning.md``).

    ``Adaptation(policy, max_width=1280, max_height=720, max_fps=30)``: ``policy`` is a
    built-in name, a TOML path or a :class:`~mediaopt.policies.Policy`; the maximum
    picture is what the camera delivers. :meth:`update` is called on every feedback
    report; ``core`` is the C kernel the replay loop drives directly. The policy is
    resolved and the kernel built here (:func:`build_core`); ``update``, ``update_many``
    and ``reset`` are the compiled base class's.
    """

    __slots__ = ("_policy",)

    def __init__(
        self,
        policy: Policy | str | os.PathLike[str] = "gcc",
        max_width: int = 1280,
        max_height: int = 720,
        max_fps: float = 30.0,
    ) -> None:
        pol = resolve(policy)
        super().__init__(build_core(pol, max_width, max_height, max_fps))
        self._policy = pol

    @property
    def policy(self) -> Policy:
        """The :class:`~mediaopt.policies.Policy` in use."""
        return self._policy

    def __repr__(self) -> str:
        return (
            f"Adaptation(policy={self._policy.name!r}, "
            f"state={self.core.state_index}/{len(self.core.states)})"
        )


__all__ = [
    "Adaptation",
    "AdaptationCore",
    "EncoderSettings",
    "LadderLimits",
    "PathState",
    "build_core",
    "degradation_path",
    "ladder_limits",
]
