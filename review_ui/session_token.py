"""The signed session cookie that lets a login survive a refresh or a deep link.

Streamlit keeps its state per browser tab connection, so a refresh used to log the user out.
The cookie carries the user's id, a stamp of their password (`db.users.session_stamp`) and the
time it was issued, signed with HMAC-SHA1 by itsdangerous under a key that never leaves the
server. It expires `review_ui.idle_timeout_minutes` after it was issued and is issued again on
activity, so it ends where the idle log-out does. The database has the last word each time it
is read (`db.users.resume_session`): a deleted, disabled or locked user, or one whose password
changed since, is refused whatever the signature says.

Streamlit serves no HTTP response of ours, so the cookie is written by the browser (a script
in the page; see `cookie_script`), which rules out HttpOnly; SameSite=Strict keeps other sites'
requests from carrying it. Streamlit reads cookies once per connection (`st.context.cookies`),
so the cookie is only trusted when a connection starts; a log-out clears it in the browser.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_NAME = "bearwatch_session"
KEY_FILE = "ui-session.key"
_SALT = "bearwatch.review_ui.session"
# A token issued a little in the future (clocks of two UI machines) is still accepted.
_CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SessionToken:
    """What a valid cookie says: who, their password stamp, and when it was issued (UTC)."""

    user_id: int
    stamp: str
    issued_at: datetime


class TokenSigner:
    """Signs and checks session tokens under one secret key."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("the session signing key needs at least 16 characters")
        self._serializer = URLSafeSerializer(secret, salt=_SALT)

    def sign(self, user_id: int, stamp: str, *, now: datetime) -> str:
        """A cookie value for `user_id` issued at `now` (UTC)."""
        return str(self._serializer.dumps({"u": user_id, "s": stamp, "t": int(now.timestamp())}))

    def verify(self, token: str, *, now: datetime, max_age: timedelta) -> SessionToken | None:
        """The token's contents when its signature holds and it was issued at most `max_age`
        before `now`; None for a forged, altered, malformed or expired token."""
        try:
            data = self._serializer.loads(token)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        user_id, stamp, issued = data.get("u"), data.get("s"), data.get("t")
        if not (isinstance(user_id, int) and isinstance(stamp, str) and isinstance(issued, int)):
            return None
        issued_at = datetime.fromtimestamp(issued, tz=UTC)
        if not now - max_age <= issued_at <= now + _CLOCK_SKEW:
            return None
        return SessionToken(user_id, stamp, issued_at)


def load_secret(env_name: str, storage_root: Path) -> str:
    """The signing key: the variable `env_name` when set, else the key file under
    `storage_root`, created with a random key (mode 0600) the first time. The file is linked
    into place only when complete, so two UI processes starting at once agree on one key."""
    from_env = os.environ.get(env_name)
    if from_env:
        return from_env
    path = storage_root / KEY_FILE
    if not path.exists():
        storage_root.mkdir(parents=True, exist_ok=True)
        tmp = storage_root / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won; use its key
        finally:
            tmp.unlink()
    return path.read_text().strip()


def cookie_script(value: str | None, *, max_age: timedelta) -> str:
    """A `<script>` that sets the session cookie to `value` for `max_age` (None: clears it).

    Path=/ so every page's URL sends it; SameSite=Strict; Secure when served over HTTPS.
    """
    if value is None:
        attrs = "Max-Age=0"
        value = ""
    else:
        attrs = f"Max-Age={int(max_age.total_seconds())}"
    # json.dumps quotes the value for JavaScript; the token is URL-safe base64 anyway.
    return ("<script>(function () {"
            f"var c = {json.dumps(COOKIE_NAME)} + '=' + {json.dumps(value)} + "
            f"'; {attrs}; Path=/; SameSite=Strict';"
            "if (window.location.protocol === 'https:') { c += '; Secure'; }"
            "document.cookie = c;"
            "})();</script>")
