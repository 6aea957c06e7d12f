"""GccEstimator: the whole send-side GoogCC controller, its contract and its invariants."""

from __future__ import annotations

import importlib.machinery
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mediaopt._core import gcc as gcc_module

import mediaopt
from mediaopt.bwe import BandwidthUsage, GccConfig, GccEstimator

PKT = 1200


def _snapshot(est: GccEstimator) -> tuple:
    return (
        est.target_bps,
        est.pacing_bps,
        est.delay_state,
        est.delay_based_bps,
        est.acknowledged_bps,
        est.loss_ratio,
        est.rtt_us,
        tuple(sorted(est.stats.items())),
    )


def simulate(
    capacity_bps,
    duration_s: float,
    *,
    loss: float = 0.0,
    owd_us: int = 40_000,
    queue_us: int = 400_000,
    seed: int = 0,
    est: GccEstimator | None = None,
):
    """Closed loop over a drop-tail FIFO bottleneck: media at the target, probes as asked.

    Returns the estimator and a list of (time_us, target_bps, delay_state).
    """
    rng = np.random.default_rng(seed)
    est = est or GccEstimator(start_bps=300_000, min_bps=30_000, max_bps=10_000_000)
    t = 0
    link_free = 0
    inflight: list[tuple[int, int, int, int]] = []  # send, arrival(-1 lost), size, cluster
    next_fb = 50_000
    next_tick = 0
    trace = []
    probes: list[dict[str, int]] = []
    end = int(duration_s * 1e6)

    def put(send_us: int, cluster: int) -> None:
        nonlocal link_free
        cap = capacity_bps(send_us)
        tx = PKT * 8 * 1_000_000 // cap
        if max(link_free, send_us) - send_us > queue_us or rng.random() < loss:
            inflight.append((send_us, -1, PKT, cluster))
        else:
            link_free = max(link_free, send_us) + tx
            inflight.append((send_us, link_free + owd_us, PKT, cluster))
        est.on_packet_sent(send_us, PKT, cluster)

    while t < end:
        # Events due by now, in time order: 25 ms ticks and 50 ms feedback reports.
        while min(next_tick, next_fb) <= t:
            if next_tick <= next_fb:
                est.process(next_tick)
                probes.extend(est.pop_probes(next_tick))
                next_tick += 25_000
                continue
            ready = [
                x
                for x in inflight
                if (x[1] >= 0 and x[1] + owd_us <= next_fb)
                or (x[1] < 0 and x[0] + 3 * owd_us <= next_fb)
            ]
            if ready:
                keep = set(ready)
                inflight = [x for x in inflight if x not in keep]
                a = np.array(sorted(ready), dtype=np.int64)
                est.on_feedback(a[:, 0], a[:, 1], a[:, 2], next_fb, probe_cluster_id=a[:, 3])
            trace.append((next_fb, est.target_bps, est.delay_state))
            next_fb += 50_000
        if probes:
            p = probes.pop(0)
            n = max(p["min_probes"], -(-p["min_bytes"] // PKT))
            gap = PKT * 8 * 1_000_000 // p["bitrate_bps"]
            for _ in range(n):
                put(t, p["cluster_id"])
                t += max(gap, 1)
            continue
        put(t, -1)
        t += max(1, PKT * 8 * 1_000_000 // est.target_bps)
    return est, trace


def _at(trace, t_s: float) -> int:
    return next(x[1] for x in trace if x[0] >= t_s * 1e6)


# ------------------------------------------------------------------ construction


def test_is_the_compiled_class_and_exported():
    assert mediaopt.GccEstimator is GccEstimator
    assert GccEstimator.__module__ == "mediaopt._core.gcc"
    assert gcc_module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    est = GccEstimator()
    assert (est.start_bps, est.min_bps, est.max_bps) == (300_000, 30_000, 30_000_000)
    assert est.target_bps == 300_000
    assert est.pacing_bps == 750_000
    assert est.delay_state is BandwidthUsage.NORMAL
    assert est.loss_ratio == 0.0
    assert repr(est).startswith("GccEstimator(target_bps=300000, pacing_bps=750000, ")


def test_start_is_clamped_into_min_max():
    est = GccEstimator(start_bps=10_000, min_bps=50_000, max_bps=100_000)
    assert est.target_bps == 50_000
    # libwebrtc never goes below its 5 kbps floor.
    assert GccEstimator(start_bps=100_000, min_bps=0).min_bps == 5_000


def test_initial_probes_at_3x_and_6x_the_start_rate():
    est = GccEstimator(start_bps=300_000)
    probes = est.pop_probes(0)
    assert [p["bitrate_bps"] for p in probes] == [900_000, 1_800_000]
    assert [p["cluster_id"] for p in probes] == [1, 2]
    assert all(p["min_probes"] == 5 for p in probes)
    # 15 ms worth of bytes at the probe rate, rounded as DataRate * TimeDelta does.
    assert [p["min_bytes"] for p in probes] == [1688, 3375]
    assert est.pop_probes(0) == []


# ------------------------------------------------------------------ behaviour


def test_ramps_up_and_settles_under_the_capacity():
    est, trace = simulate(lambda t: 2_000_000, 20)
    final = _at(trace, 19.9)
    assert 1_200_000 < final <= 2_300_000
    assert est.pacing_bps == int(est.target_bps * 2.5)


def test_backs_off_when_the_capacity_drops():
    _est, trace = simulate(lambda t: 2_000_000 if t < 10_000_000 else 500_000, 25)
    states = {s for t, _, s in trace if 10e6 <= t <= 14e6}
    assert BandwidthUsage.OVERUSING in states
    assert _at(trace, 24.9) < 650_000


def test_probe_result_lifts_the_estimate_at_once():
    est = GccEstimator(start_bps=300_000, max_bps=10_000_000)
    probes = est.pop_probes(0)
    cluster = probes[1]  # 1.8 Mbps
    n = 8
    gap = PKT * 8 * 1_000_000 // cluster["bitrate_bps"]
    send = np.arange(n) * gap
    arrival = 40_000 + send
    est.on_feedback(send, arrival, np.full(n, PKT), 100_000, probe_cluster_id=np.full(n, 2))
    assert est.target_bps == pytest.approx(1_800_000, rel=0.02)


def test_successful_probe_asks_for_a_further_probe():
    est = GccEstimator(start_bps=300_000, max_bps=10_000_000)
    cluster = est.pop_probes(0)[1]
    n = 8
    send = np.arange(n) * (PKT * 8 * 1_000_000 // cluster["bitrate_bps"])
    est.on_feedback(send, send + 40_000, np.full(n, PKT), 100_000, probe_cluster_id=np.full(n, 2))
    # The result reached 0.7 x the last probe: probe again at twice the estimate.
    assert [p["bitrate_bps"] for p in est.pop_probes(100_000)] == [2 * est.target_bps]


def test_sending_far_below_the_target_is_application_limited():
    est = GccEstimator(start_bps=1_000_000)
    est.pop_probes(0)
    send = np.arange(40, dtype=np.int64) * 10_000
    est.on_feedback(send, send + 30_000, np.full(40, PKT), 500_000)
    assert est.target_bps != 1_000_000  # a new target sizes the ALR budget
    for i in range(200):  # 100 bytes every 10 ms: far under 65 % of the target
        est.on_packet_sent(500_000 + i * 10_000, 100)
    assert est.in_alr
    for i in range(200):
        est.on_packet_sent(2_500_000 + i * 1_000, PKT)
    assert not est.in_alr


def test_heavy_random_loss_lowers_the_target():
    est, trace = simulate(lambda t: 20_000_000, 12, loss=0.25, seed=3)
    assert 0.15 < est.loss_ratio < 0.35
    # 11.5 s: with LossBasedBweV2 the target falls low enough that packets are ~180 ms
    # apart, so the last feedback report may come before 11.9 s.
    assert _at(trace, 11.5) < 300_000


def test_rtt_input_is_used():
    est = GccEstimator()
    est.set_rtt(123_000, 0)
    assert est.rtt_us == 123_000
    with pytest.raises(ValueError, match="rtt_us"):
        est.set_rtt(-1, 0)


def test_batch_path_equals_report_by_report():
    rng = np.random.default_rng(7)
    n = 3200
    send = np.cumsum(rng.integers(2_000, 6_000, n))
    arrival = send + 30_000 + np.cumsum(rng.integers(-50, 80, n)).clip(0)
    arrival[rng.random(n) < 0.02] = -1
    sizes = rng.integers(200, 1400, n)
    sizes_r = np.full(n // 32, 32)
    ends = np.cumsum(sizes_r)
    report_now = send[ends - 1] + 60_000
    a = GccEstimator()
    out = a.on_feedback_reports(send, arrival, sizes, sizes_r, report_now)
    b = GccEstimator()
    ticks = report_now[0]
    expected = []
    for r, end in enumerate(ends):
        while ticks <= report_now[r]:
            b.process(int(ticks))
            ticks += 25_000
        s = slice(end - 32, end)
        expected.append(b.on_feedback(send[s], arrival[s], sizes[s], int(report_now[r])))
    assert out.tolist() == expected
    assert _snapshot(a) == _snapshot(b)


# ------------------------------------------------------------------ properties


def _stream(draw_seed: int, n: int, loss: float, reorder: int):
    rng = np.random.default_rng(draw_seed)
    send = np.cumsum(rng.integers(500, 8_000, n)).astype(np.int64)
    queue = np.cumsum(rng.integers(-300, 400, n)).clip(0)
    arrival = (send + 20_000 + queue + rng.integers(0, reorder + 1, n)).astype(np.int64)
    arrival[rng.random(n) < loss] = -1
    sizes = rng.integers(50, 1500, n).astype(np.int64)
    return send, arrival, sizes


@settings(max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    loss=st.floats(0, 0.5),
    reorder=st.integers(0, 20_000),
    cuts=st.lists(st.integers(0, 300), max_size=12),
)
def test_splitting_a_report_does_not_change_the_estimate(seed, n, loss, reorder, cuts):
    send, arrival, sizes = _stream(seed, n, loss, reorder)
    now = int(max(send.max(), arrival.max()) + 10_000)
    whole = GccEstimator()
    whole.on_feedback(send, arrival, sizes, now)
    split = GccEstimator()
    bounds = sorted({0, n, *(c for c in cuts if c < n)})
    for lo, hi in itertools.pairwise(bounds):
        split.on_feedback(send[lo:hi], arrival[lo:hi], sizes[lo:hi], now)
    assert _snapshot(split) == _snapshot(whole)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_splitting_every_feedback_of_a_stream(seed, cuts):
    send, arrival, sizes = _stream(seed, 2000, 0.05, 3_000)
    report = 50
    a, b = GccEstimator(), GccEstimator()
    for r in range(0, 2000, report):
        s = slice(r, r + report)
        now = int(send[r + report - 1]) + 50_000
        a.process(now)
        b.process(now)
        a.on_feedback(send[s], arrival[s], sizes[s], now)
        pos = r
        for c in cuts:
            hi = min(pos + c, r + report)
            b.on_feedback(send[pos:hi], arrival[pos:hi], sizes[pos:hi], now)
            pos = hi
        b.on_feedback(
            send[pos : r + report], arrival[pos : r + report], sizes[pos : r + report], now
        )
        assert _snapshot(a) == _snapshot(b)


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 200))
def test_order_of_packets_within_a_report_does_not_matter(seed, n):
    send, arrival, sizes = _stream(seed, n, 0.1, 5_000)
    perm = np.random.default_rng(seed).permutation(n)
    now = int(send.max()) + 100_000
    a, b = GccEstimator(), GccEstimator()
    a.on_feedback(send, arrival, sizes, now)
    b.on_feedback(send[perm], arrival[perm], sizes[perm], now)
    assert _snapshot(a) == _snapshot(b)


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 200))
def test_duplicated_reports_are_ignored(seed, n):
    send, arrival, sizes = _stream(seed, n, 0.0, 0)
    now = int(send.max()) + 100_000
    a, b = GccEstimator(), GccEstimator()
    a.on_feedback(send, arrival, sizes, now)
    b.on_feedback(send, arrival, sizes, now)
    before = _snapshot(b)
    b.on_feedback(send, arrival, sizes, now + 50_000)  # the same packets again
    a.on_feedback(send[:0], arrival[:0], sizes[:0], now + 50_000)
    assert b.stats["duplicates"] == n
    assert _snapshot(b)[:-1] == _snapshot(a)[:-1] == before[:-1]


def test_lost_then_late_packet_counts_as_received():
    send = np.arange(40, dtype=np.int64) * 5_000
    arrival = send + 30_000
    sizes = np.full(40, PKT)
    first = arrival.copy()
    first[10] = -1  # reported lost ...
    est = GccEstimator()
    est.on_feedback(send[:30], first[:30], sizes[:30], 200_000)
    assert est.stats == {"packets_received": 29, "packets_lost": 1, "duplicates": 0}
    # ... then reported received in the next report: accepted once, not a duplicate.
    late = np.r_[send[10], send[30:]]
    late_arr = np.r_[arrival[10] + 150_000, arrival[30:]]
    est.on_feedback(late, late_arr, np.full(late.size, PKT), 400_000)
    assert est.stats == {"packets_received": 40, "packets_lost": 1, "duplicates": 0}
    # A third report of the same packet is a duplicate.
    est.on_feedback(send[10:11], arrival[10:11], sizes[:1], 450_000)
    assert est.stats["duplicates"] == 1


@settings(max_examples=40)
@given(
    start=st.integers(1, 50_000_000),
    lo=st.integers(0, 5_000_000),
    span=st.integers(0, 50_000_000),
    reports=st.lists(
        st.tuples(
            st.lists(st.integers(0, 10**9), min_size=0, max_size=40),
            st.integers(-1, 10**9),
            st.integers(0, 2**31 - 1),
            st.integers(0, 5_000_000),
        ),
        max_size=12,
    ),
)
def test_target_stays_within_bounds_and_finite(start, lo, span, reports):
    est = GccEstimator(start_bps=start, min_bps=lo, max_bps=lo + span + 1)
    now = 0
    for sends, arr, size, step in reports:
        now += step
        s = np.array(sorted(sends), dtype=np.int64)
        a = np.where(np.arange(s.size) % 3 == 0, -1, np.maximum(arr, 0) + s)
        z = np.full(s.size, size % 65_536)
        t = est.on_feedback(s, a, z, now)
        est.process(now)
        est.pop_probes(now)
        assert est.min_bps <= t <= est.max_bps
        assert est.min_bps <= est.target_bps <= est.max_bps
        assert 0.0 <= est.loss_ratio <= 1.0
        assert not math.isnan(est.loss_ratio)
        assert est.pacing_bps == int(est.target_bps * 2.5)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"send_us": [0, 1], "arrival_us": [0], "size_bytes": [1, 1]}, "same length"),
        ({"send_us": [0.5], "arrival_us": [0], "size_bytes": [1]}, "send_us"),
        ({"send_us": [np.nan], "arrival_us": [0], "size_bytes": [1]}, "send_us"),
        ({"send_us": [0], "arrival_us": [np.inf], "size_bytes": [1]}, "arrival_us"),
        ({"send_us": [0], "arrival_us": [-2], "size_bytes": [1]}, "arrival_us"),
        ({"send_us": [0], "arrival_us": [0], "size_bytes": [-1]}, "size_bytes"),
        ({"send_us": ["a"], "arrival_us": [0], "size_bytes": [1]}, "send_us"),
        ({"send_us": [[0]], "arrival_us": [[0]], "size_bytes": [[1]]}, "send_us"),
        ({"send_us": [0], "arrival_us": [0], "size_bytes": [True]}, "size_bytes"),
    ],
)
def test_bad_arrays_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GccEstimator().on_feedback(now_us=0, **kwargs)


def test_bad_probe_ids_and_now():
    est = GccEstimator()
    with pytest.raises(ValueError, match="probe_cluster_id"):
        est.on_feedback([0], [0], [1], 0, probe_cluster_id=[-5])
    with pytest.raises(ValueError, match="same length"):
        est.on_feedback([0], [0], [1], 0, probe_cluster_id=[1, 2])
    with pytest.raises(ValueError, match="now_us"):
        est.on_feedback([0], [0], [1], float("nan"))
    est.on_feedback([0], [10], [100], 1_000)
    with pytest.raises(ValueError, match="now_us: went backwards"):
        est.on_feedback([1], [11], [100], 999)
    with pytest.raises(ValueError, match="now_us: went backwards"):
        est.process(10)
    with pytest.raises(ValueError, match="now_us: went backwards"):
        est.pop_probes(10)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="max_bps"):
        GccEstimator(min_bps=100_000, max_bps=50_000)
    with pytest.raises(ValueError, match="start_bps"):
        GccEstimator(start_bps=0)
    with pytest.raises(ValueError, match="config"):
        GccEstimator(config={"backoff_factor": 0.5})
    with pytest.raises(ValueError, match="report_sizes"):
        GccEstimator().on_feedback_reports([0, 1], [5, 6], [1, 1], [1], [10])


def test_config_changes_behaviour():
    cfg = GccConfig(first_exponential_probe_scale=2.0, second_exponential_probe_scale=0.0)
    est = GccEstimator(config=cfg)
    assert [p["bitrate_bps"] for p in est.pop_probes(0)] == [600_000]
    assert est.config is cfg


# ------------------------------------------------------------------ the Python report path


def _as(kind: str, a: np.ndarray):
    # the same values in each form a caller may hand over
    if kind == "int64":
        return a
    if kind == "list":
        return a.tolist()
    if kind == "int32":
        return a.astype(np.int32)
    if kind == "float":
        return a.astype(np.float64)
    if kind == "strided":
        return np.repeat(a, 2)[::2]
    if kind == "readonly":
        b = a.copy()
        b.flags.writeable = False
        return b
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["list", "int32", "float", "strided", "readonly"])
def test_every_input_form_gives_the_int64_fast_paths_result(kind):
    send, arrival, sizes = _stream(7, 600, 0.05, 3_000)
    probes = np.where(np.arange(600) % 97 < 6, 1, -1).astype(np.int64)
    fast, other = GccEstimator(), GccEstimator()
    for r in range(0, 600, 30):
        s = slice(r, r + 30)
        now = int(send[r + 29]) + 40_000
        t_fast = fast.on_feedback(send[s], arrival[s], sizes[s], now, probe_cluster_id=probes[s])
        t_other = other.on_feedback(
            _as(kind, send[s]),
            _as(kind, arrival[s]),
            _as(kind, sizes[s]),
            np.int64(now) if kind == "int32" else now,
            probe_cluster_id=_as(kind, probes[s]),
        )
        assert t_fast == t_other
        assert _snapshot(fast) == _snapshot(other)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("send_us", -5, r"^send_us: value -5 is below the minimum 0$"),
        ("arrival_us", -2, r"^arrival_us: value -2 is below the minimum 0$"),
        ("size_bytes", 2**31, r"^size_bytes: value 2147483648 is above the maximum 2147483647$"),
        ("probe_cluster_id", -3, r"^probe_cluster_id: value -3 is below the minimum -1$"),
    ],
)
def test_a_bad_packet_late_in_a_report_changes_nothing(field, value, match):
    send, arrival, sizes = _stream(3, 200, 0.1, 2_000)
    arrays = {
        "send_us": send,
        "arrival_us": arrival,
        "size_bytes": sizes,
        "probe_cluster_id": np.full(200, -1, dtype=np.int64),
    }
    est, ref = GccEstimator(), GccEstimator()
    now = int(send[99]) + 30_000
    for e in (est, ref):
        e.on_feedback(send[:100], arrival[:100], sizes[:100], now)
    bad = {k: v[100:].copy() for k, v in arrays.items()}
    bad[field][80] = value
    # the same time as the report before (it would merge), then a later one (it would not)
    for t in (now, now + 1):
        with pytest.raises(ValueError, match=match):
            est.on_feedback(now_us=t, **bad)
        assert _snapshot(est) == _snapshot(ref)
    # and a good second half still merges with the first as if the bad one never came
    est.on_feedback(send[100:], arrival[100:], sizes[100:], now)
    ref.on_feedback(send[100:], arrival[100:], sizes[100:], now)
    assert _snapshot(est) == _snapshot(ref)


def test_array_errors_come_before_time_errors_as_in_the_checks():
    est = GccEstimator()
    est.on_feedback([0], [10], [100], 1_000)
    with pytest.raises(ValueError, match=r"^send_us"):
        est.on_feedback(np.array([-1], dtype=np.int64), [11], [100], 999)
    with pytest.raises(ValueError, match=r"^now_us: went backwards"):
        est.on_feedback(np.array([1], dtype=np.int64), np.array([11]), np.array([100]), 999)
    with pytest.raises(ValueError, match=r"^now_us: 9223372036854775808 is outside"):
        est.on_feedback(np.array([1]), np.array([11]), np.array([100]), 2**63)


def test_reports_grow_the_buffers_and_an_empty_report_is_a_no_op():
    send, arrival, sizes = _stream(5, 5000, 0.02, 1_000)
    a, b = GccEstimator(), GccEstimator()
    now = int(send.max()) + 50_000
    a.on_feedback(send, arrival, sizes, now)
    for lo in range(0, 5000, 700):
        b.on_feedback(send[lo : lo + 700], arrival[lo : lo + 700], sizes[lo : lo + 700], now)
    assert _snapshot(a) == _snapshot(b)
    before = _snapshot(a)
    a.on_feedback(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), now)
    assert _snapshot(a) == before
