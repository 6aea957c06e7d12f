"""``import mediaopt`` against ``import numpy`` (its own first dependency), fresh processes.

numpy is most of the cost of ``import mediaopt`` and the floor nothing can go under, so
the figure is the ratio of the two, each the best of several fresh interpreters started
alternately (load drift hits both alike), plus mediaopt's own share in milliseconds.
Issue 11's target: ``import mediaopt`` <= 0.15 s, and no pandas/matplotlib/PyAV (checked
in tests/test_layout.py). Smoke mode: 3 rounds, mediaopt's own share under 0.5 s.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import smoke

_TIMER = "import time; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t)"


def _import_seconds(module: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMER.format(mod=module)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def _best_pair(rounds: int) -> tuple[float, float]:
    best_mo = best_np = float("inf")
    for _ in range(rounds):
        best_np = min(best_np, _import_seconds("numpy"))
        best_mo = min(best_mo, _import_seconds("mediaopt"))
    return best_mo, best_np


@pytest.mark.hot_path
def test_import_time_vs_numpy(benchmark):
    rounds = 3 if smoke() else 10
    mo_s, np_s = benchmark.pedantic(_best_pair, args=(rounds,), rounds=1, iterations=1)
    own_s = mo_s - np_s
    benchmark.extra_info.update(
        {
            "import_mediaopt_s": mo_s,
            "import_numpy_s": np_s,
            "mediaopt_own_s": own_s,
            "ratio_vs_numpy": mo_s / np_s,
            "target_s": 0.15,
        }
    )
    print(
        f"\nimport mediaopt {mo_s * 1e3:.0f} ms, import numpy {np_s * 1e3:.0f} ms, "
        f"mediaopt's own {own_s * 1e3:.0f} ms ({mo_s / np_s:.2f}x numpy)"
    )
    assert own_s < 0.5
