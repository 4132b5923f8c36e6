"""The last-frame thumbnail of each camera, for the Cameras page."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from camera_ingest.quality import downscale

THUMB_WIDTH = 320
"""Thumbnail width, px."""


def write_thumbnail(folder: Path, camera_id: str, rgb: np.ndarray) -> Path:
    """Write `<folder>/<camera_id>.jpg` atomically (a reader never sees half a file).

    Raises:
        OSError: the folder cannot be created or written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{camera_id}.jpg"
    tmp = folder / f".{camera_id}.tmp.jpg"
    small = downscale(rgb, THUMB_WIDTH)
    if not cv2.imwrite(str(tmp), cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                       [cv2.IMWRITE_JPEG_QUALITY, 80]):
        raise OSError(f"cannot write thumbnail {tmp}")
    os.replace(tmp, path)
    return path
