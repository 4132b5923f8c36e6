"""The three shipped scenarios replayed through the real controller (coarser step for speed)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bearwatch.commands.simulate_cmd import load_scenario
from kernel.records import Stage
from rollout.errors import ScenarioError
from rollout.simulation import simulate

SCENARIOS = Path(__file__).resolve().parents[2] / "rollout" / "scenarios"


def run(name: str):
    return simulate(replace(load_scenario(SCENARIOS / name), step_minutes=120))


def stage_changes(result) -> list[Stage]:
    return [e.stage for e in result.timeline if e.kind == "stage"]


def test_simulate_good_zone_is_promoted_to_active() -> None:
    r = run("good_zone_promoted.yaml")
    assert stage_changes(r) == [Stage.PILOT, Stage.ACTIVE]
    assert r.final_stages == {"meadow": Stage.ACTIVE}
    first = next(e for e in r.timeline if e.kind == "stage")
    assert first.day >= 7  # min_days_in_stage


def test_simulate_night_false_alerts_roll_zone_back() -> None:
    r = run("night_false_alerts_rollback.yaml")
    assert stage_changes(r) == [Stage.PILOT, Stage.SHADOW]
    rollback = next(e for e in r.timeline if e.kind == "decision" and e.text.startswith("rollback"))
    assert "night_false_alert" in rollback.text and rollback.day > 20
    assert "failed (2) >= failure_limit (2)" in rollback.text


def test_simulate_few_reviews_holds_inconclusive() -> None:
    r = run("inconclusive_few_reviews.yaml")
    assert stage_changes(r) == []
    assert r.final_stages == {"ridge": Stage.SHADOW}
    assert r.last_decisions["ridge"].startswith("hold: inconclusive: false_alert:")
    assert {e.text.split(":")[1].strip() for e in r.timeline} == {"inconclusive"}


def test_simulate_unknown_camera_raises_scenario_error() -> None:
    sc = load_scenario(SCENARIOS / "inconclusive_few_reviews.yaml")
    bad = replace(sc, traffic=(replace(sc.traffic[0], camera="ghost"),))
    with pytest.raises(ScenarioError,
                       match="unknown camera 'ghost'; cameras are \\['ridge-trail'\\]"):
        simulate(bad)
