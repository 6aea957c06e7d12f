import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaopt.replay.metrics import (
    METRIC_NAMES,
    TIMESERIES_COLUMNS,
    FrameLog,
    IntervalLog,
    freezes,
    session_metrics,
    timeseries,
)


@dataclass(frozen=True)
class Profile:
    name: str = "test"
    tier: str = "standard"
    availability: float = 0.999
    max_frame_delay_ms: float = 300.0
    min_fps: float = 15.0
    min_width: int = 640
    min_height: int = 480


PROFILE = Profile()


def frame_log(capture_ms, render_ms, width=640, height=480, quality=36.0):
    capture_ms = np.asarray(capture_ms, dtype=np.float64)
    render_ms = np.asarray(render_ms, dtype=np.float64)
    n = capture_ms.size
    render_us = np.where(render_ms < 0, -1, np.round(render_ms * 1000)).astype(np.int64)
    return FrameLog(
        capture_us=np.round(capture_ms * 1000).astype(np.int64),
        render_us=render_us,
        size_bytes=np.full(n, 1000),
        width=np.broadcast_to(width, n),
        height=np.broadcast_to(height, n),
        keyframe=np.arange(n) == 0,
        quality_db=np.broadcast_to(np.asarray(quality, dtype=float), n),
    )


def steady(duration_s=10.0, fps=25.0, delay_ms=100.0, **kw):
    capture = np.arange(0, duration_s * 1000, 1000 / fps)
    return capture, capture + delay_ms


def interval_log(duration_s, capacity_bps=1_000_000, sent_bytes=10_000, goodput_bytes=9_000):
    n = round(duration_s * 10)
    full = lambda v: np.full(n, v, dtype=np.int64)  # noqa: E731
    return IntervalLog(
        t_us=np.arange(n, dtype=np.int64) * 100_000,
        capacity_bps=full(capacity_bps),
        target_bps=full(capacity_bps // 2),
        sent_bytes=full(sent_bytes),
        goodput_bytes=full(goodput_bytes),
        packets_sent=full(10),
        packets_lost=full(1),
        rtt_us=full(120_000),
        interval_us=100_000,
    )


def metrics(frames, duration_s=10.0, profile=PROFILE, intervals=None):
    if intervals is None:
        intervals = interval_log(duration_s)
    return session_metrics(frames, intervals, profile, duration_s)


def assert_finite(m):
    assert list(m) == list(METRIC_NAMES)
    for k, v in m.items():
        assert isinstance(v, float), k
        assert math.isfinite(v), k


# --- logs -------------------------------------------------------------------------------


def test_framelog_validates_and_is_read_only():
    f = frame_log([0, 40], [100, 140])
    assert len(f) == 2
    assert f.width.dtype == np.int32 and f.keyframe.dtype == np.bool_
    with pytest.raises(ValueError):
        f.render_us[0] = 5
    assert f == frame_log([0, 40], [100, 140])
    assert f != frame_log([0, 40], [100, 141])
    with pytest.raises(ValueError, match="same length"):
        FrameLog([0, 1], [5, 6], [1], [1, 1], [1, 1], [0, 0], [1.0, 1.0])
    with pytest.raises(ValueError, match="before its capture"):
        frame_log([0, 40], [100, 30])
    with pytest.raises(ValueError, match="capture_us: not non-decreasing"):
        frame_log([40, 0], [100, 140])
    with pytest.raises(ValueError, match="render_us"):
        FrameLog([0], [-2], [1], [1], [1], [False], [1.0])
    with pytest.raises(ValueError, match="quality_db"):
        FrameLog([0], [5], [1], [1], [1], [False], [float("nan")])
    with pytest.raises(ValueError, match="keyframe"):
        FrameLog([0], [5], [1], [1], [1], [2], [1.0])


def test_intervallog_validates():
    log = interval_log(1.0)
    assert len(log) == 10 and log.end_us == 1_000_000
    assert IntervalLog.empty().end_us == 0
    with pytest.raises(ValueError, match="interval_us"):
        IntervalLog([0], [1], [1], [1], [1], [1], [0], [-1], interval_us=0)
    with pytest.raises(ValueError, match="rtt_us"):
        IntervalLog([0], [1], [1], [1], [1], [1], [0], [-2])
    with pytest.raises(ValueError, match="goodput_bytes"):
        IntervalLog([0], [1], [1], [1], [-1], [1], [0], [-1])
    assert log.to_dataframe().shape == (10, 8)


# --- freezes ----------------------------------------------------------------------------


def render_with_gap(gap_ms, n_before=40, step_ms=40.0, n_after=10):
    before = np.arange(n_before) * step_ms
    after = before[-1] + gap_ms + np.arange(n_after) * step_ms
    render = np.concatenate([before, after]) + 100.0
    return frame_log(render - 100.0, render)


def test_freeze_boundary_is_webrtc_threshold_inclusive():
    # 29 gaps of 40 ms and one of g: mean over the last 30 (rounded down) is
    # floor((1160 + g) / 30); g = 195 gives 45 and a threshold of 45 + 150 = 195.
    assert len(freezes(render_with_gap(195))) == 1
    assert len(freezes(render_with_gap(194))) == 0


def test_freeze_four_dropped_frames_at_25fps():
    capture = np.arange(0, 4000, 40.0)
    render = capture + 100.0
    render[50:53] = -1  # three frames lost: a 160 ms gap is no freeze
    assert len(freezes(frame_log(capture, render))) == 0
    render[53] = -1  # a fourth: 200 ms >= 45 + 150
    fz = freezes(frame_log(capture, render))
    assert list(fz["duration_ms"]) == [200]
    assert fz["start_us"][0] == (49 * 40 + 100) * 1000


def test_no_freeze_before_five_gaps():
    # The fourth gap is huge but only four gaps are known: libwebrtc needs five.
    early = frame_log(
        np.array([0, 40, 80, 120, 1120, 1160]), np.array([0, 40, 80, 120, 1120, 1160])
    )
    assert len(freezes(early)) == 0
    later = frame_log(
        np.array([0, 40, 80, 120, 160, 1160, 1200]), np.array([0, 40, 80, 120, 160, 1160, 1200])
    )
    assert list(freezes(later)["duration_ms"]) == [1000]


def test_freeze_mean_uses_only_last_30_gaps():
    # 100 gaps of 100 ms, then 29 of 20 ms, then 200 ms. Over the last 30 gaps the mean is
    # 26 ms (threshold 176 -> freeze); over all gaps it would be ~83 ms (no freeze).
    t = np.concatenate([np.arange(101) * 100.0, 10000 + np.arange(1, 30) * 20.0])
    t = np.append(t, t[-1] + 200)
    assert list(freezes(frame_log(t, t))["duration_ms"]) == [200]


def test_freeze_uses_millisecond_rounding():
    # Gaps of 39.6 ms round to 40 ms per frame; the result matches the integer case.
    render = np.arange(40) * 40.0
    render = np.concatenate([render, render[-1] + 195 + np.arange(5) * 40.0])
    assert len(freezes(frame_log(render, render + 0.4))) == 1


def test_session_freeze_metrics_and_windows():
    capture, render = steady(10.0, fps=25.0, delay_ms=100.0)
    render = render.copy()
    lost = (capture >= 2000) & (capture < 2500)  # 13 frames
    render[lost] = -1
    m = metrics(frame_log(capture, render))
    assert_finite(m)
    assert m["freeze_count"] == 1.0
    # last shown frame before: captured 1960, rendered 2060; next: 2520 -> 2620
    assert m["freeze_s"] == pytest.approx(0.560)
    assert m["freeze_ratio"] == pytest.approx(0.056)
    assert m["frames_undecodable"] == 13.0
    ts = timeseries(frame_log(capture, render), interval_log(10.0), PROFILE)
    assert list(ts["frozen"]) == [i == 2 for i in range(10)]
    assert ts["frozen_s"][2] == pytest.approx(0.56)
    assert m["usable_ratio"] == pytest.approx(0.9)
    assert m["tier_met"] == 0.0


def test_trailing_stall_is_a_freeze():
    capture, render = steady(10.0, fps=25.0, delay_ms=100.0)
    render = np.where(capture < 5000, render, -1.0)
    m = metrics(frame_log(capture, render))
    assert m["freeze_count"] == 1.0
    # last frame captured 4960 rendered 5060; the session ends at 10000
    assert m["freeze_s"] == pytest.approx(4.94)
    ts = timeseries(frame_log(capture, render), interval_log(10.0), PROFILE)
    assert list(ts["usable"]) == [True] * 5 + [False] * 5


# --- delay, fps, usability --------------------------------------------------------------


def test_steady_session_is_fully_usable():
    capture, render = steady(10.0, fps=30.0, delay_ms=80.0)
    f = frame_log(capture, render)
    m = metrics(f)
    assert_finite(m)
    assert m["frame_delay_p50_ms"] == pytest.approx(80.0)
    assert m["frame_delay_p99_ms"] == pytest.approx(80.0)
    assert m["freeze_count"] == 0.0
    shown = np.count_nonzero(render < 10000)
    assert m["fps_mean"] == pytest.approx(shown / 10.0)
    assert m["height_mean"] == 480.0 and m["quality_mean"] == 36.0
    assert m["usable_ratio"] == 1.0 and m["tier_met"] == 1.0
    ts = timeseries(f, interval_log(10.0), PROFILE)
    assert ts["fps"].iloc[1:].tolist() == pytest.approx([30.0] * 9, abs=0.01)


def test_delay_percentiles_linear_interpolation():
    capture = np.arange(100) * 40.0
    delay = np.full(100, 50.0)
    delay[-1] = 500.0
    m = metrics(frame_log(capture, capture + delay), duration_s=5.0)
    assert m["frame_delay_p50_ms"] == pytest.approx(50.0)
    assert m["frame_delay_p95_ms"] == pytest.approx(50.0)
    # rank 0.99 * 99 = 98.01: between 50 (rank 98) and 500 (rank 99)
    assert m["frame_delay_p99_ms"] == pytest.approx(54.5)


def test_each_floor_makes_its_window_unusable():
    capture = np.arange(0, 10000, 1000 / 30)
    n = capture.size
    # a smooth delay bump to 110 ms (no freeze) for frames captured in [2950, 3900) ms:
    # above 100 ms only for captures in ~[3170, 3680], i.e. renders inside window 3
    bump = (capture >= 2950) & (capture < 3900)
    delay = 80 + np.where(bump, 30 * np.sin(np.pi * (capture - 2950) / 950), 0.0)
    render = capture + delay
    height = np.full(n, 480)
    width = np.full(n, 640)
    in_window = lambda k: (render >= k * 1000) & (render < (k + 1) * 1000)  # noqa: E731
    height[in_window(5)] = 360  # 640x360: below 640x480 in pixels
    width[in_window(7)] = 480  # 480x480: below too
    width[in_window(8)], height[in_window(8)] = 739, 416  # 16:9 with 640x480's pixel count
    f = frame_log(capture, render, width=width, height=height)
    profile = Profile(max_frame_delay_ms=100.0)
    ts = timeseries(f, interval_log(10.0), profile)
    assert ts["frame_delay_ms"][3] > 100.0 and ts["frame_delay_ms"][2] == pytest.approx(80.0)
    assert ts["height"][5] == 360 and ts["width"][7] == 480 and ts["height"][8] == 416
    assert not ts["frozen"].any()
    assert [i for i, u in enumerate(ts["usable"]) if not u] == [3, 5, 7]
    assert metrics(f, profile=profile)["usable_ratio"] == pytest.approx(0.7)


def test_low_frame_rate_window_is_unusable():
    capture = np.concatenate([np.arange(0, 4000, 1000 / 30), np.arange(4000, 5000, 100.0)])
    capture = np.concatenate([capture, np.arange(5000, 8000, 1000 / 30)])
    f = frame_log(capture, capture + 60.0)
    ts = timeseries(f, interval_log(8.0), PROFILE)
    # renders in window 4: captures 3966.7 and 4000 (each 33.3 ms after the one before),
    # then 4100..4900 (100 ms apart): 11 frames over 966.7 ms of capture time
    assert ts["fps"][4] == pytest.approx(11 / 0.96667, abs=0.01)
    assert not ts["usable"][4]
    assert ts["usable"][2] and ts["usable"][6]


def test_frames_in_flight_at_the_end_are_not_undecodable():
    capture = np.arange(0, 5000, 40.0)  # 125 frames, delay 150 ms
    render = capture + 150.0
    render[10] = render[20] = -1.0  # two lost mid-session
    m = metrics(frame_log(capture, render), duration_s=5.0)
    # shown up to capture 4840 (render 4990); captures 4880..4960 are in flight at 5 s
    # (within 150 ms of the end) with render >= 5000: neither shown nor undecodable
    assert m["frames_undecodable"] == 2.0
    render[-2:] = -1.0  # lost near the end: still within the last 150 ms, not counted
    render[-5] = -1.0  # captured at 4800 < 5000 - 150: counted
    m = metrics(frame_log(capture, render), duration_s=5.0)
    assert m["frames_undecodable"] == 3.0


def test_superseded_frame_is_not_displayed():
    capture = np.arange(60) * 40.0
    render = capture + 100.0
    render[30] = render[31] + 20  # completes after the next frame was shown
    f = frame_log(capture, render)
    m = metrics(f, duration_s=3.0)
    assert m["fps_mean"] == pytest.approx(59 / 3.0)
    assert m["frames_undecodable"] == 0.0


# --- network side -----------------------------------------------------------------------


def test_network_metrics():
    capture, render = steady(10.0)
    m = metrics(frame_log(capture, render))
    assert m["capacity_kbps"] == pytest.approx(1000.0)
    assert m["sent_kbps"] == pytest.approx(800.0)  # 10 kB per 100 ms
    assert m["goodput_kbps"] == pytest.approx(720.0)
    assert m["utilization"] == pytest.approx(0.72)
    assert m["packet_loss"] == pytest.approx(0.1)
    ts = timeseries(frame_log(capture, render), interval_log(10.0), PROFILE)
    assert list(ts.columns) == list(TIMESERIES_COLUMNS)
    assert len(ts) == 10
    assert ts["t_s"].tolist() == list(range(10))
    assert ts["target_kbps"].tolist() == pytest.approx([500.0] * 10)
    assert ts["sent_kbps"].tolist() == pytest.approx([800.0] * 10)
    assert ts["rtt_ms"].tolist() == pytest.approx([120.0] * 10)


def test_partial_last_window_and_zero_capacity():
    f = frame_log(*steady(2.5, fps=30.0, delay_ms=50.0))
    ts = timeseries(f, interval_log(2.5, capacity_bps=0), PROFILE)
    assert len(ts) == 3
    assert ts["sent_kbps"][2] == pytest.approx(800.0)  # 5 intervals over 0.5 s
    m = metrics(f, duration_s=2.5, intervals=interval_log(2.5, capacity_bps=0))
    assert m["utilization"] == 0.0 and m["capacity_kbps"] == 0.0


# --- edge cases -------------------------------------------------------------------------


def test_empty_session():
    m = metrics(FrameLog.empty())
    assert_finite(m)
    assert m["freeze_count"] == 0.0 and m["fps_mean"] == 0.0
    assert m["frame_delay_p95_ms"] == 10_000.0  # nothing arrived within the 10 s session
    assert m["usable_ratio"] == 0.0 and m["tier_met"] == 0.0
    ts = timeseries(FrameLog.empty(), IntervalLog.empty(), PROFILE)
    assert list(ts.columns) == list(TIMESERIES_COLUMNS) and len(ts) == 0


def test_zero_duration():
    m = session_metrics(FrameLog.empty(), IntervalLog.empty(), PROFILE, 0)
    assert_finite(m)
    assert all(v == 0.0 for v in m.values())


def test_single_frame():
    m = metrics(frame_log([0.0], [70.0]), duration_s=3.0)
    assert_finite(m)
    assert m["frame_delay_p50_ms"] == 70.0
    assert m["freeze_count"] == 0.0
    assert m["usable_ratio"] == 0.0  # one picture is not a frame rate


def test_all_frames_lost():
    capture = np.arange(0, 5000, 40.0)
    m = metrics(frame_log(capture, np.full(capture.size, -1.0)), duration_s=5.0)
    assert_finite(m)
    assert m["frames_undecodable"] == capture.size
    assert m["frame_delay_p99_ms"] == 5000.0
    assert m["quality_mean"] == 0.0 and m["height_mean"] == 0.0


def test_bad_arguments():
    f = frame_log([0.0], [70.0])
    with pytest.raises(ValueError, match="duration_s"):
        session_metrics(f, IntervalLog.empty(), PROFILE, -1.0)
    with pytest.raises(ValueError, match="duration_s"):
        session_metrics(f, IntervalLog.empty(), PROFILE, float("nan"))

    class NoProfile:
        pass

    with pytest.raises(ValueError, match="profile"):
        session_metrics(f, IntervalLog.empty(), NoProfile(), 1.0)  # type: ignore[arg-type]


@st.composite
def random_logs(draw):
    n = draw(st.integers(0, 120))
    gaps = draw(st.lists(st.integers(0, 400_000), min_size=n, max_size=n))
    capture = np.cumsum(np.asarray(gaps, dtype=np.int64))
    delays = np.asarray(draw(st.lists(st.integers(0, 2_000_000), min_size=n, max_size=n)))
    lost = np.asarray(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    render = np.where(lost, -1, capture + delays)
    h = np.asarray(draw(st.lists(st.sampled_from([180, 360, 480, 720]), min_size=n, max_size=n)))
    frames = FrameLog(capture, render, np.full(n, 900), (h * 16) // 9, h, lost, np.full(n, 30.0))
    duration_s = draw(st.floats(0.0, 40.0))
    return frames, duration_s


@given(random_logs())
def test_metrics_are_always_finite_and_consistent(data):
    frames, duration_s = data
    intervals = interval_log(duration_s)
    m = session_metrics(frames, intervals, PROFILE, duration_s)
    assert_finite(m)
    for k in ("utilization", "freeze_ratio", "packet_loss", "usable_ratio"):
        assert 0.0 <= m[k] <= 1.0
    assert m["frame_delay_p50_ms"] <= m["frame_delay_p95_ms"] <= m["frame_delay_p99_ms"]
    assert m["freeze_s"] <= duration_s + 1e-3
    ts = timeseries(frames, intervals, PROFILE)
    assert not ts.isna().any().any()
    if len(intervals) and intervals.end_us == round(duration_s * 1e6):
        # windows weigh by the time they cover (docs/sla.md); no floor: nothing excluded
        w = ts["covered_s"]
        assert m["usable_ratio"] == pytest.approx(float((w * ts["usable"]).sum() / w.sum()))
        fz = freezes(frames, intervals.end_us)
        assert m["freeze_count"] == len(fz)
    assert isinstance(ts, pd.DataFrame)


def test_accepts_the_policies_clinical_profile():
    from mediaopt import policies

    profile = policies.load("surgical").profile
    capture, render = steady(5.0, fps=30.0, delay_ms=80.0)
    f = frame_log(capture, render, width=1280, height=720)
    m = session_metrics(f, interval_log(5.0), profile, 5.0)
    assert m["usable_ratio"] == 1.0 and m["tier_met"] == 1.0
    assert profile.availability == 0.9999
