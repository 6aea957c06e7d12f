"""GoogCC send-side estimator (skeleton; components follow)."""
from libc.stdint cimport int32_t, int64_t


cdef class GccEstimator:
    """libwebrtc's send-side GoogCC estimator."""

    def __init__(self, start_bps=300_000, min_bps=5_000, max_bps=30_000_000, config=None):
        self.start_bps = start_bps
        self.min_bps = min_bps
        self.max_bps = max_bps
        self._config = config

    cdef int64_t c_on_feedback(self, const int64_t* send_us, const int64_t* arrival_us,
                               const int64_t* size_bytes, const int32_t* probe_cluster_id,
                               Py_ssize_t n, int64_t now_us) noexcept nogil:
        return self.start_bps

    cdef void c_on_packet_sent(self, int64_t send_us, int64_t size_bytes,
                               int32_t probe_cluster_id) noexcept nogil:
        pass

    cdef void c_set_rtt(self, int64_t rtt_us, int64_t now_us) noexcept nogil:
        pass

    cdef void c_process(self, int64_t now_us) noexcept nogil:
        pass

    cdef int c_pop_probe(self, int64_t now_us, int64_t* bitrate_bps, int32_t* cluster_id,
                         int32_t* min_probes, int64_t* min_bytes) noexcept nogil:
        return 0

    cdef int64_t c_target_bps(self) noexcept nogil:
        return self.start_bps

    cdef int64_t c_pacing_bps(self) noexcept nogil:
        return <int64_t>(2.5 * self.start_bps)

    cdef double c_loss_ratio(self) noexcept nogil:
        return 0.0
