"""`bearwatch run` wiring: camera ingest → batcher → model → encounters → database.

`DbAlertSink` is the detector's `AlertSink` on the database: each alert update is stored with
`db.alerts.store_alert` and routed by `rollout.route_alert` in ONE transaction. When that
transaction fails (database outage) the update goes to a durable spool file and is replayed
after the next successful commit and at start-up; the alert id makes replays idempotent.
`Pipeline` owns the threads (`start()` / `stop()`), so `bearwatch up` can reuse it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.edge.centre import build_receiver
from bearwatch.ingest_wiring import build_ingest
from bearwatch.shadow_wiring import DbLiveModels, ModelLoad, optional_shadow
from bearwatch.threshold_wiring import encounter_rules
from bearwatch.wiring import Database
from camera_ingest import FrameQueue
from db import DatabaseError
from db.alerts import latest_alert, store_alert
from db.catalog import zone_stage
from db.detections import add_audit_sample, add_score_counts
from db.model_versions import expected_sha256
from db.zone_models import add_shadow_counts
from detector import (
    AlertSpool,
    AuditSampler,
    Batcher,
    DetectorLoop,
    EncounterRules,
    EncounterTracker,
    LoopHooks,
    LoopOptions,
    LoopOutput,
    LoopTimings,
    ModelRouter,
    ProposalRules,
    ShadowSetup,
    SinkUnavailable,
    SnapshotStore,
)
from detector.models import Model, load_model, warm_up
from kernel.config import BearwatchConfig, DetectorConfig
from kernel.records import (
    Alert,
    AlertUpdate,
    AuditSample,
    EncounterFrame,
    Frame,
    ScoreAggregate,
    ShadowCount,
    Stage,
    utc_now,
)
from rollout import RoutingPolicy, route_alert

log = logging.getLogger("bearwatch.pipeline")

Router = Callable[[Session, Alert, datetime], None]
"""Routes a stored alert inside the storing transaction (session, alert, now)."""

# Audit samples that could not be stored wait in memory for the next success, up to this many.
MAX_PENDING_SAMPLES = 10_000


def rollout_router(config: BearwatchConfig) -> Router:
    """`rollout.route_alert` with the configured notification sinks and thresholds."""
    policy = RoutingPolicy.from_config(config.notifier, config.zones)

    def route(session: Session, alert: Alert, now: datetime) -> None:
        route_alert(session, alert, now=now, routing=policy)

    return route


class DbAlertSink:
    """The detector's `AlertSink` on the database, with a durable spool for outages.

    Args:
        sessions: the database's session factory.
        spool: where updates go while the database is unreachable.
        route: routes each alert in its storing transaction (`rollout_router(config)`).
        utc: clock for `committed_at` and routing.
    """

    def __init__(self, sessions: sessionmaker[Session], spool: AlertSpool, *, route: Router,
                 utc: Callable[[], datetime] = utc_now) -> None:
        self.sessions = sessions
        self.spool = spool
        self.route = route
        self.utc = utc
        self.spooled = 0
        self._samples: list[AuditSample] = []

    def replay(self) -> int:
        """Store what the spool holds (start-up, and after each successful commit)."""
        return self.spool.replay(self._store) if self.spool.has_entries else 0

    def commit_batch(self, updates: Sequence[AlertUpdate]) -> None:
        """All updates in one transaction; where it fails, each on its own (so one update the
        database refuses does not hold the others back), spooled where that fails too."""
        if len(updates) > 1 and self._store_all([(u.alert, u.frames) for u in updates]):
            self.replay()
            return
        for update in updates:
            self.commit(update.alert, update.frames)

    def commit(self, alert: Alert, frames: Sequence[EncounterFrame]) -> None:
        if self._store(alert, frames):
            self.replay()
            return
        self.spool.append(alert, frames)
        self.spooled += 1
        log.warning("alert spooled: database unavailable", extra={
            "camera_id": alert.camera_id, "alert_id": str(alert.id), "spool": str(self.spool.path)})

    def _store(self, alert: Alert, frames: Sequence[EncounterFrame]) -> bool:
        return self._store_all([(alert, frames)])

    def _store_all(self, updates: Sequence[tuple[Alert, Sequence[EncounterFrame]]]) -> bool:
        try:
            with self.sessions.begin() as session:
                now = self.utc()
                for alert, frames in updates:
                    store_alert(session, alert, frames, now=now)
                    self.route(session, alert, now)
            return True
        except (SQLAlchemyError, DatabaseError) as exc:
            log.warning("alert commit failed", extra={
                "alert_ids": [str(a.id) for a, _ in updates],
                "error": str(exc).splitlines()[0]})
            return False

    def audit_sample(self, sample: AuditSample) -> None:
        self._samples.append(sample)
        try:
            with self.sessions.begin() as session:
                for s in self._samples:
                    add_audit_sample(session, s)
            self._samples.clear()
        except (SQLAlchemyError, DatabaseError) as exc:
            del self._samples[:-MAX_PENDING_SAMPLES]
            log.warning("audit samples kept in memory: database unavailable",
                        extra={"pending": len(self._samples), "error": str(exc).splitlines()[0]})

    def aggregates(self, rows: Sequence[ScoreAggregate]) -> None:
        try:
            with self.sessions.begin() as session:
                add_score_counts(session, rows)
        except (SQLAlchemyError, DatabaseError) as exc:
            raise SinkUnavailable(
                f"score aggregates not stored: {str(exc).splitlines()[0]}") from exc

    def shadow_counts(self, rows: Sequence[ShadowCount]) -> None:
        try:
            with self.sessions.begin() as session:
                add_shadow_counts(session, rows)
        except (SQLAlchemyError, DatabaseError) as exc:
            raise SinkUnavailable(f"shadow counts not stored: {str(exc).splitlines()[0]}") from exc


class DbStageLookup:
    """A zone's current stage from the database; during an outage the last stage seen (or the
    config's initial stage) so alerts keep flowing to the spool."""

    def __init__(self, sessions: sessionmaker[Session], fallback: dict[str, Stage]) -> None:
        self.sessions = sessions
        self._last = dict(fallback)

    def __call__(self, zone_id: str) -> Stage:
        try:
            with self.sessions() as session:
                stage = zone_stage(session, zone_id)
        except (SQLAlchemyError, DatabaseError, KeyError) as exc:
            log.warning("zone stage unavailable; using last known", extra={
                "zone_id": zone_id, "error": str(exc).splitlines()[0] if str(exc) else repr(exc)})
            return self._last.get(zone_id, Stage.SHADOW)
        self._last[zone_id] = stage
        return stage


def recorded_model_sha(config: BearwatchConfig, sessions: sessionmaker[Session]) -> str | None:
    """The checksum `model_versions` records for the configured .pkl (None otherwise: builtin
    and weights-only heads run no code when loaded)."""
    if not config.detector.model.endswith(".pkl"):
        return None
    with sessions() as session:
        return expected_sha256(session, config.detector.model)


def db_alert_resume(sessions: sessionmaker[Session]) -> Callable[[str, datetime], Alert | None]:
    """The stored alert a restarted detector continues (None during an outage: a new alert
    then opens, which loses nothing)."""

    def resume(camera_id: str, seen_since: datetime) -> Alert | None:
        try:
            with sessions() as session:
                return latest_alert(session, camera_id, seen_since=seen_since)
        except SQLAlchemyError as exc:
            log.warning("cannot look up the camera's last alert; opening a new one",
                        extra={"camera_id": camera_id, "error": str(exc).splitlines()[0]})
            return None

    return resume


@dataclass(frozen=True, slots=True)
class DetectorWiring:
    """What the detector loop is connected to besides its frames and model.

    Attributes:
        sink: where alerts, audit samples and counts go.
        stage_of: a zone's current stage.
        rules: the encounter rules (None: the config's, with its static thresholds);
            `Pipeline` passes `encounter_rules`, whose thresholds follow the database.
        resume: finds a stored alert to continue after a restart.
        on_scored: called with each scored batch's frames (ingest's acknowledgement).
        shadow: the shadow model, if any.
        live_model: a zone's promoted model (None: the config's).
    """

    sink: DbAlertSink
    stage_of: Callable[[str], Stage]
    rules: EncounterRules | None = None
    resume: Callable[[str, datetime], Alert | None] | None = None
    on_scored: Callable[[Sequence[Frame]], None] | None = None
    shadow: ShadowSetup | None = None
    live_model: Callable[[str], Model | None] | None = None


def build_detector(config: BearwatchConfig, feed: FrameQueue, model: Model,
                   wiring: DetectorWiring) -> DetectorLoop:
    """The detector loop for `config` reading `feed` (with the shadow model, if any, and the
    zones' promoted live models)."""
    d = config.detector
    snapshots = SnapshotStore(config.storage.snapshots_dir)
    tracker = EncounterTracker(wiring.rules or EncounterRules.from_config(
                                   config.detector, zones=config.zones, cameras=config.cameras),
                               stage_of=wiring.stage_of, snapshots=snapshots,
                               resume=wiring.resume)
    batcher = Batcher(feed, max_batch=d.max_batch, max_wait_ms=d.max_wait_ms,
                      staleness_ms=d.staleness_ms, priority=tracker.open_cameras)
    sampler = AuditSampler(share=d.audit_share, near_boost=d.audit_near_threshold_boost,
                           near_band=d.audit_near_band, rng=random.Random())
    models = ModelRouter(default=model, live=wiring.live_model, shadow=wiring.shadow)
    hooks = LoopHooks(on_scored=wiring.on_scored, queue_depth=feed.qsize,
                      queue_drops=lambda: sum(feed.dropped(c.id) for c in config.cameras))
    return DetectorLoop(batcher, models, tracker,
                        LoopOutput(sink=wiring.sink, audit=sampler, images=snapshots),
                        options=LoopOptions(
                            timings=LoopTimings(aggregate_flush_s=d.aggregate_flush_s,
                                                throughput_log_s=d.throughput_log_s),
                            proposals=ProposalRules.from_config(config.detector.proposals),
                            hooks=hooks, overlap=overlaps_forward(d, model)))


def overlaps_forward(d: DetectorConfig, model: Model) -> bool:
    """`detector.overlap_forward`, with 'auto' resolved by where the model runs."""
    if d.overlap_forward == "auto":
        return model.device.type == "cuda"
    return d.overlap_forward == "on"


class Pipeline:
    """Ingest and detector threads for the configured cameras.

    Args:
        config: the validated config.
        db: the open, migrated database.
        device: overrides `detector.device`.
        load: loads each model version (live, shadow, promoted): in this process by default;
            `bearwatch.cluster` passes one that loads them onto the Ray Serve replicas.
    """

    def __init__(self, config: BearwatchConfig, db: Database, *, device: str | None = None,
                 load: ModelLoad = load_model) -> None:
        self.config = config
        self.db = db
        self.queue = FrameQueue(config.ingest.queue_size)
        self.model = load(config.detector, models_dir=config.storage.models_dir,
                          recorded_sha256=recorded_model_sha(config, db.sessions), device=device)
        self.shadow = optional_shadow(config, db.sessions, device=device, load=load)
        self.live_models = DbLiveModels(config, db.sessions, self.model, device=device, load=load)
        self.sink = DbAlertSink(db.sessions, AlertSpool(config.storage.spool_dir),
                                route=rollout_router(config))
        stages = DbStageLookup(db.sessions, {z.id: z.initial_stage for z in config.zones})
        self.ingest = build_ingest(config, db.sessions, self.queue)
        self.receiver = build_receiver(config, db.sessions, self.queue)
        self.detector = build_detector(config, self.queue, self.model, DetectorWiring(
            sink=self.sink, stage_of=stages, rules=encounter_rules(config, db.sessions),
            resume=db_alert_resume(db.sessions), on_scored=self._scored, shadow=self.shadow,
            live_model=self.live_models))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.crashed = False

    def _scored(self, frames: Sequence[Frame]) -> None:
        self.ingest.ack(frames)
        if self.receiver is not None:
            self.receiver.ack(frames)

    def _run_detector(self) -> None:
        try:
            self.detector.run(self._stop)
        except Exception:  # the thread's last resort: log it with the traceback, then stop
            self.crashed = True
            log.exception("detector crashed; stopping the pipeline")

    def start(self) -> None:
        """Replay any spooled alerts, then start the detector and the camera readers."""
        replayed = self.sink.replay()
        if replayed:
            log.info("spooled alerts stored at start-up", extra={"stored": replayed})
        for model in (self.model, None if self.shadow is None else self.shadow.model):
            if model is not None:
                self._warm_up(model)
        self._thread = threading.Thread(target=self._run_detector,
                                        name="detector", daemon=True)
        self._thread.start()
        self.ingest.start()
        if self.receiver is not None:
            self.receiver.start()
        log.info("pipeline started", extra={"cameras": len(self.config.cameras),
                                            "model_version": self.model.version,
                                            "shadow_model_version": None if self.shadow is None
                                            else self.shadow.model.version,
                                            "device": str(self.model.device)})

    def _warm_up(self, model: Model) -> None:
        """Warm `model` up before the cameras start. Only a speed-up: where it fails (say, the
        Serve replicas are still starting) the detector meets the same model in its loop,
        which reports and handles its errors; the start goes on."""
        try:
            seconds = warm_up(model, self.config.detector.max_batch)
        except Exception as exc:  # any failure of the model: the loop meets it again
            log.warning("model warm-up failed; the first frames pay the first-run costs",
                        extra={"model_version": model.version,
                               "error": f"{type(exc).__name__}: {exc}"})
            return
        log.info("model warmed up", extra={"model_version": model.version,
                                           "warm_up_s": round(seconds, 3)})

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the cameras (and the edge sites' intake), let the detector score the frames
        already queued, flush, join; edge requests waiting on those frames get their answers."""
        if self.receiver is not None:
            self.receiver.close_intake()
        self.ingest.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("detector did not finish in time", extra={"timeout_s": timeout})
        if self.receiver is not None:
            self.receiver.stop()
        self.queue.close()
        log.info("pipeline stopped", extra={"frames": self.detector.stats.frames,
                                            "alerts": self.detector.stats.alerts_opened,
                                            "spooled": self.sink.spooled})

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
