"""`review_ui:` — the operators' Streamlit app: address, claim leases, refresh, local time, and
the login rules (lock-out after failed logins, idle log-out, minimum password length)."""

from __future__ import annotations

import difflib
import zoneinfo

from pydantic import Field, field_validator

from kernel.config.base import Section

ENV_ADMIN_PASSWORD = "BEARWATCH_ADMIN_PASSWORD"
"""The first admin's password on first start (`bearwatch up`); never in the file."""


def _close_zones(name: str) -> list[str]:
    """Up to three IANA zone names that look like `name` (case-insensitive)."""
    by_lower = {z.lower(): z for z in zoneinfo.available_timezones()}
    return [by_lower[m] for m in difflib.get_close_matches(name.lower(), by_lower, n=3)]


class ReviewUIConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=1, le=65535)
    lease_seconds: float = Field(120.0, gt=0, description="How long a claim holds an alert.")
    refresh_seconds: float = Field(3.0, gt=0, le=5, description="Live queue refresh, s.")
    timezone: str = Field("UTC", description="Time zone for local times shown to operators.")
    max_failed_logins: int = Field(
        5, ge=1, le=100,
        description="Failed logins in a row after which the account is locked for lockout_minutes.")
    lockout_minutes: float = Field(
        15.0, gt=0, le=24 * 60, description="How long a locked account refuses every login, min.")
    idle_timeout_minutes: float = Field(
        30.0, gt=0, le=24 * 60,
        description="A browser session with no interaction for longer is logged out, min.")
    min_password_length: int = Field(
        10, ge=8, le=128,
        description="Shortest password accepted on create, change and the first admin.")
    session_secret_env: str = Field(
        "BEARWATCH_SESSION_SECRET", min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding the key that signs session cookies; unset, "
        "a random key kept in storage.root/ui-session.key (made on first use, mode 0600).")

    new_alert_sound: bool = Field(
        False, description="Play a short chime in operators' browsers when the number of "
        "alerts waiting for review goes up (the tab title shows the number either way).")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        """A zone the UI can load (`America/Edmonton`), so a typo fails `config check`, not a
        page."""
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            close = _close_zones(name)
            names = [repr(z) for z in close]
            listed = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
            hint = (f"did you mean {listed}?" if names
                    else "use an IANA name such as 'America/Edmonton' or 'UTC'")
            raise ValueError(f"unknown time zone {name!r}; {hint}") from None
        return name
