"""What the frozen EfficientNet-Lite0 sees of each training or evaluation view: its pooled
1280-d features and the zero-shot bear logit of its ImageNet classifier.

The shipped model keeps the ImageNet backbone exactly as it is (so it cannot forget what it
knew about moose, birds and badgers) and learns only a small head on top (`detector.head`), so
every view is pushed through the network once and its features are cached on disk. Leave-one-
source-out cross-validation then refits only the head per fold, which costs milliseconds.

A view is an item (a whole image or a crop of it) in a look: `plain`; `infrared`, a synthetic
night frame made from a day photo (greyscale, IR glow and vignette, sensor noise, blur, low
contrast), since night bears are scarce and night no-bear frames plentiful; or `lowres`, the
view shrunk to a few dozen pixels and blown back up, as a far bear looks in a region crop.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from detector.models import LITE0_SPEC, Lite0Features, Preprocessor
from training.errors import TrainingError
from training.items import TrainItem

log = logging.getLogger("training")

LOOKS = ("plain", "infrared", "lowres")
# Frames are read as ingest reads them (downscaled to ingest.max_width) before any crop, so a
# crop here has the pixels a served region crop has.
READ_MAX_SIDE = 1280
BATCH = 16
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class View:
    """One input the network sees: an item in a look (`plain` or `infrared`)."""

    item: TrainItem
    look: str = "plain"

    def __post_init__(self) -> None:
        if self.look not in LOOKS:
            raise ValueError(f"View of {self.item.ref!r}: look must be one of {LOOKS}, "
                             f"got {self.look!r}")

    @property
    def key(self) -> str:
        it = self.item
        st = it.path.stat()
        # "content-seed": looks drawn before the seed came from the bytes are not reused.
        raw = (f"{it.path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{it.crop}|{self.look}"
               "|content-seed")
        return hashlib.sha1(raw.encode()).hexdigest()

    @property
    def seed(self) -> int:
        """The seed of this view's synthetic night or low-resolution look: from the photo's
        bytes, its crop and the look, never its path or mtime (the cache `key` has those), so
        a clone elsewhere or a fresh copy of the photos draws the same noise and rebuilds the
        same model. A path-derived seed made CI's rebuild differ from the committed one."""
        digest = hashlib.sha1(self.item.path.read_bytes())
        digest.update(f"|{self.item.crop}|{self.look}".encode())
        return int(digest.hexdigest()[:8], 16)


@dataclass(frozen=True, slots=True)
class ViewFeatures:
    """Features of views, row i for view i.

    Attributes:
        features: (N, 1280) float32, the globally pooled last feature map.
        zero_shot: (N,) float32, the ImageNet bear logit log(p / (1 - p)) of the built-in model.
    """

    features: np.ndarray
    zero_shot: np.ndarray

    def __post_init__(self) -> None:
        if self.features.ndim != 2 or self.features.shape[0] != self.zero_shot.shape[0]:
            raise ValueError(f"ViewFeatures: features {self.features.shape} and zero_shot "
                             f"{self.zero_shot.shape} disagree")

    def rows(self, index: Sequence[int] | np.ndarray) -> ViewFeatures:
        idx = np.asarray(index, dtype=np.int64)
        return ViewFeatures(self.features[idx], self.zero_shot[idx])


def read_view(view: View) -> np.ndarray:
    """The view's pixels as HxWx3 uint8 RGB (a crop is cut after ingest's downscale).

    Raises:
        TrainingError: the file is not a readable image.
    """
    it = view.item
    try:
        with Image.open(it.path) as im:
            full_w, full_h = im.size
            im.draft("RGB", (READ_MAX_SIDE, READ_MAX_SIDE))
            rgb = np.asarray(im.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as exc:
        raise TrainingError(f"{it.path}: not a readable image ({exc}); fix or remove the "
                            "manifest row") from exc
    scale = min(1.0, READ_MAX_SIDE / max(full_w, full_h))
    h, w = round(full_h * scale), round(full_w * scale)
    if rgb.shape[:2] != (h, w):
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    if it.crop is not None:
        x, y, cw, ch = (round(v * scale) for v in it.crop)
        rgb = rgb[y:y + max(ch, 1), x:x + max(cw, 1)]
    if view.look == "infrared":
        rgb = infrared_look(rgb, seed=view.seed)
    elif view.look == "lowres":
        rgb = lowres_look(rgb, seed=view.seed)
    return np.ascontiguousarray(rgb)


def infrared_look(rgb: np.ndarray, *, seed: int) -> np.ndarray:
    """A day photo made to look like an infrared camera-trap night frame: greyscale with a
    random gain and gamma, lowered contrast, a flash-lit centre and dark corners (vignette),
    sensor noise and a slight blur. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    luma = (rgb.astype(np.float32) @ _LUMA) / 255.0
    luma = np.clip(luma * rng.uniform(0.6, 1.3), 0, 1) ** rng.uniform(0.7, 1.5)
    contrast = rng.uniform(0.5, 0.9)
    luma = 0.5 + (luma - 0.5) * contrast - rng.uniform(0.0, 0.2)
    h, w = luma.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    luma = luma * (1.0 - rng.uniform(0.2, 0.6) * np.clip(r2 / 2, 0, 1))
    luma = luma + rng.normal(0, rng.uniform(0.01, 0.05), size=luma.shape).astype(np.float32)
    k = int(rng.choice([1, 3, 5]))
    if k > 1:
        luma = cv2.GaussianBlur(luma, (k, k), 0)
    grey = (np.clip(luma, 0, 1) * 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def lowres_look(rgb: np.ndarray, *, seed: int) -> np.ndarray:
    """The view as a far or low-resolution camera shows it: shrunk to 24–72 px on its longer
    side and blown back up (a 30-px bear in a region crop is a blur of a few dozen pixels),
    with sensor noise. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    side = int(rng.integers(24, 73))
    scale = side / max(h, w)
    if scale < 1:
        small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
        rgb = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    noise = rng.normal(0, rng.uniform(1, 6), size=rgb.shape)
    return np.clip(rgb.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def view_features(views: Sequence[View], *, cache_dir: Path,
                  device: torch.device | None = None) -> ViewFeatures:
    """Features of every view, computed once (batched, on `device`) and cached in
    `cache_dir` by the view's file, size, mtime, crop and look. Logs progress with rate and
    ETA while computing.

    Raises:
        TrainingError: a view's file is not a readable image.
    """
    dev = device or torch.device("cpu")
    cache_dir.mkdir(parents=True, exist_ok=True)
    keys = [v.key for v in views]
    out = np.zeros((len(views), Lite0Features.FEATURES + 1), dtype=np.float32)
    todo = []
    for i, key in enumerate(keys):
        path = cache_dir / f"{key}.npy"
        if path.is_file():
            out[i] = np.load(path)
        else:
            todo.append(i)
    if todo:
        net = Lite0Features.imagenet().to(dev).eval()
        prep = Preprocessor(LITE0_SPEC, dev)
        started = time.monotonic()
        for at in range(0, len(todo), BATCH):
            chunk = todo[at:at + BATCH]
            images = [read_view(views[i]) for i in chunk]
            # Always a full batch: the kernels then see one shape whatever was cached
            # before, so a view's features (and a rebuilt model) are the same bit for bit.
            images += [images[-1]] * (BATCH - len(images))
            with torch.inference_mode():
                feats, zs = net(prep(images))
            rows = torch.cat([feats, zs[:, None]], dim=1).float().cpu().numpy()[:len(chunk)]
            for i, row in zip(chunk, rows, strict=True):
                out[i] = row
                np.save(cache_dir / f"{keys[i]}.npy", row)
            done = at + len(chunk)
            if done == len(todo) or (at // BATCH) % 10 == 0:
                rate = done / max(time.monotonic() - started, 1e-9)
                log.info("features: %d/%d views (%.1f/s, ETA %.0f s)", done, len(todo), rate,
                         (len(todo) - done) / rate)
    return ViewFeatures(features=out[:, :-1], zero_shot=out[:, -1])
