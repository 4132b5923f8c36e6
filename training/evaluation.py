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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from detector import Model, ProposalRules, RegionScore, score_images_with_tiles
from training.errors import EvalDataError

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
                   recall=_ratio(tp, tp + fn), precision=_ratio(tp, tp + fp),
                   false_alarm_rate=_ratio(fp, fp + tn))

    def to_json(self) -> dict[str, Any]:
        return {"n_bear": self.n_bear, "n_no_bear": self.n_no_bear, "recall": self.recall,
                "precision": self.precision, "false_alarm_rate": self.false_alarm_rate}


@dataclass(frozen=True, slots=True)
class ThresholdPoint:
    """The highest threshold whose recall reaches the target, and what it costs."""

    threshold: float
    recall: float
    false_alarm_rate: float | None


@dataclass(frozen=True, slots=True)
class Mistake:
    """A wrongly scored image: its file, truth, light and p_bear."""

    file: str
    label: str
    light: str
    p_bear: float


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

    def to_json(self) -> dict[str, Any]:
        o = self.overall
        return {
            "model_version": self.model_version,
            "threshold": self.threshold,
            "overall": o.to_json(),
            "by_light": {k: v.to_json() for k, v in self.by_light.items()},
            "confusion": {"labels": ["bear", "no_bear"], "rows": "truth", "columns": "predicted",
                          "matrix": [[o.tp, o.fn], [o.fp, o.tn]],
                          "tp": o.tp, "fp": o.fp, "fn": o.fn, "tn": o.tn},
            "threshold_for_recall_95": (asdict(self.threshold_for_recall_95)
                                        if self.threshold_for_recall_95 else None),
            "worst": [asdict(m) for m in self.worst],
            "n_images": len(self.images),
            # Every image's score, so an analyst can redo any figure at another threshold.
            "images": [{"file": im.name, "label": "bear" if im.is_bear else "no_bear",
                        "light": im.light, "p_bear": round(p, 6)}
                       for im, p in zip(self.images, self.scores)],
            "skipped": list(self.skipped),
        }


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def threshold_for_recall(truth: np.ndarray, scores: np.ndarray,
                         target: float = TARGET_RECALL) -> ThresholdPoint | None:
    """The highest threshold t with recall(p >= t) >= target; None without bears."""
    bears = np.sort(scores[truth])[::-1]
    if bears.size == 0:
        return None
    need = max(1, math.ceil(target * bears.size - 1e-9))
    t = float(bears[need - 1])
    f = Figures.of(truth, scores, t)
    return ThresholdPoint(threshold=t, recall=float(f.recall or 0.0), false_alarm_rate=f.false_alarm_rate)


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
              progress: Progress | None = None) -> tuple[list[LabelledImage], np.ndarray, list[str]]:
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


def score_set_with_regions(model: Model, items: Sequence[LabelledImage], rules: ProposalRules,
                           *, max_side: int, progress: Progress | None = None
                           ) -> tuple[list[LabelledImage], list[RegionScore], list[str]]:
    """Score every readable image as the detector scores a still: the whole image and its
    tiles (`rules`), read at `max_side` px on the long side as ingest would downscale it."""
    kept: list[LabelledImage] = []
    bad: list[str] = []
    out: list[RegionScore] = []
    start = time.monotonic()
    for i, item in enumerate(items, start=1):
        img = read_rgb(item.path, max_side=max_side)
        if img is None:
            bad.append(f"{item.name}: unreadable image")
            continue
        kept.append(item)
        # As the detector scores a still where nothing moved: tiles count by agreement.
        out.extend(score_images_with_tiles(
            model, [img], [rules.still_regions(img.shape[1], img.shape[0])]))
        if progress is not None:
            progress(i, len(items), time.monotonic() - start)
    return kept, out, bad


# Bear size bins (longer side of the bear's box, px of the stored frame): where a whole-frame
# classifier stops seeing bears.
SIZE_BINS = ((0, 32, "under 32 px"), (32, 64, "32-63 px"), (64, 10**9, "64 px and more"))


@dataclass(frozen=True, slots=True)
class BoxedBear:
    """One bear frame listed in `boxes.csv`: its sequence, the bear's longer side (px of the
    stored frame) and p_bear from the whole image and with proposals (0..1)."""

    file: str
    sequence: str
    bear_px: int
    whole: float
    with_proposals: float


@dataclass(frozen=True, slots=True)
class ProposalFigures:
    """What region proposals buy and cost on a labelled set (`bearwatch eval --proposals`).

    Attributes:
        whole: figures from the whole image alone; `with_proposals` from the max over the
            whole image and its regions (the detector's p_bear), both at the same threshold.
        boxed: the bear frames listed in `boxes.csv` (the trail-camera bears).
        regions_per_image: mean number of regions scored besides each whole image.
        seconds_per_image: mean scoring time with the regions.
    """

    threshold: float
    whole: Figures
    with_proposals: Figures
    boxed: tuple[BoxedBear, ...]
    regions_per_image: float
    seconds_per_image: float

    def to_json(self) -> dict[str, Any]:
        t = self.threshold
        rows = self.boxed

        def recall(sel: Sequence[BoxedBear], tiled: bool) -> dict[str, Any]:
            hits = sum((b.with_proposals if tiled else b.whole) >= t for b in sel)
            return {"hits": hits, "n": len(sel), "recall": _ratio(hits, len(sel))}

        sequences = sorted({b.sequence for b in rows})

        def per_sequence(tiled: bool) -> dict[str, Any]:
            hit = [g for g in sequences
                   if recall([b for b in rows if b.sequence == g], tiled)["hits"]]
            return {"hits": len(hit), "n": len(sequences),
                    "recall": _ratio(len(hit), len(sequences))}

        def both(f: Callable[[bool], dict[str, Any]]) -> dict[str, Any]:
            return {"whole": f(False), "with_proposals": f(True)}

        return {
            "threshold": t,
            "regions_per_image": round(self.regions_per_image, 1),
            "seconds_per_image": round(self.seconds_per_image, 3),
            "all_images": {"whole": self.whole.to_json(),
                           "with_proposals": self.with_proposals.to_json()},
            "false_alarm_cost": {
                "n_no_bear": self.whole.n_no_bear,
                "false_alarms_whole": self.whole.fp,
                "false_alarms_with_proposals": self.with_proposals.fp,
                "false_alarm_rate_whole": self.whole.false_alarm_rate,
                "false_alarm_rate_with_proposals": self.with_proposals.false_alarm_rate},
            "trail_camera_bears": {
                "per_frame": both(lambda tiled: recall(rows, tiled)),
                "per_sequence": {**both(per_sequence), "sequences": sequences},
                "by_bear_size": [
                    {"size": name, **both(lambda tiled, sel=sel: recall(sel, tiled))}
                    for lo, hi, name in SIZE_BINS
                    if (sel := [b for b in rows if lo <= b.bear_px < hi])],
                "frames": [{"file": b.file, "sequence": b.sequence, "bear_px": b.bear_px,
                            "p_bear_whole": round(b.whole, 5),
                            "p_bear_with_proposals": round(b.with_proposals, 5)} for b in rows],
            },
        }


def proposal_figures(items: Sequence[LabelledImage], scored: Sequence[RegionScore], *,
                     threshold: float, bear_px: dict[str, int], sequence_of: dict[str, str],
                     seconds: float) -> ProposalFigures:
    """Figures of whole-image vs with-proposals scoring. `bear_px`: the longer side of the
    bear in each boxed frame (by item name); `sequence_of`: the sequence of each item."""
    truth = np.array([im.is_bear for im in items], dtype=bool)
    whole = np.array([s.whole_p_bear for s in scored], dtype=np.float64)
    best = np.array([s.p_bear for s in scored], dtype=np.float64)
    boxed = tuple(BoxedBear(file=im.name, sequence=sequence_of.get(im.name, im.name),
                            bear_px=bear_px[im.name], whole=float(whole[i]),
                            with_proposals=float(best[i]))
                  for i, im in enumerate(items) if im.is_bear and im.name in bear_px)
    n = max(1, len(scored))
    return ProposalFigures(threshold=threshold, whole=Figures.of(truth, whole, threshold),
                           with_proposals=Figures.of(truth, best, threshold), boxed=boxed,
                           regions_per_image=sum(s.n_regions for s in scored) / n,
                           seconds_per_image=seconds / n)
