"""Downscaled copies of the training images, made once and reused by every epoch and run.

Decoding a 2048-px camera frame costs far more than the whole forward pass at 160 px on two
CPU cores; each epoch would pay it again. The copies keep the aspect ratio and are at least
`max_side` px on their long side, enough for RandomResizedCrop at the training size.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from training.errors import TrainingError
from training.items import Box

log = logging.getLogger("training")


def load_rgb(path: Path, *, max_side: int, crop: Box | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB of the image (or its crop, x/y/w/h px), long side at most `max_side`."""
    with Image.open(path) as im:
        if crop is None:
            # JPEG draft mode decodes at 1/2, 1/4 or 1/8 scale directly: much faster.
            im.draft("RGB", (max_side, max_side))
            rgb = im.convert("RGB")
        else:
            x, y, w, h = crop
            rgb = im.convert("RGB").crop((x, y, x + w, y + h))
    rgb.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)


def cached_copy(src: Path, cache_dir: Path, *, max_side: int, crop: Box | None = None) -> Path:
    """The RGB JPEG copy of `src` (or of its `crop`, x/y/w/h px) with its long side at most
    `max_side` px (made if missing).

    The name hashes the source path, size, mtime, crop and `max_side`, so an edited source or
    a new size makes a new copy and a stale one is never used.

    Raises:
        TrainingError: `src` is not a readable image.
    """
    st = src.stat()
    key = f"{src.resolve()}|{st.st_size}|{st.st_mtime_ns}|{max_side}|{crop}"
    dst = cache_dir / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.jpg"
    if dst.exists():
        return dst
    try:
        rgb = Image.fromarray(load_rgb(src, max_side=max_side, crop=crop))
    except (UnidentifiedImageError, OSError) as exc:
        raise TrainingError(f"cannot read image {src}: {exc}; remove it from the data or "
                            "replace it with a valid JPEG/PNG") from exc
    tmp = dst.with_suffix(".tmp")
    rgb.save(tmp, format="JPEG", quality=92)
    tmp.replace(dst)
    return dst


def cache_all(sources: Sequence[tuple[Path, Box | None]], cache_dir: Path, *, max_side: int
              ) -> list[Path]:
    """`cached_copy` for each (path, crop), logging progress with rate and ETA every few
    seconds."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    start = last = time.monotonic()
    for i, (p, crop) in enumerate(sources, start=1):
        out.append(cached_copy(p, cache_dir, max_side=max_side, crop=crop))
        now = time.monotonic()
        if now - last >= 5.0 or i == len(sources):
            rate = i / max(now - start, 1e-9)
            log.info("preparing images %d/%d (%.1f/s, ETA %.0f s)", i, len(sources), rate,
                     (len(sources) - i) / rate)
            last = now
    return out
