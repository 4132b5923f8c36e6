"""The review UI (Streamlit): operators' queues, missed-bear reports, admin and analyst pages.

Run it with `bearwatch ui`; the app itself is `review_ui/app.py`. The public surface is what
other packages and tests may rely on without Streamlit running: the role rules and the errors.
"""


APP_PATH = __file__.rsplit("/", 1)[0] + "/app.py"

__all__ = [
    "APP_PATH",
]
