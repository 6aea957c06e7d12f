# GccEstimator: libwebrtc's send-side GoogCC (goog_cc_network_control + delay_based_bwe)
# behind the C-level contract of notes/CONTRACTS.md. The replay loop calls these cdef
# methods without the GIL; keep their signatures stable.
from libc.stdint cimport int32_t, int64_t


cdef class GccEstimator:
    # --- configuration (bounds of the target) ---
    cdef readonly int64_t start_bps     # start rate handed to the controller, bps
    cdef readonly int64_t min_bps       # lower bound of the target, bps
    cdef readonly int64_t max_bps       # upper bound of the target, bps
    cdef object _config                 # the GccConfig this estimator was built from

    # --- the contract ---
    # One transport-feedback report: n packets in send order (arrival_us -1 = lost).
    # probe_cluster_id may be NULL (no probes); -1 in it = not a probe packet.
    # Returns the new target in bps.
    cdef int64_t c_on_feedback(self, const int64_t* send_us, const int64_t* arrival_us,
                               const int64_t* size_bytes, const int32_t* probe_cluster_id,
                               Py_ssize_t n, int64_t now_us) noexcept nogil
    # The pacer reports every packet it puts on the wire (feeds ALR detection / probing).
    cdef void c_on_packet_sent(self, int64_t send_us, int64_t size_bytes,
                               int32_t probe_cluster_id) noexcept nogil
    cdef void c_set_rtt(self, int64_t rtt_us, int64_t now_us) noexcept nogil
    # Periodic tick (libwebrtc's OnProcessInterval, every 25 ms): probe controller timers.
    cdef void c_process(self, int64_t now_us) noexcept nogil
    # Probe clusters to send now: returns 1 and fills the outputs if one is pending (pops
    # it), else 0. Call repeatedly until 0.
    cdef int c_pop_probe(self, int64_t now_us, int64_t* bitrate_bps, int32_t* cluster_id,
                         int32_t* min_probes, int64_t* min_bytes) noexcept nogil
    cdef int64_t c_target_bps(self) noexcept nogil
    cdef int64_t c_pacing_bps(self) noexcept nogil
    cdef double c_loss_ratio(self) noexcept nogil
