"""Errors inside a page: the user gets a short message with an error id, the log gets the
traceback under the same id, so an operator can tell an admin "error 3f9c0a1e" and the admin
finds it. Streamlit would otherwise show the operator a Python traceback.

Streamlit's own control flow (`st.rerun`, `st.stop`, `st.switch_page`) raises BaseExceptions,
which pass through untouched.
"""

from __future__ import annotations

import logging
import uuid

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from kernel.config import LoggingConfig
from kernel.logs import setup_logging

log = logging.getLogger("review_ui")


@st.cache_resource(show_spinner=False)
def _logging_set_up(level: str, fmt: str) -> bool:
    """The UI process logs like the CLI (structured lines on stderr, `logging` section),
    once per process, unless its host already handles the root logger (a test run)."""
    if not logging.getLogger().handlers:
        setup_logging(LoggingConfig(level=level, format=fmt))  # type: ignore[arg-type]
    return True


def run_page(page: StreamlitPage, *, logging_config: LoggingConfig,
             user_name: str | None) -> None:
    """Run `page`; an exception in it becomes a message with an error id, logged with its
    traceback."""
    _logging_set_up(logging_config.level, logging_config.format)
    try:
        page.run()
    except Exception:
        error_id = uuid.uuid4().hex[:8]
        log.exception("page failed", extra={"error_id": error_id, "page": page.url_path,
                                            "user": user_name})
        st.error(f"This page hit an error and could not finish (error id **{error_id}**). "
                 "Nothing you did was lost; reload the page to try again, and if it keeps "
                 "happening, give this id to an admin: it is in the log with the details.")
