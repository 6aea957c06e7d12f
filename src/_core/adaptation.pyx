"""Adaptation decision kernel (skeleton; the full kernel follows)."""
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.string cimport memset


cdef class AdaptationCore:
    def __cinit__(self):
        self.n_path = 0
        self.c_reset()

    cdef void c_reset(self) noexcept nogil:
        self.index = 0
        self.started = 0

    cdef uint8_t c_filter_loss(self, uint8_t loss_255, int64_t now_us) noexcept nogil:
        return loss_255

    cdef void c_update(self, int64_t target_bps, double loss, int64_t rtt_us, int64_t now_us,
                       EncoderSettingsC* out) noexcept nogil:
        memset(out, 0, sizeof(EncoderSettingsC))
        out.bitrate_bps = target_bps


cdef class EncoderSettings:
    pass


cdef class Adaptation:
    pass
