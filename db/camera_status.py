"""The camera catalog as the UI reads it: what each camera is and where (health is db.health)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Camera


@dataclass(frozen=True, slots=True)
class CameraInfo:
    """A camera of the catalog; latitude/longitude in degrees when known."""

    id: str
    name: str
    zone_id: str
    latitude: float | None
    longitude: float | None
    enabled: bool


def list_cameras(session: Session) -> list[CameraInfo]:
    return [CameraInfo(c.id, c.name or c.id, c.zone_id, c.latitude, c.longitude, c.enabled)
            for c in session.scalars(select(Camera).order_by(Camera.id))]
