"""`bearwatch model shadow|promote|rollback|status` through the real CLI, on both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bearwatch.cli import main
from db import make_engine, make_sessionmaker
from db.zone_models import add_shadow_counts
from detector.models import BUILTIN_VERSION
from kernel.records import ShadowCount, ShadowFigures, utc_now


def config(tmp_path: Path) -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"storage: {{root: '{tmp_path / 'var'}'}}\n"
        "zones: [{id: north, stage: shadow}]\n"
        "cameras: [{id: cam1, zone: north, source: 'demo:'}]\n")
    return str(cfg)


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", db_url)


def test_model_shadow_promote_rollback_and_status_json(cli, db_url, tmp_path, capsys) -> None:
    cfg = config(tmp_path)
    assert main(["--config", cfg, "model", "shadow", "north", BUILTIN_VERSION,
                 "--reason", "compare", "--actor", "ann"]) == 0
    assert f"model shadow - -> {BUILTIN_VERSION} by ann: compare" in capsys.readouterr().out
    hour = utc_now().replace(minute=0, second=0, microsecond=0)
    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as s:
        add_shadow_counts(s, [ShadowCount(
            camera_id="cam1", zone_id="north", model_version=BUILTIN_VERSION, hour=hour,
            is_night=True, figures=ShadowFigures(n_frames=10, n_above_threshold=3, n_agree=8,
                                                 n_shadow_only=2, n_live_only=0))])
    engine.dispose()
    assert main(["--config", cfg, "model", "status", "--json"]) == 0
    [zone] = json.loads(capsys.readouterr().out)["zones"]
    [row] = zone["comparison"]
    assert (row["is_night"], row["n_shadow_only"], row["agreement"]) == (True, 2, 0.8)
    assert main(["--config", cfg, "model", "promote", "north", "--reason", "better"]) == 0
    capsys.readouterr()
    assert main(["--config", cfg, "model", "status", "--json"]) == 0
    [zone] = json.loads(capsys.readouterr().out)["zones"]
    assert (zone["zone_id"], zone["live"], zone["shadow"]) == ("north", BUILTIN_VERSION, None)
    assert main(["--config", cfg, "model", "rollback", "north", "--reason", "worse at night"]) == 0
    assert "-> configured model" in capsys.readouterr().out


def test_model_shadow_unknown_version_or_no_reason_exits_1(cli, tmp_path, capsys) -> None:
    cfg = config(tmp_path)
    assert main(["--config", cfg, "model", "shadow", "north", "bw-nope", "--reason", "x"]) == 1
    assert "'bw-nope' is not registered" in capsys.readouterr().err
    assert main(["--config", cfg, "model", "promote", "north", "--reason", " "]) == 1
    assert "a reason is required" in capsys.readouterr().err
