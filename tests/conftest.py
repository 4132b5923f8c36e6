"""Shared fixtures: a migrated database on each engine, and the real photos.

`db_url` / `database` are parametrised over SQLite and PostgreSQL, so every database test runs
on both. Each PostgreSQL test gets its own schema, dropped afterwards. When PostgreSQL cannot be
reached the test skips, except under CI=true, where it fails: CI must not hide an engine.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from db import make_engine, make_sessionmaker, migrate

PG_URL = os.environ.get("BEARWATCH_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BEARS = SHARED / "data" / "bears"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_unreachable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL at {PG_URL} unreachable under CI=true: {reason}")
    pytest.skip(f"PostgreSQL at {PG_URL} unreachable: {reason}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_engine(engine_kind: str, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database of the requested kind (not migrated)."""
    if engine_kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'bearwatch.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any connect failure: report it with the URL
        admin.dispose()
        _pg_unreachable(str(exc).splitlines()[0])
    # The schema travels in the URL, so a CLI run given this URL lands in the same schema.
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """A migrated engine (SQLite and PostgreSQL)."""
    migrate.upgrade(empty_engine)
    return empty_engine


@pytest.fixture
def db_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def bears_dir() -> Path:
    if not (BEARS / "manifest.csv").exists():
        pytest.skip(f"real photos not found at {BEARS} "
                    "(needs ../shared/data/bears beside the repo)")
    return BEARS
