"""What the running system records about itself and its people: stage changes, audit samples,
camera health, score aggregates, shadow-model counts, detector replicas' figures and edge
sites' contacts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kernel.intervals import Rate
from kernel.records.vocabulary import CameraState, Stage, require_unit, require_utc


@dataclass(frozen=True, slots=True)
class StageChange:
    """A zone's change of stage or paused flag, as applied and audited (DESIGN.md §5).

    Attributes:
        action: what was done: a `rollout.Action` value (`promote`, `kill`, ...); stored in
            the history as `"<action>: <reason>"` and audited as `zone.<action>`.
        paused: the paused flag after the change.
        at: UTC. figures: the rates at that moment, stored with the history and audit rows.
    """

    zone_id: str
    action: str
    from_stage: Stage
    to_stage: Stage
    paused: bool
    actor: str
    reason: str
    at: datetime
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditSample:
    """A frame that did not alert, saved for the audit queue (DESIGN.md §4).

    `sampling_prob` (0 < p <= 1) is the probability with which it was drawn, so the
    inverse-probability weights of the missed-alert estimate are exact. Times UTC, score 0..1.
    """

    camera_id: str
    zone_id: str
    captured_at: datetime
    p_bear: float
    sampling_prob: float
    is_night: bool
    is_infrared: bool
    image_path: str
    model_version: str

    def __post_init__(self) -> None:
        require_utc("AuditSample.captured_at", self.captured_at)
        require_unit("AuditSample.p_bear", self.p_bear)
        if not 0.0 < self.sampling_prob <= 1.0:
            raise ValueError("AuditSample.sampling_prob must be in (0, 1], "
                             f"got {self.sampling_prob}")


@dataclass(frozen=True, slots=True)
class CameraHealthReport:
    """One camera's health at one moment.

    Attributes:
        fps: frames sampled per second over the last report period.
        frames_total: frames sampled since start (sent + gated).
        frames_gated: frames held back by the motion gate since start.
        decode_errors: corrupt or empty frames skipped since start.
        dropped_frames: this camera's frames dropped by the full queue since start.
        reconnects: successful re-opens after a lost or failed source.
        last_frame_at, at: UTC. thumbnail_path: JPEG of the last frame, or None.
    """

    camera_id: str
    state: CameraState
    fps: float
    frames_total: int
    frames_gated: int
    decode_errors: int
    dropped_frames: int
    reconnects: int
    last_frame_at: datetime | None
    thumbnail_path: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class CameraStateChange:
    """A camera changed state (e.g. went offline or came back); `from_state` is None for the
    first state after start. `at` is UTC; `detail` says why."""

    camera_id: str
    from_state: CameraState | None
    to_state: CameraState
    at: datetime
    detail: str


@dataclass(frozen=True, slots=True)
class ScoreAggregate:
    """Counts of one camera's frames in one UTC hour for one model version.

    Attributes:
        hour: start of the hour, UTC.
        p_bear_counts: histogram of p_bear over 20 equal bins of 0..1.
        luma_counts: histogram of mean luma over 16 equal bins of 0..256.
    """

    camera_id: str
    model_version: str
    hour: datetime
    n_frames: int
    n_night: int
    n_above_threshold: int
    p_bear_counts: tuple[int, ...]
    luma_counts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ShadowFigures:
    """Shadow-vs-live frame counts against the zone's threshold, over any set of frames (one
    camera-hour, or a zone's window): `+` adds two; the rates carry Wilson 95 % intervals for
    the promotion gates.

    Attributes:
        n_frames: frames both models scored.
        n_agree: frames shadow and live put on the same side of the threshold.
        n_shadow_only: shadow above, live below (alerts the shadow would have raised).
        n_live_only: live above, shadow below (alerts the shadow would have missed).
        n_above_threshold: frames the shadow scored at or above the threshold.
    """

    n_frames: int = 0
    n_agree: int = 0
    n_shadow_only: int = 0
    n_live_only: int = 0
    n_above_threshold: int = 0

    def __add__(self, other: ShadowFigures) -> ShadowFigures:
        return ShadowFigures(self.n_frames + other.n_frames, self.n_agree + other.n_agree,
                             self.n_shadow_only + other.n_shadow_only,
                             self.n_live_only + other.n_live_only,
                             self.n_above_threshold + other.n_above_threshold)

    @classmethod
    def total(cls, parts: Iterable[ShadowFigures]) -> ShadowFigures:
        return sum(parts, cls())

    @property
    def agreement(self) -> Rate:
        return Rate.of(self.n_agree, self.n_frames)

    @property
    def shadow_only(self) -> Rate:
        return Rate.of(self.n_shadow_only, self.n_frames)

    @property
    def live_only(self) -> Rate:
        return Rate.of(self.n_live_only, self.n_frames)

    def to_figures(self) -> dict[str, Any]:
        return {"frames": self.n_frames, "agree": self.n_agree,
                "shadow_only": self.n_shadow_only, "live_only": self.n_live_only}

    def describe(self) -> str:
        if not self.n_frames:
            return "0 frames"
        share = self.n_agree / self.n_frames
        return (f"{self.n_frames} frames, agree {self.n_agree} ({share:.4f}), "
                f"shadow-only {self.n_shadow_only}, live-only {self.n_live_only}")


@dataclass(frozen=True, slots=True)
class ShadowCount:
    """How a shadow model compared with the live one on one camera's frames in one UTC hour,
    day or night (`is_night`), against the zone's threshold: the grain the detector flushes
    and `shadow_scores` stores.

    Attributes:
        model_version: the shadow model's version.
        hour: start of the hour, UTC.
        figures: the counts of those frames.
    """

    camera_id: str
    zone_id: str
    model_version: str
    hour: datetime
    is_night: bool
    figures: ShadowFigures


@dataclass(frozen=True, slots=True)
class ReplicaStats:
    """One detector replica's figures since it started, as it last reported them (the stats
    board of `bearwatch.cluster.stats`, copied into `replica_status`; `bearwatch status` and
    the Cameras page show them).

    Attributes:
        replica: the replica's id (Serve's).
        pid: its worker process on `node`.
        node: the node's IP address.
        rss_mb: its resident memory, MiB (None where /proc is not there to read it).
        batches: forward passes run.
        images: images scored.
        mean_batch: images per forward pass, on average.
        last_batch: images in the latest forward pass.
        queue: requests accepted and not yet in a forward pass, at `reported_at`.
        ongoing: requests accepted and not yet answered, at `reported_at`.
        latency_p50_ms: a request's time at the replica (arrival to answer), median of the
            latest `window` requests, ms.
        latency_p99_ms: the same, 99th percentile, ms.
        mean_forward_ms: a forward pass's time, on average, ms.
        errors: forward passes that raised (their requests were answered with the error).
        rejected: HTTP requests answered 4xx (a body that is no image).
        reported_at: when the replica measured these, epoch s (UTC): a float, as it crosses
            the Ray boundary every 2 s.
    """

    replica: str
    pid: int
    node: str
    rss_mb: float | None
    batches: int
    images: int
    mean_batch: float
    last_batch: int
    queue: int
    ongoing: int
    latency_p50_ms: float
    latency_p99_ms: float
    mean_forward_ms: float
    errors: int
    rejected: int
    reported_at: float


@dataclass(frozen=True, slots=True)
class SiteContact:
    """What an edge site (`bearwatch edge --site S`) last told the centre about itself.

    Attributes:
        site_id: the site (`edge.sites`).
        at: when the centre heard from it, UTC.
        boot: the edge process run's id (a new one after each restart of the edge box).
        backlog_frames: frames waiting in its on-disk backlog for the centre.
        backlog_bytes: the backlog's size on disk.
        oldest_backlog_at: capture time of the oldest frame waiting, UTC (None: empty).
        backlog_dropped: frames dropped because the backlog was full, since the edge started.
        frames_sent: frames the centre has scored from this edge run.
        rss_mb: the edge process's resident memory, MiB (None: unknown).
    """

    site_id: str
    at: datetime
    boot: str
    backlog_frames: int
    backlog_bytes: int
    oldest_backlog_at: datetime | None
    backlog_dropped: int
    frames_sent: int
    rss_mb: float | None

    def __post_init__(self) -> None:
        require_utc("SiteContact.at", self.at)
        if self.oldest_backlog_at is not None:
            require_utc("SiteContact.oldest_backlog_at", self.oldest_backlog_at)
        for name in ("backlog_frames", "backlog_bytes", "backlog_dropped", "frames_sent"):
            if getattr(self, name) < 0:
                raise ValueError(f"SiteContact.{name} must be >= 0, got {getattr(self, name)}")
