"""A search space as data: which policy fields a tuning run may change, and over what range.

A space maps dotted policy keys (``Policy.flat()``) to a dimension:

* a range of numbers, ``{ low = 0.5, high = 10.0 }``, optionally ``log = true`` (sampled
  on a log scale) and, for integer fields, ``step = 1000``; an integer field samples
  integers, a float field floats;
* a choice, ``{ choices = ["balanced", "maintain-resolution"] }``, for any field (strings,
  booleans, numbers, table rows).

In TOML it is a ``[search]`` table (keys quoted, since they contain dots)::

    [search]
    "adaptation.up_dwell_s" = { low = 0.5, high = 10.0, log = true }
    "adaptation.degradation" = { choices = ["balanced", "maintain-resolution"] }
    "max_bps" = { low = 800000, high = 2500000, step = 100000 }

Every key must be a field of the base policy; every bound and every choice is checked by
building the policy with it (so an out-of-range ``high`` is an error naming the key before
any trial runs). The space is independent of the optimiser; :func:`suggest` turns one
Optuna trial into policy overrides.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediaopt.errors import InputError
from mediaopt.policies import Policy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["Dimension", "SearchSpace", "load_space", "suggest"]

#: Most dimensions one space may have (a guard against a runaway generated file).
MAX_DIMENSIONS = 64
#: Most choices one categorical dimension may list.
MAX_CHOICES = 256


@dataclass(frozen=True)
class Dimension:
    """One searched field: a numeric range (``low``, ``high``, ``log``, ``step``) or ``choices``."""

    key: str
    kind: str  # "int", "float" or "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The dimension as plain data (the ``[search]`` entry that describes it)."""
        if self.kind == "choice":
            return {"choices": [_plain(c) for c in self.choices]}
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out


@dataclass(frozen=True)
class SearchSpace:
    """The dimensions of a tuning run, checked against a base policy."""

    dimensions: tuple[Dimension, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The searched dotted keys, in the order given."""
        return tuple(d.key for d in self.dimensions)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The space as the ``[search]`` table that describes it."""
        return {d.key: d.to_dict() for d in self.dimensions}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: Policy) -> SearchSpace:
        """Check ``data`` (dotted key -> dimension table) against ``base`` and build the space."""
        if not isinstance(data, Mapping):
            raise InputError(f"search: expected a table of dotted keys, got {type(data).__name__}")
        if not data:
            raise InputError("search: the space is empty (name at least one field)")
        if len(data) > MAX_DIMENSIONS:
            raise InputError(f"search: at most {MAX_DIMENSIONS} dimensions, got {len(data)}")
        fields = base.flat()
        dims = tuple(_dimension(key, spec, fields, base) for key, spec in data.items())
        return cls(dims)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _check_value(base: Policy, key: str, value: Any, what: str) -> None:
    try:
        base.with_overrides({key: value})
    except InputError as exc:
        raise InputError(f"search.{key}: {what} {value!r} is not a valid value ({exc})") from None


def _dimension(key: Any, spec: Any, fields: Mapping[str, Any], base: Policy) -> Dimension:
    if not isinstance(key, str) or key not in fields:
        raise InputError(f"search.{key}: unknown key (not a field of policy {base.name!r})")
    if key == "name":
        raise InputError("search.name: the policy's name is not a tunable field")
    if not isinstance(spec, Mapping):
        raise InputError(f"search.{key}: expected a table such as {{ low = ..., high = ... }}")
    allowed = {"choices"} if "choices" in spec else {"low", "high", "log", "step"}
    extra = sorted(set(spec) - allowed)
    if extra:
        raise InputError(f"search.{key}: unexpected {extra[0]!r} (allowed: {sorted(allowed)})")
    current = fields[key]
    if "choices" in spec:
        raw = spec["choices"]
        if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)) or not raw:
            raise InputError(f"search.{key}: choices must be a non-empty list")
        if len(raw) > MAX_CHOICES:
            raise InputError(f"search.{key}: at most {MAX_CHOICES} choices")
        choices = tuple(_freeze(c) for c in raw)
        if len(set(map(repr, choices))) != len(choices):
            raise InputError(f"search.{key}: choices repeat")
        for c in choices:
            _check_value(base, key, c, "choice")
        return Dimension(key, "choice", choices=choices)
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise InputError(
            f"search.{key}: a {type(current).__name__} field takes choices = [...], not a range"
        )
    if "low" not in spec or "high" not in spec:
        raise InputError(f"search.{key}: a range needs both low and high")
    low, high = (
        _number(f"search.{key}.low", spec["low"]),
        _number(f"search.{key}.high", spec["high"]),
    )
    if not low < high:
        raise InputError(f"search.{key}: low {low:g} must be below high {high:g}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise InputError(f"search.{key}.log: expected true or false, got {log!r}")
    if log and low <= 0:
        raise InputError(f"search.{key}: a log range needs low > 0, got {low:g}")
    is_int = isinstance(current, int)
    step = None
    if "step" in spec:
        step = _number(f"search.{key}.step", spec["step"])
        if step <= 0 or (is_int and not step.is_integer()):
            raise InputError(
                f"search.{key}.step: expected a positive {'integer' if is_int else 'number'}"
            )
        if log:
            raise InputError(f"search.{key}: step and log cannot be combined (Optuna's rule)")
    if is_int:
        if not (low.is_integer() and high.is_integer()):
            raise InputError(f"search.{key}: an integer field needs integer low and high")
        for bound, what in ((int(low), "low"), (int(high), "high")):
            _check_value(base, key, bound, what)
        return Dimension(key, "int", low=int(low), high=int(high), log=log,
                         step=None if step is None else int(step))  # fmt: skip
    for fbound, what in ((low, "low"), (high, "high")):
        _check_value(base, key, fbound, what)
    return Dimension(key, "float", low=low, high=high, log=log, step=step)


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def load_space(source: Mapping[str, Any] | str | os.PathLike[str], base: Policy) -> SearchSpace:
    """A space from a dict, or from a TOML file's ``[search]`` table (or a file of only it)."""
    if isinstance(source, Mapping):
        data: Any = source.get("search", source) if "search" in source else source
        return SearchSpace.from_dict(data, base)
    path = Path(os.fspath(source))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the search space: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    if "search" not in doc:
        raise InputError(f"{path}: no [search] table")
    try:
        return SearchSpace.from_dict(doc["search"], base)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def suggest(trial: Any, space: SearchSpace) -> dict[str, Any]:
    """Ask an Optuna ``trial`` for one point of ``space``: the policy overrides it names."""
    out: dict[str, Any] = {}
    for d in space.dimensions:
        if d.kind == "choice":
            if all(isinstance(c, (str, bool, int, float)) for c in d.choices):
                out[d.key] = trial.suggest_categorical(d.key, list(d.choices))
            else:
                # Optuna stores only plain scalars: table rows are chosen by index
                i = trial.suggest_categorical(d.key, list(range(len(d.choices))))
                out[d.key] = d.choices[int(i)]
        elif d.kind == "int":
            assert d.low is not None and d.high is not None
            out[d.key] = trial.suggest_int(
                d.key, int(d.low), int(d.high), step=int(d.step or 1), log=d.log
            )
        else:
            assert d.low is not None and d.high is not None
            out[d.key] = trial.suggest_float(d.key, d.low, d.high, step=d.step, log=d.log)
    return out
