"""Full-fidelity replay: a replayed session checked against, and closed over, real encodes.

:func:`check_replay` re-encodes a replay's frame log with a real PyAV encoder and measures
what the viewer saw; :func:`replay_encoded` closes the loop in two passes (the model
replay, then a replay with the measured frame sizes sent through the link). See
``docs/encoders.md``, "Full-fidelity replay".
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mediaopt._validate import check_float, check_int
from mediaopt.errors import InputError
from mediaopt.media import content, quality
from mediaopt.media.encoders import Decoder, Encoder
from mediaopt.replay.loop import replay

__all__ = ["SIZE_FACTOR_RANGE", "EncodedReplay", "FidelityResult", "check_replay", "replay_encoded"]


@dataclass(frozen=True)
class FidelityResult:
    """A replayed session re-encoded with a real encoder (see :func:`check_replay`).

    Per encoded frame of the replay's frame log: ``real_size_bytes`` (what the real
    encoder produced for the same frame, resolution and rate), ``real_psnr_db`` (its luma
    PSNR against its own source frame, shown at display size) and ``model_quality_db``
    (the replay's content-model PSNR). Per display tick (every source frame):
    ``shown_psnr_db``/``shown_ssim`` of what the viewer sees — the last frame the replay
    rendered — against the source frame it *should* show: its own source frame, moved
    on by one frame for every frame interval it has been on screen since its render. In
    fluid playback that is the frame's own source; during a freeze the reference moves on
    while the picture does not, so freezes cost quality. NaN before
    the first rendered frame and on ticks not measured.
    """

    real_size_bytes: npt.NDArray[np.int64]
    real_psnr_db: npt.NDArray[np.float64]
    model_size_bytes: npt.NDArray[np.int64]
    model_quality_db: npt.NDArray[np.float64]
    rendered: npt.NDArray[np.bool_]
    shown_psnr_db: npt.NDArray[np.float64]
    shown_ssim: npt.NDArray[np.float64]

    def summary(self) -> dict[str, float]:
        """Return means and model-vs-measurement errors (dB, ratios) as a flat dict."""
        r = self.rendered
        model_q = float(np.mean(self.model_quality_db[r])) if r.any() else math.nan
        real_q = float(np.nanmean(self.real_psnr_db[r])) if r.any() else math.nan
        shown = self.shown_psnr_db[~np.isnan(self.shown_psnr_db)]
        shown_q = float(np.mean(shown)) if shown.size else math.nan
        model_bits = float(np.sum(self.model_size_bytes))
        return {
            "model_quality_mean_db": model_q,
            "encoded_psnr_mean_db": real_q,
            "delivered_psnr_mean_db": shown_q,
            "delivered_ssim_mean": float(np.nanmean(self.shown_ssim))
            if np.any(~np.isnan(self.shown_ssim))
            else math.nan,
            "quality_error_db": real_q - model_q,
            "delivered_error_db": shown_q - model_q,
            "size_ratio": float(np.sum(self.real_size_bytes)) / model_bits
            if model_bits > 0
            else math.nan,
        }


def _even(x: float) -> int:
    return max(2, round(x / 2.0) * 2)


def check_replay(
    frames: Any,
    source: Any,
    *,
    codec: str = "h264",
    fps: float = 30.0,
    scale: float = 1.0,
    seed: int = 0,
    measure_every: int = 1,
    rate_window_s: float = 1.0,
    history_s: float = 5.0,
) -> FidelityResult:
    """Re-encode a replayed session with a real encoder and measure what the viewer saw.

    ``frames`` is the replay's frame log (any object with the ``FrameLog`` arrays
    ``capture_us``, ``render_us``, ``size_bytes``, ``width``, ``height``, ``keyframe``,
    ``quality_db``); ``source`` a content kind or video file (:func:`mediaopt.media.content.frames`)
    captured at ``fps``. Each logged frame is encoded from the source frame of its capture
    time, at its logged resolution, with the encoder's bitrate set to the logged bits of
    the last ``rate_window_s`` (so the real encoder spends what the model spent), its frame
    rate to the logged frames' rate in that window (snapped to ``fps / k``) and a
    keyframe where the log has one. ``scale`` shrinks every resolution (and the bitrate by
    ``scale**2``, keeping bits per pixel) to make long sessions affordable.

    This is an *open-loop* check: the real sizes are reported, not sent through the link;
    which frames arrived, and when, comes from the replay. Quality is luma PSNR/SSIM at the
    display resolution (the log's largest, times ``scale``), measured every
    ``measure_every``-th display tick; references reach at most ``history_s`` back.
    """
    cap = np.asarray(frames.capture_us, dtype=np.int64)
    ren = np.asarray(frames.render_us, dtype=np.int64)
    size = np.asarray(frames.size_bytes, dtype=np.int64)
    wid = np.asarray(frames.width, dtype=np.int64)
    hei = np.asarray(frames.height, dtype=np.int64)
    key = np.asarray(frames.keyframe, dtype=bool)
    mq = np.asarray(frames.quality_db, dtype=np.float64)
    n = cap.size
    if n == 0:
        raise InputError("frames: the frame log is empty")
    f = check_float("fps", fps, min_value=1.0, max_value=240.0)
    s = check_float("scale", scale, min_value=0.05, max_value=1.0)
    step = check_int("measure_every", measure_every, min_value=1)
    win_us = int(check_float("rate_window_s", rate_window_s, min_value=0.05) * 1e6)
    check_float("history_s", history_s, min_value=0.1, max_value=60.0)
    disp_w, disp_h = _even(float(wid.max()) * s), _even(float(hei.max()) * s)
    end_us = int(max(int(cap.max()), int(ren.max())))
    n_ticks = int(end_us * f / 1e6) + 1
    src = content.frames(
        source, width=disp_w, height=disp_h, fps=f, seconds=n_ticks / f + 1.0 / f, seed=seed
    )
    # the rate the model's encoder spent: bits of the trailing window (the first window
    # for frames inside it, so the opening keyframe does not read as a rate spike)
    csum = np.concatenate([[0], np.cumsum(size)])
    ends = np.maximum(cap, cap[0] + win_us)
    hi = np.searchsorted(cap, ends, side="right")
    lo = np.searchsorted(cap, ends - win_us, side="right")
    window_bits = 8.0 * (csum[hi] - csum[lo])
    rate = np.maximum(window_bits / (win_us / 1e6) * s * s, 20_000.0)
    # the frame rate the adaptation chose, from the frames logged in the same window,
    # snapped to capture rate / k so that only a real change reopens the encoder
    counts = np.maximum(hi - lo, 1)
    divisor = np.clip(np.rint(f * (win_us / 1e6) / counts), 1, 30).astype(np.int64)

    real_size = np.zeros(n, dtype=np.int64)
    real_psnr = np.full(n, math.nan)
    shown_psnr = np.full(n_ticks, math.nan)
    shown_ssim = np.full(n_ticks, math.nan)
    enc: Encoder | None = None
    dec = Decoder(codec)
    order = np.argsort(np.where(ren >= 0, ren, np.iinfo(np.int64).max), kind="stable")
    render_queue = [int(i) for i in order if ren[i] >= 0]
    rq = 0
    pictures: dict[int, Any] = {}
    shown: Any = None
    shown_tick = 0  # source tick the shown picture was encoded from
    shown_ren_us = 0
    src_tick = np.zeros(n, dtype=np.int64)
    # source luma of recent ticks: the reference of a frame shown late or frozen
    history: dict[int, Any] = {}
    keep_ticks = int(history_s * f) + 1
    i = 0
    src_iter = iter(src)
    for tick in range(n_ticks):
        t_us = round(tick * 1e6 / f)
        frame = next(src_iter, None)
        if frame is None:
            break
        history[tick] = quality.luma(frame)
        history.pop(tick - keep_ticks, None)
        while i < n and cap[i] <= t_us:
            w_i, h_i = _even(float(wid[i]) * s), _even(float(hei[i]) * s)
            fps_i = f / float(divisor[i])
            if enc is None:
                enc = Encoder(codec, w_i, h_i, fps_i, int(rate[i]), scale_input=True)
            else:
                enc.apply(width=w_i, height=h_i, fps=fps_i, bitrate_bps=int(rate[i]))
            if key[i]:
                enc.force_keyframe()
            src_tick[i] = tick
            out = enc.encode(enc.prepare(frame))
            real_size[i] = sum(ef.size_bytes for ef in out)
            pics = [p for ef in out for p in dec.decode(ef)]
            if pics:
                pic = pics[-1]
                if (pic.width, pic.height) != (disp_w, disp_h):
                    pic = pic.reformat(width=disp_w, height=disp_h, interpolation="BICUBIC")
                y = quality.luma(pic)
                real_psnr[i] = quality.psnr(history[tick], y)
                if ren[i] >= 0:
                    pictures[i] = y
            i += 1
        while rq < len(render_queue) and ren[render_queue[rq]] <= t_us:
            j = render_queue[rq]
            if j in pictures:
                shown = pictures.pop(j)
                shown_tick, shown_ren_us = int(src_tick[j]), int(ren[j])
            rq += 1
        if shown is not None and tick % step == 0:
            # the picture stands for its own source tick; each frame interval it stays
            # on screen after its render, the source it should match moves one tick on
            late = math.floor((t_us - shown_ren_us) * f / 1e6 + 1e-9)
            ref_tick = max(min(shown_tick + late, tick), min(history))
            ref = history[ref_tick]
            shown_psnr[tick] = quality.psnr(ref, shown)
            shown_ssim[tick] = quality.ssim(ref, shown)
    if enc is not None:
        enc.close()
    return FidelityResult(
        real_size_bytes=(real_size / (s * s)).astype(np.int64),
        real_psnr_db=real_psnr,
        model_size_bytes=size,
        model_quality_db=mq,
        rendered=ren >= 0,
        shown_psnr_db=shown_psnr,
        shown_ssim=shown_ssim,
    )


#: Bounds on the per-frame real/model size factor injected into the second pass (a real
#: encoder that skips a frame reports 0 bytes; a reopen can give a huge keyframe).
SIZE_FACTOR_RANGE: tuple[float, float] = (0.05, 20.0)


class _SizedLog:
    """A frame log with its sizes replaced (what :func:`check_replay` reads)."""

    def __init__(self, frames: Any, size_bytes: npt.NDArray[np.int64]) -> None:
        self.capture_us = frames.capture_us
        self.render_us = frames.render_us
        self.size_bytes = size_bytes
        self.width = frames.width
        self.height = frames.height
        self.keyframe = frames.keyframe
        self.quality_db = frames.quality_db


@dataclass(frozen=True, eq=False)
class EncodedReplay:
    """A replay closed over a real encoder in two passes (see :func:`replay_encoded`).

    ``model``: pass 1, the model-based replay; ``open_loop``: pass 1 re-encoded (real
    sizes, not sent); ``size_factor``: per pass-1 frame, real size over model size;
    ``result``: pass 2, the replay with those measured sizes packetised through the
    link; ``closed_loop``: pass 2 re-encoded at its settings, with the viewer's picture
    (what pass 2's receiver rendered) measured against the current source frame.
    """

    model: Any
    open_loop: FidelityResult
    size_factor: npt.NDArray[np.float64]
    result: Any
    closed_loop: FidelityResult

    def summary(self) -> dict[str, float]:
        """Return model vs. measured quality, freezes and sizes as a flat dict."""
        closed = self.closed_loop.summary()
        model_q = float(self.model.metrics["quality_mean"])
        injected = float(np.sum(self.result.frames.size_bytes))
        real2 = float(np.sum(self.closed_loop.real_size_bytes))
        return {
            "model_quality_mean_db": model_q,
            "model_freeze_ratio": float(self.model.metrics["freeze_ratio"]),
            "freeze_ratio": float(self.result.metrics["freeze_ratio"]),
            "encoded_psnr_mean_db": closed["encoded_psnr_mean_db"],
            "delivered_psnr_mean_db": closed["delivered_psnr_mean_db"],
            "delivered_ssim_mean": closed["delivered_ssim_mean"],
            "delivered_error_db": closed["delivered_psnr_mean_db"] - model_q,
            "open_loop_delivered_psnr_mean_db": self.open_loop.summary()["delivered_psnr_mean_db"],
            "size_ratio": self.open_loop.summary()["size_ratio"],
            "fixed_point_size_ratio": real2 / injected if injected > 0 else math.nan,
        }


def replay_encoded(
    trace: Any,
    policy: Any,
    source: Any,
    *,
    codec: str = "h264",
    scale: float = 1.0,
    measure_every: int = 1,
    seed: int = 0,
    max_fps: float = 30.0,
    **replay_options: Any,
) -> EncodedReplay:
    """Replay ``policy`` over ``trace`` with real encoded frames of ``source`` (two passes).

    Pass 1 is :func:`mediaopt.replay` (any ``replay_options``, e.g. ``content=``,
    ``max_width``, ``duration_s``). Its frames are encoded with the real ``codec`` from
    ``source`` (a synthetic kind or a video file) at the settings the policy chose
    (:func:`check_replay`). Pass 2 replays again with every frame's size multiplied by
    the real/model size ratio measured in pass 1 at that capture time, so the real
    sizes go through the pacer, the link, the receiver and back into the estimator and
    the adaptation; its frames are encoded again at pass 2's settings and the viewer's
    picture — the last frame pass 2's receiver rendered, freezes included — is measured
    against the current source frame. ``scale`` shrinks the encoded pictures (and the
    rate, keeping bits per pixel). See docs/encoders.md, "Full-fidelity replay".
    """
    sd = check_int("seed", seed, min_value=0)
    model = replay(trace, policy, seed=sd, max_fps=max_fps, **replay_options)
    if model.frames.capture_us.size == 0:
        raise InputError("trace: the model replay encoded no frames")
    open_loop = check_replay(
        model.frames, source, codec=codec, fps=max_fps, scale=scale, seed=sd,
        measure_every=measure_every,
    )  # fmt: skip
    model_size = np.maximum(np.asarray(model.frames.size_bytes, dtype=np.float64), 1.0)
    factor = np.clip(open_loop.real_size_bytes / model_size, *SIZE_FACTOR_RANGE)
    times = np.asarray(model.frames.capture_us, dtype=np.int64)
    result = replay(
        trace, policy, seed=sd, max_fps=max_fps, _size_factors=(times, factor), **replay_options
    )
    # the rate the policy asked of the encoder is the model's size, before the factor
    cap2 = np.asarray(result.frames.capture_us, dtype=np.int64)
    idx = np.clip(np.searchsorted(times, cap2, side="right") - 1, 0, times.size - 1)
    asked = np.maximum(np.rint(np.asarray(result.frames.size_bytes) / factor[idx]), 1).astype(
        np.int64
    )
    closed_loop = check_replay(
        _SizedLog(result.frames, asked), source, codec=codec, fps=max_fps, scale=scale,
        seed=sd, measure_every=measure_every,
    )  # fmt: skip
    # report the sizes that really went through the link
    closed_loop = dataclasses.replace(
        closed_loop, model_size_bytes=np.asarray(result.frames.size_bytes, dtype=np.int64)
    )
    return EncodedReplay(model, open_loop, factor, result, closed_loop)
