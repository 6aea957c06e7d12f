"""Policy overlays (``base = ...``), dotted overrides and diffs (issue 15's first part)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import mediaopt as mo
from mediaopt import policies
from mediaopt.cli import main


def test_overlay_holds_only_what_differs(tmp_path: Path) -> None:
    f = tmp_path / "slow-climb.toml"
    f.write_text('base = "consult"\n\n[adaptation]\nup_dwell_s = 9.0\n', encoding="utf-8")
    pol = policies.load(f)
    consult = policies.load("consult")
    assert pol.name == "slow-climb"  # named after its file, not its base
    assert pol.adaptation.up_dwell_s == 9.0
    # everything else is consult's, not libwebrtc's defaults
    assert dataclasses.replace(pol.adaptation, up_dwell_s=consult.adaptation.up_dwell_s) == (
        consult.adaptation
    )
    assert pol.profile == consult.profile and pol.estimator == consult.estimator
    assert policies.diff(consult, pol) == [
        ("name", "consult", "slow-climb"),
        ("adaptation.up_dwell_s", 5.0, 9.0),
    ]


def test_partial_file_without_base_still_takes_libwebrtc_defaults(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text('name = "p"\n[adaptation]\nup_dwell_s = 9.0\n', encoding="utf-8")
    assert policies.load(f).adaptation.degradation == "maintain-framerate"


def test_overlay_chains_and_relative_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('base = "surgical"\nmax_bps = 1500000\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text(
        'base = "a.toml"\nname = "b"\n[profile]\nmax_frame_delay_ms = 250.0\n', encoding="utf-8"
    )
    b = policies.load(tmp_path / "b.toml")
    surgical = policies.load("surgical")
    assert (b.name, b.max_bps, b.profile.max_frame_delay_ms) == ("b", 1_500_000, 250.0)
    assert b.adaptation == surgical.adaptation and b.profile.tier == surgical.profile.tier


def test_overlay_errors_name_the_problem(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text('base = "y.toml"\n', encoding="utf-8")
    (tmp_path / "y.toml").write_text('base = "x.toml"\n', encoding="utf-8")
    with pytest.raises(mo.InputError, match="circle"):
        policies.load(tmp_path / "x.toml")
    (tmp_path / "m.toml").write_text('base = "missing.toml"\n', encoding="utf-8")
    with pytest.raises(mo.InputError, match=r"base: cannot read 'missing.toml'"):
        policies.load(tmp_path / "m.toml")
    (tmp_path / "n.toml").write_text("base = 3\n", encoding="utf-8")
    with pytest.raises(mo.InputError, match="base: expected a policy name"):
        policies.load(tmp_path / "n.toml")
    (tmp_path / "k.toml").write_text('base = "consult"\n[adaptation]\nup_dwel_s = 1\n', "utf-8")
    with pytest.raises(mo.InputError, match=r"adaptation\.up_dwel_s: unknown key"):
        policies.load(tmp_path / "k.toml")
    for i in range(policies.MAX_OVERLAY_DEPTH + 1):
        (tmp_path / f"d{i}.toml").write_text(f'base = "d{i + 1}.toml"\n', encoding="utf-8")
    (tmp_path / f"d{policies.MAX_OVERLAY_DEPTH + 1}.toml").write_text('base = "gcc"\n', "utf-8")
    with pytest.raises(mo.InputError, match="deeper"):
        policies.load(tmp_path / "d0.toml")


def test_with_overrides_by_dotted_key() -> None:
    consult = policies.load("consult")
    pol = consult.with_overrides(
        {"adaptation.up_dwell_s": 2.0, "estimator.pacing_factor": 2.0, "max_bps": 1_500_000}
    )
    assert pol.adaptation.up_dwell_s == 2.0 and pol.estimator.pacing_factor == 2.0
    assert pol.max_bps == 1_500_000 and pol.name == "consult"
    assert [k for k, _, _ in policies.diff(consult, pol)] == [
        "max_bps",
        "adaptation.up_dwell_s",
        "estimator.pacing_factor",
    ]
    assert consult.with_overrides({}) == consult


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"adaptation.up_dwel_s": 2.0}, r"adaptation\.up_dwel_s: unknown key"),
        ({"adaptation": {"up_dwell_s": 2.0}}, "adaptation: unknown key"),
        ({"adaptation.up_dwell_s": -1.0}, r"adaptation\.up_dwell_s"),
        ({"adaptation.degradation": "fastest"}, r"adaptation\.degradation"),
        ({"profile.tier": "gold"}, r"profile\.tier"),
        ({"min_bps": "lots"}, "min_bps"),
        ({3: 1}, "dotted field names"),
    ],
)
def test_with_overrides_is_checked_like_a_file(overrides: dict, match: str) -> None:
    with pytest.raises(mo.InputError, match=match):
        policies.load("consult").with_overrides(overrides)


def test_overlay_toml_round_trips(tmp_path: Path) -> None:
    pol = policies.load("followup").with_overrides(
        {"adaptation.up_dwell_s": 7.5, "adaptation.start_caps": [[200_000, 76_800]], "name": "t"}
    )
    text = policies.overlay_toml(pol, "followup", header="tuned by a test\nseed 0")
    assert text.startswith('# tuned by a test\n# seed 0\nbase = "followup"\n')
    f = tmp_path / "t.toml"
    f.write_text(text, encoding="utf-8")
    assert policies.load(f) == pol


def test_flat_keys_are_the_override_keys() -> None:
    pol = policies.load("gcc")
    flat = pol.flat()
    assert "adaptation.up_dwell_s" in flat and "estimator.pacing_factor" in flat
    assert pol.with_overrides(flat) == pol


def test_cli_policies_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies", "diff", "consult", "consult"]) == 0
    assert "the same policy" in capsys.readouterr().out
    assert main(["policies", "diff", "gcc", "consult"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["field", "gcc", "->", "consult"]
    row = next(line for line in out if line.startswith("adaptation.degradation"))
    assert row.split() == ["adaptation.degradation", "'maintain-framerate'", "->", "'balanced'"]
    assert main(["policies", "diff", "gcc", "nope"]) == 2
