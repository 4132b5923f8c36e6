"""What the detector hands to storage (alert updates, audit samples and score aggregates, all
`kernel.records`) through one small `AlertSink` protocol (the database implementation lives
in `bearwatch.pipeline`; an in-memory fake in `detector.testing`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kernel.records import Alert, AuditSample, EncounterFrame, ScoreAggregate, ShadowCount


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
