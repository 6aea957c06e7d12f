"""Policies: built-ins, TOML round trip, validation naming the key, the CLI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaopt import policies
from mediaopt.bwe import GccConfig
from mediaopt.cli import main
from mediaopt.policies import AdaptationConfig, ClinicalProfile, Policy

BUILTINS = ("gcc", "consult", "surgical", "followup")


def test_builtins_are_listed_and_load() -> None:
    assert set(BUILTINS) <= set(policies.names())
    for name in BUILTINS:
        pol = policies.load(name)
        assert pol.name == name
        assert isinstance(pol.estimator, GccConfig)
        assert pol.profile.availability == policies.TIER_AVAILABILITY[pol.profile.tier]
        assert pol.min_bps <= pol.start_bps <= pol.max_bps


def test_gcc_is_libwebrtc_defaults_measured_against_the_consult_bar() -> None:
    gcc = policies.load("gcc")
    assert gcc.estimator == GccConfig()
    assert gcc.adaptation == AdaptationConfig()
    assert gcc.adaptation.ladder_bps == policies.LIBWEBRTC_VP8_LADDER
    assert gcc.adaptation.balanced_min_fps == ((76800, 7.0), (172800, 10.0), (307200, 15.0))
    assert gcc.adaptation.start_caps == ((300_000, 76800), (500_000, 307200))
    assert gcc.adaptation.low_rtt_nack_ms == 20
    assert gcc.adaptation.overhead_cap == 0.5
    assert gcc.adaptation.loss_bins * gcc.adaptation.loss_bin_s == 10.0
    assert gcc.profile == policies.load("consult").profile


def test_clinical_tiers_and_anchors() -> None:
    sur, con, fol = (policies.load(n).profile for n in ("surgical", "consult", "followup"))
    assert (sur.tier, sur.availability) == ("advanced", 0.9999)
    assert (con.tier, con.availability) == ("standard", 0.999)
    assert (fol.tier, fol.availability) == ("basic", 0.995)
    assert sur.max_frame_delay_ms <= 300 and con.max_frame_delay_ms < 400
    assert fol.max_frame_delay_ms == 400
    assert con.min_fps >= 15 and con.min_pixels >= 640 * 480
    assert sur.min_pixels > con.min_pixels > fol.min_pixels
    assert policies.load("surgical").adaptation.degradation == "maintain-resolution"
    assert policies.load("consult").adaptation.degradation == "balanced"
    assert policies.load("followup").max_bps < policies.load("consult").max_bps


@pytest.mark.parametrize("name", BUILTINS)
def test_round_trip_through_toml(name: str, tmp_path: Path) -> None:
    pol = policies.load(name)
    path = tmp_path / f"{name}.toml"
    pol.save(path)
    again = policies.load(path)
    assert again == pol
    assert hash(again) == hash(pol)
    assert policies.load(str(path)) == pol


@given(
    switch=st.floats(0.0, 1.0),
    margin=st.floats(0.0, 0.5),
    delay=st.floats(1.0, 1000.0),
    desc=st.text(max_size=30),
    deg=st.sampled_from(policies.DEGRADATIONS),
)
def test_round_trip_of_edited_policies(
    switch: float, margin: float, delay: float, desc: str, deg: str
) -> None:
    base = policies.load("consult")
    pol = base.replace(
        description=desc,
        adaptation=dataclasses.replace(
            base.adaptation, switch_point=switch, up_margin=margin, degradation=deg
        ),
        profile=dataclasses.replace(base.profile, max_frame_delay_ms=delay),
    )
    assert policies.loads(pol.to_toml()) == pol


def test_equality_is_by_value() -> None:
    assert policies.load("consult") == policies.load("consult")
    assert policies.load("consult") != policies.load("followup")
    assert Policy() == Policy(name="gcc")


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('name = "x"\nbogus = 1\n', "bogus"),
        ('name = "x"\n[adaptation]\nladder = 3\n', "adaptation.ladder"),
        ('name = "x"\n[profile]\ncolour = "red"\n', "profile.colour"),
        ('name = "x"\n[estimator]\nbackof_factor = 0.8\n', "backof_factor"),
        ('name = "x"\n[adaptation]\noverhead_cap = 0.7\n', "adaptation.overhead_cap"),
        ('name = "x"\n[adaptation]\nswitch_point = -0.1\n', "adaptation.switch_point"),
        ('name = "x"\n[adaptation]\ndegradation = "fastest"\n', "adaptation.degradation"),
        ('name = "x"\n[adaptation]\nprotection = "raptor"\n', "adaptation.protection"),
        ('name = "x"\n[adaptation]\ntemporal_layers = 9\n', "adaptation.temporal_layers"),
        ('name = "x"\n[adaptation]\nup_dwell_s = "long"\n', "adaptation.up_dwell_s"),
        (
            'name = "x"\n[adaptation]\nladder_bps = [[320, 180, 1, 2, 3], [640, 360, 1, 2, 3]]\n',
            "adaptation.ladder_bps",
        ),
        ('name = "x"\n[adaptation]\nstart_caps = [[1, 2, 3]]\n', "adaptation.start_caps"),
        ('name = "x"\n[profile]\ntier = "gold"\n', "profile.tier"),
        ('name = "x"\n[profile]\ntier = "basic"\navailability = 0.999\n', "profile.availability"),
        ('name = "x"\n[profile]\nmin_fps = -1\n', "profile.min_fps"),
        ('name = "x"\nstart_bps = 10\n', "start_bps"),
        ('name = "x"\nmin_bps = 3000000\n', "min_bps"),
        ('name = "x"\nmax_bps = 1.5\n', "max_bps"),
        ('name = "x"\n[estimator]\nbackoff_factor = 1.5\n', "backoff_factor"),
        ("adaptation = 3\n", "adaptation"),
    ],
)
def test_invalid_policies_name_the_key(toml: str, key: str) -> None:
    with pytest.raises(ValueError, match=key.replace(".", r"\.").replace("[", r"\[")):
        policies.loads(toml)


def test_broken_toml_and_unknown_names() -> None:
    with pytest.raises(ValueError, match="not valid TOML"):
        policies.loads("name = \n")
    with pytest.raises(ValueError, match="unknown policy"):
        policies.load("nope")
    with pytest.raises(FileNotFoundError):
        policies.load("/nonexistent/folder/x.toml")
    with pytest.raises(ValueError, match="policy"):
        policies.resolve(42)  # type: ignore[arg-type]


def test_missing_keys_take_the_defaults() -> None:
    pol = policies.loads('name = "mine"\n[adaptation]\ndegradation = "balanced"\n')
    assert pol.adaptation == AdaptationConfig(degradation="balanced")
    assert pol.profile == ClinicalProfile()
    assert pol.estimator == GccConfig()


def test_save_is_atomic_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    policies.load("surgical").save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["p.toml"]
    with pytest.raises(FileNotFoundError):
        policies.load("surgical").save(tmp_path / "missing" / "p.toml")


def test_cli_ls_and_show(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["policies", "ls"]) == 0
    out = capsys.readouterr().out
    for name in BUILTINS:
        assert name in out
    assert main(["policies", "show", "surgical"]) == 0
    text = capsys.readouterr().out
    assert policies.loads(text) == policies.load("surgical")
    path = tmp_path / "x.toml"
    path.write_text(text)
    assert main(["policies", "show", str(path)]) == 0
    assert main(["policies", "show", "nope"]) == 2
    assert "unknown policy" in capsys.readouterr().err
