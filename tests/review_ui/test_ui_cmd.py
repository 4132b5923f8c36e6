"""`bearwatch ui`: refuses to start on a database it cannot use, before any Streamlit starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bearwatch.cli import main
from bearwatch.commands.ui_cmd import streamlit_command
from review_ui import APP_PATH


def test_ui_unmigrated_database_exits_with_fix(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{tmp_path / 'empty.db'}\n")
    assert main(["--config", str(cfg), "ui", "--port", "8999"]) != 0
    assert "bearwatch db upgrade" in capsys.readouterr().err


def test_streamlit_command_is_headless_on_host_and_port() -> None:
    cmd = streamlit_command(APP_PATH, host="0.0.0.0", port=8600)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("review_ui/app.py")
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert flags["--server.headless"] == "true"
    assert (flags["--server.address"], flags["--server.port"]) == ("0.0.0.0", "8600")
