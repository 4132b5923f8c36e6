"""Compact per-camera, per-UTC-hour score and luma histograms of every processed frame (for
drift and the audit features) — counts, not a row per frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from detector.sink import ScoreAggregate
from kernel.records import Detection

P_BINS = 20
LUMA_BINS = 16


@dataclass(slots=True)
class _Counts:
    n_frames: int = 0
    n_night: int = 0
    n_above: int = 0
    p_hist: np.ndarray = field(default_factory=lambda: np.zeros(P_BINS, dtype=np.int64))
    luma_hist: np.ndarray = field(default_factory=lambda: np.zeros(LUMA_BINS, dtype=np.int64))


def hour_of(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


class ScoreAggregator:
    """Accumulates counts in memory until `flush()`; `restore()` puts back rows that could not
    be stored so nothing is lost while the database is down."""

    def __init__(self) -> None:
        self._acc: dict[tuple[str, str, datetime], _Counts] = {}

    def __len__(self) -> int:
        return len(self._acc)

    def add(self, det: Detection, *, above_threshold: bool) -> None:
        f = det.frame
        c = self._acc.setdefault((f.camera_id, det.model_version, hour_of(f.captured_at)),
                                 _Counts())
        c.n_frames += 1
        c.n_night += int(f.is_night)
        c.n_above += int(above_threshold)
        c.p_hist[min(P_BINS - 1, int(det.p_bear * P_BINS))] += 1
        c.luma_hist[min(LUMA_BINS - 1, max(0, int(f.mean_luma * LUMA_BINS / 256.0)))] += 1

    def flush(self) -> list[ScoreAggregate]:
        """The accumulated rows; the aggregator starts empty again."""
        rows = [
            ScoreAggregate(camera_id=cam, model_version=ver, hour=hour, n_frames=c.n_frames,
                           n_night=c.n_night, n_above_threshold=c.n_above,
                           p_bear_counts=tuple(int(v) for v in c.p_hist),
                           luma_counts=tuple(int(v) for v in c.luma_hist))
            for (cam, ver, hour), c in sorted(self._acc.items())
        ]
        self._acc = {}
        return rows

    def restore(self, rows: list[ScoreAggregate]) -> None:
        """Merge rows back (after a failed store)."""
        for r in rows:
            c = self._acc.setdefault((r.camera_id, r.model_version, r.hour), _Counts())
            c.n_frames += r.n_frames
            c.n_night += r.n_night
            c.n_above += r.n_above_threshold
            c.p_hist += np.asarray(r.p_bear_counts, dtype=np.int64)
            c.luma_hist += np.asarray(r.luma_counts, dtype=np.int64)
