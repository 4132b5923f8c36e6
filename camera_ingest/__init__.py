"""Camera ingest: sources, sampling, quality flags, motion gating, camera health.

Public surface (everything else is internal):
- `open_source(source, fps=…)` -> `FrameSource`: RTSP, HTTP (MJPEG or still), video file,
  image folder, device, or `demo:`.
- `IngestService`: one reader thread per camera feeding a bounded `FrameQueue`, reporting
  `CameraHealthReport`s and `CameraStateChange`s to a `HealthSink`.
- `FrameFlagger` and the quality functions, shared with `bearwatch probe`.
- camera-trap bursts (issue 12): `group_bursts` (capture times -> bursts) and
  `changed_regions` with its `ChangeRules` (where a still differs from the rest of its
  burst), also used to score the shared trail-camera sequences the way ingest does.
"""

from camera_ingest.burst import group_bursts
from camera_ingest.changes import ChangeRules, changed_regions
from camera_ingest.errors import CorruptFrameError, IngestError, SourceError
from camera_ingest.flags import FrameFlagger, Processed
from camera_ingest.health import (
    CameraHealthReport,
    CameraStateChange,
    HealthSink,
    decide_state,
)
from camera_ingest.motion import MotionDetector, MotionGate
from camera_ingest.quality import (
    image_stats,
    is_infrared,
    is_low_res,
    is_night,
    mean_luma,
    sun_altitude,
)
from camera_ingest.queue import FrameQueue
from camera_ingest.service import IngestService
from camera_ingest.source import FrameSource, RawFrame, SourceOptions, open_source, redact

__all__ = [
    "CameraHealthReport",
    "CameraStateChange",
    "ChangeRules",
    "CorruptFrameError",
    "FrameFlagger",
    "FrameQueue",
    "FrameSource",
    "HealthSink",
    "IngestError",
    "IngestService",
    "MotionDetector",
    "MotionGate",
    "Processed",
    "RawFrame",
    "SourceError",
    "SourceOptions",
    "changed_regions",
    "decide_state",
    "group_bursts",
    "image_stats",
    "is_infrared",
    "is_low_res",
    "is_night",
    "mean_luma",
    "open_source",
    "redact",
    "sun_altitude",
]
