import numpy as np
import numpy.typing as npt

def ssim_plane(
    ref: npt.NDArray[np.uint8], dis: npt.NDArray[np.uint8], peak: float = 255.0
) -> float: ...
