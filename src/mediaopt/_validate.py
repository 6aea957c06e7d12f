"""Checks at the Python boundary, so the core can trust its typed inputs.

The checks themselves are compiled (``mediaopt._core._check``): the core's own ``def``
methods run the same code, so the Python API and the core accept the same values and word
their errors the same way. This module is where the rest of the package takes them from,
with the array type aliases the package annotates with. Each error is an
:class:`~mediaopt.errors.InputError` naming the argument and saying what is wrong with it.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mediaopt._core._check import (
    as_float64_array,
    as_int64_array,
    check_float,
    check_int,
    check_nondecreasing,
    check_same_length,
)
from mediaopt.errors import InputError, clip_repr

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]
Int32Array = npt.NDArray[np.int32]

__all__ = [
    "Float64Array",
    "Int32Array",
    "Int64Array",
    "as_float64_array",
    "as_int64_array",
    "check_float",
    "check_int",
    "check_nondecreasing",
    "check_same_length",
    "nesting_depth",
    "parse_json",
    "read_text_file",
]


# strings and comments, whose brackets do not nest: JSON strings; TOML's four string kinds
# and its comments (multi-line forms first so that they win over the one-line forms)
_JSON_OPAQUE = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_TOML_OPAQUE = re.compile(
    r'"""(?:[^\\]|\\.)*?(?:"""|\Z)|\'\'\'.*?(?:\'\'\'|\Z)|"(?:[^"\\\n]|\\.)*"?|\'[^\'\n]*\'?|#[^\n]*',
    re.DOTALL,
)
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


def nesting_depth(text: str, syntax: str) -> int:
    """Deepest nesting of ``[``/``{`` in JSON or TOML ``text``, outside strings and comments.

    A linear scan without recursion (regular expressions and one cumulative sum), run
    before a recursive parser sees the text, so a hostile file nested a million deep is
    refused by its depth instead of exhausting the stack. TOML table headers count as
    one level (``[[a]]`` as two), which only overestimates.
    """
    pattern = _JSON_OPAQUE if syntax == "json" else _TOML_OPAQUE
    bare = pattern.sub("", text).encode("utf-8", "replace")
    if not bare:
        return 0
    steps = _OPEN[np.frombuffer(bare, dtype=np.uint8)]
    if not steps.any():
        return 0
    return int(np.cumsum(steps, dtype=np.int64).max())


_UTF8_BOM = b"\xef\xbb\xbf"


def read_text_file(path: Path, *, max_bytes: int, what: str, limit_name: str) -> str:
    """Return a whole (small) file's text, checked before it is read.

    A missing file raises ``FileNotFoundError`` and a folder ``IsADirectoryError``; a FIFO
    or a device (which could block or never end), a file over ``max_bytes`` (named by
    ``limit_name`` in the message) or bytes that are not UTF-8 raise ``InputError`` naming
    the file (and the line of the bad byte). A UTF-8 byte-order mark is dropped.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such {what}") from None
    except ValueError:  # an embedded NUL byte in the name
        raise InputError(f"{clip_repr(str(path))}: not a usable file name") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a regular file")
    if st.st_size > max_bytes:
        raise InputError(
            f"{path}: {st.st_size} bytes, more than the {max_bytes} accepted ({limit_name})"
        )
    with open(path, "rb") as fh:
        # the size from stat, plus one byte to notice a file that grew meanwhile
        data = fh.read(st.st_size + 1)
    if len(data) > max_bytes:
        raise InputError(f"{path}: more than the {max_bytes} bytes accepted ({limit_name})")
    data = data.removeprefix(_UTF8_BOM)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x}); is this a {what}?"
        ) from None


def _json_int(text: str) -> float | int:
    # a JSON integer of any length: short ones as int, long ones as float (a huge one
    # becomes inf and is refused as not finite), never int() of thousands of digits
    return int(text) if len(text) <= 19 else float(text)


def _json_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


def parse_json(text: str, *, source: str, max_depth: int, limit_name: str) -> Any:
    """Parse JSON ``text`` with its nesting checked first; every problem an ``InputError``.

    ``NaN`` and ``Infinity`` (which Python's parser takes) are refused; integers too long
    to be a number anyone means become floats (and so infinity, refused by the caller's
    finiteness checks) instead of a slow or refused conversion.
    """
    depth = nesting_depth(text, "json")
    if depth > max_depth:
        raise InputError(
            f"{source}: JSON nested {depth} deep, more than the {max_depth} accepted ({limit_name})"
        )
    try:
        return json.loads(text, parse_int=_json_int, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{source}: invalid JSON ({clip_repr(str(exc))})") from None
