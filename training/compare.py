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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from training.cache import load_rgb
from training.evaluation import Figures, LabelledImage, evaluate
from training.export import read_split
from training.figures import threshold_for_false_alarm
from training.items import Box

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
                                      for p, c in zip(paths, crops)], dtype=bool),
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


def model_report(heldout: HeldOut, p_bear: np.ndarray, *, version: str,
                 threshold: float = 0.5) -> dict[str, Any]:
    """The `bearwatch eval` JSON (`detector.evaluate`) of one model on the held-out images,
    plus `by_light.infrared`, the counts behind each rate and the scores themselves."""
    y = heldout.is_bear
    images = [LabelledImage(path=heldout.paths[i], is_bear=bool(y[i]), light=str(heldout.light[i]),
                            name=heldout.refs[i]) for i in range(len(heldout))]
    report = evaluate(images, p_bear, threshold=threshold, model_version=version,
                      n_worst=N_WORST)
    doc = report.to_json()
    doc["overall"] = asdict(report.overall)
    doc["by_light"] = {name: asdict(Figures.of(y[mask], p_bear[mask], threshold))
                       for name, mask in heldout.subsets().items()}
    doc["p_bear"] = [round(float(p), 5) for p in p_bear]
    return doc


def recall_at_equal_false_alarms(heldout: HeldOut, scores: dict[str, np.ndarray], *,
                                 budgets: Sequence[float] = FAR_BUDGETS) -> dict[str, Any]:
    """For each light and false-alarm budget: each model's recall at its own threshold that
    keeps the false-alarm rate within the budget (with the counts behind it)."""
    y = heldout.is_bear
    table: dict[str, Any] = {}
    for name, mask in {"overall": np.ones(len(heldout), bool), **heldout.subsets()}.items():
        rows = []
        for budget in budgets:
            row: dict[str, Any] = {"max_false_alarm_rate": budget}
            for version, p in scores.items():
                t = threshold_for_false_alarm(y[mask], p[mask], budget)
                f = None if t is None else Figures.of(y[mask], p[mask], t)
                row[version] = None if f is None or t is None else {
                    "threshold": round(t, 5), "recall": f.recall, "tp": f.tp,
                    "n_bear": f.n_bear, "false_alarm_rate": f.false_alarm_rate, "fp": f.fp,
                    "n_no_bear": f.n_no_bear}
            rows.append(row)
        table[name] = {"n_bear": int(y[mask].sum()), "n_no_bear": int((~y[mask]).sum()),
                       "rows": rows}
    return table
