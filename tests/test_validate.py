import numpy as np
import pytest

from mediaopt._validate import (
    as_float64_array,
    as_int64_array,
    check_float,
    check_int,
    check_nondecreasing,
    check_same_length,
)


def test_int64_accepts_integers_and_integral_floats():
    out = as_int64_array("x", np.array([1, 2, 3], dtype=np.int32))
    assert out.dtype == np.int64 and out.flags.c_contiguous
    assert as_int64_array("x", [1.0, 2.0]).tolist() == [1, 2]
    assert as_int64_array("x", 5).tolist() == [5]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1.5], "fractional"),
        ([float("nan")], "NaN"),
        ([float("inf")], "NaN or infinity"),
        (["a"], "dtype"),
        ([[1, 2]], "1-D"),
        ([True], "dtype"),
    ],
)
def test_int64_rejects_bad_input_naming_the_argument(values, message):
    with pytest.raises(ValueError, match=f"^size_bytes: .*{message}"):
        as_int64_array("size_bytes", np.asarray(values))


def test_int64_bounds_with_allowed_marker():
    assert as_int64_array("arrival_us", [-1, 0, 5], min_value=0, allow=(-1,)).tolist() == [-1, 0, 5]
    with pytest.raises(ValueError, match="arrival_us: value -2 is below the minimum 0"):
        as_int64_array("arrival_us", [-2, 5], min_value=0, allow=(-1,))
    with pytest.raises(ValueError, match="above the maximum"):
        as_int64_array("n", [7], max_value=6)


def test_float_array_and_scalars():
    assert as_float64_array("loss", [0, 0.5]).tolist() == [0.0, 0.5]
    with pytest.raises(ValueError, match=r"loss: value 1\.5 is above the maximum 1"):
        as_float64_array("loss", [1.5], min_value=0, max_value=1)
    with pytest.raises(ValueError, match="rate: must be finite"):
        check_float("rate", float("nan"))
    assert check_int("n", 3.0) == 3
    with pytest.raises(ValueError, match="n: expected an integer"):
        check_int("n", 3.5)
    with pytest.raises(ValueError, match="n: expected an integer"):
        check_int("n", True)


def test_lengths_and_order():
    assert check_same_length(a=np.zeros(3), b=np.zeros(3)) == 3
    with pytest.raises(ValueError, match="a=3, b=2"):
        check_same_length(a=np.zeros(3), b=np.zeros(2))
    with pytest.raises(ValueError, match="send_us: not non-decreasing at index 2"):
        check_nondecreasing("send_us", np.array([1, 2, 1]))


def test_int64_fast_path_returns_the_array_itself_and_still_checks_ranges():
    a = np.array([-1, 0, 7], dtype=np.int64)
    assert as_int64_array("arrival_us", a, min_value=0, allow=(-1,)) is a
    with pytest.raises(ValueError, match=r"^arrival_us: value -3 is below the minimum 0"):
        as_int64_array("arrival_us", np.array([5, -3], dtype=np.int64), min_value=0, allow=(-1,))
    with pytest.raises(ValueError, match=r"^size_bytes: value 9 is above the maximum 8"):
        as_int64_array("size_bytes", np.array([1, 9], dtype=np.int64), max_value=8)
    # a non-contiguous view takes the general path and is copied
    v = np.arange(10, dtype=np.int64)[::2]
    out = as_int64_array("x", v, min_value=0)
    assert out.flags.c_contiguous and out.tolist() == [0, 2, 4, 6, 8]


def test_ints_beyond_int64_are_input_errors_not_overflow():
    with pytest.raises(ValueError, match=r"^n: 9223372036854775808 is outside the int64 range"):
        check_int("n", 2**63)
    with pytest.raises(ValueError, match="outside the int64 range"):
        check_int("n", -(2**63) - 1, max_value=5)
    with pytest.raises(ValueError, match="is above the maximum 10"):
        check_int("n", 2**80, max_value=10)
    # explicit bounds may be wider than int64 (a uint64 seed)
    assert check_int("seed", 2**64 - 1, min_value=0, max_value=2**64 - 1) == 2**64 - 1
    assert check_int("n", np.int32(7)) == 7 and check_int("n", np.float64(8.0)) == 8
    with pytest.raises(ValueError, match="n: must be finite"):
        check_float("n", 10**400)


@pytest.mark.parametrize(
    "call",
    [
        lambda mo: mo.GccEstimator().process(2**63),
        lambda mo: mo.GccEstimator().on_feedback([0], [10], [100], 2**70),
        lambda mo: mo.GccEstimator(start_bps=2**64),
        lambda mo: mo.bwe.AimdRateControl().set_rtt(2**64),
        lambda mo: mo.bwe.TrendlineEstimator().update(1.0, 1.0, 2**63, 0),
        lambda mo: mo.bwe.ProbeController().process(-(2**63) - 1),
        lambda mo: mo.Link(mo.traces.constant(500, 2)).enqueue(0, 100, 2**64),
    ],
)
def test_the_cores_def_methods_use_the_same_checks(call):
    import mediaopt as mo

    with pytest.raises(mo.InputError):
        call(mo)


def test_python_layer_and_core_share_one_definition():
    from mediaopt._core import _check

    from mediaopt import _validate

    for name in ("as_int64_array", "as_float64_array", "check_int", "check_float",
                 "check_same_length", "check_nondecreasing"):  # fmt: skip
        assert getattr(_validate, name) is getattr(_check, name), name
