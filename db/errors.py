"""Errors of the database stage."""

from __future__ import annotations

from kernel.errors import BearwatchError


class DatabaseError(BearwatchError):
    """The database cannot be reached, is not migrated, or refused a change."""


class NotMigratedError(DatabaseError):
    def __init__(self, url: str, current: str | None, head: str) -> None:
        super().__init__(
            f"database {url} is at revision {current or 'empty'}, code expects {head}; "
            "run `bearwatch db upgrade`"
        )


class NotFoundError(DatabaseError):
    """A row the caller named does not exist."""


class ConflictError(DatabaseError):
    """The change conflicts with the current state (already claimed, already reviewed …)."""
