# The receiving side: frame assembly, FEC recovery, decodability along the reference chain,
# a jitter buffer that sets each frame's render time, NACK lists and key-frame requests
# (libwebrtc video/ and modules/video_coding/, simplified; docs/replay.md).
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

cdef enum FrameState:
    FRAME_PENDING = 0       # not decided yet (incomplete, or waiting for its reference)
    FRAME_DECODED = 1       # decoded and rendered at render_us
    FRAME_DROPPED = 2       # given up: never completed in time, or skipped by the decoder
    FRAME_UNDECODABLE = 3   # complete or not, its reference chain is broken

cdef enum:
    SEQ_RING = 16384        # media sequence numbers remembered (received flag, frame map)
    MAX_NACK = 1000         # NACK list size (libwebrtc kMaxNackPackets); overflow -> PLI
    MAX_NACK_RETRIES = 10   # libwebrtc kMaxNackRetries
    TRANSIT_WINDOW = 32     # decoded frames the jitter buffer's base transit is taken over


cdef class Receiver:
    # --- frame table (grown by doubling; row = frame index in encode order) ---
    cdef Py_ssize_t n_frames            # rows used
    cdef Py_ssize_t cap_frames          # rows allocated
    cdef int64_t* capture_us            # capture time at the sender, us
    cdef int64_t* render_us             # render time at the receiver, us; -1 never
    cdef int64_t* size_bytes            # encoded size, bytes
    cdef int32_t* width                 # encoded resolution, pixels
    cdef int32_t* height
    cdef uint8_t* keyframe              # 1 = intra frame
    cdef double* quality_db             # PSNR from the content model, dB
    cdef int64_t* ref                   # index of the reference frame, -1 = none
    cdef int32_t* n_media               # media packets of the frame
    cdef int32_t* n_fec                 # FEC packets of the frame
    cdef int32_t* got_media             # distinct media packets received
    cdef int32_t* got_fec               # FEC packets received
    cdef int64_t* ready_us              # complete (or FEC-recovered) at, us; -1 not yet
    cdef uint8_t* state                 # FrameState

    # --- media sequence numbers ---
    cdef int64_t seq_recv[SEQ_RING]     # seq + 1 when that media packet arrived, else stale
    cdef int64_t seq_frame[SEQ_RING]    # frame that media seq belongs to (sender's map)
    cdef int64_t highest_seq            # highest media seq received, -1 none

    # --- NACK list ---
    cdef bint nack_enabled              # the sender retransmits on NACK
    cdef int64_t nack_seq[MAX_NACK]     # missing media seqs
    cdef int64_t nack_sent_us[MAX_NACK] # last time each was requested, us
    cdef int32_t nack_tries[MAX_NACK]   # requests so far
    cdef Py_ssize_t n_nack              # entries used
    # NACKs to send now (the replay loop drains them after each call)
    cdef int64_t* nack_out
    cdef Py_ssize_t n_nack_out
    cdef readonly int64_t nacks_sent    # media seqs requested so far (counting repeats)

    # --- decoder / key frames ---
    cdef Py_ssize_t next_dec            # oldest frame not decided yet
    cdef Py_ssize_t max_seen            # highest frame with a packet received, -1 none
    cdef Py_ssize_t newest_ready        # highest frame complete so far, -1 none
    cdef int64_t blocked_since_us       # a later frame is complete while next_dec is not, since
    cdef int64_t last_dec_us            # decode time of the last decoded frame, us
    cdef bint need_keyframe             # the chain is broken: ask for an intra frame
    cdef bint pli_out                   # a key-frame request is to be sent now
    cdef int64_t last_pli_us            # last key-frame request, us
    cdef readonly int64_t plis_sent
    cdef readonly int64_t frames_recovered_fec   # frames completed thanks to FEC
    cdef int64_t rtt_us                 # round-trip time known to the receiver, us

    # --- jitter buffer ---
    cdef int64_t transit_ring[TRANSIT_WINDOW]    # decode time - capture time, last frames
    cdef int transit_n                  # entries used
    cdef int transit_pos                # next slot
    cdef int64_t prev_transit_us        # transit of the previous decoded frame
    cdef double jitter_us               # RFC 3550-style smoothed |transit delta|, us
    cdef int64_t last_render_us         # render times never go backwards

    cdef Py_ssize_t c_add_frame(self, int64_t capture_us, int64_t size_bytes, int32_t width,
                                int32_t height, bint keyframe, double quality_db,
                                int64_t ref, int32_t n_media, int32_t n_fec,
                                int64_t first_seq) noexcept nogil
    # One packet arrived. kind: 1 rtx, 2 video, 3 fec (pacer.PacketKind).
    cdef void c_on_packet(self, int32_t kind, int64_t frame, int64_t media_seq,
                          int64_t arrival_us) noexcept nogil
    # Timers (NACK retries, giving up on stalled frames, key-frame requests) at now_us;
    # returns when to call again (-1 = no timer pending).
    cdef int64_t c_poll(self, int64_t now_us) noexcept nogil
    cdef void c_set_rtt(self, int64_t rtt_us) noexcept nogil
    cdef void c_set_nack(self, bint enabled) noexcept nogil

    # internals
    cdef int _reserve(self, Py_ssize_t cap) noexcept nogil
    cdef int64_t _give_up_us(self) noexcept nogil
    cdef int64_t _pli_interval_us(self) noexcept nogil
    cdef void _emit_nack(self, int64_t seq) noexcept nogil
    cdef void _decode(self, Py_ssize_t f) noexcept nogil
    cdef void _decode_pass(self) noexcept nogil
    cdef void _check_stall(self, int64_t now_us) noexcept nogil
    cdef void _maybe_pli(self, int64_t now_us) noexcept nogil
