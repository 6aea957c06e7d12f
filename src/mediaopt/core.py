"""Which compiled core is loaded, and how it was built."""

from __future__ import annotations

import importlib
import importlib.machinery
from pathlib import Path
from typing import Any

from mediaopt._core import _build


def core_info() -> dict[str, Any]:
    """Describe the loaded compiled core.

    Returns a dict with ``compiled`` (True only for a native extension), ``debug`` (a
    ``MEDIAOPT_DEBUG_BUILD=1`` build), ``linetrace``, ``cython_version``, ``directives``
    and ``modules`` (each ``mediaopt._core`` extension module and the file it came from).
    """
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    core_dir = Path(_build.__file__ or "").parent
    modules: dict[str, str] = {}
    for f in sorted(core_dir.iterdir()):
        if f.name.endswith(suffixes):
            name = f.name.split(".", 1)[0]
            mod = importlib.import_module(f"mediaopt._core.{name}")
            modules[name] = str(Path(mod.__file__ or ""))
    build_file = str(_build.__file__ or "")
    return {
        "compiled": bool(_build.compiled()) and build_file.endswith(suffixes),
        "debug": bool(_build.DEBUG_BUILD),
        "linetrace": bool(_build.LINETRACE),
        "cython_version": _build.CYTHON_VERSION,
        "directives": dict(_build.DIRECTIVES),
        "modules": modules,
    }
