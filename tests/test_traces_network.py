from __future__ import annotations

import numpy as np
import pytest

import mediaopt as mo
from mediaopt.traces import GilbertElliott, Network


@pytest.fixture(scope="module")
def trace() -> mo.traces.Trace:
    return mo.traces.steps([(0.0, 1500.0), (4.0, 400.0), (8.0, 1500.0)], 12.0, name="steps")


def _same(a: mo.ReplayResult, b: mo.ReplayResult) -> None:
    assert a.metrics == b.metrics
    assert a.stats == b.stats
    np.testing.assert_array_equal(a.frames.render_us, b.frames.render_us)


def test_network_gives_the_same_session_as_the_keywords(trace: mo.traces.Trace) -> None:
    ge = GilbertElliott(p_good_bad=0.02, p_bad_good=0.3, loss_bad=0.5)
    rev = mo.traces.constant(500.0, 12.0, name="uplink")
    kw = {
        "one_way_delay_ms": 80.0,
        "queue_ms": 150.0,
        "loss": ge,
        "reverse_trace": rev,
        "feedback_interval_ms": 100.0,
        "feedback_loss": 0.05,
    }
    a = mo.replay(trace, "consult", seed=3, **kw)  # type: ignore[arg-type]
    b = mo.replay(trace, "consult", seed=3, network=Network(**kw))  # type: ignore[arg-type]
    _same(a, b)


def test_default_network_is_the_old_default(trace: mo.traces.Trace) -> None:
    a = mo.replay(trace, "gcc", seed=1)
    b = mo.replay(
        trace, "gcc", seed=1, one_way_delay_ms=50, queue_ms=300, loss=0.0,
        feedback_interval_ms=50, feedback_loss=0.0, reverse_trace=None,
    )  # fmt: skip
    c = mo.replay(trace, "gcc", seed=1, network=mo.traces.DEFAULT_NETWORK)
    _same(a, b)
    _same(a, c)


def test_keywords_override_the_network(trace: mo.traces.Trace) -> None:
    net = Network(one_way_delay_ms=200.0, queue_ms=None)
    a = mo.replay(trace, "consult", network=net, one_way_delay_ms=20.0, queue_ms=300.0)
    b = mo.replay(trace, "consult", network=Network(one_way_delay_ms=20.0))
    _same(a, b)
    # the network's other fields still apply: an unlimited queue differs from 300 ms
    c = mo.replay(trace, "consult", network=net, one_way_delay_ms=20.0)
    assert c.metrics != b.metrics


def test_network_checks_every_field() -> None:
    with pytest.raises(mo.InputError, match="one_way_delay_ms"):
        Network(one_way_delay_ms=-1.0)
    with pytest.raises(mo.InputError, match="queue_ms"):
        Network(queue_ms=0.0)
    with pytest.raises(mo.InputError, match="loss"):
        Network(loss=1.5)
    with pytest.raises(mo.InputError, match="loss"):
        Network(loss="lots")  # type: ignore[arg-type]
    with pytest.raises(mo.InputError, match="feedback_interval_ms"):
        Network(feedback_interval_ms=0.5)
    with pytest.raises(mo.InputError, match="feedback_loss"):
        Network(feedback_loss=1.0)
    with pytest.raises(mo.InputError, match="reverse_trace"):
        Network(reverse_trace=42)  # type: ignore[arg-type]
    with pytest.raises(mo.InputError, match="jitter_ms: not a Network field"):
        Network().replace(jitter_ms=3)
    with pytest.raises(mo.InputError, match="network"):
        mo.replay(mo.traces.constant(800.0, 2.0), "gcc", network={"one_way_delay_ms": 10})  # type: ignore[arg-type]


def test_network_is_a_value() -> None:
    a = Network(one_way_delay_ms=10, loss=0.01)
    assert a == Network(one_way_delay_ms=10.0, loss=0.01)
    assert a.one_way_delay_ms == 10.0 and isinstance(a.one_way_delay_ms, float)
    assert hash(a) == hash(Network(one_way_delay_ms=10.0, loss=0.01))
    assert a.replace(loss=0.02) != a
    assert a.label == "delay=10ms,queue=300ms,loss=0.01"
    assert Network(name="rural").label == "rural"
    d = Network(
        loss=GilbertElliott(p_good_bad=0.01, p_bad_good=0.2), reverse_trace="x/up.csv"
    ).to_dict()
    assert d["loss"]["model"] == "GilbertElliott" and d["reverse_trace"] == "up.csv"
    assert set(d) == {
        "network", "one_way_delay_ms", "queue_ms", "loss", "reverse_trace",
        "feedback_interval_ms", "feedback_loss",
    }  # fmt: skip


def test_reverse_trace_by_path(tmp_path: object, trace: mo.traces.Trace) -> None:
    from pathlib import Path

    up = Path(str(tmp_path)) / "up.csv"
    rev = mo.traces.constant(600.0, 12.0, name="up")
    mo.traces.save(rev, up)
    a = mo.replay(trace, "consult", network=Network(reverse_trace=str(up)))
    b = mo.replay(trace, "consult", reverse_trace=mo.traces.load(up))
    _same(a, b)
    with pytest.raises(mo.InputError, match="reverse_trace"):
        mo.replay(trace, "consult", network=Network(reverse_trace=str(up) + ".missing"))
