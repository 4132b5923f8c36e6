"""A zone's calibrated per-frame threshold (issue 12): an admin sets it from the zone's own
reviews (`bearwatch calibrate ZONE --apply`) or clears it, back to the config's
`zones[].threshold` (else `detector.threshold`). Each change writes the zones row and an
audit_log row (who, when, from, to, why and the calibration figures) in the caller's
transaction, as `db.zone_models` does for a zone's model.

A zone whose `threshold_override` is None runs the config's threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.errors import ConflictError
from db.zones import zone_row, zone_rows

ThresholdAction = Literal["set", "clear"]


@dataclass(frozen=True, slots=True)
class ZoneThreshold:
    """A zone's stored override (p_bear 0..1), who set it and when (UTC); None: none set."""

    zone_id: str
    override: float | None
    set_by: str | None
    set_at: datetime | None


@dataclass(frozen=True, slots=True)
class ThresholdRequest:
    """A change an admin asks for.

    Attributes:
        threshold: the new override, p_bear 0..1; None clears it (back to the config).
        configured: the config's threshold for the zone, p_bear 0..1 (the audit row's `from`
            when no override is set, its `to` when one is cleared).
        at: when, UTC.
        figures: the calibration figures behind it (JSON-ready), stored in the audit row.
    """

    zone_id: str
    threshold: float | None
    configured: float
    actor: str
    reason: str
    at: datetime
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def action(self) -> ThresholdAction:
        return "clear" if self.threshold is None else "set"


@dataclass(frozen=True, slots=True)
class ThresholdChange:
    """An applied, audited change of a zone's threshold; from/to are the effective values
    (p_bear) before and after, `from_source`/`to_source` whether each was the config's or an
    override."""

    zone_id: str
    action: ThresholdAction
    from_threshold: float
    to_threshold: float
    from_source: Literal["config", "calibrated"]
    to_source: Literal["config", "calibrated"]
    actor: str
    reason: str
    at: datetime


def _check(req: ThresholdRequest) -> str:
    verb = "clear" if req.threshold is None else "set"
    if not req.reason.strip():
        raise ValueError(f"a reason is required to {verb} the threshold of zone "
                         f"{req.zone_id!r}; pass --reason")
    if not req.actor.strip():
        raise ValueError(f"an actor is required to {verb} the threshold of zone {req.zone_id!r}")
    for name, value in (("threshold", req.threshold), ("configured", req.configured)):
        if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"zone {req.zone_id!r}: {name} must be a p_bear in 0..1, "
                             f"got {value!r}")
    return req.reason.strip()


def zone_thresholds(session: Session, zone_id: str | None = None) -> list[ZoneThreshold]:
    """The stored overrides of one zone (or every zone, by id)."""
    return [ZoneThreshold(zone_id=z.id, override=z.threshold_override, set_by=z.threshold_set_by,
                          set_at=z.threshold_set_at) for z in zone_rows(session, zone_id)]


def threshold_overrides(session: Session) -> dict[str, float]:
    """Zone id → override, for zones that have one (what the detector reads)."""
    return {z.zone_id: z.override for z in zone_thresholds(session) if z.override is not None}


def change_zone_threshold(session: Session, req: ThresholdRequest) -> ThresholdChange:
    """Set (req.threshold) or clear (None) the zone's override and append the audit row
    (`threshold.set` / `threshold.clear`, subject `zone:<id>`, from/to the effective values,
    figures with the request's figures) in the caller's transaction.

    Raises:
        NotFoundError: no such zone.
        ConflictError: clearing a zone that has no override (it runs the config's threshold).
        ValueError: empty reason or actor, or a threshold outside 0..1.
    """
    why = _check(req)
    zone = zone_row(session, req.zone_id, for_update=True)
    before = zone.threshold_override
    if req.threshold is None and before is None:
        raise ConflictError(f"zone {req.zone_id!r} runs the config's threshold "
                            f"({req.configured:g}); no calibrated threshold to clear")
    change = ThresholdChange(
        zone_id=req.zone_id, action=req.action,
        from_threshold=req.configured if before is None else before,
        to_threshold=req.configured if req.threshold is None else req.threshold,
        from_source="config" if before is None else "calibrated",
        to_source="config" if req.threshold is None else "calibrated",
        actor=req.actor, reason=why, at=req.at)
    zone.threshold_override = req.threshold
    zone.threshold_set_by = None if req.threshold is None else req.actor
    zone.threshold_set_at = None if req.threshold is None else req.at
    append(session, AuditEntry(
        actor=req.actor, action=f"threshold.{req.action}", subject=f"zone:{req.zone_id}",
        at=req.at, from_value=str(change.from_threshold), to_value=str(change.to_threshold),
        reason=why, figures={**req.figures, "from_source": change.from_source,
                             "to_source": change.to_source, "configured": req.configured}))
    return change
