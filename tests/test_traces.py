"""Traces: the model, every loader and writer, generators, bundled traces, the CLI."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import mediaopt as mo
from mediaopt import traces
from mediaopt.cli import main
from mediaopt.traces import Trace

_NOT_TRACES = {"LICENSE", "COPYING", "UPSTREAM-README", "README.md"}


def _shared_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.rglob("*") if f.is_file() and f.name not in _NOT_TRACES)


# ---------------------------------------------------------------- recorded traces


def test_every_shared_trace_loads(shared_traces):
    files = _shared_files(shared_traces)
    assert len(files) > 100
    for f in files:
        tr = traces.load(f)
        expected = "mahimahi" if f.parent.name == "mahimahi" else "cooked"
        assert traces.sniff(f) == expected, f
        assert tr.source == expected
        assert tr.duration_us > 0 and tr.opportunities_us.size > 0, f
        assert np.all(np.diff(tr.opportunities_us) >= 0)
        s = tr.stats()
        assert s.p10_kbps <= s.p50_kbps <= s.p90_kbps
        assert 0.0 <= s.share_below_300kbps <= 1.0


def test_mahimahi_mean_rate_matches_a_line_count(shared_traces):
    for f in sorted((shared_traces / "mahimahi").glob("*.*")):
        if f.name in _NOT_TRACES:
            continue
        lines = [ln for ln in f.read_text().splitlines() if ln.strip()]
        direct_bps = len(lines) * 1504 * 8 / (int(lines[-1]) / 1000)
        tr = traces.load(f, format="mahimahi")
        assert abs(tr.mean_bps - direct_bps) / direct_bps < 0.02, f


def test_cooked_trace_capacity_matches_its_samples(shared_traces):
    f = shared_traces / "hsdpa" / "norway_bus_1"
    rows = np.loadtxt(f)
    tr = traces.load(f)
    assert tr.capacity_kbps[0] == pytest.approx(rows[0, 1] * 1000)
    t = rows[:, 0] - rows[0, 0]
    dt = np.append(np.diff(t), np.median(np.diff(t)))
    mean_kbps = float((rows[:, 1] * 1000 * dt).sum() / dt.sum())
    assert tr.mean_kbps == pytest.approx(mean_kbps, rel=0.01)


def test_shared_round_trips(shared_traces, tmp_path):
    f = shared_traces / "mahimahi" / "ATT-LTE-driving-2016.up"
    tr = traces.load(f)
    traces.write_mahimahi(tr, tmp_path / "a.up")
    assert (tmp_path / "a.up").read_bytes() == f.read_bytes().replace(b"\r\n", b"\n")
    assert traces.load(tmp_path / "a.up").same_as(tr)


# ---------------------------------------------------------------- model and conversion


def test_capacity_to_opportunities_keeps_the_rate():
    # 12032 kbit/s is exactly one 1504-byte opportunity per millisecond
    tr = traces.constant(12_032, 1.0)
    assert tr.opportunities_us.tolist() == [m * 1000 for m in range(1, 1001)]
    tr = traces.steps([(0, 1000), (40, 2500), (60, 600), (80, 1000)], 100)
    expect_bits = (1000 * 40 + 2500 * 20 + 600 * 20 + 1000 * 20) * 1000
    assert abs(tr.opportunities_us.size * 12032 - expect_bits) < 12032
    again = traces.steps([(0, 1000), (40, 2500), (60, 600), (80, 1000)], 100)
    assert again.same_as(tr)


def test_stats_are_time_weighted():
    tr = traces.steps([(0, 200), (10, 1000)], 40)
    s = tr.stats()
    assert s.share_below_300kbps == pytest.approx(0.25)
    assert s.p10_kbps == 200 and s.p90_kbps == 1000 and s.p50_kbps == 1000
    assert s.duration_s == 40
    assert tr.capacity_at(5) == 200 and tr.capacity_at(45) == 200  # loops


def test_opportunity_trace_capacity_view_uses_one_second_bins():
    tr = Trace.from_opportunities(list(range(1, 2001)))  # 1 per ms for 2 s
    assert tr.capacity_kbps.tolist() == [12032.0, 12032.0]
    assert tr.mean_kbps == pytest.approx(12032.0)


# ---------------------------------------------------------------- generators


def test_rfc8867_schedules():
    tr = traces.rfc8867("5.1")
    assert tr.duration_s == 100
    assert [tr.capacity_at(t) for t in (10, 50, 70, 90)] == [1000, 2500, 600, 1000]
    assert tr.name == "rfc8867-5.1"
    tr2 = traces.rfc8867("5.2")
    assert tr2.duration_s == 125
    assert [tr2.capacity_at(t) for t in (1, 30, 60, 80, 110)] == [4000, 2000, 3500, 1000, 2000]
    fwd, bwd = traces.rfc8867("5.3"), traces.rfc8867("5.3-backward")
    assert [fwd.capacity_at(t) for t in (1, 30, 50, 70)] == [2000, 1000, 500, 2000]
    assert [bwd.capacity_at(t) for t in (1, 50, 80)] == [2000, 800, 2000]
    with pytest.raises(ValueError, match="case"):
        traces.rfc8867("9.9")


def test_cellular_is_seeded_and_has_the_requested_mean():
    a = traces.cellular(1500, 120, seed=7)
    b = traces.cellular(1500, 120, seed=7)
    c = traces.cellular(1500, 120, seed=8)
    assert a.same_as(b) and not a.same_as(c)
    assert a.mean_kbps == pytest.approx(1500, rel=0.01)
    assert a.percentile_kbps(10) < 0.6 * a.percentile_kbps(90)


def test_steps_validation():
    with pytest.raises(ValueError, match="start at 0"):
        traces.steps([(1, 100)], 10)
    with pytest.raises(ValueError, match="increase"):
        traces.steps([(0, 100), (5, 10), (5, 20)], 10)
    with pytest.raises(ValueError, match="no capacity"):
        traces.steps([(0, 0)], 10)
    with pytest.raises(ValueError, match="negative"):
        traces.steps([(0, -5)], 10)


# ---------------------------------------------------------------- formats


def test_sniffing_and_explicit_format(tmp_path):
    (tmp_path / "m").write_text("# a comment\r\n0\r\n5\r\n\r\n10\r\n")
    (tmp_path / "c").write_text("0.0 1.5\n1.0\t0.5\n")
    (tmp_path / "x.csv").write_text("time_s,capacity_kbps\n0,1000\n2,500\n")
    assert traces.sniff(tmp_path / "m") == "mahimahi"
    assert traces.sniff(tmp_path / "c") == "cooked"
    assert traces.sniff(tmp_path / "x.csv") == "csv"
    m = traces.load(tmp_path / "m")
    assert m.opportunities_us.tolist() == [0, 5000, 10000] and m.duration_us == 10_000
    c = traces.load(tmp_path / "c", format="cooked")
    assert c.capacity_kbps.tolist() == [1500.0, 500.0] and c.duration_s == 2.0
    x = traces.load(tmp_path / "x.csv")
    assert x.duration_s == 4.0  # last sample holds for the median interval
    with pytest.raises(ValueError, match="format"):
        traces.load(tmp_path / "m", format="pcap")


def test_csv_with_loss_delay_and_duration(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text("# duration_s=3\ntime_s,capacity_kbps,loss,delay_ms\n0,800,0.1,5\n1,0,0,0\n")
    tr = traces.load(p)
    assert tr.duration_s == 3
    assert tr.loss.tolist() == [0.1, 0.0] and tr.delay_ms.tolist() == [5.0, 0.0]


def test_json_trace_pattern_and_glitch_clipping(tmp_path):
    doc = {
        "type": "video",
        "downlink": {},
        "uplink": {
            "trace_pattern": [
                {"duration": 2000, "capacity": 1000, "loss": 0, "rtt": 80, "jitter": 0},
                {"duration": 1000, "capacity": 1e9, "loss": 0, "rtt": 80, "jitter": 0},
                {"duration": 3000, "capacity": 500, "loss": 0.05, "rtt": 40, "jitter": 0},
            ]
        },
    }
    p = tmp_path / "onl.json"
    p.write_text(json.dumps(doc))
    with pytest.warns(UserWarning, match="clipped 1 capacity glitch"):
        tr = traces.load(p)
    assert tr.source == "json"
    assert tr.duration_s == 6
    assert tr.capacity_kbps.tolist() == [1000, 1000, 500]
    assert tr.loss.tolist() == [0, 0, 0.05]
    assert tr.delay_ms.tolist() == [40, 40, 20]


def test_writers_round_trip(tmp_path):
    for tr in [
        traces.rfc8867("5.1"),
        traces.cellular(900, 30, seed=1),
        traces.wifi_congested(1500, 10, seed=2),
    ]:
        traces.save(tr, tmp_path / "t.csv")
        back = traces.load(tmp_path / "t.csv")
        assert back.same_as(tr), tr.name
        traces.save(tr, tmp_path / "t.down")
        m = traces.load(tmp_path / "t.down")
        assert m.duration_us == tr.duration_us
        assert abs(m.opportunities_us.size - tr.opportunities_us.size) <= 1
        traces.save(m, tmp_path / "t2.down")
        assert (tmp_path / "t2.down").read_text() == (tmp_path / "t.down").read_text()


BAD = {
    "empty": ("", "empty"),
    "blank": ("\n# only a comment\n\n", "no trace data"),
    "decreasing": ("0\n5\n3\n", ":3: timestamp 3 is before"),
    "negative": ("-1\n4\n", ":1: negative"),
    "text": ("hello world\n", ":1:"),
    "zero-length": ("0\n0\n", ":2: the trace must last"),
    "fraction": ("1\n2.5\n", None),
    "nan-cooked": ("0 1.0\n1 nan\n", ":2: throughput is 'nan'"),
    "decreasing-cooked": ("0 1.0\n2 1.0\n1 1.0\n", ":3: time 1.0 is before"),
    "negative-cooked": ("-1 1.0\n1 1.0\n", ":1: negative time"),
    "no-capacity-cooked": ("0 0\n1 0\n", "no capacity at all"),
    "csv-nan": ("time_s,capacity_kbps\n0,1000\n1,nan\n", ":3:"),
    "csv-columns": ("time_s,capacity_kbps\n0,1000,5\n", ":2: expected 2 fields"),
    "csv-no-capacity": ("time_s,capacity_kbps\n0,0\n", "no capacity at all"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_name_file_and_line(tmp_path, case):
    text, match = BAD[case]
    p = tmp_path / f"{case}.trace"
    p.write_text(text)
    with pytest.raises(ValueError) as exc:
        traces.load(p)
    assert str(p) in str(exc.value)
    if match:
        assert match in str(exc.value)


def test_bad_json_and_binary(tmp_path):
    p = tmp_path / "b.json"
    p.write_text('{"uplink": {"trace_pattern": [{"duration": 10, "capacity": "x"}]}}')
    with pytest.raises(ValueError, match=r"trace_pattern\[0\]: capacity"):
        traces.load(p)
    p.write_text("{not json")
    with pytest.raises(ValueError, match=":1: invalid JSON"):
        traces.load(p)
    b = tmp_path / "bin"
    b.write_bytes(b"\x00\xff\xfe\x80" * 10)
    with pytest.raises(ValueError, match=str(b)):
        traces.load(b, format="mahimahi")
    with pytest.raises(FileNotFoundError):
        traces.load(tmp_path / "missing")


def test_large_mahimahi_file_streams(tmp_path):
    p = tmp_path / "big.down"
    n = 400_000
    p.write_text("\n".join(str(i // 4) for i in range(1, n + 1)) + "\n")
    tr = traces.load(p)
    assert tr.opportunities_us.size == n
    assert tr.mean_bps == pytest.approx(4 * 12032 * 1000, rel=1e-4)


# ---------------------------------------------------------------- bundled traces


def test_bundled_traces_are_small_and_regenerate_identically(tmp_path):
    b = traces.bundled()
    assert {"bus-3g-weak", "rural-4g", "hospital-wifi-congested", "constant-1mbps"} <= set(b)
    folder = Path(traces.__file__).parent / "data"
    written = traces.write_bundled(tmp_path)
    for f in written:
        shipped = folder / f.name
        assert shipped.stat().st_size < 50_000
        assert shipped.read_bytes() == f.read_bytes(), f.name
    assert b["constant-1mbps"].mean_kbps == pytest.approx(1000)
    assert b["bus-3g-weak"].stats().share_below_300kbps > 0.2
    assert b["lte-driving-like"].mean_kbps == pytest.approx(4600, rel=0.01)
    assert b["hospital-wifi-congested"].loss is not None


# ---------------------------------------------------------------- CLI


def test_cli_ls_show_convert(tmp_path, capsys):
    traces.write_bundled(tmp_path)
    (tmp_path / "LICENSE").write_text("not a trace")
    assert main(["traces", "ls", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bus-3g-weak.down" in out and "5 traces" in out
    assert main(["traces", "ls", str(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["path"] for r in rows} >= {"rural-4g.csv", "constant-1mbps.down"}
    png = tmp_path / "p.png"
    assert main(["traces", "show", "rural-4g", "--plot", str(png), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["name"] == "rural-4g" and png.read_bytes()[:4] == b"\x89PNG"
    out_file = tmp_path / "rural.down"
    assert main(["traces", "convert", str(tmp_path / "rural-4g.csv"), str(out_file)]) == 0
    assert traces.sniff(out_file) == "mahimahi"
    assert main(["traces", "show", "no-such-trace"]) == 2
    assert main(["traces", "ls", str(tmp_path / "nope")]) == 2


def test_package_exports():
    # the public Link resolves its arguments in Python and builds on the compiled link
    assert mo.Link is mo.traces.link.Link and issubclass(mo.Link, mo._core.link.Link)
    assert mo.traces.load is traces.load
    assert math.isclose(traces.OPPORTUNITY_BYTES, 1504)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(traces.constant(500, 2), Trace)
