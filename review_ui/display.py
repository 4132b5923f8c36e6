"""How stored values are shown: image files found under the storage root, UTC times in the
operators' time zone, night decided from a camera's coordinates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from camera_ingest import is_night
from kernel.config import StorageConfig


def resolve_image(storage: StorageConfig, path: str | None) -> Path | None:
    """The file a stored image path names: as given, else under the storage root or its
    snapshots folder (paths are stored relative to either). None when nothing is there."""
    if not path:
        return None
    p = Path(path)
    for candidate in (p, storage.root / p, storage.snapshots_dir / p):
        if candidate.is_file():
            return candidate
    return None


def local_time(at: datetime, tz: str) -> str:
    """`at` (UTC) in the operators' zone, e.g. `2026-07-01 05:00:00 CEST`."""
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")


def night_from_sun(at: datetime, latitude: float | None, longitude: float | None) -> bool | None:
    """Night by the sun (below civil twilight) at the camera, or None without coordinates."""
    if latitude is None or longitude is None:
        return None
    # The image fields are unused when coordinates exist: the sun decides.
    night, _source = is_night(at=at, latitude=latitude, longitude=longitude, luma=255.0,
                              infrared=False, night_luma_max=0.0)
    return night
