import numpy as np
import numpy.typing as npt

class InputError(ValueError): ...

def first_out_of_range(
    x: npt.NDArray[np.int64], lo: int, hi: int, has_allowed: bool = False, allowed: int = 0
) -> int: ...
