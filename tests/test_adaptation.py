"""Adaptation: ladder, degradation paths, hysteresis, protection, keyframes, the contract."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mediaopt._core import fec
from mediaopt._core.adaptation import AdaptationCore

import mediaopt as mo
from mediaopt import policies
from mediaopt.policies.adaptation import degradation_path, ladder_limits

BUILTINS = ("gcc", "consult", "surgical", "followup")
CLINICAL = ("consult", "surgical", "followup")
STEP_US = 100_000


def steady(
    policy: object, target_bps: int, seconds: float = 120.0, **cam: int
) -> mo.EncoderSettings:
    """Settings after holding a constant target, loss 0, RTT 50 ms, from a fresh call."""
    ad = mo.Adaptation(policy, **cam)
    s = None
    for k in range(int(seconds * 1e6 / STEP_US)):
        s = ad.update(target_bps, 0.0, 50_000, k * STEP_US)
    assert s is not None
    return s


# --- the ladder: libwebrtc's simulcast table, interpolated by pixel count ---


@pytest.mark.parametrize("row", policies.LIBWEBRTC_VP8_LADDER[:-1])
def test_gcc_ladder_reproduces_libwebrtc_table_points(row: tuple[int, ...]) -> None:
    w, h, lo, tgt, mx = row
    gcc = policies.load("gcc")
    assert ladder_limits(w, h, gcc.adaptation.ladder_bps) == (lo, tgt, mx)
    # a camera of exactly that size: gcc's best state needs the table's target at 30 fps
    # and may use up to the table's max
    top = mo.Adaptation(gcc, max_width=w, max_height=h, max_fps=30).core.states[0]
    assert top[:3] == (w, h, 30.0)
    assert top[3] == tgt and top[4] == max(mx, tgt)


def test_ladder_interpolates_linearly_in_pixels() -> None:
    ladder = policies.LIBWEBRTC_VP8_LADDER
    # 1200x600 = 720000 px lies exactly halfway between 1280x720 and 960x540
    assert ladder_limits(1200, 600, ladder) == (475_000, 1_850_000, 1_850_000)
    # above the top row: the top row
    assert ladder_limits(3840, 2160, ladder) == (800_000, 4_000_000, 5_000_000)
    # below 320x180 libwebrtc (no low-res interpolation) keeps the 320x180 rates ...
    assert ladder_limits(160, 90, ladder) == (30_000, 150_000, 200_000)
    # ... and with interpolation goes linearly towards the 0x0 anchor (75 % of the way)
    assert ladder_limits(160, 90, ladder, lowres_interpolation=True) == (30_000, 37_500, 50_000)


def test_ladder_matches_libwebrtc_simulcast_unittest() -> None:
    # simulcast_unittest.cc BitratesInterpolatedForResBelow180p (low-res interpolation on):
    # the 240x135 layer gets max 112500, target 84375, min 30000 bps
    limits = ladder_limits(240, 135, policies.LIBWEBRTC_VP8_LADDER, lowres_interpolation=True)
    assert limits == (30_000, 84_375, 112_500)


def test_paths_step_like_libwebrtc_video_stream_adapter() -> None:
    gcc = policies.load("gcc")
    path = degradation_path(gcc.adaptation, gcc.profile, 1280, 720, 30.0)
    res = [s for s in path if s.fps == 30.0]
    pixels = [s.width * s.height for s in res]
    # x3/5 pixel steps (sizes rounded to even numbers, so within 1 %)
    for a, b in itertools.pairwise(pixels):
        assert b / a == pytest.approx(0.6, rel=0.01)
    # then x2/3 frame-rate steps in integers, down to 2 fps (kMinFrameRateFps)
    fps = [s.fps for s in path if s.width * s.height == pixels[-1]]
    assert fps == [30.0, 20.0, 13.0, 8.0, 5.0, 3.0, 2.0]
    assert pixels[-1] >= 320 * 180


def test_balanced_uses_libwebrtc_min_fps_per_resolution() -> None:
    cfg = dataclasses.replace(policies.AdaptationConfig(), degradation="balanced")
    path = degradation_path(cfg, policies.ClinicalProfile(), 1280, 720, 30.0)
    for s in path:
        px = s.width * s.height
        # above 640x480 the balanced settings never lower the frame rate
        if px > 640 * 480:
            assert s.fps == 30.0
    # it reaches exactly the table's 15, 10 and 7 fps on its way down
    fps = {s.fps for s in path}
    assert {15.0, 10.0, 7.0} <= fps


@pytest.mark.parametrize("name", BUILTINS)
def test_paths_are_monotone(name: str) -> None:
    pol = policies.load(name)
    path = mo.Adaptation(pol).core.states
    for a, b in itertools.pairwise(path):
        assert b[0] * b[1] <= a[0] * a[1]
        assert b[2] <= a[2]
        assert b[3] <= a[3]
        assert a[3] <= a[4]


# --- steady state and hysteresis ---


@pytest.mark.parametrize("name", BUILTINS)
@given(a=st.integers(30_000, 4_000_000), b=st.integers(30_000, 4_000_000))
def test_more_bandwidth_never_lowers_steady_resolution_or_fps(name: str, a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    s_lo, s_hi = steady(name, lo, 60.0), steady(name, hi, 60.0)
    assert s_hi.width * s_hi.height >= s_lo.width * s_lo.height
    assert s_hi.fps >= s_lo.fps


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize(("seed", "warmup"), [(0, 1.0), (1, 1.0), (2, 3.0), (3, 0.3)])
def test_dithering_around_a_boundary_switches_at_most_twice(
    name: str, seed: int, warmup: float
) -> None:
    # settle for 30 s at, above or below the boundary (past the start-rate caps), then
    # dither the estimate uniformly within +-10 % of it for 60 s
    states = mo.Adaptation(name).core.states
    rng = np.random.default_rng(seed)
    checked = 0
    for k in range(1, len(states)):
        if states[k][:2] == states[k - 1][:2]:
            continue  # not a resolution boundary
        boundary = states[k - 1][3]
        ad = mo.Adaptation(name)
        now = 0
        for _ in range(300):
            ad.update(boundary * warmup, 0.0, 50_000, now)
            now += 100_000
        last = None
        switches = 0
        for _ in range(int(60e6 / 50_000)):
            target = boundary * (1.0 + rng.uniform(-0.1, 0.1))
            s = ad.update(target, 0.0, 50_000, now)
            now += 50_000
            if last is not None and (s.width, s.height) != last:
                switches += 1
            last = (s.width, s.height)
        assert switches <= 2, (name, k, switches)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("name", ["gcc", "consult"])
def test_up_moves_wait_for_the_dwell_time_and_down_moves_do_not(name: str) -> None:
    pol = policies.load(name)
    cfg = pol.adaptation
    ad = mo.Adaptation(pol)
    states = ad.core.states
    low = states[4][3]  # a rate only a lower state fits
    ad.update(low, 0.0, 50_000, 0)
    start_index = ad.core.state_index
    assert start_index >= 3
    # the first up-move waits for the start dwell
    start_dwell_us = int(cfg.start_dwell_s * 1e6)
    ad.update(5_000_000, 0.0, 50_000, start_dwell_us - 1)
    assert ad.core.state_index == start_index
    ad.update(5_000_000, 0.0, 50_000, start_dwell_us)
    if cfg.up_max_steps == 1:
        assert ad.core.state_index == start_index - 1  # libwebrtc: one step at a time
    else:
        assert ad.core.state_index == 0  # straight to the best state the rate supports
    # down at once, however recent the last switch
    t = start_dwell_us + 1
    ad.update(10_000, 0.0, 50_000, t)
    assert ad.core.state_index == len(states) - 1
    # and the next up-move waits for the up dwell
    up_dwell_us = int(cfg.up_dwell_s * 1e6)
    ad.update(5_000_000, 0.0, 50_000, t + up_dwell_us - 1)
    assert ad.core.state_index == len(states) - 1
    ad.update(5_000_000, 0.0, 50_000, t + up_dwell_us)
    assert ad.core.state_index < len(states) - 1


def test_start_rate_caps_follow_libwebrtc() -> None:
    # needs at the ladder's min rate, so the caps (not the ladder) decide at the start
    pol = policies.load("gcc")
    pol = pol.replace(adaptation=dataclasses.replace(pol.adaptation, switch_point=0.0))
    for start, cap in ((250_000, 320 * 240), (450_000, 640 * 480)):
        ad = mo.Adaptation(pol)
        s = ad.update(start, 0.0, 50_000, 0)
        assert s.width * s.height <= cap
        uncapped = mo.Adaptation(pol).core.states
        assert any(st[0] * st[1] > cap and st[3] <= start for st in uncapped)
    # above 500 kbit/s no cap: 720p needs 600 kbit/s at the ladder's min
    s = mo.Adaptation(pol).update(700_000, 0.0, 50_000, 0)
    assert (s.width, s.height) == (1280, 720)


# --- clinical profiles ---


@pytest.mark.parametrize("rate", [200_000, 250_000])
def test_profiles_order_at_the_same_low_rate(rate: int) -> None:
    sur, con, fol = (steady(n, rate) for n in ("surgical", "consult", "followup"))
    assert sur.width * sur.height > con.width * con.height > fol.width * fol.height
    assert sur.fps < con.fps < fol.fps


@pytest.mark.parametrize("rate", [100_000, 150_000, 300_000, 400_000, 600_000])
def test_profiles_keep_the_resolution_order_at_every_rate(rate: int) -> None:
    sur, con, fol = (steady(n, rate) for n in ("surgical", "consult", "followup"))
    assert sur.width * sur.height > con.width * con.height > fol.width * fol.height
    assert sur.fps <= con.fps


@pytest.mark.parametrize("name", CLINICAL)
def test_profiles_keep_their_floors_while_bandwidth_allows(name: str) -> None:
    pol = policies.load(name)
    prof = pol.profile
    states = mo.Adaptation(pol).core.states
    in_floor = [s for s in states if s[0] * s[1] >= prof.min_pixels and s[2] >= prof.min_fps]
    assert in_floor, "the camera must be able to meet the floors"
    enough = int(in_floor[-1][3] * (1 + pol.adaptation.up_margin) * 1.01) + 1
    for rate in np.geomspace(enough, 4_000_000, 6):
        s = steady(pol, int(rate), 90.0)
        assert s.width * s.height >= prof.min_pixels, (rate, s)
        assert s.fps >= prof.min_fps, (rate, s)
    # below that, the floors go, each profile in its own order
    s = steady(pol, int(in_floor[-1][3] * 0.5), 30.0)
    assert s.width * s.height < prof.min_pixels or s.fps < prof.min_fps


def test_each_profile_degrades_in_its_own_order() -> None:
    def first_drop(name: str) -> str:
        states = mo.Adaptation(name).core.states
        a, b = states[0], states[1]
        return "fps" if b[:2] == a[:2] else "resolution"

    assert first_drop("surgical") == "fps"  # keeps the picture
    assert first_drop("followup") == "resolution"  # keeps the motion
    assert first_drop("gcc") == "resolution"  # libwebrtc maintain-framerate
    # balanced: both move before the floors are reached
    con = mo.Adaptation("consult").core.states
    assert len({s[2] for s in con[:6]}) > 1 and len({s[:2] for s in con[:6]}) > 1


# --- protection ---


@pytest.mark.parametrize("name", BUILTINS)
def test_no_protection_without_loss(name: str) -> None:
    ad = mo.Adaptation(name)
    for i, rate in enumerate(np.linspace(50_000, 3_000_000, 40)):
        s = ad.update(float(rate), 0.0, 80_000, i * 200_000)
        assert s.fec_rate == 0.0
        capped = min(int(rate), ad.policy.max_bps)
        assert s.bitrate_bps == min(capped, ad.core.states[ad.core.state_index][4])


@pytest.mark.parametrize("name", BUILTINS)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 6_000_000),
            st.floats(0.0, 1.0),
            st.integers(0, 1_000_000),
            st.integers(0, 2_000_000),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_media_never_exceeds_target_minus_protection(
    name: str, steps: list[tuple[int, float, int, int]]
) -> None:
    ad = mo.Adaptation(name)
    now = 0
    for target, loss, rtt, dt in steps:
        now += dt
        s = ad.update(target, loss, rtt, now)
        assert 0.0 <= s.fec_rate <= 0.5
        assert s.bitrate_bps >= 0
        assert s.bitrate_bps <= min(target, ad.policy.max_bps) * (1.0 - s.fec_rate) + 1e-6
        assert not math.isnan(s.fps) and s.fps > 0


def test_fec_rate_index_and_table_lookup() -> None:
    table = fec.fec_rate_table()
    assert len(table) == fec.FEC_RATE_TABLE_SIZE == 50 * fec.PACKET_LOSS_MAX
    assert max(table) < fec.PACKET_LOSS_MAX  # protection never above 50 %
    assert table[:33] == [0] * 33  # the lowest rate row starts unprotected
    # 500 kbit/s, 30 fps, 640x480: 16 kbit/frame, resolution factor (307200/405504)^-0.3,
    # effective rate 17 -> row (17 - 5) // 5 = 2; 2+ packets per frame -> at least 51
    factor, corr = fec.fec_factor_delta(25, 500.0, 30.0, 640, 480)
    assert fec.bits_per_frame_kbits(500.0, 30.0) == 16
    assert factor == max(table[2 * 129 + 25], 51)
    assert corr in (0.0, 0.5, 1.0)
    # no loss, no protection
    assert fec.fec_factor_delta(0, 500.0, 30.0, 640, 480)[0] == 0
    # temporal layers: FEC covers the base layer only (40 % of the rate at 1/4 the frames)
    assert fec.bits_per_frame_kbits(900.0, 30.0, 3) == int(900 * 0.4 / 7.5)


def test_hybrid_nack_fec_rule_follows_libwebrtc() -> None:
    args = (40, 2500.0, 30.0, 1280, 720)
    fec_only, _ = fec.protection_factor("fec", *args, rtt_ms=5)
    assert fec_only > 0
    # below kLowRttNackMs (20 ms) the hybrid relies on NACK alone
    assert fec.protection_factor("nack_fec", *args, rtt_ms=19)[0] == 0
    assert fec.protection_factor("nack_fec", *args, rtt_ms=20)[0] == fec_only
    assert fec.protection_factor("nack", *args, rtt_ms=100)[0] == 0
    # too few bytes per frame for FEC to be worth it (BitRateTooLowForFec) ...
    assert fec.protection_factor("nack_fec", 40, 60.0, 30.0, 320, 180, rtt_ms=50)[0] == 0
    # ... unless the RTT is long (>= 200 ms)
    assert fec.protection_factor("nack_fec", 40, 60.0, 30.0, 320, 180, rtt_ms=250)[0] > 0


def test_loss_is_max_filtered_over_ten_seconds() -> None:
    ad = mo.Adaptation("gcc")
    ad.update(1_000_000, 0.1, 50_000, 0)
    for t in range(1, 10):
        ad.update(1_000_000, 0.0, 50_000, t * 1_000_000)
        assert ad.core.filtered_loss == pytest.approx(25 / 255)  # 0.1 * 256 -> 25
    ad.update(1_000_000, 0.0, 50_000, 12_000_000)
    assert ad.core.filtered_loss == 0.0


def test_hybrid_overhead_is_charged_to_the_media_rate() -> None:
    ad = mo.Adaptation("gcc")
    ad.update(2_500_000, 0.0, 50_000, 0)
    s = ad.update(2_500_000, 0.05, 50_000, 100_000)
    assert s.nack
    assert s.fec_rate > 0
    assert s.bitrate_bps < 2_500_000 * (1 - s.fec_rate)  # NACK retransmissions cost too
    # at 10 ms RTT: NACK only, so no FEC
    ad2 = mo.Adaptation("gcc")
    ad2.update(2_500_000, 0.0, 10_000, 0)
    s2 = ad2.update(2_500_000, 0.05, 10_000, 100_000)
    assert s2.nack and s2.fec_rate == 0.0


# --- keyframes ---


def test_keyframe_requested_on_unrecoverable_loss_and_rate_limited() -> None:
    pol = policies.load("gcc")
    pol = pol.replace(adaptation=dataclasses.replace(pol.adaptation, protection="none"))
    ad = mo.Adaptation(pol)
    assert not ad.update(1_000_000, 0.0, 50_000, 0).request_keyframe
    assert ad.update(1_000_000, 0.05, 50_000, 100_000).request_keyframe
    assert not ad.update(1_000_000, 0.05, 50_000, 200_000).request_keyframe  # within the gap
    gap_us = int(pol.adaptation.keyframe_min_gap_s * 1e6)
    assert ad.update(1_000_000, 0.05, 50_000, 100_000 + gap_us).request_keyframe
    # with retransmission available, loss is repairable: no request
    ad2 = mo.Adaptation("gcc")
    ad2.update(1_000_000, 0.0, 10_000, 0)
    assert not ad2.update(1_000_000, 0.05, 10_000, 100_000).request_keyframe


def test_nack_switched_off_beyond_the_policy_rtt_limit() -> None:
    ad = mo.Adaptation("surgical")
    ad.update(1_000_000, 0.0, 100_000, 0)
    assert ad.update(1_000_000, 0.02, 100_000, 100_000).nack
    assert not ad.update(1_000_000, 0.02, 400_000, 200_000).nack


# --- the Python boundary and the contract ---


@pytest.mark.parametrize(
    ("args", "word"),
    [
        ((1e6, float("nan"), 0, 0), "loss"),
        ((1e6, -0.1, 0, 0), "loss"),
        ((1e6, 1.5, 0, 0), "loss"),
        ((-1.0, 0.0, 0, 0), "target_bps"),
        ((float("nan"), 0.0, 0, 0), "target_bps"),
        ((float("inf"), 0.0, 0, 0), "target_bps"),
        ((1e6, 0.0, -5, 0), "rtt_us"),
    ],
)
def test_bad_inputs_raise_value_error(args: tuple[float, float, int, int], word: str) -> None:
    ad = mo.Adaptation("consult")
    with pytest.raises(ValueError, match=word):
        ad.update(*args)


def test_time_going_backwards_raises() -> None:
    ad = mo.Adaptation("consult")
    ad.update(1e6, 0.0, 0, 1_000_000)
    with pytest.raises(ValueError, match="now_us"):
        ad.update(1e6, 0.0, 0, 999_999)
    ad.update(1e6, 0.0, 0, 1_000_000)  # equal time is fine


def test_bad_camera_raises() -> None:
    with pytest.raises(ValueError, match="max_width"):
        mo.Adaptation("gcc", max_width=0)
    with pytest.raises(ValueError, match="max_fps"):
        mo.Adaptation("gcc", max_fps=float("nan"))
    with pytest.raises(ValueError, match="unknown policy"):
        mo.Adaptation("no-such-policy")


def test_contract_shape() -> None:
    ad = mo.Adaptation(policies.load("consult"), max_width=1280, max_height=720, max_fps=30)
    assert isinstance(ad.core, AdaptationCore)
    assert ad.policy.name == "consult"
    s = ad.update(1_000_000, 0.0, 50_000, 0)
    assert isinstance(s, mo.EncoderSettings)
    assert set(s.as_dict()) == {
        "bitrate_bps", "width", "height", "fps", "keyframe_interval_s", "request_keyframe",
        "fec_rate", "nack", "temporal_layers",
    }  # fmt: skip
    with pytest.raises(AttributeError):
        s.width = 10  # type: ignore[misc]
    assert s == mo.EncoderSettings(**s.as_dict())
    assert hash(s) == hash(mo.EncoderSettings(**s.as_dict()))
    assert "EncoderSettings(" in repr(s)
    assert ad.core.decide(1_000_000, 0.0, 50_000, 100_000)[1:3] == (s.width, s.height)


def test_encoder_settings_validates() -> None:
    with pytest.raises(ValueError, match="fec_rate"):
        mo.EncoderSettings(1000, 640, 480, 30.0, fec_rate=0.6)
    with pytest.raises(ValueError, match="width"):
        mo.EncoderSettings(1000, 0, 480, 30.0)


def test_reset_starts_afresh() -> None:
    ad = mo.Adaptation("gcc")
    first = ad.update(600_000, 0.0, 50_000, 0)
    ad.update(5_000_000, 0.2, 50_000, 30_000_000)
    ad.reset()
    assert ad.update(600_000, 0.0, 50_000, 0) == first


def test_core_clamps_what_it_is_given() -> None:
    # the replay loop calls the kernel directly; it must never misbehave
    core = mo.Adaptation("consult").core
    out = core.decide(-5, float("nan"), -1, 10)
    assert out[0] >= 0 and out[3] > 0 and out[6] == 0.0
    out = core.decide(1_000_000, 7.0, 0, 5)  # time backwards and loss > 1
    assert 0.0 <= out[6] <= 0.5


@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 6_000_000),
            st.floats(0.0, 1.0),
            st.integers(0, 500_000),
            st.integers(0, 1_500_000),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_update_many_makes_the_same_decisions_as_update(
    steps: list[tuple[int, float, int, int]],
) -> None:
    target = np.array([s[0] for s in steps], dtype=float)
    loss = np.array([s[1] for s in steps])
    rtt = np.array([s[2] for s in steps])
    now = np.cumsum([s[3] for s in steps])
    one, many = mo.Adaptation("surgical"), mo.Adaptation("surgical")
    out = many.update_many(target, loss, rtt, now)
    for i in range(len(steps)):
        s = one.update(target[i], loss[i], int(rtt[i]), int(now[i]))
        for key, value in s.as_dict().items():
            assert out[key][i] == value, (i, key)


def test_update_many_validates() -> None:
    ad = mo.Adaptation("gcc")
    with pytest.raises(ValueError, match="loss"):
        ad.update_many([1e6], [float("nan")], [0], [0])
    with pytest.raises(ValueError, match="now_us"):
        ad.update_many([1e6, 1e6], [0.0, 0.0], [0, 0], [5, 4])
    with pytest.raises(ValueError, match="same length"):
        ad.update_many([1e6], [0.0, 0.0], [0], [0])
    ad.update(1e6, 0.0, 0, 100)
    with pytest.raises(ValueError, match="now_us"):
        ad.update_many([1e6], [0.0], [0], [50])
    assert ad.update_many([], [], [], [])["width"].shape == (0,)


def test_public_adaptation_builds_on_the_compiled_class() -> None:
    from mediaopt._core import adaptation as core

    ad = mo.Adaptation("consult", max_width=960, max_height=540, max_fps=25)
    assert isinstance(ad, core.Adaptation) and type(ad) is not core.Adaptation
    assert ad.policy.name == "consult" and repr(ad).startswith("Adaptation(policy='consult'")
    # the compiled class alone drives the same kernel the same way
    kernel = policies.build_core(policies.load("consult"), 960, 540, 25)
    bare = core.Adaptation(kernel)
    for t_us, rate in enumerate((300_000, 800_000, 1_500_000, 400_000)):
        assert bare.update(rate, 0.01, 60_000, t_us * 2_000_000) == ad.update(
            rate, 0.01, 60_000, t_us * 2_000_000
        )
    with pytest.raises(TypeError):
        core.Adaptation("consult")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_width"):
        mo.Adaptation("gcc", max_width=1280.5)  # type: ignore[arg-type]
