# InterArrivalDelta: groups packets into send-time bursts and yields the deltas between
# consecutive groups (libwebrtc goog_cc/inter_arrival_delta.cc).
from libc.stdint cimport int32_t, int64_t

cdef struct SendTimeGroup:
    int64_t size_bytes            # bytes accumulated in the group
    int64_t first_send_us         # send time of the group's first packet, us
    int64_t send_us               # latest send time in the group, us
    int64_t first_arrival_us      # arrival time of the group's first packet, us
    int64_t complete_us           # arrival time of the group's last packet, us (INT64_MAX: empty)
    int64_t last_system_us        # feedback time when the last packet was seen, us


cdef struct InterArrivalState:
    int64_t group_length_us       # a new group starts this long after the first send, us
    int64_t burst_threshold_us    # arrivals closer than this can join a burst, us
    int64_t max_burst_us          # a burst never lasts longer than this, us
    int64_t offset_threshold_us   # arrival-vs-system clock jump that resets, us
    int32_t reorder_threshold     # consecutive reordered groups before a reset
    int32_t num_reordered         # consecutive reordered groups seen
    SendTimeGroup cur             # the group being filled
    SendTimeGroup prev            # the last completed group


cdef void ia_init(InterArrivalState* s, int64_t group_length_us, int64_t burst_threshold_us,
                  int64_t max_burst_us, int64_t offset_threshold_us,
                  int32_t reorder_threshold) noexcept nogil
cdef void ia_reset(InterArrivalState* s) noexcept nogil
cdef bint ia_compute(InterArrivalState* s, int64_t send_us, int64_t arrival_us,
                     int64_t system_us, int64_t size_bytes, int64_t* send_delta_us,
                     int64_t* arrival_delta_us, int64_t* size_delta) noexcept nogil


cdef class InterArrivalDelta:
    cdef InterArrivalState s      # the C state this wrapper drives
