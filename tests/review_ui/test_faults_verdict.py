"""Fault injection: PostgreSQL restarted (and stopped) during an operator's verdict.

A private PostgreSQL (initdb into a temporary folder, `pg_ctl` on a free port, run as the
`postgres` user when the tests run as root) is restarted at every statement of the verdict's
transaction in turn, and just before its commit. Each time the verdict is either stored once,
completely (review row, alert state, lease released, audit row, outbox row), or refused with a
message that says the database could not be reached and nothing was stored; never half. The
operator's next attempt then stores it exactly once. The shared server on 5432 is never
touched: other tests use it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from db import make_engine, make_sessionmaker, migrate
from db.errors import ConflictError
from db.models import AlertRow, AuditLog, OutboxMessage, Review, ReviewLease
from db.reviews import Reviewer, VerdictInput, claim_next_alert
from db.users import UserInfo
from kernel.config import BearwatchConfig
from kernel.records import Role, Stage, Verdict
from review_ui import actions
from review_ui.errors import DatabaseUnavailable
from tests.review_ui.builders import T0, alert, catalog, store, users

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1:`port`, restartable at will.

    Root may not run postgres, so as root every command runs as the `postgres` user, and the
    cluster lives in a folder of its own under /tmp (pytest's tmp_path is root-only)."""

    def __init__(self, initdb: str) -> None:
        self.bin = Path(initdb).parent
        self.dir = Path(tempfile.mkdtemp(prefix="bw-private-pg-"))
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)}: {done.stderr.strip()}\n{log}")

    def _ctl(self, action: str, *args: str) -> None:
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=on")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w",
                  action, *args)

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")  # fast: open sessions are cut, as in a real restart

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def destroy(self) -> None:
        with suppress(RuntimeError):  # already stopped
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    if not BINARIES:
        reason = "PostgreSQL server binaries (/usr/lib/postgresql/*/bin) not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI runs PostgreSQL, so its binaries must be there")
        pytest.skip(reason)
    pg = PrivatePostgres(BINARIES[-1])
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


class World:
    """The private database, migrated, with the review catalog, one operator and a context
    whose notifier section has MQTT (so a `bear` verdict in the pilot zone also queues an
    outbox row in the verdict's transaction; nothing is sent)."""

    def __init__(self, pg: PrivatePostgres) -> None:
        self.engine: Engine = make_engine(pg.url)
        migrate.upgrade(self.engine)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        catalog(self.sessions)
        name = f"op{uuid.uuid4().hex[:6]}"
        self.reviewer: Reviewer = users(self.sessions, [(name, Role.OPERATOR)])[name]
        self.user = UserInfo(self.reviewer.id, name, Role.OPERATOR, False)
        config = BearwatchConfig.model_validate({
            "zones": [{"id": "pilotz", "stage": "pilot"}, {"id": "shadowz"}],
            "notifier": {"mqtt": {"enabled": True}}})
        self.ctx = actions.UIContext(config, self.sessions, clock=lambda: T0)

    def claimed_alert(self) -> uuid.UUID:
        """A fresh pilot-zone alert, claimed by the operator."""
        (alert_id,) = store(self.sessions, [alert(camera="cam-p", zone="pilotz",
                                                  stage=Stage.PILOT, peak=0.7)])
        with self.sessions.begin() as s:
            claimed = claim_next_alert(s, self.reviewer, now=T0, lease_seconds=3600)
        assert claimed is not None and claimed.id == alert_id
        return alert_id

    def stored(self, alert_id: uuid.UUID) -> dict[str, Any]:
        """Everything a verdict writes, as it is in the database now."""
        subject = f"alert:{alert_id}"
        with self.sessions() as s:
            row = s.get(AlertRow, alert_id)
            assert row is not None
            return {
                "reviews": s.scalar(select(func.count()).select_from(Review)
                                    .where(Review.alert_id == alert_id)),
                "state": (row.review_state, row.verdict),
                "lease": s.get(ReviewLease, ("alert", str(alert_id))) is not None,
                "audit": s.scalar(select(func.count()).select_from(AuditLog).where(
                    AuditLog.subject == subject, AuditLog.action == "review.verdict")),
                "outbox": s.scalar(select(func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.subject == subject)),
            }

    def decide(self, alert_id: uuid.UUID) -> None:
        actions.decide_alert(self.ctx, self.user, alert_id, VerdictInput(Verdict.BEAR))


NOTHING = {"reviews": 0, "state": ("pending", None), "lease": True, "audit": 0, "outbox": 0}
ALL = {"reviews": 1, "state": ("reviewed", "bear"), "lease": False, "audit": 1, "outbox": 1}


@pytest.fixture
def world(private_pg: PrivatePostgres) -> Iterator[World]:
    w = World(private_pg)
    yield w
    w.engine.dispose()


@contextmanager
def fault_at(engine: Engine, point: int | str, fault: Callable[[], None]) -> Iterator[list[int]]:
    """Run `fault` before the `point`-th statement on `engine` (1-based), or before a commit
    (`point="commit"`), while inside the block; yields the count of statements seen."""
    seen = [0]

    def before_statement(*_args: object) -> None:
        seen[0] += 1
        if seen[0] == point:
            fault()

    def before_commit(_conn: object) -> None:
        if point == "commit":
            fault()

    event.listen(engine, "before_cursor_execute", before_statement)
    event.listen(engine, "commit", before_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before_statement)
        event.remove(engine, "commit", before_commit)


def test_verdict_with_postgres_restarted_at_each_statement_stored_once_or_refused(
        world: World, private_pg: PrivatePostgres) -> None:
    # How many statements one verdict takes on this database, counted on a verdict with no
    # fault; then the server restarts before each of them in turn, and before the commit.
    first = world.claimed_alert()
    with fault_at(world.engine, -1, lambda: None) as seen:
        world.decide(first)
    statements = seen[0]
    assert statements >= 5 and world.stored(first) == ALL

    outcomes: dict[int | str, str] = {}
    for point in [*range(1, statements + 1), "commit"]:
        alert_id = world.claimed_alert()
        with fault_at(world.engine, point, private_pg.restart):
            try:
                world.decide(alert_id)
                outcomes[point] = "stored"
            except DatabaseUnavailable as exc:
                outcomes[point] = "refused"
                message = str(exc)
                assert "could not be reached" in message and "nothing was stored" in message
        after = world.stored(alert_id)
        assert after == (ALL if outcomes[point] == "stored" else NOTHING), (point, after)
        # The operator tries again with the server back: stored exactly once either way.
        if outcomes[point] == "refused":
            world.decide(alert_id)
        else:
            with pytest.raises(ConflictError, match="already reviewed"):
                world.decide(alert_id)
        assert world.stored(alert_id) == ALL, point
    # A restart inside the transaction can only refuse it (the connection is cut first).
    assert set(outcomes.values()) == {"refused"}, outcomes


def test_verdict_with_postgres_stopped_refused_until_it_is_back(
        world: World, private_pg: PrivatePostgres) -> None:
    alert_id = world.claimed_alert()
    try:
        with fault_at(world.engine, 3, private_pg.stop), \
                pytest.raises(DatabaseUnavailable, match="nothing was stored half-way"):
            world.decide(alert_id)
        # Still down: refused again, by the connect this time, with the same message.
        with pytest.raises(DatabaseUnavailable, match="database could not be reached"):
            world.decide(alert_id)
    finally:
        private_pg.start()
    assert world.stored(alert_id) == NOTHING
    world.decide(alert_id)
    assert world.stored(alert_id) == ALL
