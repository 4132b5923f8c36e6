"""`bearwatch simulate` reads a scenario file, validates it, and prints the timeline."""

from __future__ import annotations

from pathlib import Path

from bearwatch.cli import main

SCENARIO = """
name: tiny
start: 2026-05-01T00:00:00Z
days: 3
step_minutes: 240
rollout: {gates: {min_reviewed_alerts: 5, min_days_in_stage: 1, max_missed_alert_rate: 0.5},
          hold_hours: 6}
zones: [{id: z, stage: shadow}]
cameras: [{id: c, zone: z}]
traffic: [{camera: c, from_day: 0, to_day: 3, alerts_per_day: 12, night_share: 0.5,
           bear_share: 1.0, night_bear_share: 1.0}]
"""


def test_simulate_cli_prints_timeline(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    assert main(["simulate", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("scenario: tiny")
    assert "==> pilot" in out and "final: z=" in out


def test_simulate_cli_invalid_scenario_exits_2_naming_the_key(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.replace("days: 3", "days: -1").replace("stage: shadow", "stage: live"))
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "days: Input should be greater than 0" in err and "zones.0.stage" in err
