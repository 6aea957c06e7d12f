"""Atomic file writes: a failed or interrupted run never leaves half a file behind.

Every file mediaopt writes goes through here (``docs/reliability.md``, "Files"):

* the destination must be a regular file we create or replace: an existing symbolic link,
  folder, device, FIFO or socket is refused (``InputError``), and so is a read-only file,
  so nothing is ever written through a link or into a device, and nothing read-only is
  silently replaced (:func:`check_output`);
* the data go to a temporary file beside the destination, are flushed to disk and moved
  over it with one ``os.replace``; on any exception, ``KeyboardInterrupt`` included, the
  temporary file is removed and the destination is left as it was;
* temporary names carry a recognisable pattern, the host and the process id
  (``.NAME.HOST-PID-TOKEN.mediaopt-tmp``), so that one left by a killed process (SIGKILL
  leaves no chance to clean up) is ignored and removed by the next write into the same
  folder once that process is gone (:func:`clean_stale`);
* :func:`write_all` writes several files all or nothing: every file is staged first, and
  the renames run with SIGINT and SIGTERM held back until they are all done.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import signal
import socket
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from mediaopt.errors import InputError

__all__ = [
    "TEMP_SUFFIX",
    "atomic_path",
    "check_output",
    "clean_stale",
    "write_all",
    "write_bytes",
    "write_text",
]

#: Every temporary file mediaopt creates ends with this.
TEMP_SUFFIX = ".mediaopt-tmp"
_TEMP_RE = re.compile(r"^\..*\.([0-9a-f]{8})-([0-9]+)-[0-9a-f]+" + re.escape(TEMP_SUFFIX) + "$")
#: Longest file name most file systems take (bytes).
_NAME_MAX = 255
_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)
_cleaned: set[str] = set()


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _temp_name(dest_name: str) -> str:
    tail = f".{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
    stem = dest_name
    # keep the whole name within _NAME_MAX bytes: shorten the destination part if needed
    while len(f".{stem}{tail}".encode()) > _NAME_MAX:
        stem = stem[:-1]
    return f".{stem}{tail}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not ours to judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def clean_stale(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files left in ``folder`` by killed mediaopt processes of this host.

    Only names of mediaopt's own pattern whose process is gone are removed; a live
    process's temporary file, another host's, or any other file is never touched. Returns
    the files removed. Called by every write, once per folder and process.
    """
    removed: list[Path] = []
    host = _host_tag()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m is None or m.group(1) != host or _pid_alive(int(m.group(2))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _read_only(st: os.stat_result, path: Path) -> bool:
    if os.geteuid() == 0:
        # root may write anything: a file with no write bit at all was meant read-only
        return not st.st_mode & 0o222
    return not os.access(path, os.W_OK)


def check_output(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` can be written as a regular file; return it as a ``Path``.

    Refused with ``InputError``: an existing symbolic link, folder, device, FIFO or socket
    (mediaopt only creates or replaces regular files), a read-only existing file, and a
    folder that is not writable. A missing folder raises ``FileNotFoundError``.
    """
    dest = Path(path)
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        st = None
    except (OSError, ValueError) as exc:
        raise InputError(f"{dest}: cannot be written ({exc})") from None
    if st is not None:
        for test, kind in _KINDS:
            if test(st.st_mode):
                raise InputError(
                    f"{dest}: is {kind}; mediaopt writes only regular files it creates or "
                    "replaces (use - for standard output where a command offers it)"
                )
        if _read_only(st, dest):
            raise InputError(f"{dest}: is read-only; it is not replaced (remove it or chmod u+w)")
    parent = dest.parent if str(dest.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"{dest}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{dest}: folder {parent} is not writable")
    return dest


def _stage(dest: Path) -> Path:
    """Create an empty temporary file beside ``dest`` (exclusively, never through a link)."""
    parent = dest.parent if str(dest.parent) else Path(".")
    key = os.path.realpath(parent)
    if key not in _cleaned:
        clean_stale(parent)
        _cleaned.add(key)
    for _ in range(16):
        tmp = parent / _temp_name(dest.name)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{dest}: could not create a temporary file beside it")


def _finish(tmp: Path) -> None:
    """Flush ``tmp`` to disk and give it the usual umask-derived permissions."""
    with open(tmp, "rb+") as fh:
        fh.flush()
        os.fsync(fh.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it over ``path`` atomically.

    ``path`` is checked first (:func:`check_output`). The temporary file lives in the
    destination folder so the final ``os.replace`` never crosses file systems. On any
    exception (``KeyboardInterrupt`` included) the temporary file is removed and ``path``
    is left exactly as it was.
    """
    dest = check_output(path)
    tmp = _stage(dest)
    try:
        yield tmp
        _finish(tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (delivered on exit), in the main thread only."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def write_all(
    items: Sequence[tuple[str | os.PathLike[str], str | bytes]], done: list[Path] | None = None
) -> list[Path]:
    """Write several files all or nothing; return their paths.

    Every destination is checked and every file staged (written to its temporary file and
    flushed) before any is moved into place; an exception or interrupt while staging
    leaves every destination as it was and no temporary file. The moves themselves run
    with SIGINT and SIGTERM held back, so an interrupt lands after all of them. (Only a
    failing rename, such as the folder vanishing, can leave some moved and some not; the
    error then says which were written.) ``done``, when given, receives each path as it
    is moved into place, while the signals are still held.
    """
    dests = [check_output(p) for p, _ in items]
    staged: list[Path] = []
    try:
        for dest, (_, data) in zip(dests, items, strict=True):
            tmp = _stage(dest)
            staged.append(tmp)
            if isinstance(data, str):
                tmp.write_text(data, encoding="utf-8")
            else:
                tmp.write_bytes(data)
            _finish(tmp)
    except BaseException:
        for tmp in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise
    done = [] if done is None else done
    with _signals_held():
        try:
            for tmp, dest in zip(staged, dests, strict=True):
                os.replace(tmp, dest)
                done.append(dest)
        except OSError as exc:
            for tmp in staged[len(done) :]:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            written = ", ".join(map(str, done)) or "none"
            raise OSError(f"{exc} (written before the failure: {written})") from exc
    return done
