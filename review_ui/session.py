"""Per-browser-session state, initialised once at the top of every run (STYLE.md §5), and
the idle log-out (`review_ui.idle_timeout_minutes`)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Literal

import streamlit as st

from db.users import UserInfo
from review_ui import actions, queries
from review_ui.errors import PermissionDenied, ReviewUIError

USER = "user"
LAST_SEEN = "last_seen"
LOGOUT_REASON = "logout_reason"
DEFAULTS: dict[str, object] = {
    USER: None,
    LAST_SEEN: None,        # UTC time of this session's last full run (an interaction)
    LOGOUT_REASON: None,    # why the session was logged out, shown on the login page
    "review_alert": None,   # the AlertDetail this operator holds, if any
    "audit_item": None,     # the AuditItem this operator holds, if any
    "miss_report_id": None,  # the report whose frame is being attached
    "flash": None,          # one message to show after a rerun
}


def init() -> None:
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value


def current_user() -> UserInfo:
    """The logged-in user; pages are only routed when there is one."""
    user = st.session_state.get(USER)
    if not isinstance(user, UserInfo):
        raise PermissionDenied("not logged in; log in first")
    return user


def idle_expired(last_seen: datetime | None, now: datetime, timeout: timedelta) -> bool:
    """Whether a session last seen at `last_seen` has been idle for longer than `timeout` at
    `now` (both UTC). A session never seen (None) is not idle: it has just begun."""
    return last_seen is not None and now - last_seen > timeout


def log_out(reason: str | None = None) -> None:
    """Return this session's claims to the queue and reset its state; `reason` is shown on the
    login page that follows."""
    give_back_claims()
    for key, value in DEFAULTS.items():
        st.session_state[key] = value
    st.session_state[LOGOUT_REASON] = reason


def enforce_idle_timeout(now: datetime, timeout: timedelta) -> None:
    """At the top of every full run: log out a session idle for longer than `timeout`, then
    mark it seen at `now`.

    A full run only follows an interaction (a click, a key, a form); the Review page's live
    queue refreshes as a fragment, which does not run the app's top, so an open but unused
    tab still times out.
    """
    user = st.session_state.get(USER)
    if isinstance(user, UserInfo) and idle_expired(st.session_state.get(LAST_SEEN), now, timeout):
        minutes = timeout.total_seconds() / 60
        log_out(f"Logged out after {minutes:g} minutes without activity; log in again.")
    st.session_state[LAST_SEEN] = now


def flash(message: str) -> None:
    st.session_state["flash"] = message


def show_flash() -> None:
    message = st.session_state.get("flash")
    if message:
        st.success(message)
        st.session_state["flash"] = None


def give_back_claims() -> None:
    """On log-out, return the alert and audit sample this session holds to the queue, so
    they do not wait for the lease to run out."""
    user = st.session_state.get(USER)
    if not isinstance(user, UserInfo):
        return
    ctx = queries.context()
    claims: tuple[tuple[str, Literal["alert", "audit"]], ...] = (
        ("review_alert", "alert"), ("audit_item", "audit"))
    for key, kind in claims:
        item = st.session_state.get(key)
        if item is not None:
            # a failed release (e.g. demoted meanwhile) is fine: the lease then simply runs out
            with contextlib.suppress(ReviewUIError):
                actions.release(ctx, user, kind, str(item.id))
