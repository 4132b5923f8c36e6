"""The admins' Rollout page in one call: each zone's stage, gates vs thresholds, the decision
the controller would take now, its last recorded decision, and the stage history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from db.audit import AuditEntry
from db.zones import StageHistoryEntry, ZoneRecord, last_audit, list_zones, stage_history
from kernel.config import RolloutConfig, ZoneConfig
from kernel.records import Stage
from rollout.drift_gate import CameraDriftStatus, DriftSettings, by_zone, camera_drift
from rollout.gates import Decision, GateName, GateResult, ZoneSnapshot, decide
from rollout.metrics import GroupRates, RateWindow, rates_for

DECISION_ACTION = "controller.decision"


@dataclass(frozen=True, slots=True)
class ZoneOverview:
    """One zone as the Rollout page shows it. Times UTC.

    `gates` carry figure, threshold, status (pass/fail/inconclusive) and the dry-run flag;
    `decision` is what the controller would decide now; `last_decision` its last audit row;
    `drift` the zone's cameras' domain-shift status the drift gate judged.
    """

    zone_id: str
    name: str
    stage: Stage
    paused: bool
    stage_since: datetime
    manual_promotion: bool
    kill_to: Stage
    window: RateWindow
    rates: GroupRates
    gates: tuple[GateResult, ...]
    decision: Decision
    last_decision: AuditEntry | None
    history: list[StageHistoryEntry]
    drift: tuple[CameraDriftStatus, ...] = ()


def drift_gate_on(rollout: RolloutConfig) -> bool:
    """Whether the drift gate is evaluated (acting or dry run), so drift is worth computing."""
    return rollout.gates.block_on_drift or GateName.DRIFT.value in rollout.gates.dry_run


def zone_drift(session: Session, rollout: RolloutConfig, settings: DriftSettings | None, *,
               now: datetime) -> dict[str, list[CameraDriftStatus]]:
    """Each zone's cameras' drift status, or nothing when the gate is off or not configured."""
    if settings is None or not drift_gate_on(rollout):
        return {}
    return by_zone(camera_drift(session, settings, now=now))


def snapshot(zone: ZoneRecord, *, manual_promotion: bool,
             has_notifier: bool = True) -> ZoneSnapshot:
    return ZoneSnapshot(id=zone.id, stage=zone.stage, paused=zone.paused,
                        stage_since=zone.stage_since,
                        consecutive_failures=zone.consecutive_failures,
                        passing_since=zone.passing_since, manual_promotion=manual_promotion,
                        has_notifier=has_notifier)


def zone_window(zone: ZoneRecord, rollout: RolloutConfig, *, now: datetime) -> RateWindow:
    """The controller's window: the last `window_days`, but never before the zone entered its
    stage (each stage earns its own evidence, so a rollback does not cascade on old data)."""
    since = max(now - timedelta(days=rollout.window_days), zone.stage_since)
    if since >= now:
        since = now - timedelta(seconds=1)
    return RateWindow(since=since, until=now, by="zone", zone_id=zone.id)


def zone_overview(session: Session, rollout: RolloutConfig, *, now: datetime,
                  zones: Sequence[ZoneConfig] = (),
                  drift: DriftSettings | None = None,
                  notified: Callable[[str], bool] | None = None) -> list[ZoneOverview]:
    """Every zone's rollout state for the admins' page.

    Args:
        rollout: the rollout section (window, gates, hold, failure limit).
        zones: zone configs (manual promotion, kill stage).
        drift: drift watch limits (None: the drift gate sees no camera and passes).
        notified: zone id → whether a notifier reaches it (`RoutingPolicy.sinks_for`), so
            the decision shown is the controller's (None: assume one does).
    """
    drifts = zone_drift(session, rollout, drift, now=now)
    zone_cfg = {z.id: z for z in zones}
    out = []
    for z in list_zones(session):
        cfg = zone_cfg.get(z.id)
        manual = bool(cfg and cfg.manual_promotion)
        window = zone_window(z, rollout, now=now)
        rates = rates_for(session, window, z.id)
        zd = tuple(drifts.get(z.id, ()))
        reached = True if notified is None else notified(z.id)
        d = decide(snapshot(z, manual_promotion=manual, has_notifier=reached), rates,
                   rollout.gates, now=now, hold_hours=rollout.hold_hours,
                   failure_limit=rollout.failure_limit, drift=zd)
        out.append(ZoneOverview(
            zone_id=z.id, name=z.name, stage=z.stage, paused=z.paused, stage_since=z.stage_since,
            manual_promotion=manual, kill_to=Stage(cfg.kill_to) if cfg else Stage.OFF,
            window=window, rates=rates, gates=d.gates, decision=d,
            last_decision=last_audit(session, z.id, DECISION_ACTION),
            history=stage_history(session, z.id), drift=zd))
    return out
