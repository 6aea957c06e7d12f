"""Call-quality regression suite: a fixed matrix of traces x built-in policies.

Every cell is replayed with seed 0 and its key metrics (``mediaopt.replay.regression.KEY_METRICS``)
are compared with the golden results stored in ``tests/golden/``. A move beyond the stated
tolerance fails with a before/after table. After an intended change, accept the new results
with::

    python -m pytest tests/test_quality_regression.py --update-golden

and commit the rewritten JSON together with the change that caused it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import mediaopt as mo
from mediaopt.replay.regression import compare, format_diff, load_golden, save_golden

GOLDEN_DIR = Path(__file__).parent / "golden"
POLICIES = ("gcc", "consult", "surgical", "followup")
RFC8867_CASES = ("5.1", "5.2", "5.3-forward")
#: recorded traces in ../shared/traces guarded when present (their first 120 s)
SHARED_TRACES = (
    "mahimahi/ATT-LTE-driving-2016.down",
    "mahimahi/TMobile-UMTS-driving.down",
    "mahimahi/Verizon-EVDO-driving.down",
    "hsdpa/norway_bus_1",
    "hsdpa/norway_tram_1",
)
SHARED_DURATION_S = 120.0


def _matrix(
    traces: dict[str, mo.traces.Trace], duration_s: float | None
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for tname, trace in traces.items():
        for policy in POLICIES:
            res = mo.replay(trace, policy, seed=0, duration_s=duration_s)
            out[f"{tname}/{policy}"] = dict(res.metrics)
    return out


def _check(path: Path, current: dict[str, dict[str, float]], update: bool) -> None:
    if update:
        save_golden(path, current)
        return
    if not path.exists():
        pytest.fail(f"{path} is missing: run pytest {__file__} --update-golden and commit it")
    changes = compare(load_golden(path), current)
    if changes:
        pytest.fail(
            f"call-quality metrics moved beyond tolerance ({path.name}):\n{format_diff(changes)}\n"
            "If the change is intended, accept it with --update-golden.",
            pytrace=False,
        )


def _synthetic_traces() -> dict[str, mo.traces.Trace]:
    traces = dict(mo.traces.bundled())
    for case in RFC8867_CASES:
        traces[f"rfc8867-{case}"] = mo.traces.rfc8867(case)
    return traces


@pytest.mark.slow
def test_synthetic_matrix_matches_golden(update_golden: bool) -> None:
    _check(GOLDEN_DIR / "quality_synthetic.json", _matrix(_synthetic_traces(), None), update_golden)


@pytest.mark.slow
@pytest.mark.shared_traces
def test_recorded_matrix_matches_golden(shared_traces: Path, update_golden: bool) -> None:
    traces = {}
    for rel in SHARED_TRACES:
        p = shared_traces / rel
        if p.exists():
            traces[rel] = mo.traces.load(p)
    if not traces:
        pytest.skip("none of the guarded recorded traces is present")
    current = _matrix(traces, SHARED_DURATION_S)
    _check(GOLDEN_DIR / "quality_recorded.json", current, update_golden)


def test_a_hand_edited_golden_value_fails_with_a_readable_diff(tmp_path: Path) -> None:
    # the mechanism itself, on one cell: change a golden number and the check must fail
    trace = mo.traces.rfc8867("5.1")
    current = {"rfc8867-5.1/consult": dict(mo.replay(trace, "consult", seed=0).metrics)}
    path = tmp_path / "golden.json"
    save_golden(path, current)
    _check(path, current, update=False)  # unchanged: passes
    edited = load_golden(path)
    edited["rfc8867-5.1/consult"]["usable_ratio"] -= 0.2
    save_golden(path, edited)
    with pytest.raises(pytest.fail.Exception, match=r"usable_ratio[\s\S]*\+0\.2"):
        _check(path, current, update=False)
    _check(path, current, update=True)  # --update-golden restores green
    _check(path, current, update=False)
