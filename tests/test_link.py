"""The Link: Mahimahi's mm-link semantics, queues, delay, loss, incremental use."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mediaopt as mo
from mediaopt.traces import GilbertElliott, OnOffLoss, Trace

MS = 1000


def tr_ms(*stamps: int) -> Trace:
    return Trace.from_opportunities(list(stamps), name="t")


def run(trace, send_ms, sizes, **kw):
    link = mo.Link(trace, **kw)
    send = np.asarray(send_ms, dtype=np.int64) * MS
    return link.transmit(send, np.asarray(sizes, dtype=np.int64)) // 1


# ---------------------------------------------------------------- a reference model
# A direct, slow transcription of Mahimahi's LinkQueue::read_packet/rationalize and of its
# packet queues, in whole milliseconds, used to cross-check the core on random inputs.


class RefMahimahi:
    def __init__(self, sched_ms, queue, limit_bytes=0, limit_packets=0, target=5, interval=100):
        self.s, self.n, self.period = list(sched_ms), len(sched_ms), sched_ms[-1]
        self.idx, self.base = 0, 0
        self.queue, self.lb, self.lp = queue, limit_bytes, limit_packets
        self.q: deque = deque()  # (tag, arrival_ms, size)
        self.transit = None
        self.left = 0
        self.out: dict[int, int] = {}
        self.target, self.interval = target, interval
        self.first_above = 0
        self.drop_next = 0
        self.count = 0
        self.lastcount = 0
        self.dropping = False

    def qbytes(self):
        return sum(p[2] for p in self.q)

    def good(self, b, n):
        return (not self.lb or b <= self.lb) and (not self.lp or n <= self.lp)

    def dodequeue(self, now):
        p = self.q.popleft()
        if not self.q:
            self.first_above = 0
            return p, False
        ok = False
        if now - p[1] < self.target or self.qbytes() <= 1504:
            self.first_above = 0
        elif self.first_above == 0:
            self.first_above = now + self.interval
        elif now >= self.first_above:
            ok = True
        return p, ok

    def dequeue(self, now):
        if self.queue != "codel":
            return self.q.popleft()
        p, ok = self.dodequeue(now)
        if self.dropping:
            if not ok:
                self.dropping = False
            while now >= self.drop_next and self.dropping:
                v, ok2 = self.dodequeue(now)
                self.out[v[0]] = -1
                self.count += 1
                if not ok2:
                    self.dropping = False
                else:
                    self.drop_next += int(self.interval / math.sqrt(self.count))
        elif ok:
            v, _ = self.dodequeue(now)
            self.out[v[0]] = -1
            self.dropping = True
            delta = self.count - self.lastcount
            near = now >= self.drop_next and now - self.drop_next < 16 * self.interval
            self.count = delta if (delta > 1 and near) else 1
            self.drop_next = now + int(self.interval / math.sqrt(self.count))
            self.lastcount = self.count
        return p

    def rationalize(self, now):
        while self.base + self.s[self.idx] <= now:
            t = self.base + self.s[self.idx]
            self.idx = (self.idx + 1) % self.n
            if self.idx == 0:
                self.base += self.period
            budget = 1504
            while budget > 0:
                if self.left == 0:
                    if not self.q:
                        break
                    self.transit = self.dequeue(t)
                    self.left = self.transit[2]
                amount = min(budget, self.left)
                self.left -= amount
                budget -= amount
                if self.left == 0:
                    self.out[self.transit[0]] = t

    def read_packet(self, tag, now, size):
        self.rationalize(now)
        if self.queue in ("droptail", "codel"):
            if self.good(self.qbytes() + size, len(self.q) + 1):
                self.q.append((tag, now, size))
            else:
                self.out[tag] = -1
        elif self.queue == "drophead":
            self.q.append((tag, now, size))
            while not self.good(self.qbytes(), len(self.q)):
                v = self.q.popleft()
                self.out[v[0]] = -1
        else:
            self.q.append((tag, now, size))

    def run(self, send_ms, sizes):
        for i, (t, b) in enumerate(zip(send_ms, sizes, strict=True)):
            self.read_packet(i, t, b)
        horizon = (max(send_ms) if send_ms else 0) + 1
        while self.q or self.left:
            horizon += 1000
            self.rationalize(horizon)
        return [self.out.get(i, None) for i in range(len(send_ms))]


# ---------------------------------------------------------------- hand-computed schedules


def test_opportunities_carry_1504_bytes_and_packets_span_them():
    # one opportunity per ms; a 3000-byte packet needs two, a 100-byte one takes the 8
    # bytes left in the second and finishes in the third
    arr = run(tr_ms(1), [0, 0], [3000, 100])
    assert arr.tolist() == [2 * MS, 3 * MS]


def test_unused_budget_is_wasted_and_own_millisecond_is_used_first():
    # p0 uses 100 bytes of the opportunity at 1 ms; the rest is wasted. p1 arrives at 1 ms,
    # whose opportunity is already spent before p1 is queued: it leaves at 2 ms.
    arr = run(tr_ms(1), [0, 1], [100, 100])
    assert arr.tolist() == [1 * MS, 2 * MS]


def test_idle_gap_skips_to_the_next_opportunity():
    arr = run(tr_ms(10, 11, 50), [0, 12, 12], [1504, 1504, 1504])
    # loop period 50: the second period's opportunities are at 60, 61, 100
    assert arr.tolist() == [10 * MS, 50 * MS, 60 * MS]


def test_trace_loops_with_period_last_timestamp():
    arr = run(tr_ms(3, 5), [0] * 6, [1504] * 6)
    assert arr.tolist() == [x * MS for x in (3, 5, 8, 10, 13, 15)]


def test_wraparound_stacks_opportunities_like_mahimahi():
    # schedule 0,0,5 with period 5: at 5 ms the last of loop 0 and the two of loop 1 meet
    arr = run(tr_ms(0, 0, 5), [1] * 5, [1504] * 5)
    assert arr.tolist() == [5 * MS, 5 * MS, 5 * MS, 10 * MS, 10 * MS]


@pytest.mark.parametrize("engine", ["auto", "events"])
def test_infinite_queue_schedule(engine):
    # opportunities 0,0,5,5,10 | 10,10,15,15,20 | ...; 1000-byte packets one per ms
    arr = run(tr_ms(0, 0, 5, 5, 10), range(10), [1000] * 10, one_way_delay_ms=10, engine=engine)
    assert arr.tolist() == [x * MS for x in (15, 15, 15, 20, 20, 20, 20, 25, 25, 25)]


@pytest.mark.parametrize("engine", ["auto", "events"])
def test_droptail_schedule(engine):
    # the packet in transit is not in the queue: the limit counts waiting packets only
    arr = run(
        tr_ms(0, 0, 5, 5, 10), range(10), [1000] * 10,
        one_way_delay_ms=10, queue="droptail", queue_packets=2, engine=engine,
    )  # fmt: skip
    assert arr.tolist() == [15 * MS, 15 * MS, -1, -1, -1, 20 * MS, 20 * MS, -1, -1, -1]


def test_drophead_schedule():
    arr = run(
        tr_ms(0, 0, 5, 5, 10), range(10), [1000] * 10,
        one_way_delay_ms=10, queue="drophead", queue_packets=2,
    )  # fmt: skip
    assert arr.tolist() == [-1, -1, -1, 15 * MS, 15 * MS, -1, -1, -1, 20 * MS, 20 * MS]


def test_byte_limits():
    # 3000-byte limit: two 1400-byte packets wait, a third would make 4200
    arr = run(tr_ms(10), [0, 0, 0, 0], [1400] * 4, queue="droptail", queue_bytes=3000)
    assert arr.tolist() == [10 * MS, 20 * MS, -1, -1]
    arr = run(tr_ms(10), [0, 0, 0, 0], [1400] * 4, queue="drophead", queue_bytes=3000)
    assert arr.tolist() == [-1, -1, 10 * MS, 20 * MS]


def test_codel_drops_under_standing_queue_and_matches_reference():
    # 1 opportunity per ms (12 Mbit/s) and 2 packets per ms: a standing queue builds
    send = [i // 2 for i in range(2000)]
    sizes = [1504] * 2000
    arr = run(tr_ms(1), send, sizes, queue="codel", queue_packets=1000)
    ref = RefMahimahi([1], "codel", limit_packets=1000).run(send, sizes)
    assert arr.tolist() == [r * MS if r >= 0 else -1 for r in ref]
    lost = int((arr < 0).sum())
    assert 0 < lost < 1000
    # CoDel keeps the delay far below the droptail queue's
    tail = run(tr_ms(1), send, sizes, queue="droptail", queue_packets=1000)
    assert np.median(arr[arr >= 0] - np.asarray(send)[arr >= 0] * MS) < np.median(
        tail[tail >= 0] - np.asarray(send)[tail >= 0] * MS
    )


def test_delay_placement_uplink_and_downlink():
    tr = tr_ms(10)
    # uplink (mm-delay outside mm-link, sender inside): queue first, then delay
    assert run(tr, [0, 6], [1504, 1504], one_way_delay_ms=5).tolist() == [15 * MS, 25 * MS]
    # downlink (sender outside): delay first; entering at 5 and 11 ms
    arr = run(tr, [0, 6], [1504, 1504], one_way_delay_ms=5, direction="downlink")
    assert arr.tolist() == [10 * MS, 20 * MS]


# ---------------------------------------------------------------- end of trace


@pytest.mark.parametrize("engine", ["auto", "events"])
def test_no_repeat_reports_queued_packets_lost_at_the_end(engine):
    link = mo.Link(tr_ms(1, 2), repeat=False, engine=engine)
    arr = link.transmit(np.array([0, 0, 0, 2500]), np.array([1504, 1504, 1504, 100]))
    assert arr.tolist() == [1 * MS, 2 * MS, -1, -1]
    st_ = link.stats
    assert st_["offered"] == 4
    assert st_["dropped_at_once"] == 1  # the packet after the end


def test_no_repeat_settles_through_advance():
    link = mo.Link(tr_ms(1, 2), repeat=False)
    for i in range(3):
        assert link.enqueue(0, 1504, i)
    tags, arr = link.advance(10 * MS)
    assert tags.tolist() == [0, 1, 2]
    assert arr.tolist() == [1 * MS, 2 * MS, -1]
    assert link.enqueue(10 * MS, 100, 3) is False


# ---------------------------------------------------------------- long zero-capacity stretches


@pytest.mark.parametrize("engine", ["auto", "events"])
def test_long_outage_neither_hangs_nor_loses_packets(engine):
    hour_ms = 3_600_000
    tr = tr_ms(1, hour_ms)  # one opportunity, then nothing for an hour
    n = 5000
    send = np.arange(n, dtype=np.int64) * 10 + 2 * MS
    link = mo.Link(tr, engine=engine)
    arr = link.transmit(send, np.full(n, 1504))
    assert np.all(arr > 0)
    # each period has two opportunities (at 1 ms and at the hour), all after the outage
    assert arr[0] == hour_ms * MS
    assert np.all(np.diff(arr) >= 0)
    tags, arr2 = mo.Link(tr, engine=engine).advance(10 * hour_ms * MS)
    assert tags.size == 0 and arr2.size == 0


def test_advance_far_ahead_is_fast_path_not_a_loop():
    tr = tr_ms(1, 2, 3)
    link = mo.Link(tr, queue="codel", queue_packets=10)
    link.enqueue(0, 100, 7)
    tags, arr = link.advance(10**15)  # 30 years of emulated time, one jump
    assert tags.tolist() == [7] and arr.tolist() == [1 * MS]
    assert link.enqueue(10**15 + 1, 100, 8)


# ---------------------------------------------------------------- properties


packets = st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 3000)), min_size=1, max_size=120)
schedules = st.lists(st.integers(0, 40), min_size=1, max_size=30).map(
    lambda xs: sorted(xs) if max(xs) > 0 else [*xs, 1]
)


def _send(pk):
    t = np.cumsum([p[0] for p in pk]).astype(np.int64)
    return t, np.array([p[1] for p in pk], dtype=np.int64)


@given(schedules, packets, st.sampled_from(["infinite", "droptail", "drophead", "codel"]))
def test_matches_reference_mahimahi(sched, pk, queue):
    sched = sorted(sched)
    if sched[-1] == 0:
        sched = [*sched, 1]
    send_us, size = _send(pk)
    send_ms = (send_us // MS * MS).tolist()  # Mahimahi sees whole milliseconds
    kw = {} if queue == "infinite" else {"queue_bytes": 6000}
    arr = mo.Link(Trace.from_opportunities(sched), queue=queue, **kw).transmit(
        np.asarray(send_ms), size
    )
    ref = RefMahimahi(sched, queue, limit_bytes=kw.get("queue_bytes", 0)).run(
        [t // MS for t in send_ms], size.tolist()
    )
    assert arr.tolist() == [r * MS if r >= 0 else -1 for r in ref]


@given(
    schedules,
    packets,
    st.sampled_from(["infinite", "droptail"]),
    st.integers(0, 80),
    st.booleans(),
    st.sampled_from(["uplink", "downlink"]),
)
def test_fifo_engine_matches_event_engine(sched, pk, queue, delay_ms, repeat, direction):
    tr = Trace.from_opportunities(sched if sched[-1] > 0 else [*sched, 1])
    send, size = _send(pk)
    kw = {"repeat": repeat, "direction": direction, "loss": 0.1, "seed": 3}
    if queue == "droptail":
        kw["queue_packets"] = 4
    a_link = mo.Link(tr, delay_ms, queue, **kw)
    b_link = mo.Link(tr, delay_ms, queue, engine="events", **kw)
    assert a_link.transmit(send, size).tolist() == b_link.transmit(send, size).tolist()
    # the Python face of the contract agrees too, packet by packet
    c_link = mo.Link(tr, delay_ms, queue, engine="events", **kw)
    d_link = mo.Link(tr, delay_ms, queue, **kw)
    for i, (t, b) in enumerate(zip(send.tolist(), size.tolist(), strict=True)):
        assert c_link.enqueue(t, b, i) == d_link.enqueue(t, b, i)
        c_tags, c_arr = c_link.advance(t)
        d_tags, d_arr = d_link.advance(t)
        assert c_tags.tolist() == d_tags.tolist() and c_arr.tolist() == d_arr.tolist()
        assert c_link.queued_bytes == d_link.queued_bytes


@given(
    schedules,
    packets,
    st.sampled_from(["infinite", "droptail", "drophead", "codel"]),
    st.integers(0, 100),
    st.booleans(),
    st.floats(0, 0.5),
)
def test_conservation_order_and_delay(sched, pk, queue, delay_ms, repeat, loss):
    tr = Trace.from_opportunities(sched if sched[-1] > 0 else [*sched, 1])
    send, size = _send(pk)
    kw = {} if queue == "infinite" else {"queue_packets": 3}
    link = mo.Link(tr, delay_ms, queue, repeat=repeat, loss=loss, seed=1, **kw)
    tags_in = np.arange(send.size)
    accepted = [
        link.enqueue(int(t), int(b), int(i)) for t, b, i in zip(send, size, tags_in, strict=True)
    ]
    tags, arr = link.advance(10**12)
    # every accepted packet is settled exactly once; refused ones never appear
    assert sorted(tags.tolist()) == [i for i, ok in enumerate(accepted) if ok]
    delivered = arr >= 0
    # FIFO: delivered packets leave in send order, never before send + delay
    assert np.all(np.diff(tags[delivered]) > 0)
    assert np.all(arr[delivered] >= send[tags[delivered]] + delay_ms * MS)
    assert np.all(np.diff(arr[delivered]) >= 0)


@given(schedules, packets, st.sampled_from(["infinite", "droptail"]), st.integers(1, 5))
def test_transmit_is_incremental_for_fifo_queues(sched, pk, queue, cuts):
    tr = Trace.from_opportunities(sched if sched[-1] > 0 else [*sched, 1])
    send, size = _send(pk)
    kw = {} if queue == "infinite" else {"queue_bytes": 5000}
    whole = mo.Link(tr, 20, queue, **kw).transmit(send, size)
    link = mo.Link(tr, 20, queue, **kw)
    parts = [link.transmit(s, b) for s, b in zip(
        np.array_split(send, cuts), np.array_split(size, cuts), strict=True
    )]  # fmt: skip
    assert np.concatenate(parts).tolist() == whole.tolist()


def test_enqueue_advance_agrees_with_transmit():
    tr = mo.traces.bundled()["bus-3g-weak"]
    rng = np.random.default_rng(3)
    send = np.cumsum(rng.integers(0, 20_000, 3000))
    size = rng.integers(100, 1400, 3000)
    expect = mo.Link(tr, 40, queue_ms=200).transmit(send, size)
    link = mo.Link(tr, 40, queue_ms=200)
    got = np.full(send.size, -1)
    for i, (t, b) in enumerate(zip(send, size, strict=True)):
        link.enqueue(int(t), int(b), i)
        tags, arr = link.advance(int(t))
        got[tags] = arr
        assert np.all(arr[arr >= 0] >= 0)
    tags, arr = link.advance(int(send[-1]) + 10**10)
    got[tags] = arr
    assert got.tolist() == expect.tolist()


def test_advance_returns_only_settled_packets():
    link = mo.Link(tr_ms(10), 0)
    link.enqueue(0, 1504, 1)
    link.enqueue(0, 1504, 2)
    assert link.advance(9_999)[0].tolist() == []
    assert link.advance(10_000)[0].tolist() == [1]
    assert link.advance(20_000)[0].tolist() == [2]
    assert link.queued_bytes == 0


# ---------------------------------------------------------------- loss


def test_bernoulli_loss_is_seeded():
    tr = mo.traces.constant(100_000, 10)
    send = np.arange(20_000) * 100
    size = np.full(send.size, 200)
    a = mo.Link(tr, loss=0.1, seed=5).transmit(send, size)
    b = mo.Link(tr, loss=0.1, seed=5).transmit(send, size)
    c = mo.Link(tr, loss=0.1, seed=6).transmit(send, size)
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()
    assert abs((a < 0).mean() - 0.1) < 0.01


def test_gilbert_elliott_is_bursty_with_the_right_mean():
    ge = GilbertElliott.from_burst(mean_loss=0.05, mean_burst_packets=5)
    assert math.isclose(ge.mean_loss, 0.05)
    tr = mo.traces.constant(100_000, 10)
    n = 100_000
    a = mo.Link(tr, loss=ge, seed=1).transmit(np.arange(n) * 10, np.full(n, 100))
    lost = a < 0
    assert abs(lost.mean() - 0.05) < 0.01
    # mean run length of losses near the burst length (independent loss would give ~1.05)
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate(([0], lost.astype(int), [0])))))[::2]
    assert 3.5 < runs.mean() < 6.5


def test_periodic_onoff_loses_exactly_the_off_periods():
    tr = mo.traces.constant(100_000, 10)
    send = np.arange(0, 4_000_000, 1000)
    a = mo.Link(tr, loss=OnOffLoss(1.0, 0.5, periodic=True)).transmit(send, np.full(send.size, 100))
    off = (send % 1_500_000) >= 1_000_000
    assert np.array_equal(a < 0, off)


def test_onoff_exponential_outages():
    tr = mo.traces.constant(100_000, 10)
    send = np.arange(0, 600_000_000, 10_000)
    a = mo.Link(tr, loss=OnOffLoss(5.0, 1.0), seed=2).transmit(send, np.full(send.size, 100))
    assert abs((a < 0).mean() - 1 / 6) < 0.05
    assert a[0] >= 0  # on from time zero, as mm-onoff


def test_trace_loss_and_delay_columns_apply():
    tr = mo.traces.steps([(0, 10_000), (1, 10_000)], 2, loss=[0.0, 1.0], delay_ms=[0.0, 30.0])
    send = np.array([100_000, 500_000, 1_200_000, 1_500_000])
    a = mo.Link(tr).transmit(send, np.full(4, 100))
    assert a[2] == -1 and a[3] == -1
    assert 0 < a[0] - send[0] < 5000


# ---------------------------------------------------------------- configuration


def test_capacity_and_queue_ms():
    tr = tr_ms(1)
    link = mo.Link(tr)
    assert link.capacity_bps(500, 1_000_500) == 12_032_000  # [t0, t1): 1000 opportunities
    assert mo.Link(tr, queue_ms=100).config.limit_bytes == 150_400
    assert mo.Link(tr, queue_ms=100).config.queue == "droptail"
    assert mo.Link(tr, queue_packets=10, queue="codel").config.limit_packets == 10
    assert link.trace is tr


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"queue": "fifo"}, "queue"),
        ({"queue": "droptail"}, "needs queue_bytes"),
        ({"queue": "infinite", "queue_bytes": 10}, "no limit"),
        ({"one_way_delay_ms": -1}, "one_way_delay_ms"),
        ({"loss": 1.5}, "loss"),
        ({"direction": "sideways"}, "direction"),
        ({"seed": -1}, "seed"),
        ({"repeat": "yes"}, "repeat"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mo.Link(tr_ms(1), **kwargs)


def test_bad_transmit_inputs():
    link = mo.Link(tr_ms(1))
    with pytest.raises(ValueError, match="send_us"):
        link.transmit([5, 3], [100, 100])
    with pytest.raises(ValueError, match="size_bytes"):
        link.transmit([5, 6], [100, 0])
    with pytest.raises(ValueError, match="same length"):
        link.transmit([5, 6], [100])
    link.transmit([1000], [100])
    with pytest.raises(ValueError, match="earlier"):
        link.transmit([999], [100])
    with pytest.raises(ValueError, match="trace"):
        mo.Link(42)


def test_link_accepts_a_path(tmp_path):
    p = tmp_path / "t.down"
    p.write_text("1\n")
    assert mo.Link(p).transmit([0], [100]).tolist() == [1000]


@pytest.mark.parametrize("queue", ["infinite", "codel"])
def test_extreme_times_never_overflow(queue):
    kw = {} if queue == "infinite" else {"queue_packets": 5}
    tr = Trace.from_opportunities(list(range(1, 50_001)))  # many opportunities per period
    link = mo.Link(tr, 10, queue, **kw)
    big = 2**63 - 1
    assert link.enqueue(2**62, 100, 1)
    tags, arr = link.advance(big)
    assert tags.tolist() == [1] and arr[0] > 0
    assert link.capacity_bps(-big, big) >= 0
    assert link.capacity_bps(big - 5, big) >= 0
    assert mo.Link(tr).transmit([2**62], [100])[0] > 0


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("queue", ["codel", "drophead", "droptail"])
def test_bursty_overload_matches_reference(seed, queue):
    # on/off bursts at twice the capacity on a variable trace: CoDel enters and leaves its
    # dropping state many times; drophead and droptail overflow
    rng = np.random.default_rng(seed)
    sched = np.sort(rng.integers(1, 400, 60)).tolist()
    gaps = np.where(rng.random(3000) < 0.8, rng.integers(0, 2, 3000), rng.integers(0, 12, 3000))
    send_ms = np.cumsum(gaps).tolist()
    sizes = rng.integers(60, 1504, 3000).tolist()
    # CoDel gets a limit it never reaches, so every drop is an AQM decision
    limit = 100_000 if queue == "codel" else 60
    arr = mo.Link(Trace.from_opportunities(sched), queue=queue, queue_packets=limit).transmit(
        np.asarray(send_ms) * MS, sizes
    )
    ref = RefMahimahi(sched, queue, limit_packets=limit).run(send_ms, sizes)
    assert arr.tolist() == [r * MS if r >= 0 else -1 for r in ref]
    assert (arr < 0).any()


# ---------------------------------------------------------------- the compiled base class


def test_public_link_builds_on_the_compiled_link():
    from mediaopt._core import link as core

    link = mo.Link(tr_ms(1, 2, 3), one_way_delay_ms=5, queue_packets=4, seed=3)
    assert isinstance(link, core.Link) and type(link) is not core.Link
    assert link.trace.name == "t" and link.config.limit_packets == 4
    # the compiled class alone, from the plain values the public class resolved
    c = link.config
    bare = core.Link(
        c.opportunities_us, c.period_us, queue_kind=c.queue_kind,
        limit_packets=c.limit_packets, delay_us=c.delay_us, seed=c.seed,
    )  # fmt: skip
    send = np.arange(0, 40, 2, dtype=np.int64) * MS
    sizes = np.full(send.size, 1000, dtype=np.int64)
    assert bare.transmit(send, sizes).tolist() == link.transmit(send, sizes).tolist()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"opportunities_us": [], "period_us": 1000}, "opportunities_us: no delivery"),
        ({"opportunities_us": [5, 3], "period_us": 1000}, "opportunities_us: not non-decr"),
        ({"opportunities_us": [5, 3000], "period_us": 1000}, "after the period"),
        ({"opportunities_us": [5], "period_us": 0}, "period_us"),
        ({"opportunities_us": [5], "period_us": 10, "queue_kind": 7}, "queue_kind"),
        ({"opportunities_us": [5], "period_us": 10, "queue_kind": 2}, "fifo_engine"),
        ({"opportunities_us": [5], "period_us": 10, "loss_p": 1.5}, "loss_p"),
        ({"opportunities_us": [5], "period_us": 10, "col_loss": [0.1]}, "col_t_us"),
        (
            {"opportunities_us": [5], "period_us": 10, "col_t_us": [0, 5], "col_loss": [0.1]},
            "same length",
        ),
        ({"opportunities_us": [5], "period_us": 10, "seed": -1}, "seed"),
    ],
)
def test_the_compiled_link_checks_its_plain_values(kwargs, match):
    from mediaopt._core import link as core

    with pytest.raises(mo.InputError, match=match):
        core.Link(**kwargs)
