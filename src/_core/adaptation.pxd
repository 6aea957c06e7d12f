# Adaptation decision kernel: encoder settings from (target, loss, RTT), per policy.
# Contract with the replay loop: docs in /work/notes/CONTRACTS.md ("Adaptation").
from libc.stdint cimport int32_t, int64_t, uint8_t

# Longest degradation path (best state first) and deepest loss history the core keeps.
cdef enum:
    MAX_PATH = 64
    MAX_LOSS_BINS = 64
    MAX_START_CAPS = 8


cdef struct EncoderSettingsC:
    int64_t bitrate_bps        # media bitrate after protection overhead, bps
    int32_t width              # encoded width, pixels
    int32_t height             # encoded height, pixels
    double fps                 # encoded frame rate, frames per second
    double keyframe_interval_s # periodic keyframe interval, s (0 = only on request)
    bint request_keyframe      # 1 when the encoder should send a keyframe now
    double fec_rate            # FEC overhead share of the total send rate, 0..0.5
    bint nack                  # 1 when retransmissions (NACK) are enabled
    int32_t temporal_layers    # number of temporal layers (1 = none)


cdef struct PathState:
    int32_t width              # pixels
    int32_t height             # pixels
    double fps                 # frames per second
    int64_t need_bps           # media bitrate this state needs to be entered or kept, bps
    int64_t max_bps            # encoder bitrate cap in this state (ladder max x fps factor), bps


cdef class AdaptationCore:
    # --- degradation path, built once from the policy (Python side) ---
    cdef PathState path[MAX_PATH]    # states from best (index 0) to worst
    cdef Py_ssize_t n_path           # number of valid states in path
    cdef double up_margin            # headroom over need_bps to move up one state, ratio
    cdef double down_margin          # shortfall under need_bps that forces a move down, ratio
    cdef int64_t up_dwell_us         # time since the last switch before moving up, us
    cdef int64_t down_dwell_us       # time since the last switch before moving down, us
    cdef int32_t up_max_steps        # states one up-move may climb (0 = as many as fit)
    cdef int64_t start_dwell_us      # time after the first decision before the first up-move, us
    cdef int64_t start_cap_bps[MAX_START_CAPS]     # start rate below which the cap applies, bps
    cdef int64_t start_cap_pixels[MAX_START_CAPS]  # pixel cap for that start rate, pixels
    cdef Py_ssize_t n_start_caps     # number of start caps
    cdef int64_t min_bps             # policy floor of the estimate, bps (informational: the
                                     # adaptation never raises a rate above the target)
    cdef int64_t max_bps             # policy ceiling on the target, bps
    # --- protection (libwebrtc media_opt_util: NACK + FEC) ---
    cdef bint use_nack               # method includes NACK
    cdef bint use_fec                # method includes FEC
    cdef int64_t low_rtt_nack_us     # hybrid: below this RTT, NACK only (no FEC), us
    cdef int64_t high_rtt_nack_us    # NACK disabled at or above this RTT (<0: never), us
    cdef int32_t loss_bins           # max-filter history length, 1 bin per loss_bin_us
    cdef int64_t loss_bin_us         # width of one loss history bin, us
    cdef uint8_t loss_hist[MAX_LOSS_BINS]      # max loss (x255) per bin, newest first
    cdef int64_t loss_hist_us[MAX_LOSS_BINS]   # start time of each bin (-1 = empty), us
    cdef uint8_t short_max_loss      # max loss (x255) inside the open bin
    cdef int32_t max_payload_bytes   # RTP payload size used to count packets per frame, bytes
    cdef double overhead_cap         # protection overhead ceiling, share of the total
    cdef double nack_overhead_factor # retransmission cost per unit of filtered loss, ratio
    # --- keyframes, layers ---
    cdef double keyframe_interval_s  # periodic keyframe interval, s (0 = only on request)
    cdef bint keyframe_on_loss       # request a keyframe when loss cannot be repaired
    cdef int64_t keyframe_min_gap_us # minimum spacing of loss-driven keyframe requests, us
    cdef int32_t temporal_layers     # temporal layers in every state
    # --- dynamic state ---
    cdef Py_ssize_t index            # current state on the path
    cdef bint started                # 0 until the first update
    cdef int64_t last_now_us         # time of the previous update, us
    cdef int64_t last_switch_us      # time of the last state change, us
    cdef int64_t last_keyframe_us    # time of the last loss-driven keyframe request, us
    cdef int64_t filtered_loss_255   # last filtered loss, x255
    cdef EncoderSettingsC last       # settings returned by the previous update
    cdef object last_obj             # the EncoderSettings object for `last` (reused when equal)

    cdef void c_update(self, int64_t target_bps, double loss, int64_t rtt_us, int64_t now_us,
                       EncoderSettingsC* out) noexcept nogil
    cdef void c_reset(self) noexcept nogil
    cdef uint8_t c_filter_loss(self, uint8_t loss_255, int64_t now_us) noexcept nogil


cdef class EncoderSettings:
    cdef EncoderSettingsC s           # the values, read-only from Python


cdef class Adaptation:
    cdef readonly AdaptationCore core  # the C decision kernel (used by the replay loop)
