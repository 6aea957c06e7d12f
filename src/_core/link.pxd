# The bottleneck link: Mahimahi's mm-link (delivery opportunities of 1504 bytes, accounted
# byte by byte) behind one of its queues (infinite, droptail, drophead, codel), with a fixed
# one-way delay placed as the Mahimahi shells nest, and loss at the entrance.
# docs/link.md describes the semantics; link.pyx implements them.
cimport cython
from libc.stdint cimport int64_t, uint32_t, uint64_t

from mediaopt._core.rng cimport Xoshiro256


# Queue disciplines (Mahimahi's --uplink-queue / --downlink-queue names).
cdef enum QueueKind:
    QUEUE_INFINITE = 0
    QUEUE_DROPTAIL = 1
    QUEUE_DROPHEAD = 2
    QUEUE_CODEL = 3


# Loss processes applied when a packet is offered, before it can be queued.
cdef enum LossKind:
    LOSS_NONE = 0
    LOSS_BERNOULLI = 1        # independent loss with probability p (mm-loss)
    LOSS_GILBERT_ELLIOTT = 2  # two-state Markov chain stepped once per offered packet
    LOSS_ONOFF = 3            # mm-onoff: exponential on/off periods, everything lost while off
    LOSS_PERIODIC = 4         # deterministic on/off periods (Mahimahi's PeriodicSwitchingLink)


cdef struct LossState:
    int kind                  # a LossKind
    double p                  # LOSS_BERNOULLI: loss probability per packet
    double p_good_bad         # GE: probability of moving good -> bad at each packet
    double p_bad_good         # GE: probability of moving bad -> good at each packet
    double loss_good          # GE: loss probability in the good state
    double loss_bad           # GE: loss probability in the bad state
    int bad                   # GE: 1 while in the bad state
    int64_t on_ms             # ONOFF: mean on time; PERIODIC: on time (ms)
    int64_t off_ms            # ONOFF: mean off time; PERIODIC: off time (ms)
    int on                    # ONOFF/PERIODIC: 1 while the link lets packets through
    int64_t next_switch_ms    # ONOFF/PERIODIC: link time of the next on/off switch (ms)


# One packet waiting in (or being carried by) the bottleneck.
cdef struct QPacket:
    int64_t tag               # the caller's tag
    int64_t entry_us          # when it entered the bottleneck queue (link clock, us)
    int64_t size_bytes        # size on the wire (bytes)
    int64_t start_us          # FIFO engine: opportunity carrying its first byte (us); INT64_MAX if never


# One settled packet waiting to be handed out by c_advance.
cdef struct Settled:
    int64_t tag               # the caller's tag
    int64_t arrival_us        # arrival at the far end (us), or -1 when lost after acceptance
    int64_t settle_us         # link-clock time its fate became known (us)


# Python subclasses (the public mediaopt.Link) add resolution, never C behaviour: every
# cdef method is final, so calls stay direct (and inlinable) as in a final class.
cdef class Link:
    # ---- trace (one period), read-only after construction ----
    cdef object _sched_owner          # the int64 numpy array behind sched
    cdef const int64_t* sched         # opportunity times within one period, us, non-decreasing
    cdef Py_ssize_t n_sched           # number of opportunities per period (>= 1)
    cdef int64_t period_us            # trace period (duration), us; the schedule repeats with it
    cdef bint repeat                  # loop the trace (Mahimahi's default) or stop at its end
    cdef int64_t horizon_us           # times are clamped here so opportunity counts never overflow
    cdef object _col_owner            # numpy arrays behind the optional columns
    cdef const int64_t* col_t_us      # start times of the loss/delay column steps, us
    cdef const double* col_loss       # per-step loss probability, or NULL
    cdef const int64_t* col_delay_us  # per-step extra one-way delay (us), or NULL
    cdef Py_ssize_t n_col             # number of column steps (0 when no columns)
    cdef Py_ssize_t col_cursor_loss   # step index last used for the loss column
    cdef Py_ssize_t col_cursor_delay  # step index last used for the delay column

    # ---- configuration ----
    cdef uint64_t seed                # seed of the loss draws
    cdef bint delay_before_queue      # the delay sits before the queue (downlink)
    cdef int queue_kind               # a QueueKind
    cdef int64_t limit_bytes          # queue limit in bytes (0 = none)
    cdef int64_t limit_packets        # queue limit in packets (0 = none)
    cdef int64_t codel_target_ms      # CoDel target sojourn time (ms)
    cdef int64_t codel_interval_ms    # CoDel interval (ms)
    cdef int64_t delay_us             # fixed one-way propagation delay (us)
    cdef int64_t entry_offset_us      # added to send_us to get the link-clock entry time
    cdef int64_t exit_delay_us        # added to the departure time to get the arrival time
    cdef bint fifo_engine             # True: arrivals predicted at enqueue (exact for FIFO)
    cdef LossState loss
    cdef Xoshiro256 rng               # seeded PRNG for every loss draw

    # ---- opportunity cursor (global index = loop * n_sched + idx) ----
    cdef Py_ssize_t idx               # next unused opportunity within the period
    cdef int64_t base_us              # start time of the current loop (us)
    cdef bint finished                # repeat=False and every opportunity has been used
    cdef int64_t end_us               # repeat=False: time of the final opportunity (us)
    cdef int64_t clock_us             # link clock: opportunities up to here are processed (us)
    cdef int64_t last_send_us         # last send_us offered (calls must not go back in time)
    cdef int64_t last_arrival_us      # last arrival handed out (arrivals never reorder)

    # ---- FIFO engine: where the last accepted packet's final byte went ----
    cdef int64_t tail_time_us         # time of the opportunity carrying it (us), -1 if none yet
    cdef int64_t tail_used_bytes      # bytes of that opportunity already used
    cdef bint tail_dead               # repeat=False: the trace ran out under the queue

    # ---- waiting queue: ring buffer of QPacket ----
    cdef QPacket* q
    cdef Py_ssize_t q_cap
    cdef Py_ssize_t q_head
    cdef Py_ssize_t q_len
    cdef int64_t q_bytes              # bytes waiting (excludes the packet in transit)

    # ---- general engine: the packet being carried across opportunities ----
    cdef QPacket transit
    cdef int64_t transit_left_bytes   # bytes of it still to send (0 = none in transit)

    # ---- CoDel state (Mahimahi's CODELPacketQueue, times in ms) ----
    cdef int64_t codel_first_above_ms
    cdef int64_t codel_drop_next_ms
    cdef uint32_t codel_count
    cdef uint32_t codel_lastcount
    cdef bint codel_dropping

    # ---- settled packets waiting for c_advance: ring buffer of Settled ----
    cdef Settled* out
    cdef Py_ssize_t out_cap
    cdef Py_ssize_t out_head
    cdef Py_ssize_t out_len
    # transmit() with the FIFO engine writes arrivals straight into its result array
    cdef int64_t* direct_arr          # result array, or NULL
    cdef int64_t direct_first_tag     # tag of direct_arr[0]
    cdef int64_t direct_n             # length of direct_arr

    # ---- counters ----
    cdef int64_t n_offered            # packets offered
    cdef int64_t n_dropped_at_once    # packets refused by c_enqueue
    cdef int64_t n_lost_later         # packets reported lost by c_advance
    cdef int64_t n_delivered          # packets settled with an arrival time
    cdef bint oom                     # a buffer could not grow: the Python layer raises MemoryError

    # ---- the contract used by the replay loop (CONTRACTS.md); never changes ----
    # Offer one packet sent at send_us (non-decreasing across calls and not before the last
    # c_advance; an earlier time is treated as that time). Returns 0 when accepted, 1 when
    # dropped at once (loss at the entrance, full droptail/codel queue, drophead packet that
    # alone breaks the byte limit, repeat=False trace already over).
    @cython.final
    cdef int c_enqueue(self, int64_t send_us, int64_t size_bytes, int64_t tag) noexcept nogil
    # Write (tag, arrival_us) of packets whose fate is known at until_us (last byte left the
    # bottleneck by then, or dropped after acceptance: arrival -1), in settling order; arrival
    # may be later than until_us (propagation delay). Returns the count; equal to cap means
    # call again. Moves the link clock to until_us. Never loops per millisecond.
    @cython.final
    cdef Py_ssize_t c_advance(self, int64_t until_us, int64_t* tag_out, int64_t* arrival_us_out,
                              Py_ssize_t cap) noexcept nogil
    # Mean capacity of the trace over [t0_us, t1_us) in bit/s (trace time; t1 <= t0 -> 1 ms).
    @cython.final
    cdef int64_t c_capacity_bps(self, int64_t t0_us, int64_t t1_us) noexcept nogil
    # Bytes waiting in the queue (Mahimahi's queue size: not the packet being carried).
    @cython.final
    cdef int64_t c_queued_bytes(self) noexcept nogil

    # ---- internals ----
    @cython.final
    cdef int _setup(self, object sched_owner, int64_t period_us, bint repeat,
                    object col_t_owner, object col_loss_owner, object col_delay_owner,
                    int queue_kind, int64_t limit_bytes, int64_t limit_packets,
                    int64_t codel_target_ms, int64_t codel_interval_ms, int64_t delay_us,
                    bint delay_before_queue, bint fifo_engine, int loss_kind, double loss_p,
                    double ge_p_good_bad, double ge_p_bad_good, double ge_loss_good,
                    double ge_loss_bad, int64_t on_ms, int64_t off_ms,
                    uint64_t seed) except -1
    @cython.final
    cdef void _reset_state(self) noexcept
    @cython.final
    cdef int64_t _opp_time(self) noexcept nogil
    @cython.final
    cdef void _step(self) noexcept nogil
    @cython.final
    cdef int64_t _count_le(self, int64_t t_us) noexcept nogil
    @cython.final
    cdef void _seek_after(self, int64_t t_us) noexcept nogil
    @cython.final
    cdef int _lost_on_entry(self, int64_t send_us) noexcept nogil
    @cython.final
    cdef int64_t _arrival(self, int64_t depart_us) noexcept nogil
    @cython.final
    cdef int _q_push(self, int64_t tag, int64_t entry_us, int64_t size_bytes,
                     int64_t start_us) noexcept nogil
    @cython.final
    cdef QPacket _q_pop(self) noexcept nogil
    @cython.final
    cdef int _settle(self, int64_t tag, int64_t arrival_us, int64_t settle_us) noexcept nogil
    @cython.final
    cdef int _enqueue_fifo(self, int64_t entry_us, int64_t size_bytes, int64_t tag) noexcept nogil
    @cython.final
    cdef int _enqueue_events(self, int64_t entry_us, int64_t size_bytes,
                             int64_t tag) noexcept nogil
    @cython.final
    cdef void _rationalize(self, int64_t t_us) noexcept nogil
    @cython.final
    cdef void _settle_rest_as_lost(self) noexcept nogil
    @cython.final
    cdef QPacket _dequeue(self, int64_t now_us) noexcept nogil
    @cython.final
    cdef QPacket _codel_dodequeue(self, int64_t now_ms, bint* ok_to_drop) noexcept nogil
    @cython.final
    cdef QPacket _codel_dequeue(self, int64_t now_us) noexcept nogil
    @cython.final
    cdef int64_t _codel_control_law(self, int64_t t_ms, uint32_t count) noexcept nogil
    @cython.final
    cdef Py_ssize_t _col_index(self, int64_t t, Py_ssize_t* cursor) noexcept nogil
    @cython.final
    cdef Py_ssize_t _pop_out(self, int64_t limit_us, int64_t* tag_out, int64_t* arrival_us_out,
                             Py_ssize_t cap) noexcept nogil
    @cython.final
    cdef bint _good_with(self, int64_t size_bytes, int64_t size_packets) noexcept nogil
    @cython.final
    cdef void _drain(self) noexcept nogil
    @cython.final
    cdef Link _clone(self)
