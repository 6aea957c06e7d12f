"""Call-quality regression checks: compare a metrics table with stored golden results.

A *matrix* is a mapping ``"<trace>/<policy>" -> {metric: value}``. Golden matrices are small
JSON files kept in the repository; :func:`compare` reports every key metric that moved
beyond its tolerance, and :func:`format_diff` renders those as a before/after table. The
tolerances are stated here, once, so that a reviewer sees exactly what "unchanged" means.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mediaopt._atomic import write_text
from mediaopt.errors import InputError

Matrix = Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class Tolerance:
    """How far a metric may move before it counts as a regression: ``abs`` or ``rel``.

    A change is within tolerance when ``|new - old| <= max(abs_tol, rel_tol * |old|)``.
    """

    abs_tol: float
    rel_tol: float = 0.0

    def allows(self, old: float, new: float) -> bool:
        """True when ``new`` is within tolerance of ``old``."""
        if math.isnan(old) or math.isnan(new):
            return math.isnan(old) and math.isnan(new)
        return abs(new - old) <= max(self.abs_tol, self.rel_tol * abs(old)) + 1e-12


#: The key metrics guarded in CI and their tolerances (see docs/metrics.md for definitions).
KEY_METRICS: dict[str, Tolerance] = {
    "frame_delay_p95_ms": Tolerance(abs_tol=10.0, rel_tol=0.10),
    "freeze_ratio": Tolerance(abs_tol=0.01),
    "quality_mean": Tolerance(abs_tol=0.3),
    "utilization": Tolerance(abs_tol=0.03),
    "usable_ratio": Tolerance(abs_tol=0.02),
}


@dataclass(frozen=True)
class Change:
    """One key metric of one matrix cell that moved beyond its tolerance (or went missing)."""

    cell: str
    metric: str
    old: float | None
    new: float | None


def compare(
    golden: Matrix, current: Matrix, keys: Mapping[str, Tolerance] = KEY_METRICS
) -> list[Change]:
    """Return every key-metric change beyond tolerance, cells added or removed included."""
    changes: list[Change] = []
    for cell in sorted(set(golden) | set(current)):
        old_row, new_row = golden.get(cell), current.get(cell)
        for metric, tol in keys.items():
            old = None if old_row is None else old_row.get(metric)
            new = None if new_row is None else new_row.get(metric)
            if old is None or new is None:
                if old is not None or new is not None:
                    changes.append(Change(cell, metric, old, new))
                continue
            if not tol.allows(float(old), float(new)):
                changes.append(Change(cell, metric, float(old), float(new)))
    return changes


def format_diff(changes: list[Change]) -> str:
    """Render changes as a readable before/after table."""
    if not changes:
        return "no key metric moved beyond its tolerance"
    w = max(len(c.cell) for c in changes)
    lines = [f"{'cell':<{w}}  {'metric':<20} {'golden':>12} {'now':>12} {'change':>10}"]
    for c in changes:
        old = "missing" if c.old is None else f"{c.old:.4g}"
        new = "missing" if c.new is None else f"{c.new:.4g}"
        delta = "" if c.old is None or c.new is None else f"{c.new - c.old:+.4g}"
        lines.append(f"{c.cell:<{w}}  {c.metric:<20} {old:>12} {new:>12} {delta:>10}")
    return "\n".join(lines)


def load_golden(path: str | os.PathLike[str]) -> dict[str, dict[str, float]]:
    """Read a golden matrix from JSON (an empty matrix when the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return {}
    data = json.loads(p.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("cells"), dict):
        raise InputError(f"{p}: not a golden metrics file (expected an object with 'cells')")
    return {str(k): {str(m): float(v) for m, v in row.items()} for k, row in data["cells"].items()}


def save_golden(path: str | os.PathLike[str], matrix: Matrix) -> None:
    """Write a golden matrix to JSON atomically, keeping only the key metrics, sorted."""
    cells = {
        cell: {
            m: round(float(matrix[cell][m]), 6) for m in sorted(KEY_METRICS) if m in matrix[cell]
        }
        for cell in sorted(matrix)
    }
    body = {
        "about": "golden call-quality metrics; accept intended changes with --update-golden",
        "tolerances": {m: {"abs": t.abs_tol, "rel": t.rel_tol} for m, t in KEY_METRICS.items()},
        "cells": cells,
    }
    write_text(path, json.dumps(body, indent=1, sort_keys=True) + "\n")
