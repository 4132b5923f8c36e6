"""Training-time augmentation that lets day photos teach night: a random switch to an
infrared-like greyscale image.

Kept at module level in an importable module: the exported Learner pickles its transforms by
reference, so `load_learner` in a fresh process must be able to import this class.
"""

from __future__ import annotations

import torch
from fastai.vision.all import RandTransform, TensorImage

# Rec.601 luma weights: the same luma the ingest quality flags use.
_LUMA = (0.299, 0.587, 0.114)


class RandomInfrared(RandTransform):
    """With probability `prob` per image (training batches only), replace the colour image by
    its luma in all three channels, with a random gain so it looks like a flash-lit or dim
    infrared frame.

    Args:
        prob: chance per image, 0..1.
        max_gain: luma is scaled by a factor drawn from [1 / max_gain, max_gain].
    """

    split_idx = 0  # training only: validation images stay as they are
    order = 45  # after aug_transforms' lighting (40), before Normalize (99)

    def __init__(self, prob: float = 0.3, max_gain: float = 1.3) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"RandomInfrared prob must be within 0..1, got {prob}")
        if max_gain < 1.0:
            raise ValueError(f"RandomInfrared max_gain must be >= 1, got {max_gain}")
        super().__init__(p=1.0)
        self.prob, self.max_gain = prob, max_gain

    def encodes(self, x: TensorImage) -> TensorImage:
        """x: (B, 3, H, W) float 0..1 → same shape, some images greyscale."""
        b = x.shape[0]
        w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        luma = (x * w).sum(dim=1, keepdim=True)
        log_gain = (torch.rand(b, 1, 1, 1, device=x.device) * 2 - 1) * float(
            torch.log(torch.tensor(self.max_gain)))
        grey = (luma * log_gain.exp()).clamp(0, 1).expand_as(x)
        pick = (torch.rand(b, 1, 1, 1, device=x.device) < self.prob).to(x.dtype)
        return TensorImage(x * (1 - pick) + grey * pick)
