# The core's one seeded PRNG (link loss, sender noise, feedback loss): splitmix64 to expand
# a seed, xoshiro256** to draw.
# Inline cdef functions so any core module can `from mediaopt._core.rng cimport ...` and
# keep its random state in a plain struct (no Python objects, no GIL, no allocation).
# Same seed, same bits, on every platform (only 64-bit integer arithmetic).
from libc.math cimport log
from libc.stdint cimport uint64_t, int64_t


cdef struct Xoshiro256:
    uint64_t s0    # four 64-bit words of xoshiro256** state (never all zero)
    uint64_t s1
    uint64_t s2
    uint64_t s3


cdef inline uint64_t splitmix64_next(uint64_t* x) noexcept nogil:
    # Steele, Lea & Flood's splitmix64: one step of a Weyl sequence, then a mix.
    x[0] += <uint64_t>0x9E3779B97F4A7C15ULL
    cdef uint64_t z = x[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline void rng_seed(Xoshiro256* r, uint64_t seed) noexcept nogil:
    # The xoshiro authors recommend filling the state from splitmix64 of the seed.
    cdef uint64_t x = seed
    r.s0 = splitmix64_next(&x)
    r.s1 = splitmix64_next(&x)
    r.s2 = splitmix64_next(&x)
    r.s3 = splitmix64_next(&x)


cdef inline uint64_t _rotl(uint64_t v, int k) noexcept nogil:
    return (v << k) | (v >> (64 - k))


cdef inline uint64_t rng_next(Xoshiro256* r) noexcept nogil:
    # Blackman & Vigna's xoshiro256** 1.0.
    cdef uint64_t result = _rotl(r.s1 * 5, 7) * 9
    cdef uint64_t t = r.s1 << 17
    r.s2 ^= r.s0
    r.s3 ^= r.s1
    r.s1 ^= r.s2
    r.s0 ^= r.s3
    r.s2 ^= t
    r.s3 = _rotl(r.s3, 45)
    return result


cdef inline double rng_uniform(Xoshiro256* r) noexcept nogil:
    # A double in [0, 1) from the top 53 bits.
    return <double>(rng_next(r) >> 11) * (1.0 / 9007199254740992.0)


cdef inline double rng_laplace(Xoshiro256* r, double scale) noexcept nogil:
    # Zero-mean Laplace(scale) by inversion; the standard deviation is scale * sqrt(2).
    cdef double u = rng_uniform(r) - 0.5
    if u <= -0.5:
        u = -0.5 + 1e-12       # keep log() finite at the edge of the interval
    if u == 0.0:
        return 0.0
    if u < 0.0:
        return scale * log(1.0 + 2.0 * u)
    return -scale * log(1.0 - 2.0 * u)
