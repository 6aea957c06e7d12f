"""Where the recorded traces in the shared folder are, when they are present at all."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming a folder laid out like ``../shared/traces``.
TRACE_DIR_ENV = "MEDIAOPT_TRACE_DIR"


def shared_trace_dir() -> Path | None:
    """Return the recorded-trace folder, or None when it is absent.

    ``$MEDIAOPT_TRACE_DIR`` wins; otherwise ``../shared/traces`` relative to the current
    folder and to the source checkout are tried. The traces are read in place, never copied.
    """
    env = os.environ.get(TRACE_DIR_ENV)
    if env:
        p = Path(env)
        return p if p.is_dir() else None
    here = Path(__file__).resolve()
    candidates = [Path.cwd() / ".." / "shared" / "traces"]
    candidates += [parent / ".." / "shared" / "traces" for parent in here.parents]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None
