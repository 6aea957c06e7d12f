"""``mediaopt info``: which compiled core is loaded and how it was built."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mediaopt._version import __version__
from mediaopt.cli.common import echo
from mediaopt.core import core_info


def register(sub: Any) -> None:
    """Add the ``info`` sub-command to ``sub`` (an argparse sub-parser collection)."""
    p = sub.add_parser("info", help="show the version and the compiled core in use")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the version and the core's build description."""
    info = core_info()
    if args.json:
        echo(json.dumps({"version": __version__, **info}, indent=2, sort_keys=True))
        return 0
    flavour = "debug" if info["debug"] else "release"
    echo(f"mediaopt {__version__}")
    echo(
        f"core: {'compiled' if info['compiled'] else 'NOT compiled'} ({flavour} build, "
        f"Cython {info['cython_version']}, line tracing {'on' if info['linetrace'] else 'off'})"
    )
    for name, path in info["modules"].items():
        echo(f"  {name:<16} {path}")
    return 0
