"""The rollout controller: every `interval_minutes`, per zone, load → decide → apply → audit,
in one transaction, by one process at a time (a leader lock row in the database).

The schedule is an APScheduler 3 BackgroundScheduler whose job store is the same database
(`apscheduler_jobs`), so the job and its next run survive restarts. The job is a module-level
function that looks its Controller up by name: the store pickles a reference, not the object.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from db.audit import AuditEntry, append
from db.locks import acquire, release
from db.outbox import enqueue
from db.zones import get_zone, last_audit, list_zones, set_controller_state
from kernel.config import DetectorConfig, RolloutConfig, ZoneConfig
from kernel.records import utc_now
from rollout.drift_gate import DriftSettings
from rollout.gates import Decision, DecisionAction, Reason, decide
from rollout.metrics import rates_for
from rollout.model_promotion import evaluate_models
from rollout.overview import DECISION_ACTION, snapshot, zone_drift, zone_window
from rollout.routing import RoutingPolicy, notify_admins, zone_status_payload
from rollout.stages import Action, change_stage

log = logging.getLogger("bearwatch.rollout")
LOCK_NAME = "rollout-controller"
JOB_ID = "rollout-controller"
ACTOR = "controller"
# Decisions that admins hear about (when the reason changes, not every round).
TELL_ADMINS = {Reason.INCONCLUSIVE, Reason.FAILURE_LIMIT_REACHED, Reason.FAILED_AT_LOWEST,
               Reason.MANUAL_PROMOTION, Reason.GATE_FAILED, Reason.NO_NOTIFIER}


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    """The rollout section plus the per-zone options the controller needs; `drift` the drift
    watch limits (None: the drift gate sees no camera and passes)."""

    rollout: RolloutConfig
    manual_promotion: frozenset[str] = frozenset()
    drift: DriftSettings | None = None

    @classmethod
    def from_config(cls, rollout: RolloutConfig, *, zones: Sequence[ZoneConfig] = (),
                    detector: DetectorConfig | None = None) -> ControllerSettings:
        """The rollout section, the zones promoted by hand only, and the drift watch limits of
        `detector` (None: no drift gate)."""
        return cls(rollout=rollout,
                   manual_promotion=frozenset(z.id for z in zones if z.manual_promotion),
                   drift=None if detector is None else DriftSettings.from_config(detector))


def queue_zone_status(session: Session, zone_id: str, *, now: datetime,
                      routing: RoutingPolicy) -> None:
    """Queue the retained zone status message after a stage change (one per change)."""
    z = get_zone(session, zone_id)
    doc = zone_status_payload(z.id, z.stage, z.paused, z.stage_since)
    for sink in routing.sinks:
        enqueue(session, f"zone:{zone_id}:status:{now.isoformat()}", sink, doc, now=now)


def _apply(session: Session, d: Decision, rates_fig: dict[str, object], *, now: datetime,
           routing: RoutingPolicy) -> None:
    figures = {**d.to_figures(), "rates": rates_fig}
    if d.action in (DecisionAction.PROMOTE, DecisionAction.ROLLBACK):
        action = Action.PROMOTE if d.action is DecisionAction.PROMOTE else Action.ROLLBACK
        change_stage(session, d.zone_id, action, actor=ACTOR, reason=d.message, now=now,
                     figures=figures)
        queue_zone_status(session, d.zone_id, now=now, routing=routing)
    else:
        set_controller_state(session, d.zone_id, consecutive_failures=d.consecutive_failures,
                             passing_since=d.passing_since)
    last = last_audit(session, d.zone_id, DECISION_ACTION)
    changed = last is None or last.reason != d.reason.value or d.action is not DecisionAction.HOLD
    if changed:
        append(session, AuditEntry(actor=ACTOR, action=DECISION_ACTION, subject=f"zone:{d.zone_id}",
                                   at=now, from_value=d.stage.value, to_value=d.action.value,
                                   reason=d.reason.value, figures=figures))
    if changed and (d.reason in TELL_ADMINS or d.action is DecisionAction.ROLLBACK):
        notify_admins(session, f"admin:{d.zone_id}:{d.reason.value}:{now.isoformat()}",
                      {"zone_id": d.zone_id, "stage": d.stage.value, "action": d.action.value,
                       "reason": d.reason.value, "message": d.message, "time": now.isoformat()},
                      now=now, routing=routing)


def evaluate(session: Session, settings: ControllerSettings, *, now: datetime,
             routing: RoutingPolicy) -> list[Decision]:
    """One controller round over every zone, in the caller's transaction: stages, then the
    shadow model versions (when `rollout.model_promotion.enabled`; their decisions are audited
    as `controller.model_decision`, not returned here)."""
    decisions = []
    drifts = zone_drift(session, settings.rollout, settings.drift, now=now)
    for z in list_zones(session):
        zone = get_zone(session, z.id, for_update=True)
        rates = rates_for(session, zone_window(zone, settings.rollout, now=now), zone.id)
        r = settings.rollout
        d = decide(snapshot(zone, manual_promotion=zone.id in settings.manual_promotion,
                            has_notifier=bool(routing.sinks_for(zone.id))), rates,
                   r.gates, now=now, hold_hours=r.hold_hours, failure_limit=r.failure_limit,
                   drift=drifts.get(zone.id, ()))
        _apply(session, d, rates.to_figures(), now=now, routing=routing)
        log.info("zone evaluated", extra={"zone_id": zone.id, "stage": zone.stage.value,
                                          "action": d.action.value, "reason": d.reason.value})
        decisions.append(d)
    for m in evaluate_models(session, settings.rollout.model_promotion, now=now,
                             routing=routing):
        log.info("zone model evaluated", extra={
            "zone_id": m.evidence.zone_id, "model_version": m.evidence.version,
            "action": m.action.value, "reason": m.reason.value})
    return decisions


class Controller:
    """Runs `evaluate` under the leader lock; `start()` schedules it with APScheduler.

    Args:
        sessions: session factory of the database.
        settings: rollout settings; `routing`: where admin notices go.
        holder: this process's name in the leader lock (default host:pid:random).
        clock: returns UTC now (injected for tests and simulations).
    """

    def __init__(self, sessions: sessionmaker[Session], settings: ControllerSettings,
                 routing: RoutingPolicy, *, holder: str | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.sessions, self.settings, self.routing, self.clock = sessions, settings, routing, clock
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # The lease outlives a round by a wide margin; the holder renews it every round.
        self.lock_ttl_s = max(60.0, settings.rollout.interval_minutes * 60 * 3)
        self._scheduler: object | None = None

    def is_leader(self) -> bool:
        """Take or renew the leader lock (own transaction, committed at once)."""
        with self.sessions.begin() as s:
            return acquire(s, LOCK_NAME, self.holder, now=self.clock(), ttl_s=self.lock_ttl_s)

    def run_once(self) -> list[Decision] | None:
        """One round if this process is the leader; None when another process is."""
        if not self.is_leader():
            log.debug("controller: not the leader", extra={"holder": self.holder})
            return None
        with self.sessions.begin() as s:
            return evaluate(s, self.settings, now=self.clock(), routing=self.routing)

    def resign(self) -> None:
        with self.sessions.begin() as s:
            release(s, LOCK_NAME, self.holder)

    def start(self, name: str = "default") -> None:
        """Schedule `run_once` every interval in a background thread, job stored in the DB."""
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        _REGISTRY[name] = self
        engine = self.sessions.kw["bind"]
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine)}, timezone="UTC")
        scheduler.add_job(scheduled_run, "interval", args=[name], id=f"{JOB_ID}:{name}",
                          minutes=self.settings.rollout.interval_minutes, replace_existing=True,
                          max_instances=1, coalesce=True)
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        sched = self._scheduler
        if sched is not None:
            sched.shutdown(wait=True)  # type: ignore[attr-defined]
            self._scheduler = None
        self.resign()


_REGISTRY: dict[str, Controller] = {}


def scheduled_run(name: str) -> None:
    """The APScheduler job: run the registered controller's round; errors are logged, the
    schedule goes on."""
    controller = _REGISTRY.get(name)
    if controller is None:
        log.warning("controller %r is not registered in this process", name)
        return
    try:
        controller.run_once()
    except Exception:  # a failed round must not kill the schedule; it is retried next interval
        log.exception("controller round failed", extra={"holder": controller.holder})
