"""Which model version a zone runs live, which it runs in shadow, and the live version a
promotion replaced (issue 7): assign a shadow, promote it, roll back — each writes the zones
row and an audit_log row in the caller's transaction. Plus the shadow model's compact
comparison counts (`shadow_scores`) and the per-zone, day/night summary reports read.

A zone whose `live_model_version` is None runs the configured model (`detector.model`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.errors import ConflictError, NotFoundError
from db.models import ModelVersion, ShadowScore
from db.zones import zone_row, zone_rows
from kernel.records import ShadowCount, ShadowFigures


@dataclass(frozen=True, slots=True)
class ZoneModels:
    """A zone's model versions; None for `live` means the configured model."""

    zone_id: str
    live: str | None
    shadow: str | None
    previous: str | None


@dataclass(frozen=True, slots=True)
class ModelChange:
    """An applied, audited change of a zone's model versions."""

    zone_id: str
    action: str
    from_version: str | None
    to_version: str | None
    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ShadowComparison:
    """One zone's counts for one shadow version, day or night, summed over a window."""

    # Keyed by zone and window, not by camera and hour as a stored `ShadowCount` is.
    zone_id: str
    model_version: str
    is_night: bool
    figures: ShadowFigures


def _check(action: str, zone_id: str, actor: str, reason: str) -> str:
    if not reason.strip():
        raise ValueError(f"a reason is required to {action} the model of zone {zone_id!r}; "
                         "pass --reason")
    if not actor.strip():
        raise ValueError(f"an actor is required to {action} the model of zone {zone_id!r}")
    return reason.strip()


def _audit(session: Session, change: ModelChange) -> ModelChange:
    append(session, AuditEntry(actor=change.actor, action=f"model.{change.action}",
                               subject=f"zone:{change.zone_id}", at=change.at,
                               from_value=change.from_version, to_value=change.to_version,
                               reason=change.reason))
    return change


def zone_models(session: Session, zone_id: str | None = None) -> list[ZoneModels]:
    """The model versions of one zone (or every zone, by id)."""
    return [ZoneModels(zone_id=z.id, live=z.live_model_version, shadow=z.shadow_model_version,
                       previous=z.previous_model_version) for z in zone_rows(session, zone_id)]


def shadow_versions(session: Session) -> dict[str, str]:
    """Zone id → shadow version, for zones that run one."""
    return {z.zone_id: z.shadow for z in zone_models(session) if z.shadow is not None}


def assign_shadow(session: Session, zone_id: str, version: str, *, actor: str, reason: str,
                  now: datetime, unregistered_ok: Collection[str] = ()) -> ModelChange:
    """Run `version` in shadow in the zone: it scores the zone's frames, raises no alert.

    Args:
        unregistered_ok: versions accepted without a `model_versions` row (the built-in id).

    Raises:
        NotFoundError: no such zone, or the version is not registered.
        ConflictError: the version already runs live in the zone.
        ValueError: empty reason or actor.
    """
    why = _check("shadow", zone_id, actor, reason)
    if version not in unregistered_ok and session.get(ModelVersion, version) is None:
        raise NotFoundError(f"model version {version!r} is not registered; register it with "
                            "`bearwatch train` (see `bearwatch model status`) before shadowing it")
    zone = zone_row(session, zone_id, for_update=True)
    if zone.live_model_version == version:
        raise ConflictError(f"zone {zone_id!r} already runs {version!r} live; shadow a new version")
    change = ModelChange(zone_id=zone_id, action="shadow", from_version=zone.shadow_model_version,
                         to_version=version, actor=actor, reason=why, at=now)
    zone.shadow_model_version = version
    return _audit(session, change)


def promote_model(session: Session, zone_id: str, *, actor: str, reason: str,
                  now: datetime) -> ModelChange:
    """Make the zone's shadow version live; the replaced live version is kept for rollback.

    Raises:
        NotFoundError: no such zone.
        ConflictError: the zone runs no shadow version.
        ValueError: empty reason or actor.
    """
    why = _check("promote", zone_id, actor, reason)
    zone = zone_row(session, zone_id, for_update=True)
    if zone.shadow_model_version is None:
        raise ConflictError(f"zone {zone_id!r} runs no shadow model to promote; assign one with "
                            "`bearwatch model shadow ZONE VERSION --reason ...`")
    change = ModelChange(zone_id=zone_id, action="promote", from_version=zone.live_model_version,
                         to_version=zone.shadow_model_version, actor=actor, reason=why, at=now)
    zone.previous_model_version = zone.live_model_version
    zone.live_model_version = zone.shadow_model_version
    zone.shadow_model_version = None
    return _audit(session, change)


def rollback_model(session: Session, zone_id: str, *, actor: str, reason: str,
                   now: datetime) -> ModelChange:
    """Restore the live version the last promotion replaced (None: the configured model).

    Raises:
        NotFoundError: no such zone.
        ConflictError: nothing was promoted in the zone (it runs the configured model).
        ValueError: empty reason or actor.
    """
    why = _check("roll back", zone_id, actor, reason)
    zone = zone_row(session, zone_id, for_update=True)
    if zone.live_model_version is None:
        raise ConflictError(f"zone {zone_id!r} runs the configured model; no promoted version "
                            "to roll back")
    change = ModelChange(zone_id=zone_id, action="rollback", from_version=zone.live_model_version,
                         to_version=zone.previous_model_version, actor=actor, reason=why, at=now)
    zone.live_model_version = zone.previous_model_version
    zone.previous_model_version = None
    return _audit(session, change)


def add_shadow_counts(session: Session, rows: Sequence[ShadowCount]) -> None:
    """Add the counts to the stored hour rows (creating them as needed)."""
    for r in rows:
        row = session.get(ShadowScore, (r.camera_id, r.model_version, r.hour, r.is_night))
        f = r.figures
        if row is None:
            row = ShadowScore(camera_id=r.camera_id, model_version=r.model_version, hour=r.hour,
                              is_night=r.is_night, zone_id=r.zone_id, n_frames=0,
                              n_above_threshold=0, n_agree=0, n_shadow_only=0, n_live_only=0)
            session.add(row)
        row.n_frames += f.n_frames
        row.n_above_threshold += f.n_above_threshold
        row.n_agree += f.n_agree
        row.n_shadow_only += f.n_shadow_only
        row.n_live_only += f.n_live_only


def shadow_comparison(session: Session, zone_id: str | None, since: datetime,
                      until: datetime) -> list[ShadowComparison]:
    """Per zone, shadow version and day/night: the summed counts of hours in [since, until)."""
    s = ShadowScore
    stmt = (select(s.zone_id, s.model_version, s.is_night, func.sum(s.n_frames),
                   func.sum(s.n_above_threshold), func.sum(s.n_agree), func.sum(s.n_shadow_only),
                   func.sum(s.n_live_only))
            .where(s.hour >= since, s.hour < until)
            .group_by(s.zone_id, s.model_version, s.is_night)
            .order_by(s.zone_id, s.model_version, s.is_night))
    if zone_id is not None:
        stmt = stmt.where(s.zone_id == zone_id)
    return [ShadowComparison(zone_id=z, model_version=v, is_night=bool(night),
                             figures=ShadowFigures(n_frames=int(n), n_agree=int(agree),
                                                   n_shadow_only=int(s_only),
                                                   n_live_only=int(l_only),
                                                   n_above_threshold=int(above)))
            for z, v, night, n, above, agree, s_only, l_only in session.execute(stmt)]
