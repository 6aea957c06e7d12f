# Integer unit arithmetic the way libwebrtc's api/units types do it (DataRate, DataSize,
# TimeDelta are int64 underneath), so that estimates match libwebrtc to the bit per second.
from libc.stdint cimport int64_t

# "Not set" for optional times and rates (libwebrtc's PlusInfinity / nullopt).
cdef extern from *:
    """
    #define MO_NONE INT64_MAX
    #define MO_MINUS_INF INT64_MIN
    """
    int64_t MO_NONE          # an unset time or rate (also +infinity)
    int64_t MO_MINUS_INF     # libwebrtc's Timestamp::MinusInfinity()


cdef inline int64_t us_to_ms(int64_t us) noexcept nogil:
    # Timestamp::ms() / TimeDelta::ms(): round to the nearest millisecond.
    if us >= 0:
        return (us + 500) // 1000
    return -((-us + 500) // 1000)


cdef inline int64_t rate_times(int64_t bps, double factor) noexcept nogil:
    # DataRate * double: the product truncated to whole bits per second.
    cdef double v = <double>bps * factor
    if v >= 9.2e18:
        return MO_NONE - 1
    if v <= -9.2e18:
        return -(MO_NONE - 1)
    return <int64_t>v


cdef inline int64_t rate_times_duration_bytes(int64_t bps, int64_t us) noexcept nogil:
    # DataRate * TimeDelta -> DataSize: bytes rounded to nearest.
    return (bps * us + 4000000) // 8000000


cdef inline int64_t size_over_duration_bps(int64_t size_bytes, int64_t us) noexcept nogil:
    # DataSize / TimeDelta -> DataRate, in whole bits per second.
    if us <= 0:
        return 0
    return size_bytes * 8000000 // us
