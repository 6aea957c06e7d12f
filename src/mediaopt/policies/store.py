"""Loading policies: built-in names, TOML files and text."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from mediaopt.errors import InputError
from mediaopt.policies.model import POLICY_TABLES, Policy, diff, follow_floors
from mediaopt.policies.toml import dumps

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["MAX_OVERLAY_DEPTH", "load", "loads", "names", "overlay_toml", "resolve"]


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
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML ({exc})") from None


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
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"{source}: base: cannot read {base!r}: {exc.strerror or exc}"
            ) from None
        parent_folder = path.parent
    if key in chain:
        raise InputError(f"{source}: base: {base!r} is its own base (a circle of overlays)")
    parent = _with_base(_parse(text, base), base, parent_folder, (*chain, key))
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
    return Policy.from_dict(_with_base(data, source, base_folder, ()))


def load(name_or_path: str | os.PathLike[str]) -> Policy:
    """Load a built-in policy by name (``gcc``, ``consult``, ``surgical``, ...) or a TOML file.

    A file with ``base = ...`` is an overlay (see :func:`loads`); one without a ``name`` is
    named after the file (``tuned-consult.toml`` gives ``tuned-consult``), so that two
    policies in a study never share a name by accident.
    """
    text_name = os.fspath(name_or_path)
    if isinstance(name_or_path, str) and text_name in names():
        return loads(_builtin_text(text_name), source=text_name)
    path = Path(text_name)
    if path.suffix != ".toml" and not path.exists():
        raise InputError(f"policy: unknown policy {text_name!r} (built-ins: {', '.join(names())})")
    data = _parse(path.read_text(encoding="utf-8"), str(path))
    if "base" in data and "name" not in data:
        data["name"] = path.stem
    return Policy.from_dict(_with_base(data, str(path), path.parent, (str(path.resolve()),)))


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
