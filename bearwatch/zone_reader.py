"""Per-zone settings the running detector takes from the database without a restart (the
zones' shadow and live model versions, their calibrated thresholds): one reader that re-reads
every `ttl_s` and, during an outage, keeps the last value seen."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from db import DatabaseError

log = logging.getLogger("bearwatch.zones")

# How long a read is reused before the database is asked again, s: an admin's change takes
# effect within this, without a query per batch.
ZONE_SETTINGS_TTL_S = 30.0

V = TypeVar("V")


class ZoneReader(Generic[V]):
    """Zone id → a value, as `read` gets it from the database, re-read every `ttl_s`; during
    an outage the last seen (logged with `what`).

    Args:
        read: the repository function (session → zone id → value).
        what: names the setting in the outage warning.
        monotonic: clock, s (inject for tests).
    """

    def __init__(self, sessions: sessionmaker[Session], read: Callable[[Session], dict[str, V]],
                 what: str, *, ttl_s: float, monotonic: Callable[[], float]) -> None:
        self.sessions = sessions
        self.read = read
        self.what = what
        self.ttl_s = ttl_s
        self.monotonic = monotonic
        self.current: dict[str, V] = {}
        self._read_at: float | None = None

    def get(self) -> dict[str, V]:
        """The values now (cached for `ttl_s`; the last known while the database is down)."""
        now = self.monotonic()
        if self._read_at is not None and now - self._read_at < self.ttl_s:
            return self.current
        try:
            with self.sessions() as session:
                self.current = self.read(session)
        except (SQLAlchemyError, DatabaseError) as exc:
            log.warning(f"{self.what} unavailable; using last known",
                        extra={"error": str(exc).splitlines()[0]})
            return self.current
        self._read_at = now
        return self.current
