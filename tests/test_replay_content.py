"""Replay grounded in content profiles: ``replay(content=...)`` and the profile ladder."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from mediaopt._core.sender import VideoSource

import mediaopt as mo
from mediaopt import policies
from mediaopt.media import profiles
from mediaopt.media.profiles import ContentProfile
from mediaopt.policies.adaptation import ladder_limits
from mediaopt.replay import fidelity
from mediaopt.traces import Trace


@pytest.fixture(scope="module")
def head() -> ContentProfile:
    return profiles.bundled("talking_head_h264")


@pytest.fixture(scope="module")
def steady() -> Trace:
    return mo.traces.bundled()["constant-1mbps"]


def test_compiled_table_matches_the_profile_prediction(head: ContentProfile) -> None:
    src = VideoSource(content_table=profiles.replay_table(head))
    for w, h in head.resolutions():
        for bps in (20_000, 90_000, 300_000, 700_000, 3_000_000):
            assert src.content_db(bps, w, h, 30.0) == pytest.approx(
                head.quality_db(bps, w, h, 30.0), abs=1e-9
            )
    # between two profiled sizes the prediction lies between theirs at the same rate
    (w0, h0), (w1, h1) = head.resolutions()[-2:]
    q = src.content_db(400_000, 480, 270, 30.0)
    lo, hi = sorted((head.quality_db(400_000, w0, h0), head.quality_db(400_000, w1, h1)))
    assert lo - 1e-9 <= q <= hi + 1e-9


def test_quality_comes_from_the_profile_at_a_fixed_resolution(
    head: ContentProfile, steady: Trace
) -> None:
    res = mo.replay(
        steady, "consult", seed=1, content=head, max_width=640, max_height=360, audio_kbps=0
    )
    f = res.frames
    late = (f.capture_us >= 4_000_000) & ~f.keyframe & (f.width == 640)
    assert np.count_nonzero(late) > 50
    span_s = (f.capture_us[late][-1] - f.capture_us[late][0]) / 1e6
    fps = (np.count_nonzero(late) - 1) / span_s
    bitrate = float(np.mean(f.size_bytes[late])) * 8.0 * fps
    predicted = head.quality_db(bitrate, 640, 360, fps)
    assert float(np.mean(f.quality_db[late])) == pytest.approx(predicted, abs=0.5)
    # and not the built-in formula's answer for the same frames
    formula = mo.replay(steady, "consult", seed=1, max_width=640, max_height=360, audio_kbps=0)
    assert abs(formula.metrics["quality_mean"] - res.metrics["quality_mean"]) > 0.5


def test_content_by_name_path_and_object_agree(
    head: ContentProfile, steady: Trace, tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    head.save(path)
    runs = [
        mo.replay(steady, "consult", seed=3, duration_s=4, content=c)
        for c in (head, "talking_head", "talking_head_h264", path)
    ]
    ref = runs[0].to_json_dict()
    for r in runs[1:]:
        assert r.to_json_dict() == ref
    again = mo.replay(steady, "consult", seed=3, duration_s=4, content=head)
    assert again.to_json_dict() == ref
    assert np.array_equal(again.frames.quality_db, runs[0].frames.quality_db)


def test_default_is_the_formula(steady: Trace) -> None:
    a = mo.replay(steady, "consult", seed=2, duration_s=3)
    b = mo.replay(steady, "consult", seed=2, duration_s=3, content=None)
    assert a.to_json_dict() == b.to_json_dict()


def test_keyframes_follow_the_profile_ratio(steady: Trace) -> None:
    doc = profiles.bundled("document_share_h264")
    src = VideoSource(keyframe_ratio=doc.keyframe_ratio(), content_table=profiles.replay_table(doc))
    assert src.keyframe_ratio == pytest.approx(doc.keyframe_ratio())
    assert doc.keyframe_ratio() != pytest.approx(4.0)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("no_such_content", "content: 'no_such_content' is neither"),
        (42, "content: expected a ContentProfile"),
    ],
)
def test_bad_profile_is_a_clear_value_error(content: object, match: str, steady: Trace) -> None:
    with pytest.raises(ValueError, match=match):
        mo.replay(steady, "consult", duration_s=1, content=content)


def test_bad_profile_file_is_a_clear_value_error(steady: Trace, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"content: .*not a JSON profile"):
        mo.replay(steady, "consult", duration_s=1, content=bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"format": 1, "points": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="content: "):
        mo.replay(steady, "consult", duration_s=1, content=wrong)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (([1.0], [0, 1], [0.0], [30.0]), "expected"),
        (([0.0], [0, 1], [0.0], [30.0], [1.0]), "pixels must be positive"),
        (([1.0], [0, 2], [1.0, 0.0], [30.0, 31.0], [1.0]), "must not fall"),
        (([1.0], [0, 1], [math.nan], [30.0], [1.0]), "finite"),
        (([1.0, 2.0], [0, 1, 1], [0.0], [30.0], [1.0, 1.0]), "at least one row"),
    ],
)
def test_bad_content_table_is_rejected(table: tuple[object, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VideoSource(content_table=table)  # type: ignore[arg-type]


def test_cli_content_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from mediaopt.cli import main

    outs = {}
    for content in (None, "talking_head"):
        out = tmp_path / f"{content}.json"
        args = ["replay", "constant-1mbps", "--duration-s", "3", "--json", str(out), "--quiet"]
        if content is not None:
            args += ["--content", content]
        assert main(args) == 0
        outs[content] = json.loads(out.read_text())["results"][0]["metrics"]
    trace = mo.traces.bundled()["constant-1mbps"]
    direct = mo.replay(trace, "consult", duration_s=3, content="talking_head")
    assert outs["talking_head"]["quality_mean"] == pytest.approx(
        direct.metrics["quality_mean"], abs=1e-6
    )
    assert outs["talking_head"]["quality_mean"] != pytest.approx(outs[None]["quality_mean"])
    capsys.readouterr()
    assert main(["replay", "constant-1mbps", "--content", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--content nope" in err and "\n" not in err


# --- the adaptation ladder from a profile's convex hull ---


def test_profile_ladder_is_the_hull_plus_the_closing_row() -> None:
    endo = profiles.bundled("endoscope_h264")
    rows = policies.profile_ladder("endoscope")
    assert rows[:-1] == endo.ladder()
    assert rows[-1][:2] == (0, 0)
    # one-row hulls (one resolution always best) still make a valid ladder
    assert len(policies.profile_ladder("talking_head")) == 2


def test_with_profile_ladder_is_used_by_the_adaptation() -> None:
    base = policies.load("consult")
    pol = policies.with_profile_ladder(base, "endoscope")
    rows = policies.profile_ladder("endoscope")
    assert pol.adaptation.ladder_bps == rows
    assert pol.adaptation.ladder_from_profile == "endoscope"
    assert pol.adaptation.ladder_bps != base.adaptation.ladder_bps
    # a camera of a profiled size: the best state needs the row's target at 30 fps
    w, h, lo, tgt, mx = rows[1]
    top = mo.Adaptation(pol, max_width=w, max_height=h, max_fps=30).core.states[0]
    assert top[:3] == (w, h, 30.0)
    want = ladder_limits(w, h, rows)
    assert (lo, tgt, mx) == tuple(want)
    switch = pol.adaptation.switch_point
    assert top[3] == round(lo + switch * (tgt - lo))
    # and the settings follow it: at the profile row's target rate the 640x360 camera
    # keeps its full picture with the profile ladder
    w0, h0, _lo0, tgt0, _mx0 = rows[0]
    ad = mo.Adaptation(pol, max_width=w0, max_height=h0, max_fps=30)
    s = None
    for k in range(600):
        s = ad.update(int(tgt0 * 1.3), 0.0, 50_000, k * 100_000)
    assert s is not None and (s.width, s.height) == (w0, h0)


def test_profile_ladder_option_round_trips_through_toml(tmp_path: Path) -> None:
    pol = policies.with_profile_ladder(policies.load("consult"), "ultrasound")
    text = pol.to_toml()
    assert 'ladder_from_profile = "ultrasound"' in text
    assert policies.loads(text) == pol
    path = tmp_path / "p.toml"
    pol.save(path)
    assert policies.load(path) == pol
    # the option alone (no ladder_bps) gives the same policy
    data = pol.to_dict()
    del data["adaptation"]["ladder_bps"]
    assert policies.Policy.from_dict(data) == pol
    # an object is written in as rows
    obj = policies.with_profile_ladder(
        policies.load("consult"), profiles.bundled("ultrasound_h264")
    )
    assert obj.adaptation.ladder_from_profile == ""
    assert obj.adaptation.ladder_bps == pol.adaptation.ladder_bps


def test_bad_profile_ladder_option_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"adaptation\.ladder_from_profile: content: 'nope'"):
        policies.AdaptationConfig(ladder_from_profile="nope")
    with pytest.raises(ValueError, match="policy: expected a Policy"):
        policies.with_profile_ladder("consult", "endoscope")  # type: ignore[arg-type]


def test_profile_ladder_policy_replays(steady: Trace) -> None:
    pol = policies.with_profile_ladder(policies.load("consult"), "talking_head")
    res = mo.replay(steady, pol, seed=0, content="talking_head", max_width=640, max_height=360)
    assert res.metrics["quality_mean"] > 0


# --- full fidelity: real encoded frames through the link (two passes) ---

SMALL = {"max_width": 320, "max_height": 240, "duration_s": 2.0}


@pytest.fixture(scope="module")
def encoded() -> fidelity.EncodedReplay:
    pytest.importorskip("av")
    # a link too slow for the model's first guess: real sizes change what happens
    trace = mo.traces.constant(250.0, 10.0, name="slow")
    return fidelity.replay_encoded(trace, "consult", "endoscope", content="endoscope", **SMALL)


def test_second_pass_sends_the_measured_sizes(encoded: fidelity.EncodedReplay) -> None:
    m, r = encoded.model.frames, encoded.result.frames
    assert m.capture_us.size > 10 and r.capture_us.size > 10
    lo, hi = fidelity.SIZE_FACTOR_RANGE
    assert np.all((encoded.size_factor >= lo) & (encoded.size_factor <= hi))
    # frames captured at the same time as in pass 1 carry pass 1's real size (the
    # model sizes agree until the two passes' feedback diverges, so the first frame does)
    assert r.capture_us[0] == m.capture_us[0]
    assert abs(int(r.size_bytes[0]) - int(encoded.open_loop.real_size_bytes[0])) <= 2
    # the link saw other bytes than in the model-only pass
    assert not np.array_equal(m.size_bytes, r.size_bytes)
    assert encoded.result.metrics["sent_kbps"] != encoded.model.metrics["sent_kbps"]


def test_delivered_quality_is_measured(encoded: fidelity.EncodedReplay) -> None:
    s = encoded.summary()
    assert 15.0 < s["delivered_psnr_mean_db"] < 60.0
    assert 0.0 < s["delivered_ssim_mean"] <= 1.0
    assert s["delivered_error_db"] == pytest.approx(
        s["delivered_psnr_mean_db"] - encoded.model.metrics["quality_mean"]
    )
    assert s["fixed_point_size_ratio"] > 0


def test_full_fidelity_is_deterministic(encoded: fidelity.EncodedReplay) -> None:
    trace = mo.traces.constant(250.0, 10.0, name="slow")
    again = fidelity.replay_encoded(trace, "consult", "endoscope", content="endoscope", **SMALL)
    assert np.array_equal(again.result.frames.size_bytes, encoded.result.frames.size_bytes)
    assert again.summary()["delivered_psnr_mean_db"] == pytest.approx(
        encoded.summary()["delivered_psnr_mean_db"], abs=1e-9
    )


def test_cli_encode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from mediaopt.cli import main

    pytest.importorskip("av")
    out = tmp_path / "r.json"
    args = ["replay", "constant-1mbps", "--duration-s", "1", "--encode", "talking_head"]
    assert main([*args, "--encode-scale", "0.25", "--json", str(out), "--quiet"]) == 0
    assert "full fidelity constant-1mbps x consult: model" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    (fid,) = doc["fidelity"]
    assert fid["source"] == "talking_head" and fid["codec"] == "h264"
    assert fid["delivered_psnr_mean_db"] > 15
    for bad, needle in (
        (["--encode", "no_such_source"], "--encode no_such_source: neither"),
        (["--encode", "talking_head", "--codec", "mpeg9"], "--codec mpeg9"),
        (["--encode", "talking_head", "--encode-scale", "3"], "--encode-scale"),
    ):
        assert main(["replay", "constant-1mbps", *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert needle in err and "\n" not in err
