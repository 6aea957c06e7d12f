"""The cost of crossing into the core from Python, per call, against a plain Python call.

A live client hands ``GccEstimator.on_feedback`` one transport-feedback report at a time,
so its per-call cost is the boundary (argument checks, copies) as much as the estimator.
The peer is the cheapest thing Python can do with the same four arguments: call a plain
Python function ``f(send_us, arrival_us, size_bytes, now_us)`` that returns at once,
timed in the same process, interleaved round by round so both see the same machine load.
Targets on the 2-core reference machine (issue 11): at most 1.5 µs for a one-packet report
and 2.5 µs for a 32-packet one; the required ratios below are those times over a plain
call there (about 0.06 µs). The smoke lane checks the ratio five times looser.

The same file checks that the public classes built on the compiled ones in Python
(``mediaopt.Link``, ``mediaopt.Adaptation``) add nothing measurable per call: their
per-call cost over the compiled class driven directly stays within 10 % (smoke lane: 2x).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from conftest import smoke
from mediaopt._core import adaptation as core_adaptation
from mediaopt._core import link as core_link

import mediaopt as mo

# (packets per report, target µs per call, required ratio to a plain 4-argument call)
CASES = {1: (1.5, 25.0), 32: (2.5, 40.0)}
SMOKE_LOOSENESS = 5.0
REPORTS = 2_000


def plain(send_us: Any, arrival_us: Any, size_bytes: Any, now_us: Any) -> None:
    """The peer: a Python function of four arguments that does nothing."""


def _reports(packets: int, n: int = REPORTS) -> list[tuple[Any, ...]]:
    # a paced 1200-byte stream over a 30 ms path with a little jitter and loss, cut into
    # reports of `packets` packets, each its own array views (as a client hands them in)
    rng = np.random.default_rng(packets)
    m = packets * n
    send = np.cumsum(rng.integers(800, 1_200, m)).astype(np.int64)
    arrival = send + 30_000 + rng.integers(0, 2_000, m)
    arrival[rng.random(m) < 0.01] = -1
    size = np.full(m, 1200, dtype=np.int64)
    out = []
    for i in range(n):
        s = slice(i * packets, (i + 1) * packets)
        now = int(send[s][-1]) + 40_000
        out.append((send[s], arrival[s], size[s], now))
    return out


def _per_call(fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]]) -> float:
    t0 = time.perf_counter()
    for args in calls:
        fn(*args)
    return (time.perf_counter() - t0) / len(calls)


def _per_call_after_warmup(calls: Sequence[tuple[Any, ...]], warm: int, window: int) -> float:
    """Per-call seconds of ``on_feedback`` over ``calls[warm:warm + window]``.

    A fresh estimator takes the first ``warm`` reports untimed, so the timed window sees a
    running estimator; the window is short so that on a shared machine some rounds run
    without being descheduled (the best round is the one kept).
    """
    est = mo.GccEstimator()
    feed = est.on_feedback
    for args in calls[:warm]:
        feed(*args)
    return _per_call(feed, calls[warm : warm + window])


@pytest.mark.hot_path
@pytest.mark.parametrize("packets", sorted(CASES))
def test_bench_on_feedback_per_call(benchmark: Any, packets: int) -> None:
    target_us, required = CASES[packets]
    calls = _reports(packets, 500 if smoke() else REPORTS)

    def run() -> None:
        est = mo.GccEstimator()
        for args in calls:
            est.on_feedback(*args)

    benchmark.pedantic(run, rounds=1 if smoke() else 20, iterations=1)
    warm, window = len(calls) // 2, 100
    est_s = plain_s = float("inf")
    for r in range(10 if smoke() else 200):
        # the two sides in turn, on the same reports, so both see the same machine load
        w = warm + (r * window) % (len(calls) - warm - window + 1)
        est_s = min(est_s, _per_call_after_warmup(calls, w, window))
        plain_s = min(plain_s, _per_call(plain, calls[w : w + window]))
    ratio = est_s / plain_s
    benchmark.extra_info.update(
        {
            "packets_per_report": packets,
            "on_feedback_us": est_s * 1e6,
            "plain_call_us": plain_s * 1e6,
            "ratio_vs_plain_call": ratio,
            "target_us": target_us,
            "required_ratio": required,
        }
    )
    print(
        f"\non_feedback, {packets} packets: {est_s * 1e6:.3f} us per call, plain call "
        f"{plain_s * 1e6:.3f} us, ratio {ratio:.1f} (required <= {required:.0f})"
    )
    limit = required * (SMOKE_LOOSENESS if smoke() else 1.0)
    assert ratio <= limit, f"on_feedback is {ratio:.1f}x a plain call (> {limit:.0f}x)"


def _paired(
    make_a: Callable[[], Callable[..., Any]],
    make_b: Callable[[], Callable[..., Any]],
    calls: Sequence[tuple[Any, ...]],
    rounds: int,
) -> tuple[float, float, float]:
    """Best per-call seconds of each side and the median ratio a/b of back-to-back rounds.

    Each side is built afresh outside its timed loop; the order alternates per round, so
    a pair sees the same machine load and neither side always runs first.
    """
    best_a, best_b, ratios = float("inf"), float("inf"), []
    for r in range(rounds):
        if r % 2:
            b = _per_call(make_b(), calls)
            a = _per_call(make_a(), calls)
        else:
            a = _per_call(make_a(), calls)
            b = _per_call(make_b(), calls)
        best_a, best_b = min(best_a, a), min(best_b, b)
        ratios.append(a / b)
    return best_a, best_b, float(np.median(ratios))


@pytest.mark.hot_path
def test_bench_public_classes_add_nothing_per_call(benchmark: Any) -> None:
    n = 500 if smoke() else 5_000
    tr = mo.traces.constant(2_000, 60)
    public_link = mo.Link(tr, one_way_delay_ms=20, queue_ms=200, seed=1)
    c = public_link.config
    send = np.arange(n, dtype=np.int64) * 5_000
    size = np.full(n, 1000, dtype=np.int64)
    link_calls = [(send[i : i + 1], size[i : i + 1]) for i in range(n)]

    def bare_link() -> Callable[..., Any]:
        link = core_link.Link(
            c.opportunities_us, c.period_us, queue_kind=c.queue_kind,
            limit_bytes=c.limit_bytes, delay_us=c.delay_us, seed=c.seed,
        )  # fmt: skip
        return link.transmit

    def pub_link() -> Callable[..., Any]:
        return mo.Link(tr, one_way_delay_ms=20, queue_ms=200, seed=1).transmit

    rounds = 9 if smoke() else 31
    rng = np.random.default_rng(0)
    ad_calls = [
        (float(r), 0.0, 50_000, i * 50_000)
        for i, r in enumerate(rng.uniform(2e5, 3e6, 5 * n).round())
    ]
    kernel = mo.policies.build_core(mo.policies.load("consult"), 1280, 720, 30.0)

    def bare_ad() -> Callable[..., Any]:
        kernel.reset()
        return core_adaptation.Adaptation(kernel).update

    def pub_ad() -> Callable[..., Any]:
        return mo.Adaptation("consult").update

    benchmark.pedantic(lambda: _per_call(pub_link(), link_calls), rounds=1, iterations=1)
    link_pub, link_bare, link_ratio = _paired(pub_link, bare_link, link_calls, rounds)
    ad_pub, ad_bare, ad_ratio = _paired(pub_ad, bare_ad, ad_calls, rounds)
    benchmark.extra_info.update(
        {
            "link_transmit_public_us": link_pub * 1e6,
            "link_transmit_compiled_us": link_bare * 1e6,
            "link_ratio": link_ratio,
            "adaptation_update_public_us": ad_pub * 1e6,
            "adaptation_update_compiled_us": ad_bare * 1e6,
            "adaptation_ratio": ad_ratio,
        }
    )
    print(
        f"\nLink.transmit (1 packet) {link_pub * 1e6:.3f} us vs compiled {link_bare * 1e6:.3f} us;"
        f" Adaptation.update {ad_pub * 1e6:.3f} us vs compiled {ad_bare * 1e6:.3f} us"
    )
    limit = 2.0 if smoke() else 1.10
    assert link_ratio <= limit, f"Link.transmit: the public class costs {link_ratio:.2f}x"
    assert ad_ratio <= limit, f"Adaptation.update: the public class costs {ad_ratio:.2f}x"
