"""Zone model versions: shadow, promote, rollback (audited), and the shadow comparison counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db import ConflictError, NotFoundError
from db.audit import recent
from db.catalog import CameraSpec, ZoneSpec, sync
from db.model_versions import ModelVersionInfo, register_version
from db.zone_models import (
    add_shadow_counts,
    assign_shadow,
    promote_model,
    rollback_model,
    shadow_comparison,
    shadow_versions,
    zone_models,
)
from kernel.records import ShadowCount, ShadowFigures, Stage

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
BUILTIN = "builtin-test"


def _setup(sessions: sessionmaker[Session], *versions: str) -> None:
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.PILOT), ZoneSpec("z2", "Z2", Stage.SHADOW)],
             [CameraSpec("c1", "C1", "z1", "rtsp://x", None, None),
              CameraSpec("c2", "C2", "z2", "rtsp://y", None, None)], now=T0)
        for i, v in enumerate(versions):
            info = ModelVersionInfo(id=v, kind="fastai", created_at=T0 + timedelta(minutes=i),
                                    path=f"/m/{v}.pkl", sha256=str(i) * 64)
            register_version(s, info, actor="cli")


def test_promote_and_rollback_model_audited_and_rollback_restores_previous(
        sessions: sessionmaker[Session]) -> None:
    _setup(sessions, "bw-a", "bw-b")
    with sessions.begin() as s:
        assign_shadow(s, "z1", "bw-a", actor="ann", reason="try a", now=T0)
        promote_model(s, "z1", actor="ann", reason="a beats builtin", now=T0 + timedelta(hours=1))
        assign_shadow(s, "z1", "bw-b", actor="ann", reason="try b", now=T0 + timedelta(hours=2))
        promote_model(s, "z1", actor="bob", reason="b beats a", now=T0 + timedelta(hours=3))
    with sessions() as s:
        assert zone_models(s, "z1")[0].live == "bw-b"
        assert zone_models(s, "z1")[0].previous == "bw-a"
        assert zone_models(s, "z1")[0].shadow is None
    with sessions.begin() as s:
        change = rollback_model(s, "z1", actor="bob", reason="b misses night bears",
                                now=T0 + timedelta(hours=4))
    assert (change.from_version, change.to_version) == ("bw-b", "bw-a")
    with sessions() as s:
        z = zone_models(s, "z1")[0]
        assert (z.live, z.shadow, z.previous) == ("bw-a", None, None)
        log = [(e.action, e.from_value, e.to_value, e.reason, e.actor)
               for e in recent(s, subject_prefix="zone:z1") if e.action.startswith("model.")]
    assert log == [
        ("model.rollback", "bw-b", "bw-a", "b misses night bears", "bob"),
        ("model.promote", "bw-a", "bw-b", "b beats a", "bob"),
        ("model.shadow", None, "bw-b", "try b", "ann"),
        ("model.promote", None, "bw-a", "a beats builtin", "ann"),
        ("model.shadow", None, "bw-a", "try a", "ann"),
    ]


def test_rollback_model_after_first_promotion_returns_to_configured_model(
        sessions: sessionmaker[Session]) -> None:
    _setup(sessions, "bw-a")
    with sessions.begin() as s:
        assign_shadow(s, "z1", "bw-a", actor="ann", reason="try", now=T0)
        promote_model(s, "z1", actor="ann", reason="go", now=T0)
        rollback_model(s, "z1", actor="ann", reason="back", now=T0)
    with sessions() as s:
        assert zone_models(s, "z1")[0].live is None
    with pytest.raises(ConflictError, match="configured model"), sessions.begin() as s:
        rollback_model(s, "z1", actor="ann", reason="again", now=T0)


def test_assign_shadow_unknown_version_refused_and_nothing_written(
        sessions: sessionmaker[Session]) -> None:
    _setup(sessions)
    with pytest.raises(NotFoundError, match="bw-nope.*not registered"), sessions.begin() as s:
        assign_shadow(s, "z1", "bw-nope", actor="ann", reason="try", now=T0)
    with sessions() as s:
        assert shadow_versions(s) == {}
        assert not [e for e in recent(s) if e.action.startswith("model.")]


def test_assign_shadow_builtin_id_accepted_unregistered(sessions: sessionmaker[Session]) -> None:
    _setup(sessions)
    with sessions.begin() as s:
        assign_shadow(s, "z2", BUILTIN, actor="ann", reason="compare", now=T0,
                      unregistered_ok={BUILTIN})
    with sessions() as s:
        assert shadow_versions(s) == {"z2": BUILTIN}


@pytest.mark.parametrize(("reason", "zone", "error"), [
    ("", "z1", ValueError), ("why", "nowhere", NotFoundError)])
def test_assign_shadow_bad_input_refused(sessions: sessionmaker[Session], reason: str, zone: str,
                                         error: type[Exception]) -> None:
    _setup(sessions, "bw-a")
    with pytest.raises(error), sessions.begin() as s:
        assign_shadow(s, zone, "bw-a", actor="ann", reason=reason, now=T0)


def test_promote_model_without_shadow_conflict(sessions: sessionmaker[Session]) -> None:
    _setup(sessions)
    with pytest.raises(ConflictError, match="no shadow model"), sessions.begin() as s:
        promote_model(s, "z1", actor="ann", reason="go", now=T0)


def _counts(cam: str, zone: str, hour: datetime, night: bool, n: int, s_only: int) -> ShadowCount:
    return ShadowCount(camera_id=cam, zone_id=zone, model_version="bw-a", hour=hour,
                       is_night=night, figures=ShadowFigures(
                           n_frames=n, n_above_threshold=s_only, n_agree=n - s_only,
                           n_shadow_only=s_only, n_live_only=0))


def test_shadow_comparison_sums_per_zone_and_light_within_window(
        sessions: sessionmaker[Session]) -> None:
    _setup(sessions, "bw-a")
    with sessions.begin() as s:
        add_shadow_counts(s, [_counts("c1", "z1", T0, False, 10, 2),
                              _counts("c1", "z1", T0, True, 4, 1)])
        add_shadow_counts(s, [_counts("c1", "z1", T0, False, 6, 1),
                              _counts("c1", "z1", T0 + timedelta(hours=1), False, 5, 0),
                              _counts("c2", "z2", T0, False, 3, 3),
                              _counts("c1", "z1", T0 - timedelta(hours=1), False, 99, 9)])
    with sessions() as s:
        rows = shadow_comparison(s, None, T0, T0 + timedelta(hours=2))
        only_z1 = shadow_comparison(s, "z1", T0, T0 + timedelta(hours=2))
    got = {(r.zone_id, r.is_night): (r.figures.n_frames, r.figures.n_shadow_only,
                                     r.figures.n_agree) for r in rows}
    assert got == {("z1", False): (21, 3, 18), ("z1", True): (4, 1, 3), ("z2", False): (3, 3, 0)}
    assert {r.zone_id for r in only_z1} == {"z1"}
    assert only_z1[0].figures.agreement.value == pytest.approx(18 / 21)
