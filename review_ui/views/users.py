"""Users (admins): add, disable or enable, reset a password, change a role. Each change is
re-checked on the server (`require_role`) and audited by `db.users`."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from db.errors import DatabaseError
from kernel.records import Role
from review_ui import actions, queries
from review_ui.errors import ReviewUIError
from review_ui.session import current_user, flash, show_flash


def _run(label: str, fn: Callable[[], object]) -> None:
    try:
        fn()
    except (DatabaseError, ValueError, ReviewUIError) as exc:
        st.error(f"{label} failed: {exc}")
        return
    queries.users.clear()
    flash(f"{label}: done.")
    st.rerun()


def render() -> None:
    st.title("Users")
    show_flash()
    ctx, me = queries.context(), current_user()
    min_length = ctx.config.review_ui.min_password_length
    people = queries.users(queries.config_path())
    st.dataframe([{"name": u.name, "role": u.role.value,
                   "status": "disabled" if u.disabled else "enabled"} for u in people],
                 hide_index=True, width="stretch")
    with st.form("add_user", clear_on_submit=True):
        st.subheader("Add a user")
        name = st.text_input("Name", key="new_name")
        role = st.selectbox("Role", list(Role), format_func=lambda r: r.value, key="new_role")
        password = st.text_input(f"Initial password ({min_length}+ characters)", type="password",
                                 key="new_password")
        if st.form_submit_button("Add user"):
            if role is None:  # the select box can be cleared; create_user needs a role
                st.error("Pick a role for the new user.")
            else:
                _run(f"Add {name}", lambda: actions.create_user(ctx, me, name=name, role=role,
                                                                password=password))
    if not people:
        return
    st.subheader("Change a user")
    who = st.selectbox("User", [u.name for u in people], key="edit_user")
    target = next(u for u in people if u.name == who)
    cols = st.columns(3)
    with cols[0]:
        new_role = st.selectbox("Role", list(Role), index=list(Role).index(target.role),
                                format_func=lambda r: r.value, key="edit_role")
        if st.button("Change role", key="edit_role_btn"):
            _run(f"Role of {who}", lambda: actions.change_user(ctx, me, who, role=new_role))
    with cols[1]:
        label = "Enable" if target.disabled else "Disable"
        if st.button(label, key="edit_disable_btn"):
            _run(f"{label} {who}",
                 lambda: actions.change_user(ctx, me, who, disabled=not target.disabled))
    with cols[2]:
        new_pw = st.text_input(f"New password ({min_length}+ characters)", type="password",
                               key="edit_password")
        if st.button("Reset password", key="edit_password_btn"):
            _run(f"Password of {who}", lambda: actions.change_user(ctx, me, who, password=new_pw))


if __name__ == "__main__":  # run as a page by st.navigation
    render()
