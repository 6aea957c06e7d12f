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
from mediaopt.media import quality

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
    "Encoder",
    "Reconfigure",
    "available_codecs",
    "check_codec",
    "check_size",
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
    import av  # PyAV: heavy, loaded only when a codec or file is opened

    have = av.codecs_available
    return [name for name, ff in ENCODERS.items() if ff in have]


def check_codec(codec: str) -> str:
    """Return ``codec`` if it is a known codec that the installed PyAV can encode."""
    if not isinstance(codec, str) or codec not in ENCODERS:
        raise InputError(f"codec: unknown codec {codec!r}; choose one of {', '.join(ENCODERS)}")
    import av  # PyAV: heavy, loaded only when a codec or file is opened

    if ENCODERS[codec] not in av.codecs_available:
        raise InputError(
            f"codec: {codec!r} needs FFmpeg's {ENCODERS[codec]}, which this PyAV build lacks"
        )
    return codec


def check_size(codec: str, width: Any, height: Any) -> tuple[int, int]:
    """Return ``(width, height)`` as ints if ``codec`` can encode pictures of that size."""
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
    import av  # PyAV: heavy, loaded only when a codec or file is opened

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
        self.codec = check_codec(codec)
        self._width, self._height = check_size(codec, width, height)
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
        from av.video.frame import PictureType  # PyAV: heavy, loaded on use

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
        import av  # PyAV: heavy, loaded only when a codec or file is opened

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
        width, height = check_size(self.codec, width, height)
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
        import av  # PyAV: heavy, loaded only when a codec or file is opened

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
        from av.packet import PacketSideData  # PyAV: heavy, loaded on use

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
        import av  # PyAV: heavy, loaded only when a codec or file is opened

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
        import av  # PyAV: heavy, loaded only when a codec or file is opened

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
