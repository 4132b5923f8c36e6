from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

from db import migrate


def test_migrate_empty_database_up_to_head_and_back_down(empty_engine: Engine) -> None:
    assert migrate.status(empty_engine).current is None
    migrate.upgrade(empty_engine)
    st = migrate.status(empty_engine)
    assert st.up_to_date
    tables = set(inspect(empty_engine).get_table_names())
    assert {"alerts", "reviews", "review_leases", "audit_log", "users", "zones", "cameras",
            "camera_health", "missed_reports", "audit_samples", "model_versions",
            "zone_stage_changes", "alert_frames", "notification_outbox"} <= tables
    migrate.check(empty_engine)  # models and migrations agree
    migrate.downgrade(empty_engine)
    assert migrate.status(empty_engine).current is None
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}


def test_sqlite_runs_in_wal_with_foreign_keys(empty_engine: Engine) -> None:
    if empty_engine.dialect.name != "sqlite":
        pytest.skip("WAL and foreign-key pragmas are SQLite's; PostgreSQL has neither")
    with empty_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_adopts_scheduler_table_made_by_apscheduler_before_0002(
        empty_engine: Engine) -> None:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    migrate.upgrade(empty_engine, "0001")
    store = SQLAlchemyJobStore(engine=empty_engine)  # what the 0001 controller did at start
    store.start(None, "default")  # type: ignore[arg-type]
    migrate.upgrade(empty_engine)
    assert migrate.status(empty_engine).up_to_date
    migrate.check(empty_engine)
