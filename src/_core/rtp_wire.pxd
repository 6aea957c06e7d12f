# Wire formats of the feedback path: the transport-cc feedback encoder (libwebrtc's
# rtcp::TransportFeedback, modules/rtp_rtcp/source/rtcp_packet/transport_feedback.cc),
# shared with the receiver-side generator (rtp_generator.pyx).
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t

cdef enum:
    TWCC_DELTA_TICK_US = 250            # receive delta unit (kDeltaTick), us
    TWCC_BASE_TICK_US = 64000           # reference time unit (kDeltaTick * 2^8), us
    TWCC_HEADER_BYTES = 20              # RTCP header + common feedback + feedback header
    TWCC_MAX_STATUS = 0xFFFF            # packets one feedback can describe
    TWCC_MAX_SIZE_BYTES = 262144        # RTCP length field limit ((1 << 16) * 4)
    TWCC_MAX_RUN = 0x1FFF               # longest run-length chunk
    TWCC_ONE_BIT_CAP = 14               # symbols in a one-bit status vector chunk
    TWCC_TWO_BIT_CAP = 7                # symbols in a two-bit status vector chunk

# kTimeWrapPeriod: the 24-bit reference time wraps after 2^24 base ticks (~12.4 days).
cdef extern from *:
    """
    #define MO_TWCC_WRAP_US (64000LL * 16777216LL)
    """
    int64_t TWCC_WRAP_US "MO_TWCC_WRAP_US"


cdef struct TwccBuilder:
    uint16_t base_seq           # first sequence number the feedback describes
    int32_t num_seq             # packets described so far (received and missing)
    int64_t base_time_ticks     # reference time, 64 ms units (24 bits)
    int64_t last_timestamp_us   # libwebrtc's last_timestamp_: base time + deltas so far, us
    bint include_timestamps     # False: no receive deltas on the wire
    int64_t size_bytes          # bytes so far (header, chunks, deltas), before padding
    int64_t max_size_bytes      # refuse a packet that would grow past this, bytes
    uint16_t* chunks            # finished status chunks (all but the last), owned
    int32_t n_chunks            # chunks used
    int32_t cap_chunks          # chunks allocated
    uint8_t lc_sizes[14]        # the open (last) chunk's delta sizes: 0 lost, 1 small, 2 large
    int32_t lc_size             # symbols in the open chunk (may exceed 14 in a run)
    bint lc_all_same            # every symbol of the open chunk is lc_sizes[0]
    bint lc_has_large           # the open chunk holds a large delta
    uint16_t* recv_seq          # sequence number of each received packet, owned
    int16_t* recv_delta         # its receive delta, 250 us ticks, owned
    int32_t n_recv              # received packets
    int32_t cap_recv            # received packets allocated
    bint oom                    # an allocation failed: the builder refuses further packets


cdef int tb_init(TwccBuilder* b) noexcept nogil
cdef void tb_free(TwccBuilder* b) noexcept nogil
# SetBase + Clear: start an empty feedback for base_seq with the reference time ref_us.
cdef void tb_reset(TwccBuilder* b, uint16_t base_seq, int64_t ref_us, bint include_timestamps,
                   int64_t max_size_bytes) noexcept nogil
# AddReceivedPacket: False when the packet does not fit (delta, order, count or size).
cdef bint tb_add(TwccBuilder* b, uint16_t seq, int64_t arrival_us) noexcept nogil
# Bytes to_bytes() writes: size rounded up to whole 32-bit words.
cdef int64_t tb_block_length(const TwccBuilder* b) noexcept nogil
# Create(): write the packet into out (tb_block_length bytes); returns the bytes written.
cdef int64_t tb_write(const TwccBuilder* b, uint8_t* out, uint32_t sender_ssrc,
                      uint32_t media_ssrc, uint8_t fb_count) noexcept nogil
