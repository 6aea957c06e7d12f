"""One-pass range checks for the Python boundary (used by ``mediaopt._validate``).

Checking an int64 array with numpy reductions costs several microseconds per array, which
dominates a per-report call such as ``GccEstimator.on_feedback`` on 32 packets. One typed
pass without the GIL costs nanoseconds.
"""

from libc.stdint cimport int64_t


class InputError(ValueError):
    """Bad input: the message names the file and line, the argument or the policy key.

    Every loader and public function of mediaopt raises this (and nothing else) for input
    it cannot use; the command line turns it into one line on stderr and exit status 2.
    It is a ``ValueError``, so code that catches ``ValueError`` keeps working. It lives in
    the compiled core so that the core can raise it without importing the package above.
    """


cdef Py_ssize_t _first_out_of_range(const int64_t[::1] x, int64_t lo, int64_t hi,
                                    bint has_allowed, int64_t allowed) noexcept nogil:
    cdef Py_ssize_t i
    cdef int64_t v
    for i in range(x.shape[0]):
        v = x[i]
        if (v < lo or v > hi) and not (has_allowed and v == allowed):
            return i
    return -1


def first_out_of_range(const int64_t[::1] x, int64_t lo, int64_t hi,
                       bint has_allowed=False, int64_t allowed=0):
    """Index of the first element outside ``[lo, hi]`` (except ``allowed``), or -1."""
    cdef Py_ssize_t i
    with nogil:
        i = _first_out_of_range(x, lo, hi, has_allowed, allowed)
    return i


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
