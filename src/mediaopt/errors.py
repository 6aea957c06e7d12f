"""The one error type for bad input (DESIGN.md, "Units and names").

:class:`InputError` is defined in the compiled core (``mediaopt._core._check``) so that the
core raises it without importing the package above it; this module is where users and the
rest of the package take it from. :func:`clip_repr` shows an offending value in a message,
cut to at most 120 characters (a hostile file can make a value as long as it likes).
"""

from mediaopt._core._check import InputError, clip_repr

__all__ = ["InputError", "clip_repr"]
