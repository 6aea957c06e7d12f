"""Issue 13, "CLI and files": outputs, signals, broken pipes and partial failure.

Most cases drive ``mediaopt replay`` against the FakeBackend TEST DOUBLE of
``test_cli_replay`` (quick and exact); the signal and pipe cases run the real command in
a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli_replay import FakeBackend, trace_file

import mediaopt.cli.replay as cli_replay
from mediaopt import _atomic
from mediaopt.cli import common, main
from mediaopt.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake(monkeypatch):
    backend = FakeBackend()
    monkeypatch.setattr(cli_replay, "_backend", lambda: backend)
    return backend


@pytest.fixture(autouse=True)
def _fresh_stdout_state():
    common.reset_stdout_state()
    yield
    common.reset_stdout_state()


def errors(capsys) -> list[str]:
    return [ln for ln in capsys.readouterr().err.splitlines() if "error:" in ln]


# ---------------------------------------------------------------- output targets


def test_dash_means_stdout_and_keeps_the_document_clean(fake, capsys):
    assert main(["replay", "weak-300", "--json", "-", "--quiet"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)  # nothing but the document on stdout (no table)
    assert [r["trace"] for r in doc["results"]] == ["weak-300"]
    assert not Path("-").exists()


@pytest.mark.parametrize(
    ("target", "needle"),
    [("/dev/stdout", "is a symbolic link"), ("/dev/null", "is a character device")],
)
def test_devices_and_device_links_are_refused(fake, capsys, target, needle):
    before = os.lstat(target)
    assert main(["replay", "weak-300", "--csv", target]) == 2
    (line,) = errors(capsys)
    assert line.startswith(f"mediaopt replay: error: --csv {target}: {needle}")
    assert "use - for standard output" in line
    after = os.lstat(target)
    assert (before.st_mode, before.st_ino) == (after.st_mode, after.st_ino)
    assert fake.calls == []


def test_symlink_fifo_and_folder_targets_are_refused(fake, tmp_path, capsys):
    real = tmp_path / "real.json"
    real.write_text("keep")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for flag, target, needle in (
        ("--json", link, "is a symbolic link"),
        ("--csv", fifo, "is a FIFO"),
        ("--report", tmp_path, "is a folder"),
    ):
        assert main(["replay", "weak-300", flag, str(target)]) == 2
        (line,) = errors(capsys)
        assert f"{flag} {target}: {needle}" in line
    assert link.is_symlink() and real.read_text() == "keep"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert fake.calls == []


def test_two_outputs_on_one_path_are_refused(fake, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "sub")
    for a, b in (("r.json", "./r.json"), ("sub/x", "alias/x"), ("-", "-")):
        assert main(["replay", "weak-300", "--json", a, "--csv", b]) == 2
        (line,) = errors(capsys)
        assert "--json and --csv" in line
    assert fake.calls == []


def test_read_only_output_is_not_replaced(fake, tmp_path, capsys):
    out = tmp_path / "r.json"
    out.write_text("precious")
    out.chmod(0o444)
    assert main(["replay", "weak-300", "--json", str(out)]) == 2
    (line,) = errors(capsys)
    assert "is read-only" in line
    assert out.read_text() == "precious"
    assert fake.calls == []


def test_every_command_uses_the_same_output_check(tmp_path, capsys):
    link = tmp_path / "l.down"
    link.symlink_to(tmp_path / "elsewhere")
    assert main(["traces", "convert", "constant-1mbps", str(link)]) == 2
    assert "is a symbolic link" in errors(capsys)[0]
    assert main(["traces", "show", "constant-1mbps", "--plot", str(link)]) == 2
    assert "is a symbolic link" in errors(capsys)[0]
    assert main(["profile", "talking_head", "--out", str(link), "--quiet"]) == 2
    assert "is a symbolic link" in errors(capsys)[0]
    assert not link.exists()  # the link's target was never created


def test_convert_to_stdout(capsys):
    assert main(["traces", "convert", "constant-1mbps", "-"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1000 and lines[0] == "13"
    assert "wrote standard output" in captured.err
    assert main(["traces", "convert", "constant-1mbps", "-", "--to", "csv"]) == 0
    assert capsys.readouterr().out.startswith("# constant-1mbps\n# duration_s=")


# ---------------------------------------------------------------- temporary files


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_files_are_ignored_and_cleaned(tmp_path):
    host = _atomic._host_tag()
    stale = tmp_path / f".r.json.{host}-{_dead_pid()}-abcd{_atomic.TEMP_SUFFIX}"
    live = tmp_path / f".r.json.{host}-{os.getpid()}-abcd{_atomic.TEMP_SUFFIX}"
    other_host = tmp_path / f".r.json.00000000-{_dead_pid()}-abcd{_atomic.TEMP_SUFFIX}"
    unrelated = tmp_path / ".r.json.tmp"
    for f in (stale, live, other_host, unrelated):
        f.write_text("half")
    assert _atomic.clean_stale(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, other_host, unrelated)
    )


_KILLED_WRITER = """
import sys, time
from mediaopt import _atomic
with _atomic.atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    print("writing", flush=True)
    time.sleep(60)
"""


def _start_writer(out: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    return proc  # (used as a context manager: the pipe is closed on exit)


def test_sigkill_leaves_a_temp_that_the_next_write_cleans(tmp_path):
    out = tmp_path / "r.json"
    with _start_writer(out) as proc:
        proc.kill()
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(".r.json.") and left.name.endswith(_atomic.TEMP_SUFFIX)
    code = f"from mediaopt import _atomic; _atomic.write_text({str(out)!r}, 'whole')"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    assert out.read_text() == "whole"


def test_sigint_removes_the_temporary_file(tmp_path):
    with _start_writer(tmp_path / "r.json") as proc:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert list(tmp_path.iterdir()) == []


_SLOW_REPORT = """
import sys, time
import mediaopt.cli.replay as r
real = r.render_html
def slow(rows):
    print("rendering", file=sys.stderr, flush=True)
    time.sleep(60)
    return real(rows)
r.render_html = slow
from mediaopt.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("sig", "status", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_signal_during_report_rendering_writes_no_output(tmp_path, sig, status, word):
    args = ["replay", "constant-1mbps", "--duration-s", "1", "--quiet"]
    args += ["--json", str(tmp_path / "r.json"), "--csv", str(tmp_path / "r.csv")]
    args += ["--report", str(tmp_path / "r.html")]
    with subprocess.Popen(
        [sys.executable, "-c", _SLOW_REPORT, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stderr is not None
        while "rendering" not in proc.stderr.readline():
            pass
        proc.send_signal(sig)
        err = proc.stderr.read()
        assert proc.wait(timeout=30) == status
    assert err.strip().splitlines() == [
        f"mediaopt replay: {word}; no output file was written (outputs are all or nothing)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_interrupt_during_the_replays_writes_no_output(monkeypatch, tmp_path, capsys):
    class Interrupted(FakeBackend):
        def replay(self, trace, policy, **kw):
            if trace.name == "weak-300":
                raise KeyboardInterrupt
            return super().replay(trace, policy, **kw)

    backend = Interrupted()
    monkeypatch.setattr(cli_replay, "_backend", lambda: backend)
    assert main(["replay", "--bundled", "--quiet", "--json", str(tmp_path / "r.json")]) == 130
    assert capsys.readouterr().err.splitlines() == [
        "mediaopt replay: interrupted; no output file was written (outputs are all or nothing)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_write_all_is_all_or_nothing(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("old a")
    with pytest.raises(InputError, match="is a folder"):
        _atomic.write_all([(a, "new a"), (tmp_path, "x")])
    assert a.read_text() == "old a" and not b.exists()
    assert [p.name for p in _atomic.write_all([(a, "new a"), (b, b"new b")])] == ["a", "b"]
    assert (a.read_text(), b.read_bytes()) == ("new a", b"new b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


# ---------------------------------------------------------------- broken pipe


def test_broken_pipe_exits_quietly_and_still_writes_the_files(tmp_path):
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "mediaopt", "replay", "--bundled", "--policy", "gcc"]
    cmd += ["--duration-s", "1", "--quiet", "--json", str(out)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()  # the first table line, like `| head -1`
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert len(json.loads(out.read_text())["results"]) == 5


def test_broken_pipe_in_other_commands_is_quiet():
    with subprocess.Popen(
        [sys.executable, "-m", "mediaopt", "traces", "convert", "constant-1mbps", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) in (0, 141)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


# ---------------------------------------------------------------- partial failure


def test_unreadable_file_in_a_folder_no_longer_aborts(fake, tmp_path, capsys):
    folder = tmp_path / "traces"
    folder.mkdir()
    trace_file(folder, "a.down")
    (folder / "b.down").write_text("garbage")
    trace_file(folder, "c.down")
    out = tmp_path / "r.json"
    assert main(["replay", str(folder), "--json", str(out), "--quiet"]) == 2
    assert [c[0] for c in fake.calls] == ["a", "c"]
    (line,) = errors(capsys)
    assert line == (
        f"mediaopt replay: error: 1 of 3 sessions failed: {folder / 'b.down'} x consult: "
        "not a readable trace (unrecognised trace format)"
    )
    rows = json.loads(out.read_text())["results"]
    assert [("error" in r) for r in rows] == [False, True, False]


def test_bad_policy_file_among_good_ones(tmp_path, capsys):
    bad = tmp_path / "huge.toml"
    bad.write_text("[estimator]\nsend_time_group_length_us = " + "1" + "0" * 30 + "\n")
    out = tmp_path / "r.csv"
    args = ["replay", "constant-1mbps", "rural-4g", "--duration-s", "1", "--quiet"]
    args += ["--policy", "gcc", "--policy", str(bad), "--csv", str(out)]
    assert main(args) == 2
    (line,) = errors(capsys)
    assert line.startswith(f"mediaopt replay: error: 2 of 4 sessions failed: 2 traces x {bad}: ")
    assert "estimator.send_time_group_length_us" in line and "int64 range" in line
    import pandas as pd

    table = pd.read_csv(out)
    assert list(table["policy"]) == ["gcc", str(bad), "gcc", str(bad)]
    assert table["error"].isna().tolist() == [True, False, True, False]


def test_a_core_error_is_a_failed_row(monkeypatch, tmp_path, capsys):
    class Exploding(FakeBackend):
        def replay(self, trace, policy, **kw):
            if policy.name == "gcc":
                raise OverflowError("Python int too large to convert to C long")
            return super().replay(trace, policy, **kw)

    backend = Exploding()
    monkeypatch.setattr(cli_replay, "_backend", lambda: backend)
    args = ["replay", "weak-300", "--policy", "consult", "--policy", "gcc", "--quiet"]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert "gcc: FAILED: OverflowError: Python int too large" in captured.out
    assert "Traceback" not in captured.err
    assert captured.err.splitlines() == [
        "mediaopt replay: error: 1 of 2 sessions failed: weak-300 x gcc: "
        "OverflowError: Python int too large to convert to C long"
    ]
