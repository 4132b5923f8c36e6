"""Every transition of the zone state machine, legal and illegal, and its audit trail."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db.audit import recent
from db.zones import apply_stage_change, get_zone, stage_history
from kernel.records import Stage
from rollout import Action, IllegalTransition, change_stage
from rollout.stages import allowed_actions
from tests.rollout.builders import T0, make_world

OFF, SHADOW, PILOT, ACTIVE = Stage.OFF, Stage.SHADOW, Stage.PILOT, Stage.ACTIVE
ILLEGAL = pytest.raises(IllegalTransition)

# (stage, paused, action, kill_to) -> (stage, paused) after, or ILLEGAL
CASES = [
    (OFF, False, Action.PROMOTE, OFF, (SHADOW, False)),
    (SHADOW, False, Action.PROMOTE, OFF, (PILOT, False)),
    (PILOT, False, Action.PROMOTE, OFF, (ACTIVE, False)),
    (ACTIVE, False, Action.PROMOTE, OFF, ILLEGAL),
    (PILOT, True, Action.PROMOTE, OFF, (ACTIVE, True)),
    (OFF, False, Action.ROLLBACK, OFF, ILLEGAL),
    (SHADOW, False, Action.ROLLBACK, OFF, (OFF, False)),
    (PILOT, False, Action.ROLLBACK, OFF, (SHADOW, False)),
    (ACTIVE, False, Action.ROLLBACK, OFF, (PILOT, False)),
    (ACTIVE, True, Action.ROLLBACK, OFF, (PILOT, True)),
    (OFF, False, Action.PAUSE, OFF, (OFF, True)),
    (SHADOW, False, Action.PAUSE, OFF, (SHADOW, True)),
    (PILOT, False, Action.PAUSE, OFF, (PILOT, True)),
    (ACTIVE, False, Action.PAUSE, OFF, (ACTIVE, True)),
    (ACTIVE, True, Action.PAUSE, OFF, ILLEGAL),
    (ACTIVE, False, Action.RESUME, OFF, ILLEGAL),
    (OFF, True, Action.RESUME, OFF, (OFF, False)),
    (ACTIVE, True, Action.RESUME, OFF, (ACTIVE, False)),
    (OFF, False, Action.KILL, OFF, ILLEGAL),
    (SHADOW, False, Action.KILL, OFF, (OFF, True)),
    (PILOT, False, Action.KILL, OFF, (OFF, True)),
    (ACTIVE, False, Action.KILL, OFF, (OFF, True)),
    (ACTIVE, True, Action.KILL, OFF, (OFF, True)),
    (ACTIVE, False, Action.KILL, SHADOW, (SHADOW, True)),
    (PILOT, False, Action.KILL, SHADOW, (SHADOW, True)),
    (SHADOW, False, Action.KILL, SHADOW, ILLEGAL),
    (OFF, False, Action.KILL, SHADOW, ILLEGAL),
]


def put_zone(sessions: sessionmaker[Session], stage: Stage, paused: bool) -> None:
    """Bring z1 to (stage, paused) through the storage layer (audited like any change)."""
    from kernel.records import StageChange

    with sessions.begin() as s:
        z = get_zone(s, "z1")
        apply_stage_change(s, StageChange("z1", "setup", z.stage, stage, paused, "test",
                                          "test setup", T0))


@pytest.mark.parametrize(("stage", "paused", "action", "kill_to", "expected"), CASES,
                         ids=[f"{c[0]}{'-paused' if c[1] else ''}-{c[2]}-to-{c[3]}" for c in CASES])
def test_change_stage_table(sessions, stage, paused, action, kill_to, expected) -> None:
    make_world(sessions)
    put_zone(sessions, stage, paused)
    at = T0 + timedelta(hours=1)
    illegal = not isinstance(expected, tuple)
    with (expected if illegal else nullcontext()), sessions.begin() as s:
        change = change_stage(s, "z1", action, actor="alice", reason="because", now=at,
                              figures={"false_alert": 0.1}, kill_to=kill_to)
    with sessions() as s:
        zone = get_zone(s, "z1")
        history = stage_history(s, "z1")
        audit = recent(s, subject_prefix="zone:z1", limit=1)[0]
    if illegal:
        assert (zone.stage, zone.paused) == (stage, paused)  # nothing written
        assert history[0].reason == "setup: test setup"
        return
    assert (zone.stage, zone.paused) == expected
    assert (change.from_stage, change.to_stage, change.paused) == (stage, *expected)
    assert (history[0].from_stage, history[0].to_stage, history[0].actor) == (
        stage, expected[0], "alice")
    assert history[0].figures == {"false_alert": 0.1}
    assert (audit.action, audit.actor, audit.at) == (f"zone.{action}", "alice", at)
    assert (audit.from_value, audit.to_value, audit.reason) == (
        stage.value, expected[0].value, "because")
    assert audit.figures["false_alert"] == 0.1 and audit.figures["paused"] == expected[1]
    if expected[0] != stage:
        assert zone.stage_since == at


def test_illegal_transition_message_names_zone_stage_action_and_allowed(sessions) -> None:
    make_world(sessions)
    put_zone(sessions, ACTIVE, False)
    with pytest.raises(IllegalTransition) as err, sessions.begin() as s:
        change_stage(s, "z1", Action.PROMOTE, actor="a", reason="r", now=T0)
    assert str(err.value) == ("zone 'z1' is active: cannot promote (active is the last stage); "
                              "allowed now: rollback, pause, kill")


@pytest.mark.parametrize("reason", ["", "   "])
def test_change_stage_without_reason_raises(sessions, reason: str) -> None:
    make_world(sessions)
    with pytest.raises(ValueError, match="reason is required"), sessions.begin() as s:
        change_stage(s, "z1", Action.PROMOTE, actor="a", reason=reason, now=T0)


def test_allowed_actions_of_paused_pilot(sessions) -> None:
    make_world(sessions)
    put_zone(sessions, PILOT, True)
    with sessions() as s:
        assert allowed_actions(get_zone(s, "z1")) == [Action.PROMOTE, Action.ROLLBACK,
                                                      Action.RESUME, Action.KILL]
