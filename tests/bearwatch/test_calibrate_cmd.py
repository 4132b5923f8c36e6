"""`bearwatch calibrate` through the real CLI on a database the test builds, on both engines:
the proposal with its figures, --apply (override + audit row), the pipeline's threshold then
following it, `rollout status` naming its source, and --clear back to the config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bearwatch.cli import main
from bearwatch.threshold_wiring import encounter_rules
from db import make_engine, make_sessionmaker
from db.audit import recent
from db.zone_thresholds import threshold_overrides
from kernel.config import load_config
from tests.rollout.builders import add_calibration_evidence, make_world


def config(tmp_path: Path) -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"storage: {{root: '{tmp_path / 'var'}'}}\n"
        "detector: {threshold: 0.5}\n"
        "zones: [{id: z1, stage: shadow}, {id: z2, stage: shadow, threshold: 0.7}]\n"
        "cameras: [{id: c1, zone: z1, source: 'demo:'}, {id: c2, zone: z1, source: 'demo:'},\n"
        "          {id: c3, zone: z2, source: 'demo:'}]\n")
    return str(cfg)


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch):
    """The CLI pointed at the test's database, seeded with z1's labelled evidence
    (`add_calibration_evidence`: bears weigh 5, no-bears 42, 21.5 effective no-bear items)."""
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    make_world(sessions)
    with sessions.begin() as s:
        add_calibration_evidence(s)
    yield sessions
    engine.dispose()


def test_calibrate_prints_proposal_and_figures_without_applying(cli, tmp_path, capsys) -> None:
    assert main(["--config", config(tmp_path), "calibrate", "z1", "--false-alarm", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "evidence: 5 reviewed alerts, 21 audit samples" in out
    # Now (config 0.5): bears 0.9, 0.8, 0.7 of weight 5; no-bears 0.75, 0.6 of 42.
    # Proposed 0.45 (2/42 = 4.8 % <= 5 %): every bear. Recall's interval at 5/5 on
    # n_eff = 5²/7 = 3.571: low = n/(n + z²) = 3.571/7.413 = 48.2 %.
    assert out.count("false alarms  4.8 % (2 of 42), 95 % CI 0.9–22.4 %") == 2
    assert "now (config)           threshold 0.5000" in out
    assert "recall        60.0 % (3 of 5)" in out
    assert "proposed               threshold 0.4500" in out
    assert "recall        100.0 % (5 of 5), 95 % CI 48.2–100.0 %" in out
    assert "not applied; to apply: bearwatch calibrate z1 --false-alarm 0.05 --apply" in out
    with cli() as s:
        assert threshold_overrides(s) == {}


def test_calibrate_json(cli, tmp_path, capsys) -> None:
    assert main(["--config", config(tmp_path), "calibrate", "z1", "--false-alarm", "0.05",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    cal = doc["calibration"]
    assert (doc["current_source"], doc["applied"]) == ("config", None)
    assert cal["proposed"]["threshold"] == 0.45 and cal["current"]["threshold"] == 0.5
    assert cal["proposed"]["false_alarm"]["numerator"] == 2.0
    assert cal["evidence"]["weighted_no_bear"] == 42.0 and cal["shortfalls"] == []


def test_calibrate_apply_then_pipeline_uses_it_and_clear_restores_config(
        cli, tmp_path, capsys) -> None:
    cfg = config(tmp_path)
    assert main(["--config", cfg, "calibrate", "z1", "--false-alarm", "0.05", "--apply"]) == 1
    assert "--apply needs --reason" in capsys.readouterr().err
    assert main(["--config", cfg, "calibrate", "z1", "--false-alarm", "0.05", "--apply",
                 "--reason", "30 days of reviews", "--actor", "ada"]) == 0
    out = capsys.readouterr().out
    assert "zone z1: threshold 0.5000 (config) -> 0.4500 (calibrated) by ada: 30 days of " \
           "reviews" in out
    with cli() as s:
        assert threshold_overrides(s) == {"z1": 0.45}
        [entry] = [e for e in recent(s) if e.action.startswith("threshold.")]
    assert (entry.actor, entry.subject, entry.from_value, entry.to_value) == (
        "ada", "zone:z1", "0.5", "0.45")
    assert entry.figures["calibration"]["proposed"]["recall"]["value"] == 1.0
    # `bearwatch run` builds its encounter rules this way: z1 is judged at the override.
    rules = encounter_rules(load_config(cfg), cli)
    assert (rules.threshold("z1"), rules.threshold("z2")) == (0.45, 0.7)

    assert main(["--config", cfg, "rollout", "status"]) == 0
    assert "threshold 0.4500 (calibrated by ada, " in capsys.readouterr().out
    assert main(["--config", cfg, "rollout", "status", "--json"]) == 0
    z1, z2 = json.loads(capsys.readouterr().out)
    assert (z1["threshold"]["value"], z1["threshold"]["source"], z1["threshold"]["set_by"]) == (
        0.45, "calibrated", "ada")
    assert (z2["threshold"]["value"], z2["threshold"]["source"]) == (0.7, "config")

    assert main(["--config", cfg, "calibrate", "z1", "--clear", "--reason", "camera moved"]) == 0
    assert ("zone z1: threshold 0.4500 (calibrated) -> 0.5000 (config) by cli-admin: camera "
            "moved") in capsys.readouterr().out
    assert encounter_rules(load_config(cfg), cli).threshold("z1") == 0.5
    with cli() as s:
        assert threshold_overrides(s) == {}
        assert [e.action for e in recent(s) if e.action.startswith("threshold.")] == [
            "threshold.clear", "threshold.set"]
    assert main(["--config", cfg, "calibrate", "z1", "--clear", "--reason", "again"]) == 1
    assert "no calibrated threshold to clear" in capsys.readouterr().err


def test_calibrate_too_few_no_bears_exits_1_and_applies_nothing(cli, tmp_path, capsys) -> None:
    cfg = config(tmp_path)
    assert main(["--config", cfg, "calibrate", "z1", "--apply", "--reason", "try"]) == 1
    captured = capsys.readouterr()
    assert "now (config)" in captured.out and "proposed " not in captured.out
    assert "22 labelled no-bear items, worth 21.5 effective items" in captured.err
    assert "1 % false-alarm budget needs at least 100" in captured.err
    assert "Review more of the zone's alerts (Review page) and audit samples" in captured.err
    with cli() as s:
        assert threshold_overrides(s) == {}
    assert main(["--config", cfg, "calibrate", "z2", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)["calibration"]
    assert doc["proposed"] is None and doc["shortfalls"] == ["no_bears", "too_few_no_bears"]


def test_calibrate_unknown_zone_or_bad_budget_exits_1(cli, tmp_path, capsys) -> None:
    cfg = config(tmp_path)
    assert main(["--config", cfg, "calibrate", "nope"]) == 1
    assert "no zone 'nope'" in capsys.readouterr().err
    assert main(["--config", cfg, "calibrate", "z1", "--false-alarm", "5"]) == 1
    assert "budget must be a share in (0, 1)" in capsys.readouterr().err


def test_calibrate_help_states_the_definitions(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["calibrate", "--help"])
    out = capsys.readouterr().out
    assert "recall(t)           = weighted bears with score >= t / weighted bears" in out
    assert "false-alarm rate(t) = weighted no-bear items with score >= t" in out
    assert "ceil(1/budget)" in out and "1/sampling_prob" in out
