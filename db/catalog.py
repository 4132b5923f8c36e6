"""Zones and cameras: the config is the source of truth for what exists, the database for
each zone's current stage (which changes only through the rollout controller or an admin)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.models import Camera, Zone, ZoneStageChange
from kernel.records import Stage


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    id: str
    name: str
    initial_stage: Stage


@dataclass(frozen=True, slots=True)
class CameraSpec:
    id: str
    name: str
    zone_id: str
    source: str
    latitude: float | None
    longitude: float | None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ZoneState:
    id: str
    name: str
    stage: Stage
    paused: bool
    stage_since: datetime


def sync(session: Session, zones: list[ZoneSpec], cameras: list[CameraSpec], *,
         now: datetime) -> bool:
    """Insert new zones in their initial stage (audited) and upsert cameras.

    An existing zone keeps its stage: the file only says where a *new* zone starts.

    Returns:
        Whether anything was added or changed (False: the database already matched).
    """
    changed = False
    for spec in zones:
        zone = session.get(Zone, spec.id)
        if zone is None:
            changed = True
            session.add(Zone(id=spec.id, name=spec.name, stage=spec.initial_stage.value,
                             paused=False, stage_since=now, consecutive_failures=0))
            session.add(ZoneStageChange(zone_id=spec.id, at=now, from_stage=None,
                                        to_stage=spec.initial_stage.value, actor="config",
                                        reason="zone added from config.yaml", figures={}))
            append(session, AuditEntry(actor="config", action="zone.add", subject=f"zone:{spec.id}",
                                       to_value=spec.initial_stage.value, at=now,
                                       reason="zone added from config.yaml"))
        elif zone.name != spec.name:
            changed = True
            zone.name = spec.name
    session.flush()
    for cam in cameras:
        row = session.get(Camera, cam.id)
        if row is None:
            changed = True
            session.add(Camera(id=cam.id, name=cam.name, zone_id=cam.zone_id, source=cam.source,
                               latitude=cam.latitude, longitude=cam.longitude, enabled=cam.enabled,
                               added_at=now))
            continue
        wanted = (cam.name, cam.zone_id, cam.source, cam.latitude, cam.longitude, cam.enabled)
        if (row.name, row.zone_id, row.source, row.latitude, row.longitude,
                row.enabled) != wanted:
            changed = True
            row.name, row.zone_id, row.source = cam.name, cam.zone_id, cam.source
            row.latitude, row.longitude, row.enabled = cam.latitude, cam.longitude, cam.enabled
    return changed


def zone_states(session: Session) -> list[ZoneState]:
    return [
        ZoneState(id=z.id, name=z.name, stage=Stage(z.stage), paused=z.paused,
                  stage_since=z.stage_since)
        for z in session.scalars(select(Zone).order_by(Zone.id))
    ]


def zone_stage(session: Session, zone_id: str) -> Stage:
    zone = session.get(Zone, zone_id)
    if zone is None:
        raise KeyError(zone_id)
    return Stage(zone.stage)
