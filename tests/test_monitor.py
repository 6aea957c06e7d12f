"""The live monitor: stats parsing, windows from counters, CallMonitor, Fleet, recorder.

The round trip replay -> ReplayResult.stats_reports() -> CallMonitor keeps the offline and
the live verdicts one definition: on every bundled trace and built-in policy the monitor's
windows agree with the replay's, up to one window at the edges of each episode.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mediaopt as mo
from mediaopt.errors import InputError
from mediaopt.monitor.call import CallMonitor
from mediaopt.monitor.fleet import Fleet, FleetFullError
from mediaopt.monitor.recorder import read_stats_jsonl, record, record_file
from mediaopt.monitor.stats import (
    NTP_UNIX_OFFSET_MS,
    internals_reports,
    number,
    parse_snapshot,
    stats_objects,
)
from mediaopt.replay.stats import REPLAY_EPOCH_MS, stats_reports
from mediaopt.sla import REASONS

DATA = Path(mo.traces.__file__).parent / "data"
BUNDLED = sorted(p.name for p in DATA.iterdir() if not p.name.startswith("."))
POLICIES = ("gcc", "consult", "surgical", "followup")


@functools.cache
def _replay(trace: str, policy: str) -> mo.ReplayResult:
    return mo.replay(DATA / trace, policy, seed=0)


def _feed(reports: list[Any], policy: str = "consult", **kw: Any) -> CallMonitor:
    cm = CallMonitor(policy, call_id="c1", site="s", **kw)
    for rep in reports:
        cm.add_stats(rep)
    cm.end()
    return cm


def _dilate(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b[1:] |= a[:-1]
    b[:-1] |= a[1:]
    return b


def _off_edge(mine: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Windows where the two disagree farther than one window from the other's episode.

    The first and last windows are the call's edges and never count.
    """
    bad = (mine & ~_dilate(ref)) | (ref & ~_dilate(mine))
    bad[0] = bad[-1] = False
    return bad


def _report(**inbound: Any) -> list[dict[str, Any]]:
    base = {"id": "IT", "type": "inbound-rtp", "kind": "video", "ssrc": 1, "timestamp": 1.0}
    base.update(inbound)
    return [base]


# ---------------------------------------------------------------------------------------
# layering


def test_import_mediaopt_does_not_load_the_monitor() -> None:
    code = (
        "import sys, mediaopt\n"
        "print(','.join(m for m in ('mediaopt.monitor', 'aiohttp', 'prometheus_client') "
        "if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == ""


def test_monitor_core_needs_neither_aiohttp_nor_prometheus_client() -> None:
    code = (
        "import sys\n"
        "sys.modules['aiohttp'] = None; sys.modules['prometheus_client'] = None\n"
        "import mediaopt.monitor.call, mediaopt.monitor.fleet, mediaopt.monitor.recorder\n"
        "import mediaopt.cli\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


# ---------------------------------------------------------------------------------------
# stats parsing


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        (2.5, 2.5),
        ("42", 42.0),
        (" 1e3 ", 1000.0),
        ("abc", None),
        (float("nan"), None),
        (float("inf"), None),
        ("NaN", None),
        (True, None),
        (None, None),
        ([1], None),
        ({"a": 1}, None),
    ],
)
def test_number(value: Any, expected: float | None) -> None:
    assert number(value) == expected


def test_report_as_list_or_map_is_the_same_snapshot() -> None:
    rep = _replay("constant-1mbps.down", "consult").stats_reports()[5]
    as_map = {o["id"]: o for o in rep}
    assert parse_snapshot(rep) == parse_snapshot(as_map)
    snap = parse_snapshot(rep)
    assert snap.t_us == round((REPLAY_EPOCH_MS + 5000.0) * 1000)
    assert snap.frames and snap.frames > 0 and snap.rtt_s is not None
    assert snap.invalid_fields == 0


@pytest.mark.parametrize("bad", [None, 3, "text", [1, 2], {"a": 5}])
def test_a_body_that_is_not_a_report_raises(bad: Any) -> None:
    with pytest.raises(InputError, match="report"):
        stats_objects(bad) if not isinstance(bad, dict) else parse_snapshot(bad)


def test_garbage_values_are_missing_and_counted() -> None:
    snap = parse_snapshot(
        _report(
            framesRendered=10,
            freezeCount="many",
            totalFreezesDuration=float("nan"),
            frameWidth=True,
            frameHeight=-3,
            jitterBufferDelay=[1],
        )
    )
    assert snap.frames == 10
    assert snap.freeze_count is None and snap.freezes_s is None
    assert snap.width is None and snap.height is None and snap.jb_delay_s is None
    assert snap.invalid_fields == 5


def test_frame_count_falls_back_to_decoded_then_received() -> None:
    assert parse_snapshot(_report(framesDecoded=7)).frames == 7
    assert parse_snapshot(_report(framesReceived=4)).frames == 4
    assert parse_snapshot([{"type": "outbound-rtp", "kind": "video"}]).stream is None


def test_snapshot_time_is_now_us_else_the_newest_timestamp() -> None:
    rep = [
        *_report(framesRendered=1, timestamp=1000.0),
        {"id": "CP", "type": "candidate-pair", "timestamp": 2000.5},
    ]
    assert parse_snapshot(rep).t_us == 2_000_500
    assert parse_snapshot(rep, now_us=7).t_us == 7


def _as_internals_dump(reports: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """The webrtc-internals shape: one series per stats object and field."""
    series: dict[str, dict[str, Any]] = {}
    for rep in reports:
        for obj in rep:
            for field, value in obj.items():
                if field in ("id", "type"):
                    continue
                key = f"{obj['id']}-{field}"
                s = series.setdefault(key, {"statsType": obj["type"], "values": []})
                s["values"].append(value)
    for s in series.values():
        s["values"] = json.dumps(s["values"])
    return {"getUserMedia": [], "PeerConnections": {"1-1": {"stats": series}}, "UserAgent": "x"}


def test_a_webrtc_internals_dump_gives_the_same_windows() -> None:
    r = _replay("rural-4g.csv", "consult")
    reports = r.stats_reports()
    direct = _feed(reports)
    dump = json.loads(json.dumps(_as_internals_dump(reports)))
    back = internals_reports(dump)
    assert len(back) == len(reports)
    via_dump = _feed([dump])
    assert via_dump.windows[["usable", *REASONS]].equals(direct.windows[["usable", *REASONS]])
    assert via_dump.availability == direct.availability


def test_internals_dump_without_peer_connections_raises() -> None:
    with pytest.raises(InputError, match="PeerConnections"):
        internals_reports({"getUserMedia": []})


# ---------------------------------------------------------------------------------------
# the round trip: one definition offline and online


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("trace", BUNDLED)
def test_round_trip_agrees_with_the_replay(trace: str, policy: str) -> None:
    r = _replay(trace, policy)
    ts = r.timeseries
    cm = _feed(r.stats_reports(), policy, reorder_windows=0)
    w = cm.windows
    assert len(w) == len(ts)
    assert np.allclose(w.covered_s, ts.covered_s)
    # frames shown per window, exactly (a partial last window is judged on the last second,
    # which the monitor sees from its snapshots only approximately)
    assert (w.frames.to_numpy()[:-1] == ts.frames.to_numpy()[:-1]).all()
    unusable_m, unusable_r = ~w.usable.to_numpy(), ~ts.usable.to_numpy()
    off = _off_edge(unusable_m, unusable_r)
    # the only verdicts that differ off the edges are windows the replay calls late and
    # nothing else: one late frame among on-time ones, which the counters cannot show
    only_late = ts.late.to_numpy() & ~ts[
        ["frozen", "low_fps", "low_resolution", "no_video"]
    ].to_numpy().any(axis=1)
    assert not (off & ~(only_late & ~unusable_m)).any(), (
        f"usable/unusable off the edges at {np.flatnonzero(off).tolist()}"
    )
    for reason in ("frozen", "low_fps", "low_resolution", "no_video"):
        bad = _off_edge(w[reason].to_numpy(), ts[reason].to_numpy())
        assert not bad.any(), f"{reason} differs at windows {np.flatnonzero(bad).tolist()}"
    # late: the monitor never calls a window late that the replay does not (an isolated
    # late frame among on-time ones is invisible in cumulative counters; see the xfail)
    late_m, late_r = w.late.to_numpy(), ts.late.to_numpy()
    assert not (late_m & ~_dilate(late_r))[1:-1].any()
    # excluded: at most one window off the edges per session
    assert _off_edge(w.excluded.to_numpy(), ts.excluded.to_numpy()).sum() <= 1
    # the frame rate on the capture clock is the replay's, to the hundredth
    shown = (ts.frames.to_numpy() > 1) & (np.arange(len(ts)) > 0)
    assert np.allclose(w.fps.to_numpy()[shown], ts.fps.to_numpy()[shown], atol=0.011)


def test_round_trip_totals() -> None:
    """The figures the report quotes: windows compared, agreement, off-edge disagreements."""
    total = agree = off = late_missed = 0
    for trace in BUNDLED:
        for policy in POLICIES:
            r = _replay(trace, policy)
            ts = r.timeseries
            w = _feed(r.stats_reports(), policy, reorder_windows=0).windows
            total += len(ts)
            agree += int((w.usable.to_numpy() == ts.usable.to_numpy()).sum())
            off += int(_off_edge(~w.usable.to_numpy(), ~ts.usable.to_numpy()).sum())
            late_missed += int(_off_edge(w.late.to_numpy(), ts.late.to_numpy()).sum())
    # measured: 1,479 of 1,492 agree; 5 differ off the edges, all isolated late frames;
    # the late reason is missed off the edges in 13 (docs/monitor.md, "The round trip")
    assert total == 1492
    assert agree / total >= 0.99
    assert off <= 5 and late_missed <= 13


@pytest.mark.xfail(
    strict=True,
    reason="an isolated late frame among on-time ones is invisible in getStats() counters "
    "(only the mean jitter-buffer delay and the frame on screen are); docs/monitor.md",
)
def test_round_trip_verdict_is_exact_up_to_the_edges_even_for_a_late_frame() -> None:
    r = _replay("rural-4g.csv", "consult")
    ts = r.timeseries
    w = _feed(r.stats_reports(), "consult", reorder_windows=0).windows
    assert not _off_edge(w.late.to_numpy(), ts.late.to_numpy()).any()
    assert not _off_edge(~w.usable.to_numpy(), ~ts.usable.to_numpy()).any()


# ---------------------------------------------------------------------------------------
# counters: missing fields, resets, gaps, order, garbage


def _reports(trace: str = "lte-driving-like.csv", policy: str = "consult") -> list[Any]:
    return copy.deepcopy(_replay(trace, policy).stats_reports())


def test_missing_fields_degrade_gracefully() -> None:
    reports = _reports()
    for rep in reports:
        for obj in rep:
            for f in ("estimatedPlayoutTimestamp", "freezeCount", "jitterBufferDelay"):
                obj.pop(f, None)
    cm = _feed(reports)
    w = cm.windows
    assert len(w) == 120 and w.frames.sum() > 0
    assert not w.fps.isna().any() and (w.fps[w.frames > 0] > 0).all()
    # the freezes are still seen through totalFreezesDuration
    assert w.frozen.sum() == _feed(_reports()).windows.frozen.sum()


def test_no_inbound_video_is_no_video() -> None:
    reports = _reports()
    for rep in reports[30:41]:
        rep[:] = [o for o in rep if o["type"] != "inbound-rtp"]
    w = _feed(reports).windows
    assert w.no_video[30:40].all()
    assert not w.no_video[45:60].any()


def test_counter_reset_is_a_restart_not_a_negative_window() -> None:
    reports = _reports()
    counters = (
        "packetsReceived", "packetsLost", "bytesReceived", "framesReceived", "framesDecoded",
        "keyFramesDecoded", "framesRendered", "framesDropped", "freezeCount",
        "totalFreezesDuration", "totalInterFrameDelay", "totalSquaredInterFrameDelay",
        "jitterBufferDelay", "jitterBufferEmittedCount",
    )  # fmt: skip
    base = {k: reports[60][0][k] for k in counters}
    for rep in reports[60:]:
        for k, v in base.items():
            rep[0][k] -= v  # the receiver restarted its counters at 60 s
    cm = _feed(reports)
    w = cm.windows
    assert (w.frames >= 0).all() and len(w) == 120
    assert cm.counters["resets"] >= 1
    assert w.usable[62:].mean() == pytest.approx(_feed(_reports()).windows.usable[62:].mean())


def test_a_new_stream_restarts_every_counter() -> None:
    reports = _reports()
    for rep in reports[70:]:
        rep[0]["ssrc"] = 999
    cm = _feed(reports)
    assert cm.counters["resets"] == 1
    assert (cm.windows.frames >= 0).all()


def test_a_gap_of_several_seconds_is_spread_over_its_windows() -> None:
    full = _feed(_reports()).windows
    reports = _reports()
    del reports[40:46]  # six snapshots lost: windows 39..45 come from one 7 s stretch
    w = _feed(reports).windows
    assert len(w) == len(full)
    assert w.gap[39:46].all() and not w.gap[:39].any()
    assert w.frames[39:46].sum() == pytest.approx(full.frames[39:46].sum())
    assert (w.usable[:38] == full.usable[:38]).all() and (w.usable[47:] == full.usable[47:]).all()


def test_out_of_order_and_duplicate_snapshots_change_nothing() -> None:
    reports = _reports()
    in_order = _feed(reports, reorder_windows=2).windows
    shuffled = list(reports)
    rng = random.Random(7)
    # the grid starts at the first snapshot received; after it, any order within the
    # reorder allowance gives the same windows
    for i in range(1, len(shuffled) - 2, 3):
        chunk = shuffled[i : i + 3]
        rng.shuffle(chunk)
        shuffled[i : i + 3] = chunk
    shuffled[10:10] = [reports[9], reports[11]]  # duplicates of neighbours
    cm = _feed(shuffled, reorder_windows=2)
    assert cm.windows.drop(columns=["final"]).equals(in_order.drop(columns=["final"]))
    assert cm.counters["replaced"] + cm.counters["stale"] >= 2


def test_a_late_snapshot_after_its_window_is_dropped() -> None:
    reports = _reports()
    cm = CallMonitor("consult", call_id="c", site="s", reorder_windows=0)
    for rep in reports[:20]:
        cm.add_stats(rep)
    cm.add_stats(reports[5])
    assert cm.counters["stale"] == 1


def test_jittered_snapshot_times_keep_the_grid() -> None:
    reports = _reports()
    rng = random.Random(3)
    for rep in reports[1:-1]:
        shift = rng.uniform(-150.0, 150.0)
        for obj in rep:
            obj["timestamp"] += shift
    w = _feed(reports).windows
    ref = _feed(_reports()).windows
    assert len(w) == len(ref)
    assert (w.usable == ref.usable).mean() > 0.95


def test_nan_and_strings_where_numbers_belong() -> None:
    reports = _reports()
    rng = random.Random(11)
    for rep in reports[1:-1]:
        obj = rep[rng.randrange(len(rep))]
        key = rng.choice([k for k in obj if k not in ("id", "type", "kind", "timestamp")])
        obj[key] = rng.choice([float("nan"), "oops", "", None, True, {"x": 1}])
    cm = _feed(json.loads(json.dumps(reports, allow_nan=True)))
    w = cm.windows
    assert len(w) == 120 and cm.counters["invalid_fields"] > 0
    ref = _feed(_reports()).windows
    assert (w.usable == ref.usable).mean() > 0.9


def test_state_and_reasons_follow_the_latest_window() -> None:
    cm = CallMonitor("consult", call_id="c", site="s")
    assert cm.state == "no data" and cm.reasons == ()
    reports = _reports("bus-3g-weak.down")
    for rep in reports[:30]:
        cm.add_stats(rep)
    assert cm.state in ("usable", "unusable", "excluded")
    assert set(cm.reasons) <= set(REASONS)
    assert (cm.state == "usable") == (cm.reasons == ())


def test_availability_is_slas_accounting_of_final_windows() -> None:
    r = _replay("rural-4g.csv", "consult")
    cm = _feed(r.stats_reports(), "consult")
    w = cm.windows
    counted = w.covered_s[~w.excluded].sum()
    assert cm.summary.counted_us / 1e6 == pytest.approx(counted)
    assert cm.availability == pytest.approx(w.covered_s[w.usable & ~w.excluded].sum() / counted)


def test_profile_may_be_a_policy_or_a_profile() -> None:
    pol = mo.policies.load("surgical")
    assert CallMonitor(pol, call_id="a", site="s").tier == "advanced"
    assert CallMonitor(pol.profile, call_id="a", site="s").policy == "surgical"
    with pytest.raises(InputError):
        CallMonitor("no-such-policy", call_id="a", site="s")
    with pytest.raises(InputError):
        CallMonitor(3, call_id="a", site="s")  # type: ignore[arg-type]


def test_playout_clock_on_the_ntp_epoch() -> None:
    reports = _reports()
    for rep in reports:
        for obj in rep:
            if "estimatedPlayoutTimestamp" in obj:
                obj["estimatedPlayoutTimestamp"] += NTP_UNIX_OFFSET_MS + 1234.0
    w = _feed(reports).windows
    ref = _feed(_reports()).windows
    assert np.allclose(w.fps, ref.fps, equal_nan=True)
    assert (w.late == ref.late).all()


# ---------------------------------------------------------------------------------------
# Fleet


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_fleet_groups_by_site_tier_policy_and_evicts() -> None:
    clock = _Clock()
    fleet = Fleet(evict_after_s=10, idle_timeout_s=5, clock=clock)
    reports = _reports("rural-4g.csv")
    for rep in reports[:20]:
        fleet.add_stats("a", rep, site="north", policy="consult")
        fleet.add_stats("b", rep, site="north", policy="surgical")
        fleet.add_stats("c", rep, site="south", policy="consult")
    groups = fleet.groups()
    assert set(groups) == {
        ("north", "standard", "consult"),
        ("north", "advanced", "surgical"),
        ("south", "standard", "consult"),
    }
    assert all(g.active == 1 for g in groups.values())
    fleet.end("a")
    g = fleet.groups()[("north", "standard", "consult")]
    assert g.active == 0 and g.ended == 1 and g.summary.covered_us > 0
    clock.t = 6.0
    fleet.evict()  # b and c idle for 6 s: ended
    assert all(g.active == 0 for g in fleet.groups().values())
    clock.t = 11.0
    assert fleet.evict() == 1 and "a" not in fleet  # a ended 11 s ago
    clock.t = 16.0
    assert fleet.evict() == 2 and len(fleet) == 0
    # the totals outlive the calls
    assert fleet.groups()[("south", "standard", "consult")].summary.covered_us > 0


def test_fleet_is_bounded() -> None:
    fleet = Fleet(max_calls=2, max_windows=5)
    rep = _reports()[:14]
    for cid in ("a", "b"):
        for r in rep:
            fleet.add_stats(cid, r, site="s", policy="consult")
    with pytest.raises(FleetFullError):
        fleet.add_stats("c", rep[0], site="s", policy="consult")
    mon = fleet.get("a")
    assert mon is not None and len(mon.window_list()) <= 5
    assert mon.summary.windows >= 10  # the accounting covers the whole call


def test_fleet_frame_delay_histogram_counts_windows_with_video() -> None:
    fleet = Fleet()
    for r in _reports("constant-1mbps.down"):
        fleet.add_stats("a", r, site="s", policy="consult")
    fleet.end("a")
    g = fleet.groups()[("s", "standard", "consult")]
    assert g.delay_count == 13 and sum(g.delay_buckets) == 13
    assert 0 < g.delay_sum_s / g.delay_count < 0.3


def test_fleet_calls_summary_is_json() -> None:
    fleet = Fleet()
    for r in _reports()[:10]:
        fleet.add_stats("x1", r, site="s", policy="followup")
    calls = fleet.calls()
    assert calls[0]["call_id"] == "x1" and calls[0]["tier"] == "basic"
    json.dumps(calls)


# ---------------------------------------------------------------------------------------
# the recorder: a live call as a trace


def _write_jsonl(path: Path, reports: list[Any], *, envelope: bool = False) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for rep in reports:
            fh.write(json.dumps({"report": rep} if envelope else rep) + "\n")


@pytest.mark.parametrize("trace", ["rural-4g.csv", "lte-driving-like.csv"])
def test_recorded_trace_follows_the_original_capacity(trace: str, tmp_path: Path) -> None:
    r = _replay(trace, "consult")
    rec = record(r.stats_reports(), name="rec")
    assert rec.duration_s == pytest.approx(r.metrics["duration_s"], abs=1.0)
    orig = mo.traces.load(DATA / trace)
    t = np.arange(int(rec.duration_s))
    cap_o = orig.capacity_kbps[np.searchsorted(orig.step_times_us, t * 1_000_000, "right") - 1]
    cap_r = rec.capacity_kbps[np.searchsorted(rec.step_times_us, t * 1_000_000, "right") - 1]
    # the recording sees at most what the path carried (it never invents capacity) and
    # follows it: the median ratio is within a factor of two
    ratio = np.median(cap_r[5:] / np.maximum(cap_o[5:], 1.0))
    if trace == "rural-4g.csv":
        assert 0.3 < ratio < 1.5
    else:  # consult stops at its 2 Mbit/s ceiling on a 15 Mbit/s link: the call never saw more
        assert ratio < 1.5 and np.all(cap_r > 0)
    assert rec.delay_ms is not None and np.all(rec.delay_ms >= 40)  # 50 ms each way
    assert rec.loss is not None and np.all((rec.loss >= 0) & (rec.loss <= 1))


def test_recorded_trace_says_what_the_call_saw() -> None:
    # consult's estimator holds ~50 kbit/s on the lossy hospital Wi-Fi: the stats cannot
    # show the 1.5 Mbit/s it never probed, and the recording does not invent it; it keeps
    # the Wi-Fi's random loss (3.5 %) in the loss column
    r = _replay("hospital-wifi-congested.csv", "consult")
    rec = record(r.stats_reports(), name="rec")
    ts = r.timeseries
    n = min(len(ts), rec.capacity_kbps.size)
    assert np.all(rec.capacity_kbps[2:n] >= 0.9 * ts.goodput_kbps.to_numpy()[2:n])
    assert rec.loss is not None and 0.01 < float(np.mean(rec.loss)) < 0.1


def test_record_cli_writes_a_trace_replay_loads(tmp_path: Path) -> None:
    from mediaopt.cli import main

    stats = tmp_path / "call.jsonl"
    _write_jsonl(stats, _replay("rural-4g.csv", "consult").stats_reports(), envelope=True)
    out = tmp_path / "call.csv"
    assert main(["monitor", "record", str(stats), "--out", str(out)]) == 0
    tr = mo.traces.load(out)
    assert tr.name == "call" and tr.duration_s > 100
    res = mo.replay(out, "consult", seed=0)
    assert res.metrics["duration_s"] == pytest.approx(tr.duration_s)
    assert main(["replay", str(out), "--policy", "consult"]) == 0


def test_record_rejects_a_bad_line(tmp_path: Path) -> None:
    stats = tmp_path / "bad.jsonl"
    stats.write_text('[{"type": "inbound-rtp"}]\nnot json\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:2"):
        list(read_stats_jsonl(stats))
    with pytest.raises(InputError, match="two stats snapshots"):
        record_file(_one_line(tmp_path), tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def _one_line(tmp_path: Path) -> Path:
    p = tmp_path / "one.jsonl"
    _write_jsonl(p, _reports()[:1])
    return p


def test_stats_reports_are_json_and_monotone() -> None:
    r = _replay("bus-3g-weak.down", "surgical")
    reports = stats_reports(r.frames, r.intervals, r.metrics["duration_s"])
    assert reports == r.stats_reports()
    json.dumps(reports, allow_nan=False)
    prev: dict[str, float] = {}
    for rep in reports:
        inbound = rep[0]
        for k in ("framesRendered", "framesDecoded", "freezeCount", "totalFreezesDuration",
                  "packetsReceived", "bytesReceived", "jitterBufferDelay"):  # fmt: skip
            assert inbound[k] >= prev.get(k, 0), k
            prev[k] = inbound[k]
    assert math.isclose(reports[-1][0]["timestamp"] - reports[0][0]["timestamp"], 60_000.0)
