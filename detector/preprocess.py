"""Batched pre-processing on the model's device: uint8 frames of any size in, one normalised
float batch out.

On CUDA, frames are moved with ONE host→device copy per batch: every frame is packed into a
reusable pinned staging buffer and copied with `non_blocking=True`; the per-frame tensors on the
device are views into that one copy. Frames of the same size are then resized together on the
GPU (one `interpolate` call per distinct size, since cameras send a handful of sizes), with
antialiasing so that downscaling a 1280 px frame does not alias.

On the CPU the host memory is the device memory, so there is no copy; frames are resized in
uint8 with OpenCV (see `Preprocessor._cpu`), four to twenty times cheaper than a float
`interpolate` of the whole frame, which would otherwise cost as much as the forward pass.
Normalisation is a fused multiply-add either way; the batch is channels-last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F

ResizeMethod = Literal["squish", "crop", "pad"]


@dataclass(frozen=True, slots=True)
class InputSpec:
    """What a model expects as input.

    Attributes:
        size: side of the square input, px.
        mean, std: per-channel normalisation on the 0..1 pixel scale (RGB order).
        method: how a non-square frame becomes square — `squish` (stretch, sees the whole
            frame), `crop` (centre crop, fastai's validation default) or `pad` (zero borders).
    """

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    method: ResizeMethod = "squish"

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"InputSpec.size must be >= 1, got {self.size}")
        if any(s <= 0 for s in self.std):
            raise ValueError(f"InputSpec.std must be > 0, got {self.std}")


class Preprocessor:
    """Turn a list of HxWx3 uint8 RGB arrays into a (B,3,size,size) normalised float tensor on
    `device` (channels-last on CUDA)."""

    def __init__(self, spec: InputSpec, device: torch.device) -> None:
        self.spec = spec
        self.device = device
        std = torch.tensor(spec.std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        mean = torch.tensor(spec.mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        # (x/255 - mean)/std == x*scale - shift
        self._scale = 1.0 / (255.0 * std)
        self._shift = mean / std
        self._staging: torch.Tensor | None = None

    def __call__(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        if not images:
            raise ValueError("Preprocessor needs at least one image")
        if self.device.type == "cpu":
            return self._cpu(images)
        on_device = self._to_device(images)
        size = self.spec.size
        groups: dict[tuple[int, int], list[int]] = {}
        for i, img in enumerate(images):
            groups.setdefault((int(img.shape[0]), int(img.shape[1])), []).append(i)
        if len(groups) == 1:
            out = self._resize(torch.stack(on_device))
        else:
            out = torch.empty((len(images), 3, size, size), dtype=torch.float32, device=self.device)
            for idx in groups.values():
                out[torch.tensor(idx, device=self.device)] = self._resize(
                    torch.stack([on_device[i] for i in idx]))
        out = out.mul_(self._scale).sub_(self._shift)
        return out.contiguous(memory_format=torch.channels_last)

    def _cpu(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """On the CPU the host is the device: each frame is resized in uint8 with OpenCV's SIMD
        kernels (an exact box filter by the largest integer factor, then bilinear for the
        remaining < 2x), which costs a fraction of a float `interpolate` of the full frame,
        and only the small (B,size,size,3) batch is converted to float and normalised."""
        x = torch.from_numpy(self.fit_uint8(images)).permute(0, 3, 1, 2).float()
        return x.mul_(self._scale).sub_(self._shift).contiguous(memory_format=torch.channels_last)

    def fit_uint8(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """The frames resized (by `spec.method`) into one (B,size,size,3) uint8 batch on the
        host, not normalised: what a runtime that normalises inside its graph is fed."""
        size = self.spec.size
        batch = np.empty((len(images), size, size, 3), dtype=np.uint8)
        for i, img in enumerate(images):
            batch[i] = _fit_uint8(img, size, self.spec.method)
        return batch

    def _to_device(self, images: Sequence[np.ndarray]) -> list[torch.Tensor]:
        total = sum(img.size for img in images)
        if self._staging is None or self._staging.numel() < total:
            # Grown, never shrunk: a steady stream of similar batches allocates once.
            self._staging = torch.empty(int(total * 1.25), dtype=torch.uint8, pin_memory=True)
        # Safe to overwrite: the previous batch's copy finished when its scores came back
        # to the host (`.cpu()` synchronises the stream).
        host = self._staging.numpy()
        offsets = []
        off = 0
        for img in images:
            n = img.size
            host[off:off + n] = img.reshape(-1)
            offsets.append(off)
            off += n
        flat = self._staging[:total].to(self.device, non_blocking=True)
        return [flat[o:o + img.size].view(img.shape)
                for o, img in zip(offsets, images, strict=True)]

    def _resize(self, batch_hwc: torch.Tensor) -> torch.Tensor:
        """(B,H,W,3) uint8 → (B,3,size,size) float on the 0..255 scale."""
        x = batch_hwc.permute(0, 3, 1, 2).float()
        h, w = int(x.shape[2]), int(x.shape[3])
        size = self.spec.size
        if self.spec.method == "crop" and h != w:
            side = min(h, w)
            top, left = (h - side) // 2, (w - side) // 2
            x = x[:, :, top:top + side, left:left + side]
        elif self.spec.method == "pad" and h != w:
            side = max(h, w)
            top, left = (side - h) // 2, (side - w) // 2
            x = F.pad(x, (left, side - w - left, top, side - h - top))
        if tuple(x.shape[2:]) != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=True)
        return x


def _fit_uint8(img: np.ndarray, size: int, method: ResizeMethod) -> np.ndarray:
    """HxWx3 uint8 → size x size x 3 uint8 by `method` (squish, centre crop, zero pad)."""
    h, w = int(img.shape[0]), int(img.shape[1])
    if method == "crop" and h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        img = img[top:top + side, left:left + side]
    elif method == "pad" and h != w:
        side = max(h, w)
        top, left = (side - h) // 2, (side - w) // 2
        img = cv2.copyMakeBorder(img, top, side - h - top, left, side - w - left,
                                 cv2.BORDER_CONSTANT, value=(0, 0, 0))
    h, w = int(img.shape[0]), int(img.shape[1])
    if (h, w) == (size, size):
        return img
    factor = min(h // size, w // size)
    if factor >= 2:
        # INTER_AREA by an integer factor is an exact box filter (the antialiasing step).
        img = cv2.resize(img, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)
