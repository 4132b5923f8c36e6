"""Leader locks: a named lease so one process at a time runs a singleton job.

`acquire` is one conditional UPDATE (take the lock if we hold it or it has expired) and, when
no row exists, one INSERT … ON CONFLICT DO NOTHING. Either statement is atomic on SQLite
(writers are serialised) and on PostgreSQL (row lock / unique index), so of two racing
processes exactly one sees rowcount 1. Commit right after acquiring so others see it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import LeaderLock


def acquire(session: Session, name: str, holder: str, *, now: datetime, ttl_s: float) -> bool:
    """Take or renew the lock `name` for `holder` until now + ttl_s.

    Returns:
        True when `holder` holds the lock afterwards.
    """
    until = now + timedelta(seconds=ttl_s)
    res = session.execute(
        update(LeaderLock)
        .where(LeaderLock.name == name,
               or_(LeaderLock.holder == holder, LeaderLock.expires_at <= now))
        .values(holder=holder, expires_at=until).execution_options(synchronize_session=False))
    if res.rowcount == 1:  # type: ignore[attr-defined]
        return True
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    res = session.execute(insert(LeaderLock).values(name=name, holder=holder, expires_at=until)
                          .on_conflict_do_nothing(index_elements=["name"])
                          .returning(LeaderLock.name))
    return res.first() is not None


def release(session: Session, name: str, holder: str) -> None:
    """Give the lock up, if `holder` has it."""
    session.execute(delete(LeaderLock).where(LeaderLock.name == name, LeaderLock.holder == holder)
                    .execution_options(synchronize_session=False))


def holder_of(session: Session, name: str, *, now: datetime) -> str | None:
    """Who holds an unexpired lock `name`, if anyone."""
    return session.scalars(select(LeaderLock.holder).where(
        LeaderLock.name == name, LeaderLock.expires_at > now)).first()
