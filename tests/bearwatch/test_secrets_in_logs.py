"""No password or secret reaches a log line: a real flow (first admin, CLI `users add`/`list`,
a refused short password, a failed and a successful login, a password reset, a signed webhook
and an MQTT publish with a password) with every log record captured at DEBUG, each scanned,
message, arguments, extras and traceback, for the secret strings and the password hashes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bearwatch.cli import main
from bearwatch.rollout_wiring import build_notifiers
from db import make_sessionmaker
from db.models import User
from db.outbox import OutboxItem
from db.users import get_user
from kernel.config import load_config
from review_ui.actions import UIContext, change_user
from review_ui.auth import login
from rollout.errors import NotifyError

SECRETS = {
    "BEARWATCH_ADMIN_PASSWORD": "admin-secret-Zq81vX",
    "BEARWATCH_PASSWORD": "operator-secret-Kp29wY",
    "HOOK_SECRET": "hook-secret-Mr47tU",
    "MQTT_PASSWORD": "mqtt-secret-Bn63sR",
    "DB_PASSWORD": "db-secret-Hw52qE",
}
WRONG_PASSWORD = "wrong-guess-Lc18pD"
SHORT_PASSWORD = "short-Jf4"
NEW_PASSWORD = "reset-secret-Vd90kA"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
# The libraries that see the secrets (SQL parameters, the DB connection, HTTP, MQTT), turned up
# to DEBUG: an operator chasing a problem may do the same.
LIBRARY_LOGGERS = ("sqlalchemy", "psycopg", "urllib3", "requests", "paho")


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802  (http.server's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep the server quiet on stderr


@pytest.fixture
def webhook_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Every record any logger creates while the test runs. A record factory, not a handler:
    the CLI's `setup_logging` replaces the root handlers each time a command starts."""
    seen: list[logging.LogRecord] = []
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    levels = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        seen.append(record)
        return record

    logging.setLogRecordFactory(factory)
    _libraries_at_debug()
    try:
        yield seen
    finally:
        logging.setLogRecordFactory(previous)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        logging.getLogger().handlers.clear()  # the CLI's stderr handler: the stream goes away


def _libraries_at_debug() -> None:
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)


def _config(tmp_path: Path, engine: Engine, hook: str) -> Path:
    url = engine.url.render_as_string(hide_password=False)
    password_env = "DB_PASSWORD" if engine.dialect.name == "postgresql" else "null"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"database: {{url: '{url}', password_env: {password_env}}}\n"
        f"storage: {{root: '{tmp_path / 'var'}'}}\n"
        "zones: [{id: north, stage: shadow}]\n"
        "cameras: [{id: cam1, zone: north, source: 'demo:'}]\n"
        "logging: {level: DEBUG, format: json}\n"
        "notifier:\n"
        "  mqtt: {enabled: true, port: 1, username_env: MQTT_USER, password_env: MQTT_PASSWORD}\n"
        f"  webhooks: [{{url: '{hook}', secret_env: HOOK_SECRET}}]\n"
    )
    return cfg


def _result_row(record: logging.LogRecord) -> bool:
    """SQLAlchemy's DEBUG dump of each row read (a password hash in a users row), which only
    a developer's `sqlalchemy.engine` logger at DEBUG prints; the engine's hide_parameters
    covers bound values, not results. Plain passwords and secrets are never in a row."""
    return record.name.startswith("sqlalchemy.engine") and record.msg == "Row %r"


def _texts(record: logging.LogRecord) -> list[str]:
    """Everything of a record that a formatter can print."""
    out = [record.getMessage(), repr(record.args)]
    out += [repr(v) for k, v in vars(record).items() if k not in ("msg", "args", "exc_info")]
    if record.exc_info:
        out.append(logging.Formatter().formatException(record.exc_info))
    return out


def test_flow_at_debug_logs_no_password_or_secret(
        engine: Engine, tmp_path: Path, webhook_url: str, records: list[logging.LogRecord],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MQTT_USER", "bearwatch")
    monkeypatch.delenv("BEARWATCH_DATABASE_URL", raising=False)
    cfg = str(_config(tmp_path, engine, webhook_url))

    assert main(["--config", cfg, "up", "--once"]) == 0           # first admin from the env
    assert main(["--config", cfg, "users", "add", "ana", "--role", "operator"]) == 0
    monkeypatch.setenv("BEARWATCH_PASSWORD", SHORT_PASSWORD)
    assert main(["--config", cfg, "users", "add", "bo", "--role", "operator"]) == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(["--config", cfg, "users", "list"]) == 0

    _libraries_at_debug()  # each command's setup_logging turned urllib3 down again
    config = load_config(cfg)
    ctx = UIContext(config, make_sessionmaker(engine), clock=lambda: NOW)
    with ctx.sessions.begin() as s:
        assert login(s, "ana", WRONG_PASSWORD, now=NOW, policy=ctx.login_policy) is None
    with ctx.sessions.begin() as s:
        assert login(s, "ana", SECRETS["BEARWATCH_PASSWORD"], now=NOW,
                     policy=ctx.login_policy) is not None
        admin = get_user(s, "admin")
    change_user(ctx, admin, "ana", password=NEW_PASSWORD)

    notifiers = build_notifiers(config)
    item = OutboxItem(id=1, subject="alert:test", sink="webhook:0",
                      payload={"kind": "alert", "zone_id": "north", "drill": True},
                      attempts=0, status="pending", next_attempt_at=NOW, last_error="",
                      sent_at=None)
    notifiers["webhook:0"].send(item)
    with pytest.raises(NotifyError):  # no broker on port 1: the error path logs too
        notifiers["mqtt"].send(item)

    with ctx.sessions() as s:
        hashes = list(s.scalars(select(User.password_hash)))
    forbidden = [*SECRETS.values(), WRONG_PASSWORD, SHORT_PASSWORD, NEW_PASSWORD, *hashes]
    plain = forbidden[:-len(hashes)]
    assert any(r.levelno == logging.DEBUG for r in records), "nothing was logged at DEBUG"
    assert any(r.name.startswith("sqlalchemy.engine") for r in records)  # SQL was logged
    assert any(r.name.startswith("urllib3") for r in records)  # so was the webhook's request
    assert any(r.getMessage() == "created the first admin user 'admin'" for r in records)
    leaks = [(r.name, r.levelname, secret) for r in records if not _result_row(r)
             for text in _texts(r) for secret in forbidden if secret in text]
    assert leaks == []
    rows = [t for r in records if _result_row(r) for t in _texts(r)]
    assert rows and not [p for p in plain for t in rows if p in t]
    out = capsys.readouterr()
    assert [s for s in plain if s in out.out + out.err] == []  # what the commands print
