"""The real-time pacer's queue and budget: libwebrtc's ``PacingController``, in C.

Same rules as modules/pacing/pacing_controller.cc with its default configuration:

* priority order of ``PrioritizedPacketQueue``: audio, retransmissions, video and FEC (one
  level, in queue order), padding; audio is not paced (its enqueue time is its send time)
  and not counted against the media budget;
* a media debt drained at the (adjusted) pacing rate, with packets allowed out in bursts
  while the debt stays under ``send_burst_interval`` (40 ms) worth of data, capped by
  ``kMaxBurstSize`` (63 kB) and by 500 ms of debt;
* ``drain_large_queues``: when the queued bytes could not leave within
  ``queue_time_limit`` (2 s) minus the average queue time, the rate is raised to make it;
* probe clusters as ``BitrateProber``: a cluster becomes active once a packet of at least
  min(probe burst, 200 bytes) is queued, bursts of ``bitrate x 2 ms`` are sent at the
  cluster's rate, a first small padding packet opens each cluster, padding fills a burst
  when the queue runs dry, a cluster more than 10 ms late is dropped, at most five wait
  and a cluster older than 5 s is forgotten.

Packets are handles (integers); ``process`` writes what to send now into the caller's
arrays. Left out: pausing, the congestion window, keep-alive padding, per-SSRC round
robin within a priority level and the time-to-live per priority (all off by default).
"""

from libc.stdint cimport INT64_MAX, INT64_MIN, int32_t, int64_t
from libc.stdlib cimport free, malloc

from mediaopt._core._units cimport rate_times_duration_bytes

cdef int64_t PLUS_INF = INT64_MAX
cdef int64_t MINUS_INF = INT64_MIN
cdef int64_t CONGESTED_INTERVAL_US = 500_000     # kCongestedPacketInterval
cdef int64_t MAX_DEBT_US = 500_000               # kMaxDebtInTime
cdef int64_t MAX_ELAPSED_US = 2_000_000          # kMaxElapsedTime
cdef int64_t MAX_PADDING_REPLAY_US = 50_000      # kMaxPaddingReplayDuration
cdef int64_t MAX_EARLY_PROBE_US = 1_000          # kMaxEarlyProbeProcessing
cdef int64_t TARGET_PADDING_US = 5_000           # kTargetPaddingDuration
cdef int64_t MAX_BURST_BYTES = 63_000            # kMaxBurstSize
cdef int64_t PROBE_CLUSTER_TIMEOUT_US = 5_000_000    # kProbeClusterTimeout
cdef int MAX_PENDING_CLUSTERS = 5                # kMaxPendingProbeClusters
cdef int CIRCUIT_BREAKER = 1 << 16               # circuit_breaker_threshold_


cdef inline int _prio(int32_t kind) noexcept nogil:
    if kind == RTP_AUDIO:
        return 0
    if kind == RTP_RETRANSMISSION:
        return 1
    if kind == RTP_PADDING:
        return 3
    return 2


cdef inline int64_t _size_over_rate_us(int64_t size_bytes, int64_t bps) noexcept nogil:
    # DataSize / DataRate -> TimeDelta (truncated)
    if bps <= 0:
        return PLUS_INF
    return size_bytes * 8_000_000 // bps


cdef class PacerCore:
    """Typed state of ``mediaopt.rtp.Pacer`` (see the module docstring)."""

    def __cinit__(self, int64_t now_us=0, int64_t burst_interval_us=40_000,
                  int64_t queue_time_limit_us=2_000_000, bint drain_large_queues=True,
                  bint account_for_audio=False, int64_t padding_packet_bytes=256,
                  int64_t min_probe_packet_bytes=200, int64_t max_probe_delay_us=10_000):
        cdef int i
        for i in range(N_PRIORITIES):
            self.queues[i].buf = <QueuedC*>malloc(64 * sizeof(QueuedC))
            if self.queues[i].buf == NULL:
                raise MemoryError("pacer queue")
            self.queues[i].cap = 64
            self.queues[i].head = 0
            self.queues[i].count = 0
        self.queued_packets = 0
        self.queued_bytes = 0
        self.sum_enqueue_us = 0
        self.media_debt_bytes = 0
        self.padding_debt_bytes = 0
        self.pacing_bps = 0
        self.padding_bps = 0
        self.adjusted_media_bps = 0
        self.last_process_us = now_us
        self.last_send_us = now_us
        self.seen_first_packet = False
        self.burst_interval_us = burst_interval_us
        self.queue_time_limit_us = queue_time_limit_us
        self.drain_large_queues = drain_large_queues
        self.account_for_audio = account_for_audio
        self.can_pad = True
        self.padding_packet_bytes = padding_packet_bytes
        self.n_clusters = 0
        self.probing_state = 1
        self.next_probe_us = PLUS_INF
        self.min_probe_packet_bytes = min_probe_packet_bytes
        self.max_probe_delay_us = max_probe_delay_us
        self.probing_send_failure = False
        self.padding_sent_bytes = 0
        self.probe_sent_bytes = 0
        self.oom = False

    def __dealloc__(self):
        cdef int i
        for i in range(N_PRIORITIES):
            free(self.queues[i].buf)

    # ------------------------------------------------------------------ queue

    cdef int _push(self, int32_t kind, int64_t handle, int64_t size_bytes,
                   int64_t now_us) noexcept nogil:
        cdef QueueC* q = &self.queues[_prio(kind)]
        cdef QueuedC* nb
        cdef int64_t i
        if q.count == q.cap:
            nb = <QueuedC*>malloc(2 * q.cap * sizeof(QueuedC))
            if nb == NULL:
                self.oom = True
                return -1
            for i in range(q.count):
                nb[i] = q.buf[(q.head + i) & (q.cap - 1)]
            free(q.buf)
            q.buf = nb
            q.head = 0
            q.cap *= 2
        cdef QueuedC* e = &q.buf[(q.head + q.count) & (q.cap - 1)]
        e.handle = handle
        e.size_bytes = size_bytes
        e.enqueue_us = now_us
        e.kind = kind
        q.count += 1
        self.queued_packets += 1
        self.queued_bytes += size_bytes
        self.sum_enqueue_us += now_us
        return 0

    cdef bint _pop(self, QueuedC* out) noexcept nogil:
        cdef int i
        cdef QueueC* q
        for i in range(N_PRIORITIES):
            q = &self.queues[i]
            if q.count > 0:
                out[0] = q.buf[q.head]
                q.head = (q.head + 1) & (q.cap - 1)
                q.count -= 1
                self.queued_packets -= 1
                self.queued_bytes -= out.size_bytes
                self.sum_enqueue_us -= out.enqueue_us
                return True
        return False

    cdef int64_t _leading_audio_us(self) noexcept nogil:
        cdef QueueC* q = &self.queues[0]
        if q.count == 0:
            return MINUS_INF
        return q.buf[q.head].enqueue_us

    # ------------------------------------------------------------------ budget

    cdef int64_t _elapsed(self, int64_t now_us) noexcept nogil:
        # UpdateTimeAndGetElapsed
        cdef int64_t e
        if self.last_process_us == MINUS_INF or now_us < self.last_process_us:
            return 0
        e = now_us - self.last_process_us
        self.last_process_us = now_us
        return e if e <= MAX_ELAPSED_US else MAX_ELAPSED_US

    cdef void _budget_elapsed(self, int64_t delta_us) noexcept nogil:
        cdef int64_t m = rate_times_duration_bytes(self.adjusted_media_bps, delta_us)
        cdef int64_t p = rate_times_duration_bytes(self.padding_bps, delta_us)
        self.media_debt_bytes -= m if m < self.media_debt_bytes else self.media_debt_bytes
        self.padding_debt_bytes -= p if p < self.padding_debt_bytes else self.padding_debt_bytes

    cdef void _padding_budget_sent(self, int64_t size_bytes) noexcept nogil:
        cdef int64_t cap = rate_times_duration_bytes(self.padding_bps, MAX_DEBT_US)
        self.padding_debt_bytes += size_bytes
        if self.padding_debt_bytes > cap:
            self.padding_debt_bytes = cap

    cdef void _budget_sent(self, int64_t size_bytes) noexcept nogil:
        cdef int64_t cap = rate_times_duration_bytes(self.adjusted_media_bps, MAX_DEBT_US)
        self.media_debt_bytes += size_bytes
        if self.media_debt_bytes > cap:
            self.media_debt_bytes = cap
        self._padding_budget_sent(size_bytes)

    cdef void _update_media_rate(self, int64_t now_us) noexcept nogil:
        # MaybeUpdateMediaRateDueToLongQueue
        cdef int64_t avg_queue_us, left_us, need_bps
        self.adjusted_media_bps = self.pacing_bps
        if not self.drain_large_queues or self.queued_bytes <= 0:
            return
        avg_queue_us = now_us - self.sum_enqueue_us // self.queued_packets
        left_us = self.queue_time_limit_us - avg_queue_us
        if left_us < 1000:
            left_us = 1000
        need_bps = self.queued_bytes * 8_000_000 // left_us
        if need_bps > self.pacing_bps:
            self.adjusted_media_bps = need_bps

    cdef int64_t _next_send_us(self, int64_t now_us) noexcept nogil:
        # NextSendTime
        cdef int64_t probe_time, unpaced, drain, burst, pad_drain
        if self.probing_state == 2 and self.n_clusters > 0 and not self.probing_send_failure:
            probe_time = self.next_probe_us
            if probe_time != PLUS_INF:
                return now_us if probe_time == MINUS_INF else probe_time
        unpaced = self._leading_audio_us()
        if unpaced != MINUS_INF:
            return unpaced
        if not self.seen_first_packet:
            return self.last_send_us + CONGESTED_INTERVAL_US
        if self.adjusted_media_bps > 0 and self.queued_packets > 0:
            drain = _size_over_rate_us(self.media_debt_bytes, self.adjusted_media_bps)
            burst = _size_over_rate_us(MAX_BURST_BYTES, self.adjusted_media_bps)
            if self.burst_interval_us < burst:
                burst = self.burst_interval_us
            return self.last_process_us + (0 if burst > drain else drain)
        if self.padding_bps > 0 and self.queued_packets == 0 and self.adjusted_media_bps > 0:
            drain = _size_over_rate_us(self.media_debt_bytes, self.adjusted_media_bps)
            pad_drain = _size_over_rate_us(self.padding_debt_bytes, self.padding_bps)
            if pad_drain > drain:
                drain = pad_drain
            if drain == 0 and (self.media_debt_bytes > 0 or self.padding_debt_bytes > 0):
                drain = 1
            return self.last_process_us + drain
        return self.last_process_us + CONGESTED_INTERVAL_US

    # ------------------------------------------------------------------ prober

    cdef int64_t _recommended_probe_bytes(self) noexcept nogil:
        if self.n_clusters == 0:
            return 0
        return rate_times_duration_bytes(self.clusters[0].bitrate_bps,
                                         self.clusters[0].min_probe_delta_us)

    cdef void _on_incoming(self, int64_t size_bytes) noexcept nogil:
        # BitrateProber::MaybeSetActiveState
        cdef int64_t need
        if self.n_clusters == 0 or self.probing_state != 1:
            return
        need = self._recommended_probe_bytes()
        if need > self.min_probe_packet_bytes:
            need = self.min_probe_packet_bytes
        if size_bytes >= need:
            self.next_probe_us = MINUS_INF
            self.probing_state = 2

    cdef void _pop_cluster(self) noexcept nogil:
        cdef int i
        for i in range(1, self.n_clusters):
            self.clusters[i - 1] = self.clusters[i]
        self.n_clusters -= 1

    cdef void _probe_sent(self, int64_t now_us, int64_t size_bytes) noexcept nogil:
        cdef ClusterC* c
        if self.n_clusters == 0:
            return
        c = &self.clusters[0]
        if c.sent_probes == 0:
            c.started_us = now_us
        c.sent_bytes += size_bytes
        c.sent_probes += 1
        self.next_probe_us = c.started_us + _size_over_rate_us(c.sent_bytes, c.bitrate_bps)
        if c.sent_bytes >= c.min_bytes and c.sent_probes >= c.min_probes:
            self._pop_cluster()
        if self.n_clusters == 0:
            self.probing_state = 1

    # ------------------------------------------------------------------ Python boundary

    def push(self, int32_t kind, int64_t handle, int64_t size_bytes, int64_t now_us):
        """EnqueuePacket: queue one packet (``kind`` an ``RtpKind``) at ``now_us``."""
        cdef int64_t target, nst
        cdef int rc
        with nogil:
            self._on_incoming(size_bytes)
            if self.queued_packets == 0:
                # fast-forward: time spent with an empty queue gives no budget
                target = now_us
                nst = self._next_send_us(now_us)
                if nst != PLUS_INF and nst != MINUS_INF and nst < now_us:
                    target = nst
                self._budget_elapsed(self._elapsed(target))
            rc = self._push(kind, handle, size_bytes, now_us)
            self.seen_first_packet = True
            self._update_media_rate(now_us)
        if rc != 0:
            raise MemoryError("pacer queue")

    def set_rates(self, int64_t pacing_bps, int64_t padding_bps, int64_t now_us):
        """SetPacingRates (padding is capped at the pacing rate)."""
        self.padding_bps = padding_bps if padding_bps < pacing_bps else pacing_bps
        self.pacing_bps = pacing_bps
        self._update_media_rate(now_us)

    def set_can_pad(self, bint can_pad, int64_t padding_packet_bytes):
        """Whether padding packets can be made, and their size on the wire."""
        self.can_pad = can_pad
        self.padding_packet_bytes = padding_packet_bytes

    def add_probe(self, int64_t bitrate_bps, int32_t cluster_id, int32_t min_probes,
                  int64_t min_bytes, int64_t now_us, int64_t min_probe_delta_us=2_000):
        """CreateProbeCluster at ``now_us``."""
        cdef ClusterC* c
        if bitrate_bps <= 0:
            return
        while self.n_clusters > 0 and (
                now_us - self.clusters[0].requested_us > PROBE_CLUSTER_TIMEOUT_US
                or self.n_clusters > MAX_PENDING_CLUSTERS):
            self._pop_cluster()
        if self.n_clusters == MAX_CLUSTERS:
            self._pop_cluster()
        c = &self.clusters[self.n_clusters]
        c.requested_us = now_us
        c.bitrate_bps = bitrate_bps
        c.min_bytes = min_bytes if min_bytes > 0 else 0
        c.min_probe_delta_us = min_probe_delta_us if min_probe_delta_us > 0 else 1
        c.min_probes = min_probes if min_probes > 0 else 1
        c.sent_bytes = 0
        c.sent_probes = 0
        c.started_us = MINUS_INF
        c.cluster_id = cluster_id
        self.n_clusters += 1
        self._on_incoming(0)

    def next_send_us(self, int64_t now_us):
        """NextSendTime at ``now_us``."""
        return self._next_send_us(now_us)

    def average_queue_us(self, int64_t now_us):
        """Mean time the queued packets have waited, us (0 when empty)."""
        if self.queued_packets == 0:
            return 0
        return now_us - self.sum_enqueue_us // self.queued_packets

    @property
    def is_probing(self):
        """A probe cluster is active."""
        return self.probing_state == 2 and self.n_clusters > 0

    @property
    def pending_clusters(self):
        """Probe clusters waiting or being sent."""
        return self.n_clusters

    def process(self, int64_t now_us, int64_t[::1] out_handle, int32_t[::1] out_kind,
                int64_t[::1] out_size, int32_t[::1] out_cluster):
        """ProcessPackets at ``now_us``: write what to send now (handles, -1 for padding to
        make, with kind, size and probe cluster id) into the out arrays; returns the count.
        """
        cdef Py_ssize_t cap = out_handle.shape[0], n = 0
        cdef int64_t target, elapsed, recommended = 0, data_sent = 0, cluster_bytes = 0
        cdef int64_t margin, pad, k
        cdef int32_t cluster = -1
        cdef bint is_probing, is_probe, got
        cdef int iteration
        cdef QueuedC pkt
        cdef ClusterC* c
        if cap == 0:
            return 0
        with nogil:
            margin = MAX_EARLY_PROBE_US if (self.probing_state == 2 and self.n_clusters > 0) \
                else 0
            target = self._next_send_us(now_us)
            if now_us + margin < target:
                self._budget_elapsed(self._elapsed(now_us))
                cap = 0                     # too early: nothing to send
            elapsed = self._elapsed(target) if cap > 0 else 0
            if elapsed > 0:
                self._budget_elapsed(elapsed)
            is_probing = cap > 0 and self.probing_state == 2 and self.n_clusters > 0
            if is_probing:
                # CurrentCluster: drop a cluster that is too late
                if self.next_probe_us != MINUS_INF and self.next_probe_us != PLUS_INF and \
                        now_us - self.next_probe_us > self.max_probe_delay_us:
                    self._pop_cluster()
                    if self.n_clusters == 0:
                        self.probing_state = 1
                if self.n_clusters > 0 and self.probing_state == 2:
                    c = &self.clusters[0]
                    cluster = c.cluster_id
                    cluster_bytes = c.sent_bytes
                    recommended = self._recommended_probe_bytes()
                else:
                    is_probing = False
            iteration = 0
            while iteration < CIRCUIT_BREAKER and n < cap:
                iteration += 1
                # GetPendingPacket
                is_probe = cluster >= 0
                got = False
                if is_probe and cluster_bytes == 0 and self.can_pad:
                    # a small padding packet opens the cluster (steadier rate estimate)
                    pkt.handle = -1
                    pkt.size_bytes = self.padding_packet_bytes
                    pkt.kind = RTP_PADDING
                    pkt.enqueue_us = now_us
                    got = True
                elif self.queued_packets > 0:
                    got = True
                    if self._leading_audio_us() == MINUS_INF and not is_probe:
                        if now_us <= target and self.burst_interval_us == 0:
                            if now_us + _size_over_rate_us(self.media_debt_bytes,
                                                           self.adjusted_media_bps) > target:
                                got = False
                    if got:
                        self._pop(&pkt)
                if not got:
                    if now_us - target > MAX_PADDING_REPLAY_US:
                        target = now_us - MAX_PADDING_REPLAY_US
                        if target > self.last_process_us:
                            self.last_process_us = target
                    # PaddingToAdd
                    pad = 0
                    if self.queued_packets == 0:
                        if recommended > 0:
                            pad = recommended - data_sent if recommended > data_sent else 0
                        elif self.padding_bps > 0 and self.padding_debt_bytes == 0:
                            pad = rate_times_duration_bytes(self.padding_bps,
                                                            TARGET_PADDING_US)
                    if pad > 0:
                        if self.can_pad:
                            # GeneratePadding: full padding packets, then send them
                            k = (pad + self.padding_packet_bytes - 1) // self.padding_packet_bytes
                            while k > 0:
                                self._on_incoming(self.padding_packet_bytes)
                                if self._push(RTP_PADDING, -1, self.padding_packet_bytes,
                                              now_us) != 0:
                                    break
                                k -= 1
                            self.seen_first_packet = True
                            continue
                        self._padding_budget_sent(pad)
                    break
                out_handle[n] = pkt.handle
                out_kind[n] = pkt.kind
                out_size[n] = pkt.size_bytes
                out_cluster[n] = cluster
                n += 1
                data_sent += pkt.size_bytes
                if pkt.kind == RTP_PADDING:
                    self.padding_sent_bytes += pkt.size_bytes
                if cluster >= 0:
                    self.probe_sent_bytes += pkt.size_bytes
                # OnPacketSent
                if (pkt.kind != RTP_AUDIO or self.account_for_audio) and pkt.size_bytes > 0:
                    self._budget_sent(pkt.size_bytes)
                self.last_send_us = now_us
                if is_probing:
                    cluster_bytes += pkt.size_bytes
                    if data_sent >= recommended:
                        break
                target = self._next_send_us(now_us)
                if target > now_us:
                    if not is_probing:
                        break
                    target = now_us
                self._budget_elapsed(self._elapsed(target))
            if is_probing:
                self.probing_send_failure = data_sent == 0
                if not self.probing_send_failure:
                    self._probe_sent(now_us, data_sent)
            if cap > 0:
                self._update_media_rate(now_us)
        if self.oom:
            raise MemoryError("pacer queue")
        return n
