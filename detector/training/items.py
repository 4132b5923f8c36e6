"""Labelled training items and the group each belongs to.

A group is the unit that must stay on one side of the train/validation split: near-identical
frames of one camera sequence (a trail-camera visit, a camera-trap burst, one alert's frames)
would otherwise leak between the two sides and flatter the validation figures.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from detector.training.errors import TrainingError

LABELS = ("bear", "no_bear")
LIGHTS = ("day", "night", "infrared")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# Frame numbers this close together on one camera are one sequence (a missing frame or two
# inside a burst must not split it).
SEQUENCE_MAX_GAP = 2
_BURST_SUFFIX = re.compile(r"\s*\(\d+\)$")
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<num>\d+)$")


@dataclass(frozen=True, slots=True)
class TrainItem:
    """One labelled image for training or evaluation.

    Attributes:
        path: the image file (absolute).
        label: `bear` or `no_bear`.
        light: `day`, `night` or `infrared`.
        group: split unit; items sharing it are always on the same side.
        source: where the label came from: `manifest`, `folder`, `alert` or `audit`.
        ref: the name reports use (manifest `file`, or `alert:<id>` / `audit:<id>`).
    """

    path: Path
    label: str
    light: str
    group: str
    source: str
    ref: str

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


def load_labelled(data: Path) -> list[TrainItem]:
    """Read a labelled folder: `manifest.csv` when present, else `bear/` and `no_bear/`
    sub-folders (optionally with `day/`/`night/` below them).

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
    return assign_groups(raws)


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
