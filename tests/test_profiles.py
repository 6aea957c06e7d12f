from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

from mediaopt.cli import main
from mediaopt.media import profiles
from mediaopt.media.profiles import ContentProfile, ProfilePoint

pytest.importorskip("av")

RES = ((96, 64), (160, 112))
RATES = (60_000, 150_000, 400_000)


@pytest.fixture(scope="module")
def measured() -> ContentProfile:
    return profiles.measure(
        "talking_head", "h264", resolutions=RES, bitrates_bps=RATES, seconds=1.0, seed=3
    )


def test_measure_covers_the_grid(measured: ContentProfile) -> None:
    assert len(measured.points) == len(RES) * len(RATES)
    assert measured.resolutions() == list(RES)
    assert (measured.display_width, measured.display_height) == RES[-1]
    for p in measured.points:
        assert p.frames == 30 and p.bitrate_bps > 0 and p.encode_fps > 0
        assert p.keyframe_bytes > p.delta_bytes_mean > 0
        assert 15.0 < p.psnr_db < 100.0 and 0.0 < p.ssim <= 1.0


def test_quality_does_not_fall_as_bitrate_rises(measured: ContentProfile) -> None:
    for w, h in RES:
        pts = sorted(
            (p for p in measured.points if (p.width, p.height) == (w, h)),
            key=lambda p: p.target_bps,
        )
        # measured: more bits never gave a worse picture at a fixed resolution
        assert [p.bitrate_bps for p in pts] == sorted(p.bitrate_bps for p in pts)
        assert all(b.psnr_db >= a.psnr_db - 0.05 for a, b in itertools.pairwise(pts))
        # predicted: monotone everywhere, inside and outside the measured range
        grid = [20_000 * 1.3**k for k in range(20)]
        q = [measured.quality_db(b, w, h) for b in grid]
        s = [measured.ssim(b, w, h) for b in grid]
        assert q == sorted(q) and s == sorted(s)
        assert measured.fit(w, h).psnr_b >= 0.0


def test_prediction_passes_through_measured_points(measured: ContentProfile) -> None:
    w, h = RES[1]
    pts = sorted(
        (p for p in measured.points if (p.width, p.height) == (w, h)),
        key=lambda p: p.bitrate_bps,
    )
    best = -math.inf
    for p in pts:
        best = max(best, p.psnr_db)
        assert measured.quality_db(p.bitrate_bps, w, h, p.fps) == pytest.approx(best)


def test_hull_is_increasing_and_upper(measured: ContentProfile) -> None:
    hull = measured.hull()
    assert len(hull) >= 2
    rates = [p.bitrate_bps for p in hull]
    quals = [p.psnr_db for p in hull]
    assert rates == sorted(rates) and quals == sorted(quals)
    assert len(set(quals)) == len(quals)
    # no measured point lies above the hull's piecewise-linear envelope (log-rate axis)
    for p in measured.points:
        lx = math.log2(p.bitrate_bps)
        for a, b in itertools.pairwise(hull):
            la, lb = math.log2(a.bitrate_bps), math.log2(b.bitrate_bps)
            if la <= lx <= lb:
                env = a.psnr_db + (b.psnr_db - a.psnr_db) * (lx - la) / (lb - la)
                assert p.psnr_db <= env + 1e-9
    assert measured.best_resolution(hull[-1].bitrate_bps) in RES


def _toy(points: list[tuple[int, int, float, float]]) -> ContentProfile:
    return ContentProfile(
        source="toy",
        codec="h264",
        points=tuple(
            ProfilePoint(w, h, 30.0, int(r), r, q, 0.9, 100.0, 30, 1000, 100.0)
            for w, h, r, q in points
        ),
    )


def test_hull_and_best_resolution_on_known_points() -> None:
    # small picture wins at low rates, large one at high rates
    prof = _toy(
        [
            (320, 180, 100e3, 34.0),
            (320, 180, 400e3, 36.0),
            (320, 180, 1600e3, 37.0),
            (640, 360, 100e3, 31.0),
            (640, 360, 400e3, 38.0),
            (640, 360, 1600e3, 41.0),
        ]
    )
    hull = prof.hull()
    assert [(p.width, p.bitrate_bps) for p in hull] == [(320, 100e3), (640, 400e3), (640, 1600e3)]
    assert prof.best_resolution(100e3) == (320, 180)
    assert prof.best_resolution(1600e3) == (640, 360)
    ladder = prof.ladder(min_bps=50_000, max_bps=3_200_000)
    assert [r[:2] for r in ladder] == [(640, 360), (320, 180)]
    (_, _, lo_big, tgt_big, hi_big), (_, _, lo_small, _, hi_small) = ladder
    assert lo_small == 50_000 and hi_big == 3_200_000
    assert hi_small < lo_big < 1.05 * hi_small  # adjacent points of the search grid
    assert lo_big < tgt_big < hi_big
    # where the small picture stops winning, the big one's predicted PSNR overtakes it
    assert prof.quality_db(hi_small, 320, 180) >= prof.quality_db(hi_small, 640, 360) - 1e-3
    assert prof.quality_db(lo_big, 640, 360) > prof.quality_db(lo_big, 320, 180)
    fit = prof.fit(640, 360)
    # least squares through (0, 31), (2, 38), (4, 41) in log2 bits per pixel: 10 dB / 4
    assert fit.psnr_b == pytest.approx(2.5)


def test_model_exports(measured: ContentProfile) -> None:
    w, h = RES[-1]
    x, y = measured.quality_table(w, h)
    assert len(x) == len(RATES) and list(x) == sorted(x) and list(y) == sorted(y)
    assert measured.keyframe_ratio() > 1.0
    assert measured.keyframe_ratio(w, h) > 1.0
    m = measured.codec_model()
    fit = measured.fit(w, h)
    # the two parameterisations describe the same line
    for bpp in (0.01, 0.05, 0.3):
        lhs = m["ref_db"] + m["db_per_decade"] * math.log10(bpp / m["ref_bpp"])
        assert lhs == pytest.approx(fit.psnr_a + fit.psnr_b * math.log2(bpp))


def test_save_load_equal(measured: ContentProfile, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    measured.save(path)
    back = profiles.load(path)
    assert back == measured
    assert back.to_json() == measured.to_json()
    assert back.hull() == measured.hull()


def test_load_rejects_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON profile"):
        profiles.load(bad)
    good = _toy([(320, 180, 1e5, 30.0)]).to_json_dict()
    for mutate, msg in (
        (lambda d: d.update(format=99), "format"),
        (lambda d: d.update(extra=1), "unknown key"),
        (lambda d: d["points"][0].pop("ssim"), "exactly the keys"),
    ):
        d = json.loads(json.dumps(good))
        mutate(d)
        bad.write_text(json.dumps(d))
        with pytest.raises(ValueError, match=msg):
            profiles.load(bad)
    with pytest.raises(ValueError, match="at least one"):
        ContentProfile("x", "h264", ())
    with pytest.raises(ValueError, match="not in the profile"):
        _toy([(320, 180, 1e5, 30.0)]).quality_db(1e5, 640, 360)


def test_bundled_profiles_load_and_are_sane() -> None:
    names = profiles.bundled_names()
    assert names == sorted(f"{k}_h264" for k in profiles_kinds())
    for name in names:
        prof = profiles.bundled(name)
        assert prof.codec == "h264" and len(prof.points) >= 6
        assert prof.hull()
    with pytest.raises(ValueError, match="no bundled profile"):
        profiles.bundled("cartoon_h264")


def profiles_kinds() -> tuple[str, ...]:
    from mediaopt.media.content import KINDS

    return KINDS


def test_profile_of_a_video_file(tmp_path: Path) -> None:
    import av

    from mediaopt.media import content

    path = tmp_path / "clip.mkv"
    with av.open(str(path), "w") as out:
        st = out.add_stream("ffv1", rate=15)
        st.width, st.height, st.pix_fmt = 128, 96, "yuv420p"
        for f in content.synthetic("endoscope", 128, 96, fps=15, seconds=1.0, seed=0):
            for p in st.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    prof = profiles.measure(
        path,
        "vp9",
        resolutions=((64, 48), (128, 96)),
        bitrates_bps=(50_000, 200_000),
        fps_values=(15.0,),
        seconds=1.0,
    )
    assert prof.source == "clip.mkv" and len(prof.points) == 4
    assert all(p.frames == 15 for p in prof.points)
    hi = [p for p in prof.points if p.width == 128]
    assert hi[1].psnr_db > hi[0].psnr_db


def test_cli_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "prof.json"
    rc = main(
        [
            "profile",
            "ultrasound",
            "--codec",
            "vp8",
            "--out",
            str(out),
            "--resolutions",
            "96x64",
            "--bitrates",
            "80k,0.3m",
            "--seconds",
            "0.5",
        ]
    )
    assert rc == 0
    err = capsys.readouterr().err
    assert "[1/2] 96x64@30" in err and "[2/2]" in err and "wrote" in err
    prof = profiles.load(out)
    assert prof.codec == "vp8" and [p.target_bps for p in prof.points] == [80_000, 300_000]


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (["cartoon"], "neither a content kind"),
        (["talking_head", "--codec", "h265"], "unknown codec"),
        (["talking_head", "--bitrates", "fast"], "--bitrates"),
        (["talking_head", "--resolutions", "big"], "--resolutions"),
        (["talking_head", "--resolutions", "161x120"], "even"),
    ],
)
def test_cli_profile_errors(
    args: list[str], msg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["profile", *args, "--out", str(tmp_path / "x.json"), "--seconds", "0.2"])
    assert rc == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
