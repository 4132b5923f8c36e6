from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db import ConflictError
from db.audit import recent
from db.users import add_user, authenticate, update_user
from kernel.records import Role

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_add_user_hashes_password_and_audits(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        add_user(s, name="ana", role=Role.OPERATOR, password="correct horse", actor="t", now=NOW)
    with sessions.begin() as s:
        assert authenticate(s, "ana", "correct horse", now=NOW) is not None
        assert authenticate(s, "ana", "wrong password", now=NOW) is None
        assert authenticate(s, "nobody", "correct horse", now=NOW) is None
        entries = recent(s, subject_prefix="user:ana")
    assert [e.action for e in entries] == ["user.login_failed", "user.add"]


def test_add_user_duplicate_name_conflicts(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        add_user(s, name="bo", role=Role.ADMIN, password="0123456789", actor="t", now=NOW)
    with pytest.raises(ConflictError), sessions.begin() as s:
        add_user(s, name="bo", role=Role.ADMIN, password="0123456789", actor="t", now=NOW)


def test_short_password_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="at least"), sessions.begin() as s:
        add_user(s, name="cy", role=Role.ANALYST, password="short", actor="t", now=NOW)


def test_disabled_user_cannot_log_in(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        add_user(s, name="di", role=Role.OPERATOR, password="0123456789", actor="t", now=NOW)
        update_user(s, "di", actor="admin", now=NOW, disabled=True, role=Role.ANALYST)
    with sessions.begin() as s:
        assert authenticate(s, "di", "0123456789", now=NOW) is None
        assert [e.action for e in recent(s, subject_prefix="user:di")] == [
            "user.login_failed", "user.disable", "user.role", "user.add"]


def test_resume_session_refused_after_password_change_disable_lock_or_delete(
        sessions: sessionmaker[Session]) -> None:
    from datetime import timedelta

    from db.models import User
    from db.users import resume_session, session_stamp

    with sessions.begin() as s:
        uid = add_user(s, name="rey", role=Role.OPERATOR, password="correct horse", actor="t",
                       now=NOW).id
        stamp = session_stamp(s, uid)
    assert stamp is not None
    with sessions.begin() as s:
        resumed = resume_session(s, uid, stamp, now=NOW)
        assert resumed is not None and resumed.name == "rey"
        assert resume_session(s, uid, "0" * 16, now=NOW) is None  # a forged stamp
        update_user(s, "rey", actor="t", now=NOW, password="another horse")
    with sessions.begin() as s:
        assert resume_session(s, uid, stamp, now=NOW) is None  # signed before the change
        fresh = session_stamp(s, uid)
        assert fresh is not None and fresh != stamp
        assert resume_session(s, uid, fresh, now=NOW) is not None
        s.get(User, uid).locked_until = NOW + timedelta(minutes=5)  # type: ignore[union-attr]
    with sessions.begin() as s:
        assert resume_session(s, uid, fresh, now=NOW) is None
        assert resume_session(s, uid, fresh, now=NOW + timedelta(minutes=6)) is not None
        update_user(s, "rey", actor="t", now=NOW, disabled=True)
    with sessions.begin() as s:
        assert resume_session(s, uid, fresh, now=NOW) is None
        assert resume_session(s, uid + 1000, fresh, now=NOW) is None  # no such user
        assert session_stamp(s, uid + 1000) is None
