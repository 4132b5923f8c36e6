"""Notifications that reach people, and say so, through the real CLI: `bearwatch drill` and
`bearwatch notify test ZONE` exit 1 when nothing was delivered and name each delivery;
`bearwatch rollout promote` refuses a zone with no notifier unless overridden (audited);
`rollout status` and the start-up log name such zones."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bearwatch.cli import main
from bearwatch.rollout_wiring import log_notifier_coverage
from bearwatch.wiring import open_database, sync_catalog
from db.audit import recent
from kernel.config import load_config
from tests.rollout.receivers import mqtt_subscriber, webhook_server


def config(tmp_path: Path, *, stage: str = "pilot", mqtt_prefix: str | None = None,
           hooks: tuple[str, ...] = ()) -> str:
    cfg = tmp_path / "config.yaml"
    mqtt = (f"{{enabled: true, topic_prefix: {mqtt_prefix}, home_assistant: {{enabled: false}}}}"
            if mqtt_prefix else "{enabled: false}")
    cfg.write_text(
        f"storage: {{root: '{tmp_path / 'var'}'}}\n"
        f"zones: [{{id: north, stage: {stage}}}]\n"
        "cameras: [{id: cam1, zone: north, source: 'demo:'}]\n"
        f"notifier: {{mqtt: {mqtt}, webhooks: [{', '.join(f'{{url: {h!r}}}' for h in hooks)}]}}\n")
    return str(cfg)


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", db_url)


def test_drill_without_notifier_exits_1_and_says_no_one_was_warned(cli, tmp_path,
                                                                   capsys) -> None:
    assert main(["--config", config(tmp_path), "drill", "cam1", "--wait", "0"]) == 1
    assert "no one was warned: zone north has no notifier" in capsys.readouterr().out


def test_drill_whose_only_notifier_fails_exits_1(cli, tmp_path, capsys) -> None:
    with webhook_server(fail_first=100) as hook:
        cfg = config(tmp_path, hooks=(hook.url,))
        assert main(["--config", cfg, "drill", "cam1", "--wait", "1"]) == 1
    out = capsys.readouterr().out
    assert "webhook:0: pending" in out and "no one was warned: nothing was delivered" in out


def test_notify_test_without_notifier_exits_1(cli, tmp_path, capsys) -> None:
    assert main(["--config", config(tmp_path), "notify", "test", "north"]) == 1
    assert "no one was warned: zone north has no notifier" in capsys.readouterr().out


def test_notify_test_unknown_zone_names_the_known_ones(cli, tmp_path, capsys) -> None:
    assert main(["--config", config(tmp_path), "notify", "test", "south"]) == 1
    assert "no zone 'south'; known: north (in the config)" in capsys.readouterr().err
    # A typo gets the name it was meant for.
    assert main(["--config", config(tmp_path), "notify", "test", "nroth"]) == 1
    assert "no zone 'nroth'; did you mean 'north'? known: north" in capsys.readouterr().err


@pytest.mark.mqtt
def test_notify_test_reports_each_delivery_over_mqtt_and_webhook(cli, tmp_path,
                                                                 capsys) -> None:
    with mqtt_subscriber() as sub, webhook_server() as hook:
        cfg = config(tmp_path, mqtt_prefix=sub.prefix, hooks=(hook.url,))
        assert main(["--config", cfg, "notify", "test", "north"]) == 0
        [msg] = sub.wait_for(1)
        [(_headers, body)] = hook.requests  # the CLI returned after the POST was answered
    out = capsys.readouterr().out
    assert f"mqtt: delivered — MQTT {sub.prefix}/zone/north/alert on 127.0.0.1:1883" in out
    assert f"webhook:0: delivered — webhook {hook.url}" in out
    assert "zone north: 2 of 2 notifiers delivered" in out
    assert msg.topic == f"{sub.prefix}/zone/north/test" and msg.payload["kind"] == "test"
    assert json.loads(body)["zone_id"] == "north"


def test_notify_test_with_a_dead_webhook_exits_1_naming_it(cli, tmp_path, capsys) -> None:
    cfg = config(tmp_path, hooks=("http://127.0.0.1:9/dead",))
    assert main(["--config", cfg, "notify", "test", "north"]) == 1
    out = capsys.readouterr().out
    assert "webhook:0: FAILED — webhook http://127.0.0.1:9/dead" in out
    assert "no one was warned: no notifier of zone north delivered" in out


def test_promote_without_notifier_is_refused_then_overridden_and_audited(cli, tmp_path,
                                                                         capsys) -> None:
    cfg = config(tmp_path, stage="shadow")
    assert main(["--config", cfg, "rollout", "promote", "north", "--reason", "trial"]) == 1
    err = capsys.readouterr().err
    assert "zone 'north' has no notifier: promoted to pilot its alerts would warn no one" in err
    assert main(["--config", cfg, "rollout", "status", "--json"]) == 0
    [zone] = json.loads(capsys.readouterr().out)
    assert (zone["stage"], zone["notifies"]) == ("shadow", [])
    assert main(["--config", cfg, "rollout", "promote", "north", "--reason", "trial",
                 "--override-no-notifier", "rangers on radio this week"]) == 0
    assert "shadow -> pilot" in capsys.readouterr().out
    assert main(["--config", cfg, "rollout", "status"]) == 0
    out = capsys.readouterr().out
    assert "north (pilot): NO NOTIFIER" in out and "WARNING: No one is warned for north" in out
    db = open_database(load_config(cfg))
    with db.sessions() as s:
        [e] = [e for e in recent(s, subject_prefix="zone:north")
               if e.action == "zone.notifier_override"]
    assert (e.actor, e.to_value, e.reason) == ("cli-admin", "pilot", "rangers on radio this week")


def test_start_up_log_names_pilot_zone_without_notifier(cli, tmp_path, caplog) -> None:
    cfg = load_config(config(tmp_path))
    db = open_database(cfg)
    sync_catalog(cfg, db)
    with caplog.at_level(logging.INFO, logger="bearwatch"):
        assert log_notifier_coverage(cfg, db) == ["north"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and errors[0].startswith("No one is warned for north (pilot)")


@pytest.mark.mqtt
def test_rollout_runtime_announces_home_assistant_then_goes_offline_on_stop(cli,
                                                                            tmp_path) -> None:
    """What `bearwatch up` does: discovery and `online` at start (retained), `offline` at stop."""
    import uuid

    from bearwatch.rollout_wiring import rollout_runtime
    from tests.rollout.test_home_assistant import clear_retained, subscribe

    prefix = f"bwup-{uuid.uuid4().hex[:8]}"
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(
        f"storage: {{root: '{tmp_path / 'var'}'}}\n"
        "zones: [{id: north, name: North gate, stage: pilot}]\n"
        "cameras: [{id: cam1, zone: north, source: 'demo:'}]\n"
        f"notifier: {{mqtt: {{enabled: true, topic_prefix: {prefix}}}}}\n")
    cfg = load_config(str(cfg_path))
    db = open_database(cfg)
    sync_catalog(cfg, db)
    runtime = rollout_runtime(cfg, db)
    config_topic = f"homeassistant/binary_sensor/{prefix}/north_bear/config"
    try:
        runtime.start()
        with subscribe("homeassistant/#", f"{prefix}/#") as seen:
            doc = json.loads(seen.wait(config_topic))
            assert doc["device"]["name"] == "Bearwatch North gate"
            assert seen.got[config_topic][1]  # retained: HA finds it whenever it starts
            assert seen.wait(f"{prefix}/availability") == b"online"
            assert seen.wait(f"{prefix}/zone/north/bear") == b"OFF"
    finally:
        runtime.stop()
    with subscribe(f"{prefix}/#") as seen:
        assert seen.wait(f"{prefix}/availability") == b"offline"
    clear_retained([config_topic, f"homeassistant/camera/{prefix}/north_snapshot/config",
                    f"{prefix}/availability", f"{prefix}/zone/north/bear"])
