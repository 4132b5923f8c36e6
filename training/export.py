"""Export a trained Learner as `<out>/<version>.pkl` with its checksum and held-out split.

The version id is `bw-YYYYmmdd-HHMMSS-<first 8 hex of the file's sha256>`: sortable by time
and tied to the exact bytes. `<version>.split.json` beside it lists the held-out files so
`bearwatch eval` can measure on the same data the model never trained on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastai.vision.all import Learner, RandomResizedCrop, Resize, ResizeMethod

from detector.models import sha256_of
from training.errors import TrainingError
from training.trainer import TrainResult

SPLIT_SUFFIX = ".split.json"


@dataclass(frozen=True, slots=True)
class ExportedModel:
    """An exported model file: its version id, path, sha256 (hex) and split file."""

    version: str
    path: Path
    sha256: str
    split_path: Path


def export_model(result: TrainResult, out_dir: Path, *, clock: Callable[[], datetime]
                 ) -> ExportedModel:
    """Write the Learner (fastai `export`, no data, no optimiser state) and its split file.

    Raises:
        TrainingError: `out_dir` cannot be created or written.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainingError(f"cannot create output folder {out_dir}: {exc}; pass a writable "
                            "--out") from exc
    stamp = clock().strftime("%Y%m%d-%H%M%S")
    tmp_name = f".bw-{stamp}.pkl.tmp"
    learner = result.learner
    _serve_as_validated(learner, result.options.size)
    old_path = learner.path
    learner.path = out_dir
    try:
        learner.export(tmp_name)
    finally:
        learner.path = old_path
    tmp = out_dir / tmp_name
    digest = sha256_of(tmp)
    version = f"bw-{stamp}-{digest[:8]}"
    path = out_dir / f"{version}.pkl"
    tmp.replace(path)
    split_path = out_dir / f"{version}{SPLIT_SUFFIX}"
    split_path.write_text(json.dumps(split_document(result, version), indent=1))
    return ExportedModel(version=version, path=path, sha256=digest, split_path=split_path)


def _serve_as_validated(learner: Learner, size: int) -> None:
    """Swap the training crop for the squish `Resize` it performs on validation images, so
    the exported pipeline names the input the model was measured with (the detector's
    loader reads size and method from a `Resize` in `after_item`)."""
    for dl in (learner.dls.train, learner.dls.valid):
        for i, tfm in enumerate(dl.after_item.fs):
            if isinstance(tfm, RandomResizedCrop):
                dl.after_item.fs[i] = Resize(size, method=ResizeMethod.Squish)


def split_document(result: TrainResult, version: str) -> dict[str, object]:
    """The JSON of `<version>.split.json`: seed, share and the held-out items
    (`ref`, absolute `path`, `label`, `light`, `group`) plus the training refs."""
    items = result.items
    return {
        "version": version,
        "seed": result.split.seed,
        "valid_pct": result.split.valid_pct,
        "image_size": result.options.size,
        "valid": [{"ref": items[i].ref, "path": str(items[i].path), "label": items[i].label,
                   "light": items[i].light, "group": items[i].group,
                   "crop": list(crop) if (crop := items[i].crop) else None}
                  for i in result.split.valid],
        "train": [items[i].ref for i in result.split.train],
    }


def read_split(path: Path) -> list[dict[str, str]]:
    """The held-out items of a `.split.json` file.

    Raises:
        TrainingError: the file is missing or not a split file.
    """
    try:
        doc = json.loads(path.read_text())
        valid = doc["valid"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrainingError(f"{path} is not a readable split file ({exc}); use the "
                            f"<version>{SPLIT_SUFFIX} written by `bearwatch train`") from exc
    return [dict(v) for v in valid]
