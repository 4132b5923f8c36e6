"""Builders for model-version tests: a registered version shadowed in a zone, and the shadow
model's hourly comparison counts written through db's own functions."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from db.model_versions import ModelVersionInfo, register_version
from db.zone_models import add_shadow_counts, assign_shadow
from kernel.records import ShadowCount, ShadowFigures


def shadow_version(sessions: sessionmaker[Session], zone: str, version: str, *,
                   at: datetime) -> None:
    """Register `version` and run it in shadow in `zone` from `at` (audited as by an admin)."""
    with sessions.begin() as s:
        register_version(s, ModelVersionInfo(id=version, kind="fastai", created_at=at,
                                             path=f"/m/{version}.pkl", sha256="a" * 64),
                         actor="test")
        assign_shadow(s, zone, version, actor="ada", reason="try it", now=at)


def hours(camera: str, zone: str, version: str, *, start: datetime, n_hours: int, frames: int,
          shadow_only: int = 0, live_only: int = 0, night: bool = False) -> list[ShadowCount]:
    """`n_hours` hour rows from `start`, splitting `frames`, `shadow_only` and `live_only` as
    evenly as integers allow (the totals are exact)."""
    def part(total: int, i: int) -> int:
        return total * (i + 1) // n_hours - total * i // n_hours

    out = []
    for i in range(n_hours):
        n, s_only, l_only = part(frames, i), part(shadow_only, i), part(live_only, i)
        out.append(ShadowCount(camera_id=camera, zone_id=zone, model_version=version,
                               hour=start + timedelta(hours=i), is_night=night,
                               figures=ShadowFigures(n_frames=n, n_above_threshold=s_only,
                                                     n_agree=n - s_only - l_only,
                                                     n_shadow_only=s_only, n_live_only=l_only)))
    return out


def store(sessions: sessionmaker[Session], rows: list[ShadowCount]) -> None:
    with sessions.begin() as s:
        add_shadow_counts(s, rows)
