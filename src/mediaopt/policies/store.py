"""Loading policies: built-in names, TOML files and text."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from mediaopt.errors import InputError
from mediaopt.policies.model import Policy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["load", "loads", "names", "resolve"]


def _builtin_dir() -> Any:
    return resources.files("mediaopt.policies").joinpath("builtin")


def names() -> list[str]:
    """Names of the built-in policies, sorted."""
    return sorted(
        p.name[: -len(".toml")] for p in _builtin_dir().iterdir() if p.name.endswith(".toml")
    )


def loads(text: str, *, source: str = "policy") -> Policy:
    """Parse a policy from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML ({exc})") from None
    return Policy.from_dict(data)


def load(name_or_path: str | os.PathLike[str]) -> Policy:
    """Load a built-in policy by name (``gcc``, ``consult``, ``surgical``, ...) or a TOML file."""
    text_name = os.fspath(name_or_path)
    if isinstance(name_or_path, str) and text_name in names():
        text = _builtin_dir().joinpath(f"{text_name}.toml").read_text(encoding="utf-8")
        return loads(text, source=text_name)
    path = Path(text_name)
    if path.suffix != ".toml" and not path.exists():
        raise InputError(f"policy: unknown policy {text_name!r} (built-ins: {', '.join(names())})")
    return loads(path.read_text(encoding="utf-8"), source=str(path))


def resolve(policy: Policy | str | os.PathLike[str]) -> Policy:
    """Return ``policy`` itself, or load it when it is a name or a path."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, (str, os.PathLike)):
        return load(policy)
    raise InputError(f"policy: expected a Policy, a name or a path, got {type(policy).__name__}")
