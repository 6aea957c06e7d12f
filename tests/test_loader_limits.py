"""Issue 13, "Trace and policy loaders": every reproducer gets an InputError (or, when the
input is valid but large, a correct result within the documented limits).

Each case writes the issue's file, loads it and checks the message: it names the file
(and the line or key) and cuts the offending value to at most 120 characters. The
issue's "within 1 s" bound is checked for all cases together in one subprocess with a
generous timeout, alongside their memory peaks (``test_reproducers_are_quick_and_small``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import mediaopt as mo
from mediaopt import policies, traces
from mediaopt.errors import InputError, clip_repr
from mediaopt.media import profiles
from mediaopt.traces import OnOffLoss
from mediaopt.traces.model import DEFAULT_LIMITS, TraceLimits

# (name, file name, bytes, needle in the message); every one must raise InputError
TRACE_CASES: list[tuple[str, str, bytes, str]] = [
    ("mahimahi_12_bytes", "m.down", b"100000000000", ":1: timestamp '100000000000' ms is beyond"),
    ("mahimahi_67_tib", "m.down", b"1\n9300000000000000", ":2: timestamp"),
    ("cooked_far_time", "c.log", b"0 1\n1000000000 1", ":2: time 1e+09 s is beyond"),
    ("csv_duration_1e12", "d.csv", b"# duration_s=1e12\ntime_s,capacity_kbps\n0,1\n",
     "duration_s='1e12' is outside"),
    ("json_duration_1e15", "j.json", b'{"trace_pattern":[{"duration":1e15,"capacity":1}]}',
     "trace_pattern[0]: the pattern lasts"),
    ("json_duration_1e308", "j.json", b'{"trace_pattern":[{"duration":1e308,"capacity":1}]}',
     "TraceLimits.max_duration_s"),
    ("json_huge_integer", "j.json",
     b'{"trace_pattern":[{"duration":1' + b"0" * 5000 + b',"capacity":1}]}',
     "duration must be a finite number"),
    ("json_deep", "j.json", b"[" * 100_000 + b"]" * 100_000, "JSON nested 100000 deep"),
    ("json_negative_rtt", "j.json",
     b'{"trace_pattern":[{"duration":1000,"capacity":100,"rtt":-5}]}', "rtt must be within"),
    ("mahimahi_arabic_digit", "m.down", "٣\n".encode(), ":1: not a trace line: '٣'"),
    ("mahimahi_underscore", "m.down", b"1_000\n", ":1: not a trace line: '1_000'"),
    ("mahimahi_plus", "m.down", b"+5\n", ":1: not a trace line: '+5'"),
    ("csv_duplicate_column", "d.csv", b"time_s,capacity_kbps,time_s\n0,1,0\n",
     ":1: column 'time_s' appears more than once"),
    ("not_utf8", "m.down", b"5\n\xff\xfe\n", ":2: not UTF-8 text"),
    ("long_line", "m.down", b"7" * 5000 + b"\n", ":1: line longer than 4096 bytes"),
]  # fmt: skip
FORCED: dict[str, str] = {"mahimahi_arabic_digit": "mahimahi"}


def _write(tmp_path: Path, fname: str, data: bytes) -> Path:
    p = tmp_path / fname
    p.write_bytes(data)
    return p


@pytest.mark.parametrize(
    ("case", "fname", "data", "needle"), TRACE_CASES, ids=[c[0] for c in TRACE_CASES]
)
def test_trace_reproducers_raise_input_error(tmp_path, case, fname, data, needle):
    p = _write(tmp_path, fname, data)
    with pytest.raises(InputError) as exc:
        traces.load(p)
    msg = str(exc.value)
    assert str(p) in msg and needle in msg, msg
    assert len(msg) < len(str(p)) + 300  # the offending value is cut, never the whole file


def test_forced_mahimahi_grammar(tmp_path):
    for text, needle in (("٣", "ASCII digits"), ("1_000", "ASCII digits"), ("+5", "ASCII digits"),
                         (" 12 ", None), ("-3", "negative timestamp")):  # fmt: skip
        p = _write(tmp_path, "f.down", f"{text}\n".encode())
        if needle is None:
            assert traces.load(p, format="mahimahi").duration_us == 12_000
            continue
        with pytest.raises(InputError, match=needle):
            traces.load(p, format="mahimahi")


def test_sparse_gigabyte_file_is_refused_by_its_first_line(tmp_path):
    p = tmp_path / "sparse"
    with open(p, "wb") as fh:
        fh.truncate(2**30)
    for fmt in (None, "mahimahi", "cooked", "csv"):
        with pytest.raises(InputError, match=r":1: line longer than 4096 bytes") as exc:
            traces.load(p, format=fmt)
        assert len(str(exc.value)) < 200
    with pytest.raises(InputError, match=r"larger than|more than"):
        traces.load(p, format="json")


def test_utf8_bom_is_accepted_in_every_format(tmp_path):
    bom = b"\xef\xbb\xbf"
    assert traces.load(_write(tmp_path, "a.down", bom + b"5\n10\n")).duration_us == 10_000
    assert traces.load(_write(tmp_path, "a.log", bom + b"0 1\n1 1\n")).source == "cooked"
    assert (
        traces.load(_write(tmp_path, "a.csv", bom + b"time_s,capacity_kbps\n0,50\n")).source
        == "csv"
    )
    doc = bom + b'{"trace_pattern":[{"duration":1000,"capacity":300}]}'
    assert traces.load(_write(tmp_path, "a.json", doc)).duration_s == 1.0
    assert policies.load(_write(tmp_path, "p.toml", bom + b'name = "bom"\n')).name == "bom"


def test_glitches_are_clipped_alike_in_every_format(tmp_path):
    # the issue: CSV 1,4444444493.572 was accepted at 1.48 Tbit/s; JSON clipped it
    files = {
        "g.csv": b"time_s,capacity_kbps\n0,1000\n1,4444444493.572\n2,1000\n",
        "g.log": b"0 1\n1 4444444.493572\n2 1\n",
        "g.json": json.dumps({"trace_pattern": [
            {"duration": 1000, "capacity": 1000},
            {"duration": 1000, "capacity": 4444444493.572},
            {"duration": 1000, "capacity": 1000}]}).encode(),
    }  # fmt: skip
    loaded = []
    for fname, data in files.items():
        with pytest.warns(UserWarning, match="clipped 1 capacity glitch"):
            loaded.append(traces.load(_write(tmp_path, fname, data)))
    for tr in loaded:
        assert tr.capacity_kbps.tolist() == [1000.0, 1000.0, 1000.0]
        assert tr.same_as(loaded[0])


@pytest.mark.parametrize(
    ("fname", "data"),
    [("c.log", b"0 1e300\n1 1\n"), ("s.csv", b"time_s,capacity_kbps\n0,1e300\n")],
)
def test_misleading_messages_are_gone(tmp_path, fname, data):
    # cooked "0 1e300" said "not a trace line"; CSV 1e300 said "no capacity at all"
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        tr = traces.load(_write(tmp_path, fname, data))
    assert "clipped 1 capacity glitch" in str(rec[0].message)
    assert tr.capacity_kbps.max() <= 1_000_000


def test_nothing_but_input_error_escapes_the_models():
    with pytest.raises(InputError, match="longer than the longest trace"):
        traces.constant(1000, 1e308)
    with pytest.raises(InputError, match="delivery opportunities"):
        mo.traces.Trace.from_capacity([0.0], [1e300], 10.0)
    with pytest.raises(InputError, match="beyond the longest trace"):
        mo.traces.Trace.from_opportunities([2**62])
    with pytest.raises(InputError, match="must be numbers"):
        mo.traces.Trace.from_opportunities(["x"])
    with pytest.raises(InputError, match="delay_ms column is outside"):
        mo.traces.steps([(0, 100)], 10, delay_ms=[1e300])


def test_on_off_periods_that_round_to_zero_ms_are_refused():
    with pytest.raises(InputError, match=r"mean_on_s: 0\.0001 s rounds to 0 ms"):
        OnOffLoss(mean_on_s=1e-4, mean_off_s=1e-4)
    with pytest.raises(InputError, match="mean_off_s"):
        OnOffLoss(mean_on_s=1.0, mean_off_s=0.0004, periodic=True)
    with pytest.raises(InputError, match="above the maximum"):
        OnOffLoss(mean_on_s=1e300, mean_off_s=1.0)
    assert OnOffLoss(mean_on_s=0.001, mean_off_s=0.0).mean_loss == 0.0


# ---------------------------------------------------------------- limits


def test_default_limits_are_a_day_of_100_mbps():
    lim = DEFAULT_LIMITS
    assert lim.max_duration_s == 86_400
    assert lim.max_opportunities == 718_085_107  # ceil(86400 s x 100 Mbit/s / 12032 bits)
    assert lim.max_opportunities * 1504 * 8 >= 86_400 * 100e6
    assert lim.max_steps == 86_400_000
    assert (lim.max_line_bytes, lim.max_nesting_depth) == (4096, 32)
    with pytest.raises(InputError, match=r"limits\.max_steps"):
        TraceLimits(max_steps=0)


def test_the_longest_real_traces_load_comfortably(shared_traces):
    files = [
        f for f in sorted((shared_traces / "mahimahi").glob("*.*")) if f.suffix in (".up", ".down")
    ]
    longest = max((traces.load(f) for f in files), key=lambda tr: tr.duration_us)
    assert longest.duration_s < DEFAULT_LIMITS.max_duration_s / 50


def test_valid_but_large_a_whole_day(tmp_path):
    # a day at 100 kbit/s: right at the duration limit, loaded exactly (credit rule)
    tr = traces.load(_write(tmp_path, "day.log", b"0 0.1\n43200 0.1\n"))
    assert tr.duration_s == 86_400
    assert tr.opportunities_us.size == 86_400 * 100_000 // 12032
    assert np.all(np.diff(tr.opportunities_us) >= 0)
    # one second more is refused
    with pytest.raises(InputError, match="longer than the longest trace accepted"):
        traces.load(_write(tmp_path, "day2.log", b"0 0.1\n43200.5 0.1\n"))
    assert traces.load(_write(tmp_path, "day.down", b"86400000\n")).duration_s == 86_400
    with pytest.raises(InputError, match="beyond the longest trace"):
        traces.load(_write(tmp_path, "day2.down", b"86400001\n"))


def test_limits_can_be_tightened(tmp_path):
    p = _write(tmp_path, "m.down", b"\n".join(b"%d" % i for i in range(1, 101)))
    small = TraceLimits(max_opportunities=50)
    with pytest.raises(InputError, match="more than 50 delivery opportunities"):
        traces.load(p, limits=small)
    assert traces.load(p).opportunities_us.size == 100


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.down"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        traces.load(fifo)
    fifo_toml = tmp_path / "p.toml"
    os.mkfifo(fifo_toml)
    with pytest.raises(InputError, match="not a regular file"):
        policies.load(fifo_toml)


# ---------------------------------------------------------------- policies and profiles

POLICY_CASES: list[tuple[str, str, str]] = [
    ("estimator_10_30", "[estimator]\nsend_time_group_length_us = 1" + "0" * 30 + "\n",
     "estimator.send_time_group_length_us: 1" + "0" * 30 + " is outside the int64 range"),
    ("deep_toml", "a = " + "[" * 5000 + "]" * 5000 + "\n", "TOML nested 5000 deep"),
    ("huge_integer", "min_bps = 1" + "0" * 5000 + "\n", "not valid TOML"),
    ("float_1e400", "[adaptation]\nup_dwell_s = 1e400\n", "adaptation.up_dwell_s: must be finite"),
    ("int_float_field", "[adaptation]\nup_dwell_s = 1" + "0" * 400 + "\n",
     "adaptation.up_dwell_s: <an integer of about 401 digits> is outside the int64 range"),
    ("ladder_row", "[adaptation]\nladder_bps = [[99999999999999, 1, 1, 1, 1], [0, 0, 1, 1, 1]]\n",
     "adaptation.ladder_bps[0]: expected finite numbers in [0, 2147483647]"),
    ("pacing_int64", "[estimator]\npacing_factor = 1e30\n", "estimator.pacing_factor"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "needle"), POLICY_CASES, ids=[c[0] for c in POLICY_CASES])
def test_policy_reproducers_raise_input_error(tmp_path, case, text, needle):
    p = _write(tmp_path, f"{case}.toml", text.encode())
    with pytest.raises(InputError) as exc:
        policies.load(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}") and needle in msg, msg
    assert len(msg) < len(str(p)) + 300


def test_policy_bad_bytes_name_file_and_line(tmp_path):
    p = _write(tmp_path, "bad.toml", b'name = "ok"\ndescription = "\xff"\n')
    with pytest.raises(InputError, match=r"bad.toml:2: not UTF-8 text"):
        policies.load(p)
    big = _write(tmp_path, "big.toml", b"#" * (2 << 20))
    with pytest.raises(InputError, match="MAX_POLICY_BYTES"):
        policies.load(big)


def test_profile_file_values_are_checked(tmp_path):
    good = json.loads(
        (Path(__file__).parent / "fuzz" / "corpus" / "profile" / "small.json").read_text()
    )
    for mutate, needle in (
        (lambda d: d["points"][0].update(width=0), "points[0].width 0 is outside"),
        (lambda d: d["points"][0].update(fps="x"), "points[0].fps must be a number"),
        (lambda d: d["points"][0].update(frames=1.5), "points[0].frames must be an integer"),
        (lambda d: d.update(source=7), "source must be a string"),
        (lambda d: d.update(seed=-1), "seed -1 is outside"),
    ):
        d = json.loads(json.dumps(good))
        mutate(d)
        p = _write(tmp_path, "p.json", json.dumps(d).encode())
        with pytest.raises(InputError, match=needle.replace("[", r"\[").replace("]", r"\]")):
            profiles.load(p)
    deep = _write(tmp_path, "deep.json", b"[" * 10_000 + b"]" * 10_000)
    with pytest.raises(InputError, match="nested 10000 deep"):
        profiles.load(deep)


def test_clip_repr_keeps_messages_short():
    assert clip_repr("x" * 10**6) == repr("x" * 116)[:117] + "..."
    assert len(clip_repr("x" * 10**6)) == 120
    assert clip_repr(10**5000) == "<an integer of about 5001 digits>"
    assert len(clip_repr([list(range(1000))] * 1000)) <= 120
    assert clip_repr(3.5) == "3.5" and clip_repr("abc", limit=10) == "'abc'"


# ---------------------------------------------------------------- the 1 s bound


_QUICK_SCRIPT = r"""
import json, sys, time, tracemalloc, warnings
from pathlib import Path
import mediaopt
from mediaopt import policies, traces
from mediaopt.errors import InputError
warnings.simplefilter("ignore")
out = {}
for case in json.loads(sys.argv[1]):
    name, path, kind = case
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        (policies.load if kind == "policy" else traces.load)(path)
        got = "ok"
    except InputError:
        got = "InputError"
    except BaseException as exc:
        got = type(exc).__name__
    out[name] = (got, time.perf_counter() - t0, tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
print(json.dumps(out))
"""


def test_reproducers_are_quick_and_small(tmp_path):
    """Every reproducer: an InputError within 1 s and under 100 MB (one subprocess)."""
    cases = []
    for name, fname, data, _ in TRACE_CASES:
        d = tmp_path / name
        d.mkdir()
        cases.append((name, str(_write(d, fname, data)), "trace"))
    sparse = tmp_path / "sparse"
    with open(sparse, "wb") as fh:
        fh.truncate(2**30)
    cases.append(("sparse_1gb", str(sparse), "trace"))
    for name, text, _ in POLICY_CASES:
        cases.append((name, str(_write(tmp_path, f"{name}.toml", text.encode())), "policy"))
    proc = subprocess.run(
        [sys.executable, "-c", _QUICK_SCRIPT, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=60 + 2 * len(cases),  # generous: start-up plus the 1 s bound per case
        check=True,
    )
    results = json.loads(proc.stdout)
    for name, (got, seconds, peak) in results.items():
        assert got == "InputError", (name, got)
        assert seconds < 1.0, (name, seconds)
        assert peak < 100 * 2**20, (name, peak)


def test_an_overlay_base_is_read_under_the_same_rules(tmp_path):
    base = _write(tmp_path, "base.toml", b"a = " + b"[" * 100 + b"]" * 100 + b"\n")
    top = _write(tmp_path, "top.toml", b'base = "base.toml"\n')
    with pytest.raises(InputError, match=r"top\.toml: base: .*TOML nested 100 deep"):
        policies.load(top)
    base.write_bytes(b'name = "\xff"\n')
    with pytest.raises(InputError, match=r"top\.toml: base: .*base\.toml:1: not UTF-8 text"):
        policies.load(top)
    base.write_text("[estimator]\nsend_time_group_length_us = 1" + "0" * 30 + "\n")
    with pytest.raises(InputError, match=r"estimator\.send_time_group_length_us"):
        policies.load(top)
