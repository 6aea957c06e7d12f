"""Mahimahi-exact bottleneck link: delivery opportunities, queues, delay and loss.

The semantics follow Mahimahi's ``mm-link`` (``src/frontend/link_queue.cc``) and its packet
queues (``src/packet/*``); ``docs/link.md`` states them in full. The loop is event driven:
it visits delivery opportunities only while the queue holds bytes, jumps over idle stretches
with a binary search, and never steps through time millisecond by millisecond.

Two engines share the state:

* the FIFO engine (infinite and droptail queues) computes a packet's departure when it is
  enqueued, which is exact because later packets can never change an earlier packet's fate;
* the event engine (drophead and CoDel, where later packets can) replays Mahimahi's
  ``rationalize`` loop opportunity by opportunity.
"""

from mediaopt._core._check import (
    InputError, as_float64_array, as_int64_array, check_int, check_nondecreasing,
    check_same_length,
)

from libc.math cimport log, sqrt
from libc.stdint cimport INT64_MAX, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

cimport cython

import numpy as np

from mediaopt._core._check cimport float_arg, int_arg
from mediaopt._core.rng cimport rng_seed, rng_uniform

#: Bytes carried by one delivery opportunity (Mahimahi's LinkQueue::PACKET_SIZE).
OPPORTUNITY_BYTES = 1504
#: Mahimahi's default CoDel parameters are required arguments there; these are RFC 8289's.
CODEL_TARGET_MS = 5
CODEL_INTERVAL_MS = 100

cdef int64_t OPP_BYTES = 1504
cdef int64_t NEVER = INT64_MAX

#: Queue disciplines (Mahimahi's names) and where the delay sits (see docs/link.md); a
#: discipline's code is its index (QueueKind).
QUEUE_KINDS = ("infinite", "droptail", "drophead", "codel")
DIRECTIONS = ("uplink", "downlink")
#: Loss processes by code (LossKind): none, mm-loss, Gilbert-Elliott, mm-onoff, periodic.
LOSS_KINDS = ("none", "bernoulli", "gilbert_elliott", "onoff", "periodic")


cdef uint64_t _seed64(object seed) except? 0:
    # A seed is any integer in [0, 2**64 - 1] (a uint64, not an int64).
    return <uint64_t>check_int("seed", seed, min_value=0, max_value=2**64 - 1)


cdef inline int64_t _floordiv(int64_t a, int64_t b) noexcept nogil:
    # floor division for b > 0 (C division truncates toward zero)
    cdef int64_t q = a // b
    if (a % b != 0) and (a < 0):
        q -= 1
    return q


cdef inline Py_ssize_t _bisect_right(const int64_t* a, Py_ssize_t n, int64_t x) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef class Link:
    """The compiled bottleneck link (Mahimahi's ``mm-delay D mm-link TRACE``), set up
    from plain values.

    The public :class:`mediaopt.Link` (``mediaopt.traces.link``) resolves a trace, a queue,
    a delay and a loss model into these values and builds on this class; the replay loop
    drives its C contract. ``Link(opportunities_us, period_us, *, ...)``: one trace period
    of delivery opportunities (int64 µs, non-decreasing, within ``[0, period_us]``), the
    optional per-step loss/delay columns, the queue (a ``QUEUE_KINDS`` code and its
    limits), the one-way delay and where it sits, the engine, the loss process (a
    ``LOSS_KINDS`` code and its parameters) and the seed. See ``docs/link.md``.
    """

    def __cinit__(self):
        self.q = NULL
        self.out = NULL
        self.q_cap = 0
        self.out_cap = 0
        self.sched = NULL
        self.n_sched = 0
        self.n_col = 0
        self.col_t_us = NULL
        self.col_loss = NULL
        self.col_delay_us = NULL
        self.direct_arr = NULL

    def __dealloc__(self):
        free(self.q)
        free(self.out)
        self.q = NULL
        self.out = NULL

    def __init__(self, opportunities_us, period_us, *, repeat=True, col_t_us=None,
                 col_loss=None, col_delay_us=None, queue_kind=0, limit_bytes=0,
                 limit_packets=0, codel_target_ms=CODEL_TARGET_MS,
                 codel_interval_ms=CODEL_INTERVAL_MS, delay_us=0, delay_before_queue=False,
                 fifo_engine=True, loss_kind=0, loss_p=0.0, ge_p_good_bad=0.0,
                 ge_p_bad_good=0.0, ge_loss_good=0.0, ge_loss_bad=0.0, on_ms=0, off_ms=0,
                 seed=0):
        # The checks a kernel needs to be safe whoever calls it (the public Link has
        # already checked the user's arguments more closely).
        sched = as_int64_array("opportunities_us", opportunities_us, min_value=0)
        if sched.shape[0] == 0:
            raise InputError("opportunities_us: no delivery opportunities")
        check_nondecreasing("opportunities_us", sched)
        cdef int64_t period = int_arg("period_us", period_us, 1)
        if sched[sched.shape[0] - 1] > period:
            raise InputError(f"opportunities_us: an opportunity after the period {period}")
        cols = [None, None, None]
        if col_t_us is not None:
            cols[0] = as_int64_array("col_t_us", col_t_us, min_value=0)
            if cols[0].shape[0] == 0:
                raise InputError("col_t_us: a column needs at least one step")
            check_nondecreasing("col_t_us", cols[0])
            if col_loss is not None:
                cols[1] = as_float64_array("col_loss", col_loss, min_value=0.0, max_value=1.0)
            if col_delay_us is not None:
                cols[2] = as_int64_array("col_delay_us", col_delay_us, min_value=0,
                                         max_value=10**13)
            check_same_length(col_t_us=cols[0], **{
                k: v for k, v in (("col_loss", cols[1]), ("col_delay_us", cols[2]))
                if v is not None})
        elif col_loss is not None or col_delay_us is not None:
            raise InputError("col_t_us: the loss and delay columns need their step times")
        self._setup(sched, period, bool(repeat), cols[0], cols[1], cols[2],
                    int_arg("queue_kind", queue_kind, QUEUE_INFINITE, QUEUE_CODEL),
                    int_arg("limit_bytes", limit_bytes, 0),
                    int_arg("limit_packets", limit_packets, 0),
                    int_arg("codel_target_ms", codel_target_ms, 1, 10**7),
                    int_arg("codel_interval_ms", codel_interval_ms, 1, 10**7),
                    int_arg("delay_us", delay_us, 0, 10**13), bool(delay_before_queue),
                    bool(fifo_engine), int_arg("loss_kind", loss_kind, LOSS_NONE,
                                                 LOSS_PERIODIC),
                    float_arg("loss_p", loss_p, 0.0, 1.0),
                    float_arg("ge_p_good_bad", ge_p_good_bad, 0.0, 1.0),
                    float_arg("ge_p_bad_good", ge_p_bad_good, 0.0, 1.0),
                    float_arg("ge_loss_good", ge_loss_good, 0.0, 1.0),
                    float_arg("ge_loss_bad", ge_loss_bad, 0.0, 1.0),
                    int_arg("on_ms", on_ms, 0, 1 << 30), int_arg("off_ms", off_ms, 0, 1 << 30),
                    <uint64_t>_seed64(seed))
        if (self.fifo_engine and self.queue_kind != QUEUE_INFINITE
                and self.queue_kind != QUEUE_DROPTAIL):
            raise InputError("fifo_engine: only for the infinite and droptail queues")

    @cython.final
    cdef int _setup(self, object sched_owner, int64_t period_us, bint repeat,
                     object col_t_owner, object col_loss_owner, object col_delay_owner,
                     int queue_kind, int64_t limit_bytes, int64_t limit_packets,
                     int64_t codel_target_ms, int64_t codel_interval_ms, int64_t delay_us,
                     bint delay_before_queue, bint fifo_engine, int loss_kind, double loss_p,
                     double ge_p_good_bad, double ge_p_bad_good, double ge_loss_good,
                     double ge_loss_bad, int64_t on_ms, int64_t off_ms,
                     uint64_t seed) except -1:
        # Point the kernel at the (checked) arrays and set every parameter; the state
        # starts afresh.
        cdef const int64_t[::1] sched = sched_owner
        cdef const int64_t[::1] col_t
        cdef const double[::1] col_loss
        cdef const int64_t[::1] col_delay
        self._sched_owner = sched_owner
        self.sched = &sched[0]
        self.n_sched = sched.shape[0]
        self.period_us = period_us
        self.repeat = repeat
        self.end_us = sched[self.n_sched - 1]
        # keep loops * n_sched and base_us + period far from int64 overflow (~73,000 years)
        horizon = (INT64_MAX // 4) // self.n_sched
        if horizon < (INT64_MAX // 4) // self.period_us:
            self.horizon_us = horizon * self.period_us
        else:
            self.horizon_us = INT64_MAX // 4
        self._col_owner = (col_t_owner, col_loss_owner, col_delay_owner)
        self.n_col = 0
        self.col_t_us = NULL
        self.col_loss = NULL
        self.col_delay_us = NULL
        if col_t_owner is not None:
            col_t = col_t_owner
            self.n_col = col_t.shape[0]
            self.col_t_us = &col_t[0]
            if col_loss_owner is not None:
                col_loss = col_loss_owner
                self.col_loss = &col_loss[0]
            if col_delay_owner is not None:
                col_delay = col_delay_owner
                self.col_delay_us = &col_delay[0]

        self.queue_kind = queue_kind
        self.limit_bytes = limit_bytes
        self.limit_packets = limit_packets
        self.codel_target_ms = codel_target_ms
        self.codel_interval_ms = codel_interval_ms
        self.delay_us = delay_us
        if delay_before_queue:
            self.entry_offset_us = delay_us
            self.exit_delay_us = 0
        else:
            self.entry_offset_us = 0
            self.exit_delay_us = delay_us
        self.fifo_engine = fifo_engine

        self.loss.kind = loss_kind
        self.loss.p = loss_p
        self.loss.p_good_bad = ge_p_good_bad
        self.loss.p_bad_good = ge_p_bad_good
        self.loss.loss_good = ge_loss_good
        self.loss.loss_bad = ge_loss_bad
        self.loss.on_ms = on_ms
        self.loss.off_ms = off_ms
        self.seed = seed
        self.delay_before_queue = delay_before_queue
        self._reset_state()
        return 0

    @cython.final
    cdef void _reset_state(self) noexcept:
        # The running state of a fresh link (also the starting point of a clone).
        self.col_cursor_loss = 0
        self.col_cursor_delay = 0
        self.loss.bad = 0
        # Mahimahi's switching links start "off" with a switch due at once, so they are on
        # from time zero for a first on-period.
        self.loss.on = 0
        self.loss.next_switch_ms = 0
        rng_seed(&self.rng, self.seed)
        self.idx = 0
        self.base_us = 0
        self.finished = False
        self.clock_us = -1
        self.last_send_us = -(1 << 62)
        self.last_arrival_us = -1
        self.tail_time_us = -1
        self.tail_used_bytes = OPP_BYTES
        self.tail_dead = False
        self.q_head = 0
        self.q_len = 0
        self.q_bytes = 0
        self.transit_left_bytes = 0
        self.codel_first_above_ms = 0
        self.codel_drop_next_ms = 0
        self.codel_count = 0
        self.codel_lastcount = 0
        self.codel_dropping = False
        self.out_head = 0
        self.out_len = 0
        self.n_offered = 0
        self.n_dropped_at_once = 0
        self.n_lost_later = 0
        self.n_delivered = 0
        self.oom = False

    # ------------------------------------------------------------------ opportunities

    @cython.final
    cdef int64_t _opp_time(self) noexcept nogil:
        return self.base_us + self.sched[self.idx]

    @cython.final
    cdef void _step(self) noexcept nogil:
        self.idx += 1
        if self.idx == self.n_sched:
            self.idx = 0
            if self.repeat:
                self.base_us += self.period_us
            else:
                self.finished = True

    @cython.final
    cdef int64_t _count_le(self, int64_t t_us) noexcept nogil:
        # Number of opportunities (over every loop) whose time is <= t_us.
        cdef int64_t k, r, c
        if t_us < 0:
            return 0
        k = t_us // self.period_us
        r = t_us - k * self.period_us
        if not self.repeat:
            if k > 0:
                return self.n_sched
            return _bisect_right(self.sched, self.n_sched, r)
        c = k * self.n_sched + _bisect_right(self.sched, self.n_sched, r)
        return c

    @cython.final
    cdef void _seek_after(self, int64_t t_us) noexcept nogil:
        # Burn (waste) every opportunity at or before t_us: the queue is empty through them.
        cdef int64_t g_now, g, loops
        if self.finished:
            return
        if self._opp_time() > t_us:
            return
        loops = self.base_us // self.period_us
        g_now = loops * self.n_sched + self.idx
        g = self._count_le(t_us)
        if g <= g_now:
            return
        if not self.repeat and g >= self.n_sched:
            self.finished = True
            self.idx = 0
            return
        self.idx = g % self.n_sched
        self.base_us = (g // self.n_sched) * self.period_us

    # ------------------------------------------------------------------ buffers

    @cython.final
    cdef int _q_push(self, int64_t tag, int64_t entry_us, int64_t size_bytes,
                     int64_t start_us) noexcept nogil:
        cdef Py_ssize_t new_cap, i, j
        cdef QPacket* grown
        if self.q_len == self.q_cap:
            new_cap = 64 if self.q_cap == 0 else self.q_cap * 2
            grown = <QPacket*>malloc(new_cap * sizeof(QPacket))
            if grown == NULL:
                self.oom = True
                return -1
            for i in range(self.q_len):
                j = (self.q_head + i) & (self.q_cap - 1)
                grown[i] = self.q[j]
            free(self.q)
            self.q = grown
            self.q_cap = new_cap
            self.q_head = 0
        i = (self.q_head + self.q_len) & (self.q_cap - 1)
        self.q[i].tag = tag
        self.q[i].entry_us = entry_us
        self.q[i].size_bytes = size_bytes
        self.q[i].start_us = start_us
        self.q_len += 1
        self.q_bytes += size_bytes
        return 0

    @cython.final
    cdef QPacket _q_pop(self) noexcept nogil:
        # Caller guarantees q_len > 0.
        cdef QPacket p = self.q[self.q_head]
        self.q_head = (self.q_head + 1) & (self.q_cap - 1)
        self.q_len -= 1
        self.q_bytes -= p.size_bytes
        return p

    @cython.final
    cdef int _settle(self, int64_t tag, int64_t arrival_us, int64_t settle_us) noexcept nogil:
        cdef Py_ssize_t new_cap, i, j
        cdef Settled* grown
        if arrival_us < 0:
            self.n_lost_later += 1
        else:
            self.n_delivered += 1
        if self.direct_arr != NULL:
            if self.direct_first_tag <= tag < self.direct_first_tag + self.direct_n:
                self.direct_arr[tag - self.direct_first_tag] = arrival_us
            return 0
        if self.out_len == self.out_cap:
            new_cap = 64 if self.out_cap == 0 else self.out_cap * 2
            grown = <Settled*>malloc(new_cap * sizeof(Settled))
            if grown == NULL:
                self.oom = True
                return -1
            for i in range(self.out_len):
                j = (self.out_head + i) & (self.out_cap - 1)
                grown[i] = self.out[j]
            free(self.out)
            self.out = grown
            self.out_cap = new_cap
            self.out_head = 0
        i = (self.out_head + self.out_len) & (self.out_cap - 1)
        self.out[i].tag = tag
        self.out[i].arrival_us = arrival_us
        self.out[i].settle_us = settle_us
        self.out_len += 1
        return 0

    # ------------------------------------------------------------------ loss and delay

    @cython.final
    cdef int _lost_on_entry(self, int64_t send_us) noexcept nogil:
        # Every loss draw happens for every offered packet, whatever the queue does, so the
        # random sequence depends only on the offered packets and the seed.
        cdef int lost = 0
        cdef int64_t t, now_ms
        cdef Py_ssize_t i
        cdef double p, u, mean_ms
        if self.col_loss != NULL:
            t = send_us + self.entry_offset_us
            if self.repeat:
                t = t - _floordiv(t, self.period_us) * self.period_us
            i = self._col_index(t, &self.col_cursor_loss)
            p = self.col_loss[i]
            if p > 0.0 and rng_uniform(&self.rng) < p:
                lost = 1
        if self.loss.kind == LOSS_BERNOULLI:
            if self.loss.p > 0.0 and rng_uniform(&self.rng) < self.loss.p:
                lost = 1
        elif self.loss.kind == LOSS_GILBERT_ELLIOTT:
            u = rng_uniform(&self.rng)
            if self.loss.bad:
                if u < self.loss.p_bad_good:
                    self.loss.bad = 0
            else:
                if u < self.loss.p_good_bad:
                    self.loss.bad = 1
            p = self.loss.loss_bad if self.loss.bad else self.loss.loss_good
            if p > 0.0 and rng_uniform(&self.rng) < p:
                lost = 1
        elif self.loss.kind == LOSS_ONOFF or self.loss.kind == LOSS_PERIODIC:
            now_ms = _floordiv(send_us, 1000)
            while self.loss.next_switch_ms <= now_ms:
                self.loss.on = 0 if self.loss.on else 1
                if self.loss.kind == LOSS_PERIODIC:
                    self.loss.next_switch_ms += self.loss.on_ms if self.loss.on else self.loss.off_ms
                else:
                    mean_ms = <double>(self.loss.on_ms if self.loss.on else self.loss.off_ms)
                    u = -log(1.0 - rng_uniform(&self.rng)) * mean_ms
                    if u > 1073741824.0:
                        u = 1073741824.0
                    self.loss.next_switch_ms += <int64_t>u
            if not self.loss.on:
                lost = 1
        return lost

    @cython.final
    cdef Py_ssize_t _col_index(self, int64_t t, Py_ssize_t* cursor) noexcept nogil:
        cdef Py_ssize_t i = cursor[0]
        if i >= self.n_col or self.col_t_us[i] > t:
            i = _bisect_right(self.col_t_us, self.n_col, t) - 1
        else:
            while i + 1 < self.n_col and self.col_t_us[i + 1] <= t:
                i += 1
        if i < 0:
            i = 0
        cursor[0] = i
        return i

    @cython.final
    cdef int64_t _arrival(self, int64_t depart_us) noexcept nogil:
        cdef int64_t a = depart_us + self.exit_delay_us
        cdef int64_t t
        cdef Py_ssize_t i
        if self.col_delay_us != NULL:
            t = depart_us
            if self.repeat:
                t = t - _floordiv(t, self.period_us) * self.period_us
            i = self._col_index(t, &self.col_cursor_delay)
            a += self.col_delay_us[i]
        # a delay line never reorders packets
        if a < self.last_arrival_us:
            a = self.last_arrival_us
        self.last_arrival_us = a
        return a

    @cython.final
    cdef bint _good_with(self, int64_t size_bytes, int64_t size_packets) noexcept nogil:
        if self.limit_bytes > 0 and size_bytes > self.limit_bytes:
            return False
        if self.limit_packets > 0 and size_packets > self.limit_packets:
            return False
        return True

    # ------------------------------------------------------------------ contract

    @cython.final
    cdef int c_enqueue(self, int64_t send_us, int64_t size_bytes, int64_t tag) noexcept nogil:
        cdef int64_t entry
        if size_bytes < 1:
            size_bytes = 1
        if send_us < self.last_send_us:
            send_us = self.last_send_us  # calls must not go back in time; clamp, never crash
        if send_us > self.horizon_us:
            send_us = self.horizon_us
        self.last_send_us = send_us
        self.n_offered += 1
        if self._lost_on_entry(send_us):
            self.n_dropped_at_once += 1
            return 1
        entry = send_us + self.entry_offset_us
        if self.fifo_engine:
            if self._enqueue_fifo(entry, size_bytes, tag):
                self.n_dropped_at_once += 1
                return 1
        else:
            if self._enqueue_events(entry, size_bytes, tag):
                self.n_dropped_at_once += 1
                return 1
        return 0

    @cython.final
    cdef Py_ssize_t c_advance(self, int64_t until_us, int64_t* tag_out, int64_t* arrival_us_out,
                              Py_ssize_t cap) noexcept nogil:
        cdef int64_t limit
        if until_us >= self.horizon_us:
            # the end of time: every packet's fate is known
            self.last_send_us = self.horizon_us
            if not self.fifo_engine:
                self._drain()
            self.q_len = 0
            self.q_bytes = 0
            return self._pop_out(NEVER, tag_out, arrival_us_out, cap)
        limit = until_us + self.entry_offset_us
        # the clock moves to until_us: a later packet cannot be sent before it
        if until_us > self.last_send_us:
            self.last_send_us = until_us
        if self.fifo_engine:
            while self.q_len > 0 and self.q[self.q_head].start_us <= limit:
                self._q_pop()
            if not self.repeat and limit >= self.end_us:
                self.q_len = 0  # the trace is over: what waited is lost (settled already)
                self.q_bytes = 0
        else:
            self._rationalize(limit)
        return self._pop_out(limit, tag_out, arrival_us_out, cap)

    @cython.final
    cdef Py_ssize_t _pop_out(self, int64_t limit_us, int64_t* tag_out, int64_t* arrival_us_out,
                             Py_ssize_t cap) noexcept nogil:
        # Hand out settled packets in settling order, those settled at or before limit_us.
        cdef Py_ssize_t n = 0
        cdef Settled* s
        while n < cap and self.out_len > 0:
            s = &self.out[self.out_head]
            if s.settle_us > limit_us:
                break
            tag_out[n] = s.tag
            arrival_us_out[n] = s.arrival_us
            n += 1
            self.out_head = (self.out_head + 1) & (self.out_cap - 1)
            self.out_len -= 1
        return n

    @cython.final
    cdef int64_t c_capacity_bps(self, int64_t t0_us, int64_t t1_us) noexcept nogil:
        cdef int64_t n_opps
        t0_us = min(max(t0_us, -self.horizon_us), self.horizon_us)
        t1_us = min(max(t1_us, -self.horizon_us), self.horizon_us)
        if t1_us <= t0_us:
            t1_us = t0_us + 1000
        n_opps = self._count_le(t1_us - 1) - self._count_le(t0_us - 1)
        return <int64_t>((<double>n_opps * <double>(OPP_BYTES * 8) * 1e6)
                         / <double>(t1_us - t0_us))

    @cython.final
    cdef int64_t c_queued_bytes(self) noexcept nogil:
        return self.q_bytes

    # ------------------------------------------------------------------ FIFO engine

    @cython.final
    cdef int _enqueue_fifo(self, int64_t entry_us, int64_t size_bytes, int64_t tag) noexcept nogil:
        cdef int64_t left, t, used, start, budget
        cdef bint have_start = False
        # packets whose first byte went out at or before entry_us have left the queue
        while self.q_len > 0 and self.q[self.q_head].start_us <= entry_us:
            self._q_pop()
        if entry_us > self.clock_us:
            self.clock_us = entry_us
        if not self.repeat and entry_us >= self.end_us:
            self.q_len = 0  # the trace is over: what waited is lost (settled already)
            self.q_bytes = 0
            return 1  # ... and nothing will ever carry this packet
        if not self._good_with(self.q_bytes + size_bytes, self.q_len + 1):
            return 1
        if self.tail_dead:
            if self._q_push(tag, entry_us, size_bytes, NEVER) != 0:
                return 1
            self._settle(tag, -1, self.end_us)
            return 0
        left = size_bytes
        start = NEVER
        if self.tail_time_us > entry_us and self.tail_used_bytes < OPP_BYTES:
            # the previous packet ends inside an opportunity still to come: share it
            start = self.tail_time_us
            budget = OPP_BYTES - self.tail_used_bytes
            if left <= budget:
                self.tail_used_bytes += left
                left = 0
            else:
                left -= budget
                self.tail_used_bytes = OPP_BYTES
        else:
            # idle until entry_us: every opportunity up to and including it is wasted
            self._seek_after(entry_us)
        while left > 0:
            if self.finished:
                self.tail_dead = True
                break
            t = self._opp_time()
            self._step()
            if start == NEVER:
                start = t
            used = left if left < OPP_BYTES else OPP_BYTES
            left -= used
            self.tail_time_us = t
            self.tail_used_bytes = used
        if self.tail_dead:
            if self._q_push(tag, entry_us, size_bytes, start) != 0:
                return 1
            self._settle(tag, -1, self.end_us)
            return 0
        if self._q_push(tag, entry_us, size_bytes, start) != 0:
            return 1
        self._settle(tag, self._arrival(self.tail_time_us), self.tail_time_us)
        return 0

    # ------------------------------------------------------------------ event engine

    @cython.final
    cdef int _enqueue_events(self, int64_t entry_us, int64_t size_bytes,
                             int64_t tag) noexcept nogil:
        cdef QPacket p
        self._rationalize(entry_us)
        if self.finished:
            return 1
        if self.queue_kind == QUEUE_DROPHEAD:
            if self._q_push(tag, entry_us, size_bytes, NEVER) != 0:
                return 1
            while not self._good_with(self.q_bytes, self.q_len):
                p = self._q_pop()
                if p.tag == tag and self.q_len == 0:
                    return 1  # the new packet alone breaks the limit: refused at once
                self._settle(p.tag, -1, entry_us)
            return 0
        if not self._good_with(self.q_bytes + size_bytes, self.q_len + 1):
            return 1
        if self._q_push(tag, entry_us, size_bytes, NEVER) != 0:
            return 1
        return 0

    @cython.final
    cdef void _rationalize(self, int64_t t_us) noexcept nogil:
        # Mahimahi's LinkQueue::rationalize: use every opportunity at or before t_us.
        cdef int64_t ot, budget, amount
        while not self.finished:
            ot = self._opp_time()
            if ot > t_us:
                break
            if self.transit_left_bytes == 0 and self.q_len == 0:
                self._seek_after(t_us)
                break
            self._step()
            budget = OPP_BYTES
            while budget > 0:
                if self.transit_left_bytes == 0:
                    if self.q_len == 0:
                        break  # the rest of this opportunity is wasted
                    self.transit = self._dequeue(ot)
                    self.transit_left_bytes = self.transit.size_bytes
                amount = budget if budget < self.transit_left_bytes else self.transit_left_bytes
                self.transit_left_bytes -= amount
                budget -= amount
                if self.transit_left_bytes == 0:
                    self._settle(self.transit.tag, self._arrival(ot), ot)
        if t_us > self.clock_us:
            self.clock_us = t_us
        if self.finished:
            self._settle_rest_as_lost()

    @cython.final
    cdef void _settle_rest_as_lost(self) noexcept nogil:
        cdef QPacket p
        if self.transit_left_bytes > 0:
            self.transit_left_bytes = 0
            self._settle(self.transit.tag, -1, self.end_us)
        while self.q_len > 0:
            p = self._q_pop()
            self._settle(p.tag, -1, self.end_us)

    @cython.final
    cdef QPacket _dequeue(self, int64_t now_us) noexcept nogil:
        # Caller guarantees q_len > 0.
        if self.queue_kind != QUEUE_CODEL:
            return self._q_pop()
        return self._codel_dequeue(now_us)

    @cython.final
    cdef QPacket _codel_dodequeue(self, int64_t now_ms, bint* ok_to_drop) noexcept nogil:
        # Mahimahi's CODELPacketQueue::dodequeue, in whole milliseconds as Mahimahi keeps time.
        cdef QPacket p = self._q_pop()
        cdef int64_t sojourn_ms
        ok_to_drop[0] = False
        if self.q_len == 0:
            self.codel_first_above_ms = 0
            return p
        sojourn_ms = now_ms - _floordiv(p.entry_us, 1000)
        if sojourn_ms < self.codel_target_ms or self.q_bytes <= OPP_BYTES:
            self.codel_first_above_ms = 0
        else:
            if self.codel_first_above_ms == 0:
                self.codel_first_above_ms = now_ms + self.codel_interval_ms
            elif now_ms >= self.codel_first_above_ms:
                ok_to_drop[0] = True
        return p

    @cython.final
    cdef int64_t _codel_control_law(self, int64_t t_ms, uint32_t count) noexcept nogil:
        if count == 0:
            count = 1
        return t_ms + <int64_t>(<double>self.codel_interval_ms / sqrt(<double>count))

    @cython.final
    cdef QPacket _codel_dequeue(self, int64_t now_us) noexcept nogil:
        # Mahimahi's CODELPacketQueue::dequeue. As there, the packet handed to the link is
        # the head; the packets dropped are the ones dequeued after it.
        cdef int64_t now_ms = _floordiv(now_us, 1000)
        cdef bint ok = False, ok2 = False
        cdef QPacket head = self._codel_dodequeue(now_ms, &ok)
        cdef QPacket victim
        cdef uint32_t delta
        if self.codel_dropping:
            if not ok:
                self.codel_dropping = False
            while now_ms >= self.codel_drop_next_ms and self.codel_dropping:
                if self.q_len == 0:
                    self.codel_dropping = False
                    break
                victim = self._codel_dodequeue(now_ms, &ok2)
                self._settle(victim.tag, -1, now_us)
                self.codel_count += 1
                if not ok2:
                    self.codel_dropping = False
                else:
                    self.codel_drop_next_ms = self._codel_control_law(
                        self.codel_drop_next_ms, self.codel_count)
        elif ok:
            victim = self._codel_dodequeue(now_ms, &ok2)
            self._settle(victim.tag, -1, now_us)
            self.codel_dropping = True
            delta = self.codel_count - self.codel_lastcount
            if (delta > 1 and now_ms >= self.codel_drop_next_ms
                    and now_ms - self.codel_drop_next_ms < 16 * self.codel_interval_ms):
                self.codel_count = delta
            else:
                self.codel_count = 1
            self.codel_drop_next_ms = self._codel_control_law(now_ms, self.codel_count)
            self.codel_lastcount = self.codel_count
        return head

    @cython.final
    cdef void _drain(self) noexcept nogil:
        # Serve the queue until it is empty (no new packets arrive): for provisional answers.
        cdef int64_t t
        while not self.finished and (self.q_len > 0 or self.transit_left_bytes > 0):
            t = self._opp_time()
            self._rationalize(t)
        if self.finished:
            self._settle_rest_as_lost()

    @cython.final
    cdef Link _clone(self):
        cdef Link c = Link.__new__(Link)
        c._setup(self._sched_owner, self.period_us, self.repeat, self._col_owner[0],
                 self._col_owner[1], self._col_owner[2], self.queue_kind, self.limit_bytes,
                 self.limit_packets, self.codel_target_ms, self.codel_interval_ms,
                 self.delay_us, self.delay_before_queue, self.fifo_engine, self.loss.kind,
                 self.loss.p, self.loss.p_good_bad, self.loss.p_bad_good,
                 self.loss.loss_good, self.loss.loss_bad, self.loss.on_ms, self.loss.off_ms,
                 self.seed)
        # copy every scalar of the running state
        c.col_cursor_loss = self.col_cursor_loss
        c.col_cursor_delay = self.col_cursor_delay
        c.loss = self.loss
        c.rng = self.rng
        c.idx = self.idx
        c.base_us = self.base_us
        c.finished = self.finished
        c.clock_us = self.clock_us
        c.last_send_us = self.last_send_us
        c.last_arrival_us = self.last_arrival_us
        c.tail_time_us = self.tail_time_us
        c.tail_used_bytes = self.tail_used_bytes
        c.tail_dead = self.tail_dead
        c.transit = self.transit
        c.transit_left_bytes = self.transit_left_bytes
        c.codel_first_above_ms = self.codel_first_above_ms
        c.codel_drop_next_ms = self.codel_drop_next_ms
        c.codel_count = self.codel_count
        c.codel_lastcount = self.codel_lastcount
        c.codel_dropping = self.codel_dropping
        c.n_offered = self.n_offered
        c.n_dropped_at_once = self.n_dropped_at_once
        c.n_lost_later = self.n_lost_later
        c.n_delivered = self.n_delivered
        cdef Py_ssize_t i, j
        for i in range(self.q_len):
            j = (self.q_head + i) & (self.q_cap - 1)
            c._q_push(self.q[j].tag, self.q[j].entry_us, self.q[j].size_bytes,
                      self.q[j].start_us)
        return c

    # ------------------------------------------------------------------ Python API

    def transmit(self, send_us, size_bytes):
        """Offer packets and return their arrival times in µs (``-1`` = lost).

        ``send_us`` must be non-decreasing and not earlier than the previous call's last
        packet: state (queue, position in the trace, loss process) carries over. For the
        ``infinite`` and ``droptail`` queues the answers are exact. For ``drophead`` and
        ``codel`` a packet still queued after the last one of this call is answered as if
        no later packet arrived; a later call may make the link drop it after all (the link
        state stays exact; only that earlier answer was provisional).
        """
        cdef const int64_t[::1] send = as_int64_array("send_us", send_us, min_value=0)
        cdef const int64_t[::1] size = as_int64_array("size_bytes", size_bytes, min_value=1)
        check_same_length(send_us=np.asarray(send), size_bytes=np.asarray(size))
        check_nondecreasing("send_us", np.asarray(send))
        cdef Py_ssize_t n = send.shape[0], i, k, got
        if n and send[0] < self.last_send_us:
            raise InputError(
                f"send_us: {send[0]} is earlier than the previous packet ({self.last_send_us})"
            )
        result = np.full(n, -1, dtype=np.int64)
        cdef int64_t[::1] res = result
        cdef int64_t first_tag = self.n_offered
        cdef int64_t[::1] tags = np.empty(max(n, 1) + 64, dtype=np.int64)
        cdef int64_t[::1] arr = np.empty(max(n, 1) + 64, dtype=np.int64)
        cdef Py_ssize_t cap = tags.shape[0]
        cdef Link sim
        if self.fifo_engine and n:
            # FIFO answers are final at enqueue: write them straight into the result
            self.direct_arr = &res[0]
            self.direct_first_tag = first_tag
            self.direct_n = n
        try:
            with nogil:
                for i in range(n):
                    self.c_enqueue(send[i], size[i], first_tag + i)
        finally:
            self.direct_arr = NULL
        if self.oom:
            raise MemoryError("Link: could not grow a packet buffer")
        # every packet of this call already settled (all of them in the FIFO engine)
        with nogil:
            while True:
                got = self._pop_out(NEVER, &tags[0], &arr[0], cap)
                for k in range(got):
                    if first_tag <= tags[k] < first_tag + n:
                        res[tags[k] - first_tag] = arr[k]
                if got < cap:
                    break
        if not self.fifo_engine:
            # the rest: serve a copy of the queue as if nothing else arrived
            sim = self._clone()
            with nogil:
                sim._drain()
                while True:
                    got = sim._pop_out(NEVER, &tags[0], &arr[0], cap)
                    for k in range(got):
                        if first_tag <= tags[k] < first_tag + n:
                            res[tags[k] - first_tag] = arr[k]
                    if got < cap:
                        break
            if sim.oom:
                raise MemoryError("Link: could not grow a packet buffer")
        return result

    def enqueue(self, send_us, size_bytes, tag):
        """Offer one packet (the replay loop's Python path); return False if dropped at once."""

        s = int_arg("send_us", send_us, 0)
        b = int_arg("size_bytes", size_bytes, 1)
        t = int_arg("tag", tag)
        if s < self.last_send_us:
            raise InputError(f"send_us: {s} is earlier than the previous packet")
        return self.c_enqueue(s, b, t) == 0

    def advance(self, until_us):
        """Settle packets whose fate is known at ``until_us``: ``(tags, arrival_us)`` arrays."""

        cdef int64_t u = int_arg("until_us", until_us)
        tags_all = []
        arr_all = []
        cdef int64_t[::1] tags = np.empty(4096, dtype=np.int64)
        cdef int64_t[::1] arr = np.empty(4096, dtype=np.int64)
        cdef Py_ssize_t got
        while True:
            with nogil:
                got = self.c_advance(u, &tags[0], &arr[0], 4096)
            tags_all.append(np.asarray(tags)[:got].copy())
            arr_all.append(np.asarray(arr)[:got].copy())
            if got < 4096:
                break
        if self.oom:
            raise MemoryError("Link: could not grow a packet buffer")
        return np.concatenate(tags_all), np.concatenate(arr_all)

    def capacity_bps(self, t0_us, t1_us):
        """Mean capacity of the trace over ``[t0_us, t1_us)`` in bit/s (trace time)."""

        a = int_arg("t0_us", t0_us)
        b = int_arg("t1_us", t1_us)
        return self.c_capacity_bps(a, b)

    @property
    def queued_bytes(self):
        """Bytes waiting in the bottleneck queue (Mahimahi's queue size; not the packet in
        transit)."""
        return self.c_queued_bytes()

    @property
    def stats(self):
        """Counters: ``offered``, ``dropped_at_once``, ``lost_later``, ``delivered``."""
        return {
            "offered": self.n_offered,
            "dropped_at_once": self.n_dropped_at_once,
            "lost_later": self.n_lost_later,
            "delivered": self.n_delivered,
        }
