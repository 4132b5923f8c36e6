"""The shadow model against the real database on both engines: its counts are stored in
shadow_scores and it raises no alert; the shadow zones follow the database; its .pkl loads only
with the checksum `model_versions` records."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.pipeline import DbAlertSink, rollout_router
from bearwatch.shadow_wiring import (
    DbLiveModels,
    DbShadowZones,
    load_shadow,
    optional_shadow,
)
from db.catalog import CameraSpec, ZoneSpec, sync
from db.model_versions import ModelVersionInfo, register_version
from db.models import AlertRow
from db.zone_models import assign_shadow, promote_model, rollback_model, shadow_comparison
from detector import (
    AlertSpool,
    AuditSampler,
    Batcher,
    DetectorLoop,
    EncounterRules,
    EncounterTracker,
    LoopOptions,
    LoopOutput,
    ModelRouter,
    ShadowSetup,
    SnapshotStore,
)
from detector.models import BUILTIN_VERSION, ModelLoadError
from detector.testing import T0, FakeClock, ListFeed, ScriptedModel, make_frame
from kernel.config import BearwatchConfig
from kernel.records import Frame, Stage


def _config(root: Path) -> BearwatchConfig:
    return BearwatchConfig.model_validate({
        "storage": {"root": str(root)},
        "zones": [{"id": "z1", "stage": "pilot"}, {"id": "z2", "stage": "pilot"}],
        "cameras": [{"id": "c1", "zone": "z1", "source": "demo:"},
                    {"id": "c2", "zone": "z2", "source": "demo:"}],
    })


def _catalog(sessions: sessionmaker[Session], *versions: str) -> None:
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.ACTIVE), ZoneSpec("z2", "Z2", Stage.ACTIVE)],
             [CameraSpec("c1", "C1", "z1", "demo:", None, None),
              CameraSpec("c2", "C2", "z2", "demo:", None, None)], now=T0)
        for v in versions:
            register_version(s, ModelVersionInfo(id=v, kind="fastai", created_at=T0,
                                                 path=f"/elsewhere/{v}.pkl", sha256="0" * 64),
                             actor="cli")


def _run_through_db_sink(sessions: sessionmaker[Session], tmp_path: Path, clock: FakeClock,
                         frames: list[Frame], arrival: Callable[[Frame], float],
                         models: ModelRouter) -> None:
    """`frames` through a detector loop (k=1 of 1, threshold 0.5, every zone active) into
    the real database sink, until all are scored."""
    feed = ListFeed(clock, [(arrival(f), f) for f in frames])
    snaps = SnapshotStore(tmp_path / "snaps")
    tracker = EncounterTracker(EncounterRules(k=1, n=1, cooldown_s=30, default_threshold=0.5),
                               stage_of=lambda z: Stage.ACTIVE, snapshots=snaps)
    batcher = Batcher(feed, max_batch=4, max_wait_ms=10, staleness_ms=60_000,
                      priority=tracker.open_cameras, clock=clock.now)
    sink = DbAlertSink(sessions, AlertSpool(tmp_path / "spool"),
                       route=rollout_router(_config(tmp_path)), utc=clock.utc)
    sampler = AuditSampler(share=0.0, near_boost=1, near_band=0.1, rng=random.Random(1))
    loop = DetectorLoop(batcher, models, tracker,
                        LoopOutput(sink=sink, audit=sampler, images=snaps),
                        options=LoopOptions(clocks=clock.loop_clocks()))
    stop = threading.Event()
    stop.set()
    loop.run(stop)


def test_shadow_model_counts_stored_and_no_alert_committed(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    _catalog(sessions, "bw-shadow")
    with sessions.begin() as s:
        assign_shadow(s, "z1", "bw-shadow", actor="ann", reason="compare", now=T0)
    frames = [make_frame(cam, i, zone_id=zone, at=T0 + timedelta(seconds=i), is_night=i >= 3)
              for i in range(5) for cam, zone in (("c1", "z1"), ("c2", "z2"))]
    clock = FakeClock(T0 + timedelta(seconds=10))
    shadow = ShadowSetup(model=ScriptedModel(lambda f: 1.0, version="bw-shadow"),
                         zones=DbShadowZones(sessions, "bw-shadow", monotonic=clock.now))
    _run_through_db_sink(sessions, tmp_path, clock, frames, lambda f: f.captured_at.timestamp(),
                         ModelRouter(default=ScriptedModel(lambda f: 0.0, version="live"),
                                     shadow=shadow))
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AlertRow)) == 0
        rows = shadow_comparison(s, None, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    got = {(r.zone_id, r.model_version, r.is_night):
           (r.figures.n_frames, r.figures.n_shadow_only, r.figures.n_agree) for r in rows}
    assert got == {("z1", "bw-shadow", False): (3, 3, 0), ("z1", "bw-shadow", True): (2, 2, 0)}


def test_shadow_zones_follow_database_after_ttl(sessions: sessionmaker[Session]) -> None:
    _catalog(sessions, "bw-a")
    clock = FakeClock()
    zones = DbShadowZones(sessions, "bw-a", ttl_s=30, monotonic=clock.now)
    assert zones() == frozenset()
    with sessions.begin() as s:
        assign_shadow(s, "z2", "bw-a", actor="ann", reason="compare", now=T0)
    assert zones() == frozenset()  # cached
    clock.advance(31)
    assert zones() == frozenset({"z2"})


def test_load_shadow_none_without_shadow_zones(sessions: sessionmaker[Session],
                                               tmp_path: Path) -> None:
    _catalog(sessions)
    assert load_shadow(_config(tmp_path), sessions, device="cpu") is None


def test_load_shadow_checksum_mismatch_refused(sessions: sessionmaker[Session],
                                               tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    cfg.storage.models_dir.mkdir(parents=True)
    (cfg.storage.models_dir / "bw-a.pkl").write_bytes(b"not the recorded model")
    _catalog(sessions, "bw-a")
    with sessions.begin() as s:
        assign_shadow(s, "z1", "bw-a", actor="ann", reason="compare", now=T0)
    with pytest.raises(ModelLoadError, match="expected 0000"):
        load_shadow(cfg, sessions, device="cpu")
    # `bearwatch run` goes on with the live model alone.
    assert optional_shadow(cfg, sessions, device="cpu") is None


def _run_loop(sessions: sessionmaker[Session], tmp_path: Path, live: DbLiveModels,
              clock: FakeClock, seq0: int) -> dict[str, str]:
    """Two frames per camera through the loop (every frame scores 1.0 on the config model);
    returns camera id → model version of the alerts committed."""
    frames = [make_frame(cam, seq0 + i, zone_id=zone, at=clock.utc() + timedelta(seconds=i))
              for i in range(2) for cam, zone in (("c1", "z1"), ("c2", "z2"))]
    _run_through_db_sink(sessions, tmp_path, clock, frames, lambda f: clock.now(),
                         ModelRouter(default=live.default, live=live))
    with sessions() as s:
        rows = s.scalars(select(AlertRow).where(AlertRow.first_seen >= frames[0].captured_at))
        return {r.camera_id: r.model_version for r in rows}


def test_promoted_zone_is_scored_by_its_live_model_and_rollback_restores_config_model(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """An admin's promotion is served: z1's frames go to the promoted (built-in, real) model,
    which sees no bear in a grey frame, while z2 stays on the config model; after a rollback
    and the re-read interval, z1 is back on the config model."""
    _catalog(sessions)
    with sessions.begin() as s:
        assign_shadow(s, "z1", BUILTIN_VERSION, actor="ann", reason="compare", now=T0,
                      unregistered_ok={BUILTIN_VERSION})
        promote_model(s, "z1", actor="ann", reason="better", now=T0)
    clock = FakeClock(T0 + timedelta(minutes=5))
    live = DbLiveModels(_config(tmp_path), sessions,
                        ScriptedModel(lambda f: 1.0, version="config-model"), device="cpu",
                        ttl_s=30, monotonic=clock.now)
    assert live.served() == {"z1": BUILTIN_VERSION}
    assert _run_loop(sessions, tmp_path, live, clock, 0) == {"c2": "config-model"}
    with sessions.begin() as s:
        rollback_model(s, "z1", actor="ann", reason="missed bears", now=T0)
    clock.advance(31)
    assert live("z1") is None
    clock.advance(600)
    assert _run_loop(sessions, tmp_path, live, clock, 10) == {"c1": "config-model",
                                                              "c2": "config-model"}


def test_promoted_version_that_cannot_load_falls_back_to_config_model(
        sessions: sessionmaker[Session], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    cfg = _config(tmp_path)
    cfg.storage.models_dir.mkdir(parents=True)
    (cfg.storage.models_dir / "bw-a.pkl").write_bytes(b"not the recorded model")
    _catalog(sessions, "bw-a")
    with sessions.begin() as s:
        assign_shadow(s, "z1", "bw-a", actor="ann", reason="compare", now=T0)
        promote_model(s, "z1", actor="ann", reason="better", now=T0)
    live = DbLiveModels(cfg, sessions, ScriptedModel(lambda f: 1.0, version="config-model"),
                        device="cpu")
    with caplog.at_level("ERROR", logger="bearwatch.shadow"):
        assert live("z1") is None and live("z1") is None
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "roll the zone's model back" in errors[0].getMessage()
    assert live.served() == {"z1": "config-model"}
