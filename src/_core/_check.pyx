"""The boundary checks, compiled: every argument a public entry point hands the core.

One definition serves both floors: the core's ``def`` methods call the ``cdef`` forms
(declared in ``_check.pxd``) and ``mediaopt._validate`` re-exports the ``def`` forms, so the
Python API and the core accept the same values and word their errors the same way. Every
error is an :class:`InputError` that names the argument; a Python ``int`` outside the range
a check allows (int64 unless wider bounds are given) is an ``InputError`` too, never an
``OverflowError`` from a later conversion.

Checking an int64 array with numpy reductions costs microseconds per array, which would
dominate a per-report call such as ``GccEstimator.on_feedback``; the int64 fast paths here
read the array's buffer in one typed pass instead.
"""

cimport cython
from cpython.buffer cimport (
    PyBUF_FORMAT, PyBUF_STRIDES, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer,
)
from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.math cimport INFINITY, isfinite
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t

import math

import numpy as np


class InputError(ValueError):
    """Bad input: the message names the file and line, the argument or the policy key.

    Every loader and public function of mediaopt raises this (and nothing else) for input
    it cannot use; the command line turns it into one line on stderr and exit status 2.
    It is a ``ValueError``, so code that catches ``ValueError`` keeps working. It lives in
    the compiled core so that the core can raise it without importing the package above.
    """


cdef object _ndarray = np.ndarray
cdef object _np_integer = np.integer
cdef object _np_floating = np.floating
cdef object _INT64_MIN = INT64_MIN
cdef object _INT64_MAX = INT64_MAX


# ------------------------------------------------------------------------------ scalars

cdef object _integral(str name, object value):
    # The value as a Python int: integers of any kind, or integral finite floats. Booleans,
    # strings and other objects are refused.
    if type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(
            value, (int, _np_integer, float, _np_floating)):
        raise InputError(f"{name}: expected an integer, got {value!r}")
    if isinstance(value, (float, _np_floating)) and (
            not math.isfinite(value) or value != int(value)):
        raise InputError(f"{name}: expected an integer, got {value!r}")
    return int(value)


cdef int64_t int_arg(str name, object value, int64_t min_value=INT64_MIN,
                     int64_t max_value=INT64_MAX) except? -1:
    cdef int overflow = 0
    cdef long long v
    iv = _integral(name, value)
    v = PyLong_AsLongLongAndOverflow(iv, &overflow)
    if overflow > 0:
        if max_value < INT64_MAX:
            raise InputError(f"{name}: {iv} is above the maximum {max_value}")
        raise InputError(f"{name}: {iv} is outside the int64 range")
    if overflow < 0:
        if min_value > INT64_MIN:
            raise InputError(f"{name}: {iv} is below the minimum {min_value}")
        raise InputError(f"{name}: {iv} is outside the int64 range")
    if v < min_value:
        raise InputError(f"{name}: {v} is below the minimum {min_value}")
    if v > max_value:
        raise InputError(f"{name}: {v} is above the maximum {max_value}")
    return v


cdef double _finite(str name, object value) except? -1.0:
    cdef double f
    if type(value) is float:
        f = value
    elif isinstance(value, bool) or not isinstance(
            value, (int, float, _np_integer, _np_floating)):
        raise InputError(f"{name}: expected a number, got {value!r}")
    else:
        try:
            f = float(value)
        except OverflowError:
            # an int too large for a double is not a finite number either
            raise InputError(f"{name}: must be finite, got {value!r}") from None
    if not isfinite(f):
        raise InputError(f"{name}: must be finite, got {value!r}")
    return f


cdef double float_arg(str name, object value, double min_value=-INFINITY,
                      double max_value=INFINITY) except? -1.0:
    cdef double f = _finite(name, value)
    if f < min_value:
        raise InputError(f"{name}: {f} is below the minimum {min_value}")
    if f > max_value:
        raise InputError(f"{name}: {f} is above the maximum {max_value}")
    return f


def check_int(name, value, *, min_value=None, max_value=None):
    """Return ``value`` as an ``int`` (integral numbers only) within bounds, or raise.

    Without a bound the int64 range applies on that side; explicit bounds may be wider
    (a ``uint64`` seed, for example).
    """
    iv = _integral(name, value)
    if min_value is not None and iv < min_value:
        raise InputError(f"{name}: {iv} is below the minimum {min_value}")
    if max_value is not None and iv > max_value:
        raise InputError(f"{name}: {iv} is above the maximum {max_value}")
    if (min_value is None and iv < _INT64_MIN) or (max_value is None and iv > _INT64_MAX):
        raise InputError(f"{name}: {iv} is outside the int64 range")
    return iv


def check_float(name, value, *, min_value=None, max_value=None):
    """Return ``value`` as a finite ``float`` within bounds, or raise ``InputError``."""
    fvalue = _finite(name, value)
    if min_value is not None and fvalue < min_value:
        raise InputError(f"{name}: {fvalue} is below the minimum {min_value}")
    if max_value is not None and fvalue > max_value:
        raise InputError(f"{name}: {fvalue} is above the maximum {max_value}")
    return fvalue


# ------------------------------------------------------------------------------- arrays

cdef bint int64_buffer(object values, Py_buffer* view) except -1:
    # True when ``values`` exports a 1-D, contiguous, native int64 buffer; ``view`` then
    # holds it and the caller releases it. False (nothing held) for anything else.
    cdef const char* fmt
    if not PyObject_CheckBuffer(values):
        return False
    try:
        PyObject_GetBuffer(values, view, PyBUF_FORMAT | PyBUF_STRIDES)
    except (BufferError, TypeError, ValueError):
        return False
    fmt = view.format
    if fmt != NULL and (fmt[0] == b'@' or fmt[0] == b'='):
        fmt += 1
    if (view.ndim == 1 and view.itemsize == 8 and fmt != NULL
            and (fmt[0] == b'l' or fmt[0] == b'q') and fmt[1] == 0
            and (view.shape[0] <= 1 or view.strides[0] == 8)):
        return True
    PyBuffer_Release(view)
    return False


@cython.boundscheck(False)
cdef Py_ssize_t first_out_of_range(const int64_t* x, Py_ssize_t n, int64_t lo, int64_t hi,
                                   bint has_allowed, int64_t allowed) noexcept nogil:
    cdef Py_ssize_t i
    cdef int64_t v
    for i in range(n):
        v = x[i]
        if (v < lo or v > hi) and not (has_allowed and v == allowed):
            return i
    return -1


cdef int64_t _clamp64(object bound, int64_t default):
    # A Python bound as an int64 bound: None is the default, wider bounds saturate.
    if bound is None:
        return default
    if bound <= _INT64_MIN:
        return INT64_MIN
    if bound >= _INT64_MAX:
        return INT64_MAX
    return bound


def as_int64_array(name, values, *, min_value=None, max_value=None, allow=()):
    """Return ``values`` as a C-contiguous 1-D int64 array, or raise ``InputError``.

    Integer inputs of any width are widened; float inputs are accepted only when every
    element is finite and integral (so ``1.5`` or NaN never become a silent truncation).
    Booleans, strings and objects are refused. ``min_value``/``max_value`` bound every
    element except those listed in ``allow`` (for example the ``LOST`` marker ``-1``).
    An input that is already a C-contiguous 1-D int64 array is returned as is (no copy).
    """
    cdef Py_buffer view
    cdef Py_ssize_t i
    cdef int64_t lo, hi, allowed = 0
    cdef bint has_allowed = False
    if type(values) is _ndarray and len(allow) <= 1 and int64_buffer(values, &view):
        # fast path for per-report calls: one compiled pass instead of numpy reductions
        try:
            lo = _clamp64(min_value, INT64_MIN)
            hi = _clamp64(max_value, INT64_MAX)
            if len(allow):
                has_allowed = True
                allowed = allow[0]
            with nogil:
                i = first_out_of_range(<const int64_t*>view.buf, view.shape[0], lo, hi,
                                       has_allowed, allowed)
        finally:
            PyBuffer_Release(&view)
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
        if kind == "u" and arr.size and int(arr.max()) > INT64_MAX:
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


def as_float64_array(name, values, *, min_value=None, max_value=None):
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


def check_same_length(**arrays):
    """Raise ``InputError`` unless every array has the same length; return that length."""
    it = iter(arrays.values())
    first = next(it, None)
    if first is None:
        return 0
    n = len(first)
    if all(len(v) == n for v in it):
        return n
    listed = ", ".join(f"{k}={len(v)}" for k, v in arrays.items())
    raise InputError(f"arrays must have the same length, got {listed}")


@cython.boundscheck(False)
cdef Py_ssize_t first_decrease(const int64_t* x, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(1, n):
        if x[i] < x[i - 1]:
            return i
    return -1


def check_nondecreasing(name, arr):
    """Raise ``InputError`` at the first element smaller than the one before it."""
    cdef Py_buffer view
    cdef Py_ssize_t i = -1
    if int64_buffer(arr, &view):
        try:
            with nogil:
                i = first_decrease(<const int64_t*>view.buf, view.shape[0])
        finally:
            PyBuffer_Release(&view)
    elif arr.size > 1:
        d = np.diff(arr)
        if np.any(d < 0):
            i = int(np.argmax(d < 0)) + 1
    if i > 0:
        raise InputError(f"{name}: not non-decreasing at index {i} ({arr[i - 1]} -> {arr[i]})")


# clip_repr: everything from here on (kept at the end of the file, one block)
import reprlib

_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3
_SHORT.maxstring = 60
_SHORT.maxother = 60


def clip_repr(value, Py_ssize_t limit=120):
    """``repr(value)`` cut to at most ``limit`` characters, for error messages.

    Safe on hostile input: a long string or bytes value is cut before it is quoted (so a
    gigabyte line costs ``limit`` characters, not a gigabyte), and an integer too long for
    Python's decimal conversion limit is described by its size instead of raising.
    """
    cdef str text
    if limit < 8:
        limit = 8
    if isinstance(value, (str, bytes, bytearray)):
        text = repr(value[: limit + 1])
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * limit:
        # more digits than could be shown; converting them may even raise (PEP 651 limits)
        text = f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    else:
        try:
            # containers: reprlib shows the first few items, whatever the size or depth
            text = _SHORT.repr(value) if isinstance(value, (list, tuple, dict, set)) else repr(value)
        except Exception:
            text = f"<unprintable {type(value).__name__}>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text
