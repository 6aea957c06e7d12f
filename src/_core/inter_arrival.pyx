"""Send-time grouping of packets, as libwebrtc's ``InterArrivalDelta``."""

from libc.stdint cimport INT64_MAX, int32_t, int64_t

from mediaopt._core._check cimport int_arg

# libwebrtc's "infinite" timestamp: no value yet.
cdef int64_t IA_NONE = INT64_MAX


cdef inline void _group_clear(SendTimeGroup* g) noexcept nogil:
    g.size_bytes = 0
    g.first_send_us = IA_NONE
    g.send_us = IA_NONE
    g.first_arrival_us = IA_NONE
    g.complete_us = IA_NONE
    g.last_system_us = IA_NONE


cdef void ia_init(InterArrivalState* s, int64_t group_length_us, int64_t burst_threshold_us,
                  int64_t max_burst_us, int64_t offset_threshold_us,
                  int32_t reorder_threshold) noexcept nogil:
    s.group_length_us = group_length_us
    s.burst_threshold_us = burst_threshold_us
    s.max_burst_us = max_burst_us
    s.offset_threshold_us = offset_threshold_us
    s.reorder_threshold = reorder_threshold
    ia_reset(s)


cdef void ia_reset(InterArrivalState* s) noexcept nogil:
    s.num_reordered = 0
    _group_clear(&s.cur)
    _group_clear(&s.prev)


cdef inline bint _belongs_to_burst(InterArrivalState* s, int64_t arrival_us,
                                   int64_t send_us) noexcept nogil:
    cdef int64_t arrival_delta = arrival_us - s.cur.complete_us
    cdef int64_t send_delta = send_us - s.cur.send_us
    if send_delta == 0:
        return True
    # Packets that caught up with the group (negative propagation delta) and arrive close
    # together belong to the same burst, as long as the burst stays short.
    return (arrival_delta - send_delta < 0
            and arrival_delta <= s.burst_threshold_us
            and arrival_us - s.cur.first_arrival_us < s.max_burst_us)


cdef inline bint _new_group(InterArrivalState* s, int64_t arrival_us,
                            int64_t send_us) noexcept nogil:
    if s.cur.complete_us == IA_NONE:
        return False
    if _belongs_to_burst(s, arrival_us, send_us):
        return False
    return send_us - s.cur.first_send_us > s.group_length_us


cdef bint ia_compute(InterArrivalState* s, int64_t send_us, int64_t arrival_us,
                     int64_t system_us, int64_t size_bytes, int64_t* send_delta_us,
                     int64_t* arrival_delta_us, int64_t* size_delta) noexcept nogil:
    cdef bint done = False
    cdef int64_t system_delta
    if s.cur.complete_us == IA_NONE:
        # First packet ever (or after a reset): it opens the first group.
        s.cur.send_us = send_us
        s.cur.first_send_us = send_us
        s.cur.first_arrival_us = arrival_us
    elif s.cur.first_send_us > send_us:
        # Sent before the current group started: a reordered packet, ignored.
        return False
    elif _new_group(s, arrival_us, send_us):
        if s.prev.complete_us != IA_NONE:
            send_delta_us[0] = s.cur.send_us - s.prev.send_us
            arrival_delta_us[0] = s.cur.complete_us - s.prev.complete_us
            system_delta = s.cur.last_system_us - s.prev.last_system_us
            if arrival_delta_us[0] - system_delta >= s.offset_threshold_us:
                # The arrival clock jumped against the feedback clock: start over.
                ia_reset(s)
                return False
            if arrival_delta_us[0] < 0:
                # The group arrived before the previous one: reordered between bursts.
                s.num_reordered += 1
                if s.num_reordered >= s.reorder_threshold:
                    ia_reset(s)
                return False
            s.num_reordered = 0
            size_delta[0] = s.cur.size_bytes - s.prev.size_bytes
            done = True
        s.prev = s.cur
        s.cur.first_send_us = send_us
        s.cur.send_us = send_us
        s.cur.first_arrival_us = arrival_us
        s.cur.size_bytes = 0
    else:
        if send_us > s.cur.send_us:
            s.cur.send_us = send_us
    s.cur.size_bytes += size_bytes
    s.cur.complete_us = arrival_us
    s.cur.last_system_us = system_us
    return done


cdef class InterArrivalDelta:
    """Group packets by send time and return the deltas between consecutive groups.

    ``compute_deltas`` takes one received packet at a time (send order) and returns
    ``(send_delta_us, arrival_delta_us, size_delta_bytes)`` when a group completes,
    else ``None``. Defaults are libwebrtc's: 5 ms groups, bursts within 5 ms of arrival
    and 100 ms long, a reset on a 3 s clock jump or 3 reordered groups in a row.
    """

    def __init__(self, send_time_group_length_us=5_000, burst_delta_threshold_us=5_000,
                 max_burst_duration_us=100_000, arrival_time_offset_threshold_us=3_000_000,
                 reordered_reset_threshold=3):
        ia_init(&self.s,
                int_arg("send_time_group_length_us", send_time_group_length_us, 0),
                int_arg("burst_delta_threshold_us", burst_delta_threshold_us, 0),
                int_arg("max_burst_duration_us", max_burst_duration_us, 0),
                int_arg("arrival_time_offset_threshold_us", arrival_time_offset_threshold_us, 0),
                int_arg("reordered_reset_threshold", reordered_reset_threshold, 1, 2**31 - 1))

    def compute_deltas(self, send_us, arrival_us, system_us, size_bytes):
        """Feed one packet; return the group deltas when a group completes, else None."""
        cdef int64_t sd = 0, ad = 0, zd = 0
        cdef bint ok = ia_compute(
            &self.s, int_arg("send_us", send_us), int_arg("arrival_us", arrival_us),
            int_arg("system_us", system_us),
            int_arg("size_bytes", size_bytes, 0), &sd, &ad, &zd)
        if ok:
            return (sd, ad, zd)
        return None

    def reset(self):
        """Forget every group (as after a stream timeout)."""
        ia_reset(&self.s)
