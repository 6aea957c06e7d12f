"""Real video encoders through PyAV (FFmpeg), set up for real-time calls.

:class:`Encoder` wraps one FFmpeg encoder with real-time defaults and lets an adaptation
loop change its settings while it runs; :class:`Decoder` is the matching receiver side
for round trips. Codec names and the FFmpeg encoders behind them:

======  ============  ==============================================================
codec   FFmpeg        real-time defaults
======  ============  ==============================================================
h264    libx264       ``tune=zerolatency``, ``preset=veryfast``, CBR-style VBV
                      (maxrate = target, buffer 0.5 s, never above 1 s)
vp8     libvpx        ``deadline=realtime``, no lag, CBR, undershoot 100 % /
                      overshoot 15 %, buffer 500/600/1000 ms, q 2..56, frame
                      dropping at 30 % (libwebrtc's LibvpxVp8Encoder)
vp9     libvpx-vp9    as vp8 with libwebrtc's VP9 numbers: undershoot 50 % /
                      overshoot 50 %, q 2..52, cyclic-refresh AQ, speed 7
av1     libsvtav1     SVT-AV1 real-time mode (``rtc=1``: low-delay prediction, no
                      look-ahead), preset 10, CBR, buffer 1 s
======  ============  ==============================================================

What a settings change costs (FFmpeg 8.1 as shipped in the PyAV 18 wheels; measured by
``tests/test_encoders.py``):

* **h264, bitrate**: live, no keyframe. FFmpeg's libx264 wrapper calls
  ``x264_encoder_reconfig`` when ``bit_rate`` changes between frames. x264 only takes a
  new bitrate through its VBV cap, so the encoder is opened with an average target of
  ``live_headroom`` x the bitrate and ``maxrate == bitrate`` (x264's CBR mode, where a
  reconfigure moves the cap); any target in ``[open / 2, open x live_headroom]`` then
  applies on the next frame. Outside that band (where the fixed VBV buffer would leave
  the 0.5..1 s range, or above the headroom) the encoder is reopened, with a keyframe.
* **vp8, vp9, av1, bitrate**: FFmpeg's libvpx and SVT-AV1 wrappers read the bitrate only
  when the encoder opens, so a change reopens the encoder and the next frame is a
  keyframe. To avoid a keyframe storm, changes smaller than ``reopen_threshold`` (10 %)
  of the open bitrate are held until the drift exceeds it.
* **any codec, resolution or frame rate**: reopen; the next frame is a keyframe at the
  new size.
* ``keyframe_interval_s`` and ``request_keyframe``: handled in the wrapper (a forced
  keyframe on the next frame), never a reopen.
* ``fec_rate``, ``nack`` and ``temporal_layers`` of an ``EncoderSettings`` belong to the
  transport and are ignored here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import math
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from mediaopt._validate import check_float, check_int
from mediaopt.errors import InputError

#: mediaopt codec name -> FFmpeg encoder name.
ENCODERS: dict[str, str] = {
    "h264": "libx264",
    "vp8": "libvpx",
    "vp9": "libvpx-vp9",
    "av1": "libsvtav1",
}
#: mediaopt codec name -> FFmpeg decoder name (zero-delay software decoders).
DECODERS: dict[str, str] = {
    "h264": "h264",
    "vp8": "vp8",
    "vp9": "vp9",
    "av1": "libdav1d",
}
#: Codecs whose bitrate can change without reopening the encoder.
LIVE_BITRATE_CODECS: frozenset[str] = frozenset({"h264"})

#: FFmpeg's scale between a quantiser and the "lambda" its quality statistics carry.
_FF_QP2LAMBDA = 118
#: A GOP so long that only the wrapper (or a request) ever asks for keyframes.
_NO_AUTO_KEYFRAME_GOP = 1_000_000

#: x264 VBV buffer at open, in seconds of the target bitrate; it must stay <= 1 s.
DEFAULT_VBV_BUFFER_S = 0.5
MAX_VBV_BUFFER_S = 1.0
#: x264: average target at open, as a multiple of the bitrate (how far it can rise live).
DEFAULT_LIVE_HEADROOM = 2.0
#: vp8/vp9/av1: relative bitrate drift that justifies a reopen (and its keyframe).
DEFAULT_REOPEN_THRESHOLD = 0.10

# libwebrtc's libvpx settings (modules/video_coding/codecs/vp8/libvpx_vp8_encoder.cc and
# vp9/libvpx_vp9_encoder.cc): buffer sizes in ms, shoot limits in percent, q range.
_VPX_BUF_INITIAL_MS = 500
_VPX_BUF_OPTIMAL_MS = 600
_VPX_BUF_MS = 1000

__all__ = [
    "DECODERS",
    "ENCODERS",
    "Decoder",
    "EncodedFrame",
    "EncodedReplay",
    "Encoder",
    "FidelityResult",
    "Reconfigure",
    "available_codecs",
    "check_replay",
    "replay_encoded",
    "round_trip",
]


@dataclass(frozen=True)
class EncodedFrame:
    """One encoded frame.

    ``pts`` counts the frames given to :meth:`Encoder.encode` (0, 1, 2, ...) across
    reopens; ``size_bytes`` is the payload size; ``qp`` is the frame's quantiser as the
    codec reports it (x264: H.264 QP 0..51; libvpx and SVT-AV1: 0..63 quantiser index)
    or ``None`` when it reports nothing; ``data`` is the bitstream; ``width`` and
    ``height`` are the encoded resolution.
    """

    pts: int
    size_bytes: int
    keyframe: bool
    qp: int | None
    data: bytes
    width: int = 0
    height: int = 0


class Reconfigure(enum.Enum):
    """What :meth:`Encoder.apply` had to do."""

    NONE = "none"  #: nothing changed (or a bitrate change inside the hold band)
    LIVE = "live"  #: applied to the running encoder, no keyframe
    REOPEN = "reopen"  #: the encoder was reopened; the next frame is a keyframe


def available_codecs() -> list[str]:
    """Return the mediaopt codec names whose FFmpeg encoder the installed PyAV provides."""
    import av

    have = av.codecs_available
    return [name for name, ff in ENCODERS.items() if ff in have]


def _check_codec(codec: str) -> str:
    if not isinstance(codec, str) or codec not in ENCODERS:
        raise InputError(f"codec: unknown codec {codec!r}; choose one of {', '.join(ENCODERS)}")
    import av

    if ENCODERS[codec] not in av.codecs_available:
        raise InputError(
            f"codec: {codec!r} needs FFmpeg's {ENCODERS[codec]}, which this PyAV build lacks"
        )
    return codec


def _check_size(codec: str, width: Any, height: Any) -> tuple[int, int]:
    w = check_int("width", width, min_value=1, max_value=8192)
    h = check_int("height", height, min_value=1, max_value=8192)
    if codec == "h264" and (w % 2 or h % 2):
        raise InputError(f"width, height: libx264 with 4:2:0 needs even sizes, got {w}x{h}")
    if codec == "av1" and (w < 64 or h < 64):
        # SVT-AV1 refuses very small pictures (its adaptive quantisation needs 64x64)
        raise InputError(f"width, height: SVT-AV1 needs at least 64x64, got {w}x{h}")
    return w, h


@functools.cache
def _option_names(ffmpeg_name: str) -> frozenset[str]:
    import av

    opts = av.CodecContext.create(ffmpeg_name, "w").supported_options
    return frozenset(o.name for o in opts.generic) | frozenset(o.name for o in opts.private)


def _ffmpeg_options(ffmpeg_name: str, options: dict[str, Any]) -> dict[str, str]:
    """Map keyword options to FFmpeg option names (``cpu_used`` -> ``cpu-used``).

    Names the encoder has under neither spelling raise: PyAV would ignore them silently.
    """
    known = _option_names(ffmpeg_name)
    out = {}
    for key, value in options.items():
        name = key if key in known else key.replace("_", "-")
        if name not in known:
            raise InputError(f"{key}: {ffmpeg_name} has no option {key!r}")
        out[name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    return out


def _keyframe_interval(value: Any) -> float | None:
    """Return a periodic keyframe interval in seconds; ``None``, 0 or infinity mean none."""
    if value is None or (isinstance(value, (int, float)) and (value == 0 or value == math.inf)):
        return None
    return check_float("keyframe_interval_s", value, min_value=0.0)


def _fps_fraction(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


class Encoder:
    """A real-time video encoder whose settings can change while it runs.

    ``Encoder(codec, width, height, fps, bitrate_bps, **options)``: ``codec`` is one of
    ``h264``, ``vp8``, ``vp9``, ``av1``. Keyword options:

    * ``keyframe_interval_s`` (default ``None``: keyframes only when asked or on reopen);
    * ``threads`` (default 1: deterministic and fair on shared machines);
    * ``scale_input`` (default ``False``): rescale frames of another size to the
      encoder's size instead of refusing them (a resolution ladder over one camera);
    * ``vbv_buffer_s``, ``live_headroom`` (h264) and ``reopen_threshold`` (vp8/vp9/av1):
      see the module documentation;
    * any other keyword is passed to FFmpeg as an encoder option (``preset="ultrafast"``,
      ``cpu_used=8``, ``rc_init_occupancy=...``: a name the encoder lacks with
      underscores is tried with dashes; an option it has under neither name raises
      ``ValueError``) and overrides the defaults.
    """

    def __init__(
        self,
        codec: str,
        width: int,
        height: int,
        fps: float = 30.0,
        bitrate_bps: int = 500_000,
        *,
        keyframe_interval_s: float | None = None,
        threads: int = 1,
        scale_input: bool = False,
        vbv_buffer_s: float = DEFAULT_VBV_BUFFER_S,
        live_headroom: float = DEFAULT_LIVE_HEADROOM,
        reopen_threshold: float = DEFAULT_REOPEN_THRESHOLD,
        **options: Any,
    ) -> None:
        self.codec = _check_codec(codec)
        self._width, self._height = _check_size(codec, width, height)
        self._fps = check_float("fps", fps, min_value=1.0, max_value=240.0)
        self._bitrate_bps = check_int("bitrate_bps", bitrate_bps, min_value=10_000, max_value=10**9)
        self._kf_interval_s = _keyframe_interval(keyframe_interval_s)
        self._threads = check_int("threads", threads, min_value=0, max_value=64)
        self._scale_input = bool(scale_input)
        self._vbv_buffer_s = check_float(
            "vbv_buffer_s", vbv_buffer_s, min_value=0.05, max_value=MAX_VBV_BUFFER_S
        )
        self._live_headroom = check_float(
            "live_headroom", live_headroom, min_value=1.0, max_value=10.0
        )
        self._reopen_threshold = check_float(
            "reopen_threshold", reopen_threshold, min_value=0.0, max_value=1.0
        )
        self._user_options = _ffmpeg_options(ENCODERS[self.codec], options)
        self._ctx: Any = None
        self._time_base: Fraction = Fraction(1, 30)
        from av.video.frame import PictureType

        self._pict_i = PictureType.I
        self._pict_none = PictureType.NONE
        self._open_bitrate_bps = 0
        self._ceiling_bps = 0
        self._vbv_bits = 0
        self._frames_in = 0
        self._session_base = 0
        self._force_keyframe = False
        self._last_keyframe_pts: int | None = None
        self._pending: list[EncodedFrame] = []
        self.reopen_count = 0
        self._open()

    # -- properties ---------------------------------------------------------------------------
    @property
    def width(self) -> int:
        """Encoded width in pixels."""
        return self._width

    @property
    def height(self) -> int:
        """Encoded height in pixels."""
        return self._height

    @property
    def fps(self) -> float:
        """Frame rate the rate control assumes (frames per second)."""
        return self._fps

    @property
    def bitrate_bps(self) -> int:
        """Current target bitrate (bits per second)."""
        return self._bitrate_bps

    @property
    def ffmpeg_name(self) -> str:
        """The FFmpeg encoder behind this codec."""
        return ENCODERS[self.codec]

    @property
    def frames_in(self) -> int:
        """Frames given to :meth:`encode` so far."""
        return self._frames_in

    def __repr__(self) -> str:
        return (
            f"Encoder({self.codec!r}, {self._width}, {self._height}, fps={self._fps:g}, "
            f"bitrate_bps={self._bitrate_bps})"
        )

    # -- opening ------------------------------------------------------------------------------
    def _default_options(self, bitrate: int) -> dict[str, str]:
        c = self.codec
        if c == "h264":
            return {
                "preset": "veryfast",
                "tune": "zerolatency",
                "maxrate": str(bitrate),
                "bufsize": str(self._vbv_bits),
                "forced-idr": "1",
            }
        if c in ("vp8", "vp9"):
            vp8 = c == "vp8"
            return {
                "deadline": "realtime",
                "lag-in-frames": "0",
                "cpu-used": "-6" if vp8 else "7",
                "minrate": str(bitrate),
                "maxrate": str(bitrate),
                "bufsize": str(bitrate * _VPX_BUF_MS // 1000),
                "rc_init_occupancy": str(bitrate * _VPX_BUF_INITIAL_MS // 1000),
                "undershoot-pct": "100" if vp8 else "50",
                "overshoot-pct": "15" if vp8 else "50",
                "qmin": "2",
                "qmax": "56" if vp8 else "52",
                "drop-threshold": "30",
                "static-thresh": "1",
                "error-resilient": "0",
                **({} if vp8 else {"aq-mode": "3", "row-mt": "1"}),
            }
        return {
            "preset": "10",
            "svtav1-params": "rtc=1",
            "maxrate": str(bitrate),
            "bufsize": str(bitrate),
        }

    def _open(self) -> None:
        import av

        if self.codec == "av1":
            # SVT-AV1 prints its configuration at info level on every open otherwise
            os.environ.setdefault("SVT_LOG", "1")
        target = self._bitrate_bps
        if self.codec == "h264":
            self._ceiling_bps = int(target * self._live_headroom)
            self._vbv_bits = max(1000, int(target * self._vbv_buffer_s))
            open_rate, cap = self._ceiling_bps, self._ceiling_bps
        else:
            self._ceiling_bps = target
            open_rate, cap = target, target
        ctx: Any = av.CodecContext.create(ENCODERS[self.codec], "w")
        ctx.width = self._width
        ctx.height = self._height
        ctx.pix_fmt = "yuv420p"
        rate = _fps_fraction(self._fps)
        ctx.time_base = 1 / rate
        ctx.framerate = rate
        ctx.bit_rate = open_rate
        ctx.gop_size = _NO_AUTO_KEYFRAME_GOP
        ctx.thread_count = self._threads
        opts = self._default_options(cap)
        opts.update(self._user_options)
        ctx.options = opts
        try:
            ctx.open()
        except av.FFmpegError as exc:
            raise InputError(
                f"{ENCODERS[self.codec]} refused {self._width}x{self._height} at "
                f"{self._fps:g} fps, {target} bps with options {opts}: {exc}"
            ) from None
        if self.codec == "h264" and target != open_rate:
            # x264 applies this through its VBV cap on the first frame (see module doc)
            ctx.bit_rate = target
        self._ctx = ctx
        self._time_base = ctx.time_base
        self._open_bitrate_bps = target
        self._session_base = self._frames_in
        self._force_keyframe = False

    def _reopen(self) -> None:
        self._pending.extend(self._drain(None))
        self._ctx = None
        self._open()
        self.reopen_count += 1

    # -- settings -----------------------------------------------------------------------------
    def apply(self, settings: Any = None, **changes: Any) -> Reconfigure:
        """Apply new settings: an ``EncoderSettings``-like object and/or keywords.

        Recognised fields: ``bitrate_bps``, ``width``, ``height``, ``fps``,
        ``keyframe_interval_s``, ``request_keyframe``; the transport fields ``fec_rate``,
        ``nack`` and ``temporal_layers`` are accepted and ignored. Keywords override the
        object's fields. Returns what the encoder had to do (:class:`Reconfigure`).
        """
        fields = (
            "bitrate_bps",
            "width",
            "height",
            "fps",
            "keyframe_interval_s",
            "request_keyframe",
        )
        ignored = ("fec_rate", "nack", "temporal_layers")
        unknown = set(changes) - set(fields) - set(ignored)
        if unknown:
            raise InputError(f"apply: unknown setting(s) {', '.join(sorted(unknown))}")
        want: dict[str, Any] = {}
        if settings is not None:
            for f in fields:
                if hasattr(settings, f):
                    want[f] = getattr(settings, f)
        want.update({k: v for k, v in changes.items() if k in fields})

        width = self._width if want.get("width") is None else want["width"]
        height = self._height if want.get("height") is None else want["height"]
        width, height = _check_size(self.codec, width, height)
        fps = (
            self._fps
            if want.get("fps") is None
            else check_float("fps", want["fps"], min_value=1.0, max_value=240.0)
        )
        bitrate = (
            self._bitrate_bps
            if want.get("bitrate_bps") is None
            else check_int("bitrate_bps", want["bitrate_bps"], min_value=10_000, max_value=10**9)
        )
        if "keyframe_interval_s" in want:
            self._kf_interval_s = _keyframe_interval(want["keyframe_interval_s"])
        if want.get("request_keyframe"):
            self._force_keyframe = True

        if (width, height) != (self._width, self._height) or not math.isclose(fps, self._fps):
            self._width, self._height, self._fps = width, height, fps
            self._bitrate_bps = bitrate
            self._reopen()
            return Reconfigure.REOPEN
        if bitrate == self._bitrate_bps:
            return Reconfigure.NONE
        return self._set_bitrate(bitrate)

    def _set_bitrate(self, bitrate: int) -> Reconfigure:
        if self.codec in LIVE_BITRATE_CODECS:
            buffer_s = self._vbv_bits / bitrate
            if bitrate <= self._ceiling_bps and buffer_s <= MAX_VBV_BUFFER_S:
                self._bitrate_bps = bitrate
                self._ctx.bit_rate = bitrate
                return Reconfigure.LIVE
            self._bitrate_bps = bitrate
            self._reopen()
            return Reconfigure.REOPEN
        drift = abs(bitrate - self._open_bitrate_bps) / self._open_bitrate_bps
        self._bitrate_bps = bitrate
        if drift <= self._reopen_threshold:
            return Reconfigure.NONE
        self._reopen()
        return Reconfigure.REOPEN

    def force_keyframe(self) -> None:
        """Make the next encoded frame a keyframe (for example after a receiver's PLI)."""
        self._force_keyframe = True

    # -- encoding -----------------------------------------------------------------------------
    def _to_video_frame(self, frame: Any) -> Any:
        import av

        if isinstance(frame, av.VideoFrame):
            vf = frame
            if (vf.width, vf.height) != (self._width, self._height):
                if not self._scale_input:
                    raise InputError(
                        f"frame: size {vf.width}x{vf.height} differs from the encoder's "
                        f"{self._width}x{self._height} (pass scale_input=True to rescale)"
                    )
                return vf.reformat(width=self._width, height=self._height, format="yuv420p")
            if vf.format.name != "yuv420p":
                vf = vf.reformat(format="yuv420p")
            return vf
        arr = np.asarray(frame) if not isinstance(frame, np.ndarray) else frame
        if arr.dtype != np.uint8:
            raise InputError(f"frame: expected a uint8 array, got dtype {arr.dtype}")
        if arr.ndim == 3 and arr.shape[2] == 3:
            h, w = arr.shape[:2]
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
        elif arr.ndim == 2 and arr.shape[0] % 3 == 0 and arr.shape[0] * 2 % 3 == 0:
            h, w = arr.shape[0] * 2 // 3, arr.shape[1]
            if h % 2 or w % 2:
                raise InputError(f"frame: an I420 array needs an even size, got {w}x{h}")
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="yuv420p")
        else:
            raise InputError(
                "frame: expected RGB (H, W, 3) uint8, I420 (H * 3 / 2, W) uint8 or an "
                f"av.VideoFrame, got shape {arr.shape}"
            )
        if (w, h) != (self._width, self._height):
            if not self._scale_input:
                raise InputError(
                    f"frame: size {w}x{h} differs from the encoder's "
                    f"{self._width}x{self._height} (pass scale_input=True to rescale)"
                )
            return vf.reformat(width=self._width, height=self._height, format="yuv420p")
        if vf.format.name != "yuv420p":
            vf = vf.reformat(format="yuv420p")
        return vf

    def prepare(self, frame: Any) -> Any:
        """Convert ``frame`` to the ``av.VideoFrame`` (yuv420p) the encoder is given.

        Useful to measure quality against exactly what was encoded (:func:`round_trip`).
        """
        return self._to_video_frame(frame)

    def encode(self, frame: Any) -> list[EncodedFrame]:
        """Encode one frame; return the frames the encoder produced (possibly none).

        ``frame`` is an RGB ``(H, W, 3)`` uint8 array, an I420 ``(H * 3 // 2, W)`` uint8
        array or an ``av.VideoFrame``, of the encoder's size. The encoders run with no
        look-ahead, so a frame comes out at once unless the rate control drops it.
        """
        if self._ctx is None:
            raise InputError("encode: the encoder is closed")
        vf = self._to_video_frame(frame)
        pts = self._frames_in
        vf.pts = pts - self._session_base
        vf.time_base = self._time_base
        if (
            self._kf_interval_s is not None
            and self._last_keyframe_pts is not None
            and (pts - self._last_keyframe_pts) / self._fps >= self._kf_interval_s
        ):
            self._force_keyframe = True
        vf.pict_type = self._pict_i if self._force_keyframe else self._pict_none
        self._force_keyframe = False
        self._frames_in += 1
        out = self._drain(vf)
        if self._pending:
            out = self._pending + out
            self._pending = []
        return out

    def flush(self) -> list[EncodedFrame]:
        """Drain the encoder (end of stream); it is reopened, ready for more frames."""
        out = self._pending + self._drain(None)
        self._pending = []
        self._ctx = None
        self._open()
        return out

    def _drain(self, vf: Any) -> list[EncodedFrame]:
        packets = self._ctx.encode(vf)
        if not packets:
            return []
        out = []
        base = self._session_base
        for p in packets:
            key = bool(p.is_keyframe)
            pts = (int(p.pts) if p.pts is not None else 0) + base
            if key:
                self._last_keyframe_pts = pts
            out.append(
                EncodedFrame(
                    pts=pts,
                    size_bytes=int(p.size),
                    keyframe=key,
                    qp=_packet_qp(p),
                    data=bytes(p),
                    width=self._width,
                    height=self._height,
                )
            )
        return out

    def close(self) -> None:
        """Release the encoder (pending output is discarded); later calls raise."""
        if self._ctx is not None:
            # end the stream properly: SVT-AV1 complains on stderr when it is not
            with contextlib.suppress(Exception):
                self._ctx.encode(None)
            self._ctx = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __enter__(self) -> Encoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _packet_qp(packet: Any) -> int | None:
    """Return the quantiser FFmpeg recorded in the packet's quality statistics, if any."""
    try:
        from av.packet import PacketSideData

        raw = bytes(PacketSideData.from_packet(packet, "quality_stats"))
    except Exception:  # a codec that attaches no statistics
        return None
    if len(raw) < 4:
        return None
    quality = int(struct.unpack_from("<i", raw)[0])
    if quality <= 0:
        return None if quality < 0 else 0
    return round(quality / _FF_QP2LAMBDA)


class Decoder:
    """The receiving side: decodes :class:`EncodedFrame` s (or raw bytes) of one codec.

    ``decode`` returns the decoded pictures as ``av.VideoFrame`` (yuv420p); a corrupt or
    undecodable packet returns ``[]`` and counts in ``errors`` instead of raising, as a
    receiver would conceal it.
    """

    def __init__(self, codec: str) -> None:
        import av

        if not isinstance(codec, str) or codec not in DECODERS:
            raise InputError(f"codec: unknown codec {codec!r}; choose one of {', '.join(DECODERS)}")
        self.codec = codec
        ctx: Any = av.CodecContext.create(DECODERS[codec], "r")
        ctx.thread_count = 1
        ctx.options = {"flags": "low_delay"}
        self._ctx = ctx
        self.errors = 0

    def decode(self, frame: EncodedFrame | bytes | None) -> list[Any]:
        """Decode one encoded frame (``None`` flushes); return decoded ``av.VideoFrame`` s."""
        import av

        if frame is None:
            packet = None
        else:
            data = frame.data if isinstance(frame, EncodedFrame) else bytes(frame)
            packet = av.Packet(data)
        try:
            return list(self._ctx.decode(packet))
        except av.FFmpegError:
            self.errors += 1
            return []


@dataclass(frozen=True)
class RoundTrip:
    """Result of :func:`round_trip`: what was sent and how it looked after decoding."""

    encoded: tuple[EncodedFrame, ...]
    psnr_db: npt.NDArray[np.float64]
    ssim: npt.NDArray[np.float64]
    decoded_count: int

    @property
    def bits(self) -> int:
        """Total encoded bits."""
        return 8 * sum(f.size_bytes for f in self.encoded)


def round_trip(
    frames: Iterable[Any],
    codec: str,
    width: int,
    height: int,
    fps: float = 30.0,
    bitrate_bps: int = 500_000,
    *,
    measure_every: int = 1,
    scale_input: bool = True,
    **options: Any,
) -> RoundTrip:
    """Encode ``frames``, decode them again and measure luma PSNR and SSIM per frame.

    Quality is measured every ``measure_every``-th frame (others get NaN), comparing the
    decoded picture with the yuv420p picture the encoder was given. A frame the encoder
    dropped is compared against the last decoded picture (what a viewer would see).
    """
    from mediaopt import quality

    step = check_int("measure_every", measure_every, min_value=1)
    enc = Encoder(codec, width, height, fps, bitrate_bps, scale_input=scale_input, **options)
    dec = Decoder(codec)
    encoded: list[EncodedFrame] = []
    psnrs: list[float] = []
    ssims: list[float] = []
    last: Any = None
    decoded = 0
    for i, fr in enumerate(frames):
        src = enc.prepare(fr)
        out = enc.encode(src)
        encoded.extend(out)
        for ef in out:
            pics = dec.decode(ef)
            decoded += len(pics)
            if pics:
                last = pics[-1]
        if i % step == 0 and last is not None:
            ref_y = quality.luma(src)
            dis_y = quality.luma(last)
            psnrs.append(quality.psnr(ref_y, dis_y))
            ssims.append(quality.ssim(ref_y, dis_y))
        else:
            psnrs.append(math.nan)
            ssims.append(math.nan)
    for ef in enc.flush():
        encoded.append(ef)
        decoded += len(dec.decode(ef))
    decoded += len(dec.decode(None))
    return RoundTrip(
        encoded=tuple(encoded),
        psnr_db=np.asarray(psnrs, dtype=np.float64),
        ssim=np.asarray(ssims, dtype=np.float64),
        decoded_count=decoded,
    )


def measured_bitrate_bps(frames: Sequence[EncodedFrame], fps: float) -> float:
    """Bitrate of a run of consecutive input frames: bits / (frame count / fps)."""
    if not frames:
        return 0.0
    span = frames[-1].pts - frames[0].pts + 1
    return 8.0 * sum(f.size_bytes for f in frames) * fps / span


# -- full-fidelity check of a replayed session ----------------------------------------------
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
    ``quality_db``); ``source`` a content kind or video file (:func:`mediaopt.content.frames`)
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
    from mediaopt import content, quality

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
    from mediaopt.replay import replay

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
