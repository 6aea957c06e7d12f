"""``mediaopt replay``: argument handling, outputs and errors.

Most tests drive the command against ``FakeBackend``, a TEST DOUBLE standing in for
``mediaopt.traces`` / ``mediaopt.policies`` / ``mediaopt.replay`` so that the command's own
logic (trace resolution, validation, progress, atomic outputs) is checked quickly and
exactly. ``test_end_to_end_*`` run the real replay on small durations.
"""

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mediaopt.cli.replay as cli_replay
from mediaopt.cli import main
from mediaopt.replay.metrics import FrameLog, IntervalLog, session_metrics, timeseries
from mediaopt.traces import Network

# ----------------------------------------------------------------------------------------
# TEST DOUBLE (tests only): a fake trace/policy/replay backend


@dataclass(frozen=True)
class FakeProfile:
    name: str = "fake"
    tier: str = "standard"
    availability: float = 0.999
    max_frame_delay_ms: float = 300.0
    min_fps: float = 15.0
    min_width: int = 640
    min_height: int = 480


@dataclass(frozen=True)
class FakeTrace:
    name: str
    kbps: float


@dataclass(frozen=True)
class FakePolicy:
    name: str
    profile: FakeProfile = field(default_factory=FakeProfile)


@dataclass(frozen=True)
class FakeResult:
    trace_name: str
    policy_name: str
    seed: int
    metrics: dict
    timeseries: pd.DataFrame

    def to_json_dict(self):
        return {
            "trace": self.trace_name,
            "policy": self.policy_name,
            "seed": self.seed,
            "metrics": {k: round(v, 6) for k, v in self.metrics.items()},
        }


class FakeBackend:
    """TEST DOUBLE for the library calls the command makes; records every replay call."""

    def __init__(self, fail_on=None):
        self.calls = []
        self.fail_on = fail_on

    def load_trace(self, path):
        text = Path(path).read_text()
        if not text.startswith("fake-trace"):
            raise ValueError("unrecognised trace format")
        return FakeTrace(Path(path).stem, float(text.split()[1]))

    def bundled(self):
        return {
            "const-1000": FakeTrace("const-1000", 1000.0),
            "weak-300": FakeTrace("weak-300", 300.0),
        }

    def load_policy(self, spec):
        if spec.endswith(".toml"):
            if not Path(spec).is_file():
                raise FileNotFoundError(f"{spec}: no such policy file")
            return FakePolicy(Path(spec).stem)
        if spec not in ("consult", "gcc"):
            raise KeyError(f"unknown policy {spec!r} (built-in: consult, gcc)")
        return FakePolicy(spec)

    def replay(self, trace, policy, **kw):
        self.calls.append((trace.name, policy.name, kw))
        if trace.name == self.fail_on:
            raise ValueError(f"trace {trace.name}: zero capacity everywhere")
        duration_s = kw["duration_s"] or 4.0
        rng = np.random.default_rng(kw["seed"])
        capture = np.arange(0, duration_s * 1000, 1000 / 30)
        render = capture + 60 + rng.integers(0, 40, capture.size) * (trace.kbps < 500)
        render = np.maximum.accumulate(render)
        n = capture.size
        frames = FrameLog(
            (capture * 1000).astype(np.int64),
            (render * 1000).astype(np.int64),
            np.full(n, 1500),
            np.full(n, 640),
            np.full(n, 480),
            np.arange(n) == 0,
            np.full(n, 34.0),
        )
        k = round(duration_s * 10)
        bps = int(trace.kbps * 1000)
        intervals = IntervalLog(
            np.arange(k) * 100_000,
            np.full(k, bps),
            np.full(k, bps // 2),
            np.full(k, bps // 160),
            np.full(k, bps // 170),
            np.full(k, 5),
            np.zeros(k, dtype=np.int64),
            np.full(k, 100_000),
        )
        m = session_metrics(frames, intervals, policy.profile, duration_s)
        return FakeResult(
            trace.name, policy.name, kw["seed"], m, timeseries(frames, intervals, policy.profile)
        )


@pytest.fixture
def fake(monkeypatch):
    backend = FakeBackend()
    monkeypatch.setattr(cli_replay, "_backend", lambda: backend)
    return backend


def trace_file(folder: Path, name: str, kbps: float = 800.0) -> Path:
    p = folder / name
    p.write_text(f"fake-trace {kbps}\n")
    return p


def one_line_error(capsys, needle):
    # "wrote FILES" is information, not part of the error
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if not ln.startswith("wrote ")]
    assert len(err) == 1, err
    assert err[0].startswith("mediaopt replay: error:")
    assert needle in err[0]


# ----------------------------------------------------------------------------------------
# command logic (against the test double)


def test_table_per_trace_and_policies(fake, tmp_path, capsys):
    a = trace_file(tmp_path, "a.log")
    assert main(["replay", str(a), "const-1000", "--policy", "consult", "--policy", "gcc"]) == 0
    out, err = capsys.readouterr()
    assert out.count("trace a (4 s)") == 1 and out.count("trace const-1000 (4 s)") == 1
    assert [c[:2] for c in fake.calls] == [
        ("a", "consult"),
        ("a", "gcc"),
        ("const-1000", "consult"),
        ("const-1000", "gcc"),
    ]
    assert "[4/4] const-1000 x gcc" in err  # progress on stderr
    kw = fake.calls[0][2]
    assert kw == {
        "network": Network(one_way_delay_ms=50.0, queue_ms=300.0, loss=0.0),
        "duration_s": None,
        "seed": 0,
    }


def test_options_are_passed_through(fake, capsys):
    args = ["replay", "weak-300", "--seed", "7", "--duration-s", "2.5", "--one-way-delay-ms", "120"]
    args += ["--queue-ms", "100", "--loss", "0.05", "--quiet"]
    assert main(args) == 0
    assert fake.calls == [
        (
            "weak-300",
            "consult",
            {
                "network": Network(one_way_delay_ms=120.0, queue_ms=100.0, loss=0.05),
                "duration_s": 2.5,
                "seed": 7,
            },
        )
    ]
    assert capsys.readouterr().err == ""


def test_bundled_and_folder_expansion(fake, tmp_path, capsys):
    folder = tmp_path / "traces"
    (folder / "sub").mkdir(parents=True)
    trace_file(folder, "x.down")
    trace_file(folder / "sub", "y")
    (folder / "LICENSE").write_text("MIT")
    (folder / "README.md").write_text("# traces")
    (folder / ".hidden").write_text("junk")
    assert main(["replay", str(folder), str(folder / "x.down"), "--bundled", "--quiet"]) == 0
    # sorted by path (sub/y before x.down); x.down named twice is replayed once
    assert [c[0] for c in fake.calls] == ["y", "x", "const-1000", "weak-300"]


def test_outputs_written_and_deterministic(fake, tmp_path, capsys):
    j1, j2 = tmp_path / "r1.json", tmp_path / "r2.json"
    csv, html = tmp_path / "r.csv", tmp_path / "r.html"
    base = ["replay", "--bundled", "--policy", "gcc", "--seed", "3", "--quiet"]
    assert main([*base, "--json", str(j1), "--csv", str(csv), "--report", str(html)]) == 0
    assert main([*base, "--json", str(j2)]) == 0
    assert j1.read_bytes() == j2.read_bytes()
    doc = json.loads(j1.read_text())
    assert [r["trace"] for r in doc["results"]] == ["const-1000", "weak-300"]
    assert all(r["seed"] == 3 for r in doc["results"])
    table = pd.read_csv(csv)
    assert list(table["trace"]) == ["const-1000", "weak-300"]
    assert {"usable_ratio", "tier_met", "frame_delay_p95_ms"} <= set(table.columns)
    assert html.read_text().count("data:image/png;base64,") == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["weak-300", "--policy", "nope"], "--policy nope: unknown policy 'nope'"),
        (["weak-300", "--policy", "missing.toml"], "missing.toml"),
        (["no-such-trace"], "no such trace file, folder or bundled trace (bundled: const-1000"),
        ([], "give at least one TRACE"),
        (["weak-300", "--duration-s", "0"], "--duration-s: must be greater than 0"),
        (["weak-300", "--duration-s", "soon"], "--duration-s: expected a number"),
        (["weak-300", "--loss", "1.5"], "--loss"),
        (["weak-300", "--queue-ms", "-3"], "--queue-ms"),
        (["weak-300", "--seed", "-1"], "--seed"),
        (["weak-300", "--json", "/nonexistent-dir/r.json"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_line(fake, tmp_path, capsys, args, needle):
    assert main(["replay", *args]) == 2
    one_line_error(capsys, needle)
    assert fake.calls == []


def test_bad_trace_file_and_empty_folder(fake, tmp_path, capsys):
    bad = tmp_path / "bad.log"
    bad.write_text("not a trace")
    assert main(["replay", str(bad)]) == 2
    one_line_error(
        capsys, "1 of 1 session failed: " + f"{bad} x consult: not a readable trace (unrecognised"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "LICENSE").write_text("MIT")
    assert main(["replay", str(empty)]) == 2
    one_line_error(capsys, "folder holds no trace files")
    assert fake.calls == []


def test_failure_midway_keeps_the_good_sessions(monkeypatch, tmp_path, capsys):
    # issue 13: session 2 failing no longer loses session 1 (nor exits 1 with a traceback)
    backend = FakeBackend(fail_on="weak-300")
    monkeypatch.setattr(cli_replay, "_backend", lambda: backend)
    out, csv, report = tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "r.html"
    args = ["replay", "--bundled", "--json", str(out), "--csv", str(csv), "--report", str(report)]
    assert main(args) == 2
    captured = capsys.readouterr()
    err = [ln for ln in captured.err.splitlines() if ln.startswith("mediaopt replay: error:")]
    assert err == [
        "mediaopt replay: error: 1 of 2 sessions failed: weak-300 x consult: "
        "trace weak-300: zero capacity everywhere"
    ]
    assert "consult: FAILED: trace weak-300: zero capacity everywhere" in captured.out
    rows = json.loads(out.read_text())["results"]
    assert [(r["trace"], "error" in r) for r in rows] == [("const-1000", False), ("weak-300", True)]
    assert rows[1]["error"] == "trace weak-300: zero capacity everywhere"
    table = pd.read_csv(csv)
    assert "error" in table.columns
    assert table["error"].isna().tolist() == [True, False]
    page = report.read_text()
    assert "failed: trace weak-300: zero capacity everywhere" in page
    assert page.count("data:image/png;base64,") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.html", "r.json"]


def test_output_is_a_folder(fake, tmp_path, capsys):
    assert main(["replay", "weak-300", "--csv", str(tmp_path)]) == 2
    one_line_error(capsys, "is a folder")


def test_replay_is_registered_and_runs_as_module():
    out = subprocess.run(
        [sys.executable, "-m", "mediaopt", "replay", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--policy" in out.stdout and "--bundled" in out.stdout


# ----------------------------------------------------------------------------------------
# end to end: the real replay, small durations


def test_end_to_end_bundled_trace_is_deterministic(tmp_path, capsys):
    from mediaopt.replay.metrics import METRIC_NAMES

    outs = []
    for i in range(2):
        out = tmp_path / f"r{i}.json"
        args = ["replay", "constant-1mbps", "--policy", "gcc", "--duration-s", "3"]
        assert main([*args, "--json", str(out), "--quiet"]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    doc = json.loads(outs[0])
    (res,) = doc["results"]
    assert (res["trace"], res["policy"], res["seed"]) == ("constant-1mbps", "gcc", 0)
    assert list(res["metrics"]) == list(METRIC_NAMES)
    assert res["metrics"]["duration_s"] == 3.0
    assert "trace constant-1mbps (3 s)" in capsys.readouterr().out


def test_end_to_end_recorded_trace_and_outputs(shared_traces, tmp_path, capsys):
    trace = shared_traces / "mahimahi" / "Verizon-LTE-short.down"
    csv, report = tmp_path / "r.csv", tmp_path / "r.html"
    args = ["replay", str(trace), "--policy", "gcc", "--policy", "surgical", "--duration-s", "2"]
    assert main([*args, "--csv", str(csv), "--report", str(report)]) == 0
    table = pd.read_csv(csv)
    assert list(table["policy"]) == ["gcc", "surgical"]
    assert (table["duration_s"] == 2.0).all()
    assert report.read_text().count("data:image/png;base64,") == 2
    assert "[2/2]" in capsys.readouterr().err


def test_end_to_end_errors(tmp_path, capsys):
    bad = tmp_path / "garbage.down"
    bad.write_text("not a trace\n")
    out = tmp_path / "r.json"
    assert main(["replay", str(bad), "--json", str(out)]) == 2
    one_line_error(capsys, "garbage.down x consult: not a readable trace")
    assert json.loads(out.read_text())["results"][0]["error"].startswith("not a readable trace")
    out.unlink()
    assert main(["replay", "constant-1mbps", "--policy", "nope", "--json", str(out)]) == 2
    one_line_error(capsys, "--policy nope")
    missing = tmp_path / "nothere.toml"
    assert main(["replay", "constant-1mbps", "--policy", str(missing)]) == 2
    one_line_error(capsys, "nothere.toml: No such file or directory")
    assert list(tmp_path.iterdir()) == [bad]


def test_example_compares_two_policies(capsys):
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / "compare_policies.py"
    spec = importlib.util.spec_from_file_location("compare_policies", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--duration-s", "2", "--policies", "gcc", "followup"]) == 0
    out = capsys.readouterr().out
    assert "gcc: tier met on" in out and "followup: tier met on" in out
    assert "constant-1mbps" in out


def test_written_files_are_named_on_stderr(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["replay", "constant-1mbps", "--duration-s", "3", "--json", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().err
    assert out.exists()
