"""The controller: one round promotes, rolls back, tells admins; only the leader acts; the
APScheduler job is stored in the database."""

from __future__ import annotations

import threading
from datetime import timedelta

from db.audit import recent
from db.outbox import outbox_items
from db.zones import apply_stage_change, get_zone, stage_history
from kernel.config import BearwatchConfig
from kernel.records import Stage, StageChange, Verdict
from rollout import Controller, ControllerSettings, RoutingPolicy
from rollout.gates import DecisionAction, Reason
from tests.rollout.builders import T0, add_alert, make_world

CONFIG = BearwatchConfig.model_validate({
    "zones": [{"id": "z1"}, {"id": "z2"}],
    "cameras": [{"id": "c1", "zone": "z1", "source": "demo:"},
                {"id": "c2", "zone": "z1", "source": "demo:"},
                {"id": "c3", "zone": "z2", "source": "demo:"}],
    "rollout": {"interval_minutes": 5, "window_days": 14, "hold_hours": 24, "failure_limit": 2,
                "gates": {"min_reviewed_alerts": 20, "min_days_in_stage": 7,
                          "max_false_alert_rate": 0.5, "max_missed_alert_rate": 0.5,
                          "max_night_false_alert_rate": 0.6}},
})
SETTINGS = ControllerSettings.from_config(CONFIG.rollout, zones=CONFIG.zones,
                                          detector=CONFIG.detector)
POLICY = RoutingPolicy(sinks=("mqtt",))


class Clock:
    def __init__(self, now) -> None:
        self.now = now

    def __call__(self):
        return self.now


def seed(sessions, stage: Stage, *, night_false: bool) -> None:
    """z1 at `stage` since T0; 10 days of alerts: 40 bear by day, 20 night ones."""
    make_world(sessions)
    with sessions.begin() as s:
        z = get_zone(s, "z1")
        apply_stage_change(s, StageChange("z1", "setup", z.stage, stage, False, "t", "t", T0))
        for i in range(40):
            add_alert(s, "c1", T0 + timedelta(hours=6 * i + 1), Verdict.BEAR)
        for i in range(20):
            add_alert(s, "c2", T0 + timedelta(hours=12 * i + 2),
                      Verdict.NO_BEAR if night_false else Verdict.BEAR, night=True)


def test_round_promotes_after_hold_and_queues_zone_status(sessions) -> None:
    seed(sessions, Stage.SHADOW, night_false=False)
    clock = Clock(T0 + timedelta(days=10, hours=1))
    c = Controller(sessions, SETTINGS, POLICY, holder="a", clock=clock)
    [d1, _] = c.run_once()
    assert (d1.action, d1.reason) == (DecisionAction.HOLD, Reason.HOLDING)
    clock.now += timedelta(hours=25)
    [d2, _] = c.run_once()
    assert d2.action is DecisionAction.PROMOTE
    with sessions() as s:
        assert get_zone(s, "z1").stage is Stage.PILOT
        h = stage_history(s, "z1")[0]
        status = outbox_items(s, subject_prefix="zone:z1:status")
    assert (h.from_stage, h.to_stage, h.actor) == (Stage.SHADOW, Stage.PILOT, "controller")
    assert h.figures["rates"]["bear"] == 60 and h.figures["gates"][0]["status"] == "pass"
    assert [(i.payload["stage"], i.sink) for i in status] == [("pilot", "mqtt")]


def test_round_rolls_back_after_failure_limit_and_tells_admins(sessions) -> None:
    seed(sessions, Stage.ACTIVE, night_false=True)
    clock = Clock(T0 + timedelta(days=10, hours=1))
    c = Controller(sessions, SETTINGS, POLICY, holder="a", clock=clock)
    assert c.run_once()[0].reason is Reason.GATE_FAILED
    with sessions() as s:
        assert get_zone(s, "z1").consecutive_failures == 1
    clock.now += timedelta(minutes=5)
    d = c.run_once()[0]
    assert (d.action, d.message.split(":")[0]) == (DecisionAction.ROLLBACK,
                                                  "failed (2) >= failure_limit (2)")
    with sessions() as s:
        zone = get_zone(s, "z1")
        admin = outbox_items(s, subject_prefix="admin:z1")
        audit = [e for e in recent(s, subject_prefix="zone:z1") if e.action == "zone.rollback"]
    assert (zone.stage, zone.consecutive_failures) == (Stage.PILOT, 0)
    assert {i.payload["reason"] for i in admin} == {"gate_failed", "failure_limit_reached"}
    assert audit[0].actor == "controller" and audit[0].to_value == "pilot"
    # after the rollback the pilot stage has no evidence of its own yet: it holds
    clock.now += timedelta(minutes=5)
    assert c.run_once()[0].reason is Reason.INCONCLUSIVE


def test_two_controllers_never_both_act(sessions) -> None:
    seed(sessions, Stage.SHADOW, night_false=False)
    now = T0 + timedelta(days=10)
    controllers = [Controller(sessions, SETTINGS, POLICY, holder=f"h{i}", clock=lambda: now)
                   for i in range(4)]
    barrier, results = threading.Barrier(4), [None] * 4

    def run(i: int) -> None:
        barrier.wait()
        results[i] = controllers[i].run_once()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r is not None for r in results) == 1
    leader = next(c for c, r in zip(controllers, results, strict=True) if r is not None)
    assert all(c.run_once() is None for c in controllers if c is not leader)
    leader.resign()
    assert controllers[0 if leader is not controllers[0] else 1].run_once() is not None


def test_controller_start_stores_job_in_database(sessions, engine) -> None:
    from sqlalchemy import inspect, text

    make_world(sessions)
    c = Controller(sessions, SETTINGS, POLICY, holder="a")
    c.start("test")
    try:
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(text("SELECT id FROM apscheduler_jobs"))]
        assert ids == ["rollout-controller:test"]
    finally:
        c.stop()
    assert "apscheduler_jobs" in inspect(engine).get_table_names()


def test_paused_zone_is_left_alone(sessions) -> None:
    seed(sessions, Stage.ACTIVE, night_false=True)
    with sessions.begin() as s:
        apply_stage_change(s, StageChange("z1", "pause", Stage.ACTIVE, Stage.ACTIVE, True,
                                          "t", "t", T0))
    c = Controller(sessions, SETTINGS, POLICY, holder="a", clock=lambda: T0 + timedelta(days=10))
    for _ in range(3):
        assert c.run_once()[0].reason is Reason.PAUSED
    with sessions() as s:
        assert get_zone(s, "z1").stage is Stage.ACTIVE
