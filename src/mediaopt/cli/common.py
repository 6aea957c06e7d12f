"""What every command family shares: the error a user can fix (one line, exit status 2)."""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """A problem with the user's input: reported in one line, exit status 2."""
