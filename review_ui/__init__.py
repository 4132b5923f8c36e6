"""The review UI (Streamlit): operators' queues, missed-bear reports, admin and analyst pages.

Run it with `bearwatch ui`; the app itself is `review_ui/app.py`. The public surface is what
other packages and tests may rely on without Streamlit running: the role rules and the errors.
"""

from review_ui.auth import PAGES_BY_ROLE, pages_for, require_role
from review_ui.errors import PermissionDenied, ReviewUIError

APP_PATH = __file__.rsplit("/", 1)[0] + "/app.py"

__all__ = ["APP_PATH", "PAGES_BY_ROLE", "PermissionDenied", "ReviewUIError", "pages_for",
           "require_role"]
