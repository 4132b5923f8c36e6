"""A shadow model (issue 7): in the zones that run it, it scores the same frames as the live
model, and only counts how it compares — it never reaches the encounter tracker, so it raises
no alert. Counts are kept per camera, UTC hour and day/night until flushed to the sink."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from detector.aggregates import hour_of
from detector.model import Model
from detector.proposals import WHOLE_FRAME_ONLY, ProposalRules, score_with_regions
from kernel.records import Frame, ShadowCount, ShadowFigures

log = logging.getLogger("detector")

# (camera, zone, hour, is_night): the grain of a `ShadowCount`.
_Key = tuple[str, str, datetime, bool]


@dataclass(frozen=True, slots=True)
class ShadowSetup:
    """The shadow model and the zones that run it now (re-read every batch, so an admin's
    assignment takes effect without a restart)."""

    model: Model
    zones: Callable[[], frozenset[str]]


class ShadowScorer:
    """Scores frames of the shadow zones with the shadow model and counts the comparison.
    The shadow sees the same regions as the live model, so the two are compared like for
    like."""

    def __init__(self, setup: ShadowSetup, proposals: ProposalRules = WHOLE_FRAME_ONLY) -> None:
        self.model = setup.model
        self.proposals = proposals
        self.zones = setup.zones
        self.failures = 0
        self._acc: dict[_Key, ShadowFigures] = {}

    def observe(self, frames: Sequence[Frame], live: np.ndarray,
                threshold: Callable[[str], float]) -> int:
        """Score the frames of shadow zones and count them; returns how many were scored.

        A failing shadow model is logged and skipped: it must never stop the live model.
        """
        zones = self.zones()
        picked = [i for i, f in enumerate(frames) if f.zone_id in zones]
        if not picked:
            return 0
        try:
            shadow = [s.p_bear for s in score_with_regions(
                self.model, [frames[i] for i in picked], self.proposals)]
        except Exception as exc:  # any model failure: the shadow is optional, the live loop is not
            self.failures += 1
            log.warning("shadow model failed; its frames are not counted", extra={
                "model_version": self.model.version, "frames": len(picked), "error": repr(exc)})
            return 0
        for i, p in zip(picked, shadow, strict=True):
            f = frames[i]
            t = threshold(f.zone_id)
            s_above, l_above = float(p) >= t, float(live[i]) >= t
            self._add((f.camera_id, f.zone_id, hour_of(f.captured_at), f.is_night),
                      ShadowFigures(n_frames=1, n_agree=int(s_above == l_above),
                                    n_shadow_only=int(s_above and not l_above),
                                    n_live_only=int(l_above and not s_above),
                                    n_above_threshold=int(s_above)))
        return len(picked)

    def flush(self) -> list[ShadowCount]:
        """The accumulated rows; the scorer starts empty again."""
        rows = [ShadowCount(camera_id=cam, zone_id=zone, model_version=self.model.version,
                            hour=hour, is_night=night, figures=counts)
                for (cam, zone, hour, night), counts in self._acc.items()]
        self._acc = {}
        return rows

    def restore(self, rows: Sequence[ShadowCount]) -> None:
        """Merge rows back (after a failed store)."""
        for r in rows:
            self._add((r.camera_id, r.zone_id, r.hour, r.is_night), r.figures)

    def _add(self, key: _Key, counts: ShadowFigures) -> None:
        self._acc[key] = self._acc.get(key, ShadowFigures()) + counts
