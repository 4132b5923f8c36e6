"""How stored values are shown: image files found under the storage root (and drawn as HTML
with the detector's region over them), UTC times in the operators' time zone, night decided
from a camera's coordinates, the waiting count in the browser tab's title."""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from camera_ingest import is_night
from kernel.config import StorageConfig
from kernel.records import Box

APP_TITLE = "Bearwatch"
THUMB_WIDTH = 160  # px of a filmstrip thumbnail (shown at about 90 px, sharp on a phone)
_MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def resolve_image(storage: StorageConfig, path: str | None) -> Path | None:
    """The file a stored image path names: as given, else under the storage root or its
    snapshots folder (paths are stored relative to either). None when nothing is there."""
    if not path:
        return None
    p = Path(path)
    for candidate in (p, storage.root / p, storage.snapshots_dir / p):
        if candidate.is_file():
            return candidate
    return None


def local_time(at: datetime, tz: str) -> str:
    """`at` (UTC) in the operators' zone, e.g. `2026-07-01 05:00:00 CEST`."""
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")


def night_from_sun(at: datetime, latitude: float | None, longitude: float | None) -> bool | None:
    """Night by the sun (below civil twilight) at the camera, or None without coordinates."""
    if latitude is None or longitude is None:
        return None
    # The image fields are unused when coordinates exist: the sun decides.
    night, _source = is_night(at=at, latitude=latitude, longitude=longitude, luma=255.0,
                              infrared=False, night_luma_max=0.0)
    return night


def data_url(path: Path) -> str:
    """The file as a `data:` URL, so st.html shows it (it cannot reach our files itself)."""
    mime = _MIME.get(path.suffix.lower(), "image/jpeg")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def thumbnail_url(path: Path, width: int = THUMB_WIDTH) -> str:
    """A small JPEG of the image as a `data:` URL (a filmstrip of 60 full frames would be
    megabytes on every rerun)."""
    with Image.open(path) as src:
        im = src.convert("RGB")
    im.thumbnail((width, width))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=80)
    return f"data:image/jpeg;base64,{base64.b64encode(buf.getvalue()).decode()}"


def region_crop(path: Path, region: Box, *, min_width: int = 480) -> Image.Image:
    """The region with a margin of half its size around it, enlarged to at least `min_width`
    px wide (a 30-px bear becomes something an operator can judge)."""
    x, y, w, h = region
    with Image.open(path) as im:
        W, H = im.size
        box = (max(0, x - w // 2), max(0, y - h // 2), min(W, x + w + w // 2),
               min(H, y + h + h // 2))
        crop = im.convert("RGB").crop(box)
    scale = max(1.0, min_width / max(1, crop.width))
    return crop.resize((round(crop.width * scale), round(crop.height * scale)),
                       Image.Resampling.LANCZOS)


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) px, read from the header only."""
    with Image.open(path) as im:
        return im.size


def frame_html(src: str, size: tuple[int, int], region: Box | None, *, alt: str,
               full_size: bool = False) -> str:
    """One frame with the detector's region drawn over it (a box in % of the image, so it stays
    on the bear at any displayed size).

    Args:
        src: the image URL (`data_url`).
        size: the image's (width, height), px: the region's frame of reference.
        region: (x, y, w, h) px of that image, or None (the whole frame: no box).
        full_size: at its natural size (scrolls) instead of the container's width.
    """
    w, h = size
    box = ""
    if region is not None and w > 0 and h > 0:
        x, y, rw, rh = region
        box = (f'<div class="bw-region" style="left:{100 * x / w:.3f}%;top:{100 * y / h:.3f}%;'
               f'width:{100 * rw / w:.3f}%;height:{100 * rh / h:.3f}%"></div>')
    width = f"width:{w}px;max-width:none" if full_size else "width:100%"
    return (f'<div class="bw-frame" style="{width}"><img class="bw-frame-img" src="{src}" '
            f'alt="{html.escape(alt)}">{box}</div>')


def filmstrip_html(thumbs: list[tuple[str, str]], current: int) -> str:
    """A row of thumbnails (`(data URL, label)` each) with the current one outlined; it
    scrolls sideways on a phone instead of stacking."""
    cells = []
    for i, (src, label) in enumerate(thumbs):
        cls = "bw-thumb bw-current" if i == current else "bw-thumb"
        cells.append(f'<figure class="{cls}" data-index="{i}"><img src="{src}" '
                     f'alt="{html.escape(label)}"><figcaption>{html.escape(label)}</figcaption>'
                     "</figure>")
    return f'<div class="bw-strip">{"".join(cells)}</div>'


def tab_title(waiting: int) -> str:
    """The browser tab's title: `(2) Bearwatch` while 2 alerts wait, else `Bearwatch`."""
    return f"({waiting}) {APP_TITLE}" if waiting > 0 else APP_TITLE


def title_script(waiting: int, *, chime: bool) -> str:
    """A script (for st.html with JavaScript) that puts the waiting count in the tab title and,
    when `chime`, plays a short tone if the count went up since the last time it ran in this
    tab (`window.__bearwatchChimes` counts them, for tests)."""
    title = json.dumps(tab_title(waiting))
    return f"""<script>
(() => {{
  const w = window, n = {int(waiting)}, prev = w.__bearwatchWaiting;
  w.__bearwatchWaiting = n;
  w.document.title = {title};
  if (!{str(chime).lower()} || prev === undefined || n <= prev) return;
  w.__bearwatchChimes = (w.__bearwatchChimes || 0) + 1;
  try {{
    const ctx = w.__bearwatchAudio || (w.__bearwatchAudio = new AudioContext());
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.4);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.4);
  }} catch (e) {{ /* no audio device, or the browser wants a click first */ }}
}})();
</script>"""
