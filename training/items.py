"""Labelled training items and the group each belongs to.

A group is the unit that must stay on one side of the train/validation split: near-identical
frames of one camera sequence (a trail-camera visit, a camera-trap burst, one alert's frames)
would otherwise leak between the two sides and flatter the validation figures.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from training.errors import TrainingError

LABELS = ("bear", "no_bear")
LIGHTS = ("day", "night", "infrared")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# Frame numbers this close together on one camera are one sequence (a missing frame or two
# inside a burst must not split it).
SEQUENCE_MAX_GAP = 2
_BURST_SUFFIX = re.compile(r"\s*\(\d+\)$")
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<num>\d+)$")
# A boxed bear is cropped with this much context (crop side / bear's longer side), and never
# smaller than CROP_MIN px: the model sees it at the scales region proposals show it (a tile
# of `detector.proposals` holds a 20–100 px bear at about 3–10 times its size).
CROP_CONTEXTS = (4, 8)
CROP_MIN = 128

Box = tuple[int, int, int, int]  # x, y, w, h in pixels of the stored image


@dataclass(frozen=True, slots=True)
class TrainItem:
    """One labelled image for training or evaluation.

    Attributes:
        path: the image file (absolute).
        label: `bear` or `no_bear`.
        light: `day`, `night` or `infrared`.
        group: split unit; items sharing it are always on the same side.
        source: where the label came from: `manifest`, `folder`, `alert` or `audit`, or
            `tile` for an empty tile cut from a no-bear image (`negative_tiles`).
        ref: the name reports use (manifest `file`, or `alert:<id>` / `audit:<id>`).
        crop: the region of `path` this item is (x, y, w, h px), or None for the whole image.
    """

    path: Path
    label: str
    light: str
    group: str
    source: str
    ref: str
    crop: Box | None = None

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"TrainItem {self.ref!r}: label must be one of {LABELS}, "
                             f"got {self.label!r}")
        if self.light not in LIGHTS:
            raise ValueError(f"TrainItem {self.ref!r}: light must be one of {LIGHTS}, "
                             f"got {self.light!r}")
        if not self.group:
            raise ValueError(f"TrainItem {self.ref!r}: group must not be empty")


@dataclass(frozen=True, slots=True)
class _Raw:
    path: Path
    label: str
    light: str
    ref: str
    origin: str  # source_repo + source folder: where sequences can form
    stem: str  # source file stem, variants (';w=960', '_2') already folded
    is_camera: bool
    source: str = "manifest"


def load_labelled(data: Path, *, box_crops: bool = True) -> list[TrainItem]:
    """Read a labelled folder: `manifest.csv` when present, else `bear/` and `no_bear/`
    sub-folders (optionally with `day/`/`night/` below them). With `box_crops`, frames listed
    in `boxes.csv` become crops (`with_box_crops`); without, every item is a whole image.

    Rows whose file is not an image (videos) are left out; a row naming a missing file or an
    unknown label is an error, so a typo never silently shrinks the data.

    Raises:
        TrainingError: the folder is missing, has neither layout, or a row is invalid.
    """
    data = Path(data)
    if not data.is_dir():
        raise TrainingError(f"training data folder {data} does not exist; pass a folder with "
                            "manifest.csv or bear/ and no_bear/ sub-folders")
    manifest = data / "manifest.csv"
    raws = _from_manifest(manifest) if manifest.exists() else _from_folders(data)
    if not raws:
        raise TrainingError(f"{data}: no labelled images found; expected manifest.csv "
                            "(file,label,light,…) or bear/ and no_bear/ sub-folders of images")
    items = assign_groups(raws)
    boxes_csv = data / "boxes.csv"
    if box_crops and boxes_csv.exists():
        return with_box_crops(items, read_boxes(boxes_csv))
    return items


def read_boxes(path: Path) -> dict[str, list[Box]]:
    """`boxes.csv` (file,x,y,w,h): where the bear is in each frame, by manifest `file`.

    Raises:
        TrainingError: a row is not four non-negative integers with w, h > 0.
    """
    boxes: dict[str, list[Box]] = {}
    with path.open(newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                x, y, w, h = (int(row[k]) for k in ("x", "y", "w", "h"))
            except (KeyError, TypeError, ValueError) as exc:
                raise TrainingError(f"{path}:{line}: needs integer x,y,w,h ({exc})") from exc
            if min(x, y) < 0 or min(w, h) <= 0:
                raise TrainingError(f"{path}:{line}: box {x},{y},{w},{h} is empty or negative")
            boxes.setdefault(row["file"], []).append((x, y, w, h))
    return boxes


def _square_around(box: Box, size: tuple[int, int], context: int) -> Box:
    x, y, w, h = box
    width, height = size
    side = min(max(CROP_MIN, context * max(w, h)), width, height)
    left = min(max(0, x + w // 2 - side // 2), width - side)
    top = min(max(0, y + h // 2 - side // 2), height - side)
    return left, top, side, side


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _background(crops: Sequence[Box], boxes: Sequence[Box], size: tuple[int, int], key: str
                ) -> Box | None:
    """A crop of the same size from the same frame that shows none of the bears: a hard
    negative from the very scene, so the model cannot learn the place instead of the bear.
    Chosen among the free grid positions by a hash of `key` (deterministic, varied)."""
    side = crops[0][2]
    width, height = size
    step = max(side // 2, 1)
    free = [(x, y, side, side) for y in range(0, height - side + 1, step)
            for x in range(0, width - side + 1, step)
            if not any(_overlaps((x, y, side, side), b) for b in boxes)]
    if not free:
        return None
    return free[int(hashlib.sha1(key.encode()).hexdigest(), 16) % len(free)]


def with_box_crops(items: Sequence[TrainItem], boxes: dict[str, list[Box]], *,
                   contexts: Sequence[int] = CROP_CONTEXTS) -> list[TrainItem]:
    """Replace each boxed frame by crops: at each context scale, one around each bear (label
    `bear`) and one of background of the same size from the same frame (label `no_bear`), all
    in the frame's group. A far bear of 30 px in a 2048-px frame is invisible at the training
    size; the whole frame labelled `bear` would teach the scene, not the animal."""
    out: list[TrainItem] = []
    for it in items:
        frame_boxes = boxes.get(it.ref)
        if not frame_boxes or it.label != "bear":
            out.append(it)
            continue
        with Image.open(it.path) as im:
            size = im.size
        for context in contexts:
            crops = [_square_around(b, size, context) for b in frame_boxes]
            for k, crop in enumerate(crops):
                out.append(TrainItem(path=it.path, label="bear", light=it.light, group=it.group,
                                     source=it.source, ref=f"{it.ref}#bear{k}x{context}",
                                     crop=crop))
            bg = _background(crops, frame_boxes, size, f"{it.ref}x{context}")
            if bg is not None:
                out.append(TrainItem(path=it.path, label="no_bear", light=it.light,
                                     group=it.group, source=it.source,
                                     ref=f"{it.ref}#background x{context}", crop=bg))
    return out


def negative_tiles(items: Sequence[TrainItem], indices: Sequence[int], *, per_image: int,
                   fractions: Sequence[float]) -> list[TrainItem]:
    """Hard negatives at the scales region proposals score: from each whole no-bear image
    among `indices`, `per_image` square tiles (cycling through `fractions` of the shorter
    side, at positions chosen by a hash of the image's ref: deterministic, varied), labelled
    `no_bear`, in the image's group. Without them a model trained on whole photos and bear
    crops has never seen an empty tile, and the max over ~140 tiles of a still raises false
    alarms on most empty scenes."""
    from detector import tiles

    out: list[TrainItem] = []
    for i in indices:
        it = items[i]
        if it.label != "no_bear" or it.crop is not None or per_image <= 0:
            continue
        with Image.open(it.path) as im:
            width, height = im.size
        for k in range(per_image):
            fraction = fractions[k % len(fractions)]
            boxes = tiles(width, height, fractions=(fraction,), overlap=0.0)
            digest = hashlib.sha1(f"{it.ref}#{k}".encode()).hexdigest()
            out.append(TrainItem(path=it.path, label="no_bear", light=it.light, group=it.group,
                                 source="tile", ref=f"{it.ref}#tile{k}",
                                 crop=boxes[int(digest, 16) % len(boxes)]))
    return out


def _from_manifest(manifest: Path) -> list[_Raw]:
    root = manifest.parent
    raws: list[_Raw] = []
    with manifest.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "label"} - set(reader.fieldnames or ())
        if missing:
            raise TrainingError(f"{manifest}: missing column(s) {sorted(missing)}; needs at "
                                "least file,label (and light, source_repo, source_path)")
        for line, row in enumerate(reader, start=2):
            rel = row["file"]
            if not rel.lower().endswith(IMAGE_SUFFIXES):
                continue
            label = row["label"].strip()
            light = (row.get("light") or "day").strip()
            if label not in LABELS or light not in LIGHTS:
                raise TrainingError(f"{manifest}:{line}: label {label!r} / light {light!r} "
                                    f"invalid; use one of {LABELS} / {LIGHTS}")
            path = root / rel
            if not path.is_file():
                raise TrainingError(f"{manifest}:{line}: file {rel} not found under {root}")
            src_path = (row.get("source_path") or rel).split(";")[0]
            pp = PurePosixPath(src_path)
            raws.append(_Raw(
                path=path, label=label, light=light, ref=rel,
                origin=f"{row.get('source_repo') or 'local'}/{pp.parent}",
                stem=pp.stem, is_camera="camera" in (row.get("notes") or "").lower()))
    return raws


def _from_folders(data: Path) -> list[_Raw]:
    raws: list[_Raw] = []
    for label in LABELS:
        base = data / label
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if not path.is_file() or not path.name.lower().endswith(IMAGE_SUFFIXES):
                continue
            rel = path.relative_to(data).as_posix()
            parts = path.relative_to(base).parts
            light = parts[0] if len(parts) > 1 and parts[0] in LIGHTS else "day"
            # Without provenance every folder may be a camera: chaining numbered frames is
            # the safe side (a split that is too coarse, never one that leaks).
            raws.append(_Raw(path=path, label=label, light=light, ref=rel,
                             origin=f"folder/{path.parent.relative_to(data).as_posix()}",
                             stem=path.stem, is_camera=True, source="folder"))
    return raws


def assign_groups(raws: Sequence[_Raw]) -> list[TrainItem]:
    """Group key = origin + sequence. Camera frames whose numbers lie within
    `SEQUENCE_MAX_GAP` of each other form one sequence; a burst suffix `(1)`/`-2` is folded
    into its shot; a web photo is its own group."""
    keys: dict[int, str] = {}
    chains: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for i, raw in enumerate(raws):
        stem = _BURST_SUFFIX.sub("", raw.stem) if raw.is_camera else raw.stem
        m = _NUMBERED.match(stem)
        if raw.is_camera and m:
            chains.setdefault((raw.origin, m["prefix"]), []).append((int(m["num"]), i))
        else:
            keys[i] = f"{raw.origin}/{stem}"
    for (origin, prefix), numbered in chains.items():
        numbered.sort()
        start, prev = numbered[0][0], None
        for num, i in numbered:
            if prev is not None and num - prev > SEQUENCE_MAX_GAP:
                start = num
            keys[i] = f"{origin}/{prefix}#{start}"
            prev = num
    return [TrainItem(path=r.path, label=r.label, light=r.light, group=keys[i],
                      source=r.source, ref=r.ref)
            for i, r in enumerate(raws)]


def count_items(items: Iterable[TrainItem]) -> dict[str, int]:
    """Counts by label, by light and by source: `{"bear": n, "no_bear": n, "day/bear": n,
    "source/alert": n, …}` (what model_versions.training_counts records)."""
    counts: dict[str, int] = {}
    for it in items:
        for key in (it.label, f"{it.light}/{it.label}", f"source/{it.source}"):
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
