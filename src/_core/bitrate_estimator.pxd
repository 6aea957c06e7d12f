# BitrateEstimator + AcknowledgedBitrateEstimator: the Bayesian throughput estimate of
# acknowledged packets (libwebrtc goog_cc/bitrate_estimator.cc,
# goog_cc/acknowledged_bitrate_estimator.cc). Arithmetic is single precision, as there.
from libc.stdint cimport int64_t

from mediaopt._core.gcc_config cimport GccParams


cdef struct BitrateEstimatorState:
    # --- parameters ---
    int64_t initial_window_ms      # window before the first estimate, ms
    int64_t window_ms              # window afterwards, ms
    float uncertainty_scale        # sample uncertainty gain
    float uncertainty_scale_in_alr # gain for lower samples in ALR
    float small_sample_scale       # gain for lower samples below small_sample_bytes
    int64_t small_sample_bytes     # a window with fewer bytes is a small sample, bytes
    float symmetry_cap_kbps        # cap of the sample in the uncertainty denominator, kbps
    float floor_kbps               # floor of the estimate, kbps
    # --- state ---
    int64_t sum_bytes              # bytes in the current window, bytes
    int64_t current_window_ms      # time covered by the current window, ms
    int64_t prev_time_ms           # last update time, ms (-1: none)
    float estimate_kbps            # the estimate, kbps (< 0: none yet)
    float estimate_var             # variance of the estimate, kbps^2


cdef struct AckedBitrateState:
    BitrateEstimatorState est      # the throughput estimator
    bint in_alr                    # sender is application limited
    int64_t alr_ended_us           # when ALR last ended, us (MO_NONE: not pending)


cdef void be_init(BitrateEstimatorState* s, const GccParams* cfg) noexcept nogil
cdef void be_update(BitrateEstimatorState* s, int64_t at_ms, int64_t size_bytes,
                    bint in_alr) noexcept nogil
cdef int64_t be_bitrate_bps(BitrateEstimatorState* s) noexcept nogil
cdef int64_t be_peek_bps(BitrateEstimatorState* s) noexcept nogil
cdef void be_expect_fast_change(BitrateEstimatorState* s) noexcept nogil

cdef void abe_init(AckedBitrateState* s, const GccParams* cfg) noexcept nogil
cdef void abe_on_packet(AckedBitrateState* s, int64_t send_us, int64_t arrival_us,
                        int64_t size_bytes) noexcept nogil
cdef int64_t abe_bitrate_bps(AckedBitrateState* s) noexcept nogil


cdef class BitrateEstimator:
    cdef BitrateEstimatorState s   # the C state this wrapper drives


cdef class AcknowledgedBitrateEstimator:
    cdef AckedBitrateState s       # the C state this wrapper drives
