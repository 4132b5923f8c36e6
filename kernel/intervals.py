"""A rate with its counts and a Wilson 95 % score interval (DESIGN.md §4)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Z95 = 1.959963984540054


def wilson(successes: float, n: float, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion `successes / n`; (0, 1) when n == 0.

    `n` may be fractional (an effective sample size), as for weighted estimates.
    """
    if n <= 0:
        return 0.0, 1.0
    p = min(max(successes / n, 0.0), 1.0)
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _count(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


@dataclass(frozen=True, slots=True)
class Rate:
    """A proportion with its counts and 95 % interval.

    Attributes:
        numerator: events counted (float: a weighted estimate may be fractional).
        denominator: the base (float for the same reason).
        value: numerator / denominator, 0..1, or None when the denominator is 0.
        low, high: Wilson 95 % bounds, 0..1 (0 and 1 with no data).
        n_effective: the sample size the interval used (== denominator unless weighted).
    """

    numerator: float
    denominator: float
    value: float | None
    low: float
    high: float
    n_effective: float

    @classmethod
    def of(cls, numerator: float, denominator: float) -> Rate:
        """Unweighted rate with a Wilson interval on `denominator` trials."""
        low, high = wilson(numerator, denominator)
        value = numerator / denominator if denominator > 0 else None
        return cls(numerator, denominator, value, low, high, float(denominator))

    @classmethod
    def weighted(cls, numerator: float, denominator: float, *, sum_w: float, sum_w2: float) -> Rate:
        """A rate whose units carry weights (inverse sampling probabilities).

        The interval is Wilson's with Kish's effective sample size n_eff = (Σw)² / Σw² over
        the denominator's units, so heavy weights widen it honestly.
        """
        value = numerator / denominator if denominator > 0 else None
        n_eff = (sum_w * sum_w / sum_w2) if sum_w2 > 0 else 0.0
        if value is None or n_eff <= 0:
            return cls(numerator, denominator, value, 0.0, 1.0, n_eff)
        low, high = wilson(value * n_eff, n_eff)
        return cls(numerator, denominator, value, low, high, n_eff)

    def describe(self) -> str:
        """For people: `1.2 % (3 of 250), 95 % CI 0.4–3.5 %` (weighted counts may be
        fractional); `no data (0 of 0)` without a denominator."""
        if self.value is None:
            return f"no data ({_count(self.numerator)} of {_count(self.denominator)})"
        return (f"{100 * self.value:.1f} % ({_count(self.numerator)} of "
                f"{_count(self.denominator)}), 95 % CI "
                f"{100 * self.low:.1f}–{100 * self.high:.1f} %")

    def to_figures(self) -> dict[str, Any]:
        return {"numerator": self.numerator, "denominator": self.denominator, "value": self.value,
                "low": self.low, "high": self.high, "n_effective": self.n_effective}
