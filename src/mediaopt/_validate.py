"""Checks at the Python boundary, so the core can trust its typed inputs.

The checks themselves are compiled (``mediaopt._core._check``): the core's own ``def``
methods run the same code, so the Python API and the core accept the same values and word
their errors the same way. This module is where the rest of the package takes them from,
with the array type aliases the package annotates with. Each error is an
:class:`~mediaopt.errors.InputError` naming the argument and saying what is wrong with it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mediaopt._core._check import (
    as_float64_array,
    as_int64_array,
    check_float,
    check_int,
    check_nondecreasing,
    check_same_length,
)

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]
Int32Array = npt.NDArray[np.int32]

__all__ = [
    "Float64Array",
    "Int32Array",
    "Int64Array",
    "as_float64_array",
    "as_int64_array",
    "check_float",
    "check_int",
    "check_nondecreasing",
    "check_same_length",
]
