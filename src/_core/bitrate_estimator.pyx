"""Throughput of acknowledged packets, as libwebrtc's ``AcknowledgedBitrateEstimator``."""

from libc.math cimport fabsf
from libc.stdint cimport int64_t

from mediaopt._core._check import as_int64_array, check_same_length

from mediaopt._core._check cimport int_arg
from mediaopt._core._units cimport MO_NONE, us_to_ms
from mediaopt._core.gcc_config cimport params_from


cdef void be_init(BitrateEstimatorState* s, const GccParams* cfg) noexcept nogil:
    s.initial_window_ms = cfg.bitrate_initial_window_ms
    s.window_ms = cfg.bitrate_window_ms
    s.uncertainty_scale = cfg.bitrate_uncertainty_scale
    s.uncertainty_scale_in_alr = cfg.bitrate_uncertainty_scale_in_alr
    s.small_sample_scale = cfg.bitrate_small_sample_uncertainty_scale
    s.small_sample_bytes = cfg.bitrate_small_sample_threshold_bytes
    s.symmetry_cap_kbps = cfg.bitrate_uncertainty_symmetry_cap_bps / 1000.0
    s.floor_kbps = cfg.bitrate_estimate_floor_bps / 1000.0
    s.sum_bytes = 0
    s.current_window_ms = 0
    s.prev_time_ms = -1
    s.estimate_kbps = -1.0
    s.estimate_var = 50.0


cdef inline float _update_window(BitrateEstimatorState* s, int64_t now_ms, int64_t nbytes,
                                 int64_t window_ms, bint* is_small) noexcept nogil:
    cdef float sample = -1.0
    if now_ms < s.prev_time_ms:
        # Time went backwards: start a fresh window.
        s.prev_time_ms = -1
        s.sum_bytes = 0
        s.current_window_ms = 0
    if s.prev_time_ms >= 0:
        s.current_window_ms += now_ms - s.prev_time_ms
        if now_ms - s.prev_time_ms > window_ms:
            # Nothing received for more than a window: the old bytes do not count.
            s.sum_bytes = 0
            s.current_window_ms %= window_ms
    s.prev_time_ms = now_ms
    if s.current_window_ms >= window_ms:
        is_small[0] = s.sum_bytes < s.small_sample_bytes
        sample = 8.0 * <float>s.sum_bytes / <float>window_ms
        s.current_window_ms -= window_ms
        s.sum_bytes = 0
    s.sum_bytes += nbytes
    return sample


cdef void be_update(BitrateEstimatorState* s, int64_t at_ms, int64_t size_bytes,
                    bint in_alr) noexcept nogil:
    cdef int64_t window_ms = s.window_ms
    cdef bint is_small = False
    cdef float sample, scale, cap, unc, sample_var, pred_var
    if s.estimate_kbps < 0.0:
        window_ms = s.initial_window_ms
    sample = _update_window(s, at_ms, size_bytes, window_ms, &is_small)
    if sample < 0.0:
        return
    if s.estimate_kbps < 0.0:
        s.estimate_kbps = sample
        return
    scale = s.uncertainty_scale
    if is_small and sample < s.estimate_kbps:
        scale = s.small_sample_scale
    elif in_alr and sample < s.estimate_kbps:
        scale = s.uncertainty_scale_in_alr
    # A sample far from the estimate is trusted less; the estimate's own variance grows
    # with every update so that the rate can move.
    cap = sample if sample < s.symmetry_cap_kbps else s.symmetry_cap_kbps
    if s.estimate_kbps + cap <= 0.0:
        # An estimate of exactly zero (windows of empty packets) would divide by zero
        # (NaN in libwebrtc): take the sample as it is instead.
        s.estimate_kbps = sample
        return
    unc = scale * fabsf(s.estimate_kbps - sample) / (s.estimate_kbps + cap)
    sample_var = unc * unc
    pred_var = s.estimate_var + <float>5.0
    s.estimate_kbps = ((sample_var * s.estimate_kbps + pred_var * sample)
                       / (sample_var + pred_var))
    if s.estimate_kbps < s.floor_kbps:
        s.estimate_kbps = s.floor_kbps
    s.estimate_var = sample_var * pred_var / (sample_var + pred_var)


cdef int64_t be_bitrate_bps(BitrateEstimatorState* s) noexcept nogil:
    if not (s.estimate_kbps >= 0.0):   # also false for NaN
        return -1
    if s.estimate_kbps > 1e12:
        return <int64_t>1e15
    return <int64_t>(<double>s.estimate_kbps * 1000.0)


cdef int64_t be_peek_bps(BitrateEstimatorState* s) noexcept nogil:
    if s.current_window_ms > 0:
        return s.sum_bytes * 8000 // s.current_window_ms
    return -1


cdef void be_expect_fast_change(BitrateEstimatorState* s) noexcept nogil:
    s.estimate_var += 200.0


cdef void abe_init(AckedBitrateState* s, const GccParams* cfg) noexcept nogil:
    be_init(&s.est, cfg)
    s.in_alr = False
    s.alr_ended_us = MO_NONE


cdef void abe_on_packet(AckedBitrateState* s, int64_t send_us, int64_t arrival_us,
                        int64_t size_bytes) noexcept nogil:
    if s.alr_ended_us != MO_NONE and send_us > s.alr_ended_us:
        # Traffic sent after ALR ended may run at a very different rate.
        be_expect_fast_change(&s.est)
        s.alr_ended_us = MO_NONE
    be_update(&s.est, us_to_ms(arrival_us), size_bytes, s.in_alr)


cdef int64_t abe_bitrate_bps(AckedBitrateState* s) noexcept nogil:
    return be_bitrate_bps(&s.est)


cdef class BitrateEstimator:
    """Bayesian estimate of a byte stream's rate (libwebrtc's ``BitrateEstimator``).

    Windows of 500 ms until the first estimate, then 150 ms; each window's rate is a
    sample weighted by how far it lies from the estimate (uncertainty scale 10).
    """

    def __init__(self, *, config=None):
        cdef GccParams p
        params_from(config, &p)
        be_init(&self.s, &p)

    def update(self, at_us, size_bytes, in_alr=False):
        """Account ``size_bytes`` received at ``at_us``."""
        be_update(&self.s, us_to_ms(int_arg("at_us", at_us)),
                  int_arg("size_bytes", size_bytes, 0), bool(in_alr))

    @property
    def bitrate_bps(self):
        """The estimate, bps, or None before the first full window."""
        v = be_bitrate_bps(&self.s)
        return None if v < 0 else v

    def peek_bps(self):
        """The rate of the window in progress, bps, or None when it is empty."""
        v = be_peek_bps(&self.s)
        return None if v < 0 else v

    def expect_fast_rate_change(self):
        """Let the next samples move the estimate fast (after ALR ends)."""
        be_expect_fast_change(&self.s)


cdef class AcknowledgedBitrateEstimator:
    """Rate of acknowledged traffic from transport feedback (libwebrtc's defaults)."""

    def __init__(self, *, config=None):
        cdef GccParams p
        params_from(config, &p)
        abe_init(&self.s, &p)

    def incoming_packet_feedback(self, send_us, arrival_us, size_bytes):
        """Feed received packets sorted by arrival (arrays or scalars)."""
        s = as_int64_array("send_us", send_us)
        a = as_int64_array("arrival_us", arrival_us, min_value=0)
        z = as_int64_array("size_bytes", size_bytes, min_value=0)
        n = check_same_length(send_us=s, arrival_us=a, size_bytes=z)
        cdef const int64_t[::1] sv = s
        cdef const int64_t[::1] av = a
        cdef const int64_t[::1] zv = z
        cdef Py_ssize_t i
        for i in range(n):
            abe_on_packet(&self.s, sv[i], av[i], zv[i])

    def set_alr(self, in_alr):
        """Tell the estimator whether the sender is application limited."""
        self.s.in_alr = bool(in_alr)

    def set_alr_ended_time(self, at_us):
        """ALR ended at ``at_us``: packets sent later may change the rate fast."""
        self.s.alr_ended_us = int_arg("at_us", at_us)

    @property
    def bitrate_bps(self):
        """The acknowledged bitrate, bps, or None before the first estimate."""
        v = abe_bitrate_bps(&self.s)
        return None if v < 0 else v

    def peek_bps(self):
        """The rate of the window in progress, bps, or None."""
        v = be_peek_bps(&self.s.est)
        return None if v < 0 else v
