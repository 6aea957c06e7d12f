"""``mediaopt profile``: measure a source's rate–quality profile with a real encoder."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mediaopt.cli.common import UsageError, echo, output, write_outputs
from mediaopt.media import profiles

#: Named grids: (resolutions, bitrates in bps, frame rates, seconds).
GRIDS: dict[str, tuple[str, str, str, float]] = {
    # what the bundled profiles use: quick, yet three resolutions so the hull is meaningful
    "tiny": ("160x90,320x180,640x360", "100k,200k,400k,800k", "30", 1.0),
    "default": ("320x180,640x360,1280x720", "150k,300k,600k,1200k,2500k", "30", 2.0),
}


def _parse_rate(text: str) -> int:
    t = text.strip().lower()
    mult = 1
    if t.endswith("k"):
        mult, t = 1000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1_000_000, t[:-1]
    try:
        return round(float(t) * mult)
    except ValueError:
        raise UsageError(f"--bitrates: cannot read {text!r} (use e.g. 300k or 1.2m)") from None


def _parse_res(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise UsageError(f"--resolutions: cannot read {text!r} (use e.g. 640x360)") from None


def register(sub: Any) -> None:
    """Add the ``profile`` sub-command to ``sub`` (an argparse sub-parser collection)."""
    p = sub.add_parser(
        "profile",
        help="encode a source over a grid of resolutions x bitrates and save its profile",
        description=(
            "Encode SOURCE (a synthetic kind: talking_head, document_share, endoscope, "
            "ultrasound; or any video file FFmpeg reads) at every resolution x bitrate "
            "(x frame rate) of a grid; record bits, luma PSNR/SSIM at display resolution "
            "and encode speed; save a ContentProfile as JSON."
        ),
    )
    p.add_argument("source", help="synthetic content kind or video file")
    p.add_argument("--codec", default="h264", help="h264 (default), vp8, vp9 or av1")
    p.add_argument("--out", required=True, help="profile JSON to write (- for standard output)")
    p.add_argument("--grid", choices=sorted(GRIDS), default="default", help="named grid")
    p.add_argument("--resolutions", help="override: comma list such as 320x180,640x360")
    p.add_argument("--bitrates", help="override: comma list such as 150k,300k,1.2m")
    p.add_argument("--fps", help="override: comma list of frame rates")
    p.add_argument("--seconds", type=float, help="override: clip length in seconds")
    p.add_argument("--seed", type=int, default=0, help="seed of synthetic content")
    p.add_argument(
        "--measure-every", type=int, default=1, help="measure quality on every n-th frame"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Measure the profile and write it."""
    out = output("--out", args.out)  # checked before minutes of encoding
    res_s, rate_s, fps_s, secs = GRIDS[args.grid]
    resolutions = [_parse_res(r) for r in (args.resolutions or res_s).split(",") if r]
    rates = [_parse_rate(r) for r in (args.bitrates or rate_s).split(",") if r]
    try:
        fpss = [float(f) for f in (args.fps or fps_s).split(",") if f]
    except ValueError:
        raise UsageError(f"--fps: cannot read {args.fps!r}") from None
    seconds = secs if args.seconds is None else args.seconds

    def progress(done: int, total: int, pt: profiles.ProfilePoint) -> None:
        if args.quiet:
            return
        echo(
            f"[{done}/{total}] {pt.width}x{pt.height}@{pt.fps:g} "
            f"target {pt.target_bps / 1000:.0f} kbps: {pt.bitrate_bps / 1000:.0f} kbps, "
            f"PSNR {pt.psnr_db:.2f} dB, SSIM {pt.ssim:.4f}, {pt.encode_fps:.0f} fps",
            file=sys.stderr,
        )

    prof = profiles.measure(
        args.source,
        args.codec,
        resolutions=resolutions,
        bitrates_bps=rates,
        fps_values=fpss,
        seconds=seconds,
        seed=args.seed,
        measure_every=args.measure_every,
        progress=progress,
    )
    write_outputs([(out, prof.to_json())])
    if not args.quiet:
        echo(f"wrote {out} ({len(prof.points)} points)", file=sys.stderr)
    return 0
