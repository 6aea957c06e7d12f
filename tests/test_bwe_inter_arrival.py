"""InterArrivalDelta, re-expressing libwebrtc's inter_arrival_unittest scenarios.

libwebrtc's tests drive the grouping with send times in microseconds and arrival times in
milliseconds; here both are microseconds (arrival = ms * 1000, system time = arrival).
"""

import pytest

from mediaopt.bwe import InterArrivalDelta

GROUP_US = 5_000
MIN_STEP_US = 20
TRIGGER_NEW_GROUP_US = GROUP_US + MIN_STEP_US
BURST_MS = 5


class Driver:
    def __init__(self) -> None:
        self.ia = InterArrivalDelta()

    def no(self, send_us: int, arrival_ms: int, size: int) -> None:
        assert self.ia.compute_deltas(send_us, arrival_ms * 1000, arrival_ms * 1000, size) is None

    def yes(self, send_us, arrival_ms, size, send_delta_us, arrival_delta_ms, size_delta):
        got = self.ia.compute_deltas(send_us, arrival_ms * 1000, arrival_ms * 1000, size)
        assert got == (send_delta_us, arrival_delta_ms * 1000, size_delta)


def test_first_packet_yields_nothing():
    Driver().no(0, 17, 1)


def test_first_group_deltas_come_with_the_third_group():
    d = Driver()
    g1 = 17
    d.no(0, g1, 1)
    g2 = g1 + BURST_MS + 1
    d.no(TRIGGER_NEW_GROUP_US, g2, 2)
    d.yes(2 * TRIGGER_NEW_GROUP_US, g2 + BURST_MS + 1, 1, TRIGGER_NEW_GROUP_US, g2 - g1, 1)


def test_second_group():
    d = Driver()
    g1 = 17
    d.no(0, g1, 1)
    g2 = g1 + BURST_MS + 1
    d.no(TRIGGER_NEW_GROUP_US, g2, 2)
    g3 = g2 + BURST_MS + 1
    d.yes(2 * TRIGGER_NEW_GROUP_US, g3, 1, TRIGGER_NEW_GROUP_US, g2 - g1, 1)
    d.yes(3 * TRIGGER_NEW_GROUP_US, g3 + BURST_MS + 1, 2, TRIGGER_NEW_GROUP_US, g3 - g2, -1)


def test_accumulated_group():
    d = Driver()
    g1 = 17
    d.no(0, g1, 1)
    arrival = g1 + BURST_MS + 1
    d.no(TRIGGER_NEW_GROUP_US, 28, 2)
    send = TRIGGER_NEW_GROUP_US
    for _ in range(10):
        arrival += BURST_MS + 1
        send += MIN_STEP_US
        d.no(send, arrival, 1)
    d.yes(2 * TRIGGER_NEW_GROUP_US, 500, 100, send, arrival - g1, (2 + 10) - 1)


def test_out_of_order_packet_is_dropped():
    d = Driver()
    g1 = 17
    d.no(0, g1, 1)
    arrival = g1 + 11
    send = TRIGGER_NEW_GROUP_US
    d.no(send, 28, 2)
    for _ in range(10):
        arrival += BURST_MS + 1
        send += MIN_STEP_US
        d.no(send, arrival, 1)
    d.no(0, 281, 100)  # sent with group 1, arrives late: ignored
    d.yes(2 * TRIGGER_NEW_GROUP_US, 500, 100, send, arrival - g1, (2 + 10) - 1)


def test_out_of_order_within_group_still_accumulates():
    d = Driver()
    g1 = 17
    d.no(0, g1, 1)
    arrival = g1 + 11
    d.no(TRIGGER_NEW_GROUP_US, 28, 2)
    send = TRIGGER_NEW_GROUP_US + 10 * MIN_STEP_US
    g2_send = send
    for _ in range(10):
        arrival += BURST_MS + 1
        d.no(send, arrival, 1)
        send -= MIN_STEP_US
    d.no(0, 281, 100)
    d.yes(2 * TRIGGER_NEW_GROUP_US, 500, 100, g2_send, arrival - g1, (2 + 10) - 1)


def test_two_bursts():
    d = Driver()
    g1 = 17
    d.no(0, g1, 1)
    send = TRIGGER_NEW_GROUP_US
    arrival = 100  # nothing arrives for 100 ms, then a burst 5 ms apart
    for _ in range(10):
        send += 30_000
        arrival += BURST_MS
        d.no(send, arrival, 1)
    d.yes(send + 30_000, arrival + BURST_MS + 1, 100, send, arrival - g1, 10 - 1)


def test_no_bursts():
    d = Driver()
    d.no(0, 17, 1)
    d.no(TRIGGER_NEW_GROUP_US, 28, 2)
    d.yes(TRIGGER_NEW_GROUP_US + 30_000, 28 + BURST_MS + 1, 100, TRIGGER_NEW_GROUP_US, 28 - 17, 1)


def test_positive_arrival_time_jump_resets():
    ia = InterArrivalDelta()
    send, arrival, system = 10_000_000, 20_000_000, 30_000_000
    step = 30_000
    assert ia.compute_deltas(send, arrival, system, 1000) is None
    send, arrival, system = send + step, arrival + step, system + step
    assert ia.compute_deltas(send, arrival, system, 1000) is None
    send, arrival, system = send + step, arrival + step + 3_000_000, system + step
    assert ia.compute_deltas(send, arrival, system, 1000) == (step, step, 0)
    # The jump is seen when the next group completes: everything resets.
    for _ in range(3):
        send, arrival, system = send + step, arrival + step, system + step
        assert ia.compute_deltas(send, arrival, system, 1000) is None
    send, arrival, system = send + step, arrival + step, system + step
    assert ia.compute_deltas(send, arrival, system, 1000) == (step, step, 0)


def test_three_reordered_groups_reset():
    ia = InterArrivalDelta()
    assert ia.compute_deltas(0, 100_000, 100_000, 100) is None
    # Group 2 completes (its last packet) before group 1 did: reordered between bursts.
    assert ia.compute_deltas(10_000, 200_000, 200_000, 100) is None
    assert ia.compute_deltas(11_000, 50_000, 200_000, 100) is None
    # Each later packet finds the negative delta again; the third one resets.
    for k in range(3):
        s = 20_000 + 10_000 * k
        assert ia.compute_deltas(s, 300_000 + s, 300_000 + s, 100) is None
    # After the reset, deltas need two fresh groups, then flow again.
    assert ia.compute_deltas(50_000, 400_000, 400_000, 100) is None
    assert ia.compute_deltas(60_000, 410_000, 410_000, 100) is None
    assert ia.compute_deltas(70_000, 420_000, 420_000, 100) == (10_000, 10_000, 0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="reordered_reset_threshold"):
        InterArrivalDelta(reordered_reset_threshold=0)
    with pytest.raises(ValueError, match="size_bytes"):
        InterArrivalDelta().compute_deltas(0, 0, 0, -1)


def test_a_burst_lasts_at_most_100ms():
    ia = InterArrivalDelta()
    # Packets sent 10 ms apart catch up with each other and arrive 1 ms apart: a burst,
    # until it has lasted 100 ms; then a new group starts.
    out = []
    for i in range(201):
        got = ia.compute_deltas(i * 10_000, 1_000_000 + i * 1_000, 2_000_000, 100)
        if got is not None:
            out.append((i, got))
    assert out == [(200, (1_000_000, 100_000, 0))]
