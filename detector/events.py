"""Encounters: per-frame scores in, one alert per bear visit out.

Rules (per camera, with the threshold of the camera's zone):
- a frame *counts* when `p_bear >= threshold`;
- with no open encounter, once `k` of the last `n` frames count, an alert opens; its first
  frame is the earliest counting frame of that window and its snapshot the best one;
- while open, each counting frame widens it (last_seen, n_frames, peak; a better frame
  replaces the snapshot); frames below threshold change nothing;
- when no frame has counted for `cooldown_s` (capture time), the encounter closes and the
  window starts empty, so one visit is one alert (a partial window is forgotten the same way).

Each counting frame also gets its own unmarked JPEG (`EncounterFrame.image_path`, with the
region that scored in `EncounterFrame.region`), up to `frame_images_per_alert` per alert (past
it only a new best frame), so the Review filmstrip shows every frame as the camera saw it; a
frame whose image cannot be written keeps `image_path` None. The alert snapshot (the best frame,
its region outlined and enlarged, for notifications) is written before the update is returned,
hence before it is committed. When it cannot be written (disk full, folder gone) the alert
still opens, with `snapshot_path` "" (no snapshot: the column is not nullable) and an error
logged with camera and alert id; a later better frame whose snapshot fails keeps the previous
one. The alert id is a fresh UUID, the
idempotency key of every later commit of this encounter.

Cooldowns are measured on capture times, which for a live camera are the wall clock. When the
wall clock steps (NTP correction, a hand-set clock) the owner tells the tracker with
`shift_clock`, so an open encounter's cooldown is neither cut short nor stretched by the step.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from detector.snapshots import SnapshotStore
from kernel.config import CameraConfig, DetectorConfig, ZoneConfig
from kernel.records import Alert, AlertUpdate, Detection, EncounterFrame, Stage

log = logging.getLogger("detector")

StageOf = Callable[[str], Stage]
"""Returns a zone's current rollout stage (in the wiring: `db.catalog.zone_stage`)."""

ResumeAlert = Callable[[str, datetime], "Alert | None"]
"""(camera_id, seen_since) -> the camera's stored alert last seen since then, if any (in the
wiring: `db.alerts.latest_alert`). Lets a restarted detector continue a visit's alert."""


@dataclass(frozen=True, slots=True)
class EncounterRules:
    """k of the last n frames at or above the zone's threshold open an alert; `cooldown_s`
    seconds without such a frame close it.

    `zone_thresholds` is read on every frame, so it may be a live mapping: `bearwatch run`
    passes one that follows the thresholds admins calibrate in the database.
    """

    k: int
    n: int
    cooldown_s: float
    default_threshold: float
    zone_thresholds: Mapping[str, float] = field(default_factory=dict)
    camera_k_of_n: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    frame_images_per_alert: int = 60
    camera_cooldown_s: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for k, n in [(self.k, self.n), *self.camera_k_of_n.values()]:
            if not 1 <= k <= n:
                raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")

    def threshold(self, zone_id: str) -> float:
        return self.zone_thresholds.get(zone_id, self.default_threshold)

    def k_of_n(self, camera_id: str) -> tuple[int, int]:
        """(k, n) for a camera: its own override, else the detector's."""
        return self.camera_k_of_n.get(camera_id, (self.k, self.n))

    def cooldown(self, camera_id: str) -> float:
        """Seconds without a counting frame that close a camera's alert: its own override
        (a trail camera shooting a still every few minutes), else the detector's."""
        return self.camera_cooldown_s.get(camera_id, self.cooldown_s)

    @classmethod
    def from_config(cls, detector: DetectorConfig, *, zones: Sequence[ZoneConfig] = (),
                    cameras: Sequence[CameraConfig] = ()) -> EncounterRules:
        """The detector's k, n and cooldown, each zone's threshold (else the detector's) and
        each camera's own k of n and cooldown where it sets them."""
        d = detector
        return cls(k=d.k, n=d.n, cooldown_s=d.cooldown_s, default_threshold=d.default_threshold,
                   zone_thresholds={z.id: z.threshold_or(d.default_threshold) for z in zones},
                   camera_k_of_n={c.id: (c.k, c.n) for c in cameras
                                  if c.k is not None and c.n is not None},
                   frame_images_per_alert=d.frame_images_per_alert,
                   camera_cooldown_s={c.id: c.cooldown_s for c in cameras
                                      if c.cooldown_s is not None})


@dataclass(slots=True)
class _Camera:
    window: deque[tuple[Detection, bool]]
    alert: Alert | None = None
    last_counted: datetime | None = None
    images: int = 0  # frame images written for the open alert


class EncounterTracker:
    """Turns `Detection`s into `AlertUpdate`s.

    Args:
        rules: thresholds, k, n, cooldown.
        stage_of: the zone's current stage, read once when an alert opens.
        snapshots: where the best frame's JPEG goes.
        new_id: alert id factory (inject for deterministic tests).
        resume: finds a stored alert of the same visit when an alert is about to open with
            none in memory (a restart mid-visit); None never resumes.
    """

    def __init__(self, rules: EncounterRules, *, stage_of: StageOf, snapshots: SnapshotStore,
                 new_id: Callable[[], uuid.UUID] = uuid.uuid4,
                 resume: ResumeAlert | None = None) -> None:
        self.rules = rules
        self.resume = resume
        self.stage_of = stage_of
        self.snapshots = snapshots
        self.new_id = new_id
        self._cams: dict[str, _Camera] = {}

    def open_cameras(self) -> frozenset[str]:
        """Cameras with an open encounter (their frames are batched first). Safe to call from
        the scorer thread of an overlapped loop while the tracker changes: `list()` copies the
        items at once, where iterating the dict could see it grow."""
        return frozenset(c for c, st in list(self._cams.items()) if st.alert is not None)

    def open_alert(self, camera_id: str) -> Alert | None:
        st = self._cams.get(camera_id)
        return st.alert if st else None

    def expire(self, now: datetime) -> list[Alert]:
        """Close encounters quiet for longer than the cooldown at `now` (UTC); returns them."""
        closed = []
        for camera_id, st in self._cams.items():
            if st.alert is not None and self._quiet(camera_id, st, now):
                closed.append(st.alert)
                self._close(st)
        return closed

    def shift_clock(self, delta_s: float) -> None:
        """The wall clock stepped by `delta_s` seconds (+ forward): move each camera's last
        counting time with it, so cooldowns keep their length in real time."""
        step = timedelta(seconds=delta_s)
        for st in self._cams.values():
            if st.last_counted is not None:
                st.last_counted += step

    def observe(self, det: Detection) -> AlertUpdate | None:
        """Account one scored frame; returns the alert update it causes, if any."""
        frame = det.frame
        st = self._cams.get(frame.camera_id)
        if st is None:
            n = self.rules.k_of_n(frame.camera_id)[1]
            st = self._cams[frame.camera_id] = _Camera(window=deque(maxlen=n))
        if self._quiet(frame.camera_id, st, frame.captured_at):
            # Also forgets a partial window: hits further apart than the cooldown are two
            # unrelated glimpses, not one visit.
            self._close(st)
        counts = det.p_bear >= self.rules.threshold(frame.zone_id)
        st.window.append((det, counts))
        if counts:
            st.last_counted = frame.captured_at
        if st.alert is not None:
            return self._widen(st, det) if counts else None
        hits = [d for d, c in st.window if c]
        if len(hits) < self.rules.k_of_n(frame.camera_id)[0]:
            return None
        return self._open(st, hits)

    def _quiet(self, camera_id: str, st: _Camera, now: datetime) -> bool:
        return (st.last_counted is None
                or (now - st.last_counted).total_seconds() > self.rules.cooldown(camera_id))

    def _close(self, st: _Camera) -> None:
        st.alert = None
        st.images = 0
        st.window.clear()

    def _open(self, st: _Camera, hits: list[Detection]) -> AlertUpdate:
        f0 = hits[0].frame
        if self.resume is not None:
            since = f0.captured_at - timedelta(seconds=self.rules.cooldown(f0.camera_id))
            prior = self.resume(f0.camera_id, since)
            if prior is not None:
                st.alert = prior
                widened: list[EncounterFrame] = []
                for d in hits:
                    widened.extend(self._widen(st, d).frames)
                return AlertUpdate(alert=st.alert, frames=tuple(widened), opened=False)
        best = max(hits, key=lambda d: d.p_bear)
        alert_id = self.new_id()
        path = self._snapshot(best, alert_id)
        st.alert = Alert(
            camera_id=f0.camera_id, zone_id=f0.zone_id, first_seen=f0.captured_at,
            last_seen=max(d.frame.captured_at for d in hits), peak_p_bear=best.p_bear,
            n_frames=len(hits), is_night=any(d.frame.is_night for d in hits),
            is_infrared=any(d.frame.is_infrared for d in hits), snapshot_path=path,
            stage=self.stage_of(f0.zone_id), model_version=best.model_version, id=alert_id,
        )
        frames = tuple(_encounter_frame(d, self._frame_image(st, d, alert_id, better=d is best))
                       for d in hits)
        return AlertUpdate(alert=st.alert, frames=frames, opened=True)

    def _widen(self, st: _Camera, det: Detection) -> AlertUpdate:
        a = st.alert
        assert a is not None
        frame = det.frame
        better = det.p_bear > a.peak_p_bear
        written = self._snapshot(det, a.id) if better else ""
        path = written or a.snapshot_path
        st.alert = replace(
            a, last_seen=max(a.last_seen, frame.captured_at), n_frames=a.n_frames + 1,
            peak_p_bear=max(a.peak_p_bear, det.p_bear), snapshot_path=path,
            is_night=a.is_night or frame.is_night,
            is_infrared=a.is_infrared or frame.is_infrared,
        )
        frames = (_encounter_frame(det, self._frame_image(st, det, a.id, better=better)),)
        return AlertUpdate(alert=st.alert, frames=frames, opened=False)

    def _snapshot(self, det: Detection, alert_id: uuid.UUID) -> str:
        """Write the alert's snapshot; "" (and an error logged) when the disk refuses it."""
        frame = det.frame
        try:
            return self.snapshots.alert_snapshot(frame, alert_id, det.region)
        except OSError as exc:
            log.error("alert snapshot not written; the alert is kept without it", extra={
                "camera_id": frame.camera_id, "alert_id": str(alert_id), "error": str(exc)})
            return ""

    def _frame_image(self, st: _Camera, det: Detection, alert_id: uuid.UUID, *,
                     better: bool) -> str | None:
        """Write the frame's own JPEG while the alert is under its image cap (a new best frame
        always); None when not written (an error logged when the disk refused it)."""
        if st.images >= self.rules.frame_images_per_alert and not better:
            return None
        frame = det.frame
        try:
            path = self.snapshots.frame_image(frame, alert_id)
        except OSError as exc:
            log.error("alert frame image not written; the frame is kept without it", extra={
                "camera_id": frame.camera_id, "alert_id": str(alert_id), "seq": frame.seq,
                "error": str(exc)})
            return None
        st.images += 1
        return path


def _encounter_frame(det: Detection, image_path: str | None) -> EncounterFrame:
    # Only a still's file names the same frame after a restart; a stream's URL names them all.
    source = det.frame.source_ref if det.frame.is_still else ""
    return EncounterFrame(seq=det.frame.seq, captured_at=det.frame.captured_at,
                          p_bear=det.p_bear, image_path=image_path, region=det.region,
                          source_ref=source)
