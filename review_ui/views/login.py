"""Log in with a user of the users table (argon2 hashes); the role decides the pages."""

from __future__ import annotations

import streamlit as st

from review_ui import queries
from review_ui.auth import login
from review_ui.session import LOGOUT_REASON, USER


def refusal_message(max_failed_logins: int, lockout_minutes: float) -> str:
    """One message for every refusal, so the form tells nobody whether a name exists or is
    locked; it names the lock so a locked-out operator knows to wait or ask an admin."""
    return ("Unknown user, wrong password, account disabled, or locked for "
            f"{lockout_minutes:g} minutes after {max_failed_logins} failed logins in a row.")


def render() -> None:
    st.title("Bearwatch — log in")
    reason = st.session_state.get(LOGOUT_REASON)
    if reason:
        st.warning(reason)
    with st.form("login"):
        name = st.text_input("User name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    ctx = queries.context()
    with ctx.sessions.begin() as s:  # committed on refusal too: the audit row and the count
        user = login(s, name, password, now=ctx.clock(), policy=ctx.login_policy)
    if user is None:
        ui = ctx.config.review_ui
        st.error(refusal_message(ui.max_failed_logins, ui.lockout_minutes))
        return
    st.session_state[USER] = user
    st.session_state[LOGOUT_REASON] = None
    st.rerun()


if __name__ == "__main__":  # run as a page by st.navigation
    render()
