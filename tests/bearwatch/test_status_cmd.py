"""`bearwatch status` through the real CLI on both engines: zones' stages and where the
detector runs (its replicas with `cluster.engine: ray`: tests/bearwatch/test_cluster_up.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bearwatch.cli import main


def _config(tmp_path: Path, cluster: str = "") -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"storage: {{root: '{tmp_path / 'var'}'}}\n"
        "zones: [{id: north, stage: shadow}, {id: south, stage: 'off'}]\n"
        "cameras: [{id: cam1, zone: north, source: 'demo:'}]\n" + cluster)
    return str(cfg)


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("BEARWATCH_ADMIN_PASSWORD", "admin-password-1")


def test_status_local_engine_lists_zones_and_in_process_detector(
        cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path)
    assert main(["--config", cfg, "up", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", cfg, "status", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(z["id"], z["stage"]) for z in doc["zones"]] == [("north", "shadow"),
                                                             ("south", "off")]
    assert doc["detector"]["engine"] == "local"
    assert main(["--config", cfg, "status"]) == 0
    out = capsys.readouterr().out
    assert "zone north: shadow" in out and "cluster.engine: local" in out


def test_status_ray_engine_without_address_exits_1_naming_the_fix(
        cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, "cluster: {engine: ray}\n")
    assert main(["--config", cfg, "up", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", cfg, "status"]) == 1
    err = capsys.readouterr().err
    assert "cluster.address is unset" in err and "ray start --head" in err
