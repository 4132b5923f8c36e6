"""Fine-tune EfficientNet-Lite0 (or a torchvision backbone through fastai's `vision_learner`)
with fastai on labelled items (DESIGN.md §3).

DataBlock: images (downscaled copies) → `bear`/`no_bear`; the seeded group split; item
transform RandomResizedCrop at a small size; batch transforms aug_transforms with strong
lighting changes plus `RandomInfrared`, then the backbone's own normalisation (Lite0's, or
ImageNet's for torchvision models). `fine_tune` trains the new head with the body frozen, then
everything with discriminative learning rates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastai.vision.all import (
    CategoryBlock,
    ColReader,
    CrossEntropyLossFlat,
    DataBlock,
    DataLoaders,
    ImageBlock,
    IndexSplitter,
    Learner,
    Normalize,
    RandomResizedCrop,
    accuracy,
    aug_transforms,
    set_seed,
    vision_learner,
)
from torch import nn

from kernel.config import LITE0_ARCHITECTURE, TORCHVISION_ARCHITECTURES, TrainingConfig
from training.architectures import (
    TORCHVISION_MEAN,
    TORCHVISION_STD,
    require_pretrained_weights,
    vision_arch,
)
from training.augment import RandomInfrared
from training.backbone import (
    HEADS,
    LITE0_MEAN,
    LITE0_STD,
    bear_mass_classifier,
    bear_mass_splitter,
    lite0_classifier,
    lite0_splitter,
)
from training.cache import cache_all
from training.errors import TrainingError
from training.items import LABELS, TrainItem
from training.split import Split

log = logging.getLogger("training")
BEAR_CLASS = "bear"
SQUISH_RATIOS = (0.45, 2.2)
DEFAULT_LR = {"bear_mass": 5e-4, "new": 2e-3}


@dataclass(frozen=True, slots=True)
class TrainOptions:
    """How to train. Sizes in px, learning rate per step of the one-cycle schedule.

    Attributes:
        epochs: epochs with the whole network unfrozen (after `freeze_epochs` head-only ones).
        size: side of the square training crop, px (small keeps 2 CPU cores fast).
        min_scale: smallest share of the image RandomResizedCrop keeps, 0..1 (keeps far
            bears from being cropped out too often).
        infrared_prob: share of training images turned into infrared-like greyscale, 0..1.
        max_lighting: aug_transforms brightness/contrast change, 0..1.
        head: `bear_mass` (start from the built-in zero-shot model) or `new` (fresh head).
        base_lr: fine_tune's base learning rate; None = 5e-4 for `bear_mass` (a trained
            classifier only needs nudging: 2e-3 lost ImageNet's look-alike knowledge and
            doubled the false alarms on the held-out photos) and 2e-3 (fastai's default) for
            `new`.
        cache_dir: where downscaled copies live (default: `<out>/.cache`).
        architecture: `efficientnet_lite0` or a torchvision model name
            (`kernel.config.TORCHVISION_ARCHITECTURES`).
        pretrained: start from ImageNet weights (a torchvision model's must be in torch
            hub's cache; nothing is downloaded).
    """

    seed: int = 42
    epochs: int = 3
    freeze_epochs: int = 1
    size: int = 160
    batch_size: int = 16
    base_lr: float | None = None
    min_scale: float = 0.5
    infrared_prob: float = 0.3
    max_lighting: float = 0.4
    head: str = "bear_mass"
    cache_dir: Path | None = None
    architecture: str = LITE0_ARCHITECTURE
    pretrained: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.freeze_epochs < 0:
            raise TrainingError(f"epochs must be >= 1 (got {self.epochs}) and freeze_epochs "
                                f">= 0 (got {self.freeze_epochs})")
        if not 32 <= self.size <= 1024:
            raise TrainingError(f"size must be within 32..1024 px, got {self.size}")
        if self.batch_size < 2:
            raise TrainingError(f"batch_size must be >= 2 (batch norm), got {self.batch_size}")
        if self.head not in HEADS:
            raise TrainingError(f"head must be one of {HEADS}, got {self.head!r}")
        if self.architecture not in (LITE0_ARCHITECTURE, *TORCHVISION_ARCHITECTURES):
            raise TrainingError(
                f"architecture {self.architecture!r} is not supported; use "
                f"{LITE0_ARCHITECTURE!r} or a torchvision model name: "
                f"{', '.join(TORCHVISION_ARCHITECTURES)}")
        if self.head == "bear_mass" and (self.architecture != LITE0_ARCHITECTURE
                                         or not self.pretrained):
            raise TrainingError(
                f"head 'bear_mass' starts from the pretrained {LITE0_ARCHITECTURE} ImageNet "
                f"classifier; with architecture {self.architecture!r} and pretrained "
                f"{self.pretrained} use head 'new'")

    @classmethod
    def from_config(cls, section: TrainingConfig, **overrides: Any) -> TrainOptions:
        """The options `training:` sets (epochs, size, head, architecture, augmentation, …),
        with `overrides` (command-line flags; None keeps the configured or default value)
        on top. Fields the section does not have (seed, base_lr, min_scale, cache_dir) keep
        their defaults unless overridden.

        Raises:
            TrainingError: an override is out of range (as the constructor).
        """
        names = {f.name for f in fields(cls)}
        configured = section.model_dump(include=names)
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(**{**configured, **given})

    @property
    def normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(mean, std) per channel on 0..1 pixels, the input space the backbone's weights
        expect (kept without pretrained weights too, so served inputs match either way)."""
        if self.architecture == LITE0_ARCHITECTURE:
            return LITE0_MEAN, LITE0_STD
        return TORCHVISION_MEAN, TORCHVISION_STD


@dataclass(frozen=True, slots=True)
class TrainResult:
    """A trained Learner with what it was trained on and how it did on the held-out split.

    Attributes:
        valid_p_bear: p_bear (0..1) of each validation item, in `split.valid` order.
        seconds: wall time of data preparation plus training, s.
    """

    learner: Learner
    items: tuple[TrainItem, ...]
    split: Split
    valid_p_bear: np.ndarray
    options: TrainOptions
    seconds: float


def build_dataloaders(items: Sequence[TrainItem], split: Split, options: TrainOptions, *,
                      cache_dir: Path) -> DataLoaders:
    """fastai DataLoaders over downscaled copies of `items`, split by `split` (no shuffling of
    the split itself: it is the one given)."""
    cached = cache_all([(it.path, it.crop) for it in items], cache_dir,
                       max_side=options.size * 2)
    frame = pd.DataFrame({"image": [str(p) for p in cached], "label": [it.label for it in items]})
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=list(LABELS))),
        get_x=ColReader("image"),
        get_y=ColReader("label"),
        splitter=IndexSplitter(list(split.valid)),
        # Wide aspect range: crops are squished to a square, as the detector squishes whole
        # frames; on validation images (almost all inside the range) it is a plain squish.
        item_tfms=RandomResizedCrop(options.size, min_scale=options.min_scale,
                                    ratio=SQUISH_RATIOS),
        batch_tfms=[
            *aug_transforms(max_lighting=options.max_lighting, p_lighting=0.9, max_rotate=5.0,
                            max_warp=0.1),
            RandomInfrared(prob=options.infrared_prob),
            Normalize.from_stats(*options.normalisation),
        ],
    )
    # num_workers=0: on two cores worker processes cost more than they save, and the batches
    # then come from this process's seeded generators (reproducible).
    return block.dataloaders(frame, bs=options.batch_size, num_workers=0, device="cpu")


def train(items: Sequence[TrainItem], split: Split, options: TrainOptions, *,
          work_dir: Path) -> TrainResult:
    """Fine-tune the configured backbone on `items[split.train]`, validate on
    `items[split.valid]`.

    Args:
        work_dir: the Learner's path (exports land here) and the default cache parent.

    Raises:
        TrainingError: a side of the split lacks one of the two labels, or a pretrained
            torchvision backbone's weights file is not in torch hub's cache.
    """
    for side, idx in (("training", split.train), ("validation", split.valid)):
        have = {items[i].label for i in idx}
        if have != set(LABELS):
            raise TrainingError(f"the {side} side has only {sorted(have)}; both 'bear' and "
                                "'no_bear' examples are needed: add images of the missing label")
    from_torchvision = options.architecture != LITE0_ARCHITECTURE
    if from_torchvision and options.pretrained:
        # Before any data work: a missing file must fail at start, not after caching.
        require_pretrained_weights(options.architecture)
    started = time.monotonic()
    set_seed(options.seed, reproducible=True)
    dls = build_dataloaders(items, split, options,
                            cache_dir=options.cache_dir or work_dir / ".cache")
    if from_torchvision:
        # normalize=False: the DataBlock already normalises with this backbone's statistics;
        # fastai would add them only when pretrained, and serving must see the same input.
        learner = vision_learner(dls, vision_arch(options.architecture), normalize=False,
                                 pretrained=options.pretrained, loss_func=CrossEntropyLossFlat(),
                                 metrics=[accuracy], path=work_dir)
    else:
        net: nn.Module
        splitter: Callable[[Any], list[Any]]
        if options.head == "bear_mass":
            net, splitter = bear_mass_classifier(), bear_mass_splitter
        else:
            net, splitter = (lite0_classifier(len(LABELS), pretrained=options.pretrained),
                             lite0_splitter)
        learner = Learner(dls, net, loss_func=CrossEntropyLossFlat(), metrics=[accuracy],
                          splitter=splitter, path=work_dir)
    log.info("training %s%s on %d images, validating on %d (seed %d, %d px, %d+%d epochs)",
             options.architecture, "" if options.pretrained else " from scratch",
             len(split.train), len(split.valid), options.seed, options.size,
             options.freeze_epochs, options.epochs)
    learner.fine_tune(options.epochs, base_lr=options.base_lr or DEFAULT_LR[options.head],
                      freeze_epochs=options.freeze_epochs)
    probs, _ = learner.get_preds(dl=dls.valid)
    bear_col = list(dls.vocab).index(BEAR_CLASS)
    return TrainResult(learner=learner, items=tuple(items), split=split,
                       valid_p_bear=probs[:, bear_col].numpy().astype(np.float64),
                       options=options, seconds=time.monotonic() - started)

