"""Each camera's domain-shift status, computed once for the `bearwatch drift` command, the
Cameras and Reports pages and the rollout's `drift` gate (issue 7, Build 5).

A camera's recent window of score aggregates is compared with the training reference of the
model version that scored it (PSI and KS from `kernel.drift`). A camera with too few frames,
no frames at all, or a model without a reference is *not assessed*: no evidence is not a shift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from db.camera_status import list_cameras
from db.drift import camera_windows
from db.model_versions import list_versions
from kernel.config import DetectorConfig

# Model versions whose reference is looked up; far above any real registry.
MAX_VERSIONS = 10_000


@dataclass(frozen=True, slots=True)
class DriftSettings:
    """The drift watch's limits (from `detector.drift_*`).

    Attributes:
        psi_max: PSI above this (either measure) flags the camera.
        window_hours: the recent window compared, hours.
        min_frames: fewer frames in the window: not assessed.
    """

    psi_max: float
    window_hours: float
    min_frames: int

    @classmethod
    def from_config(cls, detector: DetectorConfig) -> DriftSettings:
        return cls(psi_max=detector.drift_psi_max, window_hours=detector.drift_window_hours,
                   min_frames=detector.drift_min_frames)


@dataclass(frozen=True, slots=True)
class CameraDriftStatus:
    """One camera (and the model version that scored it) over the recent window.

    Attributes:
        zone_id: the camera's zone in the catalog (None for a camera no longer in it).
        model_version: None when the camera sent no frames in the window.
        psi_score, ks_score, psi_luma, ks_luma: the measures; None when not assessed.
        psi_max: the limit the PSIs were judged against.
        flagged: a PSI above `psi_max`; assessed: the measures could be computed.
        reason: why flagged, within limits, or not assessed.
    """

    camera_id: str
    zone_id: str | None
    model_version: str | None
    n_frames: int
    psi_score: float | None
    ks_score: float | None
    psi_luma: float | None
    ks_luma: float | None
    psi_max: float
    flagged: bool
    assessed: bool
    reason: str

    @property
    def worst_psi(self) -> float:
        """The larger PSI of the two measures (0 when not assessed)."""
        return max(p for p in (self.psi_score, self.psi_luma, 0.0) if p is not None)

    @property
    def label(self) -> str:
        """Short badge for tables: `drift: PSI 0.41 > 0.25`, `ok: PSI 0.03`, `not assessed: …`."""
        if not self.assessed:
            return f"not assessed: {self.reason}"
        if self.flagged:
            return f"drift: PSI {self.worst_psi:.2f} > {self.psi_max:g}"
        return f"ok: PSI {self.worst_psi:.2f}"


def camera_drift(session: Session, settings: DriftSettings, *, now: datetime
                 ) -> list[CameraDriftStatus]:
    """Every camera's drift over `[now - window_hours, now)`: one row per camera and model
    version that scored it, plus a not-assessed row for each catalog camera with no frames.
    Flagged rows first (most drifted first), then by camera id."""
    # Imported here: the top-level `detector` surface loads torch, which the rollout
    # controller and the review UI should only pay for when drift is actually computed.
    from kernel.drift import DriftReference, assess_camera

    since = now - timedelta(hours=settings.window_hours)
    zone_of = {c.id: c.zone_id for c in list_cameras(session)}
    windows = camera_windows(session, since=since, until=now)
    refs = {v.id: DriftReference.from_metrics(v.metrics, version=v.id)
            for v in list_versions(session, limit=MAX_VERSIONS)}
    out = []
    for w in windows:
        d = assess_camera(w, refs.get(w.model_version), psi_max=settings.psi_max,
                          min_frames=settings.min_frames)
        out.append(CameraDriftStatus(
            camera_id=d.camera_id, zone_id=zone_of.get(d.camera_id), model_version=d.model_version,
            n_frames=d.n_frames, psi_score=d.score.psi if d.score else None,
            ks_score=d.score.ks if d.score else None, psi_luma=d.luma.psi if d.luma else None,
            ks_luma=d.luma.ks if d.luma else None, psi_max=settings.psi_max, flagged=d.flagged,
            assessed=d.score is not None, reason=d.reason))
    seen = {w.camera_id for w in windows}
    out += [CameraDriftStatus(camera_id=cam, zone_id=zone, model_version=None, n_frames=0,
                              psi_score=None, ks_score=None, psi_luma=None, ks_luma=None,
                              psi_max=settings.psi_max, flagged=False, assessed=False,
                              reason=f"no frames in the last {settings.window_hours:g} h")
            for cam, zone in zone_of.items() if cam not in seen]
    return sorted(out, key=lambda s: (not s.flagged, -s.worst_psi, s.camera_id,
                                      s.model_version or ""))


def by_camera(statuses: Iterable[CameraDriftStatus]) -> dict[str, CameraDriftStatus]:
    """The row to show per camera when several model versions scored it: flagged before
    assessed before not assessed, then the most drifted, then the most frames."""
    best: dict[str, CameraDriftStatus] = {}
    for s in statuses:
        cur = best.get(s.camera_id)
        if cur is None or _rank(s) > _rank(cur):
            best[s.camera_id] = s
    return best


def _rank(s: CameraDriftStatus) -> tuple[bool, bool, float, int]:
    return (s.flagged, s.assessed, s.worst_psi, s.n_frames)


def by_zone(statuses: Iterable[CameraDriftStatus]) -> dict[str, list[CameraDriftStatus]]:
    """Rows grouped by the camera's zone (cameras outside the catalog are left out)."""
    out: dict[str, list[CameraDriftStatus]] = {}
    for s in statuses:
        if s.zone_id is not None:
            out.setdefault(s.zone_id, []).append(s)
    return out
