"""Bandwidth probing, as libwebrtc's ``ProbeController`` and ``ProbeBitrateEstimator``."""

from libc.stdint cimport INT64_MAX, INT64_MIN, int32_t, int64_t, uint32_t

from mediaopt._core._check cimport int_arg
from mediaopt._core.gcc_config cimport params_from
from mediaopt._core._units cimport (
    MO_NONE, rate_times, rate_times_duration_bytes, size_over_duration_bps,
)


# ----------------------------------------------------------------- ProbeBitrateEstimator

cdef void pe_init(ProbeEstimatorState* s, const GccParams* cfg) noexcept nogil:
    cdef int i
    s.min_probes_ratio = cfg.probe_min_received_probes_ratio
    s.min_bytes_ratio = cfg.probe_min_received_bytes_ratio
    s.max_valid_ratio = cfg.probe_max_valid_ratio
    s.min_unsaturated_ratio = cfg.probe_min_ratio_for_unsaturated_link
    s.target_utilization = cfg.probe_target_utilization_fraction
    s.max_history_us = cfg.probe_max_cluster_history_us
    s.max_interval_us = cfg.probe_max_interval_us
    for i in range(PROBE_MAX_CLUSTERS):
        s.clusters[i].used = False
    s.estimate_bps = -1
    s.last_estimate_bps = -1


cdef inline ProbeCluster* _cluster(ProbeEstimatorState* s, int32_t cluster_id) noexcept nogil:
    cdef int i, oldest = 0
    cdef ProbeCluster* c
    for i in range(PROBE_MAX_CLUSTERS):
        if s.clusters[i].used and s.clusters[i].id == cluster_id:
            return &s.clusters[i]
    for i in range(PROBE_MAX_CLUSTERS):
        if not s.clusters[i].used:
            oldest = i
            break
        if s.clusters[i].last_receive_us < s.clusters[oldest].last_receive_us:
            oldest = i
    c = &s.clusters[oldest]
    c.used = True
    c.id = cluster_id
    c.first_send_us = INT64_MAX
    c.last_send_us = INT64_MIN
    c.first_receive_us = INT64_MAX
    c.last_receive_us = INT64_MIN
    c.size_last_send = 0
    c.size_first_receive = 0
    c.size_total = 0
    c.num_probes = 0
    return c


cdef int64_t pe_handle(ProbeEstimatorState* s, int32_t cluster_id, int64_t send_us,
                       int64_t arrival_us, int64_t size_bytes, int32_t min_probes,
                       int64_t min_bytes) noexcept nogil:
    cdef int i
    cdef ProbeCluster* c
    cdef int64_t send_interval, recv_interval, send_size, recv_size, send_bps, recv_bps, res
    cdef double ratio
    for i in range(PROBE_MAX_CLUSTERS):
        if (s.clusters[i].used and s.clusters[i].last_receive_us != INT64_MIN
                and s.clusters[i].last_receive_us + s.max_history_us < arrival_us):
            s.clusters[i].used = False
    c = _cluster(s, cluster_id)
    if send_us < c.first_send_us:
        c.first_send_us = send_us
    if send_us > c.last_send_us:
        c.last_send_us = send_us
        c.size_last_send = size_bytes
    if arrival_us < c.first_receive_us:
        c.first_receive_us = arrival_us
        c.size_first_receive = size_bytes
    if arrival_us > c.last_receive_us:
        c.last_receive_us = arrival_us
    c.size_total += size_bytes
    c.num_probes += 1
    if (c.num_probes < <int32_t>(min_probes * s.min_probes_ratio)
            or c.size_total < <int64_t>(min_bytes * s.min_bytes_ratio)):
        return -1
    send_interval = c.last_send_us - c.first_send_us
    recv_interval = c.last_receive_us - c.first_receive_us
    if (send_interval <= 0 or send_interval > s.max_interval_us
            or recv_interval <= 0 or recv_interval > s.max_interval_us):
        return -1
    # The intervals exclude the time to send the last packet and to receive the first
    # one, so those packets' sizes are left out of the rates.
    send_size = c.size_total - c.size_last_send
    recv_size = c.size_total - c.size_first_receive
    send_bps = size_over_duration_bps(send_size, send_interval)
    recv_bps = size_over_duration_bps(recv_size, recv_interval)
    if send_bps <= 0:
        return -1
    ratio = <double>recv_bps / <double>send_bps
    if ratio > s.max_valid_ratio:
        return -1
    res = send_bps if send_bps < recv_bps else recv_bps
    if recv_bps < s.min_unsaturated_ratio * send_bps:
        # Received clearly slower than sent: the link is saturated, aim just under it.
        res = rate_times(recv_bps, s.target_utilization)
    s.estimate_bps = res
    s.last_estimate_bps = res
    return res


cdef int64_t pe_fetch_and_reset(ProbeEstimatorState* s) noexcept nogil:
    cdef int64_t v = s.estimate_bps
    s.estimate_bps = -1
    return v


# ----------------------------------------------------------------------- ProbeController

cdef void pc_init(ProbeControllerState* s, const GccParams* cfg) noexcept nogil:
    s.first_scale = cfg.first_exponential_probe_scale
    s.second_scale = cfg.second_exponential_probe_scale
    s.further_scale = cfg.further_exponential_probe_scale
    s.further_threshold = cfg.further_probe_threshold
    s.alr_interval_us = cfg.alr_probing_interval_us
    s.alr_scale = cfg.alr_probe_scale
    s.periodic_alr = cfg.enable_periodic_alr_probing
    s.min_probes = cfg.probe_min_packets
    s.min_duration_us = cfg.probe_min_duration_us
    s.max_wait_us = cfg.probe_max_wait_for_result_us
    s.default_max_bps = cfg.default_max_probing_bps
    s.drop_threshold = cfg.bitrate_drop_threshold
    s.drop_timeout_us = cfg.bitrate_drop_timeout_us
    s.fraction_after_drop = cfg.probe_fraction_after_drop
    s.alr_ended_timeout_us = cfg.alr_ended_timeout_us
    s.min_alr_probe_gap_us = cfg.min_time_between_alr_probes_us
    s.uncertainty = cfg.probe_uncertainty
    s.state = PC_INIT
    s.network_available = True
    s.min_further_bps = 0
    s.last_probe_us = 0
    s.estimated_bps = 0
    s.start_bps = 0
    s.max_bps = 0
    s.last_drop_probe_us = 0
    s.alr_start_us = -1
    s.alr_end_us = -1
    s.last_large_drop_us = 0
    s.bitrate_before_drop = 0
    s.loss_limited = 0
    s.loss_limited_scale = cfg.loss_limited_probe_scale
    s.next_cluster_id = 1
    s.n_pending = 0
    s.n_created = 0


cdef inline void _initiate(ProbeControllerState* s, int64_t now_us, int64_t* rates, int n,
                           bint probe_further) noexcept nogil:
    cdef int64_t max_probe = s.max_bps if s.max_bps > 0 else s.default_max_bps
    cdef int64_t rate, cap
    cdef int i
    cdef ProbeConfig cfg
    if n <= 0:
        return
    # ProbeController::InitiateProbing with LossBasedBweV2: no probes while the loss-based
    # estimate decreases; capped at 1.5 x the estimate while it increases.
    if s.loss_limited == 1:
        return
    if s.loss_limited == 2:
        cap = <int64_t>(s.estimated_bps * s.loss_limited_scale)
        if cap < max_probe:
            max_probe = cap
    for i in range(n):
        rate = rates[i]
        if rate > max_probe:
            rate = max_probe
            probe_further = False
        cfg.bitrate_bps = rate
        cfg.cluster_id = s.next_cluster_id
        s.next_cluster_id += 1
        cfg.min_probes = s.min_probes
        # DataRate * TimeDelta: bytes rounded to nearest, as the pacer sizes a cluster.
        cfg.min_bytes = rate_times_duration_bytes(rate, s.min_duration_us)
        if s.n_pending < PROBE_MAX_PENDING:
            s.pending[s.n_pending] = cfg
            s.n_pending += 1
        s.created[s.n_created % PROBE_MAX_CREATED] = cfg
        s.n_created += 1
        if s.n_created >= 2 * PROBE_MAX_CREATED:
            s.n_created -= PROBE_MAX_CREATED
    s.last_probe_us = now_us
    if probe_further:
        s.state = PC_WAITING
        s.min_further_bps = <int64_t>(rates[n - 1] * s.further_threshold)
    else:
        s.state = PC_COMPLETE


cdef inline void _initiate_exponential(ProbeControllerState* s, int64_t now_us) noexcept nogil:
    cdef int64_t rates[2]
    cdef int n = 1
    rates[0] = <int64_t>(s.first_scale * s.start_bps)
    if s.second_scale > 0:
        rates[1] = <int64_t>(s.second_scale * s.start_bps)
        n = 2
    _initiate(s, now_us, rates, n, True)


cdef void pc_set_bitrates(ProbeControllerState* s, int64_t min_bps, int64_t start_bps,
                          int64_t max_bps, int64_t now_us) noexcept nogil:
    if start_bps > 0:
        s.start_bps = start_bps
        s.estimated_bps = start_bps
    elif s.start_bps == 0:
        s.start_bps = min_bps
    s.max_bps = max_bps
    if s.state == PC_INIT and s.network_available:
        _initiate_exponential(s, now_us)


cdef void pc_set_estimated_bitrate(ProbeControllerState* s, int64_t bps,
                                   int64_t now_us) noexcept nogil:
    cdef int64_t rate
    if s.state == PC_WAITING:
        # The probe got through: keep doubling while results reach 70 % of the probe.
        if s.min_further_bps != 0 and bps > s.min_further_bps:
            rate = <int64_t>(s.further_scale * bps)
            _initiate(s, now_us, &rate, 1, True)
    if bps < s.drop_threshold * s.estimated_bps:
        s.last_large_drop_us = now_us
        s.bitrate_before_drop = s.estimated_bps
    s.estimated_bps = bps


cdef void pc_request_probe(ProbeControllerState* s, int64_t now_us) noexcept nogil:
    # After a large drop of the estimate in (or just after) ALR, probe once at 85 % of
    # the rate before the drop to find out whether the drop was real.
    cdef bint in_alr = s.alr_start_us >= 0
    cdef bint alr_ended_recently = (s.alr_end_us >= 0
                                    and now_us - s.alr_end_us < s.alr_ended_timeout_us)
    cdef int64_t suggested, min_expected
    if (in_alr or alr_ended_recently) and s.state == PC_COMPLETE:
        suggested = <int64_t>(<uint32_t>(s.fraction_after_drop * s.bitrate_before_drop))
        min_expected = <int64_t>(<uint32_t>((1.0 - s.uncertainty) * suggested))
        if (min_expected > s.estimated_bps
                and now_us - s.last_large_drop_us < s.drop_timeout_us
                and now_us - s.last_drop_probe_us > s.min_alr_probe_gap_us):
            s.last_drop_probe_us = now_us
            _initiate(s, now_us, &suggested, 1, False)


cdef void pc_process(ProbeControllerState* s, int64_t now_us) noexcept nogil:
    cdef int64_t next_probe, rate, since
    if now_us - s.last_probe_us > s.max_wait_us:
        if s.state == PC_WAITING:
            # No result in time: stop the exponential phase.
            s.state = PC_COMPLETE
            s.min_further_bps = 0
    if s.periodic_alr and s.state == PC_COMPLETE:
        if s.alr_start_us >= 0 and s.estimated_bps > 0:
            since = s.alr_start_us if s.alr_start_us > s.last_probe_us else s.last_probe_us
            next_probe = since + s.alr_interval_us
            if now_us >= next_probe:
                rate = <int64_t>(s.estimated_bps * s.alr_scale)
                _initiate(s, now_us, &rate, 1, True)


cdef bint pc_pop(ProbeControllerState* s, ProbeConfig* out) noexcept nogil:
    cdef int i
    if s.n_pending == 0:
        return False
    out[0] = s.pending[0]
    for i in range(1, s.n_pending):
        s.pending[i - 1] = s.pending[i]
    s.n_pending -= 1
    return True


cdef void pc_cluster_size(ProbeControllerState* s, int32_t cluster_id, int32_t* min_probes,
                          int64_t* min_bytes) noexcept nogil:
    cdef int i
    for i in range(PROBE_MAX_CREATED):
        if i < s.n_created and s.created[i].cluster_id == cluster_id:
            min_probes[0] = s.created[i].min_probes
            min_bytes[0] = s.created[i].min_bytes
            return
    # A cluster this controller did not create: libwebrtc's test defaults.
    min_probes[0] = 5
    min_bytes[0] = 5000


cdef class ProbeBitrateEstimator:
    """Measure the rate a probe cluster got through (libwebrtc's defaults).

    A cluster needs 80 % of its probes and bytes; it is invalid when the receive rate is
    more than twice the send rate; when it was received under 90 % of the send rate the
    result is 95 % of the receive rate.
    """

    def __init__(self, *, config=None):
        cdef GccParams p
        params_from(config, &p)
        pe_init(&self.s, &p)

    def handle(self, cluster_id, send_us, arrival_us, size_bytes, min_probes=5,
               min_bytes=5000):
        """Feed one received probe packet; return the cluster's estimate in bps, or None."""
        v = pe_handle(&self.s, int_arg("cluster_id", cluster_id, 0, 2**31 - 1),
                      int_arg("send_us", send_us), int_arg("arrival_us", arrival_us),
                      int_arg("size_bytes", size_bytes, 0),
                      int_arg("min_probes", min_probes, 0, 2**31 - 1),
                      int_arg("min_bytes", min_bytes, 0))
        return None if v < 0 else v

    def fetch_and_reset_last_estimated_bitrate(self):
        """The last estimate not yet fetched, bps, or None."""
        v = pe_fetch_and_reset(&self.s)
        return None if v < 0 else v

    @property
    def last_estimate_bps(self):
        """The last estimate, bps, or None."""
        return None if self.s.last_estimate_bps < 0 else self.s.last_estimate_bps


cdef class ProbeController:
    """Decide when to probe and at what rate (libwebrtc's defaults).

    Initial probes at 3x and 6x the start rate, further probes at 2x the estimate while
    it reaches 70 % of the last probe, periodic ALR probes when enabled, and a recovery
    probe after a large drop in ALR. ``pop_probes()`` returns what the pacer should send.
    """

    def __init__(self, *, config=None):
        cdef GccParams p
        params_from(config, &p)
        pc_init(&self.s, &p)

    def set_bitrates(self, min_bps, start_bps, max_bps, now_us):
        """Configure the rates; the first call starts the initial probing."""
        pc_set_bitrates(&self.s, int_arg("min_bps", min_bps, 0),
                        int_arg("start_bps", start_bps, 0),
                        int_arg("max_bps", max_bps, 0),
                        int_arg("now_us", now_us))

    def set_estimated_bitrate(self, bps, now_us):
        """Tell the controller the new estimate (may start a further probe)."""
        pc_set_estimated_bitrate(&self.s, int_arg("bps", bps, 0),
                                 int_arg("now_us", now_us))

    def set_alr_start_time(self, at_us):
        """ALR started at ``at_us`` (None: not in ALR)."""
        self.s.alr_start_us = -1 if at_us is None else int_arg("at_us", at_us, 0)

    def set_alr_ended_time(self, at_us):
        """ALR ended at ``at_us``."""
        self.s.alr_end_us = int_arg("at_us", at_us, 0)

    def enable_periodic_alr_probing(self, enable):
        """Probe periodically while in ALR."""
        self.s.periodic_alr = bool(enable)

    def request_probe(self, now_us):
        """Ask for a recovery probe after a large drop (acts only in or just after ALR)."""
        pc_request_probe(&self.s, int_arg("now_us", now_us))

    def process(self, now_us):
        """Periodic tick: probe time-outs and ALR probing."""
        pc_process(&self.s, int_arg("now_us", now_us))

    def pop_probes(self):
        """Return and clear the pending clusters as dicts (bitrate_bps, cluster_id, ...)."""
        cdef ProbeConfig c
        out = []
        while pc_pop(&self.s, &c):
            out.append({"bitrate_bps": c.bitrate_bps, "cluster_id": c.cluster_id,
                        "min_probes": c.min_probes, "min_bytes": c.min_bytes})
        return out

    @property
    def estimated_bitrate_bps(self):
        """The last estimate told to the controller, bps."""
        return self.s.estimated_bps
