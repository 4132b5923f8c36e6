"""Start-up wiring shared by the commands: open the database the config names, check it is
migrated, and bring zones and cameras in line with the config."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db import DatabaseError, NotMigratedError, make_engine, make_sessionmaker, migrate
from db.catalog import CameraSpec, ZoneSpec, sync
from kernel.config import BearwatchConfig
from kernel.records import utc_now

log = logging.getLogger("bearwatch")


@dataclass(frozen=True, slots=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    url: str


def safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def open_database(config: BearwatchConfig, *, require_migrated: bool = True) -> Database:
    """Connect to the configured database.

    Raises:
        DatabaseError: it cannot be reached (names the URL and the fix).
        NotMigratedError: it is not at the code's revision (run `bearwatch db upgrade`).
    """
    engine = make_engine(config.database.resolved_url())
    try:
        st = migrate.status(engine)
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot reach database {safe_url(engine)}: {exc.orig}; check database.url in the "
            "config (or BEARWATCH_DATABASE_URL) and that the server is running"
        ) from exc
    if require_migrated and not st.up_to_date:
        raise NotMigratedError(safe_url(engine), st.current, st.head)
    return Database(engine=engine, sessions=make_sessionmaker(engine), url=safe_url(engine))


def sync_catalog(config: BearwatchConfig, db: Database) -> None:
    """Make the zones and cameras of the config exist in the database."""
    zones = [ZoneSpec(id=z.id, name=z.name or z.id, initial_stage=z.initial_stage)
             for z in config.zones]
    cams = [
        CameraSpec(id=c.id, name=c.name or c.id, zone_id=c.zone, source=c.source,
                   latitude=c.latitude, longitude=c.longitude, enabled=c.enabled)
        for c in config.cameras
    ]
    with db.sessions.begin() as session:
        changed = sync(session, zones, cams, now=utc_now())
    # INFO only when the config added or changed something: read-only commands stay quiet.
    log.log(logging.INFO if changed else logging.DEBUG,
            "catalog synced" if changed else "catalog unchanged",
            extra={"zones": len(zones), "cameras": len(cams)})


def ensure_first_admin(db: Database, *, password_from_env: str | None,
                       min_password_length: int) -> str | None:
    """With no users at all, create `admin`: from BEARWATCH_ADMIN_PASSWORD, else a one-time
    random password that is returned so the caller prints it once. Never a default password.

    Args:
        min_password_length: `review_ui.min_password_length`; the variable's password must
            have as many characters, the generated one has more.

    Returns:
        The generated password, or None when none was generated.

    Raises:
        BearwatchError: BEARWATCH_ADMIN_PASSWORD is set but too short (nothing is created).
    """
    import secrets

    from db.users import add_user, count_users
    from kernel.config import ENV_ADMIN_PASSWORD
    from kernel.errors import BearwatchError
    from kernel.records import Role

    with db.sessions.begin() as s:
        if count_users(s) > 0:
            if password_from_env:  # a changed variable changes nothing: say so, not silently
                log.warning(f"${ENV_ADMIN_PASSWORD} is set but ignored: users exist already, and "
                            "it only seeds the first admin; change a password with `bearwatch "
                            "users passwd NAME` (or the Users page) and unset the variable")
            return None
        # token_urlsafe(n) encodes n random bytes in about 1.3 n characters
        password = password_from_env or secrets.token_urlsafe(max(12, min_password_length))
        try:
            add_user(s, name="admin", role=Role.ADMIN, password=password, actor="first-start",
                     now=utc_now(), min_password_length=min_password_length)
        except ValueError as exc:  # only the env password can be short
            raise BearwatchError(f"${ENV_ADMIN_PASSWORD}: {exc} (review_ui.min_password_length);"
                                 " set a longer one") from exc
    log.info("created the first admin user 'admin'")
    return None if password_from_env else password
