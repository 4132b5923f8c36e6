"""Log in with a user of the users table (argon2 hashes); the role decides the pages."""

from __future__ import annotations

import streamlit as st

from review_ui import queries
from review_ui.auth import login
from review_ui.session import USER


def render() -> None:
    st.title("Bearwatch — log in")
    with st.form("login"):
        name = st.text_input("User name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    with queries.context().sessions.begin() as s:
        user = login(s, name, password)
    if user is None:
        st.error("Unknown user, wrong password, or account disabled.")
        return
    st.session_state[USER] = user
    st.rerun()


if __name__ == "__main__":  # run as a page by st.navigation
    render()
