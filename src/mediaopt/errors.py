"""The one error type for bad input (DESIGN.md, "Units and names").

:class:`InputError` is defined in the compiled core (``mediaopt._core._check``) so that the
core raises it without importing the package above it; this module is where users and the
rest of the package take it from.
"""

from mediaopt._core._check import InputError

__all__ = ["InputError"]
