"""Application-limited region detection, as libwebrtc's ``AlrDetector``."""

from libc.stdint cimport int64_t

from mediaopt._core._check cimport int_arg
from mediaopt._core._units cimport us_to_ms
from mediaopt._core.gcc_config cimport params_from


cdef void alr_init(AlrState* s, const GccParams* cfg) noexcept nogil:
    s.usage_ratio = cfg.alr_bandwidth_usage_ratio
    s.start_ratio = cfg.alr_start_budget_level_ratio
    s.stop_ratio = cfg.alr_stop_budget_level_ratio
    s.window_ms = cfg.alr_budget_window_us // 1000
    s.target_rate_kbps = 0
    s.max_bytes = 0
    s.bytes_remaining = 0
    s.last_send_ms = -1
    s.alr_start_ms = -1


cdef void alr_set_estimate(AlrState* s, int64_t bps) noexcept nogil:
    s.target_rate_kbps = <int64_t>(<double>bps * s.usage_ratio / 1000.0)
    s.max_bytes = (s.window_ms * s.target_rate_kbps) // 8
    if s.bytes_remaining < -s.max_bytes:
        s.bytes_remaining = -s.max_bytes
    if s.bytes_remaining > s.max_bytes:
        s.bytes_remaining = s.max_bytes


cdef void alr_on_bytes_sent(AlrState* s, int64_t size_bytes, int64_t send_ms) noexcept nogil:
    cdef int64_t dt_ms
    cdef double level
    if s.last_send_ms < 0:
        # The duration of the first send is unknown: only remember the time.
        s.last_send_ms = send_ms
        return
    dt_ms = send_ms - s.last_send_ms
    s.last_send_ms = send_ms
    s.bytes_remaining -= size_bytes
    if s.bytes_remaining < -s.max_bytes:
        s.bytes_remaining = -s.max_bytes
    # The budget may build up unused capacity (can_build_up_underuse = true).
    s.bytes_remaining += s.target_rate_kbps * dt_ms // 8
    if s.bytes_remaining > s.max_bytes:
        s.bytes_remaining = s.max_bytes
    level = 0.0 if s.max_bytes == 0 else <double>s.bytes_remaining / <double>s.max_bytes
    if level > s.start_ratio and s.alr_start_ms < 0:
        s.alr_start_ms = send_ms
    elif level < s.stop_ratio and s.alr_start_ms >= 0:
        s.alr_start_ms = -1


cdef class AlrDetector:
    """Detect when the sender uses less than 65 % of the estimate (libwebrtc's defaults)."""

    def __init__(self, *, config=None):
        cdef GccParams p
        params_from(config, &p)
        alr_init(&self.s, &p)

    def set_estimated_bitrate(self, bps):
        """Set the estimate the budget is derived from, bps."""
        alr_set_estimate(&self.s, int_arg("bps", bps, 0))

    def on_bytes_sent(self, size_bytes, send_us):
        """Account one packet put on the wire."""
        alr_on_bytes_sent(&self.s, int_arg("size_bytes", size_bytes, 0),
                          us_to_ms(int_arg("send_us", send_us)))

    @property
    def alr_start_us(self):
        """When the current application-limited region started, us, or None."""
        return None if self.s.alr_start_ms < 0 else self.s.alr_start_ms * 1000

    @property
    def in_alr(self):
        """True inside an application-limited region."""
        return self.s.alr_start_ms >= 0
