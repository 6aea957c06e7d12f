"""How the compiled core was built: flavour, Cython version, compiler directives."""

cdef extern from *:
    """
    #ifndef MEDIAOPT_DEBUG_BUILD
    #define MEDIAOPT_DEBUG_BUILD 0
    #endif
    #ifndef MEDIAOPT_CYTHON_VERSION
    #define MEDIAOPT_CYTHON_VERSION "unknown"
    #endif
    #ifndef CYTHON_TRACE_NOGIL
    #define MEDIAOPT_LINETRACE 0
    #else
    #define MEDIAOPT_LINETRACE CYTHON_TRACE_NOGIL
    #endif
    """
    int MEDIAOPT_DEBUG_BUILD
    const char* MEDIAOPT_CYTHON_VERSION
    int MEDIAOPT_LINETRACE

cimport cython

from mediaopt._core._types cimport time_us_t, bytes_t, bps_t, ratio_t

#: True when this module came from a ``MEDIAOPT_DEBUG_BUILD=1`` build.
DEBUG_BUILD = bool(MEDIAOPT_DEBUG_BUILD)
#: True when line tracing was compiled in (debug builds only).
LINETRACE = bool(MEDIAOPT_LINETRACE)
#: The Cython version that generated the C code.
CYTHON_VERSION = MEDIAOPT_CYTHON_VERSION.decode("ascii")
#: Directives that differ between the release and debug flavours.
DIRECTIVES = {
    "boundscheck": DEBUG_BUILD,
    "initializedcheck": DEBUG_BUILD,
    "wraparound": False,
    "cdivision": True,
    "linetrace": LINETRACE,
}
#: Item sizes of the core's C aliases, checked against numpy's dtypes by the tests.
TYPE_SIZES = {
    "time_us_t": sizeof(time_us_t),
    "bytes_t": sizeof(bytes_t),
    "bps_t": sizeof(bps_t),
    "ratio_t": sizeof(ratio_t),
}


def compiled() -> bool:
    """Return True when this code runs compiled (``cython.compiled``), never as Python."""
    return bool(cython.compiled)
