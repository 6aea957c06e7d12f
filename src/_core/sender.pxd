# The sending side's media models: an RFC 8593-style statistical video encoder with a
# content-quality (PSNR) model, and the RTP packetiser's arithmetic. The replay loop
# (replay.pyx) drives them without the GIL. See docs/replay.md for the formulas.
from libc.stdint cimport int32_t, int64_t

from mediaopt._core.rng cimport Xoshiro256 as Rng

# Bytes every packet carries besides its payload: IPv4 20 + UDP 8 + RTP 12 + the
# transport-wide sequence number header extension 8 (RFC 3550, draft-holmer-rmcat-
# transport-wide-cc-extensions-01). The link and the estimator see payload + this.
cdef enum:
    PKT_OVERHEAD_BYTES = 48
    PKT_MAX_PAYLOAD_BYTES = 1200        # RTP payload limit per packet (issue 6)
    RATE_QUEUE_CAP = 64             # pending rate requests remembered for the encoder lag


cdef struct EncodedFrameC:
    int64_t size_bytes      # encoded size, bytes (payload only, no packet headers)
    bint keyframe           # intra frame (decodable on its own)
    double quality_db       # PSNR of the frame from the content model, dB
    int32_t width           # encoded width, pixels
    int32_t height          # encoded height, pixels
    int32_t ref_offset      # frames back (in encoded-frame order) to the reference; 0 = none
    int32_t temporal_layer  # 0 = base layer


# PSNR in dB of a frame encoded with bits_per_frame at width x height, shown at
# ref_width x ref_height (codec term and upscaling term added as MSEs; docs/replay.md).
cdef double c_quality_db(double bits_per_frame, int32_t width, int32_t height,
                         int32_t ref_width, int32_t ref_height) noexcept nogil


# Number of RTP packets a frame of size_bytes is cut into (payload <= PKT_MAX_PAYLOAD_BYTES,
# equal split like libwebrtc's RtpPacketizer); at least one.
cdef inline int32_t packet_count(int64_t size_bytes) noexcept nogil:
    if size_bytes <= PKT_MAX_PAYLOAD_BYTES:
        return 1
    return <int32_t>((size_bytes + PKT_MAX_PAYLOAD_BYTES - 1) // PKT_MAX_PAYLOAD_BYTES)


# Payload of packet i (0-based) of a frame cut into n packets: the remainder goes to the
# first packets so sizes differ by at most one byte.
cdef inline int64_t packet_payload(int64_t size_bytes, int32_t n, int32_t i) noexcept nogil:
    if n <= 1:
        return size_bytes
    cdef int64_t base = size_bytes // n
    if i < size_bytes - base * n:
        return base + 1
    return base


cdef class VideoSource:
    # --- model parameters (RFC 8593 section 4's statistical model, our constants) ---
    cdef readonly double noise_std          # std dev of the relative frame-size noise
    cdef readonly double keyframe_ratio     # key frame size / delta frame size
    cdef readonly int64_t reaction_lag_us   # encoder applies a new rate this long after it
    cdef readonly double drop_window_s      # frame dropper: tolerated overshoot, s of target
    cdef readonly double payback_s          # encoder rate control repays overshoot over this
    cdef readonly int32_t ref_width         # capture resolution the quality is measured at
    cdef readonly int32_t ref_height
    cdef readonly int64_t min_frame_bytes   # smallest frame the encoder emits, bytes

    # --- state ---
    cdef Rng rng                            # frame-size noise
    cdef int64_t req_t_us[RATE_QUEUE_CAP]   # pending rate requests: time asked, us
    cdef int64_t req_bps[RATE_QUEUE_CAP]    # ... and rate asked, bps
    cdef int req_head                       # index of the oldest pending request
    cdef int req_count                      # number of pending requests
    cdef readonly int64_t encoder_bps       # rate the encoder's rate control works at now
    cdef readonly int64_t requested_bps     # latest rate asked for (the frame dropper's budget)
    cdef double enc_bucket_bits             # encoder rate control: bits over its own rate
    cdef double drop_bucket_bits            # frame dropper's leaky bucket vs requested rate
    cdef int32_t last_width                 # resolution of the last encoded frame
    cdef int32_t last_height
    cdef int64_t last_key_us                # capture time of the last key frame, -1 = none
    cdef int64_t frames_since_key           # encoded frames since the last key frame
    cdef bint key_pending                   # a key frame was requested (PLI or policy)
    cdef double q_bits                      # inputs and result of the last quality call
    cdef int32_t q_width                    # (the rate and size change rarely: cache it)
    cdef int32_t q_height
    cdef double q_db
    cdef readonly int64_t frames_encoded    # counters
    cdef readonly int64_t frames_dropped

    # --- optional content profile (replay(content=...)): replaces c_quality_db ---
    cdef object _ct_owner                   # numpy arrays behind the pointers below
    cdef const double* ct_pixels            # pixels of each profiled resolution, ascending
    cdef const int64_t* ct_start            # first row of resolution r in ct_x/ct_y (n+1)
    cdef const double* ct_x                 # log2 bits per pixel, ascending per resolution
    cdef const double* ct_y                 # PSNR at display resolution, dB, non-decreasing
    cdef const double* ct_slope             # dB per doubling of bpp beyond the measured rows
    cdef Py_ssize_t ct_n                    # resolutions in the table; 0 = the formula

    # --- optional injected frame sizes (two-pass full-fidelity replay) ---
    cdef object _st_owner                   # numpy arrays behind the pointers below
    cdef const int64_t* st_t_us             # capture times of the measured frames, us
    cdef const double* st_factor            # real size / model size of those frames
    cdef Py_ssize_t st_n                    # entries; 0 = sizes from the model
    cdef Py_ssize_t st_cursor               # last entry used (times only move forward)

    cdef double _curve_db(self, Py_ssize_t r, double lx) noexcept nogil
    # PSNR (dB) from the content table at bits_per_frame and width x height.
    cdef double c_content_db(self, double bits_per_frame, int32_t width,
                             int32_t height) noexcept nogil

    cdef void c_request_rate(self, int64_t bitrate_bps, int64_t now_us) noexcept nogil
    cdef void c_request_keyframe(self) noexcept nogil
    # Encode the frame captured at now_us. Returns 1 and fills out, or 0 when the frame
    # dropper skipped it.
    cdef int c_encode(self, int64_t now_us, int32_t width, int32_t height, double fps,
                      double keyframe_interval_s, int32_t temporal_layers,
                      EncodedFrameC* out) noexcept nogil
