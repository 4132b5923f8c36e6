"""Camera ingest: sources, sampling, quality flags, motion gating, camera health.

Public surface (everything else is internal):
- `open_source(source, SourceOptions(fps=…))` -> `FrameSource`: RTSP, HTTP (MJPEG or
  still), video file, image folder, device, or `demo:`.
- `IngestService`: one reader thread per camera feeding a bounded `FrameQueue`, reporting
  `CameraHealthReport`s and `CameraStateChange`s to a `HealthSink`.
- `FrameFlagger` and the quality functions, shared with `bearwatch probe`.
- camera-trap bursts (issue 12): `burst_of` (a still's burst among `Still`s by capture time,
  `exif_capture_time`) and `changed_regions` with its `ChangeRules` (where a still differs
  from the rest of its burst), also used to score the shared trail-camera sequences the way
  the folder camera does.
- `decode_image`: hostile-input-safe decoding of image bytes (the centre decodes edge frames
  with it).
"""

from camera_ingest.burst import Still, burst_of
from camera_ingest.changes import ChangeRules, changed_regions
from camera_ingest.decode import decode_image
from camera_ingest.errors import CorruptFrameError
from camera_ingest.flags import FrameFlagger, Processed
from camera_ingest.folder import exif_capture_time
from camera_ingest.health import CameraHealthReport, CameraStateChange, HealthSink
from camera_ingest.quality import is_night
from camera_ingest.queue import FrameQueue
from camera_ingest.service import IngestService
from camera_ingest.source import SourceOptions, open_source, redact

__all__ = [
    "CameraHealthReport", "CameraStateChange", "ChangeRules", "CorruptFrameError", "FrameFlagger",
    "FrameQueue", "HealthSink", "IngestService", "Processed", "Still", "burst_of",
    "changed_regions", "decode_image", "exif_capture_time", "is_night", "open_source", "redact",
    "SourceOptions",
]
