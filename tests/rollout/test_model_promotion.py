"""Model versions through the rollout: the pure decision on shadow-vs-live figures, and the
controller's round promoting (audited) or holding a zone's shadow version, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.audit import recent
from db.outbox import outbox_items
from db.zone_models import promote_model, rollback_model, zone_models
from kernel.config import BearwatchConfig, ModelPromotionConfig
from kernel.records import ShadowFigures
from rollout import Controller, ControllerSettings, RoutingPolicy
from rollout.gates import DecisionAction
from rollout.model_promotion import ModelEvidence, ModelGateName, ModelReason, decide_model
from rollout.reports import GateStatus
from tests.rollout import model_builders as mb
from tests.rollout.builders import T0, make_world

SETTINGS = ModelPromotionConfig(enabled=True, window_days=7, min_frames=2000, min_agreement=0.98,
                                max_shadow_only_rate=0.01, max_live_only_rate=0.005)
POLICY = RoutingPolicy(sinks=("mqtt",))
NOW = T0 + timedelta(days=5)
NO_FIGURES = ShadowFigures()


def evidence(day: ShadowFigures, night: ShadowFigures = NO_FIGURES, *,
             paused: bool = False) -> ModelEvidence:
    return ModelEvidence(zone_id="z1", version="bw-a", live=None, paused=paused,
                         since=T0, until=NOW, day=day, night=night)


def figures(frames: int, shadow_only: int = 0, live_only: int = 0) -> ShadowFigures:
    return ShadowFigures(frames, frames - shadow_only - live_only, shadow_only, live_only)


@pytest.mark.parametrize(("day", "night", "paused", "action", "reason", "failed"), [
    (figures(2400, 5, 3), figures(600, 1, 1), False, DecisionAction.PROMOTE,
     ModelReason.ALL_GATES_PASSED, set()),
    # Perfect agreement on too few frames proves nothing.
    (figures(1500), figures(499), False, DecisionAction.HOLD, ModelReason.TOO_FEW_FRAMES, set()),
    (figures(2400, 50, 0), figures(600, 10, 0), False, DecisionAction.HOLD,
     ModelReason.GATE_FAILED, {ModelGateName.SHADOW_ONLY}),
    (figures(2400, 0, 20), figures(600, 0, 10), False, DecisionAction.HOLD,
     ModelReason.GATE_FAILED, {ModelGateName.LIVE_ONLY}),
    # 0.0043 is within 0.005 but the interval on 3000 frames reaches past it.
    (figures(2400, 0, 10), figures(600, 0, 3), False, DecisionAction.HOLD,
     ModelReason.INCONCLUSIVE, set()),
    (figures(2400), figures(600), True, DecisionAction.HOLD, ModelReason.PAUSED, set()),
])
def test_decide_model_table(day: ShadowFigures, night: ShadowFigures, paused: bool,
                            action: DecisionAction, reason: ModelReason,
                            failed: set[ModelGateName]) -> None:
    d = decide_model(evidence(day, night, paused=paused), SETTINGS, now=NOW)
    assert (d.action, d.reason) == (action, reason)
    assert {g.gate for g in d.gates if g.status is GateStatus.FAIL} == failed
    total = day + night
    assert f"day {day.n_frames} frames" in d.message and f"night {night.n_frames}" in d.message
    assert d.to_figures()["total"]["frames"] == total.n_frames


def test_decide_model_exactly_min_frames_is_enough() -> None:
    d = decide_model(evidence(figures(2000)), SETTINGS, now=NOW)
    assert d.action is DecisionAction.PROMOTE


def _config(enabled: bool = True) -> ControllerSettings:
    config = BearwatchConfig.model_validate({
        "zones": [{"id": "z1"}, {"id": "z2"}],
        "cameras": [{"id": "c1", "zone": "z1", "source": "demo:"},
                    {"id": "c2", "zone": "z1", "source": "demo:"},
                    {"id": "c3", "zone": "z2", "source": "demo:"}],
        "rollout": {"model_promotion": {**SETTINGS.model_dump(), "enabled": enabled}},
    })
    return ControllerSettings.from_config(config.rollout, zones=config.zones,
                                          detector=config.detector)


def _seed(sessions, *, day_frames: int, shadow_only: int = 0, world: bool = True) -> None:
    """z1 shadows bw-a from T0; its counts start an hour later: day on c1, night on c2."""
    if world:
        make_world(sessions)
    mb.shadow_version(sessions, "z1", "bw-a", at=T0)
    start = T0 + timedelta(hours=1)
    mb.store(sessions, mb.hours("c1", "z1", "bw-a", start=start, n_hours=48, frames=day_frames,
                                shadow_only=shadow_only, live_only=2)
             + mb.hours("c2", "z1", "bw-a", start=start, n_hours=12, frames=600, live_only=1,
                        night=True))


def _model_log(sessions, zone: str = "z1") -> list[tuple[str, str, str | None, str | None]]:
    with sessions() as s:
        return [(e.actor, e.action, e.from_value, e.to_value)
                for e in recent(s, subject_prefix=f"zone:{zone}")
                if e.action.startswith(("model.", "controller.model"))]


def test_round_gates_pass_promotes_shadow_version_audited_with_figures(sessions) -> None:
    _seed(sessions, day_frames=2400, shadow_only=4)
    c = Controller(sessions, _config(), POLICY, holder="a", clock=lambda: NOW)
    c.run_once()
    with sessions() as s:
        z = zone_models(s, "z1")[0]
        [promote] = [e for e in recent(s, subject_prefix="zone:z1") if e.action == "model.promote"]
        [decision] = [e for e in recent(s, subject_prefix="zone:z1")
                      if e.action == "controller.model_decision"]
        notices = outbox_items(s, subject_prefix="admin:z1:model:bw-a")
    assert (z.live, z.shadow, z.previous) == ("bw-a", None, None)
    assert (promote.actor, promote.from_value, promote.to_value) == ("controller", None, "bw-a")
    assert "agreement 0.9977 (2993/3000)" in promote.reason
    assert "day 2400 frames" in promote.reason and "night 600 frames" in promote.reason
    assert (decision.to_value, decision.reason) == ("promote", "all_gates_passed")
    assert decision.figures["total"] == {"frames": 3000, "agree": 2993, "shadow_only": 4,
                                         "live_only": 3}
    assert [(n.sink, n.payload["to"]) for n in notices] == [("mqtt", "bw-a")]
    # Promoted: nothing left in shadow, the next round decides nothing for the zone.
    c.run_once()
    assert len(_model_log(sessions)) == 3  # shadow, promote, decision


def test_round_too_few_frames_holds_and_records_the_hold_once(sessions) -> None:
    _seed(sessions, day_frames=1300)
    c = Controller(sessions, _config(), POLICY, holder="a", clock=lambda: NOW)
    c.run_once()
    c.run_once()
    with sessions() as s:
        assert zone_models(s, "z1")[0].shadow == "bw-a"
        [hold] = [e for e in recent(s, subject_prefix="zone:z1")
                  if e.action == "controller.model_decision"]
    assert (hold.to_value, hold.reason) == ("hold", "too_few_frames")
    assert hold.figures["gates"][0]["message"] == "1900 frames < min_frames (2000)"
    assert ("controller", "model.promote") not in {e[:2] for e in _model_log(sessions)}


def test_round_too_many_shadow_only_alerts_holds(sessions) -> None:
    _seed(sessions, day_frames=2400, shadow_only=60)
    Controller(sessions, _config(), POLICY, holder="a", clock=lambda: NOW).run_once()
    with sessions() as s:
        assert zone_models(s, "z1")[0].live is None
        [hold] = [e for e in recent(s, subject_prefix="zone:z1")
                  if e.action == "controller.model_decision"]
    assert (hold.to_value, hold.reason) == ("hold", "gate_failed")
    failed = {g["gate"] for g in hold.figures["gates"] if g["status"] == "fail"}
    assert "shadow_only_rate" in failed


def test_round_counts_before_a_rollback_of_live_are_not_evidence(sessions) -> None:
    """bw-a's counts compared it with live bw-b; once live is rolled back they say nothing
    about bw-a against the model that now runs."""
    make_world(sessions)
    mb.shadow_version(sessions, "z1", "bw-b", at=T0)
    with sessions.begin() as s:
        promote_model(s, "z1", actor="ada", reason="b is better", now=T0)
    _seed(sessions, day_frames=2400, world=False)
    with sessions.begin() as s:
        rollback_model(s, "z1", actor="ada", reason="b misses bears", now=T0 + timedelta(days=4))
    Controller(sessions, _config(), POLICY, holder="a", clock=lambda: NOW).run_once()
    with sessions() as s:
        assert zone_models(s, "z1")[0].shadow == "bw-a"
        [hold] = [e for e in recent(s, subject_prefix="zone:z1")
                  if e.action == "controller.model_decision"]
    assert (hold.from_value, hold.reason) == ("bw-a", "too_few_frames")
    assert hold.figures["since"] == (T0 + timedelta(days=4)).isoformat()


def test_round_disabled_never_promotes(sessions) -> None:
    _seed(sessions, day_frames=2400)
    Controller(sessions, _config(enabled=False), POLICY, holder="a", clock=lambda: NOW).run_once()
    with sessions() as s:
        assert zone_models(s, "z1")[0].shadow == "bw-a"
    assert [e[1] for e in _model_log(sessions)] == ["model.shadow"]
