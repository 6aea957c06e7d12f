# Probing: ProbeController decides which probe clusters to send, ProbeBitrateEstimator
# measures what a cluster got through (libwebrtc goog_cc/probe_controller.cc,
# goog_cc/probe_bitrate_estimator.cc).
from libc.stdint cimport int32_t, int64_t

from mediaopt._core.gcc_config cimport GccParams

cdef enum:
    PROBE_MAX_CLUSTERS = 16        # clusters tracked at once by the estimator
    PROBE_MAX_PENDING = 8          # probe clusters waiting to be popped by the pacer
    PROBE_MAX_CREATED = 16         # recently created clusters remembered (id -> size)

# ProbeController states.
cdef enum:
    PC_INIT = 0
    PC_WAITING = 1
    PC_COMPLETE = 2


cdef struct ProbeCluster:
    bint used                      # the slot holds a cluster
    int32_t id                     # probe cluster id
    int64_t first_send_us          # earliest send time, us
    int64_t last_send_us           # latest send time, us
    int64_t first_receive_us       # earliest arrival, us
    int64_t last_receive_us        # latest arrival, us
    int64_t size_last_send         # size of the packet sent last, bytes
    int64_t size_first_receive     # size of the packet received first, bytes
    int64_t size_total             # bytes received, bytes
    int32_t num_probes             # packets received


cdef struct ProbeEstimatorState:
    # --- parameters ---
    double min_probes_ratio        # share of the cluster's probes that must arrive
    double min_bytes_ratio         # share of the cluster's bytes that must arrive
    double max_valid_ratio         # receive/send rate above this is invalid
    double min_unsaturated_ratio   # receive under this x send means saturated
    double target_utilization      # saturated: estimate = this x receive rate
    int64_t max_history_us         # clusters older than this are dropped, us
    int64_t max_interval_us        # longest valid send/receive interval, us
    # --- state ---
    ProbeCluster clusters[PROBE_MAX_CLUSTERS]  # clusters being measured
    int64_t estimate_bps           # last estimate not yet fetched, bps (-1: none)
    int64_t last_estimate_bps      # last estimate, bps (-1: none)


cdef struct ProbeConfig:
    int64_t bitrate_bps            # probe rate, bps
    int32_t cluster_id             # cluster id
    int32_t min_probes             # packets the pacer must send
    int64_t min_bytes              # bytes the pacer must send, bytes


cdef struct ProbeControllerState:
    # --- parameters ---
    double first_scale             # first initial probe, x start rate
    double second_scale            # second initial probe, x start rate (0: none)
    double further_scale           # further probes, x estimate
    double further_threshold       # probe further when estimate > this x last probe
    int64_t alr_interval_us        # periodic ALR probing interval, us
    double alr_scale               # ALR probes, x estimate
    bint periodic_alr              # periodic ALR probing enabled
    int32_t min_probes             # packets per cluster
    int64_t min_duration_us        # cluster duration, us
    int64_t max_wait_us            # wait for a probe result at most this long, us
    int64_t default_max_bps        # probe ceiling without a max rate, bps
    double drop_threshold          # a drop below this x estimate is "large"
    int64_t drop_timeout_us        # recover within this after a large drop, us
    double fraction_after_drop     # probe at this x rate before the drop
    int64_t alr_ended_timeout_us   # recently-ended ALR still allows recovery probes, us
    int64_t min_alr_probe_gap_us   # minimum gap between drop-recovery probes, us
    double uncertainty             # expected probe result uncertainty
    double loss_limited_scale      # loss-limited increasing: probes <= this x estimate
    # --- state ---
    int32_t state                  # PC_INIT / PC_WAITING / PC_COMPLETE
    bint network_available         # the network is up
    int64_t min_further_bps        # probe further above this, bps (0: disabled)
    int64_t last_probe_us          # last probing initiated, us
    int64_t estimated_bps          # last estimate told to the controller, bps
    int64_t start_bps              # start rate, bps
    int64_t max_bps                # max rate, bps
    int64_t last_drop_probe_us     # last drop-recovery probe, us
    int64_t alr_start_us           # ALR start, us (-1: not in ALR)
    int64_t alr_end_us             # ALR end, us (-1: none)
    int64_t last_large_drop_us     # last large drop of the estimate, us
    int64_t bitrate_before_drop    # estimate before that drop, bps
    int32_t loss_limited           # LossBasedBweV2 state: 0 none, 1 decreasing (no
                                   # probes), 2 increasing (probes capped)
    int32_t next_cluster_id        # id of the next cluster
    int32_t n_pending              # probe clusters waiting to be popped
    ProbeConfig pending[PROBE_MAX_PENDING]   # FIFO of clusters to send
    int32_t n_created              # entries used in created (ring)
    ProbeConfig created[PROBE_MAX_CREATED]   # recent clusters, for min probes/bytes


cdef void pe_init(ProbeEstimatorState* s, const GccParams* cfg) noexcept nogil
cdef int64_t pe_handle(ProbeEstimatorState* s, int32_t cluster_id, int64_t send_us,
                       int64_t arrival_us, int64_t size_bytes, int32_t min_probes,
                       int64_t min_bytes) noexcept nogil
cdef int64_t pe_fetch_and_reset(ProbeEstimatorState* s) noexcept nogil

cdef void pc_init(ProbeControllerState* s, const GccParams* cfg) noexcept nogil
cdef void pc_set_bitrates(ProbeControllerState* s, int64_t min_bps, int64_t start_bps,
                          int64_t max_bps, int64_t now_us) noexcept nogil
cdef void pc_set_estimated_bitrate(ProbeControllerState* s, int64_t bps,
                                   int64_t now_us) noexcept nogil
cdef void pc_request_probe(ProbeControllerState* s, int64_t now_us) noexcept nogil
cdef void pc_process(ProbeControllerState* s, int64_t now_us) noexcept nogil
cdef bint pc_pop(ProbeControllerState* s, ProbeConfig* out) noexcept nogil
cdef void pc_cluster_size(ProbeControllerState* s, int32_t cluster_id, int32_t* min_probes,
                          int64_t* min_bytes) noexcept nogil


cdef class ProbeBitrateEstimator:
    cdef ProbeEstimatorState s     # the C state this wrapper drives


cdef class ProbeController:
    cdef ProbeControllerState s    # the C state this wrapper drives
