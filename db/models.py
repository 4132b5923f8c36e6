"""The schema: one mapped class per table. Each change here needs an Alembic revision.

Times are UTC (`UTCDateTime`). Indexes are chosen for the review queue (`ix_alerts_queue`)
and the rate queries (zone/camera + time), DESIGN.md §6.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # Failed logins in a row and the lock they led to, stored here (not in a UI process) so the
    # lock holds across UI restarts and several UI processes (db.users.authenticate).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    __table_args__ = (CheckConstraint("role IN ('operator','admin','analyst')", name="role"),)


class Zone(Base):
    __tablename__ = "zones"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    stage: Mapped[str] = mapped_column(String(16))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    stage_since: Mapped[datetime]
    live_model_version: Mapped[str | None] = mapped_column(String(64))
    shadow_model_version: Mapped[str | None] = mapped_column(String(64))
    # The live version a promotion replaced, so that a rollback is one action.
    previous_model_version: Mapped[str | None] = mapped_column(String(64))
    # Controller bookkeeping: consecutive failed evaluations and since when all gates passed.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    passing_since: Mapped[datetime | None]
    # An admin's calibrated per-frame threshold (`bearwatch calibrate`), who set it and when;
    # None: the config's zones[].threshold (else detector.threshold) applies.
    threshold_override: Mapped[float | None] = mapped_column(Float)
    threshold_set_by: Mapped[str | None] = mapped_column(String(64))
    threshold_set_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint("stage IN ('off','shadow','pilot','active')", name="stage"),
        CheckConstraint("threshold_override >= 0 AND threshold_override <= 1",
                        name="threshold_override"),
    )


class ZoneStageChange(Base):
    """Zone stage history; append-only, written in the same transaction as the change."""

    __tablename__ = "zone_stage_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id"), index=True)
    at: Mapped[datetime]
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Camera(Base):
    __tablename__ = "cameras"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id"), index=True)
    source: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # When the camera entered the catalog (camera-days count from then); NULL for cameras
    # catalogued before migration 0008, whose start is unknown.
    added_at: Mapped[datetime | None]


class CameraHealth(Base):
    """The latest health of each camera (one row per camera, overwritten)."""

    __tablename__ = "camera_health"
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    fps: Mapped[float] = mapped_column(Float, default=0.0)
    frames_total: Mapped[int] = mapped_column(Integer, default=0)
    frames_gated: Mapped[int] = mapped_column(Integer, default=0)
    decode_errors: Mapped[int] = mapped_column(Integer, default=0)
    dropped_frames: Mapped[int] = mapped_column(Integer, default=0)
    reconnects: Mapped[int] = mapped_column(Integer, default=0)
    last_frame_at: Mapped[datetime | None]
    thumbnail_path: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint("state IN ('online','stale','offline')", name="state"),
    )


class CameraEvent(Base):
    """A camera going offline or coming back; the offline spans are excluded from rates."""

    __tablename__ = "camera_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index("ix_camera_events_camera_at", "camera_id", "at"),)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # builtin | fastai | head
    path: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    training_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")


class AlertRow(Base):
    """An encounter: one bear visit at one camera. `id` is the idempotency key."""

    __tablename__ = "alerts"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id"))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    committed_at: Mapped[datetime]
    peak_p_bear: Mapped[float] = mapped_column(Float)
    n_frames: Mapped[int] = mapped_column(Integer)
    is_night: Mapped[bool] = mapped_column(Boolean)
    is_infrared: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot_path: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str] = mapped_column(String(64))
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    # Queue order: 1 for zones whose alerts notify (pilot/active), 0 otherwise.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # pending -> reviewed; denormalised from reviews so the queue query needs no join.
    review_state: Mapped[str] = mapped_column(String(16), default="pending")
    verdict: Mapped[str | None] = mapped_column(String(16))
    reviewed_at: Mapped[datetime | None]
    __table_args__ = (
        Index("ix_alerts_queue", "review_state", "priority", "peak_p_bear", "first_seen"),
        # Covers the rate aggregates (db/rates.py): zone + time range, then every column they
        # read, so a 30-day, all-zones GROUP BY is an index-only scan (DESIGN.md §6: ≤ 1 s).
        Index("ix_alerts_zone_time_rates", "zone_id", "first_seen", "is_drill", "camera_id",
              "is_night", "review_state", "verdict", "committed_at", "reviewed_at"),
        Index("ix_alerts_camera_time", "camera_id", "first_seen"),
        CheckConstraint("review_state IN ('pending','reviewed')", name="review_state"),
    )


class AlertFrame(Base):
    """Frames of an encounter, each with its own image (the best one is also the snapshot)."""

    __tablename__ = "alert_frames"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                                index=True)
    seq: Mapped[int] = mapped_column(Integer)
    captured_at: Mapped[datetime]
    p_bear: Mapped[float] = mapped_column(Float)
    image_path: Mapped[str | None] = mapped_column(Text)
    # The detector's region that gave the score, px of the image (NULL: the whole frame).
    region_x: Mapped[int | None] = mapped_column(Integer)
    region_y: Mapped[int | None] = mapped_column(Integer)
    region_w: Mapped[int | None] = mapped_column(Integer)
    region_h: Mapped[int | None] = mapped_column(Integer)
    # A still's file path ('' for stream frames): the same still re-read after a crash comes
    # back under a new seq, and this is what says it is already here.
    source_ref: Mapped[str] = mapped_column(Text, default="", server_default="")
    # seq restarts with the process, so a visit resumed after a restart can reuse a seq; the
    # capture time tells those frames apart.
    __table_args__ = (UniqueConstraint("alert_id", "seq", "captured_at",
                                       name="uq_alert_frames_alert_seq_time"),)

    @property
    def region(self) -> tuple[int, int, int, int] | None:
        x, y, w, h = self.region_x, self.region_y, self.region_w, self.region_h
        if x is None or y is None or w is None or h is None:
            return None
        return (x, y, w, h)


class AuditSampleRow(Base):
    """A frame that did not alert, sampled for review with probability `sampling_prob`."""

    __tablename__ = "audit_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id"))
    captured_at: Mapped[datetime]
    p_bear: Mapped[float] = mapped_column(Float)
    sampling_prob: Mapped[float] = mapped_column(Float)
    is_night: Mapped[bool] = mapped_column(Boolean)
    is_infrared: Mapped[bool] = mapped_column(Boolean, default=False)
    image_path: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(String(64))
    review_state: Mapped[str] = mapped_column(String(16), default="pending")
    verdict: Mapped[str | None] = mapped_column(String(16))
    __table_args__ = (
        Index("ix_audit_samples_queue", "review_state", "captured_at"),
        Index("ix_audit_samples_zone_time", "zone_id", "captured_at"),
        # The rate counters' from-scratch slices: one camera's hours around an outage.
        Index("ix_audit_samples_camera_time", "camera_id", "captured_at"),
        CheckConstraint("sampling_prob > 0 AND sampling_prob <= 1", name="sampling_prob"),
    )


class Review(Base):
    """An operator's verdict on an alert or on an audit sample (exactly one of the two)."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id"), unique=True)
    audit_sample_id: Mapped[int | None] = mapped_column(ForeignKey("audit_samples.id"), unique=True)
    verdict: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint("verdict IN ('bear','no_bear','unsure')", name="verdict"),
        CheckConstraint(
            "(alert_id IS NULL) <> (audit_sample_id IS NULL)", name="one_subject"
        ),
    )


class ReviewLease(Base):
    """A time-limited claim on one queue item so two operators never review the same one."""

    __tablename__ = "review_leases"
    item_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # alert | audit
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class MissedReport(Base):
    """A bear the system did not alert on, reported by an operator or from the field."""

    __tablename__ = "missed_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str | None] = mapped_column(ForeignKey("cameras.id"))
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id"))
    occurred_at: Mapped[datetime]
    is_night: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    photo_path: Mapped[str | None] = mapped_column(Text)
    frame_path: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_missed_reports_zone_time", "zone_id", "occurred_at"),)


# The counts behind the rates per zone, camera ('' for a missed report naming none) and UTC
# hour (hours since the Unix epoch), kept by db.rate_counts in the writers' transactions.
# Audit weights are integers (db.rates.W_SCALE units); lat_NN counts reviewed alerts by review
# latency bin (db.rate_counts.LATENCY_EDGES_S). A Core table: its columns are generated.
RATE_COUNT_COLUMNS = (
    "alerts", "bear", "no_bear", "unsure", "night_alerts", "night_bear", "night_no_bear",
    "audit_reviewed", "audit_bear", "audit_w", "audit_w2", "audit_night_bear", "audit_night_w",
    "audit_night_w2", "missed", "missed_night",
)
LATENCY_BINS = 48
LATENCY_COLUMNS = tuple(f"lat_{i:02d}" for i in range(LATENCY_BINS))


def _counter_table(name: str, bucket: str) -> Table:
    # The bucket first in the key, and on SQLite the key is the table (WITHOUT ROWID): a window
    # is one range of the table itself, not an index walk with a row lookup per counter row.
    return Table(
        name, Base.metadata,
        Column(bucket, Integer, primary_key=True),
        Column("zone_id", String(64), primary_key=True),
        Column("camera_id", String(64), primary_key=True),
        *[Column(c, BigInteger, nullable=False, server_default="0")
          for c in RATE_COUNT_COLUMNS + LATENCY_COLUMNS],
        sqlite_with_rowid=False,
    )


# Per UTC hour, and the same summed per UTC day (days since the epoch), so a 30-day window
# reads whole days from the second and only its partial days from the first.
rate_counts = _counter_table("rate_counts", "hour")
rate_counts_daily = _counter_table("rate_counts_daily", "day")


class ScoreAggregate(Base):
    """Compact per-camera, per-hour score and luma histograms of every processed frame."""

    __tablename__ = "score_aggregates"
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    n_frames: Mapped[int] = mapped_column(Integer, default=0)
    n_night: Mapped[int] = mapped_column(Integer, default=0)
    n_above_threshold: Mapped[int] = mapped_column(Integer, default=0)
    p_bear_hist: Mapped[dict[str, Any]] = mapped_column(default=dict)
    luma_hist: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ShadowScore(Base):
    """Compact per-camera, per-hour, day/night comparison of a shadow model with the live one:
    counts of frames, never a row per frame."""

    __tablename__ = "shadow_scores"
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    is_night: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id"), index=True)
    n_frames: Mapped[int] = mapped_column(Integer, default=0)
    n_above_threshold: Mapped[int] = mapped_column(Integer, default=0)
    n_agree: Mapped[int] = mapped_column(Integer, default=0)
    n_shadow_only: Mapped[int] = mapped_column(Integer, default=0)
    n_live_only: Mapped[int] = mapped_column(Integer, default=0)


class OutboxMessage(Base):
    """A notification to send, durable until sent; (subject, sink) is unique so none doubles."""

    __tablename__ = "notification_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(128))  # e.g. alert:<uuid>, camera:<id>:<n>
    sink: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint("subject", "sink", name="uq_notification_outbox_subject_sink"),
        Index("ix_notification_outbox_due", "status", "next_attempt_at"),
    )


class AuditLog(Base):
    """Append-only record of every verdict, lease, stage, user and model change."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LeaderLock(Base):
    """A named lease so that one process at a time runs a singleton job (the controller)."""

    __tablename__ = "leader_locks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class SchedulerJob(Base):
    """APScheduler 3's SQLAlchemyJobStore table (the rollout controller's schedule), declared
    here so that the migrations, not the scheduler, create it and `alembic check` knows it."""

    __tablename__ = "apscheduler_jobs"
    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class SiteStatus(Base):
    """What each edge site last told the centre (one row per site, overwritten on each
    contact; `kernel.records.SiteContact`, db.sites)."""

    __tablename__ = "site_status"
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime]
    boot: Mapped[str] = mapped_column(String(64))
    backlog_frames: Mapped[int] = mapped_column(BigInteger)
    backlog_bytes: Mapped[int] = mapped_column(BigInteger)
    oldest_backlog_at: Mapped[datetime | None]
    backlog_dropped: Mapped[int] = mapped_column(BigInteger)
    frames_sent: Mapped[int] = mapped_column(BigInteger)
    rss_mb: Mapped[float | None] = mapped_column(Float)


class ReplicaStatus(Base):
    """Each detector replica's latest figures, copied from the stats board every few seconds
    while `bearwatch up` runs with `cluster.engine: ray` (`kernel.records.ReplicaStats`,
    db.replicas): the set replaced on each copy, so a replica gone is a row gone.
    `reported_at` is when the replica measured them, `stored_at` when the centre copied them."""

    __tablename__ = "replica_status"
    replica: Mapped[str] = mapped_column(String(128), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(64))
    rss_mb: Mapped[float | None] = mapped_column(Float)
    batches: Mapped[int] = mapped_column(BigInteger)
    images: Mapped[int] = mapped_column(BigInteger)
    mean_batch: Mapped[float] = mapped_column(Float)
    last_batch: Mapped[int] = mapped_column(Integer)
    queue: Mapped[int] = mapped_column(Integer)
    ongoing: Mapped[int] = mapped_column(Integer)
    latency_p50_ms: Mapped[float] = mapped_column(Float)
    latency_p99_ms: Mapped[float] = mapped_column(Float)
    mean_forward_ms: Mapped[float] = mapped_column(Float)
    errors: Mapped[int] = mapped_column(BigInteger)
    rejected: Mapped[int] = mapped_column(BigInteger)
    reported_at: Mapped[datetime]
    stored_at: Mapped[datetime]
