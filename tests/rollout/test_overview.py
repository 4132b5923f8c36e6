"""`zone_overview`: what the admins' Rollout page shows for each zone."""

from __future__ import annotations

from datetime import timedelta

from kernel.config import BearwatchConfig
from kernel.records import Stage, Verdict
from rollout import Controller, ControllerSettings, RoutingPolicy
from rollout.gates import Reason
from rollout.reports import GateStatus, zone_overview
from tests.rollout.builders import T0, add_alert, make_world

CONFIG = BearwatchConfig.model_validate({
    "zones": [{"id": "z1", "manual_promotion": True, "kill_to": "shadow"}, {"id": "z2"}],
    "cameras": [{"id": "c1", "zone": "z1", "source": "demo:"},
                {"id": "c2", "zone": "z1", "source": "demo:"},
                {"id": "c3", "zone": "z2", "source": "demo:"}],
    "rollout": {"hold_hours": 0, "gates": {"min_reviewed_alerts": 20, "min_days_in_stage": 1,
                                           "max_missed_alert_rate": 0.5,
                                           "dry_run": ["night_false_alert"]}},
})


def test_zone_overview_shows_gates_decision_and_history(sessions) -> None:
    make_world(sessions)
    with sessions.begin() as s:
        for i in range(30):
            add_alert(s, "c1", T0 + timedelta(hours=3 * i), Verdict.BEAR)
    now = T0 + timedelta(days=5)
    settings = ControllerSettings.from_config(CONFIG.rollout, zones=CONFIG.zones,
                                              detector=CONFIG.detector)
    Controller(sessions, settings, RoutingPolicy(sinks=("mqtt",)),
               holder="t", clock=lambda: now).run_once()
    with sessions() as s:
        z1, z2 = zone_overview(s, CONFIG.rollout, now=now, zones=CONFIG.zones,
                               drift=settings.drift)
    assert (z1.zone_id, z1.stage, z1.manual_promotion, z1.kill_to) == (
        "z1", Stage.SHADOW, True, Stage.SHADOW)
    assert [(g.gate.value, g.status, g.dry_run) for g in z1.gates] == [
        ("false_alert", GateStatus.PASS, False), ("missed_alert", GateStatus.PASS, False),
        ("night_false_alert", GateStatus.INCONCLUSIVE, True),
        ("drift", GateStatus.PASS, False)]  # no drift data: nothing flagged
    assert z1.gates[0].rate.denominator == 30 and z1.gates[0].maximum == 0.5
    assert z1.decision.reason is Reason.MANUAL_PROMOTION
    assert z1.last_decision is not None and z1.last_decision.reason == "manual_promotion"
    assert [h.to_stage for h in z1.history] == [Stage.SHADOW]
    assert z2.decision.reason is Reason.INCONCLUSIVE and z2.rates.alert_volume == 0


def test_zone_overview_with_rollout_section_only_defaults_zone_options(sessions) -> None:
    make_world(sessions)
    with sessions() as s:
        views = zone_overview(s, CONFIG.rollout, now=T0 + timedelta(days=1))
    assert [(v.zone_id, v.manual_promotion, v.kill_to) for v in views] == [
        ("z1", False, Stage.OFF), ("z2", False, Stage.OFF)]
