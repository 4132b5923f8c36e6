"""The detector's database sink on both engines: idempotent replays, routing in the same
transaction, the spool across an outage, audit samples and score aggregates; the detector built
from the config (stills of a folder created after start-up are not dropped as stale)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.ingest_wiring import build_ingest
from bearwatch.pipeline import (
    DbAlertSink,
    DbStageLookup,
    DetectorWiring,
    Pipeline,
    build_detector,
    rollout_router,
)
from bearwatch.wiring import open_database
from camera_ingest import FrameQueue
from db import make_engine, make_sessionmaker, migrate
from db.catalog import CameraSpec, ZoneSpec, sync
from db.detections import score_counts
from db.models import AlertFrame, AlertRow
from db.models import AuditSampleRow as AuditRow
from db.outbox import outbox_items
from detector import AlertSpool
from detector.testing import T0, ScriptedModel
from kernel.config import BearwatchConfig, parse_config
from kernel.records import (
    Alert,
    AlertUpdate,
    AuditSample,
    EncounterFrame,
    ScoreAggregate,
    Stage,
)

CONFIG = BearwatchConfig.model_validate({
    "zones": [{"id": "z1", "stage": "shadow"}],
    "cameras": [{"id": "c1", "zone": "z1", "source": "demo:"}],
    "notifier": {"mqtt": {"enabled": True}},
})
UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-dir-for-bearwatch-tests/db.sqlite",
    "postgres": "postgresql+psycopg://root@127.0.0.1:1/test?connect_timeout=2",
}


def _catalog(sessions: sessionmaker[Session], stage: Stage = Stage.SHADOW) -> None:
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", stage)], [CameraSpec("c1", "C1", "z1", "demo:", None, None)],
             now=T0)


def _alert(n: int = 2, peak: float = 0.8, same_as: Alert | None = None,
           stage: Stage = Stage.SHADOW) -> Alert:
    """A new alert, or (same_as) a later state of an existing one."""
    extra = {"id": same_as.id} if same_as else {}
    return Alert(camera_id="c1", zone_id="z1", first_seen=T0, last_seen=T0 + timedelta(seconds=n),
                 peak_p_bear=peak, n_frames=n, is_night=False, snapshot_path="snap.jpg",
                 stage=stage, model_version="m", **extra)


def _frames(*seqs: int) -> tuple[EncounterFrame, ...]:
    return tuple(EncounterFrame(s, T0 + timedelta(seconds=s), 0.8) for s in seqs)


def _sink(sessions: sessionmaker[Session], tmp_path: Path) -> DbAlertSink:
    return DbAlertSink(sessions, AlertSpool(tmp_path / "spool"), route=rollout_router(CONFIG),
                       utc=lambda: T0)


def _counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as s:
        return (s.scalar(select(func.count()).select_from(AlertRow)) or 0,
                s.scalar(select(func.count()).select_from(AlertFrame)) or 0)


def test_sink_replayed_alert_not_duplicated(sessions: sessionmaker[Session],
                                            tmp_path: Path) -> None:
    _catalog(sessions, Stage.ACTIVE)
    sink = _sink(sessions, tmp_path)
    first = _alert(2, stage=Stage.ACTIVE)
    sink.commit(first, _frames(1, 2))
    sink.commit(first, _frames(1, 2))
    sink.commit(_alert(3, 0.9, first, Stage.ACTIVE), _frames(3))
    assert _counts(sessions) == (1, 3)
    with sessions() as s:
        row = s.get(AlertRow, first.id)
        assert row is not None and (row.n_frames, row.peak_p_bear) == (3, 0.9)
        # routed in the storing transaction: an active zone notifies, once, however often stored
        assert len(outbox_items(s, subject_prefix=f"alert:{first.id}")) == 1


def test_sink_outage_spools_then_replays_once(engine_kind: str, sessions: sessionmaker[Session],
                                              tmp_path: Path) -> None:
    _catalog(sessions)
    down_engine = make_engine(UNREACHABLE[engine_kind])
    try:
        down = _sink(make_sessionmaker(down_engine), tmp_path)
        a, b = _alert(2), _alert(2)
        down.commit(a, _frames(1, 2))
        down.commit(b, _frames(5))
        down.commit(_alert(4, 0.95, a), _frames(3, 4))
        assert down.spooled == 3 and len(down.spool) == 3
    finally:
        down_engine.dispose()
    assert _counts(sessions) == (0, 0)
    # start-up after the outage: the spool is replayed, and again (crash mid-replay) harmlessly
    up = _sink(sessions, tmp_path)
    assert up.replay() == 3
    assert up.replay() == 0
    (tmp_path / "spool" / "alerts.jsonl").write_text("")
    assert _counts(sessions) == (2, 5)
    with sessions() as s:
        row = s.get(AlertRow, a.id)
        assert row is not None and (row.n_frames, row.peak_p_bear) == (4, 0.95)


def test_sink_batch_is_one_transaction_and_a_refused_update_holds_back_no_other(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    _catalog(sessions, Stage.ACTIVE)
    sink = _sink(sessions, tmp_path)
    batch = [AlertUpdate(alert=_alert(2, stage=Stage.ACTIVE), frames=_frames(1, 2), opened=True)
             for _ in range(3)]
    transactions: list[object] = []
    event.listen(sessions, "after_begin", lambda s, tx, conn: transactions.append(tx))
    sink.commit_batch(batch)
    assert len(transactions) == 1
    assert _counts(sessions) == (3, 6)
    with sessions() as s:
        assert len(outbox_items(s, subject_prefix="alert:")) == 3

    # An alert of a camera the catalogue does not hold is refused: the batch falls back to
    # one transaction per update, stores the good ones and spools the refused one.
    stray = replace(_alert(2, stage=Stage.ACTIVE), camera_id="no-such-camera")
    good = [AlertUpdate(alert=_alert(2, stage=Stage.ACTIVE), frames=_frames(1), opened=True)
            for _ in range(2)]
    transactions.clear()
    sink.commit_batch([good[0], AlertUpdate(alert=stray, frames=_frames(1), opened=True),
                       good[1]])
    assert len(transactions) == 1 + 3 + 1  # the batch, each update, the spool replay's retry
    assert _counts(sessions) == (5, 8)
    assert sink.spooled == 1 and len(sink.spool) == 1
    with sessions() as s:
        assert s.get(AlertRow, stray.id) is None
        assert all(s.get(AlertRow, u.alert.id) is not None for u in good)


def test_sink_commit_replays_spool_after_success(sessions: sessionmaker[Session],
                                                 tmp_path: Path) -> None:
    _catalog(sessions)
    spooled = _alert(2)
    AlertSpool(tmp_path / "spool").append(spooled, _frames(1))
    sink = _sink(sessions, tmp_path)
    sink.commit(_alert(2), _frames(9))
    assert _counts(sessions) == (2, 2)
    assert not sink.spool.has_entries


def test_sink_audit_samples_and_aggregates_stored(sessions: sessionmaker[Session],
                                                  tmp_path: Path) -> None:
    _catalog(sessions)
    sink = _sink(sessions, tmp_path)
    sink.audit_sample(AuditSample(camera_id="c1", zone_id="z1", captured_at=T0, p_bear=0.4,
                                  sampling_prob=0.05, is_night=True, is_infrared=True,
                                  image_path="a.jpg", model_version="m"))
    row = ScoreAggregate(camera_id="c1", model_version="m", hour=T0, n_frames=3, n_night=1,
                         n_above_threshold=1, p_bear_counts=(2,) + (0,) * 18 + (1,),
                         luma_counts=(0,) * 15 + (3,))
    sink.aggregates([row])
    sink.aggregates([row])
    with sessions() as s:
        sample = s.scalars(select(AuditRow)).one()
        assert (sample.sampling_prob, sample.is_night, sample.review_state) == (
            0.05, True, "pending")
        (stored,) = score_counts(s, "c1")
    assert (stored.n_frames, stored.n_night, stored.n_above_threshold) == (6, 2, 2)
    assert stored.p_bear_counts[0] == 4 and stored.p_bear_counts[-1] == 2
    assert stored.luma_counts[-1] == 6 and stored.hour == T0


def test_stage_lookup_falls_back_during_outage(engine_kind: str,
                                               sessions: sessionmaker[Session]) -> None:
    _catalog(sessions, Stage.PILOT)
    assert DbStageLookup(sessions, {})("z1") is Stage.PILOT
    down_engine = make_engine(UNREACHABLE[engine_kind])
    try:
        lookup = DbStageLookup(make_sessionmaker(down_engine), {"z1": Stage.OFF})
        assert lookup("z1") is Stage.OFF
    finally:
        down_engine.dispose()


def test_stage_lookup_unknown_zone_uses_fallback(sessions: sessionmaker[Session]) -> None:
    _catalog(sessions)
    assert DbStageLookup(sessions, {})("nope") is Stage.SHADOW


def test_proposal_rules_follow_config_stills_tiled_unless_turned_off() -> None:
    """The default tiles a lone still at two scales, counted from the tile threshold up;
    `tile_stills: false` leaves stills whole; moving regions of stream frames are always
    offered."""
    import dataclasses

    from detector import ProposalRules, tiles
    from detector.testing import make_frame
    from kernel.config import parse_config

    still = dataclasses.replace(make_frame(size=(960, 1280)), is_still=True)
    moving = dataclasses.replace(make_frame(size=(960, 1280)), regions=((100, 100, 20, 30),))
    default = ProposalRules.from_config(parse_config("").detector.proposals)
    assert default.regions(still) == tiles(1280, 960, fractions=(1 / 3, 1 / 6), overlap=0.33)
    assert default.tiled(still) and default.tile_threshold == 0.72
    assert len(default.regions(moving)) == 1 and not default.tiled(moving)
    off = ProposalRules.from_config(parse_config(
        "detector:\n  proposals:\n    tile_stills: false\n").detector.proposals)
    assert off.regions(still) == [] and len(off.regions(moving)) == 1
    on = ProposalRules.from_config(parse_config(
        "detector:\n  proposals:\n    tile_fractions: [0.25]\n").detector.proposals)
    assert on.regions(still) == tiles(1280, 960, fractions=(0.25,), overlap=0.33)


def test_build_detector_folder_created_after_start_old_exif_still_scored(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """An FTP upload folder that appears after start-up: its camera-trap stills carry EXIF
    capture times hours old when read, and are scored, not dropped as stale (the exemption
    follows the frame, `Frame.is_still`, not whether the folder existed at start)."""
    inbox = tmp_path / "ftp" / "trap"  # not created yet
    cfg = parse_config(f"storage: {{root: '{tmp_path / 'var'}'}}\n"
                       "zones: [{id: z1}]\n"
                       f"cameras: [{{id: trap, zone: z1, source: '{inbox}', fps: 4}}]\n"
                       "ingest: {backoff_initial_s: 0.2, backoff_max_s: 0.2}\n")
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.SHADOW)],
             [CameraSpec("trap", "trap", "z1", str(inbox), None, None)], now=T0)
    queue = FrameQueue(8)
    loop = build_detector(cfg, queue, ScriptedModel(lambda _f: 0.0),
                          DetectorWiring(sink=_sink(sessions, tmp_path),
                                         stage_of=lambda _zone: Stage.SHADOW))
    ingest = build_ingest(cfg, sessions, queue)
    ingest.start()
    try:
        time.sleep(0.5)  # the reader has found no folder and is retrying
        inbox.mkdir(parents=True)
        exif = Image.Exif()
        taken = time.localtime(time.time() - 3 * 3600)  # shot three hours ago
        exif.get_ifd(0x8769)[36867] = time.strftime("%Y:%m:%d %H:%M:%S", taken)
        still = inbox / "IMG_0001.jpg"
        Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(still, exif=exif)
        old = time.time() - 3600  # uploaded well before: past the settle time
        os.utime(still, (old, old))
        batch = loop.batcher.next_batch(idle_timeout_s=20.0)
    finally:
        ingest.stop()
    assert loop.batcher.counters.stale_dropped == {}
    assert batch is not None
    (frame,) = batch.frames
    assert (frame.camera_id, frame.is_still) == ("trap", True)
    assert time.time() - frame.captured_at.timestamp() > 2 * 3600


class _FlakyModel(ScriptedModel):
    """Fails its first `failures` calls (a replica still starting), then scores 0."""

    def __init__(self, failures: int) -> None:
        super().__init__(lambda f: 0.0)
        self.failures = failures
        self.image_batches: list[int] = []

    def score_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self.image_batches.append(len(images))
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("replica not ready")
        return np.zeros(len(images), dtype=np.float32)


def _pipeline_with(model: _FlakyModel, tmp_path: Path) -> Pipeline:
    cfg = parse_config(f"""
database: {{url: "sqlite:///{tmp_path}/bw.db"}}
storage: {{root: "{tmp_path}"}}
zones: [{{id: z1}}]
cameras: []
detector: {{device: cpu, max_batch: 6}}
""")
    migrate.upgrade(make_engine(cfg.database.resolved_url()))
    db = open_database(cfg)
    return Pipeline(cfg, db, load=lambda *_a, **_k: model)


def test_pipeline_start_warms_the_model_up_before_the_detector_runs(tmp_path: Path) -> None:
    model = _FlakyModel(failures=0)
    pipeline = _pipeline_with(model, tmp_path)
    pipeline.start()
    try:
        assert model.image_batches[:3] == [6, 6, 1]  # max_batch twice, then one frame
    finally:
        pipeline.stop()


def test_pipeline_start_goes_on_when_the_warm_up_fails(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = _FlakyModel(failures=1)
    pipeline = _pipeline_with(model, tmp_path)
    with caplog.at_level(logging.WARNING, logger="bearwatch.pipeline"):
        pipeline.start()
    try:
        assert pipeline.alive
        assert any("warm-up failed" in r.getMessage()
                   and "replica not ready" in str(getattr(r, "error", ""))
                   for r in caplog.records)
    finally:
        pipeline.stop()
