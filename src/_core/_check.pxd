# The compiled boundary checks (_check.pyx) as the other core modules cimport them. Each
# raises mediaopt._core._check.InputError naming the argument; see _check.pyx.
from libc.stdint cimport int64_t

# ``value`` as an int64 within [min_value, max_value] (integral numbers only).
cdef int64_t int_arg(str name, object value, int64_t min_value=*,
                     int64_t max_value=*) except? -1
# ``value`` as a finite double within [min_value, max_value].
cdef double float_arg(str name, object value, double min_value=*,
                      double max_value=*) except? -1.0
# True when ``values`` exports a 1-D, contiguous, native int64 buffer: ``view`` then holds
# it and the caller must PyBuffer_Release it. False (nothing held) otherwise.
cdef bint int64_buffer(object values, Py_buffer* view) except -1
# Index of the first element outside [lo, hi] (except ``allowed`` if has_allowed), or -1.
cdef Py_ssize_t first_out_of_range(const int64_t* x, Py_ssize_t n, int64_t lo, int64_t hi,
                                   bint has_allowed, int64_t allowed) noexcept nogil
# Index of the first element smaller than the one before it, or -1.
cdef Py_ssize_t first_decrease(const int64_t* x, Py_ssize_t n) noexcept nogil
