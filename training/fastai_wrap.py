"""The built-in network inside a fastai `Learner`, for the `learn.predict` baseline of the
benchmark and for exporting a real `.pkl` in tests. Built offline from a handful of local
images (fastai needs a `DataLoaders` to know its transforms and vocab; nothing is trained)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastai.data.block import CategoryBlock, DataBlock
from fastai.data.transforms import IndexSplitter, parent_label
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat
from fastai.vision.augment import Normalize, Resize, ResizeMethod
from fastai.vision.core import PILImage
from fastai.vision.data import ImageBlock
from PIL import Image
from torch import nn

from detector.models import LITE0_SPEC, BearOrNot, lite0_imagenet

CLASSES = ("bear", "no_bear")


def write_seed_images(folder: Path, images: list[np.ndarray]) -> list[Path]:
    """Write RGB images as JPEGs under `folder/<class>/`, alternating the two classes."""
    paths = []
    for i, img in enumerate(images):
        path = folder / CLASSES[i % 2] / f"{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path, quality=90)
        paths.append(path)
    return paths


def builtin_learner(folder: Path, images: list[np.ndarray], net: nn.Module | None = None
                    ) -> Learner:
    """A Learner around `BearOrNot(net)` (default: a fresh `lite0_imagenet()`) whose validation
    pipeline is the built-in model's: squish-resize to 224 px, normalise with mean/std 0.5.
    `images` (at least two) only give the DataLoaders its items."""
    if len(images) < 2:
        raise ValueError("builtin_learner needs at least two seed images")
    files = write_seed_images(folder, images)
    spec = LITE0_SPEC
    block = DataBlock(
        blocks=(ImageBlock(cls=PILImage), CategoryBlock(vocab=list(CLASSES))),
        get_items=lambda _src: files, get_y=parent_label,
        splitter=IndexSplitter([0, 1]),
        item_tfms=Resize(spec.size, method=ResizeMethod.Squish),
        batch_tfms=Normalize.from_stats(list(spec.mean), list(spec.std)),
    )
    dls = block.dataloaders(folder, bs=2, num_workers=0, device="cpu")
    return Learner(dls, BearOrNot(net if net is not None else lite0_imagenet()),
                   loss_func=CrossEntropyLossFlat())
