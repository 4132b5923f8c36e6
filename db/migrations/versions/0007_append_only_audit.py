"""audit_log and zone_stage_changes are append-only, enforced by the database: triggers refuse
every UPDATE and DELETE (and TRUNCATE on PostgreSQL), whoever connects, so a bug or a hand-typed
statement cannot rewrite who changed what

Both engines raise an integrity error (SQLSTATE 23001 restrict_violation on PostgreSQL,
SQLITE_CONSTRAINT from RAISE(ABORT) on SQLite), so callers see `sqlalchemy.exc.IntegrityError`
on either. INSERT is untouched.

A later migration that rebuilds one of these tables on SQLite (`batch_alter_table` copies the
table and drops the old one, and its triggers with it) must create the triggers again;
tests/db/test_append_only.py checks they exist at head.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ('audit_log', 'zone_stage_changes')
PG_FUNCTION = 'bearwatch_refuse_append_only_change'


def _pg_upgrade() -> None:
    op.execute(f"""
        CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% on %: the table is append-only', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation',
                      HINT = 'write a new row instead of changing or removing one';
        END
        $$
    """)
    for table in APPEND_ONLY_TABLES:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()")
        # TRUNCATE skips row triggers; a statement trigger covers it
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()")


def _pg_downgrade() -> None:
    for table in APPEND_ONLY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")


def _sqlite_upgrade() -> None:
    for table in APPEND_ONLY_TABLES:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{verb} on {table}: the table is append-only'); END")


def _sqlite_downgrade() -> None:
    for table in APPEND_ONLY_TABLES:
        for verb in ('update', 'delete'):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def _dialect() -> str:
    name = op.get_bind().dialect.name
    if name not in ('postgresql', 'sqlite'):
        # Bearwatch runs on SQLite (embedded) and PostgreSQL (production) only: a migration
        # that cannot protect the audit tables must stop rather than leave them editable.
        raise RuntimeError(f"database {name!r} is not supported: Bearwatch stores its data in "
                           "SQLite or PostgreSQL; set database.url to sqlite:///… or "
                           "postgresql+psycopg://…")
    return name


def upgrade() -> None:
    if _dialect() == 'postgresql':
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if _dialect() == 'postgresql':
        _pg_downgrade()
    else:
        _sqlite_downgrade()
