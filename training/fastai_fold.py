"""The fastai fine-tuning recipe (`training.trainer.train`) as a cross-validation
`FoldFitter`, so the recipe the shipped head replaced is measured on the same folds.

Each fold trains for minutes on two CPU cores (the head's folds take milliseconds). fastai
needs a validation side of its own: it is a seeded group split of the fold's training sources,
never the held-out source, whose scores come from serving the trained network the way the
detector does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from detector.models import InputSpec, TorchClassifier
from training.crossval import CrossValData
from training.features import BATCH, read_view
from training.split import group_split
from training.trainer import BEAR_CLASS, TrainOptions
from training.trainer import train as fine_tune


@dataclass(frozen=True, slots=True)
class FastaiFitter:
    """fastai `fine_tune` on the fold's plain training views (it makes its own lighting and
    infrared augmentations), scored as served (squish to `options.size`, its normalisation)."""

    options: TrainOptions
    work_dir: Path
    name: str = "fastai fine-tune"

    def __call__(self, data: CrossValData, train: Sequence[int], score: Sequence[int]
                 ) -> np.ndarray:
        items = [data.views[i].item for i in train if data.views[i].look == "plain"]
        split = group_split(items, valid_pct=0.1, seed=self.options.seed)
        result = fine_tune(items, split, self.options, work_dir=self.work_dir)
        mean, std = self.options.normalisation
        spec = InputSpec(size=self.options.size, mean=mean, std=std, method="squish")  # type: ignore[arg-type]
        bear = list(result.learner.dls.vocab).index(BEAR_CLASS)
        model = TorchClassifier(result.learner.model, spec, torch.device("cpu"), [bear], "fold")
        idx = list(score)
        return np.concatenate([
            model.score_images([read_view(data.views[i]) for i in idx[at:at + BATCH]])
            for at in range(0, len(idx), BATCH)]) if idx else np.zeros(0)
