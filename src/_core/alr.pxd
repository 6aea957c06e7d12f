# AlrDetector: detects the application-limited region from the bytes the pacer sends
# against a budget at 65 % of the estimate (libwebrtc goog_cc/alr_detector.cc,
# modules/pacing/interval_budget.cc).
from libc.stdint cimport int64_t

from mediaopt._core.gcc_config cimport GccParams


cdef struct AlrState:
    # --- parameters ---
    double usage_ratio             # budget rate as a share of the estimate
    double start_ratio             # ALR starts when the budget level exceeds this
    double stop_ratio              # ALR stops when the budget level falls below this
    int64_t window_ms              # budget window, ms
    # --- state ---
    int64_t target_rate_kbps       # budget fill rate, kbps
    int64_t max_bytes              # budget capacity, bytes
    int64_t bytes_remaining        # unused budget (negative: overdrawn), bytes
    int64_t last_send_ms           # last send time, ms (-1: none yet)
    int64_t alr_start_ms           # when ALR started, ms (-1: not in ALR)


cdef void alr_init(AlrState* s, const GccParams* cfg) noexcept nogil
cdef void alr_set_estimate(AlrState* s, int64_t bps) noexcept nogil
cdef void alr_on_bytes_sent(AlrState* s, int64_t size_bytes, int64_t send_ms) noexcept nogil


cdef class AlrDetector:
    cdef AlrState s                # the C state this wrapper drives
