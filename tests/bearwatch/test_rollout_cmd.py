"""`bearwatch rollout …`, `report`, `drill` through the real CLI, on both engines; the drill
reaches the real Mosquitto broker and a signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bearwatch.cli import main
from bearwatch.commands.rollout_cmd import parse_since
from tests.rollout.receivers import mqtt_subscriber, webhook_server

NOW = datetime(2026, 6, 10, tzinfo=UTC)


def config(tmp_path: Path, *, prefix: str = "unused", hook: str | None = None) -> str:
    cfg = tmp_path / "config.yaml"
    hooks = f"[{{url: '{hook}', secret_env: BW_TEST_SECRET}}]" if hook else "[]"
    cfg.write_text(
        f"storage: {{root: '{tmp_path / 'var'}'}}\n"
        "zones: [{id: north, stage: shadow, kill_to: shadow}]\n"
        "cameras: [{id: cam1, zone: north, source: 'demo:'}]\n"
        f"notifier: {{mqtt: {{enabled: {str(hook is not None).lower()}, topic_prefix: {prefix}}}, "
        f"webhooks: {hooks}}}\n")
    return str(cfg)


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("BW_TEST_SECRET", "s3cret")


def test_rollout_promote_kill_and_status_json(cli, tmp_path, capsys) -> None:
    cfg = config(tmp_path)
    assert main(["--config", cfg, "rollout", "promote", "north", "--reason", "trial",
                 "--actor", "ann", "--override-no-notifier", "bench trial, no one nearby"]) == 0
    assert "shadow -> pilot by ann: trial" in capsys.readouterr().out
    assert main(["--config", cfg, "rollout", "kill", "north", "--reason", "bear season over"]) == 0
    assert "pilot -> shadow (paused)" in capsys.readouterr().out
    assert main(["--config", cfg, "rollout", "status", "--json"]) == 0
    [zone] = json.loads(capsys.readouterr().out)
    assert (zone["zone"], zone["stage"], zone["paused"]) == ("north", "shadow", True)
    assert [h["to"] for h in zone["history"]] == ["shadow", "pilot", "shadow"]
    assert zone["decision"]["reason"] == "paused"


def test_rollout_illegal_or_reasonless_change_exits_1_with_message(cli, tmp_path, capsys) -> None:
    cfg = config(tmp_path)
    assert main(["--config", cfg, "rollout", "resume", "north", "--reason", "x"]) == 1
    assert "zone 'north' is shadow: cannot resume (not paused)" in capsys.readouterr().err
    assert main(["--config", cfg, "rollout", "pause", "north", "--reason", " "]) == 1
    assert "a reason is required" in capsys.readouterr().err


def test_report_json_lists_each_zone_with_intervals(cli, tmp_path, capsys) -> None:
    cfg = config(tmp_path)
    assert main(["--config", cfg, "report", "--json", "--since", "2026-01-01T00:00:00"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["since"] == "2026-01-01T00:00:00+00:00"
    [g] = doc["groups"]
    assert g["key"] == "north" and g["false_alert"] == {
        "numerator": 0, "denominator": 0, "value": None, "low": 0.0, "high": 1.0,
        "n_effective": 0.0}


@pytest.mark.mqtt
def test_drill_travels_whole_chain_marked_drill(cli, tmp_path, capsys) -> None:
    with mqtt_subscriber() as sub, webhook_server() as hook:
        cfg = config(tmp_path, prefix=sub.prefix, hook=hook.url)
        assert main(["--config", cfg, "drill", "cam1"]) == 0
        out = capsys.readouterr().out
        assert "mqtt: sent" in out and "webhook:0: sent" in out
        [msg] = sub.wait_for(1)
        assert msg.topic == f"{sub.prefix}/zone/north/alert" and msg.payload["drill"] is True
        headers, body = hook.requests[0]
        assert headers["X-Bearwatch-Signature"] == "sha256=" + hmac.new(
            b"s3cret", body, hashlib.sha256).hexdigest()
    snapshot = Path(msg.payload["snapshot_path"])
    assert snapshot.is_file() and snapshot.parent == tmp_path / "var" / "snapshots" / "drill"
    assert main(["--config", cfg, "report", "--json", "--since", "1d"]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    assert groups[0]["alert_volume"] == 0  # drills count in no rate


def test_drill_unknown_camera_names_the_known_ones(cli, tmp_path, capsys) -> None:
    assert main(["--config", config(tmp_path), "drill", "nope"]) == 1
    assert "no camera 'nope' in the config; cameras: ['cam1']" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "expected"), [
    ("7d", datetime(2026, 6, 3, tzinfo=UTC)),
    ("12h", datetime(2026, 6, 9, 12, tzinfo=UTC)),
    ("2026-06-01T05:00:00+02:00", datetime(2026, 6, 1, 3, tzinfo=UTC)),
])
def test_parse_since_spans_and_iso(text: str, expected: datetime) -> None:
    assert parse_since(text, now=NOW) == expected
