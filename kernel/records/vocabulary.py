"""The shared vocabularies (stages, verdicts, roles, …) and the checks every record runs in
`__post_init__`: UTC times, 0..1 scores, boxes inside their image."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


class Stage(StrEnum):
    """A zone's rollout stage, in promotion order (DESIGN.md §5)."""

    OFF = "off"
    SHADOW = "shadow"
    PILOT = "pilot"
    ACTIVE = "active"


STAGE_ORDER: tuple[Stage, ...] = (Stage.OFF, Stage.SHADOW, Stage.PILOT, Stage.ACTIVE)


class Verdict(StrEnum):
    """An operator's verdict on an alert or an audit sample."""

    BEAR = "bear"
    NO_BEAR = "no_bear"
    UNSURE = "unsure"


class ReasonCode(StrEnum):
    """Why an operator said `no_bear`: the false-alarm taxonomy used in reports and training."""

    OTHER_ANIMAL = "other_animal"
    PERSON = "person"
    VEHICLE = "vehicle"
    SHADOW_OR_LIGHT = "shadow_or_light"
    INFRARED_ARTEFACT = "infrared_artefact"
    VEGETATION_OR_WEATHER = "vegetation_or_weather"
    STATIC_OBJECT = "static_object"
    OTHER = "other"


class Role(StrEnum):
    OPERATOR = "operator"
    ADMIN = "admin"
    ANALYST = "analyst"


class NightSource(StrEnum):
    """How `is_night` was decided: sun altitude from coordinates, or the image itself."""

    SUN = "sun"
    IMAGE = "image"


class CameraState(StrEnum):
    ONLINE = "online"
    STALE = "stale"
    OFFLINE = "offline"


def utc_now() -> datetime:
    return datetime.now(UTC)


def require_utc(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
        raise ValueError(f"{name} must be a timezone-aware UTC datetime, got {value!r}")


def require_unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be within 0..1, got {value!r}")


Box = tuple[int, int, int, int]
"""A rectangle of a frame's image: x, y (top-left), width, height, px."""


def require_box(name: str, box: Box, width: int, height: int) -> None:
    x, y, w, h = box
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise ValueError(f"{name} {box} must be a non-empty (x, y, w, h) inside the "
                         f"{width}x{height} image")
