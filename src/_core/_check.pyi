from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

class InputError(ValueError): ...

def check_int(
    name: str, value: Any, *, min_value: int | None = None, max_value: int | None = None
) -> int: ...
def check_float(
    name: str, value: Any, *, min_value: float | None = None, max_value: float | None = None
) -> float: ...
def as_int64_array(
    name: str,
    values: Any,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
    allow: Sequence[int] = (),
) -> npt.NDArray[np.int64]: ...
def as_float64_array(
    name: str, values: Any, *, min_value: float | None = None, max_value: float | None = None
) -> npt.NDArray[np.float64]: ...
def check_same_length(**arrays: npt.NDArray[Any]) -> int: ...
def check_nondecreasing(name: str, arr: npt.NDArray[Any]) -> None: ...
def clip_repr(value: object, limit: int = 120) -> str: ...
