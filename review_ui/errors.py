"""Errors of the review UI.

    BearwatchError
    └── ReviewUIError
        └── PermissionDenied   the user's role (as stored now) may not take this action
"""

from __future__ import annotations

from kernel.errors import BearwatchError


class ReviewUIError(BearwatchError):
    """Something the review UI cannot do as asked."""


class PermissionDenied(ReviewUIError):
    """The acting user may not do this: wrong role, disabled, or unknown."""
