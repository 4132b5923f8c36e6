"""Errors of the review UI.

    BearwatchError
    └── ReviewUIError
        ├── PermissionDenied   the user's role (as stored now) may not take this action
        └── DatabaseUnavailable  the database went away during a write (nothing was stored)
"""

from __future__ import annotations

from kernel.errors import BearwatchError


class ReviewUIError(BearwatchError):
    """Something the review UI cannot do as asked."""


class PermissionDenied(ReviewUIError):
    """The acting user may not do this: wrong role, disabled, or unknown."""


class DatabaseUnavailable(ReviewUIError):
    """The database connection failed during a write; its transaction was rolled back."""
