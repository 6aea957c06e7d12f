"""Synthetic traces: constant, steps, RFC 8867 schedules, a cellular-like random process.

Every random generator takes a ``seed`` and draws from ``numpy.random.default_rng(seed)``:
the same arguments give the same trace, bit for bit. The bundled traces in
``mediaopt/traces/data/`` are made by :func:`write_bundled` (``mediaopt traces bundle DIR``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from mediaopt._validate import check_float, check_int
from mediaopt.errors import InputError
from mediaopt.traces.formats import load, write_csv, write_mahimahi
from mediaopt.traces.model import Trace

#: RFC 8867 capacity schedules: case -> (steps as (start s, kbit/s), duration s).
#: 5.1 "Variable Available Capacity with a Single Flow"; 5.2 "... with Multiple Flows";
#: 5.3 "Congested Feedback Link with Bi-directional Media Flows", forward and backward path.
RFC8867_SCHEDULES: dict[str, tuple[tuple[tuple[float, float], ...], float]] = {
    "5.1": (((0, 1000), (40, 2500), (60, 600), (80, 1000)), 100.0),
    "5.2": (((0, 4000), (25, 2000), (50, 3500), (75, 1000), (100, 2000)), 125.0),
    "5.3-forward": (((0, 2000), (20, 1000), (40, 500), (60, 2000)), 100.0),
    "5.3-backward": (((0, 2000), (35, 800), (70, 2000)), 100.0),
}


def constant(kbps: float, duration_s: float = 60.0, *, name: str | None = None) -> Trace:
    """Return a link of constant capacity ``kbps`` for ``duration_s`` (looped by the Link)."""
    k = check_float("kbps", kbps, min_value=0.0)
    d = check_float("duration_s", duration_s, min_value=0.001)
    if k <= 0:
        raise InputError("kbps: a constant trace needs a positive capacity")
    return Trace.from_capacity(
        [0.0], [k], d, name=name or f"constant-{k:g}kbps", source="generated"
    )


def steps(
    schedule: Sequence[tuple[float, float]],
    duration_s: float,
    *,
    name: str = "steps",
    loss: Sequence[float] | None = None,
    delay_ms: Sequence[float] | None = None,
) -> Trace:
    """Return a piecewise-constant capacity: ``[(start_s, kbps), ...]`` starting at 0 s."""
    sched = list(schedule)
    if not sched:
        raise InputError("schedule: needs at least one (start_s, kbps) step")
    try:
        t = [float(s) for s, _ in sched]
        k = [float(v) for _, v in sched]
    except (TypeError, ValueError):
        raise InputError("schedule: expected (start_s, kbps) pairs") from None
    d = check_float("duration_s", duration_s, min_value=0.001)
    return Trace.from_capacity(t, k, d, name=name, loss=loss, delay_ms=delay_ms, source="generated")


def rfc8867(case: str = "5.1") -> Trace:
    """Return the RFC 8867 capacity schedule ``case``: "5.1", "5.2", "5.3-forward", "5.3-backward".

    ``"5.3"`` means the forward path. The RFC's other conditions (one-way delay 50 ms,
    queue 300 ms) are Link arguments: ``Link(tr, one_way_delay_ms=50, queue_ms=300)``.
    """
    key = "5.3-forward" if case == "5.3" else case
    if key not in RFC8867_SCHEDULES:
        raise InputError(f"case: expected one of {sorted(RFC8867_SCHEDULES)}, got {case!r}")
    sched, dur = RFC8867_SCHEDULES[key]
    return steps(sched, dur, name=f"rfc8867-{key}")


def cellular(
    mean_kbps: float = 1500.0,
    duration_s: float = 120.0,
    *,
    seed: int = 0,
    step_s: float = 0.1,
    sigma: float = 0.6,
    correlation_s: float = 2.0,
    fade_rate_per_min: float = 2.0,
    fade_mean_s: float = 2.0,
    fade_depth: float = 0.1,
    min_kbps: float = 0.0,
    max_kbps: float | None = None,
    name: str | None = None,
) -> Trace:
    """Return a cellular-like capacity: a log-normal AR(1) process with occasional deep fades.

    The log-capacity follows an AR(1) process with standard deviation ``sigma`` and
    correlation time ``correlation_s``, normalised so its mean is ``mean_kbps``. Fades
    (handovers, tunnels) start as a Poisson process (``fade_rate_per_min``), last an
    exponential time (mean ``fade_mean_s``) and scale the capacity by ``fade_depth``.
    """
    m = check_float("mean_kbps", mean_kbps, min_value=1.0)
    d = check_float("duration_s", duration_s, min_value=0.1)
    st = check_float("step_s", step_s, min_value=0.001, max_value=d)
    check_float("sigma", sigma, min_value=0.0, max_value=5.0)
    check_float("correlation_s", correlation_s, min_value=1e-3)
    check_float("fade_depth", fade_depth, min_value=0.0, max_value=1.0)
    check_float("fade_rate_per_min", fade_rate_per_min, min_value=0.0)
    check_float("fade_mean_s", fade_mean_s, min_value=1e-3)
    s = check_int("seed", seed, min_value=0)
    rng = np.random.default_rng(s)
    n = max(1, round(d / st))
    rho = float(np.exp(-st / correlation_s))
    noise = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = sigma * noise[0]
    innov = sigma * np.sqrt(1.0 - rho * rho)
    for i in range(1, n):
        x[i] = rho * x[i - 1] + innov * noise[i]
    cap = np.exp(x - 0.5 * sigma * sigma)
    # fades: Poisson starts, exponential lengths
    faded = np.zeros(n, dtype=bool)
    t = rng.exponential(60.0 / fade_rate_per_min) if fade_rate_per_min > 0 else d
    while t < d:
        length = rng.exponential(fade_mean_s)
        a, b = int(t / st), int(min(d, t + length) / st) + 1
        faded[a:b] = True
        t += length + rng.exponential(60.0 / fade_rate_per_min)
    cap = np.where(faded, cap * fade_depth, cap)
    cap = cap * (m / max(float(cap.mean()), 1e-12))
    cap = np.maximum(cap, min_kbps)
    if max_kbps is not None:
        cap = np.minimum(cap, max_kbps)
    cap = np.round(cap, 3)
    times = np.arange(n) * st
    return Trace.from_capacity(
        np.round(times, 6),
        cap,
        n * st,
        name=name or f"cellular-{m:g}kbps-seed{s}",
        source="generated",
    )


def wifi_congested(
    mean_kbps: float = 2000.0,
    duration_s: float = 60.0,
    *,
    seed: int = 0,
    step_s: float = 0.5,
    loss_mean: float = 0.02,
    delay_ms_mean: float = 20.0,
    name: str | None = None,
) -> Trace:
    """Return congested shared Wi-Fi: a jumpy capacity with loss and extra-delay columns."""
    m = check_float("mean_kbps", mean_kbps, min_value=1.0)
    d = check_float("duration_s", duration_s, min_value=0.5)
    st = check_float("step_s", step_s, min_value=0.01, max_value=d)
    s = check_int("seed", seed, min_value=0)
    rng = np.random.default_rng(s)
    n = max(1, round(d / st))
    # contention: each step the share left to us is a Beta draw; sometimes the AP stalls
    share = rng.beta(2.0, 2.0, n)
    stall = rng.random(n) < 0.05
    cap = np.where(stall, 0.05, share) * 2.0 * m
    loss = np.clip(rng.exponential(loss_mean, n), 0.0, 0.3)
    delay = np.round(rng.exponential(delay_ms_mean, n), 1)
    return Trace.from_capacity(
        np.round(np.arange(n) * st, 6),
        np.round(cap, 3),
        n * st,
        name=name or f"wifi-congested-seed{s}",
        loss=np.round(loss, 4),
        delay_ms=delay,
        source="generated",
    )


#: The bundled synthetic traces: file name -> how it is made (seeded, deterministic).
def _bundled_specs() -> dict[str, Trace]:
    return {
        "bus-3g-weak.down": cellular(
            700.0,
            60.0,
            seed=1,
            sigma=0.8,
            fade_rate_per_min=4.0,
            fade_depth=0.05,
            name="bus-3g-weak",
        ),
        "rural-4g.csv": cellular(
            2500.0, 120.0, seed=2, sigma=0.5, fade_rate_per_min=1.0, name="rural-4g"
        ),
        "lte-driving-like.csv": cellular(
            4600.0,
            120.0,
            seed=3,
            sigma=0.7,
            correlation_s=1.0,
            fade_rate_per_min=3.0,
            name="lte-driving-like",
        ),
        "hospital-wifi-congested.csv": wifi_congested(
            1500.0, 60.0, seed=4, name="hospital-wifi-congested"
        ),
        "constant-1mbps.down": constant(1000.0, 12.032, name="constant-1mbps"),
    }


def write_bundled(folder: str | os.PathLike[str]) -> list[Path]:
    """(Re)generate the bundled synthetic traces into ``folder``; return the files written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fname, tr in _bundled_specs().items():
        p = out / fname
        if fname.endswith(".csv"):
            write_csv(tr, p)
        else:
            write_mahimahi(tr, p)
        written.append(p)
    return written


_SUFFIXES = (".down", ".up", ".csv", ".json")


def bundled() -> dict[str, Trace]:
    """Return the small synthetic traces shipped with mediaopt, by name (docs/formats.md)."""
    folder = resources.files("mediaopt.traces") / "data"
    out: dict[str, Trace] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.is_file() or entry.name.startswith("."):
            continue
        name = entry.name
        for suf in _SUFFIXES:
            if name.endswith(suf):
                name = name[: -len(suf)]
                break
        with resources.as_file(entry) as path:
            out[name] = load(path).renamed(name)
    return out
