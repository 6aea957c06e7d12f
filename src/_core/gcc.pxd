# GccEstimator: libwebrtc's send-side GoogCC (goog_cc_network_control + delay_based_bwe)
# behind the C-level contract of notes/CONTRACTS.md. The replay loop calls these cdef
# methods without the GIL; keep their signatures stable.
from libc.stdint cimport int32_t, int64_t

from mediaopt._core.aimd cimport AimdState
from mediaopt._core.alr cimport AlrState
from mediaopt._core.bitrate_estimator cimport AckedBitrateState
from mediaopt._core.inter_arrival cimport InterArrivalState
from mediaopt._core.loss_based cimport LossBasedState
from mediaopt._core.loss_based_v2 cimport Lbv2State
from mediaopt._core.probe cimport ProbeControllerState, ProbeEstimatorState
from mediaopt._core.trendline cimport TrendlineState

cdef enum:
    GCC_RTT_WINDOW = 32            # feedback RTTs averaged for the delay-based RTT
    GCC_LOST_RING = 128            # lost packets remembered to accept late arrivals


# Everything the estimator knows, in one plain struct: copying it is a snapshot, which
# lets reports that share a feedback time be merged into one (see c_on_feedback).
cdef struct GccState:
    InterArrivalState ia           # send-time grouping (DelayBasedBwe)
    TrendlineState tl              # over-use detector (DelayBasedBwe)
    AimdState aimd                 # delay-based rate control (DelayBasedBwe)
    AckedBitrateState ack          # acknowledged bitrate
    LossBasedState lb              # loss-based control and final target
    Lbv2State lb2                  # LossBasedBweV2 (bounds the target when enabled)
    ProbeEstimatorState pe         # probe result measurement
    ProbeControllerState pc        # probe decisions
    AlrState alr                   # application-limited region
    bint started                   # constraints applied (first call with a time)
    int64_t last_seen_us           # last feedback time (stream timeout), us
    int64_t dbwe_prev_bps          # delay-based estimate last reported, bps
    int32_t dbwe_prev_state        # detector state last reported
    bint first_packet_sent         # a packet was reported sent
    bint previously_in_alr         # ALR at the previous feedback
    int64_t next_loss_update_us    # next loss-ratio update time, us
    int64_t lost_acc               # lost packets since the last loss update
    int64_t expected_acc           # packets since the last loss update
    int64_t rtts_ms[GCC_RTT_WINDOW]  # ring: max feedback RTT per report, ms
    int32_t rtt_start              # ring index of the oldest RTT
    int32_t rtt_len                # RTTs in the ring
    int64_t last_target_bps        # published target (loss-based), bps
    int32_t last_fraction_loss     # published loss, 1/256
    int32_t last_loss_state        # published loss-based state (LBV2_*)
    int64_t last_rtt_us            # published RTT, us
    int64_t highest_send_us        # latest send time of earlier feedbacks, us
    int64_t lost_send_us[GCC_LOST_RING]   # ring: send time of packets reported lost, us
    int64_t lost_size[GCC_LOST_RING]      # ring: their sizes, bytes (-1: slot free)
    int32_t lost_next              # next ring slot to write
    int64_t last_now_us            # latest time seen by any call, us
    int64_t packets_received       # packets accepted as received, count
    int64_t packets_lost           # packets accepted as lost, count
    int64_t duplicates             # packets ignored as duplicates, count


# One report's packets as the estimator keeps them (grown with realloc, never per packet).
cdef struct ReportBuf:
    int64_t* send_us               # send times, us
    int64_t* arrival_us            # arrival times, us (-1 lost)
    int64_t* size_bytes            # sizes on the wire, bytes
    int32_t* probe                 # probe cluster ids (-1 none)
    Py_ssize_t cap                 # capacity, packets


cdef class GccEstimator:
    # --- configuration (bounds of the target) ---
    cdef readonly int64_t start_bps     # start rate handed to the controller, bps
    cdef readonly int64_t min_bps       # lower bound of the target, bps
    cdef readonly int64_t max_bps       # upper bound of the target, bps
    cdef object _config                 # the config object it was built from (or the defaults)
    cdef double pacing_factor           # pacing rate / target
    cdef int64_t process_interval_us    # tick used by the batch API, us
    cdef int64_t stream_timeout_us      # silence that resets the delay detector, us
    cdef int64_t next_tick_us           # next process tick of the batch API, us
    cdef GccState st                    # live state
    cdef GccState snap                  # state before the pending logical report
    cdef bint merge_open                # a report at merge_now_us merges (snap is valid)
    cdef int64_t merge_now_us           # feedback time of the pending logical report, us
    # A report is staged in ``spare`` (or after the pending report in ``cur`` when it
    # merges) before anything else changes, so a report that fails its checks half way
    # leaves the estimator as it was.
    cdef ReportBuf cur                  # packets of the pending logical report
    cdef ReportBuf spare                # where the next report is staged
    cdef Py_ssize_t buf_len             # packets in cur
    cdef Py_ssize_t* order              # received packets sorted by arrival (indexes)
    cdef Py_ssize_t order_cap           # capacity of order, packets

    cdef void _start(self, int64_t now_us) noexcept nogil
    cdef void _touch(self, int64_t now_us) noexcept nogil
    cdef ReportBuf* _stage(self, bint merge, Py_ssize_t n, Py_ssize_t* base) noexcept nogil
    cdef int64_t _commit(self, bint merge, bint final, Py_ssize_t n,
                         int64_t now_us) noexcept nogil
    cdef int64_t _feed(self, const int64_t* send_us, const int64_t* arrival_us,
                       const int64_t* size_bytes, const int32_t* probe_cluster_id,
                       Py_ssize_t n, int64_t now_us, bint final) noexcept nogil
    cdef int64_t _take(self, const int64_t* send_us, const int64_t* arrival_us,
                       const int64_t* size_bytes, const int64_t* probe_cluster_id,
                       Py_ssize_t n, int64_t now_us, Py_ssize_t* bad) noexcept nogil
    cdef void _process_report(self, int64_t now_us) noexcept nogil
    cdef int64_t _check_now(self, object now_us) except? -1
    cdef object _on_feedback_general(self, send_us, arrival_us, size_bytes, now_us,
                                     probe_cluster_id)
    cdef void _network_changed(self, int64_t now_us) noexcept nogil
    cdef void _sync_v2(self) noexcept nogil

    # --- the contract ---
    # One transport-feedback report: n packets in send order (arrival_us -1 = lost).
    # probe_cluster_id may be NULL (no probes); -1 in it = not a probe packet.
    # Returns the new target in bps.
    # A report handed in right after one with the same now_us (no other call in between)
    # merges with it into one logical report, so the estimator keeps a snapshot of its
    # state before each report to redo it from.
    cdef int64_t c_on_feedback(self, const int64_t* send_us, const int64_t* arrival_us,
                               const int64_t* size_bytes, const int32_t* probe_cluster_id,
                               Py_ssize_t n, int64_t now_us) noexcept nogil
    # The same, for a caller that knows no report with this now_us follows (the replay
    # loop): nothing can merge with it, so no snapshot is taken.
    cdef int64_t c_on_feedback_final(self, const int64_t* send_us, const int64_t* arrival_us,
                                     const int64_t* size_bytes,
                                     const int32_t* probe_cluster_id, Py_ssize_t n,
                                     int64_t now_us) noexcept nogil
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
