"""The `Model` interface the pipeline scores frames with, and its one torch implementation.

Both the built-in EfficientNet-Lite0 and a fastai Learner's `learn.model` run through
`TorchClassifier`: batched device-side pre-processing, `torch.inference_mode()`, fp16 autocast
and channels-last on CUDA, softmax, and `p_bear` = the probability mass of the bear classes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from detector.preprocess import InputSpec, Preprocessor
from kernel.records import Frame


@runtime_checkable
class Model(Protocol):
    """Scores frames: `p_bear` per frame, 0..1.

    Attributes:
        version: model version id, stored with every detection and alert.
        device: where the forward pass runs.
    """

    version: str
    device: torch.device

    def score(self, frames: Sequence[Frame]) -> np.ndarray:
        """float32 array of shape (len(frames),), each 0..1."""
        ...

    def score_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """As `score`, for bare HxWx3 uint8 RGB arrays."""
        ...


# A small camera frame: big enough that the pre-processing resizes, as real frames do.
_WARM_UP_FRAME = (240, 320, 3)


def warm_up(model: Model, max_batch: int) -> float:
    """Score blank frames at batch `max_batch` (twice) and 1, so that the first camera frames
    after a start do not pay the runtime's first-run costs; returns the seconds it took.

    Those costs are large against a batch: ONNX Runtime plans its memory on a shape's first
    runs (a batch of 8 took 167 ms, then 87 ms, then 40 ms on 2 cores), and CUDA picks its
    kernels. Unwarmed, the frames queued behind the first batches reached the review queue
    up to 1.3 s after capture against 0.2 s after.
    """
    t0 = time.perf_counter()
    blank = np.zeros(_WARM_UP_FRAME, dtype=np.uint8)
    for n in (max_batch, max_batch, 1):
        model.score_images([blank] * max(1, n))
    return time.perf_counter() - t0


def bear_mass(logits: torch.Tensor, bear: torch.Tensor) -> torch.Tensor:
    """(B, classes) logits → (B,) p_bear: the softmax mass of the bear classes `bear`. One
    function for eager torch and for the graph the ONNX export traces, so they cannot drift."""
    return logits.float().softmax(dim=1).index_select(1, bear).sum(dim=1)


class TorchClassifier:
    """A torch image classifier whose softmax over `bear_indices` is `p_bear`.

    Args:
        net: module mapping (B,3,S,S) normalised floats to (B,C) logits.
        spec: its input size and normalisation.
        device: where to run it.
        bear_indices: output classes that mean "bear".
        version: model version id.
    """

    def __init__(self, net: nn.Module, spec: InputSpec, device: torch.device,
                 bear_indices: Sequence[int], version: str) -> None:
        if not bear_indices:
            raise ValueError("TorchClassifier needs at least one bear class index")
        self.version = version
        self.device = device
        self.spec = spec
        self.net = net.eval().to(device)
        # Channels-last helps the CPU (oneDNN) and the GPU (tensor cores) convolutions alike.
        self.net = self.net.to(memory_format=torch.channels_last)
        self.preprocess = Preprocessor(spec, device)
        self.bear_indices = tuple(int(i) for i in bear_indices)
        self._bear = torch.tensor(list(bear_indices), dtype=torch.long, device=device)

    def score(self, frames: Sequence[Frame]) -> np.ndarray:
        return self.score_images([f.image for f in frames])

    def score_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if not images:
            return np.zeros((0,), dtype=np.float32)
        with torch.inference_mode():
            return self._p_bear(self.preprocess(images))

    def forward_tensor(self, x: torch.Tensor) -> np.ndarray:
        """Score an already pre-processed batch (the benchmark's raw-forward limit)."""
        with torch.inference_mode():
            return self._p_bear(x)

    def _p_bear(self, x: torch.Tensor) -> np.ndarray:
        x = x.contiguous(memory_format=torch.channels_last)
        if self.device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.float16):
                logits = self.net(x)
        else:
            logits = self.net(x)
        probs = bear_mass(logits, self._bear)
        return probs.clamp_(0.0, 1.0).cpu().numpy().astype(np.float32)
