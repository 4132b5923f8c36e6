"""Zone stage state: read a zone, apply a stage change (zones row + zone_stage_changes +
audit_log in the caller's transaction), and the controller's bookkeeping columns.

The rules of which change is legal live in `rollout.stages`; this module only stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.errors import ConflictError, NotFoundError
from db.models import AuditLog, Zone, ZoneStageChange
from kernel.errors import no_such
from kernel.records import Stage, StageChange


@dataclass(frozen=True, slots=True)
class ZoneRecord:
    """A zone's stored rollout state. Times UTC; `consecutive_failures` counts evaluations."""

    id: str
    name: str
    stage: Stage
    paused: bool
    stage_since: datetime
    consecutive_failures: int
    passing_since: datetime | None


@dataclass(frozen=True, slots=True)
class StageHistoryEntry:
    """One row of a zone's stage history (append-only)."""

    at: datetime
    from_stage: Stage | None
    to_stage: Stage
    actor: str
    reason: str
    figures: dict[str, Any]


def _record(z: Zone) -> ZoneRecord:
    return ZoneRecord(id=z.id, name=z.name, stage=Stage(z.stage), paused=z.paused,
                      stage_since=z.stage_since, consecutive_failures=z.consecutive_failures,
                      passing_since=z.passing_since)


def get_zone(session: Session, zone_id: str, *, for_update: bool = False) -> ZoneRecord:
    """The zone's state; `for_update` locks the row on PostgreSQL until the transaction ends.

    Raises:
        NotFoundError: no such zone (names the zones that exist).
    """
    return _record(zone_row(session, zone_id, for_update=for_update))


def zone_row(session: Session, zone_id: str, *, for_update: bool = False) -> Zone:
    """The zone's row (for this package's writers); `for_update` locks it on PostgreSQL.

    Raises:
        NotFoundError: no such zone (names the zones that exist).
    """
    stmt = select(Zone).where(Zone.id == zone_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        known = list(session.scalars(select(Zone.id).order_by(Zone.id)))
        raise NotFoundError(no_such("zone", zone_id, known))
    return row


def zone_rows(session: Session, zone_id: str | None = None) -> list[Zone]:
    """The zone rows, by id: one zone's, or every zone's (for the per-zone views of models
    and thresholds in this package)."""
    stmt = select(Zone).order_by(Zone.id)
    if zone_id is not None:
        stmt = stmt.where(Zone.id == zone_id)
    return list(session.scalars(stmt))


def list_zones(session: Session) -> list[ZoneRecord]:
    """Every zone, by id."""
    return [_record(z) for z in zone_rows(session)]


def apply_stage_change(session: Session, change: StageChange) -> None:
    """Write the change: the zone row, its history row and the audit row, in one transaction.

    The zone row is updated only if it is still at `from_stage`, so two concurrent changes
    cannot both apply (the loser gets ConflictError and its transaction rolls back).

    Raises:
        ConflictError: the zone moved since the caller read it.
    """
    stage_moves = change.to_stage != change.from_stage
    values: dict[str, Any] = {"paused": change.paused}
    if stage_moves:
        values.update(stage=change.to_stage.value, stage_since=change.at,
                      consecutive_failures=0, passing_since=None)
    result = session.execute(
        update(Zone).where(Zone.id == change.zone_id, Zone.stage == change.from_stage.value)
        .values(**values).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            f"zone {change.zone_id!r} is no longer at stage {change.from_stage.value}; "
            "reload and retry")
    session.add(ZoneStageChange(
        zone_id=change.zone_id, at=change.at, from_stage=change.from_stage.value,
        to_stage=change.to_stage.value, actor=change.actor,
        reason=f"{change.action}: {change.reason}", figures=change.figures))
    append(session, AuditEntry(
        actor=change.actor, action=f"zone.{change.action}", subject=f"zone:{change.zone_id}",
        at=change.at, from_value=change.from_stage.value, to_value=change.to_stage.value,
        reason=change.reason, figures={**change.figures, "paused": change.paused}))
    session.expire_all()


def set_controller_state(session: Session, zone_id: str, *, consecutive_failures: int,
                         passing_since: datetime | None) -> None:
    """Store the controller's bookkeeping for a zone (no audit: it is not a change of stage)."""
    session.execute(
        update(Zone).where(Zone.id == zone_id)
        .values(consecutive_failures=consecutive_failures, passing_since=passing_since)
        .execution_options(synchronize_session=False)
    )


def stage_history(session: Session, zone_id: str, *, limit: int = 50) -> list[StageHistoryEntry]:
    """The zone's stage changes, newest first."""
    rows = session.scalars(
        select(ZoneStageChange).where(ZoneStageChange.zone_id == zone_id)
        .order_by(ZoneStageChange.at.desc(), ZoneStageChange.id.desc()).limit(limit))
    return [StageHistoryEntry(at=r.at, from_stage=Stage(r.from_stage) if r.from_stage else None,
                              to_stage=Stage(r.to_stage), actor=r.actor, reason=r.reason,
                              figures=dict(r.figures)) for r in rows]


def last_audit(session: Session, zone_id: str, action: str) -> AuditEntry | None:
    """The newest audit row of `action` on this zone (e.g. the controller's last decision)."""
    r = session.scalars(select(AuditLog).where(AuditLog.subject == f"zone:{zone_id}",
                                               AuditLog.action == action)
                        .order_by(AuditLog.id.desc()).limit(1)).first()
    if r is None:
        return None
    return AuditEntry(actor=r.actor, action=r.action, subject=r.subject, at=r.at,
                      from_value=r.from_value, to_value=r.to_value, reason=r.reason,
                      figures=dict(r.figures))
