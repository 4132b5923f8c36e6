"""What a training run records in `model_versions.metrics`: held-out figures per light and
the reference distributions (scores and luma) that the drift watch compares cameras with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from detector.models import load_learner_model
from kernel.drift import LUMA_EDGES, SCORE_EDGES, DriftReference, Histogram, HistogramDoc
from training.cache import load_rgb
from training.compare import LOAD_MAX_SIDE
from training.evaluation import threshold_for_recall
from training.export import ExportedModel
from training.items import LIGHTS, TrainItem
from training.rates import Figures, ThresholdPoint, as_json
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


@dataclass(frozen=True, slots=True)
class ValidationMetrics:
    """Held-out figures of a training run at one threshold and how it was trained.

    Attributes:
        accuracy: share of held-out items on the right side of the threshold, 0..1.
        by_light: figures per light that has held-out items (`day`, `night`, `infrared`).
        threshold_for_recall_95: None without held-out bears.
        image_size: training crop side, px; train_seconds: data preparation + training, s.
    """

    threshold: float
    accuracy: float
    overall: Figures
    by_light: dict[str, Figures]
    threshold_for_recall_95: ThresholdPoint | None
    n_valid: int
    n_train: int
    seed: int
    image_size: int
    epochs: int
    freeze_epochs: int
    train_seconds: float

    def to_json(self) -> dict[str, Any]:
        return as_json(self)


@dataclass(frozen=True, slots=True)
class VersionMetrics:
    """What `bearwatch train --recipe fastai` stores in `model_versions.metrics`: the figures
    as served, fastai's own validation accuracy (0..1) and the drift reference."""

    validation: ValidationMetrics
    learner_valid_accuracy: float
    reference: DriftReference

    def to_json(self) -> dict[str, Any]:
        """The stored shape: the validation figures at the top level (no `validation` key),
        then `learner_valid_accuracy` and `reference` (`DriftReference.to_json`, which the
        drift watch reads back)."""
        return {**self.validation.to_json(), "learner_valid_accuracy": self.learner_valid_accuracy,
                "reference": self.reference.to_json()}


def validation_metrics(result: TrainResult, *, threshold: float = DEFAULT_THRESHOLD
                       ) -> ValidationMetrics:
    """Held-out figures of `result.valid_p_bear` at `threshold`: overall and per light, plus
    the threshold for 95 % recall; rates are None where their denominator is 0."""
    valid = [result.items[i] for i in result.split.valid]
    y = np.array([it.label == "bear" for it in valid])
    lights = np.array([it.light for it in valid])
    p = result.valid_p_bear
    overall = Figures.of(y, p, threshold)
    return ValidationMetrics(
        threshold=threshold, accuracy=(overall.tp + overall.tn) / max(len(valid), 1),
        overall=overall,
        by_light={light: Figures.of(y[lights == light], p[lights == light], threshold)
                  for light in LIGHTS if (lights == light).any()},
        threshold_for_recall_95=threshold_for_recall(y, p, 0.95), n_valid=len(valid),
        n_train=len(result.split.train), seed=result.split.seed,
        image_size=result.options.size, epochs=result.options.epochs,
        freeze_epochs=result.options.freeze_epochs, train_seconds=round(result.seconds, 1))


def reference_histograms(items: Sequence[TrainItem], valid_p_bear: np.ndarray
                         ) -> DriftReference:
    """The drift reference: held-out p_bear and the mean luma of all images the model learnt
    from (stored as `VersionMetrics.reference`)."""
    luma = [mean_luma(it.path) for it in items]
    return DriftReference(score=HistogramDoc.of(Histogram.of(valid_p_bear, SCORE_EDGES)),
                          luma=HistogramDoc.of(Histogram.of(luma, LUMA_EDGES)))


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
