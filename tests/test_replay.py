"""The closed-loop replay: libwebrtc scenario re-expressions, determinism, peers, bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mediaopt as mo
from mediaopt.policies import Policy
from mediaopt.replay import ReplayResult, replay
from mediaopt.replay.metrics import FrameLog, IntervalLog
from mediaopt.replay.peers import AiortcRemb


def scenario_policy() -> Policy:
    """Policy ``gcc`` as libwebrtc's goog_cc scenario tests configure the call.

    ``goog_cc_network_control_unittest.cc`` sends one 320x180 video stream whose fake
    encoder produces whatever the target asks (no resolution ladder caps it), min/start/
    max 10/300/1500 kbit/s. The re-expression keeps policy ``gcc`` (its estimator and
    protection) and gives the adaptation a single 320x180 rung up to 1.5 Mbit/s.
    """
    pol = mo.policies.load("gcc")
    ladder = ((320, 180, 10_000, 10_000, 1_500_000), (0, 0, 10_000, 0, 0))
    return dataclasses.replace(
        pol,
        adaptation=dataclasses.replace(pol.adaptation, ladder_bps=ladder),
        start_bps=300_000,
        min_bps=10_000,
        max_bps=1_500_000,
    )


def scenario(trace: mo.traces.Trace, **kw: Any) -> ReplayResult:
    """Replay as the scenario tests run: video only, unbounded queue (NetworkSimulationConfig)."""
    return replay(
        trace,
        scenario_policy(),
        queue_ms=None,
        max_width=320,
        max_height=180,
        audio_kbps=0,
        **kw,
    )


def target_kbps_at(res: ReplayResult, t_s: float, window_s: float = 2.0) -> float:
    """Mean target over the window ending at t_s (the AIMD sawtooth makes an instant noisy)."""
    iv = res.intervals
    t = iv.t_us + iv.interval_us
    sel = (t > (t_s - window_s) * 1e6) & (t <= t_s * 1e6)
    return float(iv.target_bps[sel].mean()) / 1000.0


def test_updates_target_rate_based_on_link_capacity() -> None:
    # UpdatesTargetRateBasedOnLinkCapacity: 500 kbit/s 100 ms for 25 s, 800 kbit/s for
    # 20 s, then 100 kbit/s with 200 ms (both directions) for 50 s.
    tr = mo.traces.steps([(0, 500), (25, 800), (45, 100)], duration_s=95, delay_ms=[100, 100, 200])
    res = scenario(tr, seed=0)
    assert target_kbps_at(res, 25) == pytest.approx(450, abs=100)
    assert target_kbps_at(res, 45) == pytest.approx(750, abs=150)
    assert target_kbps_at(res, 95) == pytest.approx(90, abs=25)
    # the delay column drives both directions: RTT ~200 ms, then ~400 ms plus queueing
    rtt = res.intervals.rtt_us
    assert 195_000 <= rtt[200] <= 320_000
    assert rtt[-1] >= 395_000


def test_loss_based_control_does_modest_backoff_to_high_loss() -> None:
    # LossBasedControlDoesModestBackoffToHighLoss: 2 Mbit/s, 200 ms, 10 % loss, 120 s.
    res = scenario(mo.traces.constant(2000, 120), one_way_delay_ms=200, loss=0.1, seed=0)
    assert res.intervals.target_bps[-1] > 100_000


def test_high_loss_is_measured_and_repaired_by_retransmissions() -> None:
    res = scenario(mo.traces.constant(2000, 20), one_way_delay_ms=50, loss=0.1, seed=1)
    assert res.metrics["packet_loss"] == pytest.approx(0.1, abs=0.03)
    assert res.stats["nacks_sent"] > 0 and res.stats["retransmissions"] > 0
    assert int(np.count_nonzero(res.frames.render_us >= 0)) > 0.8 * len(res.frames)


def test_same_seed_same_result_and_byte_identical_json() -> None:
    tr = mo.traces.steps([(0, 1000), (10, 400)], duration_s=20)
    a = replay(tr, "consult", seed=5, loss=0.02)
    b = replay(tr, "consult", seed=5, loss=0.02)
    c = replay(tr, "consult", seed=6, loss=0.02)
    assert a.metrics == b.metrics
    assert a.frames == b.frames and a.intervals == b.intervals
    ja = json.dumps(a.to_json_dict(), sort_keys=False)
    assert ja == json.dumps(b.to_json_dict(), sort_keys=False)
    assert ja != json.dumps(c.to_json_dict(), sort_keys=False)
    d = a.to_json_dict()
    assert list(d) == ["trace", "policy", "seed", "metrics", "stats"]
    assert list(d["metrics"]) == list(a.metrics)


def test_logs_have_the_contract_shape() -> None:
    res = replay(mo.traces.constant(1500, 10), "consult", seed=0)
    assert isinstance(res.frames, FrameLog) and isinstance(res.intervals, IntervalLog)
    assert len(res.intervals.t_us) == 100 and res.intervals.interval_us == 100_000
    f = res.frames
    assert len(f) > 50 and bool(f.keyframe[0])
    assert (np.diff(f.capture_us) > 0).all()
    shown = f.render_us >= 0
    assert (f.render_us[shown] > f.capture_us[shown]).all()
    assert res.metrics["duration_s"] == 10.0
    assert res.intervals.capacity_bps[5:].mean() == pytest.approx(1_500_000, rel=0.02)
    # everything sent is counted, everything delivered is at most what was sent
    assert res.intervals.goodput_bytes.sum() <= res.intervals.sent_bytes.sum()
    for col in (
        "t_s",
        "capacity_kbps",
        "target_kbps",
        "sent_kbps",
        "goodput_kbps",
        "frame_delay_ms",
        "fps",
        "height",
        "quality",
        "frozen",
    ):
        assert col in res.timeseries.columns
    assert res.trace_name == "constant-1500kbps" and res.policy_name == "consult"


def test_trace_delay_column_overrides_the_keyword() -> None:
    tr = mo.traces.steps([(0, 2000)], duration_s=10, delay_ms=[150])
    res = replay(tr, "consult", one_way_delay_ms=10, seed=0)
    rtt = res.intervals.rtt_us[20:]
    assert np.median(rtt) >= 300_000


def test_trace_loss_column_overrides_the_keyword() -> None:
    tr = mo.traces.steps([(0, 2000)], duration_s=10, loss=[0.0])
    res = replay(tr, "consult", loss=0.3, seed=0)
    assert res.metrics["packet_loss"] == 0.0


def test_feedback_loss_is_survived() -> None:
    res = replay(mo.traces.constant(1000, 10), "consult", feedback_loss=0.3, seed=2)
    assert res.stats["feedback_lost"] > 0
    assert res.metrics["goodput_kbps"] > 100


def test_start_min_max_override_the_policy() -> None:
    res = replay(mo.traces.constant(5000, 5), "consult", start_bps=200_000, max_bps=400_000)
    assert res.intervals.target_bps[0] <= 400_000
    assert res.intervals.target_bps.max() <= 400_000


def test_aiortc_remb_runs_in_the_loop() -> None:
    peer = AiortcRemb(start_bps=300_000, min_bps=30_000, max_bps=2_500_000)
    res = replay(mo.traces.constant(1000, 15), "consult", estimator=peer, seed=0)
    assert res.metrics["goodput_kbps"] > 100
    assert len(set(res.intervals.target_bps.tolist())) > 1  # the peer did steer the rate


def test_python_estimator_gets_the_feedback_and_its_errors_propagate() -> None:
    class Fixed:
        def __init__(self) -> None:
            self.target_bps = 250_000
            self.calls = 0
            self.lost = 0

        def on_feedback(self, send_us: Any, arrival_us: Any, size_bytes: Any, now_us: int) -> int:
            assert send_us.dtype == np.int64 and len(send_us) == len(arrival_us) == len(size_bytes)
            assert (np.diff(send_us) >= 0).all() and now_us > send_us[-1]
            self.calls += 1
            self.lost += int((arrival_us == mo.LOST).sum())
            return self.target_bps

    est = Fixed()
    res = replay(mo.traces.constant(1000, 5), "consult", estimator=est, loss=0.05)
    assert est.calls > 50 and est.lost > 0
    assert set(res.intervals.target_bps[5:].tolist()) == {250_000}

    class Broken(Fixed):
        def on_feedback(self, *a: Any) -> int:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        replay(mo.traces.constant(1000, 5), "consult", estimator=Broken())


def test_native_estimator_can_be_passed_in() -> None:
    est = mo.GccEstimator(start_bps=300_000, min_bps=30_000, max_bps=1_000_000)
    res = replay(mo.traces.constant(800, 10), "consult", estimator=est)
    assert res.intervals.target_bps[-1] == est.target_bps


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"policy": "no-such-policy"}, "policy"),
        ({"trace": "/nonexistent/trace.down"}, "trace"),
        ({"trace": 42}, "trace"),
        ({"duration_s": 0}, "duration_s"),
        ({"duration_s": -3}, "duration_s"),
        ({"estimator": object()}, "estimator"),
        ({"min_bps": 900_000, "max_bps": 500_000}, "bps"),
        ({"feedback_loss": 1.5}, "feedback_loss"),
        ({"one_way_delay_ms": -1}, "one_way_delay_ms"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_input_gives_a_clear_value_error(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"trace": mo.traces.constant(1000, 5), "policy": "consult"}
    args.update({k: kwargs.pop(k) for k in ("trace", "policy") if k in kwargs})
    with pytest.raises(ValueError, match=match):
        replay(args["trace"], args["policy"], **kwargs)


def test_corrupt_trace_file_gives_a_value_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.down"
    bad.write_text("not a trace\n")
    with pytest.raises(ValueError):
        replay(bad, "consult")


def test_bundled_traces_replay() -> None:
    name, tr = sorted(mo.traces.bundled().items())[0]
    res = replay(tr, "followup", duration_s=10)
    assert res.trace_name == tr.name and res.metrics["duration_s"] == 10.0
    assert name


@pytest.mark.shared_traces
def test_recorded_lte_trace_replays(shared_traces: Path) -> None:
    res = replay(shared_traces / "mahimahi" / "Verizon-LTE-short.down", "consult", duration_s=30)
    assert res.metrics["goodput_kbps"] > 100


def test_reverse_trace_carries_the_feedback() -> None:
    fwd = mo.traces.constant(2000, 10)
    slow_back = mo.traces.steps([(0, 2000)], duration_s=10, delay_ms=[300])
    base = replay(fwd, "consult", one_way_delay_ms=50, seed=0)
    res = replay(fwd, "consult", one_way_delay_ms=50, reverse_trace=slow_back, seed=0)
    # forward 50 ms, back 300 ms from the reverse trace's own delay column
    assert np.median(res.intervals.rtt_us[20:]) >= 345_000
    assert np.median(base.intervals.rtt_us[20:]) < 200_000
    assert res.metrics["goodput_kbps"] > 100
    # on a reverse link too thin for the reports they queue: the RTT grows to seconds
    thin = replay(fwd, "consult", reverse_trace=mo.traces.constant(8, 10), queue_ms=100)
    assert np.median(thin.intervals.rtt_us[20:]) > 1_000_000


@settings(max_examples=30)
@given(
    caps=st.lists(st.floats(0, 5000), min_size=1, max_size=4),
    delay_ms=st.floats(0, 400),
    loss=st.floats(0, 1),
    fb_loss=st.floats(0, 0.9),
    duration_s=st.floats(0.05, 8),
    audio=st.sampled_from([0.0, 32.0]),
    policy=st.sampled_from(["gcc", "consult", "surgical", "followup"]),
    seed=st.integers(0, 2**32),
)
def test_any_network_gives_a_consistent_session(
    caps: list[float],
    delay_ms: float,
    loss: float,
    fb_loss: float,
    duration_s: float,
    audio: float,
    policy: str,
    seed: int,
) -> None:
    if max(caps) < 50:
        caps = [*caps[:-1], 100.0]  # a trace needs some capacity somewhere
    tr = mo.traces.steps([(2.0 * i, c) for i, c in enumerate(caps)], duration_s=2.0 * len(caps))
    res = replay(
        tr,
        policy,
        one_way_delay_ms=delay_ms,
        loss=loss,
        feedback_loss=fb_loss,
        duration_s=duration_s,
        audio_kbps=audio,
        seed=seed,
    )
    iv, f = res.intervals, res.frames
    assert len(iv.t_us) == -(-round(duration_s * 1e6) // 100_000)
    assert iv.goodput_bytes.sum() <= iv.sent_bytes.sum()
    assert (iv.packets_lost <= iv.packets_sent + 10_000).all()
    assert (iv.target_bps > 0).all()
    shown = f.render_us >= 0
    assert (f.render_us[shown] >= f.capture_us[shown]).all()
    assert (f.capture_us < round(duration_s * 1e6)).all()
    assert all(np.isfinite(v) or np.isnan(v) for v in res.metrics.values())
