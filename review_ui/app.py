"""Bearwatch review UI: the router. Pages render themselves (`review_ui/views/*.py`); which
pages a user sees is decided by their role (`review_ui.auth.PAGES_BY_ROLE`).

Run with `bearwatch ui` (it passes the config path in $BEARWATCH_CONFIG).
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from review_ui import queries, session
from review_ui.auth import pages_for

st.set_page_config(page_title="Bearwatch", page_icon="🐻", layout="wide")
session.init()
_ctx = queries.context()
session.enforce_idle_timeout(
    _ctx.clock(), timedelta(minutes=_ctx.config.review_ui.idle_timeout_minutes))

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

user = st.session_state[session.USER]
if user is None:
    page = st.navigation([st.Page("views/login.py", title="Log in", url_path="login")],
                         position="hidden")
else:
    with st.sidebar:
        st.markdown(f"**{user.name}** · {user.role.value}")
        if st.button("Log out", key="logout"):
            session.log_out()
            st.rerun()
    page = st.navigation([PAGES[key] for key in pages_for(user.role)])
page.run()
