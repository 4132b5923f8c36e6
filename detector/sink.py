"""What the detector hands to storage: alert updates, audit samples and score aggregates,
through one small `AlertSink` protocol (the database implementation lives in
`bearwatch.pipeline`; an in-memory fake in `detector.testing`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kernel.records import Alert, AuditSample, ScoreAggregate, ShadowCount


@dataclass(frozen=True, slots=True)
class EncounterFrame:
    """One frame counted in an encounter: camera sequence number, capture time (UTC), score
    0..1 and, for the best frame, its JPEG file."""

    seq: int
    captured_at: datetime
    p_bear: float
    image_path: str | None = None


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """An alert as it stands now, and the frames added since its last commit.

    `opened` is true for the commit that creates the alert. The same `alert.id` is committed
    again as later frames widen the encounter (idempotent upsert).
    """

    alert: Alert
    frames: tuple[EncounterFrame, ...]
    opened: bool


class AlertSink(Protocol):
    """Durable storage for the detector's output."""

    def commit(self, alert: Alert, frames: Sequence[EncounterFrame]) -> None:
        """Store (insert or widen) the alert and its new frames; must not lose it (spool)."""
        ...

    def audit_sample(self, sample: AuditSample) -> None:
        """Store one audit sample (its JPEG is already written)."""
        ...

    def aggregates(self, rows: Sequence[ScoreAggregate]) -> None:
        """Add these counts to the stored ones.

        Raises:
            SinkUnavailable: storage is down; the caller keeps the counts and retries.
        """
        ...

    def shadow_counts(self, rows: Sequence[ShadowCount]) -> None:
        """Add a shadow model's comparison counts to the stored ones.

        Raises:
            SinkUnavailable: storage is down; the caller keeps the counts and retries.
        """
        ...
