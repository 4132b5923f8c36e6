"""Quality flags computed on every frame (DESIGN.md §1): luma, infrared, low resolution, night.

The image statistics are taken on a small area-averaged copy of the frame (`analysis_view`):
area averaging keeps the means of the full frame, and it costs a fraction of a full-size pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np
from astral import Observer
from astral.sun import elevation

from kernel.records import NightSource

ANALYSIS_WIDTH = 320
"""Width, px, of the copy the statistics and the motion score are computed on."""

CIVIL_TWILIGHT_DEG = -6.0
"""Sun altitude, degrees, below which it is night (end of civil twilight)."""


@dataclass(frozen=True, slots=True)
class ImageStats:
    """Statistics of one frame.

    Attributes:
        mean_luma: mean Rec.601 luma Y, 0..255.
        mean_chroma: mean |Cb-128| + |Cr-128|, 0..255; near 0 for grey (infrared) frames.
        grey: the analysis-size luma plane (uint8), reused by the motion detector.
    """

    mean_luma: float
    mean_chroma: float
    grey: np.ndarray


def downscale(image: np.ndarray, max_width: int) -> np.ndarray:
    """Shrink an HxWx3 image to at most `max_width` px wide (aspect kept); smaller ones pass."""
    h, w = image.shape[:2]
    if w <= max_width:
        return image
    new_h = max(1, round(h * max_width / w))
    # INTER_AREA averages properly but is ~6x slower at non-integer ratios such as 1080p->1280;
    # below 2x bilinear loses nothing visible, so it keeps 1080p ingest cheap.
    interp = cv2.INTER_AREA if w >= 2 * max_width else cv2.INTER_LINEAR
    return cv2.resize(image, (max_width, new_h), interpolation=interp)


def analysis_view(rgb: np.ndarray) -> np.ndarray:
    """The small copy (at most ANALYSIS_WIDTH wide) the statistics are taken on."""
    return downscale(rgb, ANALYSIS_WIDTH)


def image_stats(rgb: np.ndarray) -> ImageStats:
    """Luma and chroma of an HxWx3 uint8 RGB frame (Rec.601, OpenCV's YCrCb)."""
    small = analysis_view(rgb)
    ycc = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)
    y = ycc[..., 0]
    cr = np.abs(ycc[..., 1].astype(np.int16) - 128)
    cb = np.abs(ycc[..., 2].astype(np.int16) - 128)
    return ImageStats(mean_luma=float(y.mean()), mean_chroma=float(cr.mean() + cb.mean()),
                      grey=np.ascontiguousarray(y))


def mean_luma(rgb: np.ndarray) -> float:
    """Mean Rec.601 luma (0.299 R + 0.587 G + 0.114 B) of an RGB frame, 0..255."""
    return image_stats(rgb).mean_luma


def is_infrared(mean_chroma: float, *, chroma_max: float) -> bool:
    """An infrared (or any greyscale) frame has almost no colour: mean |chroma| below the limit."""
    return mean_chroma < chroma_max


def is_low_res(width: int, height: int, *, min_width: int, min_height: int) -> bool:
    """True when the frame, as the camera delivers it, is narrower or shorter than the minimum."""
    return width < min_width or height < min_height


def sun_altitude(latitude: float, longitude: float, at: datetime) -> float:
    """Sun altitude above the horizon, degrees, at a place and UTC time (astral)."""
    return float(elevation(Observer(latitude=latitude, longitude=longitude), at))


def is_night(*, at: datetime, latitude: float | None, longitude: float | None,
             luma: float, infrared: bool, night_luma_max: float) -> tuple[bool, NightSource]:
    """Night by the sun when the camera has coordinates, else by the image.

    Returns:
        (is_night, how it was decided): sun altitude below -6 degrees (`sun`), or the image
        test: mean luma below `night_luma_max` or an infrared frame (`image`).
    """
    if latitude is not None and longitude is not None:
        return sun_altitude(latitude, longitude, at) < CIVIL_TWILIGHT_DEG, NightSource.SUN
    return (luma < night_luma_max or infrared), NightSource.IMAGE
