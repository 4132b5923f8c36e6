"""JPEG files of alert snapshots and audit samples, written atomically (a reader never sees
half a file; the file exists before the row that points to it is committed) and then made
durable by a background thread.

The fsync is off the detector's path: it costs more than the encoding (~3 ms against ~2 ms
for 960x540 on this project's CI disk) and an alert writes two files, so inline it added
~6 ms per alert, times the alerts of a batch, before the first of them committed. A written
file is complete and in place when `write_jpeg` returns, so every reader sees it and a
killed process (kill -9) keeps it; only a power cut in the few milliseconds before its fsync
can lose it (SQLite's `synchronous=NORMAL` has such a window for the row as well).
`sync_pending()` waits for the outstanding fsyncs (tests, a clean shutdown); they are also
waited for at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import uuid
from pathlib import Path

import cv2
import numpy as np

from kernel.records import Box, Frame

log = logging.getLogger("detector")
JPEG_QUALITY = 90
MARK_RGB = (255, 200, 0)
# The enlarged region takes this share of the snapshot's height, in its top-right corner.
INSET_SHARE = 0.4


def encode_jpeg(rgb: np.ndarray) -> bytes:
    """HxWx3 uint8 RGB as JPEG bytes at `JPEG_QUALITY`.

    Raises:
        OSError: the encoder refused the image.
    """
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError(f"JPEG encoding failed for an image of shape {rgb.shape}")
    return bytes(buf.tobytes())


def write_jpeg(path: Path, rgb: np.ndarray, *, data: bytes | None = None) -> Path:
    """Encode HxWx3 uint8 RGB as JPEG at `path` (temp file, rename; fsync queued to the
    background syncer). `data`: the JPEG bytes when already encoded. Returns `path`.

    Raises:
        OSError: encoding failed or the disk refused the file (nothing is left behind).
    """
    buf = encode_jpeg(rgb) if data is None else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(buf)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk must not keep half a file as well
        raise
    _SYNCER.submit(path)
    return path


def sync_pending(timeout_s: float = 30.0) -> bool:
    """Wait until every file written so far is fsynced; False when `timeout_s` ran out."""
    return _SYNCER.drain(timeout_s)


class _Syncer:
    """Fsyncs written files, in order, on one daemon thread started on first use."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Path] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._idle = threading.Condition(self._lock)

    def submit(self, path: Path) -> None:
        with self._lock:
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="snapshot-fsync",
                                                daemon=True)
                self._thread.start()
        self._queue.put(path)

    def drain(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _run(self) -> None:
        while True:
            path = self._queue.get()
            try:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except FileNotFoundError:
                pass  # replaced (a better frame) or removed since: its successor is queued
            except OSError as exc:
                log.error("snapshot not flushed to disk", extra={"path": str(path),
                                                                  "error": str(exc)})
            with self._idle:
                self._pending -= 1
                if not self._pending:
                    self._idle.notify_all()


_SYNCER = _Syncer()
atexit.register(sync_pending)


class SnapshotStore:
    """Where the detector's images go.

    Args:
        root: `storage.snapshots_dir`; alert snapshots are `<root>/<camera>/<alert id>.jpg`,
            each alert frame's own image `<root>/<camera>/<alert id>/<UTC time>-<seq>.jpg`,
            audit samples `<root>/audit/<camera>/<UTC time>-<seq>.jpg`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        # The last unmarked image encoded and its bytes: an alert's first frame is both its
        # snapshot (unmarked when no region scored) and its own frame image.
        self._last: tuple[np.ndarray, bytes] | None = None
        self._lock = threading.Lock()

    def _write(self, path: Path, image: np.ndarray) -> str:
        with self._lock:
            last = self._last
        data = last[1] if last is not None and last[0] is image else encode_jpeg(image)
        with self._lock:
            self._last = (image, data)
        return str(write_jpeg(path, image, data=data))

    def alert_snapshot(self, frame: Frame, alert_id: uuid.UUID, region: Box | None = None) -> str:
        """Write (or replace, on a better frame) the alert's snapshot; returns its path. The
        region that scored highest is outlined and shown enlarged, so a reviewer finds a bear
        of a few dozen px in a large frame."""
        path = self.root / frame.camera_id / f"{alert_id}.jpg"
        if region is None:
            return self._write(path, frame.image)
        return str(write_jpeg(path, mark_region(frame.image, region)))

    def frame_image(self, frame: Frame, alert_id: uuid.UUID) -> str:
        """Write one alert frame's own image, unmarked (the Review page draws the region over
        it, and training reads it as the camera saw it); returns its path. Named by capture
        time and seq: seq restarts with the process, the time tells a resumed visit apart."""
        stamp = frame.captured_at.strftime("%Y%m%dT%H%M%S%f")
        path = self.root / frame.camera_id / str(alert_id) / f"{stamp}-{frame.seq}.jpg"
        return self._write(path, frame.image)

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
