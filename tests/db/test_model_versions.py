"""Model version registry: register, list, the checksum the loader expects, audit row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db import ConflictError, NotFoundError
from db.audit import recent
from db.model_versions import (
    ModelVersionInfo,
    expected_sha256,
    get_version,
    list_versions,
    register_version,
)

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)


def _v(vid: str, at: datetime, sha: str) -> ModelVersionInfo:
    return ModelVersionInfo(id=vid, kind="fastai", created_at=at, path=f"/m/{vid}.pkl",
                            sha256=sha, training_counts={"bear": 3}, metrics={"accuracy": 0.9})


def test_register_version_listed_newest_first_and_audited(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        register_version(s, _v("bw-a", T0, "a" * 64), actor="cli")
        register_version(s, _v("bw-b", T0 + timedelta(hours=1), "b" * 64), actor="cli")
    with sessions() as s:
        assert [v.id for v in list_versions(s)] == ["bw-b", "bw-a"]
        assert get_version(s, "bw-a").metrics == {"accuracy": 0.9}
        assert [e.subject for e in recent(s, subject_prefix="model:")] == [
            "model:bw-b", "model:bw-a"]


def test_register_version_same_id_conflict(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        register_version(s, _v("bw-a", T0, "a" * 64), actor="cli")
    with pytest.raises(ConflictError, match="bw-a"), sessions.begin() as s:
        register_version(s, _v("bw-a", T0, "c" * 64), actor="cli")


@pytest.mark.parametrize(("name", "expected"), [
    ("bw-a.pkl", "a" * 64),
    ("/elsewhere/bw-a.pkl", "a" * 64),
    ("other.pkl", None),
])
def test_expected_sha256_by_file_name(sessions: sessionmaker[Session], name: str,
                                      expected: str | None) -> None:
    with sessions.begin() as s:
        register_version(s, _v("bw-a", T0, "a" * 64), actor="cli")
    with sessions() as s:
        assert expected_sha256(s, name) == expected


def test_get_version_unknown_not_found(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, pytest.raises(NotFoundError, match="nope"):
        get_version(s, "nope")


def test_model_version_fastai_without_checksum_rejected() -> None:
    with pytest.raises(ValueError, match="sha256"):
        ModelVersionInfo(id="x", kind="fastai", created_at=T0, path="/m/x.pkl")
