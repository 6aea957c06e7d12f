# Receiver-side feedback generation: transport-cc as libwebrtc's
# TransportSequenceNumberFeedbackGenenerator (the former RemoteEstimatorProxy) and RFC 8888
# as its CongestionControlFeedbackGenerator + CongestionControlFeedbackTracker
# (modules/remote_bitrate_estimator/).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t

from mediaopt._core.rtp_adapter cimport SeqUnwrapper
from mediaopt._core.rtp_wire cimport TwccBuilder

cdef enum:
    CCFB_MAX_SSRCS = 16                 # RTP streams one generator reports on
    CCFB_KEEP_FOR_REORDER = 64          # kMaxPacketsToKeepForReorderCalculation
    CCFB_MAX_PER_SSRC = 16384           # kMaxPacketsPerSsrc


cdef class TwccGeneratorCore:
    cdef int64_t* arrival               # PacketArrivalTimeMap ring (INT64_MIN: not received)
    cdef int64_t cap                    # ring capacity (power of two; 0 before any packet)
    cdef int64_t begin_seq              # first sequence number in the map
    cdef int64_t end_seq                # one past the last
    cdef SeqUnwrapper unwrapper         # 16-bit transport sequence numbers -> int64
    cdef bint has_window                # periodic_window_start_seq_ is set
    cdef int64_t window_start           # first sequence number of the next feedback
    cdef readonly int64_t last_process_us   # last periodic send (INT64_MIN: never)
    cdef readonly int64_t interval_us   # periodic feedback interval, us
    cdef readonly uint32_t media_ssrc   # SSRC of the last packet received
    cdef readonly uint8_t fb_count      # feedback packet count of the next packet (wraps)
    cdef int64_t max_size_bytes         # largest feedback packet built, bytes
    cdef TwccBuilder b                  # the packet being built
    cdef bint oom                       # an allocation failed

    cdef int _add_packet(self, int64_t seq, int64_t arrival_us) noexcept nogil
    cdef int _reallocate(self, int64_t new_cap) noexcept nogil
    cdef int _adjust_to_size(self, int64_t new_size) noexcept nogil
    cdef void _set_not_received(self, int64_t begin, int64_t end) noexcept nogil
    cdef void _remove_old(self, int64_t seq, int64_t limit_us) noexcept nogil
    cdef bint _has_received(self, int64_t seq) noexcept nogil
    cdef int _build(self, bint include_timestamps, int64_t begin_incl, int64_t end_excl,
                    bint periodic) noexcept nogil


cdef struct CcfbPacketC:
    int64_t arrival_us                  # first arrival, us (INT64_MIN: not received)
    uint8_t ecn                         # ECN codepoint reported (2 bits)
    bint last_reported_lost             # the last feedback reported it lost


cdef struct CcfbTracker:
    uint32_t ssrc                       # the RTP stream
    SeqUnwrapper unwrapper              # its RTP sequence numbers -> int64
    CcfbPacketC* packets                # reorder window + packets since the last feedback
    int64_t n                           # entries in packets
    int64_t first_seq                   # sequence number of packets[0]
    int64_t next_seq_in_feedback        # first sequence number the next feedback reports
    int64_t n_ignored                   # packets dropped since the last feedback
    int64_t n_reported_lost             # stats: packets reported lost
    int64_t n_reported_recovered        # stats: packets reported after being lost


cdef class CcfbGeneratorCore:
    cdef CcfbTracker trackers[CCFB_MAX_SSRCS]   # sorted by ssrc (std::map order)
    cdef int n_trackers
    cdef int64_t min_between_us         # min_send_delta (25 ms)
    cdef int64_t max_wait_marker_us     # max_wait_for_marker (25 ms)
    cdef int64_t max_between_us         # max_send_delta (500 ms)
    cdef int64_t max_rate_bps           # kMaxFeedbackRate (500 kbit/s)
    cdef int64_t debt_bytes             # send_rate_debt_
    cdef int64_t last_sent_us           # last_feedback_sent_time_ (INT64_MIN: never)
    cdef bint has_first_arrival         # first_arrival_time_since_feedback_ is set
    cdef int64_t first_arrival_us       # its value
    cdef bint marker_seen               # a packet with the marker bit since the last feedback
    cdef readonly int64_t next_possible_us  # next_possible_feedback_send_time_
    cdef int64_t ntp_offset_us          # added to the clock before the NTP conversion
    cdef bint oom

    cdef CcfbTracker* _tracker(self, uint32_t ssrc) noexcept nogil
    cdef int64_t _next_feedback_us(self, int64_t now_us) noexcept nogil
