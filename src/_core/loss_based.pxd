# SendSideBandwidthEstimation: GoogCC's classic loss-based controller, with the RTT-based
# back-off, combining the delay-based limit into the final target
# (libwebrtc goog_cc/send_side_bandwidth_estimation.cc, LossBasedBweV1/V2 disabled).
from libc.stdint cimport int32_t, int64_t

from mediaopt._core.gcc_config cimport GccParams

# Capacity of the sliding-minimum history (one entry per update within 1 s).
cdef enum:
    LOSS_MIN_HISTORY = 64


cdef struct LossBasedState:
    # --- parameters ---
    double low_loss                # below this loss the rate increases
    double high_loss               # above this loss the rate decreases
    int64_t increase_interval_us   # window of the sliding minimum, us
    int64_t decrease_interval_us   # minimum spacing of decreases (plus RTT), us
    double increase_factor         # increase relative to the window minimum
    int64_t increase_offset_bps    # extra increase per step, bps
    int64_t start_phase_us         # delay-based estimate trusted this long, us
    int32_t limit_num_packets      # packets needed for a loss ratio
    int64_t feedback_timeout_us    # loss feedback older than 1.2 x this is ignored, us
    int64_t rtt_limit_us           # RTT back-off starts above this corrected RTT, us
    double rtt_drop_fraction       # RTT back-off multiplies the target by this
    int64_t rtt_drop_interval_us   # RTT back-off at most this often, us
    int64_t rtt_floor_bps          # RTT back-off never goes below this, bps
    # --- state ---
    int64_t min_bps                # configured floor, bps
    int64_t max_bps                # configured ceiling, bps
    int64_t current_bps            # the loss-based target, bps
    int64_t delay_limit_bps        # delay-based limit, bps (MO_NONE: none)
    int64_t lost_since_update      # lost packets accumulated for the next ratio
    int64_t expected_since_update  # packets accumulated for the next ratio
    bint has_decreased             # decreased since the last loss ratio
    int64_t last_loss_feedback_us  # last loss report, us (MO_MINUS_INF: none)
    int64_t last_loss_report_us    # last loss ratio computed, us (MO_MINUS_INF: none)
    int32_t fraction_loss_q8       # last loss ratio, in 1/256
    int64_t rtt_us                 # last RTT, us
    int64_t last_decrease_us       # last decrease, us (MO_MINUS_INF: never)
    int64_t first_report_us        # first loss report, us (MO_MINUS_INF: none)
    int64_t prop_rtt_update_us     # last propagation RTT update, us (MO_NONE: never)
    int64_t prop_rtt_us            # last propagation RTT, us
    int64_t last_packet_sent_us    # last packet sent, us (MO_MINUS_INF: none)
    int64_t acked_bps              # acknowledged rate, bps (-1: none)
    int32_t hist_start             # ring index of the oldest history entry
    int32_t hist_len               # entries in the history
    int64_t hist_time_us[LOSS_MIN_HISTORY]  # ring: update time, us
    int64_t hist_bps[LOSS_MIN_HISTORY]      # ring: target at that time, bps
    bint v2_ready                  # LossBasedBweV2 is enabled and ready: its result rules
    int64_t v2_bps                 # LossBasedBweV2's result, bps (MO_NONE: +infinity)
    int32_t v2_state               # LossBasedBweV2's state (LBV2_*)
    int32_t loss_based_state       # state of the last update that used V2 (0: delay based)


cdef void lb_init(LossBasedState* s, const GccParams* cfg) noexcept nogil
cdef void lb_set_min_max(LossBasedState* s, int64_t min_bps, int64_t max_bps) noexcept nogil
cdef void lb_set_send_bitrate(LossBasedState* s, int64_t bps, int64_t now_us) noexcept nogil
cdef void lb_update_delay_based(LossBasedState* s, int64_t now_us, int64_t bps) noexcept nogil
cdef void lb_update_packets_lost(LossBasedState* s, int64_t lost, int64_t n,
                                 int64_t now_us) noexcept nogil
cdef void lb_update_rtt(LossBasedState* s, int64_t rtt_us, int64_t now_us) noexcept nogil
cdef void lb_update_propagation_rtt(LossBasedState* s, int64_t now_us,
                                    int64_t rtt_us) noexcept nogil
cdef void lb_on_sent_packet(LossBasedState* s, int64_t send_us) noexcept nogil
cdef void lb_update_estimate(LossBasedState* s, int64_t now_us) noexcept nogil
cdef int64_t lb_target_bps(LossBasedState* s) noexcept nogil


cdef class SendSideBandwidthEstimation:
    cdef LossBasedState s          # the C state this wrapper drives
