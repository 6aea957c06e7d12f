"""``mediaopt study`` on the bundled traces, and the study report in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mediaopt as mo
from mediaopt.cli import main
from mediaopt.report.study import render_html, worst_sessions, write_report
from mediaopt.study import Study, study


def test_cli_on_the_bundled_traces(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "out"
    report = tmp_path / "report.html"
    argv = [
        "study",
        "--bundled",
        "--policy",
        "gcc",
        "--policy",
        "consult",
        "--seeds",
        "2",
        "--duration-s",
        "6",
        "--workers",
        "1",
        "--out",
        str(out),
        "--report",
        str(report),
    ]
    assert main(argv) == 0
    cap = capsys.readouterr()
    lines = cap.out.splitlines()
    assert lines[0].split()[:3] == ["policy", "group", "sessions"]
    assert any(line.startswith("consult") and "(all)" in line for line in lines)
    assert any(line.startswith("gcc") and "bundled" in line for line in lines)
    assert "consult vs gcc" in cap.out  # the paired comparison follows
    assert "session" in cap.err and "wrote" in cap.err  # progress and the files named
    st = Study.load(out)
    n = len(mo.traces.bundled())
    assert len(st.sessions) == n * 2 * 2 and (st.sessions["group"] == "bundled").all()
    assert st.manifest["command"] == ["mediaopt", *argv]
    assert st.manifest["parameters"]["duration_s"] == 6.0
    text = report.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "not met" in text


def test_cli_exit_status_two_when_a_session_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "site"
    folder.mkdir()
    mo.traces.write_mahimahi(mo.traces.constant(1000, duration_s=5.0), folder / "ok.down")
    (folder / "broken.down").write_text("1\n2\nthree\n")
    out = tmp_path / "out"
    status = main(
        [
            "study",
            str(folder),
            "--policy",
            "consult",
            "--quiet",
            "--workers",
            "1",
            "--out",
            str(out),
        ]
    )
    assert status == 2
    cap = capsys.readouterr()
    assert "1 of 2 sessions failed" in cap.err and "broken.down" in cap.err
    st = Study.load(out)  # the rest is still written
    assert st.sessions["status"].tolist() == ["error", "ok"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["study", "nowhere-at-all"], "no such trace file"),
        (["study", "--bundled", "--seeds", "0"], "--seeds"),
        (["study", "--bundled", "--workers", "x"], "--workers"),
        (["study"], "give at least one"),
        (["study", "--bundled", "--out", "/no/such/folder/out"], "does not exist"),
    ],
)
def test_cli_usage_errors(argv, message, capsys: pytest.CaptureFixture[str]):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_cli_on_a_local_dask_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    argv = [
        "study",
        "constant-1mbps",
        "rural-4g",
        "--policy",
        "consult",
        "--seeds",
        "2",
        "--duration-s",
        "4",
        "--dask",
        "local",
        "--workers",
        "2",
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    st = Study.load(out)
    assert st.manifest["parameters"]["backend"] == "dask"
    serial = study(
        [mo.traces.bundled()[n] for n in ("constant-1mbps", "rural-4g")],
        ["consult"],
        seeds=range(2),
        duration_s=4,
        workers=1,
        progress=False,
    )
    cols = ["trace_id", "seed", "usable_s", "frame_delay_p95_ms", "sent_kbps"]
    pd.testing.assert_frame_equal(st.sessions[cols], serial.sessions[cols])


# --- the report ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet_study() -> Study:
    """About 1,000 short sessions over 40 'sites' (copies of the bundled traces)."""
    bundled = list(mo.traces.bundled().values())
    traces = [
        bundled[i % len(bundled)].renamed(f"site{i:02d}-{bundled[i % len(bundled)].name}")
        for i in range(40)
    ]
    return study(
        traces,
        ["gcc", "consult"],
        seeds=range(12),
        duration_s=3.0,
        workers=2,
        progress=False,
        groups=lambda tid: tid.split("-")[0],
    )


@pytest.mark.slow
def test_report_of_a_thousand_sessions_is_small_and_complete(fleet_study: Study, tmp_path: Path):
    st = fleet_study
    assert len(st.sessions) == 960 and st.sessions["group"].nunique() == 40
    path = tmp_path / "study.html"
    write_report(path, st)
    size = path.stat().st_size
    assert size <= 2 * 1024 * 1024, f"{size} bytes"
    text = path.read_text()
    assert text.count("<svg") == 20 and text.count("<figure>") == 20
    assert "Service level per policy and site" in text and "Paired comparison with gcc" in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # nothing external
    assert "<script" not in text
    # the worst sessions are the lowest usable share
    rows = worst_sessions(st, 20)
    assert st.sessions.loc[rows, "usable_ratio"].is_monotonic_increasing
    quick = render_html(st, plots=False)
    assert "<svg" not in quick and len(quick) < size


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path: Path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    st = study(
        list(mo.traces.bundled().values()),
        ["gcc", "consult"],
        seeds=range(2),
        duration_s=10.0,
        workers=1,
        progress=False,
    )
    page = tmp_path / "study.html"
    write_report(page, st)
    shot = tmp_path / "shot.png"
    env = {**os.environ, "HOME": str(tmp_path)}
    base = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1100,1600",
    ]
    run = subprocess.run(
        [*base, "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert shot.exists(), run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, "\n".join(console)
    import matplotlib.image  # heavy: only to read the screenshot

    pixels = np.asarray(matplotlib.image.imread(str(shot)))
    assert pixels.shape[0] == 1600 and float(pixels[..., :3].std()) > 0.05  # not blank
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, env=env
    )
    assert "Service level per policy" in dom.stdout and dom.stdout.count("<svg") >= 10
    json.dumps(st.manifest)  # the manifest stays plain JSON


def test_replay_json_and_csv_carry_provenance(tmp_path: Path):
    j, c = tmp_path / "r.json", tmp_path / "r.csv"
    argv = [
        "replay",
        "constant-1mbps",
        "--policy",
        "consult",
        "--policy",
        "gcc",
        "--duration-s",
        "3",
        "--quiet",
        "--json",
        str(j),
        "--csv",
        str(c),
    ]
    assert main(argv) == 0
    doc = json.loads(j.read_text())
    prov = doc["provenance"]
    assert prov["schema"] == "mediaopt.replay/1" and prov["mediaopt"] == mo.__version__
    assert prov["inputs"]["traces"] == ["constant-1mbps"]
    assert prov["parameters"]["network"]["one_way_delay_ms"] == 50.0
    consult = mo.policies.load("consult").to_toml().encode()
    import hashlib

    assert doc["results"][0]["policy_sha256"] == hashlib.sha256(consult).hexdigest()
    assert len({r["trace_sha256"] for r in doc["results"]}) == 1
    table = pd.read_csv(c)
    assert table["policy_sha256"].tolist() == [r["policy_sha256"] for r in doc["results"]]
    assert (table["mediaopt"] == mo.__version__).all()
