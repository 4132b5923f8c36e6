"""`bearwatch db upgrade/status`, `users add` and `up` on both engines, through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bearwatch.cli import main
from db import migrate


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"storage: {{root: '{tmp_path / 'var'}'}}\n"
        "zones: [{id: north, stage: shadow}]\n"
        "cameras: [{id: cam1, zone: north, source: 'demo:'}]\n"
    )
    return cfg


def test_db_upgrade_then_status(empty_engine: Engine, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BEARWATCH_DATABASE_URL",
                       empty_engine.url.render_as_string(hide_password=False))
    cfg = str(_config(tmp_path))
    assert main(["--config", cfg, "db", "status"]) == 1
    assert "NOT up to date" in capsys.readouterr().out
    assert main(["--config", cfg, "db", "upgrade"]) == 0
    assert main(["--config", cfg, "db", "status"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert migrate.status(empty_engine).up_to_date


def test_users_add_and_up_seed_admin_once(empty_engine: Engine, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BEARWATCH_DATABASE_URL",
                       empty_engine.url.render_as_string(hide_password=False))
    cfg = str(_config(tmp_path))
    assert main(["--config", cfg, "users", "add", "ana", "--role", "operator"]) == 1
    assert "bearwatch db upgrade" in capsys.readouterr().err  # not migrated yet: says the fix
    monkeypatch.setenv("BEARWATCH_ADMIN_PASSWORD", "a-long-admin-password")
    assert main(["--config", cfg, "up", "--once"]) == 0
    out = capsys.readouterr().out
    assert "one-time password" not in out and "north (shadow)" in out
    monkeypatch.setenv("BEARWATCH_PASSWORD", "operator-password")
    assert main(["--config", cfg, "users", "add", "ana", "--role", "operator"]) == 0
    assert main(["--config", cfg, "users", "add", "ana", "--role", "operator"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_up_short_admin_password_is_refused_and_creates_no_user(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("BEARWATCH_ADMIN_PASSWORD", "too-short")
    cfg = str(_config(tmp_path))
    assert main(["--config", cfg, "up", "--once"]) == 1
    err = capsys.readouterr().err
    assert "$BEARWATCH_ADMIN_PASSWORD: password must have at least 10 characters" in err
    assert "too-short" not in err
    monkeypatch.setenv("BEARWATCH_ADMIN_PASSWORD", "long-enough-now")  # nothing was created
    assert main(["--config", cfg, "up", "--once"]) == 0


def test_up_without_env_prints_one_time_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("BEARWATCH_ADMIN_PASSWORD", raising=False)
    cfg = str(_config(tmp_path))
    assert main(["--config", cfg, "up", "--once"]) == 0
    assert "one-time password" in capsys.readouterr().out
    assert main(["--config", cfg, "up", "--once"]) == 0
    assert "one-time password" not in capsys.readouterr().out


def test_unreachable_database_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:1/nowhere")
    assert main(["--config", str(_config(tmp_path)), "db", "status"]) == 1
    assert "cannot reach database" in capsys.readouterr().err
