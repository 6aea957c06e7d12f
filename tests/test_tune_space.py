"""The search space as data (mediaopt.tune.space)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import mediaopt as mo
from mediaopt import policies
from mediaopt.tune import SearchSpace, load_space, suggest

BASE = policies.load("consult")

SPACE = {
    "adaptation.up_dwell_s": {"low": 0.5, "high": 10.0, "log": True},
    "adaptation.up_max_steps": {"low": 0, "high": 4},
    "max_bps": {"low": 800_000, "high": 2_500_000, "step": 100_000},
    "adaptation.degradation": {"choices": ["balanced", "maintain-resolution"]},
    "adaptation.start_caps": {"choices": [[], [[300_000, 76_800]]]},
}


def test_space_from_a_dict_and_a_file(tmp_path: Path) -> None:
    space = SearchSpace.from_dict(SPACE, BASE)
    assert space.keys == tuple(SPACE)
    kinds = [d.kind for d in space.dimensions]
    assert kinds == ["float", "int", "int", "choice", "choice"]
    f = tmp_path / "space.toml"
    f.write_text(
        "[search]\n"
        '"adaptation.up_dwell_s" = { low = 0.5, high = 10.0, log = true }\n'
        '"adaptation.up_max_steps" = { low = 0, high = 4 }\n'
        '"max_bps" = { low = 800000, high = 2500000, step = 100000 }\n'
        '"adaptation.degradation" = { choices = ["balanced", "maintain-resolution"] }\n'
        '"adaptation.start_caps" = { choices = [[], [[300000, 76800]]] }\n',
        encoding="utf-8",
    )
    assert load_space(f, BASE) == space
    assert load_space({"search": SPACE}, BASE) == space
    assert SearchSpace.from_dict(space.to_dict(), BASE) == space


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (
            {"adaptation.up_dwel_s": {"low": 1, "high": 2}},
            r"search\.adaptation\.up_dwel_s: unknown",
        ),
        ({"name": {"choices": ["a", "b"]}}, "not a tunable field"),
        ({"adaptation.up_dwell_s": {"low": 1.0}}, "needs both low and high"),
        ({"adaptation.up_dwell_s": {"low": 2.0, "high": 1.0}}, "must be below"),
        ({"adaptation.up_dwell_s": {"low": 0.5, "high": 1e6}}, r"high 1000000\.0 is not a valid"),
        ({"adaptation.up_dwell_s": {"low": 0.0, "high": 1.0, "log": True}}, "needs low > 0"),
        ({"adaptation.up_dwell_s": {"low": 1, "high": 2, "lo": 3}}, "unexpected 'lo'"),
        ({"adaptation.up_max_steps": {"low": 0.5, "high": 4}}, "integer low and high"),
        ({"max_bps": {"low": 1e5, "high": 1e6, "step": 0.5}}, "positive integer"),
        ({"adaptation.degradation": {"low": 0, "high": 1}}, "takes choices"),
        ({"adaptation.degradation": {"choices": ["balanced", "fast"]}}, "choice 'fast'"),
        ({"adaptation.degradation": {"choices": []}}, "non-empty"),
        ({"adaptation.degradation": {"choices": ["balanced", "balanced"]}}, "repeat"),
        ({"adaptation.up_dwell_s": 3.0}, "expected a table"),
        ({}, "empty"),
    ],
)
def test_bad_spaces_name_the_key(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(mo.InputError, match=match):
        SearchSpace.from_dict(spec, BASE)


class _Trial:
    """Answers every suggestion with the low end (or the last choice)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def suggest_float(self, name: str, low: float, high: float, **kw: Any) -> float:
        self.asked.append(("float", name))
        return high

    def suggest_int(self, name: str, low: int, high: int, **kw: Any) -> int:
        self.asked.append(("int", name))
        return low

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        self.asked.append(("cat", name))
        return choices[-1]


def test_suggest_gives_valid_overrides() -> None:
    space = SearchSpace.from_dict(SPACE, BASE)
    trial = _Trial()
    over = suggest(trial, space)
    assert over == {
        "adaptation.up_dwell_s": 10.0,
        "adaptation.up_max_steps": 0,
        "max_bps": 800_000,
        "adaptation.degradation": "maintain-resolution",
        "adaptation.start_caps": ((300_000, 76_800),),
    }
    pol = BASE.with_overrides(over)
    assert pol.adaptation.start_caps == ((300_000, 76_800),)


def test_suggest_with_a_real_optuna_trial() -> None:
    optuna = pytest.importorskip("optuna")
    space = SearchSpace.from_dict(SPACE, BASE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        pol = BASE.with_overrides(suggest(trial, space))
        assert 0.5 <= pol.adaptation.up_dwell_s <= 10.0 and pol.max_bps % 100_000 == 0
        study.tell(trial, 0.0)
