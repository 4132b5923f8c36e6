"""Per-browser-session state, initialised once at the top of every run (STYLE.md §5), the
idle log-out (`review_ui.idle_timeout_minutes`), and the signed cookie that carries a login
across a refresh (`review_ui.session_token`)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Literal

import streamlit as st

from db.users import UserInfo, resume_session, session_stamp
from review_ui import actions, queries
from review_ui.errors import PermissionDenied, ReviewUIError
from review_ui.session_token import COOKIE_NAME, cookie_script

USER = "user"
LAST_SEEN = "last_seen"
LOGOUT_REASON = "logout_reason"
# Cookie bookkeeping, kept across a log-out (not in DEFAULTS): the cookie Streamlit read when
# this connection opened stays in st.context for its whole life, so it is trusted only once.
COOKIE_READ = "cookie_read"    # this connection's cookie was looked at already
COOKIE_ISSUED = "cookie_issued"  # (token, issued at UTC) this session last wrote, or None
CLEAR_COOKIE = "clear_cookie"  # the browser still holds a cookie that must go
# The cookie is issued again on a full run once it is this old (at most), so it expires
# between this long before the idle timeout and the timeout itself after the last activity.
REISSUE_AFTER = timedelta(seconds=60)
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
    for key, value in {**DEFAULTS, COOKIE_READ: False, COOKIE_ISSUED: None,
                       CLEAR_COOKIE: False}.items():
        if key not in st.session_state:
            st.session_state[key] = value


def restore_from_cookie(now: datetime, timeout: timedelta) -> None:
    """Once per connection, before the idle check: log in the user a valid session cookie
    names (a refresh, a deep link, a second tab). A forged or expired cookie, or one whose
    user is gone, disabled, locked or has a new password, is refused and cleared."""
    if st.session_state[COOKIE_READ]:
        return
    st.session_state[COOKIE_READ] = True
    raw = st.context.cookies.get(COOKIE_NAME)
    if not raw or st.session_state.get(USER) is not None:
        return
    token = queries.signer().verify(raw, now=now, max_age=timeout)
    user = None
    if token is not None:
        with queries.context().sessions() as s:
            user = resume_session(s, token.user_id, token.stamp, now=now)
    if user is None:
        st.session_state[CLEAR_COOKIE] = True
        return
    st.session_state[USER] = user
    st.session_state[COOKIE_ISSUED] = (raw, token.issued_at) if token is not None else None


def write_cookie(now: datetime, timeout: timedelta) -> None:
    """On every full run, write the browser's cookie where the element is drawn: issue a new
    one when this session has none or its cookie is `REISSUE_AFTER` old (activity keeps it
    alive), clear it after a log-out or a refused cookie."""
    user = st.session_state.get(USER)
    if not isinstance(user, UserInfo):
        if st.session_state[CLEAR_COOKIE]:
            st.html(cookie_script(None, max_age=timeout), unsafe_allow_javascript=True)
        return
    issued = st.session_state[COOKIE_ISSUED]
    if issued is None or now - issued[1] >= min(REISSUE_AFTER, timeout / 2):
        with queries.context().sessions() as s:
            stamp = session_stamp(s, user.id)
        if stamp is None:  # deleted meanwhile: the next action refuses it anyway
            return
        issued = (queries.signer().sign(user.id, stamp, now=now), now)
        st.session_state[COOKIE_ISSUED] = issued
    st.session_state[CLEAR_COOKIE] = False
    # the same script on every run until the next issue: the browser runs it once
    st.html(cookie_script(issued[0], max_age=timeout), unsafe_allow_javascript=True)


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
    st.session_state[COOKIE_ISSUED] = None
    st.session_state[CLEAR_COOKIE] = True


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
