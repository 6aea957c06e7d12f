# C type aliases shared by every core module; tests/test_core.py checks them against numpy.
from libc.stdint cimport int32_t, int64_t, uint64_t

ctypedef int64_t time_us_t    # a time or a duration in microseconds
ctypedef int64_t bytes_t      # a size in bytes
ctypedef int64_t bps_t        # a rate in bits per second
ctypedef double ratio_t       # a share in [0, 1]
