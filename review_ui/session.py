"""Per-browser-session state, initialised once at the top of every run (STYLE.md §5)."""

from __future__ import annotations

import streamlit as st

from db.users import UserInfo
from review_ui import actions, queries
from review_ui.errors import PermissionDenied, ReviewUIError

USER = "user"
DEFAULTS: dict[str, object] = {
    USER: None,
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
    for key, kind in (("review_alert", "alert"), ("audit_item", "audit")):
        item = st.session_state.get(key)
        if item is not None:
            try:
                actions.release(ctx, user, kind, str(item.id))
            except ReviewUIError:
                pass  # e.g. demoted meanwhile: the lease then simply runs out
