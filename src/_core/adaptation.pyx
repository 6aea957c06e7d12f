"""Adaptation decision kernel: encoder settings from the target rate, loss and RTT.

One ``update`` does, in order: cap the target at the policy's ``max_bps``; filter the loss
(libwebrtc's max filter over one-second bins); compute the protection of libwebrtc's
NACK/FEC method for the current picture (``mediaopt._core.fec``); take the overhead off
the target to get the media rate; move along the policy's degradation path (a list of
(width, height, fps) states, best first, each with the media rate it needs) with
hysteresis and dwell times; and request a keyframe when loss cannot be repaired.

The path itself is built once, in Python (``mediaopt.policies.adaptation``), from the policy's
ladder, degradation preference and clinical floors; the kernel only walks it.
"""

from mediaopt._core._check import (
    InputError, as_float64_array, as_int64_array, check_nondecreasing, check_same_length,
)

import numpy as np

cimport cython
from libc.stdint cimport int32_t, int64_t, uint8_t

from mediaopt._core.fec cimport c_protection_factor

# Loss reaches the kernel as a share; RTCP reports it as an 8-bit fraction of 256.
cdef double _LOSS_SCALE = 256.0


cdef inline bint _settings_equal(const EncoderSettingsC* a, const EncoderSettingsC* b) noexcept nogil:
    return (a.bitrate_bps == b.bitrate_bps and a.width == b.width and a.height == b.height
            and a.fps == b.fps and a.keyframe_interval_s == b.keyframe_interval_s
            and a.request_keyframe == b.request_keyframe and a.fec_rate == b.fec_rate
            and a.nack == b.nack and a.temporal_layers == b.temporal_layers)


cdef class AdaptationCore:
    """The C decision kernel behind :class:`Adaptation` (built by ``mediaopt.policies.adaptation``).

    The replay loop calls ``c_update`` without the GIL; Python code uses
    :meth:`Adaptation.update`. Arguments are the degradation path as parallel sequences
    (best state first) and the policy's numbers, already validated.
    """

    def __cinit__(self):
        self.n_path = 0
        self.n_start_caps = 0
        self.last_obj = None
        self.c_reset()

    def __init__(self, widths, heights, fps, need_bps, max_bps, *, double up_margin=0.15,
                 double down_margin=0.1, double up_dwell_s=4.0, double down_dwell_s=0.0,
                 int up_max_steps=1, double start_dwell_s=4.0,
                 start_caps=(), long long min_bps=0, long long max_bps_cap=0,
                 str protection="nack_fec", long long low_rtt_nack_ms=20,
                 long long high_rtt_nack_ms=-1, int loss_bins=10, double loss_bin_s=1.0,
                 int max_payload_bytes=1460, double overhead_cap=0.5,
                 double nack_overhead_factor=1.0, double keyframe_interval_s=0.0,
                 bint keyframe_on_loss=True, double keyframe_min_gap_s=1.0,
                 int temporal_layers=1):
        cdef Py_ssize_t n = len(widths), i
        if n < 1 or n > MAX_PATH:
            raise InputError(f"path: needs 1 to {MAX_PATH} states, got {n}")
        if not (len(heights) == len(fps) == len(need_bps) == len(max_bps) == n):
            raise InputError("path: widths, heights, fps, need_bps and max_bps differ in length")
        for i in range(n):
            if widths[i] <= 0 or heights[i] <= 0 or not fps[i] > 0:
                raise InputError(f"path: state {i} has a non-positive size or frame rate")
            if need_bps[i] < 0 or max_bps[i] < 0:
                raise InputError(f"path: state {i} has a negative bitrate")
            self.path[i].width = widths[i]
            self.path[i].height = heights[i]
            self.path[i].fps = fps[i]
            self.path[i].need_bps = need_bps[i]
            self.path[i].max_bps = max_bps[i]
        self.n_path = n
        if len(start_caps) > MAX_START_CAPS:
            raise InputError(f"start_caps: at most {MAX_START_CAPS} caps")
        self.n_start_caps = len(start_caps)
        for i, (bps, pixels) in enumerate(start_caps):
            self.start_cap_bps[i] = bps
            self.start_cap_pixels[i] = pixels
        if not 0 <= up_margin <= 10 or not 0 <= down_margin < 1:
            raise InputError("up_margin/down_margin: out of range")
        self.up_margin = up_margin
        self.down_margin = down_margin
        self.up_dwell_us = <int64_t>(up_dwell_s * 1e6)
        self.down_dwell_us = <int64_t>(down_dwell_s * 1e6)
        if up_max_steps < 0:
            raise InputError("up_max_steps: must be >= 0")
        self.up_max_steps = up_max_steps
        self.start_dwell_us = <int64_t>(start_dwell_s * 1e6)
        self.min_bps = min_bps
        self.max_bps = max_bps_cap
        if protection == "none":
            self.use_nack, self.use_fec = 0, 0
        elif protection == "nack":
            self.use_nack, self.use_fec = 1, 0
        elif protection == "fec":
            self.use_nack, self.use_fec = 0, 1
        elif protection == "nack_fec":
            self.use_nack, self.use_fec = 1, 1
        else:
            raise InputError(f"protection: unknown method {protection!r}")
        self.low_rtt_nack_us = low_rtt_nack_ms * 1000 if low_rtt_nack_ms >= 0 else -1
        self.high_rtt_nack_us = high_rtt_nack_ms * 1000 if high_rtt_nack_ms >= 0 else -1
        if not 1 <= loss_bins <= MAX_LOSS_BINS:
            raise InputError(f"loss_bins: must be within [1, {MAX_LOSS_BINS}]")
        self.loss_bins = loss_bins
        self.loss_bin_us = <int64_t>(loss_bin_s * 1e6)
        if self.loss_bin_us <= 0:
            raise InputError("loss_bin_s: must be positive")
        self.max_payload_bytes = max_payload_bytes
        self.overhead_cap = overhead_cap
        self.nack_overhead_factor = nack_overhead_factor
        self.keyframe_interval_s = keyframe_interval_s
        self.keyframe_on_loss = keyframe_on_loss
        self.keyframe_min_gap_us = <int64_t>(keyframe_min_gap_s * 1e6)
        self.temporal_layers = temporal_layers
        self.c_reset()

    cdef void c_reset(self) noexcept nogil:
        cdef Py_ssize_t i
        self.index = 0
        self.started = 0
        self.last_now_us = 0
        self.last_switch_us = 0
        self.last_keyframe_us = -1
        self.filtered_loss_255 = 0
        self.short_max_loss = 0
        for i in range(MAX_LOSS_BINS):
            self.loss_hist[i] = 0
            self.loss_hist_us[i] = -1
        self.last.bitrate_bps = -1
        self.last.width = 0
        self.last.height = 0
        self.last.fps = 0
        self.last.keyframe_interval_s = 0
        self.last.request_keyframe = 0
        self.last.fec_rate = 0
        self.last.nack = 0
        self.last.temporal_layers = 0

    cdef uint8_t c_filter_loss(self, uint8_t loss_255, int64_t now_us) noexcept nogil:
        # libwebrtc VCMLossProtectionLogic::UpdateMaxLossHistory + MaxFilteredLossPr:
        # the largest loss per bin, kept for loss_bins bins; the result is the largest
        # loss seen in the open bin and in every bin younger than the whole window.
        cdef int32_t i
        cdef uint8_t found
        if self.loss_hist_us[0] >= 0 and now_us - self.loss_hist_us[0] < self.loss_bin_us:
            if loss_255 > self.short_max_loss:
                self.short_max_loss = loss_255
        else:
            if self.loss_hist_us[0] == -1:
                self.short_max_loss = loss_255
            else:
                i = self.loss_bins - 2
                while i >= 0:
                    self.loss_hist[i + 1] = self.loss_hist[i]
                    self.loss_hist_us[i + 1] = self.loss_hist_us[i]
                    i -= 1
            if self.short_max_loss == 0:
                self.short_max_loss = loss_255
            self.loss_hist[0] = self.short_max_loss
            self.loss_hist_us[0] = now_us
            self.short_max_loss = 0
        found = self.short_max_loss
        if self.loss_hist_us[0] == -1:
            return found
        for i in range(self.loss_bins):
            if self.loss_hist_us[i] == -1:
                break
            if now_us - self.loss_hist_us[i] > self.loss_bins * self.loss_bin_us:
                break
            if self.loss_hist[i] > found:
                found = self.loss_hist[i]
        return found

    cdef void c_update(self, int64_t target_bps, double loss, int64_t rtt_us, int64_t now_us,
                       EncoderSettingsC* out) noexcept nogil:
        cdef Py_ssize_t i, j, n = self.n_path
        cdef int64_t pixels, media_bps
        cdef double scaled, fec_rate, nack_share, overhead
        cdef uint8_t loss_255, filtered, factor
        cdef float corr = 1.0
        cdef bint nack, unrecoverable
        cdef PathState* st
        # The core trusts its inputs but never misbehaves on bad ones: clamp them.
        if not (loss >= 0.0):
            loss = 0.0
        elif loss > 1.0:
            loss = 1.0
        if target_bps < 0:
            target_bps = 0
        if rtt_us < 0:
            rtt_us = 0
        if self.started and now_us < self.last_now_us:
            now_us = self.last_now_us
        if self.max_bps > 0 and target_bps > self.max_bps:
            target_bps = self.max_bps
        if n <= 0:
            out.bitrate_bps = target_bps
            out.width = 0
            out.height = 0
            out.fps = 0
            out.keyframe_interval_s = self.keyframe_interval_s
            out.request_keyframe = 0
            out.fec_rate = 0
            out.nack = 0
            out.temporal_layers = self.temporal_layers
            return

        # --- first decision: the best state the start rate supports, under the start caps
        # (libwebrtc's initial frame-size limit for a low start bitrate) ---
        if not self.started:
            self.started = 1
            # the first pick is a guess from the start rate, not a reaction to congestion:
            # its own dwell (start_dwell) decides when the first up-move may come
            self.last_switch_us = now_us - self.up_dwell_us + self.start_dwell_us
            j = n - 1
            for i in range(n):
                if self.path[i].need_bps <= target_bps:
                    j = i
                    break
            for i in range(self.n_start_caps):
                if target_bps < self.start_cap_bps[i]:
                    while j < n - 1 and (<int64_t>self.path[j].width * self.path[j].height
                                         > self.start_cap_pixels[i]):
                        j += 1
                    break
            self.index = j
        self.last_now_us = now_us

        # --- protection for the picture being sent (libwebrtc media_opt_util) ---
        scaled = loss * _LOSS_SCALE
        loss_255 = 255 if scaled >= 255.0 else <uint8_t>scaled
        filtered = self.c_filter_loss(loss_255, now_us)
        self.filtered_loss_255 = filtered
        st = &self.path[self.index]
        factor = c_protection_factor((self.use_fec << 1) | self.use_nack, filtered,
                                     <float>(target_bps / 1000.0), <float>st.fps, st.width,
                                     st.height, self.temporal_layers, rtt_us // 1000,
                                     self.low_rtt_nack_us // 1000 if self.low_rtt_nack_us >= 0 else -1,
                                     self.high_rtt_nack_us // 1000 if self.high_rtt_nack_us >= 0 else -1,
                                     self.max_payload_bytes, &corr)
        fec_rate = (factor / 255.0) * corr
        if fec_rate > self.overhead_cap:
            fec_rate = self.overhead_cap
        nack = self.use_nack and (self.high_rtt_nack_us < 0 or rtt_us < self.high_rtt_nack_us)
        nack_share = self.nack_overhead_factor * (filtered / 255.0) if nack else 0.0
        overhead = fec_rate + nack_share
        if overhead > self.overhead_cap:
            overhead = self.overhead_cap
        # floor, so media <= target * (1 - overhead) <= target * (1 - fec_rate)
        media_bps = <int64_t>(target_bps * (1.0 - overhead))
        if media_bps < 0:
            media_bps = 0

        # --- walk the degradation path: down at once when the media rate falls short of
        # the current state, up (one state, or up_max_steps) with headroom after a dwell ---
        i = self.index
        if (i < n - 1 and media_bps < self.path[i].need_bps * (1.0 - self.down_margin)
                and now_us - self.last_switch_us >= self.down_dwell_us):
            j = i + 1
            while j < n - 1 and self.path[j].need_bps > media_bps:
                j += 1
            self.index = j
            self.last_switch_us = now_us
        elif (i > 0 and media_bps >= self.path[i - 1].need_bps * (1.0 + self.up_margin)
                and now_us - self.last_switch_us >= self.up_dwell_us):
            j = i - 1
            while (j > 0 and (self.up_max_steps == 0 or i - j < self.up_max_steps)
                   and media_bps >= self.path[j - 1].need_bps * (1.0 + self.up_margin)):
                j -= 1
            self.index = j
            self.last_switch_us = now_us
        st = &self.path[self.index]

        # --- keyframes: loss neither FEC nor retransmission can repair breaks the
        # reference chain; ask for a fresh keyframe, at most once per gap ---
        unrecoverable = loss_255 > 0 and not nack and loss > fec_rate
        out.request_keyframe = 0
        if self.keyframe_on_loss and unrecoverable and (
                self.last_keyframe_us < 0
                or now_us - self.last_keyframe_us >= self.keyframe_min_gap_us):
            out.request_keyframe = 1
            self.last_keyframe_us = now_us

        out.bitrate_bps = media_bps if media_bps < st.max_bps else st.max_bps
        out.width = st.width
        out.height = st.height
        out.fps = st.fps
        out.keyframe_interval_s = self.keyframe_interval_s
        out.fec_rate = fec_rate
        out.nack = nack
        out.temporal_layers = self.temporal_layers
        self.last = out[0]

    # --- Python-facing introspection ---
    @property
    def state_index(self):
        """Index of the current state on the degradation path (0 = best)."""
        return self.index

    @property
    def filtered_loss(self):
        """Last filtered loss as a share (libwebrtc's max filter, x255 / 255)."""
        return self.filtered_loss_255 / 255.0

    @property
    def states(self):
        """The degradation path: ``(width, height, fps, need_bps, max_bps)`` per state."""
        return [(self.path[i].width, self.path[i].height, self.path[i].fps,
                 self.path[i].need_bps, self.path[i].max_bps) for i in range(self.n_path)]

    def reset(self):
        """Forget all history: the next update starts the call afresh."""
        self.c_reset()
        self.last_obj = None

    def decide(self, long long target_bps, double loss, long long rtt_us, long long now_us):
        """Run one decision without validation; return it as a tuple (for tests/tools)."""
        cdef EncoderSettingsC s
        self.c_update(target_bps, loss, rtt_us, now_us, &s)
        return (s.bitrate_bps, s.width, s.height, s.fps, s.keyframe_interval_s,
                bool(s.request_keyframe), s.fec_rate, bool(s.nack), s.temporal_layers)


@cython.freelist(16)
cdef class EncoderSettings:
    """What the encoder should do now (immutable, compared by value).

    ``bitrate_bps`` is the media rate after protection overhead, ``fec_rate`` the share
    of the total send rate spent on FEC (0 to 0.5), ``keyframe_interval_s`` 0 means
    keyframes only on request.
    """

    def __init__(self, bitrate_bps, width, height, fps, keyframe_interval_s=0.0,
                 request_keyframe=False, fec_rate=0.0, nack=False, temporal_layers=1):
        if bitrate_bps < 0:
            raise InputError(f"bitrate_bps: {bitrate_bps} is negative")
        if width <= 0 or height <= 0:
            raise InputError(f"width/height: must be positive, got {width}x{height}")
        if not fps > 0:
            raise InputError(f"fps: must be positive, got {fps!r}")
        if not 0.0 <= fec_rate <= 0.5:
            raise InputError(f"fec_rate: {fec_rate!r} is outside [0, 0.5]")
        if not keyframe_interval_s >= 0:
            raise InputError(f"keyframe_interval_s: must be >= 0, got {keyframe_interval_s!r}")
        if not 1 <= temporal_layers <= 4:
            raise InputError(f"temporal_layers: {temporal_layers} is outside [1, 4]")
        self.s.bitrate_bps = bitrate_bps
        self.s.width = width
        self.s.height = height
        self.s.fps = fps
        self.s.keyframe_interval_s = keyframe_interval_s
        self.s.request_keyframe = bool(request_keyframe)
        self.s.fec_rate = fec_rate
        self.s.nack = bool(nack)
        self.s.temporal_layers = temporal_layers

    @property
    def bitrate_bps(self):
        """Media bitrate for the encoder, after protection overhead (bps)."""
        return self.s.bitrate_bps

    @property
    def width(self):
        """Encoded width (pixels)."""
        return self.s.width

    @property
    def height(self):
        """Encoded height (pixels)."""
        return self.s.height

    @property
    def fps(self):
        """Encoded frame rate (frames per second)."""
        return self.s.fps

    @property
    def keyframe_interval_s(self):
        """Periodic keyframe interval (s); 0 means keyframes only on request."""
        return self.s.keyframe_interval_s

    @property
    def request_keyframe(self):
        """True when the encoder should send a keyframe now."""
        return bool(self.s.request_keyframe)

    @property
    def fec_rate(self):
        """Share of the total send rate spent on FEC (0 to 0.5)."""
        return self.s.fec_rate

    @property
    def nack(self):
        """True when retransmissions (NACK) are enabled."""
        return bool(self.s.nack)

    @property
    def temporal_layers(self):
        """Number of temporal layers (1 = none)."""
        return self.s.temporal_layers

    def as_dict(self):
        """Return the settings as a plain dict."""
        return {"bitrate_bps": self.s.bitrate_bps, "width": self.s.width,
                "height": self.s.height, "fps": self.s.fps,
                "keyframe_interval_s": self.s.keyframe_interval_s,
                "request_keyframe": bool(self.s.request_keyframe),
                "fec_rate": self.s.fec_rate, "nack": bool(self.s.nack),
                "temporal_layers": self.s.temporal_layers}

    def __eq__(self, other):
        if not isinstance(other, EncoderSettings):
            return NotImplemented
        return _settings_equal(&self.s, &(<EncoderSettings>other).s)

    def __hash__(self):
        return hash(tuple(self.as_dict().values()))

    def __repr__(self):
        s = self.s
        return (f"EncoderSettings(bitrate_bps={s.bitrate_bps}, width={s.width}, "
                f"height={s.height}, fps={s.fps:g}, keyframe_interval_s={s.keyframe_interval_s:g}, "
                f"request_keyframe={bool(s.request_keyframe)}, fec_rate={s.fec_rate:.4f}, "
                f"nack={bool(s.nack)}, temporal_layers={s.temporal_layers})")

    def __reduce__(self):
        return (EncoderSettings, tuple(self.as_dict().values()))


cdef class Adaptation:
    """Encoder settings from the bandwidth estimate: the per-call API over a decision kernel.

    ``Adaptation(core)`` drives an :class:`AdaptationCore` (its degradation path and
    hysteresis already set up). The public :class:`mediaopt.Adaptation`
    (``mediaopt.policies.adaptation``) builds the kernel from a policy and a camera and
    builds on this class. :meth:`update` is called on every feedback report; ``core`` is
    the C kernel the replay loop drives directly.
    """

    def __init__(self, AdaptationCore core not None):
        self.core = core

    def update(self, double target_bps, double loss, long long rtt_us, long long now_us):
        """Decide the encoder settings for now.

        ``target_bps`` is the estimator's target (total send rate), ``loss`` the packet
        loss share of the last report (0 to 1), ``rtt_us`` the round-trip time and
        ``now_us`` the current time (non-decreasing). Returns :class:`EncoderSettings`.
        """
        cdef AdaptationCore core = self.core
        cdef EncoderSettingsC s
        cdef EncoderSettings obj
        if not (target_bps >= 0.0) or target_bps > 9.2e18:
            raise InputError(f"target_bps: must be a finite rate >= 0, got {target_bps!r}")
        if not (0.0 <= loss <= 1.0):
            raise InputError(f"loss: must be a share within [0, 1], got {loss!r}")
        if rtt_us < 0:
            raise InputError(f"rtt_us: must be >= 0, got {rtt_us}")
        if core.started and now_us < core.last_now_us:
            raise InputError(
                f"now_us: time went backwards ({core.last_now_us} -> {now_us})")
        core.c_update(<int64_t>target_bps, loss, rtt_us, now_us, &s)
        if core.last_obj is not None and _settings_equal(
                &s, &(<EncoderSettings>core.last_obj).s):
            return core.last_obj
        obj = EncoderSettings.__new__(EncoderSettings)
        obj.s = s
        core.last_obj = obj
        return obj

    def update_many(self, target_bps, loss, rtt_us, now_us):
        """Decide for a whole sequence of reports at once (the same decisions as ``update``).

        Takes equal-length 1-D arrays (``now_us`` non-decreasing and not before the last
        update) and returns a dict of arrays named like the :class:`EncoderSettings`
        fields. The loop runs in C without the GIL, for offline sweeps.
        """
        t = as_float64_array("target_bps", target_bps, min_value=0.0, max_value=9.2e18)
        lo = as_float64_array("loss", loss, min_value=0.0, max_value=1.0)
        r = as_int64_array("rtt_us", rtt_us, min_value=0)
        ts = as_int64_array("now_us", now_us)
        cdef Py_ssize_t n = check_same_length(target_bps=t, loss=lo, rtt_us=r, now_us=ts)
        check_nondecreasing("now_us", ts)
        cdef AdaptationCore core = self.core
        if n and core.started and ts[0] < core.last_now_us:
            raise InputError(f"now_us: time went backwards ({core.last_now_us} -> {ts[0]})")
        out_bitrate = np.empty(n, dtype=np.int64)
        out_width = np.empty(n, dtype=np.int32)
        out_height = np.empty(n, dtype=np.int32)
        out_fps = np.empty(n, dtype=np.float64)
        out_key = np.empty(n, dtype=np.bool_)
        out_fec = np.empty(n, dtype=np.float64)
        out_nack = np.empty(n, dtype=np.bool_)
        cdef const double[::1] tv = t
        cdef const double[::1] lv = lo
        cdef const int64_t[::1] rv = r
        cdef const int64_t[::1] nv = ts
        cdef int64_t[::1] ob = out_bitrate
        cdef int32_t[::1] ow = out_width
        cdef int32_t[::1] oh = out_height
        cdef double[::1] of = out_fps
        cdef uint8_t[::1] ok = out_key.view(np.uint8)
        cdef double[::1] oe = out_fec
        cdef uint8_t[::1] on = out_nack.view(np.uint8)
        cdef EncoderSettingsC s
        cdef Py_ssize_t i
        with nogil:
            for i in range(n):
                core.c_update(<int64_t>tv[i], lv[i], rv[i], nv[i], &s)
                ob[i] = s.bitrate_bps
                ow[i] = s.width
                oh[i] = s.height
                of[i] = s.fps
                ok[i] = s.request_keyframe
                oe[i] = s.fec_rate
                on[i] = s.nack
        core.last_obj = None
        return {
            "bitrate_bps": out_bitrate,
            "width": out_width,
            "height": out_height,
            "fps": out_fps,
            "keyframe_interval_s": np.full(n, core.keyframe_interval_s),
            "request_keyframe": out_key,
            "fec_rate": out_fec,
            "nack": out_nack,
            "temporal_layers": np.full(n, core.temporal_layers, dtype=np.int32),
        }

    def reset(self):
        """Start the call afresh (forget the state, the loss history and the dwell timers)."""
        self.core.reset()

    def __repr__(self):
        return f"{type(self).__name__}(state={self.core.index}/{self.core.n_path})"
