"""mediaopt.study: inputs, error rows, one result on every backend, SLA, comparison, files."""

from __future__ import annotations

import hashlib
import json
import math
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mediaopt as mo
from mediaopt import policies, sla
from mediaopt.errors import InputError
from mediaopt.study import (
    MEASURES,
    SESSION_COLUMNS,
    SLA_COLUMNS,
    TIMING_COLUMNS,
    Study,
    availability,
    frame_delay_p95_ms,
    freeze_ratio,
    measure,
    quality_mean,
    sent_kbps,
    study,
)

DURATION_S = 8.0


def _write(path: Path, trace: mo.traces.Trace) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    mo.traces.write_mahimahi(trace, path)
    return path


@pytest.fixture(scope="module")
def clinics(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two clinic folders holding a trace of the same name (different content each)."""
    root = tmp_path_factory.mktemp("clinics")
    _write(root / "clinicA" / "day1.down", mo.traces.constant(1500, duration_s=10.0))
    _write(root / "clinicB" / "day1.down", mo.traces.steps([(0, 1200), (5, 300)], 10.0))
    _write(root / "clinicB" / "ward" / "day2.down", mo.traces.constant(800, duration_s=10.0))
    (root / "clinicB" / "README.md").write_text("notes, not a trace\n")
    return root


def run(traces, pols=("gcc", "consult"), **kw):
    kw.setdefault("duration_s", DURATION_S)
    kw.setdefault("progress", False)
    kw.setdefault("workers", 1)
    return study(traces, list(pols), **kw)


def test_same_named_traces_in_two_folders_stay_apart(clinics: Path):
    st = run([clinics], pols=("gcc",))
    s = st.sessions
    assert list(s.columns) == list(SESSION_COLUMNS)
    assert s["trace_id"].tolist() == [
        "clinicA/day1.down",
        "clinicB/day1.down",
        "clinicB/ward/day2.down",
    ]
    assert s["group"].tolist() == ["clinicA", "clinicB", "clinicB"]
    assert s["trace_sha256"].nunique() == 3
    for tid, sha in zip(s["trace_id"], s["trace_sha256"], strict=True):
        assert sha == hashlib.sha256((clinics / tid).read_bytes()).hexdigest()
    assert (s["status"] == "ok").all()
    # the same two files named directly keep apart through the paths as given
    a, b = clinics / "clinicA" / "day1.down", clinics / "clinicB" / "day1.down"
    direct = run([a, b, a], pols=("gcc",)).sessions
    assert direct["trace_id"].tolist() == [a.as_posix(), b.as_posix()]  # a named twice: once
    assert direct["group"].tolist() == ["clinicA", "clinicB"]
    # a folder's own files are in the folder's group; groups= overrides
    own = run([clinics / "clinicA"], pols=("gcc",), groups={"day1.down": "north"}).sessions
    assert own["trace_id"].tolist() == ["day1.down"] and own["group"].tolist() == ["north"]


def test_trace_objects_and_networks():
    tr = mo.traces.constant(1000, duration_s=5.0).renamed("flat")
    nets = [mo.Network(one_way_delay_ms=20, name="near"), mo.Network(one_way_delay_ms=150)]
    st = run(
        [tr, tr.renamed("flat")],
        pols=("consult",),
        network=nets,
        seeds=(0, 1),
        groups=lambda tid: "lab",
    )
    s = st.sessions
    assert len(s) == 2 * 2 * 2
    assert s["trace_id"].unique().tolist() == ["flat", "flat#2"]
    assert s["network"].unique().tolist() == ["near", "delay=150ms,queue=300ms,loss=0.0"]
    assert s["one_way_delay_ms"].unique().tolist() == [20.0, 150.0]
    assert s["seed"].tolist() == [0, 1] * 4 and (s["group"] == "lab").all()
    assert st.manifest["inputs"]["traces"][0]["path"] is None


def test_bad_trace_and_bad_policy_become_error_rows(clinics: Path, tmp_path: Path):
    folder = tmp_path / "fleet"
    _write(folder / "good" / "a.down", mo.traces.constant(1200, duration_s=10.0))
    (folder / "bad").mkdir()
    (folder / "bad" / "broken.down").write_text("this is not\na trace\n")
    bad_policy = tmp_path / "typo.toml"
    bad_policy.write_text('name = "typo"\n[adaptation]\nup_dwel_s = 2.0\n')
    st = run([folder], pols=("consult", str(bad_policy), "gcc"), seeds=(0, 1))
    s = st.sessions
    assert len(s) == 2 * 3 * 2
    bad_trace = s["trace_id"] == "bad/broken.down"
    bad_pol = s["policy"] == str(bad_policy)
    assert (s.loc[bad_trace | bad_pol, "status"] == "error").all()
    assert (s.loc[~bad_trace & ~bad_pol, "status"] == "ok").all()
    for err in s.loc[s["status"] == "error", "error"]:
        assert err and "\n" not in err
    assert "up_dwel_s" in s.loc[bad_pol, "error"].iloc[0]
    assert "broken.down" in s.loc[bad_trace & ~bad_pol, "error"].iloc[0]
    good = s[s["status"] == "ok"]
    assert len(good) == 4
    assert np.isfinite(good[["frame_delay_p95_ms", "usable_ratio", "counted_s"]]).all().all()
    assert s.loc[s["status"] == "error", "usable_ratio"].isna().all()
    assert st.failed.shape[0] == 8
    table = st.sla(by=("policy",))
    assert table["sessions"].tolist() == [2, 0, 2] and table["errors"].tolist() == [2, 4, 2]
    assert table.loc[1, "verdict"] == "inconclusive" and math.isnan(table.loc[1, "availability"])
    assert st.manifest["errors"] == 8
    assert "up_dwel_s" in st.manifest["inputs"]["policies"][1]["error"]


def _drop_timing(st: Study) -> pd.DataFrame:
    return st.sessions.drop(columns=list(TIMING_COLUMNS))


@pytest.mark.slow
def test_serial_pool_and_dask_give_the_same_sessions(clinics: Path):
    distributed = pytest.importorskip("distributed")
    kw = {"pols": ("gcc", "consult"), "seeds": (0, 3)}
    serial = run([clinics], workers=1, **kw)
    pool = run([clinics], workers=2, **kw)
    assert pool.manifest["parameters"]["backend"] == "pool"
    pd.testing.assert_frame_equal(_drop_timing(serial), _drop_timing(pool))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = run([clinics], client=client, keep="windows", **kw)
    assert on_dask.manifest["parameters"]["backend"] == "dask"
    pd.testing.assert_frame_equal(_drop_timing(serial), _drop_timing(on_dask))
    windowed = run([clinics], workers=2, keep="windows", **kw)
    pd.testing.assert_frame_equal(windowed.windows, on_dask.windows)


def test_kept_windows_match_the_sessions(clinics: Path):
    st = run([clinics], pols=("consult",), keep="windows")
    w = st.windows
    assert w is not None and set(w["session"]) == set(range(len(st.sessions)))
    for i, row in st.sessions.iterrows():
        mine = w[w["session"] == i]
        assert len(mine) == math.ceil(DURATION_S)
        counted = ~mine["excluded"]
        assert (mine["covered_s"][counted] * mine["usable"][counted]).sum() == pytest.approx(
            row["usable_s"]
        )
        assert (mine["trace_id"] == row["trace_id"]).all()
    assert run([clinics], pols=("gcc",)).windows is None


def test_sla_pools_usable_time_over_counted_time(clinics: Path):
    st = run([clinics], seeds=(0, 1))
    s = st.sessions
    by_pol = st.sla(by="policy")
    assert list(by_pol.columns) == ["policy", *SLA_COLUMNS]
    for _, row in by_pol.iterrows():
        g = s[s["policy"] == row["policy"]]
        assert row["sessions"] == len(g)
        assert row["availability"] == pytest.approx(g["usable_s"].sum() / g["counted_s"].sum())
        p = sla.pooled(g["usable_s"], g["counted_s"])
        assert row["lower_bound"] == p.lower_bound
        assert row["verdict"] == p.verdict(row["target"]) and row["tier"] == "standard"
        shares = [row[f"share_{r}"] for r in sla.REASONS]
        assert all(0.0 <= x <= 1.0 for x in shares)
    by_site = st.sla()
    assert by_site[["policy", "group"]].values.tolist() == [
        ["gcc", "clinicA"],
        ["gcc", "clinicB"],
        ["consult", "clinicA"],
        ["consult", "clinicB"],
    ]
    assert by_site["sessions"].sum() == len(s)
    with pytest.raises(InputError, match="by"):
        st.sla(by="colour")


def test_compare_pairs_each_policy_with_the_baseline(clinics: Path):
    twin = policies.load("gcc").replace(name="gcc-twin")
    st = run([clinics], pols=("gcc", twin, "followup"), seeds=(0, 1))
    cmp = st.compare(baseline="gcc")
    assert set(cmp["policy"]) == {"gcc-twin", "followup"}
    same = cmp[cmp["policy"] == "gcc-twin"].set_index("measure")
    # the same policy under another name: every pair ties, the medians are neutral
    assert (same["ties"] == 6).all() and (same["wins"] == 0).all() and (same["losses"] == 0).all()
    assert same.loc["frame_delay_p95_ms", "estimate"] == 1.0
    assert same.loc["quality_mean", "estimate"] == 0.0
    assert same.loc["usable_ratio", "ci_low"] == 0.0 == same.loc["usable_ratio", "ci_high"]
    fol = cmp[cmp["policy"] == "followup"].set_index("measure")
    assert (fol["pairs"] == 6).all()
    assert (fol["wins"] + fol["ties"] + fol["losses"] == 6).all()
    for m, row in fol.iterrows():
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"], m
    # seeded: the same interval again
    pd.testing.assert_frame_equal(cmp, st.compare(baseline="gcc"))
    with pytest.raises(InputError, match="baseline"):
        st.compare(baseline="nope")


def test_measures_are_functions_of_a_sessions_table(clinics: Path):
    st = run([clinics], seeds=(0, 1))
    s = st.sessions
    one = s[s["policy"] == "consult"]
    assert availability(one) == pytest.approx(one["usable_s"].sum() / one["counted_s"].sum())
    assert frame_delay_p95_ms(one) == float(np.median(one["frame_delay_p95_ms"]))
    assert freeze_ratio(one) == pytest.approx(one["freeze_s"].sum() / one["duration_s"].sum())
    assert quality_mean(one) == pytest.approx(one["quality_mean"].mean())
    assert sent_kbps(one) == pytest.approx(one["sent_kbps"].mean())  # equal durations
    table = st.measures(by="policy").set_index("policy")
    for name, m in MEASURES.items():
        assert table.loc["consult", name] == m.function(one) == measure(one, name)
        assert m.goal in ("maximize", "minimize")
    assert math.isnan(availability(s.iloc[:0]))
    with pytest.raises(InputError, match="unknown"):
        measure(one, "happiness")
    with pytest.raises(InputError, match="column"):
        availability(one.drop(columns=["usable_s"]))


def test_save_and_load_round_trip(clinics: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(clinics)
    st = run(["clinicA", "clinicB"], keep="windows", command=["mediaopt", "study", "clinicA"])
    out = st.save(tmp_path / "out")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["manifest.json", "sessions.parquet", "sla.csv", "windows.parquet"]
    back = Study.load(out)
    assert back.equals(st)
    pd.testing.assert_frame_equal(back.sessions, st.sessions)
    pd.testing.assert_frame_equal(back.windows, st.windows)
    text = (out / "manifest.json").read_text()
    manifest = json.loads(text)
    assert manifest["schema"] == "mediaopt.study/1" and manifest["mediaopt"] == mo.__version__
    assert manifest["core"]["compiled"] is True and "modules" not in manifest["core"]
    assert manifest["command"] == ["mediaopt", "study", "clinicA"]
    paths = [t["path"] for t in manifest["inputs"]["traces"]]
    assert paths == ["clinicA/day1.down", "clinicB/day1.down", "clinicB/ward/day2.down"]
    for t in manifest["inputs"]["traces"]:
        assert t["sha256"] == hashlib.sha256(Path(t["path"]).read_bytes()).hexdigest()
    pol = manifest["inputs"]["policies"][1]
    assert pol["sha256"] == hashlib.sha256(policies.load("consult").to_toml().encode()).hexdigest()
    assert manifest["parameters"]["duration_s"] == DURATION_S
    assert manifest["parameters"]["seeds"] == [0]
    assert socket.gethostname() not in text and str(clinics) not in text
    table = pd.read_csv(out / "sla.csv", keep_default_na=False)
    assert table["group"].tolist()[:2] == ["(all)", "(all)"]
    # saving again over the same folder works; a study without windows writes none
    run(["clinicA"], pols=("gcc",)).save(tmp_path / "out2")
    assert not (tmp_path / "out2" / "windows.parquet").exists()
    with pytest.raises(InputError, match="not a saved study"):
        Study.load(tmp_path)
    # a loaded study replays its sessions again from the manifest (same folder)
    again = back.replay_session(4)
    row = back.sessions.iloc[4]
    assert again.metrics["usable_ratio"] == row["usable_ratio"]
    assert again.metrics["frame_delay_p95_ms"] == row["frame_delay_p95_ms"]
    mine = back.windows[back.windows["session"] == 4]
    assert again.window_table()["usable"].tolist() == mine["usable"].tolist()


def test_bad_arguments(clinics: Path):
    with pytest.raises(InputError, match="seeds"):
        run([clinics], seeds=3)
    with pytest.raises(InputError, match="seeds"):
        run([clinics], seeds=(1, 1))
    with pytest.raises(InputError, match="keep"):
        run([clinics], keep="everything")
    with pytest.raises(InputError, match="no such file"):
        run([clinics / "nowhere"])
    with pytest.raises(InputError, match="traces"):
        run([])
    with pytest.raises(InputError, match="more than once"):
        run([clinics], pols=("gcc", "gcc"))
    with pytest.raises(InputError, match="options"):
        run([clinics], options={"seed": 1})
    with pytest.raises(InputError, match="workers"):
        run([clinics], workers=0)


def test_progress_bar_on_stderr(clinics: Path, capsys: pytest.CaptureFixture[str]):
    run([clinics / "clinicA"], pols=("gcc",), progress=True)
    err = capsys.readouterr().err
    assert "session" in err and "1/1" in err


def test_import_mediaopt_exports_study():
    assert mo.study is study and mo.Study is Study
