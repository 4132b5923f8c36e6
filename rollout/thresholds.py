"""A zone's per-frame threshold (issue 12): the value the detector uses and where it comes from
(the config, or an admin's calibration from the zone's own reviews), the calibration on the
stored evidence (`rollout.calibration`), and setting or clearing the override — each audited
with who, when, from, to, why and the figures, in the caller's transaction
(`db.zone_thresholds`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy.orm import Session

from db.errors import NotFoundError
from db.labelled_scores import ScoreQuery, reviewed_scores
from db.zone_thresholds import (
    ThresholdChange,
    ThresholdRequest,
    ZoneThreshold,
    change_zone_threshold,
    zone_thresholds,
)
from kernel.config import DetectorConfig, ZoneConfig
from kernel.errors import no_such
from rollout.calibration import Calibration, LabelledScore, calibrate, figures_at
from rollout.errors import CalibrationRefused

DEFAULT_FALSE_ALARM = 0.01


class ThresholdSource(StrEnum):
    """Where a zone's effective threshold comes from."""

    CONFIG = "config"          # zones[].threshold, else detector.threshold
    CALIBRATED = "calibrated"  # an admin's override from `bearwatch calibrate --apply`


@dataclass(frozen=True, slots=True)
class EffectiveThreshold:
    """The threshold (p_bear 0..1) a zone's frames are judged against now, its source, the
    config's value, and who set the override and when (UTC; None for the config's)."""

    zone_id: str
    threshold: float
    source: ThresholdSource
    configured: float
    set_by: str | None = None
    set_at: datetime | None = None

    def describe(self) -> str:
        """e.g. `0.6200 (calibrated by ada, 2026-06-01 10:00 UTC; config 0.5000)`."""
        if self.source is ThresholdSource.CONFIG:
            return f"{self.threshold:.4f} (config)"
        at = "" if self.set_at is None else f", {self.set_at:%Y-%m-%d %H:%M} UTC"
        return (f"{self.threshold:.4f} (calibrated by {self.set_by or '?'}{at}; "
                f"config {self.configured:.4f})")


@dataclass(frozen=True, slots=True)
class CalibrationRequest:
    """Which evidence and budget: one zone, the false-alarm budget (0 < target < 1), and
    optionally [since, until) UTC and one model version (scores of other models are not on
    the same scale)."""

    zone_id: str
    target: float = DEFAULT_FALSE_ALARM
    since: datetime | None = None
    until: datetime | None = None
    model_version: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeNote:
    """Who makes an audited change, why, and when (UTC)."""

    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ConfiguredThresholds:
    """The config's per-frame thresholds (p_bear 0..1): `by_zone` zone id → zones[].threshold
    where set; every other zone, and a zone no longer in the config, uses `default`
    (detector.threshold, else the model's calibrated one)."""

    default: float
    by_zone: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_config(cls, detector: DetectorConfig,
                    zones: Sequence[ZoneConfig] = ()) -> ConfiguredThresholds:
        return cls(default=detector.default_threshold, by_zone=MappingProxyType(
            {z.id: z.threshold_or(detector.default_threshold) for z in zones}))

    def of(self, zone_id: str) -> float:
        """The config's threshold for a zone: zones[].threshold, else detector.threshold."""
        return self.by_zone.get(zone_id, self.default)


def _effective(config: ConfiguredThresholds, z: ZoneThreshold) -> EffectiveThreshold:
    configured = config.of(z.zone_id)
    if z.override is None:
        return EffectiveThreshold(z.zone_id, configured, ThresholdSource.CONFIG, configured)
    return EffectiveThreshold(z.zone_id, z.override, ThresholdSource.CALIBRATED, configured,
                              set_by=z.set_by, set_at=z.set_at)


def effective_thresholds(session: Session,
                         config: ConfiguredThresholds) -> list[EffectiveThreshold]:
    """Every stored zone's effective threshold, by zone id."""
    return [_effective(config, z) for z in zone_thresholds(session)]


def effective_threshold(session: Session, config: ConfiguredThresholds,
                        zone_id: str) -> EffectiveThreshold:
    """One zone's effective threshold.

    Raises:
        NotFoundError: no such zone (names the zones that exist).
    """
    found = zone_thresholds(session, zone_id)
    if not found:
        known = [z.zone_id for z in zone_thresholds(session)]
        raise NotFoundError(no_such("zone", zone_id, known))
    return _effective(config, found[0])


def _items(session: Session, request: CalibrationRequest) -> list[LabelledScore]:
    rows = reviewed_scores(session, ScoreQuery(zone_id=request.zone_id, since=request.since,
                                               until=request.until,
                                               model_version=request.model_version))
    return [LabelledScore.from_reviewed(r) for r in rows]


def zone_calibration(session: Session, config: ConfiguredThresholds,
                     request: CalibrationRequest) -> Calibration:
    """The proposal from the zone's labelled alerts and audit samples, beside the figures at
    its effective threshold now (`rollout.calibration` for the definitions).

    Raises:
        NotFoundError: no such zone.
        ValueError: the budget is not in (0, 1).
    """
    current = effective_threshold(session, config, request.zone_id)
    return calibrate(request.zone_id, _items(session, request), target=request.target,
                     current=current.threshold)


def apply_calibration(session: Session, config: ConfiguredThresholds, calibration: Calibration,
                      note: ChangeNote) -> ThresholdChange:
    """Make the calibration's proposal the zone's threshold; audited with the calibration's
    figures. Compute `calibration` in the same transaction, so what is stored is what the
    figures describe.

    Raises:
        CalibrationRefused: it proposes nothing (its message says what is missing).
        NotFoundError: no such zone.
        ValueError: empty reason or actor.
    """
    if calibration.proposed is None:
        raise CalibrationRefused(calibration.message)
    return change_zone_threshold(session, ThresholdRequest(
        zone_id=calibration.zone_id, threshold=calibration.proposed.threshold,
        configured=config.of(calibration.zone_id), actor=note.actor,
        reason=note.reason, at=note.at, figures={"calibration": calibration.to_figures()}))


def clear_threshold(session: Session, config: ConfiguredThresholds, zone_id: str,
                    note: ChangeNote) -> ThresholdChange:
    """Drop the zone's calibrated threshold: back to the config's. Audited with the figures
    (on all the zone's labelled evidence) at the threshold left and the one restored.

    Raises:
        ConflictError: the zone has no calibrated threshold.
        NotFoundError: no such zone.
        ValueError: empty reason or actor.
    """
    current = effective_threshold(session, config, zone_id)
    items: Sequence[LabelledScore] = _items(session, CalibrationRequest(zone_id=zone_id))
    figures = {"at_from": asdict(figures_at(items, current.threshold)),
               "at_to": asdict(figures_at(items, current.configured))}
    return change_zone_threshold(session, ThresholdRequest(
        zone_id=zone_id, threshold=None, configured=current.configured, actor=note.actor,
        reason=note.reason, at=note.at, figures=figures))
