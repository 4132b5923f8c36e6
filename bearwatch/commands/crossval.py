"""Leave-one-source-out cross-validation as `bearwatch eval --cross-validate` and `bearwatch
train --recipe default` run it: the data's views and frames (regions from the changed parts of
each burst, as the folder camera finds them), each recipe's out-of-fold scores, the report."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bearwatch.burst_regions import BurstRegions
from camera_ingest import ChangeRules
from kernel.config import BearwatchConfig

if TYPE_CHECKING:
    from training import CrossValData, CrossValReport, FoldFitter, HeadRecipe, TrainItem

RECIPES = ("head", "fastai")
HEAD = "shipped recipe (stacked head)"
FASTAI = "old recipe (fastai fine-tune)"


def crossval_data(cfg: BearwatchConfig, data: Path, *, extra: Sequence[TrainItem] = (),
                  cache_dir: Path) -> CrossValData:
    """The labelled folder `data` (plus `extra` reviewed images) as views and frames."""
    from detector import ProposalRules
    from training import build_crossval_data, load_labelled

    started = time.monotonic()
    out = build_crossval_data(
        [*load_labelled(data), *extra], [*load_labelled(data, box_crops=False), *extra],
        boxes_csv=data / "boxes.csv",
        find=BurstRegions(ChangeRules(), gap_s=cfg.training.burst_gap_s),
        rules=ProposalRules.from_config(cfg.detector.proposals), cache_dir=cache_dir)
    regions = sum(len(f.views) - 1 for f in out.frames)
    print(f"cross-validation data: {len(out.train_views)} training views, {len(out.frames)} "
          f"frames with {regions} changed-region crops ({time.monotonic() - started:.0f} s)",
          file=sys.stderr, flush=True)
    return out


def head_recipe(cfg: BearwatchConfig) -> HeadRecipe:
    """The shipped recipe's head fit as configured (`training.head_c`)."""
    from training import HeadRecipe

    return HeadRecipe(c=cfg.training.head_c)


def fitters(cfg: BearwatchConfig, recipes: Sequence[str], *, work_dir: Path
            ) -> list[FoldFitter]:
    """The fold fitters of the named recipes (`head`: the shipped recipe of
    `training.head_fit`; `fastai`: the `training:` fastai recipe, minutes per fold)."""
    from training import HeadFitter

    out: list[FoldFitter] = []
    for name in recipes:
        if name == "head":
            out.append(HeadFitter(head_recipe(cfg), name=HEAD))
        elif name == "fastai":
            from training import FastaiFitter, TrainOptions

            options = TrainOptions.from_config(cfg.training, cache_dir=work_dir / ".cache")
            out.append(FastaiFitter(options, work_dir=work_dir, name=FASTAI))
        else:
            raise ValueError(f"unknown recipe {name!r}; use one of {RECIPES}")
    return out


def cross_validate(data: CrossValData, fits: Sequence[FoldFitter], *,
                   groups: int | None = None) -> CrossValReport:
    """Zero-shot and each recipe on the same source folds (`groups`: that many grouped
    folds instead of one per source with bears)."""
    from training import (
        ZERO_SHOT,
        cross_val_report,
        out_of_fold,
        source_folds,
        visit_folds,
        with_known_scene,
        zero_shot_scores,
    )

    folds = source_folds(data.frames, groups=groups)
    scores = {ZERO_SHOT: zero_shot_scores(data)}
    for fit in fits:
        started = time.monotonic()

        def progress(done: int, total: int, name: str = fit.name, t0: float = started) -> None:
            rate = done / max(time.monotonic() - t0, 1e-9)
            print(f"{name}: fold {done}/{total} ({rate:.2f} folds/s, ETA "
                  f"{(total - done) / rate:.0f} s)", file=sys.stderr, flush=True)

        scores[fit.name] = out_of_fold(data, folds, fit=fit, progress=progress)
    report = cross_val_report(data.frames, folds, scores, baseline=ZERO_SHOT)
    head = next((f for f in fits if f.name == HEAD), None)
    boxed = sorted({f.source for f in data.frames if f.bear_px is not None})
    if head is None or not boxed:
        return report
    # The far bears' own camera, one visit held out at a time: the known-scene figure.
    visits = [fold for source in boxed for fold in visit_folds(data.frames, source=source)]
    seen = out_of_fold(data, visits, fit=head)
    keep = [k for k, f in enumerate(data.frames) if f.source in boxed]
    return with_known_scene(report, [data.frames[k] for k in keep], seen[keep], model=HEAD)


def print_report(report: CrossValReport) -> None:
    from training import BUDGETS, text_table

    print(f"leave-one-source-out: {len(report.folds)} folds, {len(report.frames)} frames")
    for budget in BUDGETS:
        print(text_table(report, budget=budget))
        print()
    for t in report.known_scene:
        rows = {r.name: r for r in t.rows}
        shown = [f"{name} {rows[name].recall.text()}" for name in
                 ("all", "per visit (any frame)", *(n for n in rows if n.startswith("bear size=")))
                 if name in rows and rows[name].recall.n]
        print(f"known scene ({t.model}, other visits of the same camera in training) at <= "
              f"{t.budget:.0%}: " + "; ".join(shown))
    worse = [c for c in report.comparisons if c.worse]
    print(f"slices where a recipe catches fewer bears than {report.baseline} at equal "
          f"false-alarm rates: {len(worse) or 'none'}")
    for c in worse:
        print(f"  {c.model}, {c.slice} at <= {c.budget:.0%}: {c.candidate.text()} vs "
              f"{c.baseline.text()}")
