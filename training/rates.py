"""The figures of one slice of images at one threshold, as records: counts and rates
(`Figures`), the confusion matrix (`Confusion`), a threshold reaching a target recall
(`ThresholdPoint`); and `as_json`, how every figures record becomes its JSON.

Records whose JSON is their fields have `to_json = as_json(self)`; where a stored shape
differs from the fields, the record's `to_json` says how it reshapes `as_json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def as_json(record: Any) -> dict[str, Any]:
    """`dataclasses.asdict(record)` with tuples as lists: the value `json.loads` gives back
    for what `json.dumps` writes, so a document compares equal to the file it was read from.

    Args:
        record: a dataclass instance (nested dataclasses, dicts, lists and tuples inside).
    """
    doc: dict[str, Any] = _lists(asdict(record))
    return doc


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def ratio(num: int, den: int) -> float | None:
    """num / den, or None when den is 0 (a rate with nothing to measure)."""
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class Figures:
    """Counts and rates of one slice at one threshold; a rate with a zero denominator is None."""

    n_bear: int
    n_no_bear: int
    tp: int
    fp: int
    fn: int
    tn: int
    recall: float | None
    precision: float | None
    false_alarm_rate: float | None

    @classmethod
    def of(cls, truth: np.ndarray, scores: np.ndarray, threshold: float) -> Figures:
        pred = scores >= threshold
        tp = int((pred & truth).sum())
        fp = int((pred & ~truth).sum())
        fn = int((~pred & truth).sum())
        tn = int((~pred & ~truth).sum())
        return cls(n_bear=tp + fn, n_no_bear=fp + tn, tp=tp, fp=fp, fn=fn, tn=tn,
                   recall=ratio(tp, tp + fn), precision=ratio(tp, tp + fp),
                   false_alarm_rate=ratio(fp, fp + tn))

    def to_json(self) -> dict[str, Any]:
        """`asdict` less the four counts: class sizes and rates, the `bearwatch eval` shape
        (the counts are its `confusion`)."""
        doc = asdict(self)
        for count in ("tp", "fp", "fn", "tn"):
            del doc[count]
        return doc


@dataclass(frozen=True, slots=True, kw_only=True)
class Confusion:
    """The confusion matrix of one slice at one threshold: `matrix` rows are the truth,
    columns the prediction, both in `labels` order (bear first); the four counts besides
    (the same numbers, as the stored JSON has always had them)."""

    labels: tuple[str, str] = ("bear", "no_bear")
    rows: str = "truth"
    columns: str = "predicted"
    matrix: tuple[tuple[int, int], tuple[int, int]]
    tp: int
    fp: int
    fn: int
    tn: int

    def __post_init__(self) -> None:
        if self.matrix != ((self.tp, self.fn), (self.fp, self.tn)):
            raise ValueError(f"Confusion matrix {self.matrix} disagrees with tp={self.tp} "
                             f"fn={self.fn} fp={self.fp} tn={self.tn}; build it with "
                             "Confusion.of(figures)")

    @classmethod
    def of(cls, figures: Figures) -> Confusion:
        f = figures
        return cls(matrix=((f.tp, f.fn), (f.fp, f.tn)), tp=f.tp, fp=f.fp, fn=f.fn, tn=f.tn)

    def to_json(self) -> dict[str, Any]:
        return as_json(self)


@dataclass(frozen=True, slots=True)
class ThresholdPoint:
    """The highest threshold whose recall reaches the target, and what it costs."""

    threshold: float
    recall: float
    false_alarm_rate: float | None
