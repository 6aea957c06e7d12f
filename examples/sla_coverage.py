"""Coverage of mediaopt.sla's pooled-availability lower bound, by simulation.

Prints the table in docs/sla.md ("How good the bound is"): for each scenario and number of
calls, the share of simulated fleets whose one-sided 95 % lower bound lies at or below the
true availability (nominal: 0.95), for mediaopt's bound, for Clopper-Pearson treating every
second as independent, and for a percentile bootstrap over calls.

    python examples/sla_coverage.py [REPS]
"""

from __future__ import annotations

import sys

import numpy as np

from mediaopt import sla

LENGTH_S = 600.0


def simulate(rng, n, share, burst_s):
    """Unusable seconds per call: Poisson episodes of geometric length (mean burst_s)."""
    c = np.full(n, LENGTH_S)
    episodes = rng.poisson(share * LENGTH_S / burst_s)
    bad = np.array([rng.geometric(1.0 / burst_s, e).sum() if e else 0 for e in episodes])
    return c - np.minimum(bad, c), c


SCENARIOS = {
    "independent 1e-3": (lambda r, n: np.full(n, 1e-3), 1.0, 1e-3),
    "bursts of 10 s, 2e-3": (lambda r, n: np.full(n, 2e-3), 10.0, 2e-3),
    "bursts of 30 s, 5e-4": (lambda r, n: np.full(n, 5e-4), 30.0, 5e-4),
    "calls differ (Beta)": (lambda r, n: r.beta(0.3, 300, n), 5.0, 0.3 / 300.3),
    "1 call in 10 bad": (
        lambda r, n: np.where(r.random(n) < 0.1, 0.02, 2e-4),
        20.0,
        0.1 * 0.02 + 0.9 * 2e-4,
    ),
    "3 % of calls 30 % bad": (lambda r, n: np.where(r.random(n) < 0.03, 0.3, 0.0), 60.0, 0.009),
}


def main(reps: int) -> None:
    rng = np.random.default_rng(14)
    print("| scenario | calls | mediaopt | seconds independent | bootstrap over calls |")
    print("|---|---:|---:|---:|---:|")
    for name, (share_of, burst_s, unavail) in SCENARIOS.items():
        truth = 1.0 - unavail
        for n in (10, 40, 200, 1000):
            hits = np.zeros(3)
            for _ in range(reps):
                u, c = simulate(rng, n, share_of(rng, n), burst_s)
                x, total = float((c - u).sum()), float(c.sum())
                naive = 1 - sla._beta_ppf(0.95, x + 1, total - x)
                idx = rng.integers(0, n, (400, n))
                boot = float(np.quantile(u[idx].sum(1) / c[idx].sum(1), 0.05))
                hits += np.array([sla.lower_bound(u, c), naive, boot]) <= truth
            cov = hits / reps
            print(f"| {name} | {n} | {cov[0]:.3f} | {cov[1]:.3f} | {cov[2]:.3f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
