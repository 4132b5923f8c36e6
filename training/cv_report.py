"""The leave-one-source-out figures: recall and false alarms at equal false-alarm rates, by
source, camera, light, bear size, per frame and per visit, each with its counts and a Wilson
95 % interval (DESIGN.md §4).

Each model is taken at its own threshold per false-alarm budget: the lowest threshold whose
false-alarm rate over all pooled out-of-fold no-bear frames is within the budget. Recall at
equal false-alarm rates is fair to models whose scores are calibrated differently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.stats import binomtest

from training.crossval import EvalFrame, Fold
from training.figures import threshold_for_false_alarm

BUDGETS = (0.01, 0.05)
SIZE_BINS = ((0, 32, "under 32 px"), (32, 64, "32-63 px"), (64, 10**9, "64 px and more"))
WHOLE_PHOTO = "no box (bear fills the photo)"


@dataclass(frozen=True, slots=True)
class Count:
    """hits of n, the rate and its Wilson 95 % interval (rate None and (0, 1) when n = 0)."""

    hits: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.hits / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float]:
        if not self.n:
            return 0.0, 1.0
        ci = binomtest(self.hits, self.n).proportion_ci(method="wilson")
        return float(ci.low), float(ci.high)

    def to_json(self) -> dict[str, Any]:
        low, high = self.interval
        return {"hits": self.hits, "n": self.n, "rate": self.rate,
                "ci95": [round(low, 4), round(high, 4)]}

    def text(self) -> str:
        if not self.n:
            return "-"
        low, high = self.interval
        rate = 100 * self.hits / self.n
        return f"{self.hits}/{self.n} ({rate:.0f}%, {100 * low:.0f}-{100 * high:.0f})"


@dataclass(frozen=True, slots=True)
class SliceRow:
    """One slice of frames (or visits): bears caught and false alarms at the threshold."""

    name: str
    recall: Count
    false_alarms: Count


@dataclass(frozen=True, slots=True)
class ModelTable:
    """One model at one false-alarm budget."""

    model: str
    budget: float
    threshold: float
    rows: tuple[SliceRow, ...]

    def row(self, name: str) -> SliceRow | None:
        return next((r for r in self.rows if r.name == name), None)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A candidate's recall against the baseline's on one held-out slice at one budget (at
    equal overall false-alarm rates, false alarms only move between slices, so recall is
    what can be won or lost per slice)."""

    model: str
    slice: str
    budget: float
    candidate: Count
    baseline: Count

    @property
    def worse(self) -> bool:
        return self.candidate.hits < self.baseline.hits


@dataclass(frozen=True, slots=True)
class CrossValReport:
    """Every model's tables, the folds, and the candidate-vs-baseline comparisons."""

    folds: tuple[Fold, ...]
    tables: tuple[ModelTable, ...]
    comparisons: tuple[Comparison, ...]
    baseline: str
    frames: tuple[EvalFrame, ...]
    scores: dict[str, np.ndarray]
    known_scene: tuple[ModelTable, ...] = ()

    def table(self, model: str, budget: float) -> ModelTable:
        return next(t for t in self.tables if t.model == model and t.budget == budget)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": "leave-one-source-out: every source with bears is its own fold; sources "
                      "without bears are grouped; thresholds per model at each false-alarm "
                      "budget over the pooled out-of-fold no-bear frames",
            "folds": [list(f.sources) for f in self.folds],
            "baseline": self.baseline,
            "tables": [{"model": t.model, "max_false_alarm_rate": t.budget,
                        "threshold": round(t.threshold, 6),
                        "rows": [{"slice": r.name, "recall": r.recall.to_json(),
                                  "false_alarms": r.false_alarms.to_json()} for r in t.rows]}
                       for t in self.tables],
            "known_scene": {
                "method": "leave one visit out: the model trained on every source and on the "
                          "other visits of the same camera, at the thresholds above",
                "tables": [{"model": t.model, "max_false_alarm_rate": t.budget,
                            "threshold": round(t.threshold, 6),
                            "rows": [{"slice": r.name, "recall": r.recall.to_json()}
                                     for r in t.rows if r.recall.n]}
                           for t in self.known_scene]},
            "worse_than_baseline": [
                {"model": c.model, "slice": c.slice, "max_false_alarm_rate": c.budget,
                 "what": "recall",
                 "candidate": c.candidate.to_json(), "baseline": c.baseline.to_json()}
                for c in self.comparisons if c.worse],
            "frames": [{"file": f.ref, "label": "bear" if f.is_bear else "no_bear",
                        "light": f.light, "source": f.source, "visit": f.visit,
                        "bear_px": f.bear_px, "regions": len(f.views) - 1,
                        **{m: round(float(s[k]), 6) for m, s in self.scores.items()}}
                       for k, f in enumerate(self.frames)],
        }


def _size(frame: EvalFrame) -> str:
    if frame.bear_px is None:
        return WHOLE_PHOTO
    return next(name for lo, hi, name in SIZE_BINS if lo <= frame.bear_px < hi)


def _where(field: str, value: str) -> Callable[[EvalFrame], bool]:
    return lambda f: bool(getattr(f, field) == value)


def _bears_of_size(size: str) -> Callable[[EvalFrame], bool]:
    return lambda f: f.is_bear and _size(f) == size


def slices(frames: Sequence[EvalFrame]) -> list[tuple[str, Callable[[EvalFrame], bool]]]:
    """The named slices, in report order: all, light, source, camera, bear size."""
    out: list[tuple[str, Callable[[EvalFrame], bool]]] = [("all", lambda f: True)]
    for light in sorted({f.light for f in frames}):
        out.append((f"light={light}", _where("light", light)))
    for source in sorted({f.source for f in frames}):
        out.append((f"source={source}", _where("source", source)))
    cameras = sorted({f.camera for f in frames})
    if len(cameras) > len({f.source for f in frames}):
        for camera in cameras:
            out.append((f"camera={camera}", _where("camera", camera)))
    for size in [*(name for _, _, name in SIZE_BINS), WHOLE_PHOTO]:
        if any(f.is_bear and _size(f) == size for f in frames):
            out.append((f"bear size={size}", _bears_of_size(size)))
    return out


def _rows(frames: Sequence[EvalFrame], scores: np.ndarray, threshold: float
          ) -> list[SliceRow]:
    hit = scores >= threshold
    rows = []
    for name, keep in slices(frames):
        sel = [k for k, f in enumerate(frames) if keep(f)]
        bears = [k for k in sel if frames[k].is_bear]
        others = [k for k in sel if not frames[k].is_bear]
        rows.append(SliceRow(name, Count(int(hit[bears].sum()), len(bears)),
                             Count(int(hit[others].sum()), len(others))))
    visits: dict[tuple[str, bool], list[int]] = {}
    for k, f in enumerate(frames):
        visits.setdefault((f.visit, f.is_bear), []).append(k)
    bear_visits = [ks for (_, b), ks in visits.items() if b]
    empty_visits = [ks for (_, b), ks in visits.items() if not b]
    rows.append(SliceRow("per visit (any frame)",
                         Count(sum(bool(hit[ks].any()) for ks in bear_visits), len(bear_visits)),
                         Count(sum(bool(hit[ks].any()) for ks in empty_visits),
                               len(empty_visits))))
    return rows


def cross_val_report(frames: Sequence[EvalFrame], folds: Sequence[Fold],
                     scores: dict[str, np.ndarray], *, baseline: str,
                     budgets: Sequence[float] = BUDGETS) -> CrossValReport:
    """Tables for every model in `scores` (p_bear per frame, `frames` order) at each budget,
    and every slice where a model does worse than `baseline` at equal false-alarm rates.

    Raises:
        ValueError: a score array of the wrong length, or no no-bear frames.
    """
    truth = np.array([f.is_bear for f in frames], dtype=bool)
    tables = []
    for model, s in scores.items():
        if len(s) != len(frames):
            raise ValueError(f"{model}: {len(s)} scores for {len(frames)} frames")
        for budget in budgets:
            threshold = threshold_for_false_alarm(truth, s, budget)
            if threshold is None:
                raise ValueError("cross_val_report needs no-bear frames to set thresholds")
            tables.append(ModelTable(model, budget, threshold,
                                     tuple(_rows(frames, s, threshold))))
    comparisons = []
    for t in tables:
        if t.model == baseline:
            continue
        base = next(b for b in tables if b.model == baseline and b.budget == t.budget)
        for row in t.rows:
            other = base.row(row.name)
            if other is None:
                continue
            if row.recall.n:
                comparisons.append(Comparison(t.model, row.name, t.budget, row.recall,
                                              other.recall))
    return CrossValReport(folds=tuple(folds), tables=tuple(tables),
                          comparisons=tuple(comparisons), baseline=baseline,
                          frames=tuple(frames), scores=dict(scores))


@dataclass(frozen=True, slots=True)
class SideBySide:
    """Every model's table at one budget, and per slice each model's row (report order)."""

    tables: tuple[ModelTable, ...]
    rows: tuple[tuple[str, tuple[SliceRow, ...]], ...]


def side_by_side(report: CrossValReport, budget: float, *, cameras: bool = True
                 ) -> SideBySide:
    """The models' rows at `budget` aligned by slice (without the camera slices unless
    `cameras`): what the text, Markdown and HTML tables show."""
    models = list(dict.fromkeys(t.model for t in report.tables))
    tables = tuple(report.table(m, budget) for m in models)
    rows = []
    for row in tables[0].rows:
        if not cameras and row.name.startswith("camera="):
            continue
        cells = tuple(t.row(row.name) for t in tables)
        rows.append((row.name, tuple(r for r in cells if r is not None)))
    return SideBySide(tables=tables, rows=tuple(rows))


def text_table(report: CrossValReport, *, budget: float, width: int = 44) -> str:
    """The models side by side at one budget: recall (bear slices) and false alarms. Camera
    slices are left to the JSON and HTML: too many for a terminal."""
    view = side_by_side(report, budget, cameras=False)
    head = f"{'slice (recall | false alarms)':<{width}}" + "".join(
        f"{t.model + f' t={t.threshold:.3f}':<40}" for t in view.tables)
    lines = [f"at a false-alarm rate <= {budget:.0%} (pooled out-of-fold no-bear frames)", head]
    for name, cells in view.rows:
        lines.append(f"{name[:width - 1]:<{width}}" + "".join(
            f"{f'{r.recall.text()} | {r.false_alarms.text()}':<40}" for r in cells))
    return "\n".join(lines)


def with_known_scene(report: CrossValReport, frames: Sequence[EvalFrame], scores: np.ndarray,
                     *, model: str) -> CrossValReport:
    """`report` plus `model`'s recall on `frames` scored by leave-one-visit-out folds (a
    camera it has seen, a visit it has not), at its leave-one-source-out thresholds."""
    if len(frames) != len(scores):
        raise ValueError(f"{len(scores)} scores for {len(frames)} frames")
    tables = tuple(ModelTable(model, t.budget, t.threshold,
                              tuple(_rows(frames, np.asarray(scores), t.threshold)))
                   for t in report.tables if t.model == model)
    return replace(report, known_scene=tables)
