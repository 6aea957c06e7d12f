# The closed-loop replay: one event-driven loop (microseconds, no GIL) over sender, pacer,
# forward link, receiver, feedback path, estimator and adaptation. docs/replay.md.
from libc.stdint cimport int32_t, int64_t

from mediaopt._core.adaptation cimport AdaptationCore, EncoderSettingsC
from mediaopt._core.gcc cimport GccEstimator
from mediaopt._core.link cimport Link
from mediaopt._core.rng cimport Xoshiro256 as Rng
from mediaopt._core.pacer cimport Pacer, PacketC
from mediaopt._core.receiver cimport Receiver
from mediaopt._core.sender cimport VideoSource

cdef enum:
    TX_RING = 16384         # transport-wide sequence numbers remembered (power of two)
    RTX_RING = 8192         # video packets kept for retransmission (power of two)
    ADV_CAP = 256           # settled packets taken from the link per c_advance call

cdef enum MsgKind:
    MSG_FEEDBACK = 0        # transport feedback for transport seqs a..b
    MSG_NACK = 1            # retransmission request for media seq a
    MSG_PLI = 2             # key-frame request


cdef struct TxRecord:
    int64_t tseq            # transport-wide sequence number (checks the ring slot)
    int64_t send_us         # when the pacer put it on the wire, us
    int64_t size_bytes      # on the wire, bytes
    int64_t frame           # video frame it carries, -1 none
    int64_t media_seq       # video RTP sequence number, -1 none
    int64_t arrival_us      # arrival at the receiver, us; -1 not (yet) arrived
    int32_t probe_cluster   # probe cluster id, -1 none
    int32_t kind            # pacer.PacketKind


cdef struct RtxRecord:
    int64_t media_seq       # which packet the slot holds (-1 empty)
    int64_t size_bytes      # its size on the wire, bytes
    int64_t frame           # its frame
    int64_t last_rtx_us     # last retransmission, us; -1 never
    int32_t index           # its index within the frame


cdef struct Msg:
    int64_t gen_us          # when the receiver sent it, us
    int64_t deliver_us      # when it reaches the sender, us; -1 lost, -2 not known yet
    int64_t a               # FEEDBACK: first transport seq; NACK: media seq
    int64_t b               # FEEDBACK: last transport seq
    int32_t kind            # MsgKind


cdef struct Arrival:
    int64_t tseq            # transport seq of a packet the link delivered
    int64_t arrival_us      # its arrival time at the receiver, us


cdef class ReplayLoop:
    # --- components ---
    cdef Link link                      # forward bottleneck
    cdef Link rev_link                  # reverse path as a link (optional reverse trace), or None
    cdef GccEstimator est               # native estimator, or None
    cdef object py_est                  # Python estimator (on_feedback/target_bps), or None
    cdef AdaptationCore adapt           # encoder settings from the target
    cdef VideoSource video              # statistical encoder
    cdef Pacer pacer
    cdef Receiver rx

    # --- configuration ---
    cdef int64_t end_us                 # session length, us
    cdef int64_t feedback_interval_us   # receiver's transport-feedback period, us
    cdef int64_t process_interval_us    # estimator's periodic tick, us
    cdef int64_t interval_us            # IntervalLog row length, us
    cdef double feedback_loss           # probability a feedback message is lost
    cdef int64_t audio_payload_bytes    # audio packet payload, bytes
    cdef int64_t audio_interval_us      # audio packet period, us
    cdef int64_t audio_wire_bps         # audio rate on the wire (its share of the target), bps
    cdef int64_t rev_const_us           # feedback path one-way delay without a column, us
    cdef object _rev_owner              # numpy arrays behind the reverse delay steps
    cdef const int64_t* rev_t_us        # delay-column step starts (one trace period), us
    cdef const int64_t* rev_delay_us    # delay-column values, us
    cdef Py_ssize_t n_rev               # steps (0 = constant delay)
    cdef int64_t rev_period_us          # trace period the steps repeat with, us
    cdef Py_ssize_t rev_cursor          # step last used
    cdef Rng rng                        # feedback-loss draws

    # --- state ---
    cdef EncoderSettingsC settings      # what the encoder does now
    cdef int64_t target_bps             # latest estimator target, bps
    cdef int64_t rtt_us                 # latest RTT from feedback, us; -1 unknown
    cdef double py_loss                 # loss share the Python estimator path reports
    cdef double fec_carry               # fractional FEC packets owed (keeps the exact ratio)
    cdef int64_t tseq                   # next transport-wide sequence number
    cdef int64_t media_seq              # next video RTP sequence number
    cdef int64_t rx_highest             # highest transport seq received, -1 none
    cdef int64_t fb_next                # first transport seq not yet reported
    cdef int64_t last_deliver_us        # feedback path is FIFO
    cdef TxRecord* tx                   # TX_RING records
    cdef RtxRecord* rtx                 # RTX_RING records
    cdef Msg* msgs                      # reverse-path messages in flight (ring, grows)
    cdef Py_ssize_t msg_cap, msg_head, msg_len
    cdef int64_t msg_serial_head        # serial number of msgs[msg_head] (reverse-link tag)
    cdef Arrival* arr                   # settled deliveries not yet reached (ring, grows)
    cdef Py_ssize_t arr_cap, arr_head, arr_len
    cdef int64_t adv_tag[ADV_CAP]       # c_advance output buffers
    cdef int64_t adv_arr[ADV_CAP]
    cdef int64_t* fb_send               # feedback scratch arrays (grow)
    cdef int64_t* fb_arrival
    cdef int64_t* fb_size
    cdef int32_t* fb_probe
    cdef Py_ssize_t fb_cap
    cdef int64_t t_rx                   # receiver timer, us (-1 none)
    cdef object _error                  # exception raised by the Python estimator
    cdef bint oom                       # an allocation failed

    # --- interval log (one row per interval_us) ---
    cdef Py_ssize_t n_iv
    cdef int64_t* iv_target
    cdef int64_t* iv_sent
    cdef int64_t* iv_goodput
    cdef int64_t* iv_psent
    cdef int64_t* iv_plost
    cdef int64_t* iv_rtt

    # --- counters ---
    cdef readonly int64_t packets_sent, packets_lost, retransmissions, fec_packets
    cdef readonly int64_t padding_packets, feedback_sent, feedback_lost, plis_received

    cdef int _run(self) noexcept nogil
    cdef int64_t _rev_delay(self, int64_t t_us) noexcept nogil
    cdef void _post(self, int32_t kind, int64_t gen_us, int64_t a, int64_t b,
                    int64_t size_bytes) noexcept nogil
    cdef void _pull_rev(self, int64_t now_us) noexcept nogil
    cdef void _send(self, int64_t now_us, const PacketC* p, int32_t cluster) noexcept nogil
    cdef void _pull_link(self, int64_t now_us) noexcept nogil
    cdef void _arrive(self, int64_t tseq, int64_t at_us) noexcept nogil
    cdef void _drain_receiver(self, int64_t now_us) noexcept nogil
    cdef int _deliver(self, const Msg* m, int64_t now_us) noexcept nogil
    cdef int _on_feedback(self, const Msg* m, int64_t now_us) noexcept nogil
    cdef int _py_feedback(self, Py_ssize_t n, int64_t now_us) noexcept nogil
    cdef void _apply(self, int64_t now_us) noexcept nogil
    cdef void _encode_frame(self, int64_t now_us) noexcept nogil
    cdef void _pop_probes(self, int64_t now_us) noexcept nogil
