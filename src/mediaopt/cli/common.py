"""What every command family shares: one-line errors, safe outputs, a quiet broken pipe.

* :class:`UsageError`: a problem the user can fix, printed as one line, exit status 2.
* Outputs (``docs/reliability.md``, "Files and the command line"): every option that
  names a file to write goes through :func:`output` when the command starts (before any
  work) and every command writes through :func:`write_outputs`. ``-`` means standard
  output; anything else must be a regular file we create or replace (a symbolic link,
  device, FIFO, folder or read-only file is refused, exit 2); two outputs on one path are
  refused (:func:`check_distinct`). The files are written all or nothing
  (:func:`mediaopt._atomic.write_all`).
* :func:`echo` prints to standard output and survives a reader that went away
  (``mediaopt replay ... | head``): the rest of the run goes on, its files are still
  written, and nothing more is printed to the closed pipe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mediaopt import _atomic
from mediaopt.errors import InputError

__all__ = [
    "STDOUT",
    "Output",
    "Terminated",
    "UsageError",
    "check_distinct",
    "drop_stdout",
    "echo",
    "output",
    "stdout_closed",
    "write_outputs",
]

#: The file name that means standard output.
STDOUT = "-"


class UsageError(Exception):
    """A problem with the user's input: reported in one line, exit status 2."""


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so that cleanups run as for Ctrl-C."""


@dataclass(frozen=True)
class Output:
    """One output a command will write: a checked file path, or standard output."""

    flag: str  #: the option that named it (for messages), e.g. ``--csv``
    spec: str  #: what the user wrote
    path: Path | None  #: the file, or None for standard output

    @property
    def is_stdout(self) -> bool:
        """True when this output goes to standard output."""
        return self.path is None

    def __str__(self) -> str:
        return "standard output" if self.path is None else str(self.path)


def output(flag: str, spec: str | os.PathLike[str], *, allow_stdout: bool = True) -> Output:
    """Check an output option now, before any work; return where it will be written.

    ``-`` is standard output (unless ``allow_stdout`` is False, for outputs that cannot
    be a stream). Anything else must be writable as a regular file
    (:func:`mediaopt._atomic.check_output`); every refusal is a ``UsageError`` naming the
    option and the path.
    """
    text = os.fspath(spec)
    if text == STDOUT:
        if not allow_stdout:
            raise UsageError(f"{flag}: cannot write to standard output; give a file name")
        return Output(flag, text, None)
    if not text:
        raise UsageError(f"{flag}: empty file name")
    try:
        path = _atomic.check_output(text)
    except (InputError, OSError) as exc:
        raise UsageError(f"{flag} {exc}") from None
    return Output(flag, text, path)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    ra = Path(os.path.realpath(a.parent)) / a.name
    rb = Path(os.path.realpath(b.parent)) / b.name
    return ra == rb


def check_distinct(outputs: Sequence[Output | None]) -> None:
    """Refuse two outputs on one path (or both on standard output): ``UsageError``."""
    given = [o for o in outputs if o is not None]
    for i, a in enumerate(given):
        for b in given[i + 1 :]:
            if a.is_stdout and b.is_stdout:
                raise UsageError(f"{a.flag} and {b.flag}: both go to standard output")
            if a.path is not None and b.path is not None and _same_file(a.path, b.path):
                raise UsageError(f"{a.flag} and {b.flag}: both name {a.path}")


def write_outputs(
    items: Sequence[tuple[Output, str | bytes]], done: list[Path] | None = None
) -> list[str]:
    """Write every output: the files all or nothing, then standard output; name them.

    Returns what was written (paths, and ``standard output``), for the command's
    ``wrote ...`` line. ``done``, when given, receives each file as it is moved into
    place (so a caller can tell an interrupt before the files from one after them).
    """
    files = [(o.path, data) for o, data in items if o.path is not None]
    written = [str(p) for p in _atomic.write_all(files, done)]
    for o, data in items:
        if o.is_stdout:
            if isinstance(data, bytes):
                _write_stdout_bytes(data)
            else:
                echo(data, end="")
            written.append(str(o))
    return written


_closed = False


def stdout_closed() -> bool:
    """True once standard output's reader went away (later output is dropped)."""
    return _closed


def drop_stdout() -> None:
    """Point standard output at /dev/null so that nothing (not even exit) fails on it.

    Called when standard output's reader went away (a broken pipe).
    """
    global _closed
    _closed = True
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def echo(text: str = "", *, end: str = "\n", file: TextIO | None = None) -> None:
    """Print ``text`` to standard output (or ``file``); a closed pipe ends the printing only."""
    stream = sys.stdout if file is None else file
    if stream is sys.stdout and _closed:
        return
    try:
        stream.write(text + end)
        stream.flush()
    except BrokenPipeError:
        if stream is sys.stdout:
            drop_stdout()


def _write_stdout_bytes(data: bytes) -> None:
    if _closed:
        return
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        drop_stdout()


def reset_stdout_state() -> None:
    """Forget a closed pipe (for tests that run several commands in one process)."""
    global _closed
    _closed = False
