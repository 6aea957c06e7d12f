"""Loading policies: built-in names, TOML files and text.

A policy file is small (the built-ins are under 4 KB); :data:`MAX_POLICY_BYTES` and
:data:`MAX_POLICY_NESTING` bound what a file (or an overlay's base) may ask of the parser,
checked before it parses, and every problem is an ``InputError`` naming the file (and the
key or line).
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
from mediaopt.policies.model import POLICY_TABLES, Policy, diff, follow_floors
from mediaopt.policies.toml import dumps

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "MAX_OVERLAY_DEPTH",
    "MAX_POLICY_BYTES",
    "MAX_POLICY_NESTING",
    "load",
    "loads",
    "names",
    "overlay_toml",
    "resolve",
]

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


#: Longest chain of ``base = ...`` overlays one policy file may form.
MAX_OVERLAY_DEPTH = 8


def _parse(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text with its size and nesting checked first; only ``InputError``."""
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
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML ({clip_repr(str(exc))})") from None
    except (ValueError, RecursionError) as exc:
        # e.g. an integer of thousands of digits; the depth check makes recursion unlikely
        raise InputError(f"{source}: not valid TOML ({clip_repr(str(exc))})") from None


def _read_file(path: Path) -> str:
    """A policy file's text: a regular file, bounded, UTF-8 (a BOM is dropped later)."""
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


def _from_dict(data: dict[str, Any], source: str) -> Policy:
    try:
        return Policy.from_dict(data)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``overlay`` over ``base``: top-level values replace, tables merge key by key."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in overlay.items():
        if key in POLICY_TABLES and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key].update(value)
            if key == "profile":
                follow_floors(base[key], out[key], value)
        else:
            out[key] = value
    return out


def _with_base(
    data: dict[str, Any], source: str, folder: Path | None, chain: tuple[str, ...]
) -> dict[str, Any]:
    """Resolve ``base = ...`` (a built-in name or a file beside this one), recursively."""
    if "base" not in data:
        return data
    data = dict(data)
    base = data.pop("base")
    if not isinstance(base, str) or not base:
        raise InputError(f"{source}: base: expected a policy name or a TOML file, got {base!r}")
    if len(chain) >= MAX_OVERLAY_DEPTH:
        raise InputError(f"{source}: base: overlays nest deeper than {MAX_OVERLAY_DEPTH}")
    if base in names() and not (folder is not None and (folder / base).is_file()):
        key, text, parent_folder = f"builtin:{base}", _builtin_text(base), None
    else:
        path = Path(base) if folder is None or Path(base).is_absolute() else folder / base
        key = str(path.resolve())
        try:
            text = _read_file(path)
        except OSError as exc:
            raise InputError(
                f"{source}: base: cannot read {clip_repr(base)}: {exc.strerror or exc}"
            ) from None
        except InputError as exc:
            raise InputError(f"{source}: base: {exc}") from None
        parent_folder = path.parent
    if key in chain:
        raise InputError(f"{source}: base: {base!r} is its own base (a circle of overlays)")
    try:
        parsed = _parse(text, base)
    except InputError as exc:
        raise InputError(f"{source}: base: {exc}") from None
    parent = _with_base(parsed, base, parent_folder, (*chain, key))
    return _merge(parent, data)


def _as_toml_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_as_toml_value(v) for v in value]
    return value


def _builtin_text(name: str) -> str:
    text: str = _builtin_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return text


def loads(
    text: str, *, source: str = "policy", folder: str | os.PathLike[str] | None = None
) -> Policy:
    """Parse a policy from TOML text.

    A ``base = "consult"`` key makes the text an overlay: it holds only what differs from
    its base, a built-in name or a TOML file (relative to ``folder`` when given), which may
    itself be an overlay. Without ``base``, missing keys take the defaults (libwebrtc's
    numbers and the standard tier). An overlay without a ``name`` keeps its base's.
    """
    data = _parse(text, source)
    base_folder = None if folder is None else Path(folder)
    return _from_dict(_with_base(data, source, base_folder, ()), source)


def load(name_or_path: str | os.PathLike[str]) -> Policy:
    """Load a built-in policy by name (``gcc``, ``consult``, ``surgical``, ...) or a TOML file.

    A file with ``base = ...`` is an overlay (see :func:`loads`); one without a ``name`` is
    named after the file (``tuned-consult.toml`` gives ``tuned-consult``), so that two
    policies in a study never share a name by accident. A missing file raises
    ``FileNotFoundError``; anything wrong inside one, ``InputError`` naming the file and key.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise InputError(f"policy: expected a name or a path, got {clip_repr(name_or_path)}")
    text_name = os.fspath(name_or_path)
    if not isinstance(text_name, str):
        raise InputError(f"policy: expected a text path, got {clip_repr(text_name)}")
    if isinstance(name_or_path, str) and text_name in names():
        return loads(_builtin_text(text_name), source=text_name)
    path = Path(text_name)
    if path.suffix != ".toml" and not path.exists():
        raise InputError(
            f"policy: unknown policy {clip_repr(text_name)} (built-ins: {', '.join(names())})"
        )
    data = _parse(_read_file(path), str(path))
    if "base" in data and "name" not in data:
        data["name"] = path.stem
    chain = (str(path.resolve()),)
    return _from_dict(_with_base(data, str(path), path.parent, chain), str(path))


def overlay_toml(policy: Policy, base: str | Policy, *, header: str = "") -> str:
    """TOML for ``policy`` as an overlay of ``base``: ``base = ...`` and the fields that differ.

    ``base`` is a built-in name (or a path, written as given); ``header`` is written first
    as comment lines (provenance). :func:`load` of the text gives ``policy`` back.
    """
    base_policy = resolve(base)
    base_name = base if isinstance(base, str) else base.name
    changed = diff(base_policy, policy)
    top: dict[str, Any] = {"base": base_name}
    tables: dict[str, dict[str, Any]] = {}
    for key, _old, new in changed:
        table, _, field_name = key.rpartition(".")
        value = (
            [list(r) if isinstance(r, tuple) else r for r in new] if isinstance(new, tuple) else new
        )
        if table:
            tables.setdefault(table, {})[field_name] = value
        else:
            top[field_name] = value
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    body = dumps({**top, **tables})
    return ("\n".join(lines) + "\n" if lines else "") + body


def resolve(policy: Policy | str | os.PathLike[str]) -> Policy:
    """Return ``policy`` itself, or load it when it is a name or a path."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, (str, os.PathLike)):
        return load(policy)
    raise InputError(f"policy: expected a Policy, a name or a path, got {type(policy).__name__}")
