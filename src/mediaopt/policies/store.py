"""Loading policies: built-in names, TOML files and text.

A policy file is small (the built-ins are under 4 KB); :data:`MAX_POLICY_BYTES` and
:data:`MAX_POLICY_NESTING` bound what a file may ask of the parser, checked before it
parses, and every problem is an ``InputError`` naming the file (and the key or line).
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from mediaopt._validate import nesting_depth
from mediaopt.errors import InputError, clip_repr
from mediaopt.policies.model import Policy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["MAX_POLICY_BYTES", "MAX_POLICY_NESTING", "load", "loads", "names", "resolve"]

#: Largest policy file (or text) read, in bytes.
MAX_POLICY_BYTES = 1 << 20
#: Deepest nesting of TOML arrays and inline tables (a policy's tables nest 3 deep).
MAX_POLICY_NESTING = 16

_BOM = "\ufeff"


def _builtin_dir() -> Any:
    return resources.files("mediaopt.policies").joinpath("builtin")


def names() -> list[str]:
    """Names of the built-in policies, sorted."""
    return sorted(
        p.name[: -len(".toml")] for p in _builtin_dir().iterdir() if p.name.endswith(".toml")
    )


def loads(text: str, *, source: str = "policy") -> Policy:
    """Parse a policy from TOML text; ``source`` names it in every error."""
    if not isinstance(text, str):
        raise InputError(f"{source}: expected TOML text, got {type(text).__name__}")
    if len(text) > MAX_POLICY_BYTES:
        raise InputError(
            f"{source}: {len(text)} characters, more than a policy may hold "
            f"({MAX_POLICY_BYTES}, MAX_POLICY_BYTES)"
        )
    text = text.removeprefix(_BOM)
    depth = nesting_depth(text, "toml")
    if depth > MAX_POLICY_NESTING:
        raise InputError(
            f"{source}: TOML nested {depth} deep, more than the {MAX_POLICY_NESTING} accepted "
            "(MAX_POLICY_NESTING)"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML ({clip_repr(str(exc))})") from None
    except (ValueError, RecursionError) as exc:
        # e.g. an integer of thousands of digits; the depth check makes recursion unlikely
        raise InputError(f"{source}: not valid TOML ({clip_repr(str(exc))})") from None
    try:
        return Policy.from_dict(data)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None


def _read_file(path: Path) -> str:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path)) from None
    except ValueError:  # an embedded NUL byte in the name
        raise InputError(f"{clip_repr(str(path))}: not a usable file name") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{path}: is a folder, not a policy file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a regular file")
    if st.st_size > MAX_POLICY_BYTES:
        raise InputError(
            f"{path}: {st.st_size} bytes, larger than a policy may be "
            f"({MAX_POLICY_BYTES}, MAX_POLICY_BYTES)"
        )
    with open(path, "rb") as fh:
        data = fh.read(MAX_POLICY_BYTES + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})") from None


def load(name_or_path: str | os.PathLike[str]) -> Policy:
    """Load a built-in policy by name (``gcc``, ``consult``, ``surgical``, ...) or a TOML file.

    A missing file raises ``FileNotFoundError``; anything wrong inside one, ``InputError``
    naming the file and the key.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise InputError(f"policy: expected a name or a path, got {clip_repr(name_or_path)}")
    text_name = os.fspath(name_or_path)
    if not isinstance(text_name, str):
        raise InputError(f"policy: expected a text path, got {clip_repr(text_name)}")
    if isinstance(name_or_path, str) and text_name in names():
        text = _builtin_dir().joinpath(f"{text_name}.toml").read_text(encoding="utf-8")
        return loads(text, source=text_name)
    path = Path(text_name)
    if path.suffix != ".toml" and not path.exists():
        raise InputError(
            f"policy: unknown policy {clip_repr(text_name)} (built-ins: {', '.join(names())})"
        )
    return loads(_read_file(path), source=str(path))


def resolve(policy: Policy | str | os.PathLike[str]) -> Policy:
    """Return ``policy`` itself, or load it when it is a name or a path."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, (str, os.PathLike)):
        return load(policy)
    raise InputError(f"policy: expected a Policy, a name or a path, got {type(policy).__name__}")
