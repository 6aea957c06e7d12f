"""Compiled SSIM kernel: one streaming pass, double precision, no temporary planes.

The numpy version in :mod:`mediaopt.media.quality` filters five full-size moment maps with 22
shifted array operations each; this kernel filters one output row at a time (a vertical
pass into five row buffers, then the horizontal pass fused with the SSIM formula), so
the working set stays in cache and the sums are exact doubles.
"""

from mediaopt._core._check import InputError

from libc.math cimport exp
from libc.stdlib cimport free, malloc

cdef enum:
    WINDOW = 11             # Gaussian window side, samples (Wang et al. 2004)

cdef double SIGMA = 1.5     # Gaussian window standard deviation, samples
cdef double K1 = 0.01       # SSIM stabilising constants (Wang et al. 2004)
cdef double K2 = 0.03
cdef double TAPS[WINDOW]    # normalised 1-D Gaussian taps, filled at import


cdef void _init_taps() noexcept:
    cdef int k
    cdef double x, total = 0.0
    for k in range(WINDOW):
        x = k - (WINDOW - 1) / 2.0
        TAPS[k] = exp(-(x * x) / (2.0 * SIGMA * SIGMA))
        total += TAPS[k]
    for k in range(WINDOW):
        TAPS[k] /= total


_init_taps()


cdef double c_ssim_plane(const unsigned char* ref, Py_ssize_t ref_stride,
                         const unsigned char* dis, Py_ssize_t dis_stride,
                         Py_ssize_t height, Py_ssize_t width, double peak,
                         double* scratch) noexcept nogil:
    cdef Py_ssize_t out_h = height - WINDOW + 1
    cdef Py_ssize_t out_w = width - WINDOW + 1
    if out_h <= 0 or out_w <= 0:
        return 1.0
    cdef double* vx = scratch
    cdef double* vy = scratch + width
    cdef double* vxx = scratch + 2 * width
    cdef double* vyy = scratch + 3 * width
    cdef double* vxy = scratch + 4 * width
    cdef double c1 = (K1 * peak) * (K1 * peak)
    cdef double c2 = (K2 * peak) * (K2 * peak)
    cdef double total = 0.0
    cdef double t, a, b, mx, my, sxx, syy, sxy, cov, var_x, var_y
    cdef const unsigned char* r
    cdef const unsigned char* d
    cdef Py_ssize_t i, c, k
    for i in range(out_h):
        for c in range(width):
            vx[c] = 0.0
            vy[c] = 0.0
            vxx[c] = 0.0
            vyy[c] = 0.0
            vxy[c] = 0.0
        for k in range(WINDOW):
            t = TAPS[k]
            r = ref + (i + k) * ref_stride
            d = dis + (i + k) * dis_stride
            for c in range(width):
                a = r[c]
                b = d[c]
                vx[c] += t * a
                vy[c] += t * b
                vxx[c] += t * a * a
                vyy[c] += t * b * b
                vxy[c] += t * a * b
        for c in range(out_w):
            mx = 0.0
            my = 0.0
            sxx = 0.0
            syy = 0.0
            sxy = 0.0
            for k in range(WINDOW):
                t = TAPS[k]
                mx += t * vx[c + k]
                my += t * vy[c + k]
                sxx += t * vxx[c + k]
                syy += t * vyy[c + k]
                sxy += t * vxy[c + k]
            var_x = sxx - mx * mx
            var_y = syy - my * my
            cov = sxy - mx * my
            # the denominator is at least c1 * c2 > 0: variances are >= 0 up to rounding
            total += ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / (
                (mx * mx + my * my + c1) * (var_x + var_y + c2))
    return total / (<double>out_h * <double>out_w)


def ssim_plane(const unsigned char[:, ::1] ref, const unsigned char[:, ::1] dis,
               double peak=255.0):
    """Mean SSIM of two C-contiguous uint8 planes of the same shape (at least 11x11)."""
    if ref.shape[0] != dis.shape[0] or ref.shape[1] != dis.shape[1]:
        raise InputError(
            f"reference and distorted differ in shape: ({ref.shape[0]}, {ref.shape[1]}) "
            f"vs ({dis.shape[0]}, {dis.shape[1]})")
    cdef Py_ssize_t h = ref.shape[0]
    cdef Py_ssize_t w = ref.shape[1]
    if h < WINDOW or w < WINDOW:
        raise InputError(f"ssim: images must be at least {WINDOW}x{WINDOW}, got ({h}, {w})")
    if not peak > 0.0:
        raise InputError(f"peak: must be > 0, got {peak!r}")
    cdef double* scratch = <double*>malloc(5 * w * sizeof(double))
    if scratch == NULL:
        raise MemoryError("ssim: cannot allocate row buffers")
    cdef double result
    try:
        with nogil:
            result = c_ssim_plane(&ref[0, 0], ref.strides[0], &dis[0, 0], dis.strides[0],
                                  h, w, peak, scratch)
    finally:
        free(scratch)
    return result
