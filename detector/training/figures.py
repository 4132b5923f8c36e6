"""Binary classification figures from labels and scores (pure numpy).

Conventions: `is_bear` is a bool array, `p_bear` a float array 0..1 of the same length; a
frame alerts when p_bear >= threshold. A figure with no denominator is None, never 0 — "no
night bears to find" is not "found none".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class BinaryStats:
    """Counts and rates at one threshold.

    recall = tp / (tp + fn); precision = tp / (tp + fp);
    false_alarm_rate = fp / (fp + tn) (share of no-bear images that would alert).
    """

    threshold: float
    n_bear: int
    n_no_bear: int
    tp: int
    fp: int
    fn: int
    tn: int
    recall: float | None
    precision: float | None
    false_alarm_rate: float | None

    def to_json(self) -> dict[str, float | int | None]:
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def binary_stats(is_bear: np.ndarray, p_bear: np.ndarray, threshold: float) -> BinaryStats:
    """Confusion counts and rates of `p_bear >= threshold` against `is_bear`."""
    y = np.asarray(is_bear, dtype=bool)
    hit = np.asarray(p_bear, dtype=np.float64) >= threshold
    tp, fp = int(np.sum(hit & y)), int(np.sum(hit & ~y))
    fn, tn = int(np.sum(~hit & y)), int(np.sum(~hit & ~y))
    return BinaryStats(threshold=float(threshold), n_bear=tp + fn, n_no_bear=fp + tn,
                       tp=tp, fp=fp, fn=fn, tn=tn, recall=_ratio(tp, tp + fn),
                       precision=_ratio(tp, tp + fp), false_alarm_rate=_ratio(fp, fp + tn))


def threshold_for_recall(is_bear: np.ndarray, p_bear: np.ndarray, target: float
                         ) -> float | None:
    """The highest threshold whose recall is >= `target` (0..1); None without bears."""
    y = np.asarray(is_bear, dtype=bool)
    bears = np.sort(np.asarray(p_bear, dtype=np.float64)[y])[::-1]
    if bears.size == 0:
        return None
    need = int(np.ceil(target * bears.size - 1e-9))
    return float(bears[max(need, 1) - 1])


def threshold_for_false_alarm(is_bear: np.ndarray, p_bear: np.ndarray, max_rate: float
                              ) -> float | None:
    """The lowest threshold whose false-alarm rate is <= `max_rate`: the most recall one can
    buy at that false-alarm budget. None without no-bear images."""
    y = np.asarray(is_bear, dtype=bool)
    neg = np.sort(np.asarray(p_bear, dtype=np.float64)[~y])[::-1]
    if neg.size == 0:
        return None
    allowed = int(np.floor(max_rate * neg.size + 1e-9))
    if allowed >= neg.size:
        return 0.0
    # Strictly above the (allowed+1)-th highest negative score.
    return float(np.nextafter(neg[allowed], np.inf))


@dataclass(frozen=True, slots=True)
class PrCurve:
    """Precision and recall at every distinct score used as threshold (descending)."""

    thresholds: tuple[float, ...]
    precision: tuple[float, ...]
    recall: tuple[float, ...]


def pr_curve(is_bear: np.ndarray, p_bear: np.ndarray) -> PrCurve:
    """The precision–recall curve; empty when there are no bears."""
    y = np.asarray(is_bear, dtype=bool)
    p = np.asarray(p_bear, dtype=np.float64)
    if not y.any():
        return PrCurve((), (), ())
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    tp, fp = np.cumsum(ys), np.cumsum(~ys)
    last = np.r_[np.nonzero(np.diff(ps))[0], ps.size - 1]  # last index of each distinct score
    return PrCurve(thresholds=tuple(float(x) for x in ps[last]),
                   precision=tuple(float(x) for x in tp[last] / (tp[last] + fp[last])),
                   recall=tuple(float(x) for x in tp[last] / y.sum()))
