"""``mediaopt.quality``: a compatibility name for code written before the rooms.

The code lives in :mod:`mediaopt.media.quality`.
"""

from mediaopt.media.quality import (
    MAX_PSNR_DB,
    luma,
    mse,
    psnr,
    psnr_from_mse,
    ssim,
)

__all__ = [
    "MAX_PSNR_DB",
    "luma",
    "mse",
    "psnr",
    "psnr_from_mse",
    "ssim",
]
