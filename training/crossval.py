"""Leave-one-source-out cross-validation: the figure the project tracks (issue 12).

A random split of the same photo sources flatters a model: near-identical frames of one camera
and one web site's style sit on both sides. Here every fold holds out whole photo sources; the
head is fitted on the other sources' views only and scores the held-out frames. Every source
that has bears is a fold of its own; sources without bears (they only measure false alarms)
are grouped into a few folds, round-robin by name, so a fold never has too few no-bear frames
to matter. Pooling each frame's out-of-fold score gives one score per frame from a model that
never saw its source, camera or scene.

A frame is scored as the detector scores it: the maximum of its whole image and its region
crops (changed regions of its burst, or none), each view's p_bear from the same head.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from detector.models import BearHead
from training.features import View, ViewFeatures
from training.head_fit import HeadRecipe, fit_head
from training.items import TrainItem

ZERO_SHOT = "zero-shot"


def source_of(item: TrainItem) -> str:
    """The photo source of an item: the manifest's `source_repo` (owner/name), `db/<camera>`
    for reviewed alerts and audit samples, `folder/<sub-folder>` for a plain folder."""
    return "/".join(item.group.split("/")[:2])


def camera_of(item: TrainItem) -> str:
    """The camera (or web-photo folder) of an item: its group without the sequence part."""
    return item.group.rsplit("/", 1)[0]


@dataclass(frozen=True, slots=True)
class EvalFrame:
    """One frame scored in cross-validation.

    Attributes:
        ref: manifest file (or `alert:<id>` …).
        is_bear, light: truth and light (`day` | `night` | `infrared`).
        source, camera: see `source_of`, `camera_of`.
        visit: the frame's sequence or burst (one bear visit = one alert).
        bear_px: the bear's longer side in px of the stored frame (boxes.csv), None when the
            frame has no box (web photos: the bear fills the frame).
        views: indices into the view list: the whole frame first, then its region crops.
    """

    ref: str
    is_bear: bool
    light: str
    source: str
    camera: str
    visit: str
    bear_px: int | None
    views: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.views:
            raise ValueError(f"EvalFrame {self.ref!r}: needs at least its whole-frame view")


@dataclass(frozen=True, slots=True)
class Fold:
    """What one fold holds out: whole sources, or single visits (sequences) of a source
    whose other visits stay in training (the known-scene figure: a camera the model has
    seen, a bear visit it has not)."""

    sources: tuple[str, ...] = ()
    visits: tuple[str, ...] = ()

    def holds(self, *, source: str, visit: str) -> bool:
        return source in self.sources or visit in self.visits


def visit_folds(frames: Sequence[EvalFrame], *, source: str) -> list[Fold]:
    """One fold per visit of `source` that has a bear (leave one visit out)."""
    return [Fold(visits=(v,)) for v in sorted({f.visit for f in frames
                                               if f.source == source and f.is_bear})]


def source_folds(frames: Sequence[EvalFrame], *, negative_folds: int = 3,
                 groups: int | None = None) -> list[Fold]:
    """One fold per source with bears, plus `negative_folds` folds of the no-bear-only
    sources (round-robin in name order). With `groups`, exactly that many folds instead,
    sources dealt round-robin (those with bears first, largest first), for recipes too slow
    to fit once per source; still no fold sees a source it scores."""
    with_bears = sorted({f.source for f in frames if f.is_bear})
    others = sorted({f.source for f in frames} - set(with_bears))
    if groups is not None:
        size = {s: sum(f.source == s for f in frames) for s in with_bears}
        order = [*sorted(with_bears, key=lambda s: (-size[s], s)), *others]
        dealt = [tuple(order[k::groups]) for k in range(groups)]
        return [Fold(d) for d in dealt if d]
    folds = [Fold((s,)) for s in with_bears]
    groups = max(1, min(negative_folds, len(others)))
    for k in range(groups):
        members = tuple(others[k::groups])
        if members:
            folds.append(Fold(members))
    return folds


@dataclass(frozen=True, slots=True)
class CrossValData:
    """What cross-validation runs on.

    Attributes:
        views: every view; `features` row i belongs to `views[i]`.
        train_views: indices of the labelled views a head may be fitted on (whole images,
            box crops, empty tiles and their looks; never an evaluation region crop).
        frames: the evaluation frames.
    """

    views: tuple[View, ...]
    features: ViewFeatures
    train_views: tuple[int, ...]
    frames: tuple[EvalFrame, ...]

    def __post_init__(self) -> None:
        if len(self.views) != self.features.features.shape[0]:
            raise ValueError(f"CrossValData: {len(self.views)} views but "
                             f"{self.features.features.shape[0]} feature rows")


class FoldFitter(Protocol):
    """Fits a model on some training views and returns p_bear (0..1) of the views asked for."""

    @property
    def name(self) -> str: ...

    def __call__(self, data: CrossValData, train: Sequence[int], score: Sequence[int]
                 ) -> np.ndarray: ...


def fit_on(data: CrossValData, indices: Sequence[int], *, recipe: HeadRecipe,
           version: str = "head") -> BearHead:
    """A head fitted on the given training views."""
    idx = np.asarray(indices, dtype=np.int64)
    views = [data.views[i] for i in idx]
    return fit_head(data.features.rows(idx), np.array([v.item.label == "bear" for v in views]),
                    [source_of(v.item) for v in views], recipe=recipe, version=version)


@dataclass(frozen=True, slots=True)
class HeadFitter:
    """The shipped model's recipe as a `FoldFitter` (cached features: milliseconds a fold)."""

    recipe: HeadRecipe
    name: str = "head"

    def __call__(self, data: CrossValData, train: Sequence[int], score: Sequence[int]
                 ) -> np.ndarray:
        head = fit_on(data, train, recipe=self.recipe)
        rows = data.features.rows(score)
        return head.p_bear(rows.features, rows.zero_shot)


def frame_scores(data: CrossValData, frames: Sequence[int], p_view: np.ndarray) -> np.ndarray:
    """Each frame's p_bear: the max over its views' p_bear."""
    return np.array([float(np.max(p_view[list(data.frames[i].views)])) for i in frames])


def out_of_fold(data: CrossValData, folds: Sequence[Fold], *, fit: FoldFitter,
                progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """p_bear of every frame from the model of the fold that held it out (NaN for a frame
    no fold holds out).

    Raises:
        ValueError: a fold leaves one class out of training.
    """
    scores = np.full(len(data.frames), np.nan)
    for k, fold in enumerate(folds):
        train = [i for i in data.train_views
                 if not fold.holds(source=source_of(data.views[i].item),
                                   visit=data.views[i].item.group)]
        test = [j for j, f in enumerate(data.frames) if fold.holds(source=f.source, visit=f.visit)]
        if test:
            needed = sorted({v for j in test for v in data.frames[j].views})
            p = np.zeros(len(data.views))
            p[needed] = fit(data, train, needed)
            scores[test] = frame_scores(data, test, p)
        if progress is not None:
            progress(k + 1, len(folds))
    return scores


def zero_shot_scores(data: CrossValData) -> np.ndarray:
    """The built-in model's p_bear per frame (max over the same views): the baseline."""
    p = 1.0 / (1.0 + np.exp(-data.features.zero_shot.astype(np.float64)))
    return frame_scores(data, range(len(data.frames)), p)
