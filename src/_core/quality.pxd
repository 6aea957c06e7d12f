# Picture-quality kernels (mediaopt.quality uses them when the core is compiled).

# Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03) of two
# 8-bit planes over the valid region. ref/dis point at row 0 of height x width planes whose
# rows are ref_stride / dis_stride bytes apart; peak is the largest sample value (255);
# scratch holds 5 * width doubles. The caller guarantees height, width >= 11.
cdef double c_ssim_plane(const unsigned char* ref, Py_ssize_t ref_stride,
                         const unsigned char* dis, Py_ssize_t dis_stride,
                         Py_ssize_t height, Py_ssize_t width, double peak,
                         double* scratch) noexcept nogil
