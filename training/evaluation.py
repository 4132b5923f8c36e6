"""Scoring a labelled image set: precision, recall and false-alarm rate overall and per light,
the confusion matrix, the threshold that reaches 95 % recall, and the worst mistakes.

A set is a folder with `manifest.csv` (columns `file`, `label` = bear|no_bear, `light` =
day|night; as in ../shared/data/bears) or with `bear/` and `no_bear/` subfolders (light is
`night` when a path component is named `night`, else `day`). Non-image entries (videos) are
skipped and listed. `evaluate` is pure; `score_set` does the I/O.
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from detector.models import Model
from training.errors import EvalDataError
from training.rates import Confusion, Figures, ThresholdPoint, as_json

log = logging.getLogger("detector")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
LIGHTS = ("day", "night")
TARGET_RECALL = 0.95
# Photos are downscaled on the host to this long side before scoring: the model sees 224 px,
# and decoding 2048 px camera frames at full size would dominate the run. INTER_AREA keeps
# small far-away bears from aliasing away.
EVAL_MAX_SIDE = 448
EVAL_BATCH = 8


@dataclass(frozen=True, slots=True)
class LabelledImage:
    """One image of a labelled set: path, truth, light (`day` | `night`), name as listed."""

    path: Path
    is_bear: bool
    light: str
    name: str


@dataclass(frozen=True, slots=True)
class Mistake:
    """A wrongly scored image: its file, truth, light and p_bear."""

    file: str
    label: str
    light: str
    p_bear: float


@dataclass(frozen=True, slots=True)
class ScoredImage:
    """One scored image as `bearwatch eval` lists it: file, truth (`bear` | `no_bear`), light
    and p_bear (0..1, 6 decimals)."""

    file: str
    label: str
    light: str
    p_bear: float

    @classmethod
    def of(cls, image: LabelledImage, p_bear: float) -> ScoredImage:
        return cls(file=image.name, label="bear" if image.is_bear else "no_bear",
                   light=image.light, p_bear=round(p_bear, 6))


# The keys of `EvalReport.to_json`, in their stored order.
EVAL_JSON_KEYS = ("model_version", "threshold", "overall", "by_light", "confusion",
                  "threshold_for_recall_95", "worst", "n_images", "images", "skipped")


@dataclass(frozen=True, slots=True)
class EvalReport:
    """The result of scoring a labelled set with one model at one threshold.

    Attributes:
        scores: p_bear per image, in `images` order (0..1).
        worst: the mistakes with the largest error |truth − p_bear|, worst first.
        skipped: entries not scored (not an image, unreadable), with the reason.
    """

    model_version: str
    threshold: float
    images: tuple[LabelledImage, ...]
    scores: tuple[float, ...]
    overall: Figures
    by_light: dict[str, Figures]
    threshold_for_recall_95: ThresholdPoint | None
    worst: tuple[Mistake, ...]
    skipped: tuple[str, ...] = field(default=())

    @property
    def confusion(self) -> Confusion:
        """The confusion matrix of all images at the threshold."""
        return Confusion.of(self.overall)

    @property
    def scored_images(self) -> tuple[ScoredImage, ...]:
        """Every image with its p_bear, so an analyst can redo any figure at another
        threshold."""
        pairs = zip(self.images, self.scores, strict=True)
        return tuple(ScoredImage.of(im, p) for im, p in pairs)

    def to_json(self) -> dict[str, Any]:
        """The `bearwatch eval` JSON: `as_json` of the record reshaped into the shape it has
        always been stored in: `overall` and `by_light` as `Figures.to_json` (class sizes and
        rates), the overall counts as `confusion`; `images` + `scores` as `n_images` and one
        `ScoredImage` row per image; keys in `EVAL_JSON_KEYS` order."""
        doc = as_json(self) | {
            "overall": self.overall.to_json(),
            "by_light": {k: f.to_json() for k, f in self.by_light.items()},
            "confusion": self.confusion.to_json(),
            "n_images": len(self.images),
            "images": [as_json(im) for im in self.scored_images]}
        return {k: doc[k] for k in EVAL_JSON_KEYS}


def threshold_for_recall(truth: np.ndarray, scores: np.ndarray,
                         target: float = TARGET_RECALL) -> ThresholdPoint | None:
    """The highest threshold t with recall(p >= t) >= target; None without bears."""
    bears = np.sort(scores[truth])[::-1]
    if bears.size == 0:
        return None
    need = max(1, math.ceil(target * bears.size - 1e-9))
    t = float(bears[need - 1])
    f = Figures.of(truth, scores, t)
    return ThresholdPoint(threshold=t, recall=float(f.recall or 0.0),
                          false_alarm_rate=f.false_alarm_rate)


def evaluate(images: Sequence[LabelledImage], scores: Sequence[float] | np.ndarray, *,
             threshold: float, model_version: str, n_worst: int = 10,
             skipped: Sequence[str] = ()) -> EvalReport:
    """Figures for `images` scored `scores` (same order) at `threshold`."""
    if len(images) != len(scores):
        raise ValueError(f"{len(images)} images but {len(scores)} scores")
    s = np.asarray(scores, dtype=np.float64)
    truth = np.array([im.is_bear for im in images], dtype=bool)
    light = np.array([im.light for im in images])
    by_light = {lt: Figures.of(truth[light == lt], s[light == lt], threshold) for lt in LIGHTS}
    wrong = [i for i in range(len(images)) if (s[i] >= threshold) != truth[i]]
    wrong.sort(key=lambda i: -abs(float(truth[i]) - s[i]))
    worst = tuple(Mistake(file=images[i].name, label="bear" if truth[i] else "no_bear",
                          light=images[i].light, p_bear=round(float(s[i]), 6))
                  for i in wrong[:n_worst])
    return EvalReport(model_version=model_version, threshold=threshold, images=tuple(images),
                      scores=tuple(float(x) for x in s), overall=Figures.of(truth, s, threshold),
                      by_light=by_light, threshold_for_recall_95=threshold_for_recall(truth, s),
                      worst=worst, skipped=tuple(skipped))


def _label(value: str, where: str) -> bool:
    v = value.strip().lower()
    if v not in ("bear", "no_bear"):
        raise EvalDataError(f"{where}: label must be 'bear' or 'no_bear', got {value!r}; fix the "
                            "manifest row")
    return v == "bear"


def load_labelled_set(root: Path) -> tuple[list[LabelledImage], list[str]]:
    """The images of a labelled set and the entries skipped (with why).

    Raises:
        EvalDataError: no such folder, neither layout, a bad label, or a listed file missing.
    """
    if not root.is_dir():
        raise EvalDataError(f"evaluation set {root} is not a folder; pass a folder with "
                            "manifest.csv or with bear/ and no_bear/ subfolders")
    items: list[LabelledImage] = []
    skipped: list[str] = []
    manifest = root / "manifest.csv"
    if manifest.is_file():
        with manifest.open(newline="", encoding="utf-8") as fh:
            for n, row in enumerate(csv.DictReader(fh), start=2):
                where = f"{manifest}:{n}"
                if "file" not in row or "label" not in row:
                    raise EvalDataError(f"{manifest} needs columns file,label[,light]; got "
                                        f"{list(row)}")
                name = row["file"]
                path = root / name
                if path.suffix.lower() not in IMAGE_SUFFIXES:
                    skipped.append(f"{name}: not an image")
                    continue
                if not path.is_file():
                    raise EvalDataError(f"{where}: listed file {path} does not exist")
                light = (row.get("light") or "day").strip().lower()
                items.append(LabelledImage(path, _label(row["label"], where),
                                           "night" if light == "night" else "day", name))
    elif (root / "bear").is_dir() and (root / "no_bear").is_dir():
        for label in ("bear", "no_bear"):
            for path in sorted((root / label).rglob("*")):
                if not path.is_file():
                    continue
                name = path.relative_to(root).as_posix()
                if path.suffix.lower() not in IMAGE_SUFFIXES:
                    skipped.append(f"{name}: not an image")
                    continue
                light = "night" if "night" in path.relative_to(root).parts else "day"
                items.append(LabelledImage(path, label == "bear", light, name))
    else:
        raise EvalDataError(f"{root} has neither manifest.csv nor bear/ and no_bear/ "
                            "subfolders; add one of the two layouts")
    if not items:
        raise EvalDataError(f"{root} holds no images to evaluate")
    return items, skipped


def read_rgb(path: Path, max_side: int = EVAL_MAX_SIDE) -> np.ndarray | None:
    """An image file as HxWx3 uint8 RGB, long side at most `max_side`, EXIF orientation
    applied; None if unreadable. JPEGs are decoded at a reduced DCT scale (PIL `draft`) when
    they are much larger than needed, which is most of the cost for 2048 px camera frames."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (max_side, max_side))
            rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except (OSError, ValueError, SyntaxError):
        return None
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if scale < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                         interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


Progress = Callable[[int, int, float], None]
"""Called as (done, total, elapsed seconds)."""


def score_set(model: Model, items: Sequence[LabelledImage], *,
              progress: Progress | None = None
              ) -> tuple[list[LabelledImage], np.ndarray, list[str]]:
    """Score every readable image in batches; returns the scored items, their p_bear and the
    unreadable ones."""
    kept: list[LabelledImage] = []
    bad: list[str] = []
    out: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    start = time.monotonic()
    for i, item in enumerate(items, start=1):
        img = read_rgb(item.path)
        if img is None:
            bad.append(f"{item.name}: unreadable image")
        else:
            kept.append(item)
            batch.append(img)
        if len(batch) == EVAL_BATCH or (i == len(items) and batch):
            out.append(model.score_images(batch))
            batch = []
            if progress is not None:
                progress(i, len(items), time.monotonic() - start)
    scores = np.concatenate(out) if out else np.zeros((0,), dtype=np.float32)
    return kept, scores, bad


def evaluate_folder(model: Model, root: Path, *, threshold: float,
                    progress: Progress | None = None) -> EvalReport:
    """Load, score and evaluate a labelled set."""
    items, skipped = load_labelled_set(root)
    kept, scores, bad = score_set(model, items, progress=progress)
    return evaluate(kept, scores, threshold=threshold, model_version=model.version,
                    skipped=[*skipped, *bad])
