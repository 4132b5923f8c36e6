"""Turns a source's raw frame into a `Frame` with its quality flags, and decides the gate.

Shared by the camera readers and `bearwatch probe`, so an operator's probe shows exactly
what ingest will compute.
"""

from __future__ import annotations

from dataclasses import dataclass

from camera_ingest.changes import scale_boxes
from camera_ingest.motion import MotionDetector, MotionGate
from camera_ingest.quality import downscale, image_stats, is_infrared, is_low_res, is_night
from camera_ingest.source import RawFrame
from kernel.config import CameraConfig, IngestConfig
from kernel.records import Frame

# Moving regions handed on per frame, largest first; the detector scores as many as its
# `proposals.motion_regions` setting asks (at most 64).
MAX_REGIONS = 64


@dataclass(frozen=True, slots=True)
class Processed:
    """A flagged frame and whether it goes to the detector (False = held by the motion gate)."""

    frame: Frame
    admitted: bool


class FrameFlagger:
    """Per-camera state for flagging: the sequence counter, motion background and gate."""

    def __init__(self, camera: CameraConfig, config: IngestConfig) -> None:
        self.camera = camera
        self.config = config
        self.motion = MotionDetector()
        self.gate = MotionGate(enabled=camera.motion_gating, threshold=camera.motion_threshold,
                               keepalive_s=camera.keepalive_s)
        self.seq = 0

    def process(self, raw: RawFrame, now: float) -> Processed:
        """Flag one frame; `now` is clock seconds (for the keep-alive)."""
        cfg = self.config
        h, w = raw.image.shape[:2]
        # Low resolution is about the camera, so it is judged before the ingest downscale.
        low_res = is_low_res(w, h, min_width=cfg.low_res_width, min_height=cfg.low_res_height)
        image = downscale(raw.image, cfg.max_width)
        stats = image_stats(image)
        infrared = is_infrared(stats.mean_chroma, chroma_max=cfg.infrared_chroma_max)
        night, night_source = is_night(at=raw.captured_at, latitude=self.camera.latitude,
                                       longitude=self.camera.longitude, luma=stats.mean_luma,
                                       infrared=infrared, night_luma_max=cfg.night_luma_max)
        score = self.motion.score(stats.grey)
        h, w = image.shape[:2]
        if raw.is_still:
            # A still has no running background: its regions are where it differs from the
            # rest of its burst (found by the source at its own size); none for a lone still.
            src_h, src_w = raw.image.shape[:2]
            regions = scale_boxes(raw.regions[:MAX_REGIONS], (src_w, src_h), (w, h))
        else:
            regions = self.motion.regions(w, h, limit=MAX_REGIONS)
        frame = Frame(camera_id=self.camera.id, zone_id=self.camera.zone,
                      captured_at=raw.captured_at, seq=self.seq, image=image,
                      mean_luma=stats.mean_luma, is_night=night, night_source=night_source,
                      is_infrared=infrared, is_low_res=low_res, motion_score=score,
                      source_ref=raw.source_ref, regions=regions, is_still=raw.is_still)
        self.seq += 1
        return Processed(frame, self.gate.admit(score, now))
