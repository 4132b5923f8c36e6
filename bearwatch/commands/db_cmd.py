"""`bearwatch db upgrade|downgrade|status|check`."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.exc import OperationalError

from bearwatch.commands.common import load
from bearwatch.wiring import safe_url
from db import DatabaseError, make_engine, migrate


def register(sub: Any) -> None:
    p = sub.add_parser("db", help="database migrations")
    dsub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dsub.add_parser("upgrade", help="migrate to the latest schema").set_defaults(handler=_upgrade)
    down = dsub.add_parser("downgrade", help="migrate down to a revision (default: base)")
    down.add_argument("revision", nargs="?", default="base",
                      help="Alembic revision to migrate down to (default: base, empty)")
    down.set_defaults(handler=_downgrade)
    dsub.add_parser("status", help="current and latest revision").set_defaults(handler=_status)
    dsub.add_parser("check", help="fail if the models drift from the migrations").set_defaults(
        handler=_check)


def _engine(args: argparse.Namespace) -> Any:
    cfg = load(args)
    return make_engine(cfg.database.resolved_url())


def _guard(engine: Any, action: Any) -> None:
    try:
        action(engine)
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot reach database {safe_url(engine)}: {exc.orig}; check database.url "
            "(or BEARWATCH_DATABASE_URL) and that the server is running") from exc


def _upgrade(args: argparse.Namespace) -> int:
    engine = _engine(args)
    _guard(engine, migrate.upgrade)
    print(f"{safe_url(engine)}: upgraded to {migrate.status(engine).head}")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    engine = _engine(args)
    _guard(engine, lambda e: migrate.downgrade(e, args.revision))
    print(f"{safe_url(engine)}: now at {migrate.status(engine).current or 'base (empty)'}")
    return 0


def _status(args: argparse.Namespace) -> int:
    engine = _engine(args)
    holder: list[migrate.MigrationStatus] = []
    _guard(engine, lambda e: holder.append(migrate.status(e)))
    st = holder[0]
    state = "up to date" if st.up_to_date else "NOT up to date: run `bearwatch db upgrade`"
    print(f"database: {safe_url(engine)}\ncurrent:  {st.current or 'empty'}\nhead:     {st.head}\n"
          f"state:    {state}")
    return 0 if st.up_to_date else 1


def _check(args: argparse.Namespace) -> int:
    engine = _engine(args)
    _guard(engine, migrate.check)
    print("models match the migrations")
    return 0
