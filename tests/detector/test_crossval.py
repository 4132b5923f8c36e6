"""Leave-one-source-out cross-validation: folds by source, no fold ever trains on what it
scores, the figures at equal false-alarm rates (checked against hand-worked counts and Wilson
intervals), and the head fit (deterministic, pulled toward the zero-shot score)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from training import (
    CrossValData,
    EvalFrame,
    Fold,
    HeadRecipe,
    TrainItem,
    cross_val_report,
    out_of_fold,
    source_folds,
)
from training.features import View, ViewFeatures
from training.head_fit import fit_head


def _frame(ref: str, source: str, *, bear: bool, visit: str | None = None,
           views: tuple[int, ...] = (0,), light: str = "day") -> EvalFrame:
    return EvalFrame(ref=ref, is_bear=bear, light=light, source=source, camera=source,
                     visit=visit or ref, bear_px=None, views=views)


@pytest.mark.parametrize(("frames", "expected"), [
    # Each source with bears alone; bear-free sources in up to 3 groups, round-robin by name.
    ([("a", True), ("b", False), ("c", False), ("d", False), ("e", False)],
     [("a",), ("b", "e"), ("c",), ("d",)]),
    ([("a", True), ("z", True), ("b", False)], [("a",), ("z",), ("b",)]),
    ([("a", True), ("a", False)], [("a",)]),
])
def test_source_folds_table(frames: list[tuple[str, bool]], expected: list[tuple[str, ...]]
                            ) -> None:
    got = source_folds([_frame(f"{s}{i}", f"o/{s}", bear=b) for i, (s, b) in enumerate(frames)])
    assert [f.sources for f in got] == [tuple(f"o/{s}" for s in fold) for fold in expected]


@dataclass
class _RecordingFitter:
    """Scores a view by its index; remembers what each fold trained on and scored."""

    name: str = "recorder"
    calls: list[tuple[list[int], list[int]]] = field(default_factory=list)

    def __call__(self, data: CrossValData, train: Sequence[int], score: Sequence[int]
                 ) -> np.ndarray:
        self.calls.append((list(train), list(score)))
        return np.array([i / 100 for i in score])


def _item(source: str, name: str, label: str) -> TrainItem:
    return TrainItem(path=Path(f"/nowhere/{name}.jpg"), label=label, light="day",
                     group=f"{source}/{name}", source="manifest", ref=name)


def test_out_of_fold_never_trains_on_the_source_it_scores() -> None:
    items = [_item("o/a", "a1", "bear"), _item("o/a", "a2", "no_bear"),
             _item("o/b", "b1", "bear"), _item("o/c", "c1", "no_bear")]
    views = tuple(View(it) for it in items)
    data = CrossValData(views=views, features=ViewFeatures(np.zeros((4, 1280), np.float32),
                                                           np.zeros(4, np.float32)),
                        train_views=(0, 1, 2, 3),
                        frames=tuple(_frame(it.ref, it.group.rsplit("/", 1)[0],
                                            bear=it.label == "bear", views=(k,))
                                     for k, it in enumerate(items)))
    fit = _RecordingFitter()

    scores = out_of_fold(data, source_folds(data.frames), fit=fit)

    for train, scored in fit.calls:
        held = {data.frames[k].source for k in scored}
        assert not held & {views[i].item.group.rsplit("/", 1)[0] for i in train}
    assert scores.tolist() == [0.0, 0.01, 0.02, 0.03]  # every frame scored once, by its fold


def test_cross_val_report_hand_worked_figures() -> None:
    frames = [_frame("a1", "A", bear=True, visit="va1"), _frame("a2", "A", bear=True, visit="va1"),
              _frame("a3", "A", bear=True, visit="va2"), _frame("c1", "C", bear=True),
              *(_frame(f"b{i}", "B", bear=False) for i in range(4)), _frame("c2", "C", bear=False)]
    model = np.array([0.9, 0.4, 0.7, 0.2, 0.1, 0.3, 0.5, 0.6, 0.05])
    zero = np.array([0.95, 0.8, 0.3, 0.6, 0.2, 0.1, 0.4, 0.7, 0.0])

    report = cross_val_report(frames, [Fold(("A",)), Fold(("B",)), Fold(("C",))],
                              {"zero-shot": zero, "m": model}, baseline="zero-shot",
                              budgets=(0.2,))

    # 5 no-bear frames, budget 0.2 -> 1 false alarm allowed: the threshold sits just above the
    # second-highest no-bear score (m: 0.5; zero-shot: 0.4).
    m = report.table("m", 0.2)
    assert m.threshold == np.nextafter(0.5, 1)
    rows = {r.name: r for r in m.rows}
    # Bears at or above it: 0.9 and 0.7 of (0.9, 0.4, 0.7, 0.2) -> 2 of 4; no-bear: 0.6 -> 1 of 5.
    assert (rows["all"].recall.hits, rows["all"].recall.n) == (2, 4)
    assert (rows["all"].false_alarms.hits, rows["all"].false_alarms.n) == (1, 5)
    # Wilson 95 % for 2/4: centre (0.5 + z²/8) / (1 + z²/4) = 0.5,
    # half-width z * sqrt(0.25/4 + z²/64) / (1 + z²/4) = 0.35 -> (0.150, 0.850).
    assert rows["all"].recall.interval == pytest.approx((0.1500, 0.8500), abs=5e-4)
    assert (rows["source=A"].recall.hits, rows["source=A"].recall.n) == (2, 3)
    assert (rows["source=C"].recall.hits, rows["source=B"].false_alarms.hits) == (0, 1)
    # Visits: va1 (0.9) and va2 (0.7) caught, c1 (0.2) not.
    visits = rows["per visit (any frame)"]
    assert (visits.recall.hits, visits.recall.n) == (2, 3)
    # Zero-shot at its own threshold (> 0.4) catches 0.95, 0.8 and 0.6: m is worse overall and
    # on source C, not on A (2 of 3 each).
    worse = {c.slice for c in report.comparisons if c.worse and c.model == "m"}
    assert {"all", "source=C"} <= worse and "source=A" not in worse


def test_fit_head_deterministic_and_leans_on_the_zero_shot_score() -> None:
    rng = np.random.default_rng(1)
    n = 200
    zero_shot = rng.normal(size=n) * 3
    is_bear = zero_shot + rng.normal(size=n) > 0
    feats = ViewFeatures(rng.normal(size=(n, 1280)).astype(np.float32),
                         zero_shot.astype(np.float32))
    sources = ["s1" if i % 2 else "s2" for i in range(n)]

    a = fit_head(feats, is_bear, sources, recipe=HeadRecipe(c=0.001))
    b = fit_head(feats, is_bear, sources, recipe=HeadRecipe(c=0.001))

    assert a.weight.tobytes() == b.weight.tobytes() and a.zero_shot_weight == b.zero_shot_weight
    # Noise features earn almost nothing; the zero-shot logit carries the fit.
    assert a.zero_shot_weight > 0.5 and np.abs(a.weight).max() < 0.05


def test_head_recipe_bad_values_clear_error() -> None:
    with pytest.raises(ValueError, match="c and zero_shot_scale must be > 0"):
        HeadRecipe(c=0)
    with pytest.raises(ValueError, match="use the features, the zero-shot logit or both"):
        HeadRecipe(use_features=False, use_zero_shot=False)


def test_a_views_synthetic_look_is_seeded_by_the_photo_not_its_path_or_mtime(
        tmp_path: Path) -> None:
    """A clone elsewhere (CI's /check/…, a fresh copy of ../shared) must draw the same infrared
    noise, or `make model` rebuilds a different model there."""
    here, there = tmp_path / "a" / "bear.jpg", tmp_path / "b" / "copy.jpg"
    for path, mtime in ((here, 1_000_000_000), (there, 1_700_000_000)):
        path.parent.mkdir()
        path.write_bytes(b"same photo bytes")
        os.utime(path, (mtime, mtime))

    def view(path: Path, crop: tuple[int, int, int, int] | None = None) -> View:
        return View(TrainItem(path=path, label="bear", light="day", group="g", source="manifest",
                              ref=path.name, crop=crop), "infrared")

    assert view(here).seed == view(there).seed
    assert view(here).key != view(there).key  # the cache still tells the files apart
    assert view(here).seed != view(here, (0, 0, 8, 8)).seed
    there.write_bytes(b"other photo bytes")
    assert view(here).seed != view(there).seed
