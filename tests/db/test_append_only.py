"""audit_log and zone_stage_changes refuse UPDATE and DELETE in the database itself (migration
0007's triggers), on SQLite and PostgreSQL; INSERT still works; the downgrade lifts it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from db import make_sessionmaker, migrate
from db.audit import AuditEntry, append
from db.catalog import ZoneSpec, sync
from db.models import AuditLog, ZoneStageChange
from kernel.records import Stage

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TABLES = {"audit_log": AuditLog, "zone_stage_changes": ZoneStageChange}


def _seed(sessions: sessionmaker[Session]) -> None:
    """Rows in each table, written the way the code writes them: a zone added from the config
    (a stage change and its audit row) and one more audit row."""
    with sessions.begin() as s:
        sync(s, [ZoneSpec("north", "North", Stage.SHADOW)], [], now=NOW)
        append(s, AuditEntry(actor="ada", action="zone.pause", subject="zone:north", at=NOW,
                             reason="gates pass"))


def _reasons(sessions: sessionmaker[Session], table: str) -> list[str]:
    with sessions() as s:
        return list(s.scalars(select(TABLES[table].reason)))


@pytest.mark.parametrize("table", sorted(TABLES))
@pytest.mark.parametrize("verb", ["update", "delete"])
def test_append_only_table_change_is_refused_row_unchanged(
        sessions: sessionmaker[Session], table: str, verb: str) -> None:
    _seed(sessions)
    model = TABLES[table]
    before = _reasons(sessions, table)
    assert before
    stmt = update(model).values(reason="rewritten") if verb == "update" else delete(model)
    with pytest.raises(IntegrityError, match="append-only"), sessions.begin() as s:
        s.execute(stmt)
    assert _reasons(sessions, table) == before


def test_append_only_orm_edit_of_a_loaded_row_is_refused(sessions: sessionmaker[Session]) -> None:
    _seed(sessions)
    with pytest.raises(IntegrityError, match="append-only"), sessions.begin() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.reason == "gates pass")).one()
        row.reason = "rewritten"
    assert "gates pass" in _reasons(sessions, "audit_log")


def test_append_only_insert_still_works(sessions: sessionmaker[Session]) -> None:
    _seed(sessions)
    before = len(_reasons(sessions, "audit_log"))
    with sessions.begin() as s:
        append(s, AuditEntry(actor="ada", action="zone.resume", subject="zone:north", at=NOW))
    assert len(_reasons(sessions, "audit_log")) == before + 1


def test_append_only_truncate_is_refused_on_postgres(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    sessions = make_sessionmaker(engine)
    _seed(sessions)
    before = _reasons(sessions, "audit_log")
    with pytest.raises(IntegrityError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))
    assert _reasons(sessions, "audit_log") == before


def test_append_only_downgrade_to_0005_lifts_it_and_upgrade_restores(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    _seed(sessions)
    migrate.downgrade(engine, "0005")
    with engine.begin() as conn:  # raw SQL: the ORM models have 0006's users columns
        conn.execute(text("UPDATE audit_log SET reason = 'edited while unprotected'"))
    migrate.upgrade(engine)
    assert migrate.status(engine).up_to_date
    migrate.check(engine)
    assert set(_reasons(sessions, "audit_log")) == {"edited while unprotected"}
    with pytest.raises(IntegrityError, match="append-only"), sessions.begin() as s:
        s.execute(delete(ZoneStageChange))
