"""Failed logins lock an account for a cool-down, stored in the users row (db.users), and every
path that sets a password enforces the configured minimum length. Both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db import make_engine, make_sessionmaker
from db.audit import AuditEntry, recent
from db.models import User
from db.users import LoginPolicy, add_user, authenticate, update_user
from kernel.records import Role

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PASSWORD = "correct horse battery"
POLICY = LoginPolicy(max_failed_logins=5, lockout=timedelta(minutes=15))


def _user(sessions: sessionmaker[Session], name: str = "ana") -> None:
    with sessions.begin() as s:
        add_user(s, name=name, role=Role.OPERATOR, password=PASSWORD, actor="t", now=NOW)


def _attempt(sessions: sessionmaker[Session], password: str, at: datetime,
             name: str = "ana") -> bool:
    """One login as the UI makes it: its own transaction, committed whatever the outcome."""
    with sessions.begin() as s:
        return authenticate(s, name, password, now=at, policy=POLICY) is not None


def _state(sessions: sessionmaker[Session], name: str = "ana") -> tuple[int, datetime | None]:
    with sessions() as s:
        row = s.scalars(select(User).where(User.name == name)).one()
        return row.failed_logins, row.locked_until


def _audit(sessions: sessionmaker[Session], name: str = "ana") -> list[AuditEntry]:
    with sessions() as s:
        return list(reversed(recent(s, subject_prefix=f"user:{name}")))


def test_authenticate_fifth_failure_locks_until_cooldown_ends(
        sessions: sessionmaker[Session]) -> None:
    _user(sessions)
    for i in range(4):
        assert not _attempt(sessions, "wrong password", NOW + timedelta(seconds=i))
    assert _state(sessions) == (4, None)
    assert not _attempt(sessions, "wrong password", NOW + timedelta(seconds=4))
    until = NOW + timedelta(seconds=4) + POLICY.lockout
    assert _state(sessions) == (0, until)
    # locked: the right password is refused too, until the cool-down is over
    assert not _attempt(sessions, PASSWORD, until - timedelta(seconds=1))
    assert _attempt(sessions, PASSWORD, until + timedelta(seconds=1))
    assert _state(sessions) == (0, None)
    entries = _audit(sessions)
    assert [e.action for e in entries] == (
        ["user.add"] + ["user.login_failed"] * 5 + ["user.lock", "user.login_failed"])
    lock = entries[-2]
    assert (lock.actor, lock.to_value, lock.reason) == (
        "login", until.isoformat(), "5 failed logins in a row")
    assert lock.figures == {"failed_logins": 5, "max_failed_logins": 5}
    assert entries[5].figures["failed_logins"] == 5
    assert entries[-1].reason == f"account locked until {until.isoformat()}"


def test_authenticate_success_resets_the_count(sessions: sessionmaker[Session]) -> None:
    _user(sessions)
    for i in range(4):
        assert not _attempt(sessions, "wrong password", NOW + timedelta(seconds=i))
    assert _attempt(sessions, PASSWORD, NOW + timedelta(seconds=5))
    assert _state(sessions) == (0, None)
    for i in range(4):
        assert not _attempt(sessions, "wrong password", NOW + timedelta(seconds=10 + i))
    assert _state(sessions) == (4, None)  # 8 failures, never 5 in a row: not locked


def test_lock_holds_for_another_ui_process(sessions: sessionmaker[Session], db_url: str) -> None:
    """A second engine on the same database (another UI process, or one after a restart)
    sees the lock that the first wrote."""
    _user(sessions)
    for i in range(5):
        _attempt(sessions, "wrong password", NOW + timedelta(seconds=i))
    other = make_engine(db_url)
    try:
        assert not _attempt(make_sessionmaker(other), PASSWORD, NOW + timedelta(minutes=1))
    finally:
        other.dispose()


def test_unknown_user_failure_is_audited(sessions: sessionmaker[Session]) -> None:
    assert not _attempt(sessions, PASSWORD, NOW, name="mallory")
    (entry,) = _audit(sessions, "mallory")
    assert (entry.action, entry.reason) == ("user.login_failed", "unknown user")


def test_password_reset_lifts_the_lock(sessions: sessionmaker[Session]) -> None:
    _user(sessions)
    for i in range(5):
        _attempt(sessions, "wrong password", NOW + timedelta(seconds=i))
    with sessions.begin() as s:
        update_user(s, "ana", actor="ada", now=NOW + timedelta(minutes=1),
                    password="a new long password")
    assert _state(sessions) == (0, None)
    assert _attempt(sessions, "a new long password", NOW + timedelta(minutes=2))
    assert [e.action for e in _audit(sessions)][-2:] == ["user.password", "user.unlock"]


@pytest.mark.parametrize(("max_failed", "minutes"), [(0, 15.0), (5, 0.0)])
def test_login_policy_out_of_range_is_refused(max_failed: int, minutes: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        LoginPolicy(max_failed_logins=max_failed, lockout=timedelta(minutes=minutes))


def test_min_password_length_on_add_and_change(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="at least 12 characters"), sessions.begin() as s:
        add_user(s, name="bo", role=Role.ADMIN, password="x" * 11, actor="t", now=NOW,
                 min_password_length=12)
    with sessions.begin() as s:
        add_user(s, name="bo", role=Role.ADMIN, password="x" * 12, actor="t", now=NOW,
                 min_password_length=12)
    with pytest.raises(ValueError, match="at least 12 characters"), sessions.begin() as s:
        update_user(s, "bo", actor="t", now=NOW, password="y" * 11, min_password_length=12)
    # the default floor (10) holds for a caller that passes none
    with pytest.raises(ValueError, match="at least 10 characters"), sessions.begin() as s:
        update_user(s, "bo", actor="t", now=NOW, password="y" * 9)
