"""Checks at the Python boundary, so the core can trust its typed inputs.

Every public entry point that hands arrays or numbers to ``mediaopt._core`` goes through
these helpers; each error names the argument and says what is wrong with it.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mediaopt._core._check import first_out_of_range
from mediaopt.errors import InputError, clip_repr

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]
Int32Array = npt.NDArray[np.int32]

_INT64_MIN = int(np.iinfo(np.int64).min)
_INT64_MAX = int(np.iinfo(np.int64).max)


def as_int64_array(
    name: str,
    values: Any,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
    allow: Sequence[int] = (),
) -> Int64Array:
    """Return ``values`` as a C-contiguous 1-D int64 array, or raise ``InputError``.

    Integer inputs of any width are widened; float inputs are accepted only when every
    element is finite and integral (so ``1.5`` or NaN never become a silent truncation).
    Booleans, strings and objects are refused. ``min_value``/``max_value`` bound every
    element except those listed in ``allow`` (for example the ``LOST`` marker ``-1``).
    An input that is already a C-contiguous 1-D int64 array is returned as is (no copy).
    """
    if (
        type(values) is np.ndarray
        and values.dtype == np.int64
        and values.ndim == 1
        and values.flags.c_contiguous
        and len(allow) <= 1
    ):
        # fast path for per-report calls: one compiled pass instead of numpy reductions
        lo = _INT64_MIN if min_value is None else min_value
        hi = _INT64_MAX if max_value is None else max_value
        i = first_out_of_range(values, lo, hi, bool(allow), allow[0] if allow else 0)
        if i >= 0:
            bad = int(values[i])
            if bad < lo:
                raise InputError(f"{name}: value {bad} is below the minimum {min_value}")
            raise InputError(f"{name}: value {bad} is above the maximum {max_value}")
        return values
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind in "iu":
        if kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            raise InputError(f"{name}: values exceed the int64 range")
        out = np.ascontiguousarray(arr, dtype=np.int64)
    elif kind == "f":
        if arr.size and not np.all(np.isfinite(arr)):
            raise InputError(f"{name}: contains NaN or infinity")
        if arr.size and not np.all(arr == np.round(arr)):
            raise InputError(f"{name}: expected integers, got fractional values")
        if arr.size and (arr.max() > 2.0**62 or arr.min() < -(2.0**62)):
            raise InputError(f"{name}: values exceed the int64 range")
        out = np.ascontiguousarray(arr, dtype=np.int64)
    elif arr.size == 0 and kind in "O":
        out = np.zeros(0, dtype=np.int64)
    else:
        raise InputError(f"{name}: expected an integer array, got dtype {arr.dtype}")
    if out.size and (min_value is not None or max_value is not None):
        mask = np.ones(out.shape, dtype=bool)
        for a in allow:
            mask &= out != a
        vals = out[mask]
        if vals.size:
            if min_value is not None and int(vals.min()) < min_value:
                bad = int(vals.min())
                raise InputError(f"{name}: value {bad} is below the minimum {min_value}")
            if max_value is not None and int(vals.max()) > max_value:
                bad = int(vals.max())
                raise InputError(f"{name}: value {bad} is above the maximum {max_value}")
    return out


def as_float64_array(
    name: str,
    values: Any,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
) -> Float64Array:
    """Return ``values`` as a C-contiguous 1-D float64 array of finite numbers in range."""
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    out = np.ascontiguousarray(arr, dtype=np.float64)
    if out.size:
        if not np.all(np.isfinite(out)):
            raise InputError(f"{name}: contains NaN or infinity")
        if min_value is not None and float(out.min()) < min_value:
            raise InputError(f"{name}: value {float(out.min())} is below the minimum {min_value}")
        if max_value is not None and float(out.max()) > max_value:
            raise InputError(f"{name}: value {float(out.max())} is above the maximum {max_value}")
    return out


def check_same_length(**arrays: npt.NDArray[Any]) -> int:
    """Raise ``ValueError`` unless every array has the same length; return that length."""
    it = iter(arrays.values())
    first = next(it, None)
    if first is None:
        return 0
    n = len(first)
    if all(len(v) == n for v in it):
        return n
    listed = ", ".join(f"{k}={len(v)}" for k, v in arrays.items())
    raise InputError(f"arrays must have the same length, got {listed}")


def check_nondecreasing(name: str, arr: npt.NDArray[Any]) -> None:
    """Raise ``ValueError`` at the first element smaller than the one before it."""
    if arr.size > 1:
        d = np.diff(arr)
        if np.any(d < 0):
            i = int(np.argmax(d < 0)) + 1
            raise InputError(f"{name}: not non-decreasing at index {i} ({arr[i - 1]} -> {arr[i]})")


def check_int(
    name: str, value: Any, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """Return ``value`` as an ``int`` (integral numbers only) within bounds, or raise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise InputError(f"{name}: expected an integer, got {value!r}")
    if isinstance(value, (float, np.floating)) and (
        not math.isfinite(value) or value != int(value)
    ):
        raise InputError(f"{name}: expected an integer, got {value!r}")
    ivalue = int(value)
    if min_value is not None and ivalue < min_value:
        raise InputError(f"{name}: {ivalue} is below the minimum {min_value}")
    if max_value is not None and ivalue > max_value:
        raise InputError(f"{name}: {ivalue} is above the maximum {max_value}")
    return ivalue


def check_float(
    name: str, value: Any, *, min_value: float | None = None, max_value: float | None = None
) -> float:
    """Return ``value`` as a finite ``float`` within bounds, or raise ``InputError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name}: expected a number, got {value!r}")
    fvalue = float(value)
    if not math.isfinite(fvalue):
        raise InputError(f"{name}: must be finite, got {value!r}")
    if min_value is not None and fvalue < min_value:
        raise InputError(f"{name}: {fvalue} is below the minimum {min_value}")
    if max_value is not None and fvalue > max_value:
        raise InputError(f"{name}: {fvalue} is above the maximum {max_value}")
    return fvalue


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
