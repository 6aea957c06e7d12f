# A small, explicitly seeded PRNG for the media-path models (sender noise, feedback loss).
# splitmix64 seeds xoshiro256**; both are public-domain algorithms by Vigna & Blackman.
# Header-only (inline), so every module that cimports it gets its own copy and no
# runtime import is generated.
from libc.stdint cimport uint64_t, int64_t
from libc.math cimport log


cdef struct Rng:
    uint64_t s0     # xoshiro256** state word 0
    uint64_t s1     # state word 1
    uint64_t s2     # state word 2
    uint64_t s3     # state word 3


cdef inline uint64_t _splitmix_next(uint64_t* x) noexcept nogil:
    x[0] += <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t z = x[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline void rng_seed(Rng* r, uint64_t seed) noexcept nogil:
    cdef uint64_t x = seed
    r.s0 = _splitmix_next(&x)
    r.s1 = _splitmix_next(&x)
    r.s2 = _splitmix_next(&x)
    r.s3 = _splitmix_next(&x)


cdef inline uint64_t _rotl(uint64_t v, int k) noexcept nogil:
    return (v << k) | (v >> (64 - k))


cdef inline uint64_t rng_next(Rng* r) noexcept nogil:
    cdef uint64_t result = _rotl(r.s1 * 5, 7) * 9
    cdef uint64_t t = r.s1 << 17
    r.s2 ^= r.s0
    r.s3 ^= r.s1
    r.s1 ^= r.s2
    r.s0 ^= r.s3
    r.s2 ^= t
    r.s3 = _rotl(r.s3, 45)
    return result


cdef inline double rng_uniform(Rng* r) noexcept nogil:
    # 53 random bits -> [0, 1)
    return <double>(rng_next(r) >> 11) * (1.0 / 9007199254740992.0)


cdef inline double rng_laplace(Rng* r, double scale) noexcept nogil:
    # Zero-mean Laplace(scale) by inversion; the standard deviation is scale * sqrt(2).
    cdef double u = rng_uniform(r) - 0.5
    if u <= -0.5:
        u = -0.5 + 1e-12       # keep log() finite at the edge of the interval
    if u == 0.0:
        return 0.0
    if u < 0.0:
        return scale * log(1.0 + 2.0 * u)
    return -scale * log(1.0 - 2.0 * u)
