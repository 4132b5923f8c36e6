"""Decoding one image file or HTTP snapshot (JPEG, PNG, …) into a frame, safely.

Every still a camera sends goes through `decode_image`: hostile or broken bytes (empty,
truncated, random, a decompression bomb) become a `CorruptFrameError` naming the file or the
camera, never another exception and never a multi-gigabyte allocation. The size a file
declares is read from its header (Pillow reads only the header) before OpenCV decodes it: a
389 KB PNG declaring 20000×20000 px otherwise costs OpenCV 2.3 GB and seconds, and OpenCV's
own limit (`CV_IO_MAX_IMAGE_PIXELS`, 2^30 px) is far above what a camera sends.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from camera_ingest.capture import to_rgb
from camera_ingest.errors import CorruptFrameError

MAX_IMAGE_PIXELS = 100_000_000
"""The most pixels (width × height) a still may declare: a 48 MP trail camera fits twice over;
decoded that is 300 MB of RGB, the most one frame may cost."""


def declared_size(data: bytes | np.ndarray, ref: str) -> tuple[int, int] | None:
    """(width, height) that the image header declares, or None when Pillow cannot read one
    (a format it does not know, or a broken header: OpenCV then decides).

    Raises:
        CorruptFrameError: it declares more than `MAX_IMAGE_PIXELS` pixels.
    """
    # Cameras hand bytes (no copy: BytesIO shares them); an array is copied once.
    raw = data.tobytes() if isinstance(data, np.ndarray) else data
    try:
        with warnings.catch_warnings():
            # Only the header is read here; the bomb check below is ours.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as img:
                width, height = img.size
    except Image.DecompressionBombError as exc:
        raise CorruptFrameError(ref, f"declares too many pixels ({exc}); refused undecoded, "
                                     f"the limit is {MAX_IMAGE_PIXELS} px") from exc
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError):
        return None
    if width * height > MAX_IMAGE_PIXELS:
        raise CorruptFrameError(ref, f"declares {width}x{height} px, more than the limit of "
                                     f"{MAX_IMAGE_PIXELS} px; refused undecoded")
    return width, height


def decode_image(data: bytes | np.ndarray, ref: str,
                 mode: Literal["rgb", "grey"] = "rgb") -> np.ndarray:
    """Decode encoded image bytes into HxWx3 uint8 RGB (`mode="grey"`: HxW uint8).

    Greyscale, RGBA, CMYK and 16-bit files are converted (alpha dropped, 16 bits scaled to 8).

    Args:
        data: the file's bytes (or a uint8 array of them).
        ref: the file path or camera shown in the error.

    Raises:
        CorruptFrameError: empty, not a decodable image, or larger than `MAX_IMAGE_PIXELS`.
    """
    buf = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    if buf.size == 0:
        raise CorruptFrameError(ref, "empty (0 bytes)")
    declared_size(data, ref)
    flag = cv2.IMREAD_GRAYSCALE if mode == "grey" else cv2.IMREAD_COLOR
    try:
        decoded = cv2.imdecode(buf, flag)
    except cv2.error as exc:
        raise CorruptFrameError(ref, f"not a decodable image ({exc})") from exc
    if decoded is None or decoded.size == 0:
        raise CorruptFrameError(ref, "not a decodable image")
    if mode == "grey":
        return decoded
    return to_rgb(decoded, ref)
