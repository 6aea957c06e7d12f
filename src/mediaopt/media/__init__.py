"""Pictures: real encoders (PyAV), picture quality, synthetic content and rate–quality profiles.

``encoders`` wraps FFmpeg's real-time encoders with live reconfiguration; ``quality``
measures PSNR and SSIM; ``content`` makes the synthetic consultation sources and reads
video files; ``profiles`` measures and holds a content's rate–quality profile. PyAV is
imported only when an encoder, decoder or video file is opened.
"""
