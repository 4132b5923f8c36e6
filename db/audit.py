"""The append-only audit log. Callers write it inside the transaction of the change itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditLog


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited change: who did what to which subject, from what to what, and why."""

    actor: str
    action: str
    subject: str
    at: datetime
    from_value: str | None = None
    to_value: str | None = None
    reason: str = ""
    figures: dict[str, Any] = field(default_factory=dict)


def append(session: Session, entry: AuditEntry) -> None:
    session.add(
        AuditLog(
            at=entry.at, actor=entry.actor, action=entry.action, subject=entry.subject,
            from_value=entry.from_value, to_value=entry.to_value, reason=entry.reason,
            figures=entry.figures,
        )
    )


def recent(session: Session, *, subject_prefix: str = "", limit: int = 100) -> list[AuditEntry]:
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if subject_prefix:
        stmt = stmt.where(AuditLog.subject.startswith(subject_prefix))
    return [
        AuditEntry(actor=r.actor, action=r.action, subject=r.subject, at=r.at,
                   from_value=r.from_value, to_value=r.to_value, reason=r.reason,
                   figures=dict(r.figures))
        for r in session.scalars(stmt)
    ]
