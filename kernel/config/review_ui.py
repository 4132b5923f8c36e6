"""`review_ui:` — the operators' Streamlit app: address, claim leases, refresh, local time, and
the login rules (lock-out after failed logins, idle log-out, minimum password length)."""

from __future__ import annotations

from pydantic import Field

from kernel.config.base import Section

ENV_ADMIN_PASSWORD = "BEARWATCH_ADMIN_PASSWORD"
"""The first admin's password on first start (`bearwatch up`); never in the file."""


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
