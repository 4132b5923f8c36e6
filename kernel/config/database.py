"""`database:` — where the alerts, reviews and audit live; the password never in the file."""

from __future__ import annotations

import os

from pydantic import Field, model_validator

from kernel.config.base import Section

ENV_DATABASE_URL = "BEARWATCH_DATABASE_URL"


class DatabaseConfig(Section):
    url: str = Field(
        "sqlite:///./var/bearwatch.db",
        description="SQLAlchemy URL. SQLite is the embedded default; production uses "
        "postgresql+psycopg://user@host/db. Put no password here: use password_env or "
        f"{ENV_DATABASE_URL}.",
    )
    password_env: str | None = Field(
        None, description="Environment variable holding the database password, if any."
    )

    @model_validator(mode="after")
    def _no_password_in_file(self) -> DatabaseConfig:
        from sqlalchemy.engine import make_url

        try:
            url = make_url(self.url)
        except Exception as exc:  # sqlalchemy raises ArgumentError; message is enough
            raise ValueError(f"not a database URL ({exc})") from exc
        if url.password:
            raise ValueError(
                "the URL holds a password; remove it and set password_env or "
                f"{ENV_DATABASE_URL} instead"
            )
        return self

    def resolved_url(self) -> str:
        """The URL to connect with: the env override, else the file's URL plus the secret."""
        from sqlalchemy.engine import make_url

        override = os.environ.get(ENV_DATABASE_URL)
        if override:
            return override
        url = make_url(self.url)
        if self.password_env and os.environ.get(self.password_env):
            url = url.set(password=os.environ[self.password_env])
        return url.render_as_string(hide_password=False)
