"""The idle log-out: the pure rule (`review_ui.session.idle_expired`), then the real app through
Streamlit's AppTest; and the login lock seen from the login form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import AuditLog, ReviewLease
from kernel.records import utc_now
from review_ui.session import LAST_SEEN, LOGOUT_REASON, USER, idle_expired
from tests.review_ui import builders as b
from tests.review_ui.conftest import UIEnv
from tests.review_ui.test_app import errors, logged_in

T = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
TIMEOUT = timedelta(minutes=30)


@pytest.mark.parametrize(("last_seen", "expected"), [
    (None, False),                                     # a session just begun
    (T, False),                                        # seen now
    (T - TIMEOUT, False),                              # exactly the timeout: still in
    (T - TIMEOUT - timedelta(seconds=1), True),        # longer: out
    (T - timedelta(hours=5), True),
])
def test_idle_expired_by_time_since_last_seen(last_seen: datetime | None,
                                              expected: bool) -> None:
    assert idle_expired(last_seen, T, TIMEOUT) is expected


def test_idle_session_is_logged_out_on_next_click_and_told_why(ui_env: UIEnv) -> None:
    b.store(ui_env.sessions, [b.alert()])
    at = logged_in("ann")
    at.button(key="claim").click().run()
    with ui_env.sessions() as s:
        assert len(s.scalars(select(ReviewLease)).all()) == 1
    # 31 minutes without a full run (the default timeout is 30)
    at.session_state[LAST_SEEN] = utc_now() - timedelta(minutes=31)
    at.button(key="review_bear").click().run()
    assert not at.exception
    assert at.session_state[USER] is None
    assert at.session_state[LOGOUT_REASON] == (
        "Logged out after 30 minutes without activity; log in again.")
    assert [w.value for w in at.warning] == [at.session_state[LOGOUT_REASON]]
    with ui_env.sessions() as s:  # no verdict went in, and the claim went back to the queue
        assert s.scalars(select(ReviewLease)).all() == []
        assert s.scalar(select(AuditLog.action).where(AuditLog.action == "review.verdict")) \
            is None


def test_active_session_stays_logged_in(ui_env: UIEnv) -> None:
    at = logged_in("ann")
    at.session_state[LAST_SEEN] = utc_now() - timedelta(minutes=29)
    at.run()
    assert at.session_state[USER] is not None and not at.warning


def test_login_form_locks_after_five_failures(ui_env: UIEnv) -> None:
    for _ in range(5):
        assert logged_in("ann", "not the password").session_state[USER] is None
    at = logged_in("ann")  # the right password, but locked
    assert at.session_state[USER] is None
    assert errors(at)[0].startswith("Unknown user, wrong password, account disabled, or locked")
    with ui_env.sessions() as s:
        actions = list(s.scalars(select(AuditLog.action).where(AuditLog.subject == "user:ann")
                                 .order_by(AuditLog.id)))
    assert actions[-7:] == ["user.login_failed"] * 5 + ["user.lock", "user.login_failed"]
