"""The ``mediaopt`` command line: one sub-command family per module.

Each family lives in its own module (``mediaopt.cli.<name>``) that defines
``register(subparsers)``; this module only dispatches. Errors the user can fix (a bad
file, an unknown policy, a bad value) are printed as one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mediaopt._version import __version__
from mediaopt.cli import info, monitor, policies, profile, replay, study, traces
from mediaopt.cli.common import UsageError

#: Sub-command modules, in the order ``mediaopt --help`` lists them.
COMMAND_MODULES = (info, traces, policies, replay, study, profile, monitor)

__all__ = ["COMMAND_MODULES", "UsageError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Return the full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="mediaopt",
        description="Media-path optimisation for real-time video on weak networks.",
    )
    parser.add_argument("--version", action="version", version=f"mediaopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # the command line as given, for provenance (mediaopt study's manifest)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        status = args.func(args)
    except (UsageError, ValueError, FileNotFoundError, IsADirectoryError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"mediaopt {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mediaopt: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)
