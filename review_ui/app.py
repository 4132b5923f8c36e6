"""Bearwatch review UI: the router. Pages render themselves (`review_ui/views/*.py`); which
pages a user sees is decided by their role (`review_ui.auth.PAGES_BY_ROLE`).

Run with `bearwatch ui` (it passes the config path in $BEARWATCH_CONFIG).
"""

from __future__ import annotations

import streamlit as st

from review_ui import session
from review_ui.auth import pages_for

st.set_page_config(page_title="Bearwatch", page_icon="🐻", layout="wide")
session.init()

PAGES = {
    "review": st.Page("views/review.py", title="Review", icon=":material/pets:", url_path="review"),
    "audit": st.Page("views/audit.py", title="Audit", icon=":material/search:", url_path="audit"),
    "report_miss": st.Page("views/report_miss.py", title="Report a miss", icon=":material/edit_note:",
                           url_path="report-miss"),
    "cameras": st.Page("views/cameras.py", title="Cameras", icon=":material/videocam:", url_path="cameras"),
    "reports": st.Page("views/reports.py", title="Reports", icon=":material/monitoring:", url_path="reports"),
    "rollout": st.Page("views/rollout.py", title="Rollout", icon=":material/traffic:", url_path="rollout"),
    "users": st.Page("views/users.py", title="Users", icon=":material/group:", url_path="users"),
}

user = st.session_state[session.USER]
if user is None:
    page = st.navigation([st.Page("views/login.py", title="Log in", url_path="login")],
                         position="hidden")
else:
    with st.sidebar:
        st.markdown(f"**{user.name}** · {user.role.value}")
        if st.button("Log out", key="logout"):
            for key in session.DEFAULTS:
                st.session_state[key] = session.DEFAULTS[key]
            st.rerun()
    page = st.navigation([PAGES[key] for key in pages_for(user.role)])
page.run()
