"""Bearwatch review UI: the router. Pages render themselves (`review_ui/views/*.py`); which
pages a user sees is decided by their role (`review_ui.auth.PAGES_BY_ROLE`).

Run with `bearwatch ui` (it passes the config path in $BEARWATCH_CONFIG).
"""

from __future__ import annotations

import time
from datetime import timedelta

import streamlit as st

from review_ui import queries, session
from review_ui.auth import pages_for
from review_ui.display import title_script
from review_ui.page_errors import run_page


def _waiting_title() -> None:
    """The alerts waiting, in the tab title ("(2) Bearwatch"), refreshed with the live queue
    on every page, and the optional chime (`review_ui.new_alert_sound`) when they go up."""
    waiting = queries.counts(queries.config_path()).alerts_pending
    # A fresh marker each run, so the script runs again after a full rerun reset the title.
    st.html(f'<span hidden data-run="{time.monotonic_ns()}"></span>'
            + title_script(waiting, chime=_ctx.config.review_ui.new_alert_sound),
            unsafe_allow_javascript=True)


st.set_page_config(page_title="Bearwatch", page_icon="🐻", layout="wide")
session.init()
_ctx = queries.context()
_now, _timeout = _ctx.clock(), timedelta(minutes=_ctx.config.review_ui.idle_timeout_minutes)
session.restore_from_cookie(_now, _timeout)  # a refresh or a deep link keeps the login
session.enforce_idle_timeout(_now, _timeout)

# key -> (file, title, Material icon, URL path)
PAGE_SPECS = {
    "review": ("views/review.py", "Review", "pets", "review"),
    "audit": ("views/audit.py", "Audit", "search", "audit"),
    "report_miss": ("views/report_miss.py", "Report a miss", "edit_note", "report-miss"),
    "cameras": ("views/cameras.py", "Cameras", "videocam", "cameras"),
    "reports": ("views/reports.py", "Reports", "monitoring", "reports"),
    "rollout": ("views/rollout.py", "Rollout", "traffic", "rollout"),
    "users": ("views/users.py", "Users", "group", "users"),
}
PAGES = {key: st.Page(file, title=title, icon=f":material/{icon}:", url_path=url)
         for key, (file, title, icon, url) in PAGE_SPECS.items()}


def _not_for_role() -> None:
    """A page of the app this role does not see, opened by its URL: say so, not 'Page not
    found'."""
    st.title("Not available")
    st.info("Your role does not see this page. Pick one from the menu on the left.")


def _already_in() -> None:
    st.switch_page(PAGES[pages_for(st.session_state[session.USER].role)[0]])


# Every page's URL is known whoever asks, so a deep link or a refresh never meets Streamlit's
# "Page not found": logged out, each URL shows the log-in form and, once logged in, the same
# URL (a page's identity is its URL path) opens the page itself, query string kept.
user = st.session_state[session.USER]
if user is None:
    login_page = st.Page("views/login.py", title="Log in", url_path="login", default=True)
    page = st.navigation([login_page] + [
        st.Page("views/login.py", title="Log in", url_path=url, visibility="hidden")
        for _file, _title, _icon, url in PAGE_SPECS.values()], position="hidden")
else:
    with st.sidebar:
        st.markdown(f"**{user.name}** · {user.role.value}")
        if st.button("Log out", key="logout"):
            session.log_out()
            st.rerun()
    allowed = pages_for(user.role)
    if "review" in allowed:
        with st.sidebar:
            st.fragment(_waiting_title, run_every=timedelta(
                seconds=_ctx.config.review_ui.refresh_seconds))()
    page = st.navigation([PAGES[key] for key in allowed] + [
        st.Page(_not_for_role, title=title, url_path=url, visibility="hidden")
        for key, (_file, title, _icon, url) in PAGE_SPECS.items() if key not in allowed
    ] + [st.Page(_already_in, title="Log in", url_path="login", visibility="hidden")])
    with st.sidebar:
        session.write_cookie(_now, _timeout)
run_page(page, logging_config=_ctx.config.logging, user_name=user.name if user else None)
if user is None:  # below the form: clears a refused cookie, or the one a log-out left
    session.write_cookie(_now, _timeout)
