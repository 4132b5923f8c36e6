"""What the detector hands to storage (alert updates, audit samples and score aggregates, all
`kernel.records`) through one small `AlertSink` protocol (the database implementation lives
in `bearwatch.pipeline`; an in-memory fake in `detector.testing`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kernel.records import AlertUpdate, AuditSample, ScoreAggregate, ShadowCount


class AlertSink(Protocol):
    """Durable storage for the detector's output."""

    def commit_batch(self, updates: Sequence[AlertUpdate]) -> None:
        """Store (insert or widen) each update's alert and its new frames, one update per
        alert; must not lose any (spool). The updates of one scored batch come together so
        that storage can commit them at once: each alert of a busy batch then waits for one
        transaction, not for every transaction before its own."""
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
