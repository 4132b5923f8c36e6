"""Synthetic domain shift for drift-watch tests: a model version with a daylight training
reference, and hourly score aggregates of cameras that look like it or have darkened."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from db.model_versions import ModelVersionInfo, register_version
from db.models import ScoreAggregate
from kernel.drift import LUMA_EDGES, SCORE_EDGES, Histogram

VERSION = "bw-drift-test"
DAY_LUMA, DARK_LUMA = 120.0, 40.0


def _luma(rng: np.random.Generator, mean: float, n: int) -> np.ndarray:
    return np.clip(rng.normal(mean, 25, n), 0, 255)


def register_reference(session: Session, rng: np.random.Generator, *, at: datetime) -> None:
    """A model version whose training reference is daylight luma and mostly low scores."""
    ref = {"score": Histogram.of(rng.beta(0.5, 4, 400), SCORE_EDGES).to_json(),
           "luma": Histogram.of(_luma(rng, DAY_LUMA, 400), LUMA_EDGES).to_json()}
    register_version(session, ModelVersionInfo(id=VERSION, kind="fastai", created_at=at,
                                               path=f"/m/{VERSION}.pkl", sha256="b" * 64,
                                               metrics={"reference": ref}), actor="test")


def hours_of(rng: np.random.Generator, camera: str, *, until: datetime, hours: int = 12,
             per_hour: int = 30, luma: float = DAY_LUMA) -> list[ScoreAggregate]:
    """`hours` hourly aggregate rows ending at `until`, scores as in training, luma around
    `luma` (DARK_LUMA: a fogged lens or a failed IR lamp)."""
    last = until.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    rows = []
    for h in range(hours):
        p = Histogram.of(rng.beta(0.5, 4, per_hour), SCORE_EDGES)
        lum = Histogram.of(_luma(rng, luma, per_hour), LUMA_EDGES)
        rows.append(ScoreAggregate(camera_id=camera, model_version=VERSION,
                                   hour=last - timedelta(hours=h), n_frames=per_hour, n_night=0,
                                   n_above_threshold=0,
                                   p_bear_hist={"counts": [int(c) for c in p.counts]},
                                   luma_hist={"counts": [int(c) for c in lum.counts]}))
    return rows
