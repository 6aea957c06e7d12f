"""The ``mediaopt`` command line: one sub-command family per module.

Each family lives in its own module (``mediaopt.cli.<name>``) that defines
``register(subparsers)``; this module only dispatches. Errors the user can fix (a bad
file, an unknown policy, a bad value, an output that is not a regular file) are printed
as one line and exit with status 2. SIGINT exits with status 130 and SIGTERM with 143,
both after removing the temporary files of a write in progress; a reader that closes
standard output early (``| head``) ends the printing quietly (``mediaopt.cli.common``).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from mediaopt._version import __version__
from mediaopt.cli import info, monitor, policies, profile, replay, study, traces
from mediaopt.cli.common import Terminated, UsageError, drop_stdout, echo
from mediaopt.errors import clip_repr

#: Sub-command modules, in the order ``mediaopt --help`` lists them.
COMMAND_MODULES = (info, traces, policies, replay, study, profile, monitor)

__all__ = ["COMMAND_MODULES", "Terminated", "UsageError", "build_parser", "main"]


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`Terminated` (and ``finally`` runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


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
        with _sigterm_raises():
            status = args.func(args)
    except (UsageError, ValueError, OSError, KeyError) as exc:
        if isinstance(exc, BrokenPipeError):
            drop_stdout()  # nothing more, not even the flush at exit, may fail on it
            return 141  # the reader of standard output went away: stop quietly
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        # one line, whatever the message holds
        line = " ".join(str(msg).split())
        if len(line) > 2000:
            line = clip_repr(line, 2000)
        echo(f"mediaopt {args.command}: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        why = f"; {exc.args[0]}" if exc.args else ""
        echo(f"mediaopt {args.command}: interrupted{why}", file=sys.stderr)
        return 130
    except Terminated as exc:
        why = f"; {exc.args[0]}" if exc.args else ""
        echo(f"mediaopt {args.command}: terminated{why}", file=sys.stderr)
        return 143
    return int(status or 0)
