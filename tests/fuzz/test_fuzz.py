"""The fuzz rules inside the ordinary suite (issue 13).

* every seed of the fixed corpus (committed seeds, and the first kilobyte of every real
  trace when ``../shared/traces`` is present) runs through its target under the rules:
  only ``InputError`` escapes, under 1 s, under 100 MB (tracemalloc peak);
* Hypothesis builds structured inputs for each loader and each array entry (tokens that
  look like trace lines, extreme numbers, arrays of any length) under the same rules.

Targets blocked by a compiled-core finding are skipped with that finding as the reason
(``targets.CORE_FINDINGS``); the core engineer removes the skip once it holds.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
import run as fuzz_run
import targets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from targets import TARGETS, guarded

import mediaopt as mo

_SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


def _skip_core(name: str) -> None:
    if name in targets.CORE_FINDINGS:
        pytest.skip(targets.CORE_FINDINGS[name])


def test_every_target_is_listed_with_its_rules():
    loaders = {n for n, t in TARGETS.items() if t.loader}
    assert loaders == {"mahimahi", "cooked", "csv", "json", "sniff", "policy_toml", "profile_json"}
    arrays = set(TARGETS) - loaders
    assert arrays == {
        "gcc_on_feedback",
        "gcc_on_feedback_reports",
        "link_transmit",
        "adaptation_update",
        "metrics_logs",
    }
    assert set(targets.CORE_FINDINGS) <= arrays
    assert targets.MAX_INPUT_S == 1.0 and targets.MAX_ALLOC_BYTES == 100 * 2**20


def test_the_guard_turns_other_exceptions_and_slow_inputs_into_crashes(monkeypatch):
    def boom(data: bytes) -> None:
        raise OverflowError("int too large")

    t = targets.Target("boom", boom, "bytes", False)
    with pytest.raises(targets.CrashError, match="OverflowError"):
        guarded(t)(b"")

    def alloc(data: bytes) -> None:
        np.empty(150 * 2**20 // 8)

    with pytest.raises(targets.CrashError, match="allocated"):
        guarded(targets.Target("alloc", alloc, "bytes", False), track_memory=True)(b"")
    monkeypatch.setattr(targets, "MAX_INPUT_S", -1.0)
    with pytest.raises(targets.CrashError, match="took"):
        guarded(TARGETS["mahimahi"])(b"5\n")


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fixed_corpus_obeys_the_rules(name, tmp_path):
    _skip_core(name)
    n = fuzz_run.seed_corpus(TARGETS[name].seeds, tmp_path)
    assert n > 0
    one = guarded(TARGETS[name], track_memory=True)
    for f in sorted(tmp_path.iterdir()):
        one(f.read_bytes())


# ---------------------------------------------------------------- Hypothesis: loaders

_TOKEN = st.one_of(
    st.sampled_from(
        ["0", "1", "-1", "+5", "1_000", "٣", "1e300", "1e-300", "nan", "inf", "1.5", ".5", "5.",
         "9300000000000000", "100000000000", "#", ",", "time_s", "capacity_kbps", "loss",
         "delay_ms", "\ufeff", "\x00", "\r", "e", "1" * 400]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)  # fmt: skip
_LINE = st.lists(_TOKEN, min_size=0, max_size=4).flatmap(
    lambda toks: st.sampled_from([" ", ",", "\t"]).map(lambda sep: sep.join(toks))
)
_TEXT = st.lists(_LINE, max_size=12).map("\n".join)


@pytest.mark.parametrize("name", ["mahimahi", "cooked", "csv", "sniff"])
@_SETTINGS
@given(
    text=_TEXT, header=st.booleans(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1"])
)
def test_text_loaders_raise_only_input_error(name, text, header, encoding):
    if header:
        text = "time_s,capacity_kbps,loss\n" + text
    guarded(TARGETS[name], track_memory=True)(text.encode(encoding, "replace"))


_JSON_VALUE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
_ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "duration": _JSON_VALUE | st.floats(min_value=-1e18, max_value=1e18),
        "capacity": _JSON_VALUE | st.floats(min_value=-1e12, max_value=1e12),
        "loss": _JSON_VALUE | st.floats(min_value=-5, max_value=500),
        "rtt": _JSON_VALUE | st.floats(min_value=-100, max_value=1e9),
    },
)


@_SETTINGS
@given(pattern=st.lists(_ENTRY, max_size=8), side=st.sampled_from(["uplink", "downlink", None]))
def test_json_loader_raises_only_input_error(pattern, side):
    import json

    doc = {"trace_pattern": pattern} if side is None else {side: {"trace_pattern": pattern}}
    guarded(TARGETS["json"], track_memory=True)(json.dumps(doc).encode())


_TOML_KEYS = st.sampled_from(
    ["name", "start_bps", "min_bps", "max_bps", "estimator.send_time_group_length_us",
     "estimator.backoff_factor", "estimator.pacing_factor", "adaptation.up_dwell_s",
     "adaptation.ladder_bps", "adaptation.min_pixels", "profile.tier", "profile.min_fps",
     "adaptation.start_caps", "unknown"]
)  # fmt: skip
_TOML_VALUES = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats().map(lambda f: repr(f).replace("inf", "inf").replace("nan", "nan")),
    st.sampled_from(['"x"', "true", "[[1, 2, 3, 4, 5], [0, 0, 1, 1, 1]]", "[]", "{}", "1e400"]),
)


@_SETTINGS
@given(pairs=st.lists(st.tuples(_TOML_KEYS, _TOML_VALUES), max_size=6))
def test_policy_loader_raises_only_input_error(pairs):
    tables: dict[str, list[str]] = {}
    for key, value in pairs:
        table, _, leaf = key.rpartition(".")
        tables.setdefault(table, []).append(f"{leaf} = {value}")
    text = "\n".join(tables.pop("", []))
    for table, lines in tables.items():
        text += f"\n[{table}]\n" + "\n".join(lines)
    guarded(TARGETS["policy_toml"], track_memory=True)(text.encode())


@_SETTINGS
@given(point=st.dictionaries(st.sampled_from(sorted(targets.profiles.POINT_RANGES)), _JSON_VALUE))
def test_profile_loader_raises_only_input_error(point):
    import json

    base = json.loads((Path(__file__).parent / "corpus" / "profile" / "small.json").read_text())
    base["points"][0].update(point)
    guarded(TARGETS["profile_json"], track_memory=True)(json.dumps(base).encode())


# ---------------------------------------------------------------- Hypothesis: array entries

_I64 = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, -1, 2**62, 2**63 - 1, 1_700_000_000_000_000]),
)
_ANY_SCALAR = st.one_of(
    _I64,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),
    st.sampled_from([None, True, "1", 1.5]),
)


def _arrays(n: int):
    return st.lists(_I64, min_size=n, max_size=n).map(lambda v: np.array(v, dtype=np.int64))


def _must_only_raise_input_error(call) -> None:
    with contextlib.suppress(mo.InputError):
        call()


@pytest.mark.skipif("gcc_on_feedback" in targets.CORE_FINDINGS,
                    reason=targets.CORE_FINDINGS.get("gcc_on_feedback", ""))  # fmt: skip
@_SETTINGS
@given(data=st.data(), n=st.integers(0, 40))
def test_gcc_on_feedback(data, n):
    est = mo.GccEstimator()
    send, arrival, size = (data.draw(_arrays(n)) for _ in range(3))
    _must_only_raise_input_error(
        lambda: est.on_feedback(send, arrival, size, data.draw(_ANY_SCALAR))
    )


@pytest.mark.skipif("gcc_on_feedback_reports" in targets.CORE_FINDINGS,
                    reason=targets.CORE_FINDINGS.get("gcc_on_feedback_reports", ""))  # fmt: skip
@_SETTINGS
@given(data=st.data(), n=st.integers(0, 40), k=st.integers(0, 6))
def test_gcc_on_feedback_reports(data, n, k):
    est = mo.GccEstimator()
    send = np.cumsum(np.full(n, 1000, dtype=np.int64))
    _must_only_raise_input_error(
        lambda: est.on_feedback_reports(
            send, send + 50_000, np.full(n, 1200), data.draw(_arrays(k)), data.draw(_arrays(k))
        )
    )


@pytest.mark.skipif("link_transmit" in targets.CORE_FINDINGS,
                    reason=targets.CORE_FINDINGS.get("link_transmit", ""))  # fmt: skip
@_SETTINGS
@given(data=st.data(), n=st.integers(0, 40))
def test_link_transmit(data, n):
    link = mo.Link(mo.traces.constant(2000, 2.0), one_way_delay_ms=20, queue_ms=100)
    _must_only_raise_input_error(
        lambda: link.transmit(data.draw(_arrays(n)), data.draw(_arrays(n)))
    )


@pytest.mark.skipif("adaptation_update" in targets.CORE_FINDINGS,
                    reason=targets.CORE_FINDINGS.get("adaptation_update", ""))  # fmt: skip
@_SETTINGS
@given(calls=st.lists(st.tuples(_ANY_SCALAR, _ANY_SCALAR, _ANY_SCALAR, _ANY_SCALAR), max_size=6))
def test_adaptation_update(calls):
    ad = mo.Adaptation("consult", max_width=1280, max_height=720, max_fps=30)
    for args in calls:
        _must_only_raise_input_error(lambda a=args: ad.update(*a))


@_SETTINGS
@given(data=st.data(), n=st.integers(0, 30), k=st.integers(0, 30))
def test_metrics_logs(data, n, k):
    from mediaopt.replay.metrics import FrameLog, IntervalLog

    cols = [data.draw(_arrays(n)) for _ in range(5)]
    key = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    quality = np.array(data.draw(st.lists(st.floats(), min_size=n, max_size=n)), dtype=float)
    _must_only_raise_input_error(lambda: FrameLog(*cols, key, quality))
    icols = [data.draw(_arrays(k)) for _ in range(8)]
    _must_only_raise_input_error(lambda: IntervalLog(*icols, interval_us=data.draw(_ANY_SCALAR)))
