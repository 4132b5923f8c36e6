"""`bearwatch users passwd` and the ignored first-admin variable, through the real CLI on a
real (SQLite) database."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bearwatch.cli import main
from db import make_engine, make_sessionmaker
from db.models import AuditLog
from db.users import authenticate
from kernel.records import utc_now

OLD, NEW = "operator-password", "a-new-operator-password"


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated database with the first admin and operator `ana` (password OLD)."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", url)
    path = tmp_path / "config.yaml"
    path.write_text(f"storage: {{root: '{tmp_path / 'var'}'}}\n"
                    "zones: [{id: north, stage: shadow}]\n"
                    "cameras: [{id: cam1, zone: north, source: 'demo:'}]\n")
    monkeypatch.setenv("BEARWATCH_ADMIN_PASSWORD", "a-long-admin-password")
    assert main(["--config", str(path), "up", "--once"]) == 0
    monkeypatch.setenv("BEARWATCH_PASSWORD", OLD)
    assert main(["--config", str(path), "users", "add", "ana", "--role", "operator"]) == 0
    monkeypatch.delenv("BEARWATCH_PASSWORD")
    return str(path)


def _logs_in(password: str) -> bool:
    import os

    sessions = make_sessionmaker(make_engine(os.environ["BEARWATCH_DATABASE_URL"]))
    with sessions.begin() as s:
        return authenticate(s, "ana", password, now=utc_now()) is not None


def _audited(action: str) -> list[tuple[str, str]]:
    import os

    sessions = make_sessionmaker(make_engine(os.environ["BEARWATCH_DATABASE_URL"]))
    with sessions() as s:
        return [(a, b) for a, b in s.execute(select(AuditLog.actor, AuditLog.subject)
                                             .where(AuditLog.action == action))]


def test_users_passwd_from_stdin_changes_the_password_and_audits(
        cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))
    assert main(["--config", cfg, "users", "passwd", "ana", "--password-stdin"]) == 0
    out = capsys.readouterr().out
    assert "password changed for operator 'ana'" in out and NEW not in out
    assert _logs_in(NEW) and not _logs_in(OLD)
    assert _audited("user.password") == [("cli", "user:ana")]


def test_users_passwd_short_password_is_refused_and_nothing_changes(
        cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--config", cfg, "users", "passwd", "ana", "--password-stdin"]) == 1
    err = capsys.readouterr().err
    assert "not changed: password must have at least 10 characters" in err and "short" not in \
        err.replace("password must", "")
    assert _logs_in(OLD) and _audited("user.password") == []


@pytest.mark.parametrize(("stdin", "expected"), [
    ("", "standard input had no password"),
    (NEW + "\n", "no user 'nobody'; known: "),
])
def test_users_passwd_stdin_empty_or_unknown_user_is_a_clear_error(
        cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        stdin: str, expected: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    name = "ana" if not stdin else "nobody"
    assert main(["--config", cfg, "users", "passwd", name, "--password-stdin"]) == 1
    assert expected in capsys.readouterr().err


def test_users_passwd_prompts_twice_and_refuses_a_mismatch(
        cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    typed = iter([NEW, NEW + "x"])
    monkeypatch.setattr("sys.stdin", type("Tty", (io.StringIO,), {"isatty": lambda self: True})())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert main(["--config", cfg, "users", "passwd", "ana"]) == 1
    assert "passwords differ; nothing was saved" in capsys.readouterr().err
    assert _logs_in(OLD)
    typed = iter([NEW, NEW])
    assert main(["--config", cfg, "users", "passwd", "ana"]) == 0
    assert _logs_in(NEW)


def test_users_passwd_without_terminal_or_stdin_flag_says_how(
        cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))  # a pipe, not a terminal
    assert main(["--config", cfg, "users", "passwd", "ana"]) == 1
    assert "--password-stdin" in capsys.readouterr().err
    assert _logs_in(OLD)


def test_admin_password_variable_ignored_once_users_exist_is_warned(
        cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    monkeypatch.setenv("BEARWATCH_ADMIN_PASSWORD", "a-different-admin-password")
    assert main(["--config", cfg, "up", "--once"]) == 0
    err = capsys.readouterr().err  # the bearwatch logger writes to stderr
    assert "WARNING bearwatch: $BEARWATCH_ADMIN_PASSWORD is set but ignored: users exist " \
        "already" in err, err
    assert "a-different-admin-password" not in err


def test_admin_password_variable_unset_with_users_gives_no_warning(
        cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    monkeypatch.delenv("BEARWATCH_ADMIN_PASSWORD")
    assert main(["--config", cfg, "up", "--once"]) == 0
    assert "BEARWATCH_ADMIN_PASSWORD" not in capsys.readouterr().err
