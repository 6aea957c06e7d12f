"""Wire formats of the congestion-control feedback path, byte by byte.

* transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01, RTCP RTPFB
  FMT 15): status chunks and receive deltas are decoded as libwebrtc's
  ``rtcp::TransportFeedback::Parse`` does and encoded with its ``LastChunk`` algorithm
  (modules/rtp_rtcp/source/rtcp_packet/transport_feedback.cc), so a packet built here is
  byte-identical to the one libwebrtc builds for the same arrivals;
* RFC 8888 congestion control feedback (RTPFB FMT 11): per-SSRC report blocks, as
  ``rtcp::CongestionControlFeedback`` (congestion_control_feedback.cc);
* the RFC 8285 header extension element carrying the transport-wide sequence number,
  read and written on an RTP packet's bytes (one-byte and two-byte forms).

The ``def`` functions are the boundary: they check every length and field and raise
``InputError`` naming the problem; the ``cdef`` kernels trust what they are given.
"""

from mediaopt._core._check import InputError

from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

import numpy as np

cdef int RTCP_RTPFB = 205
cdef int FMT_TWCC = 15
cdef int FMT_CCFB = 11
cdef int64_t MAX_INPUT_BYTES = 1 << 20       # no RTCP or RTP packet is larger

# RFC 8888 arrival time offset: 1/1024 s units, two reserved values.
ATO_OVER_RANGE = 0x1FFE
ATO_UNAVAILABLE = 0x1FFF


# ---------------------------------------------------------------- transport-cc encoder

cdef inline bint _grow16(uint16_t** buf, int32_t* cap, int32_t need) noexcept nogil:
    cdef int32_t c = cap[0]
    cdef void* p
    if need <= c:
        return True
    if c < 64:
        c = 64
    while c < need:
        c *= 2
    p = realloc(buf[0], c * sizeof(uint16_t))
    if p == NULL:
        return False
    buf[0] = <uint16_t*>p
    cap[0] = c
    return True


cdef int tb_init(TwccBuilder* b) noexcept nogil:
    b.chunks = NULL
    b.recv_seq = NULL
    b.recv_delta = NULL
    b.cap_chunks = 0
    b.cap_recv = 0
    tb_reset(b, 0, 0, True, TWCC_MAX_SIZE_BYTES)
    return 0


cdef void tb_free(TwccBuilder* b) noexcept nogil:
    free(b.chunks)
    free(b.recv_seq)
    free(b.recv_delta)
    b.chunks = NULL
    b.recv_seq = NULL
    b.recv_delta = NULL
    b.cap_chunks = 0
    b.cap_recv = 0


cdef inline void _lc_clear(TwccBuilder* b) noexcept nogil:
    b.lc_size = 0
    b.lc_all_same = True
    b.lc_has_large = False


cdef void tb_reset(TwccBuilder* b, uint16_t base_seq, int64_t ref_us, bint include_timestamps,
                   int64_t max_size_bytes) noexcept nogil:
    b.base_seq = base_seq
    b.num_seq = 0
    b.base_time_ticks = (ref_us % TWCC_WRAP_US) // TWCC_BASE_TICK_US
    # BaseTime(): one wrap period ahead so that negative first deltas stay representable.
    b.last_timestamp_us = TWCC_WRAP_US + b.base_time_ticks * TWCC_BASE_TICK_US
    b.include_timestamps = include_timestamps
    b.size_bytes = TWCC_HEADER_BYTES
    b.max_size_bytes = max_size_bytes
    b.n_chunks = 0
    b.n_recv = 0
    b.oom = False
    _lc_clear(b)


cdef inline bint _lc_can_add(const TwccBuilder* b, uint8_t ds) noexcept nogil:
    if b.lc_size < TWCC_TWO_BIT_CAP:
        return True
    if b.lc_size < TWCC_ONE_BIT_CAP and not b.lc_has_large and ds != 2:
        return True
    if b.lc_size < TWCC_MAX_RUN and b.lc_all_same and b.lc_sizes[0] == ds:
        return True
    return False


cdef inline void _lc_add(TwccBuilder* b, uint8_t ds) noexcept nogil:
    if b.lc_size < TWCC_ONE_BIT_CAP:
        b.lc_sizes[b.lc_size] = ds
    b.lc_size += 1
    b.lc_all_same = b.lc_all_same and ds == b.lc_sizes[0]
    b.lc_has_large = b.lc_has_large or ds == 2


cdef inline uint16_t _lc_run_length(const TwccBuilder* b) noexcept nogil:
    return <uint16_t>((b.lc_sizes[0] << 13) | b.lc_size)


cdef inline uint16_t _lc_one_bit(const TwccBuilder* b) noexcept nogil:
    cdef uint16_t chunk = 0x8000
    cdef int32_t i
    for i in range(b.lc_size):
        chunk |= <uint16_t>(b.lc_sizes[i] << (TWCC_ONE_BIT_CAP - 1 - i))
    return chunk


cdef inline uint16_t _lc_two_bit(const TwccBuilder* b, int32_t n) noexcept nogil:
    cdef uint16_t chunk = 0xC000
    cdef int32_t i
    for i in range(n):
        chunk |= <uint16_t>(b.lc_sizes[i] << (2 * (TWCC_TWO_BIT_CAP - 1 - i)))
    return chunk


cdef uint16_t _lc_emit(TwccBuilder* b) noexcept nogil:
    # Encode the largest chunk the open one allows and keep what is left open.
    cdef uint16_t chunk
    cdef int32_t i
    cdef uint8_t ds
    if b.lc_all_same:
        chunk = _lc_run_length(b)
        _lc_clear(b)
        return chunk
    if b.lc_size == TWCC_ONE_BIT_CAP:
        chunk = _lc_one_bit(b)
        _lc_clear(b)
        return chunk
    chunk = _lc_two_bit(b, TWCC_TWO_BIT_CAP)
    b.lc_size -= TWCC_TWO_BIT_CAP
    b.lc_all_same = True
    b.lc_has_large = False
    for i in range(b.lc_size):
        ds = b.lc_sizes[TWCC_TWO_BIT_CAP + i]
        b.lc_sizes[i] = ds
        b.lc_all_same = b.lc_all_same and ds == b.lc_sizes[0]
        b.lc_has_large = b.lc_has_large or ds == 2
    return chunk


cdef inline uint16_t _lc_encode_last(const TwccBuilder* b) noexcept nogil:
    if b.lc_all_same:
        return _lc_run_length(b)
    if b.lc_size <= TWCC_TWO_BIT_CAP:
        return _lc_two_bit(b, b.lc_size)
    return _lc_one_bit(b)


cdef inline bint _push_chunk(TwccBuilder* b, uint16_t chunk) noexcept nogil:
    if not _grow16(&b.chunks, &b.cap_chunks, b.n_chunks + 1):
        b.oom = True
        return False
    b.chunks[b.n_chunks] = chunk
    b.n_chunks += 1
    return True


cdef bint _add_delta_size(TwccBuilder* b, uint8_t ds) noexcept nogil:
    cdef int64_t add_chunk = 2 if b.lc_size == 0 else 0
    if b.num_seq == TWCC_MAX_STATUS:
        return False
    if b.size_bytes + ds + add_chunk > b.max_size_bytes:
        return False
    if _lc_can_add(b, ds):
        b.size_bytes += add_chunk
        _lc_add(b, ds)
        b.num_seq += 1
        return True
    if b.size_bytes + ds + 2 > b.max_size_bytes:
        return False
    if not _push_chunk(b, _lc_emit(b)):
        return False
    b.size_bytes += 2
    _lc_add(b, ds)
    b.num_seq += 1
    return True


cdef bint _add_missing(TwccBuilder* b, int64_t n) noexcept nogil:
    cdef int64_t new_num = b.num_seq + n
    cdef int64_t full, partial, n_chunks, i
    if new_num > TWCC_MAX_STATUS:
        return False
    if b.lc_size > 0:
        while n > 0 and _lc_can_add(b, 0):
            _lc_add(b, 0)
            n -= 1
        if n == 0:
            b.num_seq = <int32_t>new_num
            return True
        if not _push_chunk(b, _lc_emit(b)):
            return False
    full = n // TWCC_MAX_RUN
    partial = n % TWCC_MAX_RUN
    n_chunks = full + (1 if partial > 0 else 0)
    if b.size_bytes + 2 * n_chunks > b.max_size_bytes:
        b.num_seq = <int32_t>(new_num - n)
        return False
    b.size_bytes += 2 * n_chunks
    for i in range(full):
        if not _push_chunk(b, TWCC_MAX_RUN):
            return False
    # LastChunk::AddMissingPackets on an empty chunk
    for i in range(TWCC_ONE_BIT_CAP):
        b.lc_sizes[i] = 0
    b.lc_size = <int32_t>partial
    b.lc_all_same = True
    b.lc_has_large = False
    b.num_seq = <int32_t>new_num
    return True


cdef inline bint _is_newer(uint16_t a, uint16_t b) noexcept nogil:
    # IsNewerSequenceNumber: a is ahead of b (ties at half the space broken by value)
    cdef uint16_t d = <uint16_t>(a - b)
    if d == 0x8000:
        return a > b
    return a != b and d < 0x8000


cdef bint tb_add(TwccBuilder* b, uint16_t seq, int64_t arrival_us) noexcept nogil:
    cdef int64_t delta_full = 0, ts = arrival_us, gap
    cdef int16_t delta = 0
    cdef uint16_t next_seq, last_seq, missing
    cdef uint8_t ds
    cdef void* p
    if b.oom:
        return False
    if b.include_timestamps:
        if b.last_timestamp_us > ts:
            gap = b.last_timestamp_us - ts
            ts += ((gap + TWCC_WRAP_US - 1) // TWCC_WRAP_US) * TWCC_WRAP_US
        delta_full = (ts - b.last_timestamp_us) % TWCC_WRAP_US
        if delta_full > TWCC_WRAP_US // 2:
            delta_full -= TWCC_WRAP_US
            delta_full -= TWCC_DELTA_TICK_US // 2
        else:
            delta_full += TWCC_DELTA_TICK_US // 2
        delta_full = delta_full // TWCC_DELTA_TICK_US       # C division: toward zero
        if delta_full < -32768 or delta_full > 32767:
            return False
        delta = <int16_t>delta_full
    next_seq = <uint16_t>(b.base_seq + b.num_seq)
    if seq != next_seq:
        last_seq = <uint16_t>(next_seq - 1)
        if not _is_newer(seq, last_seq):
            return False
        missing = <uint16_t>(seq - next_seq)
        if not _add_missing(b, missing):
            return False
    ds = 1 if 0 <= delta <= 0xFF else 2
    if not _add_delta_size(b, ds):
        return False
    if b.n_recv == b.cap_recv:
        if not _grow16(&b.recv_seq, &b.cap_recv, b.n_recv + 1):
            b.oom = True
            return False
        p = realloc(b.recv_delta, b.cap_recv * sizeof(int16_t))
        if p == NULL:
            b.oom = True
            return False
        b.recv_delta = <int16_t*>p
    b.recv_seq[b.n_recv] = seq
    b.recv_delta[b.n_recv] = delta
    b.n_recv += 1
    b.last_timestamp_us += <int64_t>delta * TWCC_DELTA_TICK_US
    if b.include_timestamps:
        b.size_bytes += ds
    return True


cdef int64_t tb_block_length(const TwccBuilder* b) noexcept nogil:
    return (b.size_bytes + 3) & ~(<int64_t>3)


cdef inline void _be16(uint8_t* p, uint16_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 8)
    p[1] = <uint8_t>(v & 0xFF)


cdef inline void _be32(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 24)
    p[1] = <uint8_t>((v >> 16) & 0xFF)
    p[2] = <uint8_t>((v >> 8) & 0xFF)
    p[3] = <uint8_t>(v & 0xFF)


cdef int64_t tb_write(const TwccBuilder* b, uint8_t* out, uint32_t sender_ssrc,
                      uint32_t media_ssrc, uint8_t fb_count) noexcept nogil:
    cdef int64_t block = tb_block_length(b)
    cdef int64_t pad = block - b.size_bytes
    cdef int64_t pos = 0, i
    cdef int16_t d
    out[0] = <uint8_t>(0x80 | (0x20 if pad > 0 else 0) | FMT_TWCC)
    out[1] = <uint8_t>RTCP_RTPFB
    _be16(out + 2, <uint16_t>(block // 4 - 1))
    _be32(out + 4, sender_ssrc)
    _be32(out + 8, media_ssrc)
    _be16(out + 12, b.base_seq)
    _be16(out + 14, <uint16_t>b.num_seq)
    out[16] = <uint8_t>((b.base_time_ticks >> 16) & 0xFF)
    out[17] = <uint8_t>((b.base_time_ticks >> 8) & 0xFF)
    out[18] = <uint8_t>(b.base_time_ticks & 0xFF)
    out[19] = fb_count
    pos = 20
    for i in range(b.n_chunks):
        _be16(out + pos, b.chunks[i])
        pos += 2
    if b.lc_size > 0:
        _be16(out + pos, _lc_encode_last(b))
        pos += 2
    if b.include_timestamps:
        for i in range(b.n_recv):
            d = b.recv_delta[i]
            if 0 <= d <= 0xFF:
                out[pos] = <uint8_t>d
                pos += 1
            else:
                _be16(out + pos, <uint16_t>d)
                pos += 2
    if pad > 0:
        for i in range(pad - 1):
            out[pos] = 0
            pos += 1
        out[pos] = <uint8_t>pad
        pos += 1
    return pos


cdef class _Builder:
    # Owns one TwccBuilder for the duration of a Python-level build.
    cdef TwccBuilder b

    def __cinit__(self):
        tb_init(&self.b)

    def __dealloc__(self):
        tb_free(&self.b)


def _check_u(name, v, bits):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise InputError(f"{name}: expected an integer, got {type(v).__name__}")
    v = int(v)
    if v < 0 or v >= (1 << bits):
        raise InputError(f"{name}: {v} is outside 0..{(1 << bits) - 1}")
    return v


def _u16_array(name, x):
    a = np.asarray(x)
    if a.ndim != 1:
        raise InputError(f"{name}: expected a 1-D array, got {a.ndim} dimensions")
    if a.size and a.dtype.kind not in "iu":
        raise InputError(f"{name}: expected integers, got dtype {a.dtype}")
    if a.size and (int(a.min()) < 0 or int(a.max()) > 0xFFFF):
        raise InputError(f"{name}: values must be 16-bit sequence numbers (0..65535)")
    return np.ascontiguousarray(a, dtype=np.uint16)


def _i64_array(name, x, int64_t lo, int64_t hi):
    a = np.asarray(x)
    if a.ndim != 1:
        raise InputError(f"{name}: expected a 1-D array, got {a.ndim} dimensions")
    if a.size and a.dtype.kind not in "iu":
        raise InputError(f"{name}: expected integers, got dtype {a.dtype}")
    if a.size and a.dtype.kind == "u" and int(a.max()) > hi:
        raise InputError(f"{name}: {int(a.max())} is above {hi}")
    a = np.ascontiguousarray(a, dtype=np.int64)
    if a.size and (int(a.min()) < lo or int(a.max()) > hi):
        bad = int(a.min()) if int(a.min()) < lo else int(a.max())
        raise InputError(f"{name}: {bad} is outside {lo}..{hi}")
    return a


def twcc_from_arrivals(base_seq, ref_us, seqs, arrival_us, bint include_timestamps=True,
                       max_size_bytes=TWCC_MAX_SIZE_BYTES):
    """Build feedback from received packets as libwebrtc's SetBase + AddReceivedPacket do.

    Returns ``(n_added, base_time_ticks, status, delta_ticks)``: packets are added in order
    until the first one that does not fit (``n_added`` < len(seqs)); ``status`` holds one
    symbol per described packet (0 lost, 1 small delta, 2 large delta) and
    ``delta_ticks`` one receive delta (250 us ticks) per received packet.
    """
    cdef uint16_t base = _check_u("base_seq", base_seq, 16)
    cdef int64_t ref = _check_u("ref_us", ref_us, 62)
    cdef int64_t mx = _check_u("max_size_bytes", max_size_bytes, 32)
    if mx < TWCC_HEADER_BYTES + 3 or mx > TWCC_MAX_SIZE_BYTES:
        raise InputError(f"max_size_bytes: {mx} is outside {TWCC_HEADER_BYTES + 3}.."
                         f"{TWCC_MAX_SIZE_BYTES}")
    s = _u16_array("seqs", seqs)
    a = _i64_array("arrival_us", arrival_us, 0, 1 << 62)
    if s.shape[0] != a.shape[0]:
        raise InputError(f"seqs and arrival_us: lengths differ ({s.shape[0]} and "
                         f"{a.shape[0]})")
    cdef const uint16_t[::1] sv = s
    cdef const int64_t[::1] av = a
    cdef _Builder bld = _Builder()
    cdef Py_ssize_t i, n = s.shape[0], added = 0
    with nogil:
        tb_reset(&bld.b, base, ref, include_timestamps, mx)
        for i in range(n):
            if not tb_add(&bld.b, sv[i], av[i]):
                break
            added += 1
    if bld.b.oom:
        raise MemoryError("transport-cc builder")
    status, deltas = _builder_symbols(&bld.b)
    return added, bld.b.base_time_ticks, status, deltas


cdef _builder_symbols(const TwccBuilder* b):
    # The per-packet symbols and the deltas the builder holds, as arrays.
    status = np.zeros(b.num_seq, dtype=np.uint8)
    deltas = np.empty(b.n_recv, dtype=np.int16)
    cdef uint8_t[::1] st = status
    cdef int16_t[::1] dv = deltas
    cdef int32_t i
    cdef uint16_t off
    with nogil:
        for i in range(b.n_recv):
            off = <uint16_t>(b.recv_seq[i] - b.base_seq)
            st[off] = 1 if 0 <= b.recv_delta[i] <= 0xFF else 2
            dv[i] = b.recv_delta[i]
    return status, deltas


def twcc_encode(base_seq, base_time_ticks, fb_count, sender_ssrc, media_ssrc, status,
                delta_ticks, bint include_timestamps=True):
    """Serialize feedback the way libwebrtc's ``TransportFeedback::Create`` does.

    ``status`` has one symbol per packet (0 = not received, else received) and
    ``delta_ticks`` one receive delta per received packet. Returns the packet's bytes.
    """
    cdef uint16_t base = _check_u("base_seq", base_seq, 16)
    cdef int64_t ticks = _check_u("base_time_ticks", base_time_ticks, 24)
    cdef uint8_t fbc = _check_u("fb_count", fb_count, 8)
    cdef uint32_t snd = _check_u("sender_ssrc", sender_ssrc, 32)
    cdef uint32_t med = _check_u("media_ssrc", media_ssrc, 32)
    st = np.ascontiguousarray(np.asarray(status), dtype=np.uint8)
    dl = _i64_array("delta_ticks", delta_ticks, -32768, 32767)
    if st.ndim != 1 or st.shape[0] == 0:
        raise InputError("status: a feedback must describe at least one packet")
    if st.shape[0] > TWCC_MAX_STATUS:
        raise InputError(f"status: {st.shape[0]} packets, more than {TWCC_MAX_STATUS}")
    cdef const uint8_t[::1] sv = st
    cdef const int64_t[::1] dv = dl
    cdef Py_ssize_t n = st.shape[0], i, k = 0, n_recv = 0
    for i in range(n):
        if sv[i] != 0:
            n_recv += 1
    if n_recv != dv.shape[0]:
        raise InputError(f"delta_ticks: {dv.shape[0]} deltas for {n_recv} received packets")
    if n_recv == 0:
        raise InputError("status: no packet is received (libwebrtc cannot encode that)")
    cdef _Builder bld = _Builder()
    cdef int64_t ts
    cdef Py_ssize_t first = -1, last = -1
    cdef bint ok = True
    with nogil:
        tb_reset(&bld.b, base, ticks * TWCC_BASE_TICK_US, include_timestamps,
                 TWCC_MAX_SIZE_BYTES)
        ts = bld.b.last_timestamp_us
        for i in range(n):
            if sv[i] == 0:
                continue
            ts += dv[k] * TWCC_DELTA_TICK_US
            k += 1
            if not tb_add(&bld.b, <uint16_t>(base + i), ts):
                ok = False
                break
            last = i
        if ok and last < n - 1:
            # lost packets after the last received one (AddMissingPackets)
            ok = _add_missing(&bld.b, n - 1 - last)
    if bld.b.oom:
        raise MemoryError("transport-cc builder")
    if not ok:
        raise InputError("status: the packets do not fit in one transport-cc feedback")
    out = bytearray(tb_block_length(&bld.b))
    cdef uint8_t[::1] ov = out
    with nogil:
        tb_write(&bld.b, &ov[0], snd, med, fbc)
    return bytes(out)


# ---------------------------------------------------------------- common RTCP header

cdef inline uint16_t _rd16(const uint8_t[::1] d, Py_ssize_t p) noexcept nogil:
    return <uint16_t>((d[p] << 8) | d[p + 1])


cdef inline uint32_t _rd32(const uint8_t[::1] d, Py_ssize_t p) noexcept nogil:
    return ((<uint32_t>d[p] << 24) | (<uint32_t>d[p + 1] << 16) | (<uint32_t>d[p + 2] << 8)
            | <uint32_t>d[p + 3])


def _bytes_view(what, data):
    if isinstance(data, str):
        raise InputError(f"{what}: expected bytes, got str")
    try:
        mv = memoryview(data)
    except TypeError:
        raise InputError(f"{what}: expected bytes, got {type(data).__name__}") from None
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    if mv.nbytes > MAX_INPUT_BYTES:
        raise InputError(f"{what}: {mv.nbytes} bytes, more than any packet "
                         f"({MAX_INPUT_BYTES})")
    if not mv.readonly:
        mv = memoryview(bytes(mv))
    return mv


cdef Py_ssize_t _rtcp_payload(what, const uint8_t[::1] d, int want_fmt,
                              Py_ssize_t* payload_len) except -1:
    # CommonHeader::Parse for a packet that must be exactly one RTPFB packet of want_fmt.
    cdef Py_ssize_t n = d.shape[0], total, plen
    cdef int pad
    if n < 4:
        raise InputError(f"{what}: {n} bytes, shorter than the 4-byte RTCP header")
    if (d[0] >> 6) != 2:
        raise InputError(f"{what}: RTCP version {d[0] >> 6}, expected 2")
    if d[1] != RTCP_RTPFB or (d[0] & 0x1F) != want_fmt:
        raise InputError(f"{what}: packet type {d[1]} FMT {d[0] & 0x1F}, expected RTPFB "
                         f"(205) FMT {want_fmt}")
    total = 4 * (<Py_ssize_t>_rd16(d, 2) + 1)
    if total > n:
        raise InputError(f"{what}: truncated, the header says {total} bytes, {n} given")
    if total < n:
        raise InputError(f"{what}: {n - total} bytes after the packet; split a compound "
                         f"packet first (mediaopt.rtp.split_compound)")
    plen = total - 4
    if d[0] & 0x20:
        if plen == 0:
            raise InputError(f"{what}: padding bit set on an empty packet")
        pad = d[total - 1]
        if pad == 0:
            raise InputError(f"{what}: padding bit set but the padding count is 0")
        if pad > plen:
            raise InputError(f"{what}: padding of {pad} bytes is longer than the "
                             f"{plen}-byte payload")
        plen -= pad
    payload_len[0] = plen
    return 4


# ---------------------------------------------------------------- transport-cc parser

cdef Py_ssize_t _decode_chunk(uint16_t chunk, Py_ssize_t max_n, uint8_t* out) noexcept nogil:
    cdef Py_ssize_t k, i
    cdef uint8_t sym
    if (chunk & 0x8000) == 0:
        k = chunk & 0x1FFF
        if k > max_n:
            k = max_n
        sym = (chunk >> 13) & 0x03
        for i in range(k):
            out[i] = sym
    elif (chunk & 0x4000) == 0:
        k = TWCC_ONE_BIT_CAP if max_n > TWCC_ONE_BIT_CAP else max_n
        for i in range(k):
            out[i] = (chunk >> (TWCC_ONE_BIT_CAP - 1 - i)) & 0x01
    else:
        k = TWCC_TWO_BIT_CAP if max_n > TWCC_TWO_BIT_CAP else max_n
        for i in range(k):
            out[i] = (chunk >> (2 * (TWCC_TWO_BIT_CAP - 1 - i))) & 0x03
    return k


def twcc_parse(data):
    """Parse one transport-cc feedback packet (RTCP RTPFB FMT 15), as libwebrtc does.

    Returns ``(sender_ssrc, media_ssrc, base_seq, base_time_ticks, fb_count,
    include_timestamps, status, delta_ticks)``; raises ``InputError`` naming the problem.
    """
    mv = _bytes_view("transport-cc", data)
    cdef const uint8_t[::1] d = mv
    cdef Py_ssize_t plen = 0
    cdef Py_ssize_t off = _rtcp_payload("transport-cc", d, FMT_TWCC, &plen)
    if plen < 18:
        raise InputError(f"transport-cc: payload of {plen} bytes, shorter than the 18 a "
                         f"feedback needs")
    cdef uint32_t sender = _rd32(d, off), media = _rd32(d, off + 4)
    cdef uint16_t base = _rd16(d, off + 8), count = _rd16(d, off + 10)
    cdef uint32_t ticks = (<uint32_t>d[off + 12] << 16) | (<uint32_t>d[off + 13] << 8) | d[off + 14]
    cdef uint8_t fbc = d[off + 15]
    if count == 0:
        raise InputError("transport-cc: packet status count is 0 (empty feedback is not "
                         "allowed)")
    status = np.empty(count, dtype=np.uint8)
    cdef uint8_t[::1] st = status
    cdef Py_ssize_t idx = 16, filled = 0, need = 0, i, n_recv = 0, bad = -1
    cdef uint16_t chunk
    cdef bint short_chunks = False
    with nogil:
        while filled < count:
            if idx + 2 > plen:
                short_chunks = True
                break
            chunk = _rd16(d, off + idx)
            idx += 2
            filled += _decode_chunk(chunk, count - filled, &st[filled])
        if not short_chunks:
            for i in range(count):
                need += st[i]
                if st[i] != 0:
                    n_recv += 1
    if short_chunks:
        raise InputError(f"transport-cc: the status chunks end after {filled} of {count} "
                         f"packets")
    cdef bint with_ts = plen >= idx + need
    deltas = np.zeros(n_recv, dtype=np.int16)
    cdef int16_t[::1] dv = deltas
    cdef Py_ssize_t k = 0
    if with_ts:
        with nogil:
            for i in range(count):
                if st[i] == 1:
                    dv[k] = d[off + idx]
                    idx += 1
                    k += 1
                elif st[i] == 2:
                    dv[k] = <int16_t>_rd16(d, off + idx)
                    idx += 2
                    k += 1
                elif st[i] == 3:
                    bad = i
                    break
        if bad >= 0:
            raise InputError(f"transport-cc: status symbol 3 (reserved) for packet {bad} "
                             f"(sequence {(base + bad) & 0xFFFF})")
    return sender, media, base, ticks, fbc, with_ts, status, deltas


# ---------------------------------------------------------------- RFC 8888

cdef inline uint16_t _to_13bit_ato(int64_t offset_us) noexcept nogil:
    # To13bitAto: 1024 x the offset in single-precision seconds, truncated; capped.
    cdef float s
    cdef float v
    cdef int64_t ato
    if offset_us < 0:
        return 0x1FFF
    s = <float>offset_us * (<float>1.0 / <float>1000000.0)
    v = <float>1024.0 * s
    ato = <int64_t>v
    return <uint16_t>(ato if ato < 0x1FFE else 0x1FFE)


def ccfb_parse(data):
    """Parse one RFC 8888 congestion control feedback packet (RTPFB FMT 11).

    Returns ``(sender_ssrc, report_timestamp, ssrc, seq, received, ecn, ato)``: one array
    element per reported packet (``ato`` is the raw 13-bit arrival time offset).
    """
    mv = _bytes_view("RFC 8888 feedback", data)
    cdef const uint8_t[::1] d = mv
    cdef Py_ssize_t plen = 0
    cdef Py_ssize_t off = _rtcp_payload("RFC 8888 feedback", d, FMT_CCFB, &plen)
    if plen % 4 != 0 or plen < 8:
        raise InputError(f"RFC 8888 feedback: payload of {plen} bytes (needs a multiple of "
                         f"4, at least 8)")
    cdef uint32_t sender = _rd32(d, off)
    cdef uint32_t rts = _rd32(d, off + plen - 4)
    cdef Py_ssize_t p = off + 4, end = off + plen - 4, total = 0
    cdef uint16_t num
    # first pass: count the reports (and check the block lengths)
    while p + 8 < end:
        num = _rd16(d, p + 6)
        p += 8
        if p + 2 * num > end:
            raise InputError(f"RFC 8888 feedback: a report block of {num} packets runs "
                             f"past the end of the packet")
        p += 2 * num + (2 if num % 2 else 0)
        total += num
    if p != end:
        raise InputError("RFC 8888 feedback: the report blocks do not end where the "
                         "report timestamp starts")
    ssrc = np.empty(total, dtype=np.uint32)
    seq = np.empty(total, dtype=np.uint16)
    received = np.empty(total, dtype=np.bool_)
    ecn = np.empty(total, dtype=np.uint8)
    ato = np.empty(total, dtype=np.uint16)
    cdef uint32_t[::1] sv = ssrc
    cdef uint16_t[::1] qv = seq
    cdef uint8_t[::1] rv = received.view(np.uint8)
    cdef uint8_t[::1] ev = ecn
    cdef uint16_t[::1] av = ato
    cdef Py_ssize_t k = 0, i
    cdef uint32_t s
    cdef uint16_t begin, info
    p = off + 4
    with nogil:
        while p + 8 < end:
            s = _rd32(d, p)
            begin = _rd16(d, p + 4)
            num = _rd16(d, p + 6)
            p += 8
            for i in range(num):
                info = _rd16(d, p)
                p += 2
                sv[k] = s
                qv[k] = <uint16_t>(begin + i)
                rv[k] = 1 if (info & 0x8000) else 0
                ev[k] = (info >> 13) & 0x03
                av[k] = info & 0x1FFF
                k += 1
            if num % 2:
                p += 2
    return sender, rts, ssrc, seq, received, ecn, ato


def ccfb_block_length(ssrc, seq):
    """BlockLength(): bytes of the packet for these (ssrc, seq) reports."""
    s = np.ascontiguousarray(np.asarray(ssrc), dtype=np.int64)
    q = np.ascontiguousarray(np.asarray(seq), dtype=np.int64)
    cdef const int64_t[::1] sv = s
    cdef const int64_t[::1] qv = q
    cdef Py_ssize_t n = s.shape[0]
    return _ccfb_length(&sv[0] if n else NULL, &qv[0] if n else NULL, n)


cdef int64_t _ccfb_length(const int64_t* ssrc, const int64_t* seq, Py_ssize_t n) noexcept nogil:
    cdef int64_t total = 4 + 4 + 4, num
    cdef Py_ssize_t i, start = 0
    if n == 0:
        return total
    for i in range(1, n + 1):
        if i == n or ssrc[i] != ssrc[start]:
            num = <uint16_t>(seq[i - 1] - seq[start] + 1)
            total += 8 + 2 * num + (2 if num % 2 else 0)
            start = i
    return total


def ccfb_encode(sender_ssrc, report_timestamp, ssrc, seq, arrival_offset_us, ecn):
    """Serialize RFC 8888 feedback as libwebrtc's ``CongestionControlFeedback::Create``.

    Packets are grouped into one report block per run of equal ``ssrc``; within a run the
    sequence numbers must be consecutive. ``arrival_offset_us`` is the time before the
    report timestamp each packet arrived (``-1`` = not received, ``-2`` = received but
    its arrival time is unavailable).
    """
    cdef uint32_t snd = _check_u("sender_ssrc", sender_ssrc, 32)
    cdef uint32_t rts = _check_u("report_timestamp", report_timestamp, 32)
    s = _i64_array("ssrc", ssrc, 0, 0xFFFFFFFF)
    q = _i64_array("seq", seq, 0, 0xFFFF)
    a = _i64_array("arrival_offset_us", arrival_offset_us, -2, 1 << 40)
    e = _i64_array("ecn", ecn, 0, 3)
    cdef Py_ssize_t n = s.shape[0], i, start = 0
    if not (q.shape[0] == n and a.shape[0] == n and e.shape[0] == n):
        raise InputError("ssrc, seq, arrival_offset_us and ecn: lengths differ")
    cdef const int64_t[::1] sv = s
    cdef const int64_t[::1] qv = q
    cdef const int64_t[::1] av = a
    cdef const int64_t[::1] ev = e
    for i in range(1, n):
        if sv[i] == sv[i - 1] and qv[i] != ((qv[i - 1] + 1) & 0xFFFF):
            raise InputError(f"seq: packet {i} ({qv[i]}) does not follow {qv[i - 1]} of "
                             f"the same SSRC (reports must be consecutive)")
    for i in range(n + 1):
        if i == n or (i > 0 and sv[i] != sv[start]):
            if i - start > 16384:
                raise InputError(f"seq: {i - start} reports for SSRC {sv[start]}, more "
                                 f"than RFC 8888's 16384 per block")
            start = i
    cdef int64_t length = _ccfb_length(&sv[0] if n else NULL, &qv[0] if n else NULL, n)
    out = bytearray(length)
    cdef uint8_t[::1] o = out
    cdef Py_ssize_t pos = 0, j
    cdef uint16_t info, num
    with nogil:
        o[0] = <uint8_t>(0x80 | FMT_CCFB)
        o[1] = <uint8_t>RTCP_RTPFB
        _be16(&o[2], <uint16_t>(length // 4 - 1))
        _be32(&o[4], snd)
        pos = 8
        start = 0
        for i in range(1, n + 1):
            if i == n or sv[i] != sv[start]:
                num = <uint16_t>(i - start)
                _be32(&o[pos], <uint32_t>sv[start])
                _be16(&o[pos + 4], <uint16_t>qv[start])
                _be16(&o[pos + 6], num)
                pos += 8
                for j in range(start, i):
                    info = 0
                    if av[j] >= 0:
                        info = <uint16_t>(0x8000 | (ev[j] << 13) | _to_13bit_ato(av[j]))
                    elif av[j] == -2:
                        info = <uint16_t>(0x8000 | (ev[j] << 13) | 0x1FFF)
                    _be16(&o[pos], info)
                    pos += 2
                if num % 2:
                    _be16(&o[pos], 0)
                    pos += 2
                start = i
        _be32(&o[pos], rts)
    return bytes(out)


def ato_to_us(ato):
    """AtoToTimeDelta for received packets: 13-bit offsets to us (truncated), as arrays.

    The reserved values map to ``-2`` (over-range, libwebrtc's +infinity) and ``-1``
    (unavailable, libwebrtc's -infinity).
    """
    a = np.asarray(ato, dtype=np.int64) & 0x1FFF
    out = a * 1_000_000 // 1024
    out[a == ATO_OVER_RANGE] = -2
    out[a == ATO_UNAVAILABLE] = -1
    return out


# ---------------------------------------------------------------- RFC 8285 header extension

cdef int _ext_block(const uint8_t[::1] p, Py_ssize_t* start, Py_ssize_t* length,
                    int* profile) except -2:
    # Locate the header extension block: returns 1 and its data span, 0 when absent.
    cdef Py_ssize_t n = p.shape[0], pos
    cdef int cc
    if n < 12:
        raise InputError(f"RTP packet: {n} bytes, shorter than the 12-byte header")
    if (p[0] >> 6) != 2:
        raise InputError(f"RTP packet: version {p[0] >> 6}, expected 2")
    cc = p[0] & 0x0F
    pos = 12 + 4 * cc
    if n < pos:
        raise InputError(f"RTP packet: {cc} CSRCs do not fit in {n} bytes")
    start[0] = pos
    length[0] = 0
    profile[0] = 0
    if not (p[0] & 0x10):
        return 0
    if n < pos + 4:
        raise InputError("RTP packet: the header extension is truncated")
    profile[0] = _rd16(p, pos)
    length[0] = 4 * <Py_ssize_t>_rd16(p, pos + 2)
    start[0] = pos + 4
    if n < start[0] + length[0]:
        raise InputError(f"RTP packet: header extension of {length[0]} bytes runs past the "
                         f"end of the packet")
    return 1


cdef Py_ssize_t _find_element(const uint8_t[::1] p, Py_ssize_t start, Py_ssize_t length,
                              int profile, int ext_id, Py_ssize_t* elem_len,
                              Py_ssize_t* used) noexcept nogil:
    # Offset of element ext_id's data (-1 if absent); used = bytes before trailing padding.
    cdef Py_ssize_t pos = start, end = start + length, ln
    cdef int eid
    used[0] = 0
    elem_len[0] = 0
    cdef Py_ssize_t found = -1
    if profile == 0xBEDE:
        while pos < end:
            if (p[pos] >> 4) == 0:
                pos += 1                   # padding byte (its length nibble is ignored)
                continue
            eid = p[pos] >> 4
            if eid == 15:
                break                      # RFC 8285 4.2: stop at the reserved id
            ln = (p[pos] & 0x0F) + 1
            if pos + 1 + ln > end:
                return -2
            if eid == ext_id and found < 0:
                found = pos + 1
                elem_len[0] = ln
            pos += 1 + ln
            used[0] = pos - start
    elif (profile & 0xFFF0) == 0x1000:
        while pos < end:
            if p[pos] == 0:
                pos += 1
                continue
            if pos + 2 > end:
                return -2
            eid = p[pos]
            ln = p[pos + 1]
            if pos + 2 + ln > end:
                return -2
            if eid == ext_id and found < 0:
                found = pos + 2
                elem_len[0] = ln
            pos += 2 + ln
            used[0] = pos - start
    return found


def _ext_id(v):
    v = _check_u("ext_id", v, 8)
    if v < 1:
        raise InputError("ext_id: 0 is not an extension id (1..255)")
    return v


def rtp_read_extension(packet, ext_id_obj):
    """The data of header extension element ``ext_id`` (bytes), or None when absent."""
    cdef int ext_id = _ext_id(ext_id_obj)
    mv = _bytes_view("RTP packet", packet)
    cdef const uint8_t[::1] p = mv
    cdef Py_ssize_t start = 0, length = 0, elen = 0, used = 0, at
    cdef int profile = 0
    if not _ext_block(p, &start, &length, &profile):
        return None
    at = _find_element(p, start, length, profile, ext_id, &elen, &used)
    if at == -2:
        raise InputError("RTP packet: a header extension element runs past its block")
    if at < 0:
        return None
    return bytes(p[at:at + elen])


def rtp_transport_seq(packet, ext_id_obj):
    """The transport-wide sequence number in ``packet`` (element ``ext_id``), or -1."""
    cdef int ext_id = _ext_id(ext_id_obj)
    mv = _bytes_view("RTP packet", packet)
    cdef const uint8_t[::1] p = mv
    cdef Py_ssize_t start = 0, length = 0, elen = 0, used = 0, at
    cdef int profile = 0
    if not _ext_block(p, &start, &length, &profile):
        return -1
    at = _find_element(p, start, length, profile, ext_id, &elen, &used)
    if at == -2:
        raise InputError("RTP packet: a header extension element runs past its block")
    if at < 0:
        return -1
    if elen != 2:
        raise InputError(f"RTP packet: transport-wide sequence number element of {elen} "
                         f"bytes (expected 2)")
    return _rd16(p, at)


def rtp_write_transport_seq(packet, ext_id_obj, seq_obj):
    """Return ``packet`` with element ``ext_id`` set to ``seq`` (added when absent).

    An existing two-byte element is overwritten in place; otherwise the element is
    appended to the extension block (one-byte form when the block is one-byte or absent
    and ``ext_id`` <= 14, two-byte form otherwise), which grows by whole 32-bit words.
    """
    cdef int ext_id = _ext_id(ext_id_obj)
    cdef int seq = _check_u("seq", seq_obj, 16)
    mv = _bytes_view("RTP packet", packet)
    cdef const uint8_t[::1] p = mv
    cdef Py_ssize_t start = 0, length = 0, elen = 0, used = 0, at, n = p.shape[0]
    cdef Py_ssize_t hdr, new_len, add, tail
    cdef int profile = 0
    cdef bint has = _ext_block(p, &start, &length, &profile) == 1
    cdef bint one_byte
    cdef uint8_t[::1] o
    if has:
        at = _find_element(p, start, length, profile, ext_id, &elen, &used)
        if at == -2:
            raise InputError("RTP packet: a header extension element runs past its block")
        if at >= 0:
            if elen != 2:
                raise InputError(f"RTP packet: element {ext_id} holds {elen} bytes, not "
                                 f"a 2-byte sequence number")
            out = bytearray(mv)
            out[at] = (seq >> 8) & 0xFF
            out[at + 1] = seq & 0xFF
            return bytes(out)
        if profile == 0xBEDE:
            if ext_id > 14:
                raise InputError(f"ext_id: {ext_id} cannot go in a one-byte extension block")
            one_byte = True
        elif (profile & 0xFFF0) == 0x1000:
            one_byte = False
        else:
            raise InputError(f"RTP packet: header extension profile 0x{profile:04x} is not "
                             f"RFC 8285")
    else:
        one_byte = ext_id <= 14
        used = 0
    add = 3 if one_byte else 4
    new_len = ((used + add + 3) // 4) * 4
    hdr = start - 4 if has else start            # offset of the extension header
    tail = start + length if has else start      # where the payload begins
    # the padding bit and payload after the block stay as they are
    out = bytearray(hdr + 4 + new_len + (n - tail))
    o = out
    memcpy(&o[0], &p[0], hdr)
    o[0] = p[0] | 0x10
    if has:
        o[hdr] = p[hdr]
        o[hdr + 1] = p[hdr + 1]
    else:
        o[hdr] = 0xBE if one_byte else 0x10
        o[hdr + 1] = 0xDE if one_byte else 0x00
    o[hdr + 2] = <uint8_t>((new_len // 4) >> 8)
    o[hdr + 3] = <uint8_t>((new_len // 4) & 0xFF)
    if used:
        memcpy(&o[hdr + 4], &p[start], used)
    at = hdr + 4 + used
    if one_byte:
        o[at] = <uint8_t>((ext_id << 4) | 1)
        o[at + 1] = (seq >> 8) & 0xFF
        o[at + 2] = seq & 0xFF
        at += 3
    else:
        o[at] = <uint8_t>ext_id
        o[at + 1] = 2
        o[at + 2] = (seq >> 8) & 0xFF
        o[at + 3] = seq & 0xFF
        at += 4
    while at < hdr + 4 + new_len:
        o[at] = 0
        at += 1
    if n > tail:
        memcpy(&o[at], &p[tail], n - tail)
    return bytes(out)
