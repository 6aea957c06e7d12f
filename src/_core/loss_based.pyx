"""Classic loss-based control of the target, as libwebrtc's ``SendSideBandwidthEstimation``."""

from libc.stdint cimport int32_t, int64_t

from mediaopt._core._check cimport int_arg
from mediaopt._core._units cimport MO_MINUS_INF, MO_NONE, rate_times
from mediaopt._core.gcc_config cimport params_from

# libwebrtc's kCongestionControllerMinBitrate.
cdef int64_t _CC_MIN_BPS = 5000


cdef void lb_init(LossBasedState* s, const GccParams* cfg) noexcept nogil:
    s.low_loss = cfg.loss_low_threshold
    s.high_loss = cfg.loss_high_threshold
    s.increase_interval_us = cfg.loss_increase_interval_us
    s.decrease_interval_us = cfg.loss_decrease_interval_us
    s.increase_factor = cfg.loss_increase_factor
    s.increase_offset_bps = cfg.loss_increase_offset_bps
    s.start_phase_us = cfg.loss_start_phase_us
    s.limit_num_packets = cfg.loss_limit_num_packets
    s.feedback_timeout_us = cfg.loss_feedback_timeout_us
    s.rtt_limit_us = cfg.rtt_backoff_limit_us
    s.rtt_drop_fraction = cfg.rtt_backoff_drop_fraction
    s.rtt_drop_interval_us = cfg.rtt_backoff_drop_interval_us
    s.rtt_floor_bps = cfg.rtt_backoff_floor_bps
    s.min_bps = _CC_MIN_BPS
    s.max_bps = cfg.loss_default_max_bps
    s.current_bps = 0
    s.delay_limit_bps = MO_NONE
    s.lost_since_update = 0
    s.expected_since_update = 0
    s.has_decreased = False
    s.last_loss_feedback_us = MO_MINUS_INF
    s.last_loss_report_us = MO_MINUS_INF
    s.fraction_loss_q8 = 0
    s.rtt_us = 0
    s.last_decrease_us = MO_MINUS_INF
    s.first_report_us = MO_MINUS_INF
    s.prop_rtt_update_us = MO_NONE
    s.prop_rtt_us = 0
    s.last_packet_sent_us = MO_MINUS_INF
    s.acked_bps = -1
    s.hist_start = 0
    s.hist_len = 0
    s.v2_ready = False
    s.v2_bps = MO_NONE
    s.v2_state = 0
    s.loss_based_state = 0


cdef inline void _hist_clear(LossBasedState* s) noexcept nogil:
    s.hist_start = 0
    s.hist_len = 0


cdef inline void _hist_push(LossBasedState* s, int64_t t_us, int64_t bps) noexcept nogil:
    cdef int32_t j
    if s.hist_len == LOSS_MIN_HISTORY:
        # Full (more than 64 updates within one window): forget the oldest.
        s.hist_start = (s.hist_start + 1) % LOSS_MIN_HISTORY
        s.hist_len -= 1
    j = (s.hist_start + s.hist_len) % LOSS_MIN_HISTORY
    s.hist_time_us[j] = t_us
    s.hist_bps[j] = bps
    s.hist_len += 1


cdef void lb_set_min_max(LossBasedState* s, int64_t min_bps, int64_t max_bps) noexcept nogil:
    s.min_bps = min_bps if min_bps > _CC_MIN_BPS else _CC_MIN_BPS
    if max_bps > 0 and max_bps != MO_NONE:
        s.max_bps = max_bps if max_bps > s.min_bps else s.min_bps


cdef inline int64_t _upper_limit(LossBasedState* s) noexcept nogil:
    return s.delay_limit_bps if s.delay_limit_bps < s.max_bps else s.max_bps


cdef inline void _update_target(LossBasedState* s, int64_t bps, int64_t now_us) noexcept nogil:
    cdef int64_t upper = _upper_limit(s)
    if bps > upper:
        bps = upper
    if bps < s.min_bps:
        bps = s.min_bps
    s.current_bps = bps


cdef void lb_set_send_bitrate(LossBasedState* s, int64_t bps, int64_t now_us) noexcept nogil:
    # A forced rate (start rate, probe result) is not capped by the old delay estimate
    # nor by the sliding minimum.
    s.delay_limit_bps = MO_NONE
    _update_target(s, bps, now_us)
    _hist_clear(s)


cdef void lb_update_delay_based(LossBasedState* s, int64_t now_us, int64_t bps) noexcept nogil:
    s.delay_limit_bps = MO_NONE if bps == 0 else bps
    _update_target(s, s.current_bps, now_us)


cdef inline bint _in_start_phase(LossBasedState* s, int64_t now_us) noexcept nogil:
    return s.first_report_us == MO_MINUS_INF or now_us - s.first_report_us < s.start_phase_us


cdef void lb_update_packets_lost(LossBasedState* s, int64_t lost, int64_t n,
                                 int64_t now_us) noexcept nogil:
    cdef int64_t expected, lost_q8, frac
    s.last_loss_feedback_us = now_us
    if s.first_report_us == MO_MINUS_INF:
        s.first_report_us = now_us
    if n > 0:
        expected = s.expected_since_update + n
        if expected < s.limit_num_packets:
            # Too few packets for a meaningful ratio: accumulate.
            s.expected_since_update = expected
            s.lost_since_update += lost
            return
        s.has_decreased = False
        lost_q8 = s.lost_since_update + lost
        if lost_q8 < 0:
            lost_q8 = 0
        lost_q8 <<= 8
        frac = lost_q8 // expected
        s.fraction_loss_q8 = <int32_t>(frac if frac < 255 else 255)
        s.lost_since_update = 0
        s.expected_since_update = 0
        s.last_loss_report_us = now_us
        lb_update_estimate(s, now_us)


cdef void lb_update_rtt(LossBasedState* s, int64_t rtt_us, int64_t now_us) noexcept nogil:
    if rtt_us > 0:
        s.rtt_us = rtt_us


cdef void lb_update_propagation_rtt(LossBasedState* s, int64_t now_us,
                                    int64_t rtt_us) noexcept nogil:
    s.prop_rtt_update_us = now_us
    s.prop_rtt_us = rtt_us


cdef void lb_on_sent_packet(LossBasedState* s, int64_t send_us) noexcept nogil:
    s.last_packet_sent_us = send_us


cdef inline int64_t _corrected_rtt(LossBasedState* s, int64_t now_us) noexcept nogil:
    # The propagation RTT grows with the time since the last feedback, but only while
    # packets are being sent (no timeout when idle).
    cdef int64_t since_rtt, since_sent, corr
    if s.prop_rtt_update_us == MO_NONE:
        return MO_MINUS_INF        # never triggers the back-off
    since_rtt = now_us - s.prop_rtt_update_us
    if s.last_packet_sent_us == MO_MINUS_INF:
        corr = 0
    else:
        since_sent = now_us - s.last_packet_sent_us
        corr = since_rtt - since_sent
        if corr < 0:
            corr = 0
    return corr + s.prop_rtt_us


cdef inline void _update_min_history(LossBasedState* s, int64_t now_us) noexcept nogil:
    cdef int32_t j
    # Drop entries older than the increase window (with 1 ms of slack, as libwebrtc).
    while s.hist_len > 0 and (
            now_us - s.hist_time_us[s.hist_start] + 1000 > s.increase_interval_us):
        s.hist_start = (s.hist_start + 1) % LOSS_MIN_HISTORY
        s.hist_len -= 1
    # Sliding minimum: drop later entries not below the current target.
    while s.hist_len > 0:
        j = (s.hist_start + s.hist_len - 1) % LOSS_MIN_HISTORY
        if s.current_bps <= s.hist_bps[j]:
            s.hist_len -= 1
        else:
            break
    _hist_push(s, now_us, s.current_bps)


cdef void lb_update_estimate(LossBasedState* s, int64_t now_us) noexcept nogil:
    cdef int64_t corrected = _corrected_rtt(s, now_us)
    cdef int64_t new_bps, floor_bps
    cdef float loss
    if corrected != MO_MINUS_INF and corrected > s.rtt_limit_us:
        if ((s.last_decrease_us == MO_MINUS_INF
             or now_us - s.last_decrease_us >= s.rtt_drop_interval_us)
                and s.current_bps > s.rtt_floor_bps):
            s.last_decrease_us = now_us
            new_bps = rate_times(s.current_bps, s.rtt_drop_fraction)
            floor_bps = s.rtt_floor_bps
            _update_target(s, new_bps if new_bps > floor_bps else floor_bps, now_us)
            return
        _update_target(s, s.current_bps, now_us)
        return
    # During the first 2 s without loss, follow the delay-based estimate up (probing).
    if s.fraction_loss_q8 == 0 and _in_start_phase(s, now_us):
        new_bps = s.current_bps
        if s.delay_limit_bps != MO_NONE and s.delay_limit_bps > new_bps:
            new_bps = s.delay_limit_bps
        if new_bps != s.current_bps:
            _hist_clear(s)
            _hist_push(s, now_us, s.current_bps)
            _update_target(s, new_bps, now_us)
            return
    _update_min_history(s, now_us)
    if s.last_loss_report_us == MO_MINUS_INF:
        _update_target(s, s.current_bps, now_us)
        return
    if s.v2_ready:
        # LossBasedBweV2 (when enabled and ready) replaces the classic rules below.
        s.loss_based_state = s.v2_state
        _update_target(s, s.v2_bps, now_us)
        return
    if <double>(now_us - s.last_loss_report_us) < 1.2 * s.feedback_timeout_us:
        loss = s.fraction_loss_q8 / <float>256.0
        if loss <= <float>s.low_loss:
            # Under 2 % loss: 8 % above the minimum of the last second, plus 1 kbps.
            new_bps = <int64_t>(s.hist_bps[s.hist_start] * s.increase_factor + 0.5)
            new_bps += s.increase_offset_bps
            _update_target(s, new_bps, now_us)
            return
        elif s.current_bps > 0:
            if loss <= <float>s.high_loss:
                pass            # 2 % .. 10 %: hold.
            elif (not s.has_decreased and (
                    s.last_decrease_us == MO_MINUS_INF
                    or now_us - s.last_decrease_us >= s.decrease_interval_us + s.rtt_us)):
                # Over 10 %: rate * (1 - loss / 2), at most once per 300 ms + RTT.
                s.last_decrease_us = now_us
                new_bps = <int64_t>((s.current_bps * <double>(512 - s.fraction_loss_q8))
                                    / 512.0)
                s.has_decreased = True
                _update_target(s, new_bps, now_us)
                return
    _update_target(s, s.current_bps, now_us)


cdef int64_t lb_target_bps(LossBasedState* s) noexcept nogil:
    return s.current_bps if s.current_bps > s.min_bps else s.min_bps


cdef class SendSideBandwidthEstimation:
    """The classic loss-based controller and final target of GoogCC (libwebrtc's defaults).

    Under 2 % loss the target grows 8 % (+1 kbps) over the minimum of the last second;
    from 2 % to 10 % it holds; above 10 % it falls by ``(1 - loss / 2)`` at most once
    per 300 ms + RTT. The delay-based estimate caps it; an RTT over 3 s backs it off.
    """

    def __init__(self, *, config=None):
        cdef GccParams p
        params_from(config, &p)
        lb_init(&self.s, &p)

    def set_min_max_bitrate(self, min_bps, max_bps):
        """Set the floor and ceiling of the target, bps."""
        lb_set_min_max(&self.s, int_arg("min_bps", min_bps, 0),
                       int_arg("max_bps", max_bps, 0))

    def set_send_bitrate(self, bps, now_us):
        """Force the target to ``bps`` (start rate or probe result)."""
        lb_set_send_bitrate(&self.s, int_arg("bps", bps, 1),
                            int_arg("now_us", now_us))

    def update_delay_based_estimate(self, now_us, bps):
        """Cap the target with the delay-based estimate, bps (0: no cap)."""
        lb_update_delay_based(&self.s, int_arg("now_us", now_us),
                              int_arg("bps", bps, 0))

    def update_packets_lost(self, packets_lost, number_of_packets, now_us):
        """Report ``packets_lost`` out of ``number_of_packets`` at ``now_us``."""
        lb_update_packets_lost(&self.s, int_arg("packets_lost", packets_lost),
                               int_arg("number_of_packets", number_of_packets, 0),
                               int_arg("now_us", now_us))

    def update_rtt(self, rtt_us, now_us):
        """Report a round-trip time, us."""
        lb_update_rtt(&self.s, int_arg("rtt_us", rtt_us, 0),
                      int_arg("now_us", now_us))

    def update_propagation_rtt(self, now_us, rtt_us):
        """Report the propagation RTT seen in transport feedback, us."""
        lb_update_propagation_rtt(&self.s, int_arg("now_us", now_us),
                                  int_arg("rtt_us", rtt_us))

    def on_sent_packet(self, send_us):
        """A packet was sent at ``send_us``."""
        lb_on_sent_packet(&self.s, int_arg("send_us", send_us))

    def update_estimate(self, now_us):
        """Run the periodic update at ``now_us``."""
        lb_update_estimate(&self.s, int_arg("now_us", now_us))

    @property
    def target_bps(self):
        """The target, bps."""
        return lb_target_bps(&self.s)

    @property
    def fraction_loss(self):
        """The last loss ratio, in 1/256 (libwebrtc's ``fraction_loss``)."""
        return self.s.fraction_loss_q8

    @property
    def round_trip_time_us(self):
        """The last RTT, us."""
        return self.s.rtt_us
