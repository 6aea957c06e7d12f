import importlib.machinery
import os

import numpy as np
from mediaopt._core import _build

import mediaopt
from mediaopt.core import core_info


def test_compiled_core_is_the_one_running():
    info = core_info()
    assert info["compiled"] is True
    assert _build.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert "_build" in info["modules"]
    for path in info["modules"].values():
        assert path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_build_flavour_matches_what_ci_asked_for():
    # .ci/run sets MEDIAOPT_EXPECT_CORE=debug for its debug lane, release otherwise.
    expected = os.environ.get("MEDIAOPT_EXPECT_CORE")
    info = core_info()
    if expected is not None:
        assert info["debug"] is (expected == "debug")
        assert info["linetrace"] is (expected == "debug")
    assert info["directives"]["boundscheck"] is info["debug"]
    assert info["directives"]["wraparound"] is False
    assert info["directives"]["cdivision"] is True


def test_c_aliases_match_numpy_dtypes():
    sizes = _build.TYPE_SIZES
    assert sizes["time_us_t"] == np.dtype(np.int64).itemsize
    assert sizes["bytes_t"] == np.dtype(np.int64).itemsize
    assert sizes["bps_t"] == np.dtype(np.int64).itemsize
    assert sizes["ratio_t"] == np.dtype(np.float64).itemsize


def test_version_and_lost_marker():
    assert isinstance(mediaopt.__version__, str) and mediaopt.__version__.count(".") >= 2
    assert mediaopt.LOST == -1
