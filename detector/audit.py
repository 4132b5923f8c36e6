"""The audit queue's sampler (DESIGN.md §4): a configured share of the frames that did not
alert is drawn for review, stratified by day/night and over-sampling scores near the threshold.

Within each stratum (day, night) a frame near the threshold (|p_bear − threshold| <= band) is
drawn `boost` times as often as a far one, and both probabilities are scaled so that the
stratum's expected share stays `share`: with f the stratum's running fraction of near frames,

    p_far = share / (1 − f + boost·f),   p_near = boost · p_far,

and when that makes p_near > 1: p_near = 1, p_far = (share − f) / (1 − f).

Each stratum uses its own f, so night frames get their share however rare they are. The
probability returned is the one the draw used, so weighting a sampled miss by 1/p is exact.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(slots=True)
class _Stratum:
    seen: int = 0
    near: int = 0

    def near_fraction(self) -> float:
        # One pseudo-observation of each kind keeps the first frames from extreme rates.
        return (self.near + 0.5) / (self.seen + 1.0)


class AuditSampler:
    """Decides which non-alert frames become audit samples.

    Args:
        share: expected share of non-alert frames sampled per stratum, 0..1.
        near_boost: over-sampling factor (>= 1) for scores near the threshold.
        near_band: half-width of the "near the threshold" band, in p_bear units.
        rng: the random source (inject a seeded one in tests).
    """

    def __init__(self, *, share: float, near_boost: float, near_band: float,
                 rng: random.Random) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"audit share must be within 0..1, got {share}")
        if near_boost < 1.0:
            raise ValueError(f"near_boost must be >= 1, got {near_boost}")
        self.share = share
        self.near_boost = near_boost
        self.near_band = near_band
        self.rng = rng
        self._strata = {False: _Stratum(), True: _Stratum()}

    def probability(self, p_bear: float, threshold: float, is_night: bool) -> float:
        """The sampling probability for such a frame now (0 when share is 0)."""
        if self.share == 0.0:
            return 0.0
        f = self._strata[is_night].near_fraction()
        p_far = self.share / (1.0 - f + self.near_boost * f)
        p_near = self.near_boost * p_far
        if p_near > 1.0:
            # Near frames saturate at 1; far frames take the rest of the share.
            p_near, p_far = 1.0, min(1.0, (self.share - f) / (1.0 - f))
        near = abs(p_bear - threshold) <= self.near_band
        return p_near if near else p_far

    def draw(self, p_bear: float, threshold: float, is_night: bool) -> float | None:
        """Account one non-alert frame; returns its sampling probability if it is sampled."""
        prob = self.probability(p_bear, threshold, is_night)
        st = self._strata[is_night]
        st.seen += 1
        st.near += abs(p_bear - threshold) <= self.near_band
        if prob > 0.0 and self.rng.random() < prob:
            return prob
        return None
