"""mediaopt.sla: window rules and reasons, the capacity floor, pooled availability and its bound."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaopt import policies, sla
from mediaopt.errors import InputError
from mediaopt.policies import ClinicalProfile, floor_capacity_kbps
from mediaopt.replay.metrics import (
    FrameLog,
    IntervalLog,
    evaluate,
    session_metrics,
    timeseries,
    window_scores,
)

CONSULT = ClinicalProfile()  # standard tier: 300 ms, 15 fps, 640x480, 171.5 kbit/s


def frame_log(capture_ms, render_ms, width=640, height=480):
    capture_ms = np.asarray(capture_ms, dtype=np.float64)
    render_ms = np.asarray(render_ms, dtype=np.float64)
    n = capture_ms.size
    return FrameLog(
        capture_us=np.round(capture_ms * 1000).astype(np.int64),
        render_us=np.where(render_ms < 0, -1, np.round(render_ms * 1000)).astype(np.int64),
        size_bytes=np.full(n, 1000),
        width=np.broadcast_to(np.asarray(width), n),
        height=np.broadcast_to(np.asarray(height), n),
        keyframe=np.arange(n) == 0,
        quality_db=np.full(n, 36.0),
    )


def interval_log(duration_s, capacity_bps=1_000_000):
    n = math.ceil(duration_s * 10 - 1e-9)
    cap = np.broadcast_to(np.asarray(capacity_bps, dtype=np.int64), n).copy()
    full = lambda v: np.full(n, v, dtype=np.int64)  # noqa: E731
    return IntervalLog(
        t_us=np.arange(n, dtype=np.int64) * 100_000,
        capacity_bps=cap,
        target_bps=cap // 2,
        sent_bytes=full(10_000),
        goodput_bytes=full(9_000),
        packets_sent=full(10),
        packets_lost=full(0),
        rtt_us=full(100_000),
    )


def steady(duration_s, fps=15.0, delay_ms=100.0):
    capture = np.arange(0, duration_s * 1000 - delay_ms, 1000 / fps)
    return capture, capture + delay_ms


# --- windows ----------------------------------------------------------------------------


def test_window_spans():
    s = sla.window_spans(12_032_000)
    assert len(s.start_us) == 13
    assert s.covered_us[:-1].tolist() == [1_000_000] * 12 and s.covered_us[-1] == 32_000
    # the partial last window is judged on the session's last second
    assert s.judged_from_us[-1] == 11_032_000 and s.stop_us[-1] == 12_032_000
    assert s.judged_from_us[:-1].tolist() == s.start_us[:-1].tolist()
    whole = sla.window_spans(3_000_000)
    assert whole.covered_us.tolist() == [1_000_000] * 3
    assert whole.judged_from_us.tolist() == [0, 1_000_000, 2_000_000]
    short = sla.window_spans(400_000)
    assert short.covered_us.tolist() == [400_000] and short.judged_from_us.tolist() == [0]
    assert len(sla.window_spans(0).start_us) == 0
    with pytest.raises(InputError, match="end_us"):
        sla.window_spans(-1)


def score(**kw):
    base = {
        "frames": [15],
        "frame_delay_ms": [120.0],
        "fps": [15.0],
        "min_pixels": [640 * 480],
        "frozen": [False],
        "capacity_kbps": [1000.0],
    }
    base.update(kw)
    return sla.score_windows(CONSULT, **base)


def test_each_rule_and_its_reason():
    assert score().usable.tolist() == [True]
    assert sla.reason_names(score(frozen=[True]).reasons[0]) == ("frozen",)
    assert sla.reason_names(score(frame_delay_ms=[300.0]).reasons[0]) == ("late",)
    assert score(frame_delay_ms=[299.9]).usable[0]
    assert sla.reason_names(score(fps=[14.99]).reasons[0]) == ("low_fps",)
    assert sla.reason_names(score(min_pixels=[640 * 360]).reasons[0]) == ("low_resolution",)
    # 16:9 with the floor's pixel count meets a 4:3 floor
    assert score(min_pixels=[739 * 416]).usable[0]
    # no frame: no_video only (nothing to judge for delay, rate or resolution)
    s = score(frames=[0], frame_delay_ms=[0.0], fps=[0.0], min_pixels=[0])
    assert sla.reason_names(s.reasons[0]) == ("no_video",)
    s = score(frames=[0], frame_delay_ms=[0.0], fps=[0.0], min_pixels=[0], frozen=[True])
    assert sla.reason_names(s.reasons[0]) == ("frozen", "no_video")
    many = score(frame_delay_ms=[400.0], fps=[5.0], min_pixels=[100])
    assert sla.reason_names(many.reasons[0]) == ("late", "low_fps", "low_resolution")
    assert many.has("late")[0] and many.has(sla.Reason.LOW_FPS)[0] and not many.has("frozen")[0]


def test_excluded_windows_are_outside_the_contract():
    s = score(
        frames=[15, 15, 0],
        frame_delay_ms=[100.0, 100.0, 0.0],
        fps=[15.0, 15.0, 0.0],
        min_pixels=[307200] * 3,
        frozen=[False] * 3,
        capacity_kbps=[171.4, 171.5, float("nan")],
    )
    assert s.excluded.tolist() == [True, False, False]  # NaN: capacity unknown
    summary = s.summary()
    assert summary.excluded_us == 1_000_000 and summary.counted_us == 2_000_000
    assert summary.usable_us == 1_000_000 and summary.unusable_no_video_us == 1_000_000
    # no capacity given, or a profile without a capacity floor: nothing is excluded
    assert not score(capacity_kbps=None, frames=[1]).excluded.any()

    @dataclasses.dataclass(frozen=True)
    class NoFloor:
        name: str = "x"
        tier: str = "standard"
        availability: float = 0.999
        max_frame_delay_ms: float = 300.0
        min_fps: float = 15.0
        min_width: int = 640
        min_height: int = 480

    s = sla.score_windows(
        NoFloor(), frames=[1], frame_delay_ms=[1.0], fps=[30.0], min_pixels=[307200],
        frozen=[False], capacity_kbps=[0.0],
    )  # fmt: skip
    assert not s.excluded[0] and s.usable[0]


def test_score_windows_checks_its_inputs():
    with pytest.raises(InputError, match="same length"):
        score(fps=[15.0, 15.0])
    with pytest.raises(InputError, match="frames"):
        score(frames=[-1])
    with pytest.raises(InputError, match="frame_delay_ms"):
        score(frame_delay_ms=[float("nan")])
    with pytest.raises(InputError, match="frozen"):
        score(frozen=[2])
    with pytest.raises(InputError, match="covered_us"):
        score(covered_us=[1_000_001])
    with pytest.raises(InputError, match="capacity_kbps"):
        score(capacity_kbps=[-1.0])
    with pytest.raises(InputError, match="profile"):
        sla.score_windows(
            object(), frames=[1], frame_delay_ms=[1.0], fps=[1.0], min_pixels=[1], frozen=[False]
        )  # type: ignore[arg-type]


def test_one_live_window_at_a_time_adds_up_to_the_batch():
    rng = np.random.default_rng(3)
    n = 50
    kw = {
        "frames": rng.integers(0, 30, n),
        "frame_delay_ms": rng.uniform(50, 500, n),
        "fps": rng.uniform(5, 30, n),
        "min_pixels": rng.choice([320 * 240, 640 * 480, 1280 * 720], n),
        "frozen": rng.random(n) < 0.1,
        "capacity_kbps": rng.uniform(100, 2000, n),
    }
    batch = sla.score_windows(CONSULT, **kw)
    total = sla.WindowSummary()
    for i in range(n):
        one = sla.score_windows(CONSULT, **{k: v[i : i + 1] for k, v in kw.items()})
        assert one.reasons[0] == batch.reasons[i] and one.excluded[0] == batch.excluded[i]
        total = total + one.summary()
    assert total == batch.summary() and total.windows == n


def test_summary_seconds_and_strict_per_call_reading():
    s = sla.WindowSummary(windows=3, covered_us=2_500_000, excluded_us=500_000, usable_us=1_998_000)
    assert s.counted_us == 2_000_000 and s.unusable_us == 2_000
    assert s.availability == pytest.approx(0.999)
    assert s.tier_met(0.999) and not s.tier_met(0.9999)
    assert not sla.WindowSummary().tier_met(0.0) and sla.WindowSummary().availability == 0.0
    d = s.as_dict()
    assert list(d) == list(sla.SUMMARY_COLUMNS)
    assert d["counted_s"] == 2.0 and d["excluded_s"] == 0.5 and d["usable_s"] == 1.998


# --- hand-made frame logs through the replay's window table ------------------------------


def test_short_last_window_on_a_perfect_link():
    # 12.032 s (the bundled constant-1mbps trace): 32 ms at the end hold no frame at 15 fps
    frames = frame_log(*steady(12.032))
    m = session_metrics(frames, interval_log(12.032), CONSULT, 12.032)
    ts = timeseries(frames, interval_log(12.032), CONSULT, duration_s=12.032)
    assert len(ts) == 13 and ts["covered_s"].iloc[-1] == pytest.approx(0.032)
    assert ts["usable"].all()
    assert m["usable_ratio"] == 1.0 and m["tier_met"] == 1.0


def test_short_last_window_weighs_by_its_length():
    # the picture stops at 11.5 s: the end is a freeze, judged on the last second
    capture, render = steady(12.032)
    render = np.where(capture < 11_400, render, -1)
    frames = frame_log(capture, render)
    metrics, table, scores = evaluate(frames, interval_log(12.032), CONSULT, 12.032)
    assert not table["usable"][-1] and table["frozen"][-1]
    assert table["usable"].tolist()[:11] == [True] * 11
    s = scores.summary()
    assert s.covered_us == 12_032_000
    # windows 11 ([11, 12) s) and 12 (32 ms) are unusable
    assert s.usable_us == 11_000_000
    assert metrics["usable_ratio"] == pytest.approx(11.0 / 12.032)


def test_reasons_per_window_on_a_hand_made_log():
    # 10 s at 25 fps and 100 ms: the delay ramps up to 340 ms and back around 2.4 s (no
    # gap long enough to freeze), second 4 at 320x240, second 6 at about 8 fps (every third
    # frame), nothing rendered after 7.95 s, and the link below the floor in second 9
    capture = np.arange(0, 10_000, 40.0)
    delay = 100.0 + 240.0 * np.clip(1 - np.abs(capture - 2400.0) / 600.0, 0, 1)
    render = capture + delay
    render = np.where(render >= 7950, -1.0, render)
    region = (render >= 6000) & (render < 7000)
    keep = ~region | (np.arange(capture.size) % 3 == 0)
    capture, render = capture[keep], render[keep]
    low = (render >= 4000) & (render < 5000)
    frames = frame_log(
        capture, render, width=np.where(low, 320, 640), height=np.where(low, 240, 480)
    )
    cap = np.full(100, 1_000_000)
    cap[90:] = 100_000
    intervals = interval_log(10.0, capacity_bps=cap)
    ts = timeseries(frames, intervals, CONSULT, duration_s=10.0)
    reasons = [tuple(r for r in sla.REASONS if ts[r][i]) for i in range(10)]
    assert reasons == [
        (), (), ("late",), (), ("low_resolution",), (), ("low_fps",), ("frozen",),
        ("frozen", "no_video"), ("frozen", "no_video"),
    ]  # fmt: skip
    assert ts["excluded"].tolist() == [False] * 9 + [True]
    assert ts["usable"].tolist() == [r == () for r in reasons]
    scores = window_scores(frames, intervals, CONSULT, duration_s=10.0)
    assert scores.usable.tolist() == ts["usable"].tolist()
    s = scores.summary()
    assert s.excluded_us == 1_000_000 and s.usable_us == 4_000_000  # seconds 0, 1, 3, 5
    assert s.unusable_frozen_us == 2_000_000 and s.unusable_no_video_us == 1_000_000


@st.composite
def sessions(draw):
    n = draw(st.integers(0, 150))
    gaps = draw(st.lists(st.integers(0, 300_000), min_size=n, max_size=n))
    capture = np.cumsum(np.asarray(gaps, dtype=np.int64))
    delays = np.asarray(draw(st.lists(st.integers(0, 900_000), min_size=n, max_size=n)))
    lost = np.asarray(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    render = np.where(lost, -1, capture + delays)
    h = np.asarray(draw(st.lists(st.sampled_from([240, 480, 720]), min_size=n, max_size=n)))
    frames = FrameLog(capture, render, np.full(n, 900), (h * 4) // 3, h, lost, np.full(n, 30.0))
    duration_s = draw(st.floats(0.0, 30.0))
    caps = draw(st.lists(st.sampled_from([50_000, 500_000]), min_size=1, max_size=1))
    return frames, duration_s, caps[0]


@settings(max_examples=60, deadline=None)
@given(sessions())
def test_usable_ratio_and_the_time_series_agree_by_construction(data):
    frames, duration_s, cap = data
    intervals = interval_log(duration_s, capacity_bps=cap)
    m = session_metrics(frames, intervals, CONSULT, duration_s)
    ts = timeseries(frames, intervals, CONSULT, duration_s=duration_s)
    counted = ~ts["excluded"]
    w = ts["covered_s"][counted]
    expect = float((w * ts["usable"][counted]).sum() / w.sum()) if w.sum() > 0 else 0.0
    assert m["usable_ratio"] == pytest.approx(expect, abs=1e-12)
    assert ts["covered_s"].sum() == pytest.approx(round(duration_s * 1e6) / 1e6)
    assert ts["usable"].tolist() == (~ts[list(sla.REASONS)].any(axis=1)).tolist()


# --- the capacity floor ---------------------------------------------------------------


def test_capacity_floor_is_derived_from_the_floors():
    # 640x480 sits between libwebrtc's 960x540 (350 kbit/s) and 640x360 (150 kbit/s) rows
    assert floor_capacity_kbps(640, 480, 15.0) == 171.5
    assert floor_capacity_kbps(960, 540, 10.0) == 220.3
    assert floor_capacity_kbps(320, 240, 10.0) == 65.4
    for name in policies.names():
        prof = policies.load(name).profile
        derived = floor_capacity_kbps(prof.min_width, prof.min_height, prof.min_fps)
        assert prof.min_capacity_kbps == derived, name
    assert ClinicalProfile().min_capacity_kbps == 171.5
    assert ClinicalProfile(min_capacity_kbps=0).min_capacity_kbps == 0.0
    low = dataclasses.replace(CONSULT, min_fps=10.0, min_capacity_kbps=None)
    assert low.min_capacity_kbps == floor_capacity_kbps(640, 480, 10.0)


def test_capacity_floor_validation_and_toml_round_trip():
    pol = policies.load("surgical")
    again = policies.loads(pol.to_toml())
    assert again == pol and again.profile.min_capacity_kbps == 220.3
    custom = pol.replace(profile=dataclasses.replace(pol.profile, min_capacity_kbps=500.0))
    assert policies.loads(custom.to_toml()).profile.min_capacity_kbps == 500.0
    for bad in ("-1.0", '"fast"', "1e9", "true"):
        with pytest.raises(InputError, match=r"profile\.min_capacity_kbps"):
            policies.loads(f'name = "x"\n[profile]\nmin_capacity_kbps = {bad}\n')
    # a derived floor follows floors that an override or an overlay changes ...
    assert pol.with_overrides({"profile.min_fps": 15.0}).profile.min_capacity_kbps == (
        floor_capacity_kbps(960, 540, 15.0)
    )
    over = policies.loads('base = "consult"\n[profile]\nmin_width = 960\nmin_height = 540\n')
    assert over.profile.min_capacity_kbps == floor_capacity_kbps(960, 540, 15.0)
    # ... a number set by hand stays
    assert custom.with_overrides({"profile.min_fps": 15.0}).profile.min_capacity_kbps == 500.0
    both = pol.with_overrides({"profile.min_fps": 15.0, "profile.min_capacity_kbps": 90.0})
    assert both.profile.min_capacity_kbps == 90.0
    # a file that omits it gets the derivation from its own floors
    text = 'name = "x"\n[profile]\nmin_width = 320\nmin_height = 240\nmin_fps = 10.0\n'
    assert policies.loads(text).profile.min_capacity_kbps == 65.4


# --- pooled availability and its bound --------------------------------------------------


def test_pooled_estimate_and_verdicts():
    p = sla.pooled([599.0, 600.0, 300.0], [600.0, 600.0, 300.0])
    assert p.sessions == 3 and p.counted_s == 1500.0 and p.usable_s == 1499.0
    assert p.availability == pytest.approx(1499 / 1500)
    assert 0.0 < p.lower_bound < p.availability
    assert sla.verdict(0.9995, 0.9991, 0.999) == "met"
    assert sla.verdict(0.9985, 0.99, 0.999) == "not met"
    assert sla.verdict(0.9995, 0.998, 0.999) == "inconclusive"
    assert p.verdict(0.5) == "met"
    empty = sla.pooled([0.0], [0.0])
    assert empty.sessions == 0 and math.isnan(empty.availability)
    assert empty.verdict(0.999) == "inconclusive"
    assert math.isnan(sla.lower_bound([], []))
    # one call says nothing about how calls differ: no bound
    assert sla.lower_bound([600.0], [600.0]) == 0.0
    assert sla.lower_bound([0.0, 0.0], [60.0, 60.0]) == 0.0
    with pytest.raises(InputError, match="usable_s"):
        sla.pooled([601.0], [600.0])
    with pytest.raises(InputError, match="confidence"):
        sla.pooled([1.0, 1.0], [2.0, 2.0], confidence=0.2)


def test_bound_with_no_unusable_second():
    # Clopper-Pearson at x = 0 with the effective size shrunk by (z / t_1)^2
    n_s = 40 * 600.0
    b = sla.lower_bound([600.0] * 40, [600.0] * 40)
    z, t1 = 1.6448536269514722, 6.313751514675041
    n_eff = n_s * (z / t1) ** 2
    assert b == pytest.approx(0.05 ** (1 / n_eff), rel=1e-9)
    assert b < 0.999  # 40 perfect ten-minute calls cannot yet prove the standard tier
    assert sla.lower_bound([600.0] * 400, [600.0] * 400) > 0.999


def test_bound_is_lower_when_bad_seconds_cluster():
    # the same 24 bad seconds, spread one per call or all in one call
    spread = sla.lower_bound([599.0] * 24 + [600.0] * 16, [600.0] * 40)
    one = sla.lower_bound([576.0] + [600.0] * 39, [600.0] * 40)
    assert one < spread < 1 - 24 / 24000


def test_distribution_helpers_match_known_values():
    assert sla._t_ppf(0.95, 1.0) == pytest.approx(6.313751514675041, rel=1e-9)
    assert sla._t_ppf(0.95, 10.0) == pytest.approx(1.8124611228116756, rel=1e-9)
    assert sla._t_ppf(0.975, 39.0) == pytest.approx(2.022690920036761, rel=1e-9)
    assert sla._beta_ppf(0.95, 1.0, 1000.0) == pytest.approx(1 - 0.05 ** (1 / 1000), rel=1e-8)
    assert sla._beta_ppf(0.5, 2.0, 2.0) == pytest.approx(0.5, rel=1e-8)
    assert sla._betainc(2.0, 3.0, 0.4) == pytest.approx(0.5248, rel=1e-9)


def _simulate(rng, n, share, burst_s, length_s=600.0):
    """Per-call unusable seconds: Poisson episodes with geometric lengths (mean burst_s)."""
    c = np.full(n, length_s)
    episodes = rng.poisson(share * length_s / burst_s)
    bad = np.array([rng.geometric(1.0 / burst_s, e).sum() if e else 0 for e in episodes])
    bad = np.minimum(bad, c)
    return c - bad, c


def _coverage(rng, reps, n, share_of, burst_s, truth):
    hits = naive = 0
    for _ in range(reps):
        u, c = _simulate(rng, n, share_of(n), burst_s)
        hits += sla.lower_bound(u, c) <= truth
        # seconds treated as independent: Clopper-Pearson on the pooled counts
        x, total = float((c - u).sum()), float(c.sum())
        naive += 1 - sla._beta_ppf(0.95, x + 1, total - x) <= truth
    return hits / reps, naive / reps


@pytest.mark.slow
@pytest.mark.parametrize(
    ("n", "share_of", "burst_s", "unavailability"),
    [
        # independent bad seconds, 1 in 1000
        (40, lambda n: np.full(n, 1e-3), 1.0, 1e-3),
        # bad seconds in bursts of 10 s on average
        (40, lambda n: np.full(n, 2e-3), 10.0, 2e-3),
        # calls differ: each call's share of bad time drawn from Beta(0.3, 300)
        (40, None, 5.0, 0.3 / 300.3),
        # one call in ten is bad (2 % unusable in 20 s bursts), the rest nearly clean
        (200, None, 20.0, 0.1 * 0.02 + 0.9 * 2e-4),
    ],
    ids=["independent", "bursty", "calls-differ", "bad-calls"],
)
def test_lower_bound_coverage_by_simulation(n, share_of, burst_s, unavailability):
    rng = np.random.default_rng(14)
    if share_of is None and burst_s == 5.0:
        share_of = lambda k: rng.beta(0.3, 300, k)  # noqa: E731
    elif share_of is None:
        share_of = lambda k: np.where(rng.random(k) < 0.1, 0.02, 2e-4)  # noqa: E731
    covered, naive = _coverage(rng, 300, n, share_of, burst_s, 1 - unavailability)
    # nominal 95 %; 300 runs give a standard error of about 1.3 points
    assert covered >= 0.92, f"coverage {covered:.3f}"
    if burst_s >= 5.0:
        # ignoring the clustering within calls would claim far too much
        assert naive < 0.85, f"naive coverage {naive:.3f}"
