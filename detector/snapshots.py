"""JPEG files of alert snapshots and audit samples, written atomically and durably (a reader
never sees half a file; the file exists before the row that points to it is committed)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import cv2
import numpy as np

from kernel.records import Box, Frame

JPEG_QUALITY = 90
MARK_RGB = (255, 200, 0)
# The enlarged region takes this share of the snapshot's height, in its top-right corner.
INSET_SHARE = 0.4


def write_jpeg(path: Path, rgb: np.ndarray) -> Path:
    """Encode HxWx3 uint8 RGB as JPEG at `path` (temp file, fsync, rename). Returns `path`."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError(f"JPEG encoding failed for {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(buf.tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk must not keep half a file as well
        raise
    return path


class SnapshotStore:
    """Where the detector's images go.

    Args:
        root: `storage.snapshots_dir`; alert snapshots are `<root>/<camera>/<alert id>.jpg`,
            each alert frame's own image `<root>/<camera>/<alert id>/<UTC time>-<seq>.jpg`,
            audit samples `<root>/audit/<camera>/<UTC time>-<seq>.jpg`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def alert_snapshot(self, frame: Frame, alert_id: uuid.UUID, region: Box | None = None) -> str:
        """Write (or replace, on a better frame) the alert's snapshot; returns its path. The
        region that scored highest is outlined and shown enlarged, so a reviewer finds a bear
        of a few dozen px in a large frame."""
        path = self.root / frame.camera_id / f"{alert_id}.jpg"
        image = frame.image if region is None else mark_region(frame.image, region)
        return str(write_jpeg(path, image))

    def frame_image(self, frame: Frame, alert_id: uuid.UUID) -> str:
        """Write one alert frame's own image, unmarked (the Review page draws the region over
        it, and training reads it as the camera saw it); returns its path. Named by capture
        time and seq: seq restarts with the process, the time tells a resumed visit apart."""
        stamp = frame.captured_at.strftime("%Y%m%dT%H%M%S%f")
        path = self.root / frame.camera_id / str(alert_id) / f"{stamp}-{frame.seq}.jpg"
        return str(write_jpeg(path, frame.image))

    def audit_image(self, frame: Frame) -> str:
        stamp = frame.captured_at.strftime("%Y%m%dT%H%M%S%f")
        path = self.root / "audit" / frame.camera_id / f"{stamp}-{frame.seq}.jpg"
        return str(write_jpeg(path, frame.image))


def mark_region(rgb: np.ndarray, region: Box) -> np.ndarray:
    """A copy of `rgb` with `region` outlined and an enlarged copy of it in the top-right
    corner (outlined too), unless the region already fills most of the frame."""
    out = rgb.copy()
    h, w = out.shape[:2]
    x, y, rw, rh = region
    thick = max(2, round(min(h, w) / 300))
    inset_side = int(h * INSET_SHARE)
    if max(rw, rh) < inset_side and inset_side < w // 2:
        zoom = cv2.resize(rgb[y:y + rh, x:x + rw], (inset_side, inset_side),
                          interpolation=cv2.INTER_CUBIC)
        out[:inset_side, w - inset_side:] = zoom
        cv2.rectangle(out, (w - inset_side, 0), (w - 1, inset_side - 1), MARK_RGB, thick)
    cv2.rectangle(out, (x, y), (x + rw - 1, y + rh - 1), MARK_RGB, thick)
    return out
