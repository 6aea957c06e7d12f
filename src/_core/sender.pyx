"""The sender's media models: a statistical video encoder and a content-quality model.

The encoder follows the structure of RFC 8593 section 4 ("statistical model"): frame sizes
scatter around ``target / fps`` with zero-mean noise, key frames are several times a
delta frame, the encoder reacts to a new target only after a lag, and frames are dropped
when the output runs over budget. The PSNR of each frame comes from a content model of
bits per pixel and resolution. Formulas, constants and their sources: ``docs/replay.md``.
"""

from mediaopt._core._check import InputError

from libc.math cimport isfinite, log2, log10, pow, sqrt
from libc.stdint cimport int32_t, int64_t, uint64_t

import numpy as np

from mediaopt._core.rng cimport Xoshiro256 as Rng, rng_seed, rng_laplace

# --- content-quality model (docs/replay.md, "Content quality") -------------------------
# Codec term: PSNR grows linearly with log10(bits per pixel) (the first-order form of the
# log-rate fits behind Bjontegaard's BD-PSNR, VCEG-M33), anchored for talking-head
# content at 38 dB for 0.05 bit/pixel with 9 dB per decade.
cdef double CODEC_REF_DB = 38.0
cdef double CODEC_REF_BPP = 0.05
cdef double CODEC_DB_PER_DECADE = 9.0
# Upscaling term: a frame encoded at a share a of the capture area and upscaled for
# display loses detail; that error, as PSNR, is 39 dB at a = 1/4 (2x per side) and falls
# 20 dB per decade of (1/sqrt(a) - 1); zero error at full resolution.
cdef double UPSCALE_REF_DB = 39.0
cdef double MIN_DB = 10.0
cdef double MAX_DB = 60.0
# Frame dropper bucket ceiling, seconds of the requested rate.
cdef double MAX_DROP_BUCKET_S = 0.5
# Ceiling of a content profile's PSNR (mediaopt.media.quality.MAX_PSNR_DB).
cdef double CONTENT_MAX_DB = 100.0


cdef double c_quality_db(double bits_per_frame, int32_t width, int32_t height,
                         int32_t ref_width, int32_t ref_height) noexcept nogil:
    cdef double pixels = <double>width * <double>height
    if pixels <= 0.0 or bits_per_frame <= 0.0:
        return MIN_DB
    cdef double bpp = bits_per_frame / pixels
    cdef double codec_db = CODEC_REF_DB + CODEC_DB_PER_DECADE * log10(bpp / CODEC_REF_BPP)
    if codec_db > MAX_DB:
        codec_db = MAX_DB
    if codec_db < MIN_DB:
        codec_db = MIN_DB
    # MSEs relative to 255^2: independent errors add.
    cdef double mse = pow(10.0, -codec_db / 10.0)
    cdef double ref_pixels = <double>ref_width * <double>ref_height
    cdef double area, k, scale_db
    if ref_pixels > 0.0 and pixels < ref_pixels:
        area = pixels / ref_pixels
        k = 1.0 / sqrt(area) - 1.0
        if k > 1e-9:
            scale_db = UPSCALE_REF_DB - 20.0 * log10(k)
            if scale_db < MAX_DB:
                mse += pow(10.0, -scale_db / 10.0)
    cdef double db = -10.0 * log10(mse)
    if db > MAX_DB:
        return MAX_DB
    if db < MIN_DB:
        return MIN_DB
    return db


def quality_db(bitrate_bps: float, width: int, height: int, fps: float,
               ref_width: int = 1280, ref_height: int = 720) -> float:
    """PSNR (dB) of video at ``bitrate_bps`` and ``fps``, encoded at ``width`` x ``height``.

    Measured against the capture at ``ref_width`` x ``ref_height`` (the content model of
    docs/replay.md). Non-positive rates or sizes give the floor of 10 dB.
    """
    if fps <= 0:
        raise InputError(f"fps must be > 0, got {fps!r}")
    return c_quality_db(float(bitrate_bps) / float(fps), int(width), int(height),
                        int(ref_width), int(ref_height))


cdef class VideoSource:
    """Statistical video encoder (RFC 8593 section 4 structure, constants in docs/replay.md).

    ``request_rate`` asks for a new target; the encoder's rate control follows it after
    ``reaction_lag_ms``. Each ``encode`` returns one frame (a dict) or None when the frame
    dropper skips the frame because the output ran more than ``drop_window_s`` of the
    requested rate over budget.
    """

    def __cinit__(self, *, int64_t start_bps=300_000, uint64_t seed=0,
                  double noise_std=0.1, double keyframe_ratio=4.0,
                  double reaction_lag_ms=200.0, double drop_window_s=0.15,
                  double payback_s=1.0, int32_t ref_width=1280, int32_t ref_height=720,
                  int64_t min_frame_bytes=60, content_table=None, size_factors=None):
        if start_bps <= 0:
            raise InputError(f"start_bps must be > 0, got {start_bps}")
        if not (0.0 <= noise_std <= 1.0):
            raise InputError(f"noise_std must be in [0, 1], got {noise_std}")
        if keyframe_ratio < 1.0:
            raise InputError(f"keyframe_ratio must be >= 1, got {keyframe_ratio}")
        if reaction_lag_ms < 0.0 or drop_window_s <= 0.0 or payback_s <= 0.0:
            raise InputError("reaction_lag_ms must be >= 0, drop_window_s and payback_s > 0")
        if ref_width <= 0 or ref_height <= 0 or min_frame_bytes <= 0:
            raise InputError("ref_width, ref_height and min_frame_bytes must be > 0")
        self.noise_std = noise_std
        self.keyframe_ratio = keyframe_ratio
        self.reaction_lag_us = <int64_t>(reaction_lag_ms * 1000.0)
        self.drop_window_s = drop_window_s
        self.payback_s = payback_s
        self.ref_width = ref_width
        self.ref_height = ref_height
        self.min_frame_bytes = min_frame_bytes
        rng_seed(&self.rng, seed ^ <uint64_t>0x5EED0F1DEC0DE5)
        self.req_head = 0
        self.req_count = 0
        self.encoder_bps = start_bps
        self.requested_bps = start_bps
        self.enc_bucket_bits = 0.0
        self.drop_bucket_bits = 0.0
        self.last_width = 0
        self.last_height = 0
        self.last_key_us = -1
        self.frames_since_key = 0
        self.key_pending = True
        self.frames_encoded = 0
        self.frames_dropped = 0
        self.q_bits = -1.0
        self.q_width = 0
        self.q_height = 0
        self.q_db = 0.0
        self.ct_n = 0
        self.st_n = 0
        self.st_cursor = 0
        if content_table is not None:
            self._set_content(content_table)
        if size_factors is not None:
            self._set_size_factors(size_factors)

    def _set_content(self, table):
        # (pixels[n], start[n + 1], log2_bpp[m], psnr_db[m], slope_db[n]); see the .pxd.
        try:
            pix, start, x, y, slope = table
        except (TypeError, ValueError):
            raise InputError("content_table: expected (pixels, start, log2_bpp, psnr_db, "
                             "slope_db)") from None
        pix_a = np.ascontiguousarray(pix, dtype=np.float64)
        start_a = np.ascontiguousarray(start, dtype=np.int64)
        x_a = np.ascontiguousarray(x, dtype=np.float64)
        y_a = np.ascontiguousarray(y, dtype=np.float64)
        slope_a = np.ascontiguousarray(slope, dtype=np.float64)
        n = pix_a.shape[0]
        m = x_a.shape[0]
        if (n < 1 or pix_a.ndim != 1 or start_a.shape[0] != n + 1 or slope_a.shape[0] != n
                or y_a.shape[0] != m):
            raise InputError("content_table: array lengths do not match")
        if start_a[0] != 0 or start_a[n] != m or np.any(np.diff(start_a) < 1):
            raise InputError("content_table: every resolution needs at least one row")
        if np.any(pix_a <= 0) or np.any(np.diff(pix_a) <= 0):
            raise InputError("content_table: pixels must be positive and rising")
        for arr in (x_a, y_a, slope_a):
            if not np.all(np.isfinite(arr)):
                raise InputError("content_table: values must be finite")
        for r in range(n):
            seg_x = x_a[start_a[r]:start_a[r + 1]]
            seg_y = y_a[start_a[r]:start_a[r + 1]]
            if np.any(np.diff(seg_x) < 0) or np.any(np.diff(seg_y) < 0):
                raise InputError("content_table: bpp and PSNR must not fall within a resolution")
        self._ct_owner = (pix_a, start_a, x_a, y_a, slope_a)
        cdef const double[::1] vp = pix_a
        cdef const int64_t[::1] vs = start_a
        cdef const double[::1] vx = x_a
        cdef const double[::1] vy = y_a
        cdef const double[::1] vl = slope_a
        self.ct_pixels = &vp[0]
        self.ct_start = &vs[0]
        self.ct_x = &vx[0]
        self.ct_y = &vy[0]
        self.ct_slope = &vl[0]
        self.ct_n = n

    def _set_size_factors(self, factors):
        # (capture_us[k], factor[k]): from capture_us[i] on, frames are factor[i] x the
        # model's size (the real encoder's measured size over the model's, pass 1).
        try:
            t, f = factors
        except (TypeError, ValueError):
            raise InputError("size_factors: expected (capture_us, factor)") from None
        t_a = np.ascontiguousarray(t, dtype=np.int64)
        f_a = np.ascontiguousarray(f, dtype=np.float64)
        if t_a.ndim != 1 or t_a.shape[0] != f_a.shape[0] or t_a.shape[0] == 0:
            raise InputError("size_factors: times and factors must match, non-empty")
        if np.any(np.diff(t_a) < 0):
            raise InputError("size_factors: capture times must not decrease")
        if not np.all(np.isfinite(f_a)) or np.any(f_a <= 0) or np.any(f_a > 100):
            raise InputError("size_factors: factors must be in (0, 100]")
        self._st_owner = (t_a, f_a)
        cdef const int64_t[::1] vt = t_a
        cdef const double[::1] vf = f_a
        self.st_t_us = &vt[0]
        self.st_factor = &vf[0]
        self.st_n = t_a.shape[0]
        self.st_cursor = 0

    cdef double _curve_db(self, Py_ssize_t r, double lx) noexcept nogil:
        cdef Py_ssize_t a = <Py_ssize_t>self.ct_start[r]
        cdef Py_ssize_t b = <Py_ssize_t>self.ct_start[r + 1] - 1
        cdef Py_ssize_t j
        cdef double dx
        if lx <= self.ct_x[a]:
            return self.ct_y[a] + self.ct_slope[r] * (lx - self.ct_x[a])
        if lx >= self.ct_x[b]:
            return self.ct_y[b] + self.ct_slope[r] * (lx - self.ct_x[b])
        j = a
        while j + 1 < b and self.ct_x[j + 1] <= lx:
            j += 1
        dx = self.ct_x[j + 1] - self.ct_x[j]
        if dx <= 0.0:
            return self.ct_y[j + 1]
        return self.ct_y[j] + (self.ct_y[j + 1] - self.ct_y[j]) * (lx - self.ct_x[j]) / dx

    cdef double c_content_db(self, double bits_per_frame, int32_t width,
                             int32_t height) noexcept nogil:
        # Each profiled resolution's curve at this frame's bits (quality is measured at the
        # profile's display size, so upscaling is in the table); between two resolutions
        # the curves are blended by log2 of the pixel count; outside, the nearest is used.
        cdef double pixels = <double>width * <double>height
        if bits_per_frame < 1.0:
            bits_per_frame = 1.0
        cdef Py_ssize_t n = self.ct_n
        cdef Py_ssize_t r = 0
        cdef double v, t, v1
        if pixels <= self.ct_pixels[0]:
            v = self._curve_db(0, log2(bits_per_frame / self.ct_pixels[0]))
        elif pixels >= self.ct_pixels[n - 1]:
            v = self._curve_db(n - 1, log2(bits_per_frame / self.ct_pixels[n - 1]))
        else:
            while r + 2 < n and self.ct_pixels[r + 1] <= pixels:
                r += 1
            t = log2(pixels / self.ct_pixels[r]) / log2(self.ct_pixels[r + 1] / self.ct_pixels[r])
            v = self._curve_db(r, log2(bits_per_frame / self.ct_pixels[r]))
            v1 = self._curve_db(r + 1, log2(bits_per_frame / self.ct_pixels[r + 1]))
            v = (1.0 - t) * v + t * v1
        if not isfinite(v) or v < 0.0:
            return 0.0
        if v > CONTENT_MAX_DB:
            return CONTENT_MAX_DB
        return v

    def content_db(self, bitrate_bps: float, width: int, height: int, fps: float) -> float:
        """PSNR (dB) the loaded content table gives (the formula's without one)."""
        if fps <= 0:
            raise InputError(f"fps must be > 0, got {fps!r}")
        if self.ct_n == 0:
            return c_quality_db(float(bitrate_bps) / float(fps), int(width), int(height),
                                self.ref_width, self.ref_height)
        return self.c_content_db(float(bitrate_bps) / float(fps), int(width), int(height))

    cdef void c_request_rate(self, int64_t bitrate_bps, int64_t now_us) noexcept nogil:
        if bitrate_bps < 1000:
            bitrate_bps = 1000
        if bitrate_bps == self.requested_bps and self.req_count == 0:
            return
        self.requested_bps = bitrate_bps
        if self.frames_encoded == 0 and self.frames_dropped == 0:
            # Before the first frame the encoder is simply configured: no reaction lag.
            self.encoder_bps = bitrate_bps
            self.req_count = 0
            return
        cdef int slot
        if self.req_count == RATE_QUEUE_CAP:
            # Full: the newest pending request is replaced (it has not taken effect yet).
            slot = (self.req_head + self.req_count - 1) % RATE_QUEUE_CAP
        else:
            slot = (self.req_head + self.req_count) % RATE_QUEUE_CAP
            self.req_count += 1
        self.req_t_us[slot] = now_us
        self.req_bps[slot] = bitrate_bps

    cdef void c_request_keyframe(self) noexcept nogil:
        self.key_pending = True

    cdef int c_encode(self, int64_t now_us, int32_t width, int32_t height, double fps,
                      double keyframe_interval_s, int32_t temporal_layers,
                      EncodedFrameC* out) noexcept nogil:
        if fps < 0.1:
            fps = 0.1
        if width < 2:
            width = 2
        if height < 2:
            height = 2
        # Rate requests older than the reaction lag reach the encoder's rate control.
        while self.req_count > 0 and self.req_t_us[self.req_head] + self.reaction_lag_us <= now_us:
            self.encoder_bps = self.req_bps[self.req_head]
            self.req_head = (self.req_head + 1) % RATE_QUEUE_CAP
            self.req_count -= 1
        cdef bint key = self.key_pending
        if width != self.last_width or height != self.last_height:
            # A new resolution reconfigures the encoder: it starts with an intra frame and
            # takes the latest requested rate at once (no reaction lag).
            key = True
            self.encoder_bps = self.requested_bps
            self.req_count = 0
            self.enc_bucket_bits = 0.0
        cdef double enc_frame_bits = <double>self.encoder_bps / fps
        cdef double budget_bits = <double>self.requested_bps / fps
        # libwebrtc's VP8 wrapper caps an intra frame at max(300 %, 0.5 x 600 ms x fps / 10 %)
        # of a frame's budget (LibvpxVp8Encoder::MaxIntraTarget), so at low frame rates key
        # frames are relatively smaller.
        cdef double key_ratio = 0.3 * fps
        if key_ratio < 3.0:
            key_ratio = 3.0
        if key_ratio > self.keyframe_ratio:
            key_ratio = self.keyframe_ratio
        if (keyframe_interval_s > 0.0 and self.last_key_us >= 0
                and now_us - self.last_key_us >= <int64_t>(keyframe_interval_s * 1e6)):
            key = True
        # Frame dropper (libwebrtc media_opt FrameDropper idea): a leaky bucket filled by
        # the encoded bits and drained at the requested rate; skip frames while it is more
        # than drop_window_s of the requested rate over. Key frames are never skipped.
        if not key and self.drop_bucket_bits > self.drop_window_s * <double>self.requested_bps:
            self.drop_bucket_bits -= budget_bits
            if self.drop_bucket_bits < 0.0:
                self.drop_bucket_bits = 0.0
            self.enc_bucket_bits -= enc_frame_bits
            if self.enc_bucket_bits < -2.0 * enc_frame_bits:
                self.enc_bucket_bits = -2.0 * enc_frame_bits
            self.frames_dropped += 1
            return 0
        cdef double noise = rng_laplace(&self.rng, self.noise_std * 0.7071067811865476)
        if noise < -0.8:
            noise = -0.8
        if noise > 2.0:
            noise = 2.0
        cdef double bits
        cdef double target_bits
        if key:
            bits = key_ratio * enc_frame_bits * (1.0 + noise)
        else:
            # The encoder's rate control repays earlier overshoot (key frames) over payback_s.
            target_bits = enc_frame_bits - self.enc_bucket_bits / (self.payback_s * fps + 1.0)
            if target_bits < 0.25 * enc_frame_bits:
                target_bits = 0.25 * enc_frame_bits
            bits = target_bits * (1.0 + noise)
        cdef int64_t size_bytes = <int64_t>(bits / 8.0 + 0.5)
        if size_bytes < self.min_frame_bytes:
            size_bytes = self.min_frame_bytes
        bits = <double>size_bytes * 8.0
        self.enc_bucket_bits += bits - enc_frame_bits
        if self.enc_bucket_bits < -2.0 * enc_frame_bits:
            self.enc_bucket_bits = -2.0 * enc_frame_bits
        cdef double factor
        if self.st_n > 0:
            # Measured sizes injected (two-pass replay): the real encoder's size over the
            # model's at this capture time. The model's own rate control above keeps
            # the model's bits (the real sizes already contain the real encoder's rate
            # control); the frame dropper below sees the real bits.
            while self.st_cursor + 1 < self.st_n and self.st_t_us[self.st_cursor + 1] <= now_us:
                self.st_cursor += 1
            factor = self.st_factor[self.st_cursor]
            size_bytes = <int64_t>(<double>size_bytes * factor + 0.5)
            if size_bytes < 1:
                size_bytes = 1
            bits = <double>size_bytes * 8.0
        # A key frame counts at the size expected of one (libwebrtc's FrameDropper spreads
        # key frames instead of dropping after them); only overshoot beyond that counts.
        if key:
            self.drop_bucket_bits += bits - key_ratio * budget_bits
        else:
            self.drop_bucket_bits += bits - budget_bits
        if self.drop_bucket_bits < 0.0:
            self.drop_bucket_bits = 0.0
        # The bucket holds at most MAX_DROP_BUCKET_S of the requested rate, so one huge
        # overshoot costs a bounded run of skipped frames.
        cdef double cap_s = MAX_DROP_BUCKET_S
        if cap_s < 2.0 * self.drop_window_s:
            cap_s = 2.0 * self.drop_window_s
        if self.drop_bucket_bits > cap_s * <double>self.requested_bps:
            self.drop_bucket_bits = cap_s * <double>self.requested_bps

        cdef int32_t layers = temporal_layers
        if layers < 1:
            layers = 1
        if layers > 3:
            layers = 3
        if key:
            self.frames_since_key = 0
            self.last_key_us = now_us
            self.key_pending = False
        else:
            self.frames_since_key += 1
        cdef int64_t k = self.frames_since_key
        out.size_bytes = size_bytes
        out.keyframe = key
        out.width = width
        out.height = height
        # Quality follows the rate the encoder works at (its quantiser), not the noisy size.
        if enc_frame_bits != self.q_bits or width != self.q_width or height != self.q_height:
            self.q_bits = enc_frame_bits
            self.q_width = width
            self.q_height = height
            if self.ct_n > 0:
                self.q_db = self.c_content_db(enc_frame_bits, width, height)
            else:
                self.q_db = c_quality_db(enc_frame_bits, width, height,
                                         self.ref_width, self.ref_height)
        out.quality_db = self.q_db
        # Temporal layering (L1T1/L1T2/L1T3 reference structures): a lost upper-layer frame
        # does not break the base layer's chain.
        if key:
            out.ref_offset = 0
            out.temporal_layer = 0
        elif layers == 1:
            out.ref_offset = 1
            out.temporal_layer = 0
        elif layers == 2:
            if k % 2 == 0:
                out.ref_offset = 2
                out.temporal_layer = 0
            else:
                out.ref_offset = 1
                out.temporal_layer = 1
        else:
            if k % 4 == 0:
                out.ref_offset = 4
                out.temporal_layer = 0
            elif k % 4 == 2:
                out.ref_offset = 2
                out.temporal_layer = 1
            else:
                out.ref_offset = 1
                out.temporal_layer = 2
        self.last_width = width
        self.last_height = height
        self.frames_encoded += 1
        return 1

    def request_rate(self, bitrate_bps: int, now_us: int) -> None:
        """Ask the encoder for ``bitrate_bps`` at ``now_us`` (takes effect after the lag)."""
        self.c_request_rate(int(bitrate_bps), int(now_us))

    def request_keyframe(self) -> None:
        """Make the next encoded frame a key frame (as a PLI does)."""
        self.c_request_keyframe()

    def encode(self, now_us: int, width: int, height: int, fps: float,
               keyframe_interval_s: float = 0.0, temporal_layers: int = 1) -> dict | None:
        """Encode the frame captured at ``now_us``; None when the frame dropper skips it.

        Returns a dict with ``size_bytes``, ``keyframe``, ``quality_db``, ``width``,
        ``height``, ``ref_offset`` and ``temporal_layer``.
        """
        if fps <= 0:
            raise InputError(f"fps must be > 0, got {fps!r}")
        cdef EncodedFrameC f
        if not self.c_encode(int(now_us), int(width), int(height), float(fps),
                             float(keyframe_interval_s), int(temporal_layers), &f):
            return None
        return {
            "size_bytes": f.size_bytes,
            "keyframe": bool(f.keyframe),
            "quality_db": f.quality_db,
            "width": f.width,
            "height": f.height,
            "ref_offset": f.ref_offset,
            "temporal_layer": f.temporal_layer,
        }


def packetize(size_bytes: int) -> list[int]:
    """Payload sizes of the RTP packets a frame of ``size_bytes`` is cut into."""
    if size_bytes < 0:
        raise InputError(f"size_bytes must be >= 0, got {size_bytes}")
    cdef int32_t n = packet_count(size_bytes)
    return [packet_payload(size_bytes, n, i) for i in range(n)]


#: Bytes of headers per packet (IPv4 + UDP + RTP + transport-wide sequence extension).
PACKET_OVERHEAD_BYTES = PKT_OVERHEAD_BYTES
#: Largest RTP payload per packet, bytes.
MAX_PAYLOAD_BYTES = PKT_MAX_PAYLOAD_BYTES
