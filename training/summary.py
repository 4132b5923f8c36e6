"""What a training run records in `model_versions.metrics`: held-out figures per light and
the reference distributions (scores and luma) that the drift watch compares cameras with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from detector import load_learner_model
from kernel.drift import LUMA_EDGES, SCORE_EDGES, Histogram
from training.cache import load_rgb
from training.compare import LOAD_MAX_SIDE
from training.evaluation import Figures, threshold_for_recall
from training.export import ExportedModel
from training.items import LIGHTS, TrainItem
from training.trainer import BEAR_CLASS, TrainResult

# Side of the thumbnail luma is measured on, px: mean luma barely changes with size.
_LUMA_SIDE = 64
DEFAULT_THRESHOLD = 0.5


def mean_luma(path: Path) -> float:
    """Mean Rec.601 luma of an image, 0..255 (the same measure as `Frame.mean_luma`)."""
    with Image.open(path) as im:
        im.draft("RGB", (_LUMA_SIDE * 2, _LUMA_SIDE * 2))
        rgb = np.asarray(im.convert("RGB").resize((_LUMA_SIDE, _LUMA_SIDE)), dtype=np.float64)
    return float((rgb @ np.array([0.299, 0.587, 0.114])).mean())


def validation_metrics(result: TrainResult, *, threshold: float = DEFAULT_THRESHOLD
                       ) -> dict[str, Any]:
    """Held-out figures of `result.valid_p_bear` at `threshold`: overall and per light, plus
    the threshold for 95 % recall. JSON-ready; rates are None where their denominator is 0."""
    valid = [result.items[i] for i in result.split.valid]
    y = np.array([it.label == "bear" for it in valid])
    lights = np.array([it.light for it in valid])
    p = result.valid_p_bear
    by_light = {light: asdict(Figures.of(y[lights == light], p[lights == light], threshold))
                for light in LIGHTS if (lights == light).any()}
    overall = Figures.of(y, p, threshold)
    t95 = threshold_for_recall(y, p, 0.95)
    return {
        "threshold": threshold,
        "accuracy": (overall.tp + overall.tn) / max(len(valid), 1),
        "overall": asdict(overall),
        "by_light": by_light,
        "threshold_for_recall_95": None if t95 is None else asdict(t95),
        "n_valid": len(valid),
        "n_train": len(result.split.train),
        "seed": result.split.seed,
        "image_size": result.options.size,
        "epochs": result.options.epochs,
        "freeze_epochs": result.options.freeze_epochs,
        "train_seconds": round(result.seconds, 1),
    }


def reference_histograms(items: Sequence[TrainItem], valid_p_bear: np.ndarray
                         ) -> dict[str, Any]:
    """`{"score": hist, "luma": hist}`: held-out p_bear and the mean luma of all images the
    model learnt from, as `{"edges", "counts"}` documents."""
    luma = [mean_luma(it.path) for it in items]
    return {"score": Histogram.of(valid_p_bear, SCORE_EDGES).to_json(),
            "luma": Histogram.of(luma, LUMA_EDGES).to_json()}


def served_valid_scores(result: TrainResult, exported: ExportedModel, *, batch_size: int = 16
                        ) -> np.ndarray:
    """p_bear of the held-out items through the detector's own serving path (checksum-checked
    load, its resize and normalisation) rather than fastai's validation pipeline, so the
    recorded figures and the drift reference are what the detector will actually produce."""
    model = load_learner_model(exported.path, expected_sha256=exported.sha256,
                               bear_classes=[BEAR_CLASS], device=torch.device("cpu"),
                               default_size=result.options.size)
    valid = [result.items[i] for i in result.split.valid]
    out = [np.zeros(0)]
    for start in range(0, len(valid), batch_size):
        images = [load_rgb(it.path, max_side=LOAD_MAX_SIDE, crop=it.crop)
                  for it in valid[start:start + batch_size]]
        out.append(np.asarray(model.score_images(images), dtype=np.float64))
    return np.concatenate(out)
