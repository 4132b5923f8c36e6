"""Model versions: what was trained, on what, how it scored, and the checksum that guards
loading its pickle (DESIGN.md §3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.errors import ConflictError, NotFoundError
from db.models import ModelVersion

KINDS = ("builtin", "fastai", "head")


@dataclass(frozen=True, slots=True)
class ModelVersionInfo:
    """One model version.

    Attributes:
        id: version id (`bw-YYYYmmdd-HHMMSS-<sha8>` for trained models).
        kind: `builtin` or `fastai`.
        path: the exported `.pkl` (None for the built-in model).
        sha256: hex digest of that file (None for the built-in model).
        created_at: UTC.
        training_counts: images per label / light / source it was trained on (JSON document).
        metrics: held-out figures and drift reference histograms (JSON document).
    """

    id: str
    kind: str
    created_at: datetime
    path: str | None = None
    sha256: str | None = None
    training_counts: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"model version {self.id!r}: kind must be one of {KINDS}, "
                             f"got {self.kind!r}")
        if self.kind == "fastai" and (not self.path or not self.sha256):
            raise ValueError(f"model version {self.id!r}: a fastai model needs path and sha256")


def _info(row: ModelVersion) -> ModelVersionInfo:
    return ModelVersionInfo(id=row.id, kind=row.kind, created_at=row.created_at, path=row.path,
                            sha256=row.sha256, training_counts=dict(row.training_counts),
                            metrics=dict(row.metrics), notes=row.notes)


def register_version(session: Session, info: ModelVersionInfo, *, actor: str) -> None:
    """Insert the version and its audit row (same transaction).

    Raises:
        ConflictError: a version with this id exists (ids are never reused).
    """
    if session.get(ModelVersion, info.id) is not None:
        raise ConflictError(f"model version {info.id!r} already exists; version ids are "
                            "unique, export the model again to get a new one")
    session.add(ModelVersion(id=info.id, kind=info.kind, path=info.path, sha256=info.sha256,
                             created_at=info.created_at,
                             training_counts=dict(info.training_counts),
                             metrics=dict(info.metrics), notes=info.notes))
    append(session, AuditEntry(actor=actor, action="model.register",
                               subject=f"model:{info.id}", at=info.created_at,
                               to_value=info.sha256 or info.kind, reason=info.notes,
                               figures=dict(info.training_counts)))


def get_version(session: Session, version_id: str) -> ModelVersionInfo:
    """Raises: NotFoundError naming the id."""
    row = session.get(ModelVersion, version_id)
    if row is None:
        raise NotFoundError(f"model version {version_id!r} is not registered; see "
                            "`bearwatch train` or list the versions")
    return _info(row)


def list_versions(session: Session, *, limit: int = 100) -> list[ModelVersionInfo]:
    """Newest first."""
    rows = session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc(),
                                                         ModelVersion.id.desc()).limit(limit))
    return [_info(r) for r in rows]


def expected_sha256(session: Session, model_file: str) -> str | None:
    """The sha256 recorded for a model file (a path or a bare `<version>.pkl` name), or None
    when no version records that file."""
    name = Path(model_file).name
    row = session.get(ModelVersion, Path(name).stem)
    if row is not None and row.path and Path(row.path).name == name:
        return row.sha256
    for row in session.scalars(select(ModelVersion).where(ModelVersion.path.is_not(None))):
        if row.path and Path(row.path).name == name:
            return row.sha256
    return None
