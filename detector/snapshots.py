"""JPEG files of alert snapshots and audit samples, written atomically and durably (a reader
never sees half a file; the file exists before the row that points to it is committed)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import cv2
import numpy as np

from bearwatch.records import Frame

JPEG_QUALITY = 90


def write_jpeg(path: Path, rgb: np.ndarray) -> Path:
    """Encode HxWx3 uint8 RGB as JPEG at `path` (temp file, fsync, rename). Returns `path`."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError(f"JPEG encoding failed for {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("wb") as fh:
        fh.write(buf.tobytes())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


class SnapshotStore:
    """Where the detector's images go.

    Args:
        root: `storage.snapshots_dir`; alert snapshots are `<root>/<camera>/<alert id>.jpg`,
            audit samples `<root>/audit/<camera>/<UTC time>-<seq>.jpg`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def alert_snapshot(self, frame: Frame, alert_id: uuid.UUID) -> str:
        """Write (or replace, on a better frame) the alert's snapshot; returns its path."""
        path = self.root / frame.camera_id / f"{alert_id}.jpg"
        return str(write_jpeg(path, frame.image))

    def audit_image(self, frame: Frame) -> str:
        stamp = frame.captured_at.strftime("%Y%m%dT%H%M%S%f")
        path = self.root / "audit" / frame.camera_id / f"{stamp}-{frame.seq}.jpg"
        return str(write_jpeg(path, frame.image))
