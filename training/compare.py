"""Score the held-out split with two models (a candidate and the one it would replace) and
compute the figures that decide between them.

The JSON of one model follows `bearwatch eval` (issue 4): `threshold`, `overall`, `by_light`
(`day`, `night`, plus `infrared`: greyscale images whatever the manifest says), `confusion`,
`threshold_for_recall_95`, `worst`. The comparison adds recall at equal false-alarm rates,
per light, which is fair to both models whatever their score calibration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from training.cache import load_rgb
from training.evaluation import LabelledImage, Mistake, ScoredImage, evaluate
from training.export import read_split
from training.figures import threshold_for_false_alarm
from training.items import Box
from training.rates import Confusion, Figures, ThresholdPoint, as_json

# Mean |R-G| + |G-B| below this (0..255 scale) is a greyscale, infrared-like image.
INFRARED_CHROMA_MAX = 4.0
# Stills are scored from copies at most this many px on the long side (the model sees
# 160–224 px; full 2048-px decodes would only cost time).
LOAD_MAX_SIDE = 1024
FAR_BUDGETS = (0.05, 0.1, 0.2)
N_WORST = 10


class ImageScorer(Protocol):
    """What a detector `Model` offers for stills: p_bear per HxWx3 uint8 RGB image."""

    version: str

    def score_images(self, images: Sequence[np.ndarray]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class HeldOut:
    """The held-out images: parallel tuples. `light` is the manifest's day/night;
    `infrared` is measured on the image."""

    refs: tuple[str, ...]
    paths: tuple[Path, ...]
    is_bear: np.ndarray
    light: np.ndarray
    infrared: np.ndarray
    crops: tuple[Box | None, ...] = ()

    def image(self, i: int, *, max_side: int = LOAD_MAX_SIDE) -> np.ndarray:
        """Held-out image `i` (its crop where it is one) as HxWx3 uint8 RGB."""
        crop = self.crops[i] if self.crops else None
        return load_rgb(self.paths[i], max_side=max_side, crop=crop)

    def __len__(self) -> int:
        return len(self.refs)

    def subsets(self) -> dict[str, np.ndarray]:
        """Masks: overall, day, night, infrared (images may be in night and infrared)."""
        return {"day": self.light == "day", "night": self.light != "day",
                "infrared": self.infrared}


def is_infrared_image(rgb: np.ndarray) -> bool:
    """Near-zero chroma: a greyscale (infrared or monochrome) frame."""
    x = rgb[::4, ::4].astype(np.int16)
    chroma = np.abs(x[..., 0] - x[..., 1]) + np.abs(x[..., 1] - x[..., 2])
    return float(chroma.mean()) < INFRARED_CHROMA_MAX


def load_heldout(split_path: Path) -> HeldOut:
    """The held-out items of a `<version>.split.json`, with the infrared flag measured."""
    rows = read_split(split_path)
    paths = tuple(Path(r["path"]) for r in rows)
    crops = tuple(_box(r.get("crop")) for r in rows)
    return HeldOut(refs=tuple(r["ref"] for r in rows), paths=paths,
                   is_bear=np.array([r["label"] == "bear" for r in rows], dtype=bool),
                   light=np.array([r["light"] for r in rows]),
                   infrared=np.array([is_infrared_image(load_rgb(p, max_side=256, crop=c))
                                      for p, c in zip(paths, crops, strict=True)], dtype=bool),
                   crops=crops)


def _box(value: object) -> Box | None:
    if not value:
        return None
    x, y, w, h = (int(v) for v in value)  # type: ignore[attr-defined]
    return x, y, w, h


def score_heldout(model: ImageScorer, heldout: HeldOut, *, batch_size: int = 16,
                  progress: Callable[[int, int, float], None] | None = None) -> np.ndarray:
    """p_bear of each held-out image through the model's own serving path."""
    out: list[np.ndarray] = []
    start = time.monotonic()
    for i in range(0, len(heldout), batch_size):
        images = [heldout.image(j) for j in range(i, min(i + batch_size, len(heldout)))]
        out.append(np.asarray(model.score_images(images), dtype=np.float64))
        if progress is not None:
            progress(min(i + batch_size, len(heldout)), len(heldout), time.monotonic() - start)
    return np.concatenate(out) if out else np.zeros(0)


@dataclass(frozen=True, slots=True)
class ModelReport:
    """One model on the held-out images (`bearwatch eval-report`): the `bearwatch eval`
    figures at `threshold`, with every count, per light including `infrared`, and the scores.

    Attributes:
        overall, by_light: figures with their counts; `by_light` holds `day`, `night` (the
            manifest's) and `infrared` (greyscale images, measured).
        images: every held-out image's p_bear (6 decimals); `n_images` of them.
        p_bear: the same scores at 5 decimals, in held-out order (what the HTML report plots).
    """

    model_version: str
    threshold: float
    overall: Figures
    by_light: dict[str, Figures]
    confusion: Confusion
    threshold_for_recall_95: ThresholdPoint | None
    worst: tuple[Mistake, ...]
    n_images: int
    images: tuple[ScoredImage, ...]
    skipped: tuple[str, ...]
    p_bear: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.n_images != len(self.images):
            raise ValueError(f"ModelReport of {self.model_version}: n_images={self.n_images} "
                             f"but {len(self.images)} images listed")

    def to_json(self) -> dict[str, Any]:
        return as_json(self)


@dataclass(frozen=True, slots=True)
class RecallAtBudget:
    """One model at its own threshold (5 decimals) that keeps its false-alarm rate within a
    budget: recall (tp of n_bear) and false-alarm rate (fp of n_no_bear) there, 0..1."""

    threshold: float
    recall: float | None
    tp: int
    n_bear: int
    false_alarm_rate: float | None
    fp: int
    n_no_bear: int


@dataclass(frozen=True, slots=True)
class BudgetRow:
    """Each model (by version, in the order given) at one false-alarm budget (0..1); None
    where no threshold keeps the model within it."""

    max_false_alarm_rate: float
    by_model: dict[str, RecallAtBudget | None]

    def to_json(self) -> dict[str, Any]:
        """`as_json` with `by_model` spread into the row, one key per model version (the
        stored shape: `{"max_false_alarm_rate": 0.05, "<version>": {...} | null, ...}`)."""
        return {"max_false_alarm_rate": self.max_false_alarm_rate,
                **{v: None if r is None else as_json(r) for v, r in self.by_model.items()}}


@dataclass(frozen=True, slots=True)
class BudgetSlice:
    """The budget rows of one slice of images (overall or a light) and its class sizes."""

    n_bear: int
    n_no_bear: int
    rows: tuple[BudgetRow, ...]

    def to_json(self) -> dict[str, Any]:
        """`as_json` with each row as `BudgetRow.to_json`."""
        return as_json(self) | {"rows": [r.to_json() for r in self.rows]}


@dataclass(frozen=True, slots=True)
class EqualFalseAlarmRecall:
    """Recall at equal false-alarm rates: the budget rows of each slice (`overall`, `day`,
    `night`, `infrared`), fair to models whatever their score calibration."""

    slices: dict[str, BudgetSlice]

    def to_json(self) -> dict[str, Any]:
        """The slices themselves, by name (the stored shape has no `slices` level)."""
        return {name: s.to_json() for name, s in self.slices.items()}


@dataclass(frozen=True, slots=True)
class HeldOutComparison:
    """A candidate against the model it would replace on the same held-out images (the
    `bearwatch eval-report` document; `render_report` draws it).

    Attributes:
        split: the split file the images came from (None: a labelled set, not a split).
        baseline: None when the candidate is reported alone.
    """

    split: str | None
    candidate: ModelReport
    baseline: ModelReport | None
    recall_at_equal_false_alarm_rate: EqualFalseAlarmRecall

    @property
    def reports(self) -> tuple[ModelReport, ...]:
        """The candidate, then the baseline where there is one."""
        return (self.candidate,) if self.baseline is None else (self.candidate, self.baseline)

    def to_json(self) -> dict[str, Any]:
        """The fields, each part as its own `to_json` (the table spreads its rows)."""
        return {"split": self.split, "candidate": self.candidate.to_json(),
                "baseline": None if self.baseline is None else self.baseline.to_json(),
                "recall_at_equal_false_alarm_rate":
                    self.recall_at_equal_false_alarm_rate.to_json()}


def model_report(heldout: HeldOut, p_bear: np.ndarray, *, version: str,
                 threshold: float = 0.5) -> ModelReport:
    """The `bearwatch eval` figures (`evaluate`) of one model on the held-out images, with
    `by_light.infrared`, the counts behind each rate and the scores themselves."""
    y = heldout.is_bear
    images = [LabelledImage(path=heldout.paths[i], is_bear=bool(y[i]), light=str(heldout.light[i]),
                            name=heldout.refs[i]) for i in range(len(heldout))]
    report = evaluate(images, p_bear, threshold=threshold, model_version=version,
                      n_worst=N_WORST)
    return ModelReport(
        model_version=report.model_version, threshold=report.threshold, overall=report.overall,
        by_light={name: Figures.of(y[mask], p_bear[mask], threshold)
                  for name, mask in heldout.subsets().items()},
        confusion=report.confusion, threshold_for_recall_95=report.threshold_for_recall_95,
        worst=report.worst, n_images=len(report.images), images=report.scored_images,
        skipped=report.skipped, p_bear=tuple(round(float(p), 5) for p in p_bear))


def recall_at_equal_false_alarms(heldout: HeldOut, scores: dict[str, np.ndarray], *,
                                 budgets: Sequence[float] = FAR_BUDGETS
                                 ) -> EqualFalseAlarmRecall:
    """For each light and false-alarm budget: each model's recall at its own threshold that
    keeps the false-alarm rate within the budget (with the counts behind it)."""
    y = heldout.is_bear
    slices: dict[str, BudgetSlice] = {}
    for name, mask in {"overall": np.ones(len(heldout), bool), **heldout.subsets()}.items():
        rows = []
        for budget in budgets:
            by_model: dict[str, RecallAtBudget | None] = {}
            for version, p in scores.items():
                t = threshold_for_false_alarm(y[mask], p[mask], budget)
                by_model[version] = None if t is None else _at(Figures.of(y[mask], p[mask], t), t)
            rows.append(BudgetRow(max_false_alarm_rate=budget, by_model=by_model))
        slices[name] = BudgetSlice(n_bear=int(y[mask].sum()), n_no_bear=int((~y[mask]).sum()),
                                   rows=tuple(rows))
    return EqualFalseAlarmRecall(slices=slices)


def _at(f: Figures, threshold: float) -> RecallAtBudget:
    return RecallAtBudget(threshold=round(threshold, 5), recall=f.recall, tp=f.tp,
                          n_bear=f.n_bear, false_alarm_rate=f.false_alarm_rate, fp=f.fp,
                          n_no_bear=f.n_no_bear)
