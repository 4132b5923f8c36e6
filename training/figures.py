"""Threshold choices and curves from labels and scores (pure numpy), beside the counts and
rates of `training.rates` (`Figures`) and `training.evaluation` (`threshold_for_recall`).

Conventions: `is_bear` is a bool array, `p_bear` a float array 0..1 of the same length; a
frame alerts when p_bear >= threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def threshold_for_false_alarm(is_bear: np.ndarray, p_bear: np.ndarray, max_rate: float
                              ) -> float | None:
    """The lowest threshold whose false-alarm rate is <= `max_rate`: the most recall one can
    buy at that false-alarm budget. None without no-bear images."""
    y = np.asarray(is_bear, dtype=bool)
    p = np.asarray(p_bear)
    # The next value up in the scores' own precision: a float64 step above a float32 score
    # rounds back onto that score when compared with float32 scores, admitting it.
    dtype = p.dtype if np.issubdtype(p.dtype, np.floating) else np.dtype(np.float64)
    neg = np.sort(p.astype(dtype)[~y])[::-1]
    if neg.size == 0:
        return None
    allowed = int(np.floor(max_rate * neg.size + 1e-9))
    if allowed >= neg.size:
        return 0.0
    # Strictly above the (allowed+1)-th highest negative score.
    return float(np.nextafter(neg[allowed], dtype.type(np.inf)))


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
