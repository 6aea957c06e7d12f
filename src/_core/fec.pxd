# Loss protection arithmetic of libwebrtc's media optimisation (FEC rate table, NACK/FEC
# hybrid rule), as nogil C functions for the adaptation kernel.
from libc.stdint cimport int32_t, int64_t, uint8_t

# Protection methods (libwebrtc VCMProtectionMethodEnum, plus our "none").
cdef enum ProtectionMethod:
    PROTECTION_NONE = 0
    PROTECTION_NACK = 1
    PROTECTION_FEC = 2
    PROTECTION_NACK_FEC = 3

# Average kbits per frame of the FEC-protected (base) temporal layer.
cdef int c_bits_per_frame_kbits(float bitrate_kbps, float fps, int32_t temporal_layers) noexcept nogil
# FEC protection factor for delta frames (x255, share of the total packets: media + FEC),
# libwebrtc VCMFecMethod::ProtectionFactor. *corr_cost receives its FEC cost correction
# (1, 0.5 or 0: how much of the factor is really sent at low packet counts).
cdef uint8_t c_fec_factor_delta(uint8_t loss_255, float bitrate_kbps, float fps,
                                int32_t width, int32_t height, int32_t temporal_layers,
                                int32_t max_payload_bytes, float* corr_cost) noexcept nogil
# libwebrtc VCMNackFecMethod::BitRateTooLowForFec.
cdef bint c_bitrate_too_low_for_fec(float bitrate_kbps, float fps, int32_t width,
                                    int32_t height, int32_t temporal_layers,
                                    int64_t rtt_ms) noexcept nogil
# The whole method: factor (x255, share of total) after the NACK/FEC RTT rule and the
# low-bitrate switch-off; *corr_cost as above.
cdef uint8_t c_protection_factor(int method, uint8_t loss_255, float bitrate_kbps, float fps,
                                 int32_t width, int32_t height, int32_t temporal_layers,
                                 int64_t rtt_ms, int64_t low_rtt_nack_ms,
                                 int64_t high_rtt_nack_ms, int32_t max_payload_bytes,
                                 float* corr_cost) noexcept nogil
