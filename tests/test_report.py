import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from mediaopt.replay.metrics import FrameLog, IntervalLog, session_metrics, timeseries
from mediaopt.report.replay import (
    format_table,
    plot_session,
    render_html,
    results_frame,
    write_report,
)


@dataclass(frozen=True)
class Profile:
    name: str = "p"
    tier: str = "basic"
    availability: float = 0.995
    max_frame_delay_ms: float = 400.0
    min_fps: float = 10.0
    min_width: int = 320
    min_height: int = 240


@dataclass(frozen=True)
class FakeResult:
    """Stands in for mediaopt.replay.ReplayResult: the fields the report reads."""

    trace_name: str
    policy_name: str
    seed: int
    metrics: dict
    timeseries: pd.DataFrame


def make_result(trace, policy, delay_ms=80.0, stall=None, seed=0):
    capture = np.arange(0, 6000, 1000 / 30)
    render = capture + delay_ms
    if stall is not None:
        render = np.where((capture >= stall[0]) & (capture < stall[1]), -1.0, render)
    n = capture.size
    frames = FrameLog(
        (capture * 1000).astype(np.int64),
        np.where(render < 0, -1, render * 1000).astype(np.int64),
        np.full(n, 2000),
        np.full(n, 640),
        np.full(n, 360),
        np.arange(n) == 0,
        np.full(n, 35.0),
    )
    k = 60
    intervals = IntervalLog(
        np.arange(k) * 100_000,
        np.full(k, 800_000),
        np.linspace(300_000, 700_000, k).astype(np.int64),
        np.full(k, 7_000),
        np.full(k, 6_500),
        np.full(k, 6),
        np.zeros(k, dtype=np.int64),
        np.full(k, 100_000),
    )
    prof = Profile()
    return FakeResult(
        trace,
        policy,
        seed,
        session_metrics(frames, intervals, prof, 6.0),
        timeseries(frames, intervals, prof),
    )


RESULTS = [
    make_result("lte", "gcc"),
    make_result("lte", "consult", stall=(2000, 3000)),
    make_result("3g <b>", "gcc", delay_ms=500.0),
]


def test_format_table_one_block_per_trace():
    text = format_table(RESULTS)
    blocks = text.split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].startswith("trace lte (6 s)")
    lines = blocks[0].splitlines()
    assert lines[1].split()[:3] == ["policy", "delay", "p50"]
    rows = {ln.split()[0]: ln.split() for ln in lines[3:]}
    assert set(rows) == {"gcc", "consult"}
    assert rows["gcc"][1] == "80" and rows["gcc"][-1] == "yes"
    assert rows["consult"][-1] == "no"
    assert rows["consult"][3] == "1"  # one freeze
    # every row and header lines up
    assert len({len(ln) for ln in lines[1:3]}) == 1


def test_results_frame():
    df = results_frame(RESULTS)
    assert list(df.columns[:3]) == ["trace", "policy", "seed"]
    assert len(df) == 3 and df["freeze_count"].tolist() == [0.0, 1.0, 0.0]


def test_plot_is_png_and_deterministic():
    png = plot_session(RESULTS[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert plot_session(RESULTS[1]) == png


def test_html_is_self_contained_and_escaped():
    doc = render_html(RESULTS, title="Clinic <A>")
    assert doc.startswith("<!DOCTYPE html>")
    assert "Clinic &lt;A&gt;" in doc and "3g &lt;b&gt;" in doc and "3g <b>" not in doc
    assert len(re.findall(r'src="data:image/png;base64,', doc)) == 3
    assert not re.search(r'(src|href)="(https?:)?//', doc)
    assert doc.count("<table>") == 2
    assert render_html(RESULTS, plots=False).count("<img") == 0


def test_write_report_atomic(tmp_path):
    out = tmp_path / "r.html"
    write_report(out, RESULTS[:1])
    assert out.read_text().count("<img") == 1

    class Broken:
        trace_name, policy_name, seed, metrics = "t", "p", 0, RESULTS[0].metrics

        @property
        def timeseries(self):
            raise RuntimeError("boom")

    bad = Broken()
    before = out.read_bytes()
    with pytest.raises(RuntimeError):
        write_report(out, [bad])
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "missing" / "r.html", RESULTS[:1])


def test_empty_timeseries_still_plots():
    r = FakeResult("t", "p", 0, RESULTS[0].metrics, RESULTS[0].timeseries.iloc[:0])
    assert plot_session(r).startswith(b"\x89PNG")
