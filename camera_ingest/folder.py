"""A folder that a camera trap uploads images into (FTP, SD-card sync).

New image files are taken in order of capture time (EXIF DateTimeOriginal when present, else
the file's mtime), each exactly once, also across restarts. A file read is *taken* (in memory);
it becomes *done* (in a small JSON state file in the `state_dir` the caller passes) only when
the pipeline acknowledges it (`ack`): after its score and any alert it caused are committed, or
when motion gating decides it needs no score. A crash between the two re-reads the file on the
next start rather than losing it; an undecodable file is done at once. Without a state dir (a
probe) the memory is per process, so probing never consumes a camera's uploads.

Bursts: stills whose capture times follow each other by at most `burst_gap_s` are one
trigger's burst (`camera_ingest.burst`). A still taken from the folder carries the regions
where it differs from the rest of its burst (`RawFrame.regions`, `camera_ingest.changes`):
the burst's stills read before it (small greyscale copies kept in a bounded memory) and its
pending files, which are read for comparison only (neither taken nor acknowledged). A still
alone, or the first of a burst whose other files have not arrived yet, has no regions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import warnings
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from camera_ingest.burst import BurstMemory, Still, burst_of
from camera_ingest.changes import ChangeRules, changed_regions, scale_boxes, working_grey
from camera_ingest.decode import decode_image
from camera_ingest.errors import CorruptFrameError, SourceError
from camera_ingest.source import IMAGE_SUFFIXES, RawFrame, SourceOptions
from kernel.records import Box

log = logging.getLogger("camera_ingest.folder")

SETTLE_S = 2.0
"""A file modified this recently (wall seconds) that does not decode is still being written:
it is retried on a later scan instead of being counted as corrupt."""

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881
_DATETIME = 306


def exif_capture_time(path: Path) -> datetime | None:
    """DateTimeOriginal of an image as UTC, or None when absent or unreadable.

    EXIF times are the camera's local clock; with OffsetTimeOriginal the offset is applied,
    without it the time is taken as UTC (camera traps are best set to UTC).
    """
    try:
        with warnings.catch_warnings():
            # Only the header is read; an oversized image is refused when it is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                exif = img.getexif()
                sub = exif.get_ifd(_EXIF_IFD)
                raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
                offset = sub.get(_OFFSET_TIME_ORIGINAL)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError,
            Image.DecompressionBombError):
        return None
    if not raw:
        return None
    try:
        naive = datetime.strptime(str(raw).strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    tz = UTC
    if offset:
        try:
            sign = -1 if str(offset).startswith("-") else 1
            hh, mm = str(offset).strip("+-\x00 ").split(":")
            tz = timezone(sign * timedelta(hours=int(hh), minutes=int(mm)))
        except ValueError:
            tz = UTC
    return naive.replace(tzinfo=tz).astimezone(UTC)


class ProcessedNames:
    """The file names done in one folder, persisted as JSON when a state directory is given
    (written atomically after each addition), plus the names taken but not yet done."""

    def __init__(self, folder: Path, state_dir: Path | None) -> None:
        self.folder = folder
        self.path: Path | None = None
        if state_dir is not None:
            key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
            self.path = state_dir / f"folder-{folder.name or 'root'}-{key}.json"
        self._names: set[str] = set()
        self._taken: set[str] = set()
        # The detector thread acknowledges while the reader thread lists the folder.
        self._lock = threading.Lock()

    def load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._names = set(data["processed"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SourceError(str(self.folder), f"state file {self.path} is unreadable ({exc})",
                              "delete it to reprocess the folder, or restore it") from exc

    def __contains__(self, name: str) -> bool:
        with self._lock:
            return name in self._names or name in self._taken

    def take(self, name: str) -> None:
        with self._lock:
            self._taken.add(name)

    def done(self, name: str) -> None:
        with self._lock:
            if name in self._names:
                return
            self._taken.discard(name)
            self._names.add(name)
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"folder": str(self.folder), "processed": sorted(self._names)}),
                       encoding="utf-8")
        os.replace(tmp, self.path)


class FolderSource:
    """A `FrameSource` over a folder of image files (see the module docstring)."""

    quiet_is_healthy = True  # camera traps upload only when something triggers them

    def __init__(self, folder: Path, options: SourceOptions) -> None:
        self.folder = folder
        self.description = str(folder)
        self.options = options
        self.processed = ProcessedNames(folder, options.state_dir)
        self._times: dict[str, tuple[float, int, float]] = {}  # name -> (mtime, size, capture s)
        self.change_rules = ChangeRules()
        self.memory = BurstMemory()
        self._next_due = 0.0
        self._opened = False

    @property
    def ended(self) -> bool:
        return False  # a folder can always receive more files

    def open(self) -> None:
        if not self.folder.is_dir():
            raise SourceError(self.description, "folder does not exist",
                              "create it or fix the camera's source path")
        self.processed.load()
        self._next_due = self.options.clock()
        self._opened = True

    def close(self) -> None:
        self._opened = False

    def ack(self, source_ref: str) -> None:
        """Mark the file a frame came from as done (see the module docstring)."""
        path = Path(source_ref)
        if path.parent == self.folder:
            self.processed.done(path.name)

    def _capture_seconds(self, entry: os.DirEntry[str]) -> float:
        st = entry.stat()
        cached = self._times.get(entry.name)
        if cached and cached[0] == st.st_mtime and cached[1] == st.st_size:
            return cached[2]
        exif = exif_capture_time(Path(entry.path))
        seconds = exif.timestamp() if exif else st.st_mtime
        self._times[entry.name] = (st.st_mtime, st.st_size, seconds)
        return seconds

    def pending(self) -> list[tuple[float, str]]:
        """(capture time in epoch seconds, name) of files not yet processed, oldest first."""
        try:
            entries = list(os.scandir(self.folder))
        except OSError as exc:
            raise SourceError(self.description, f"cannot list the folder ({exc.strerror})",
                              "check it still exists and is readable") from exc
        out = []
        for e in entries:
            if (e.is_file() and not e.name.startswith(".")
                    and Path(e.name).suffix.lower() in IMAGE_SUFFIXES
                    and e.name not in self.processed):
                try:
                    out.append((self._capture_seconds(e), e.name))
                except FileNotFoundError:
                    continue  # removed between listing and stat
        out.sort()
        return out

    def read(self) -> RawFrame | None:
        if not self._opened:
            raise SourceError(self.description, "read before open")
        opts = self.options
        if opts.realtime:
            wait = self._next_due - opts.clock()
            if wait > 0:
                opts.sleep(wait)
            self._next_due = max(self._next_due + opts.interval_s, opts.clock())
        pending = self.pending()
        for seconds, name in pending:
            path = self.folder / name
            try:
                data = path.read_bytes()
            except OSError as exc:
                if not path.exists():
                    continue
                raise SourceError(self.description, f"cannot read {name} ({exc.strerror})") from exc
            try:
                image = decode_image(data, str(path))
            except CorruptFrameError:
                if time.time() - path.stat().st_mtime < SETTLE_S:
                    continue  # still being uploaded; try again on a later scan
                self.processed.done(name)
                raise
            self.processed.take(name)
            regions = self._burst_regions(Still(name, seconds), image, pending)
            return RawFrame(opts.utc(seconds), image, str(path), is_still=True, regions=regions)
        if not opts.realtime:
            opts.sleep(opts.interval_s)  # nothing new: do not spin on the folder
        return None

    # -- bursts -----------------------------------------------------------------------------

    def _burst_regions(self, target: Still, image: np.ndarray,
                       pending: list[tuple[float, str]]) -> tuple[Box, ...]:
        """Where the still `target` (its decoded image) differs from the other stills of its
        burst, in px of `image` (see the module docstring)."""
        width = self.change_rules.work_width
        # From the image already decoded, as evaluation does (`bearwatch.burst_regions`):
        # a second, greyscale decode of the file would cost as much as the first.
        grey = working_grey(image, width)
        known = self.memory.stills()
        cached = {s.name for s in known}
        known += [Still(name, seconds) for seconds, name in pending if name not in cached]
        burst = burst_of(target, known, gap_s=self.options.burst_gap_s)
        references: list[np.ndarray] = []
        for still in burst:
            copy = self.memory.get(still.name)
            if copy is None:
                copy = self._reference_copy(still.name, width)
                if copy is None:
                    continue
                self.memory.put(still, copy)
            if copy.shape == grey.shape:  # a camera that changed resolution is not compared
                references.append(copy)
        self.memory.put(target, grey)
        self.memory.keep_only(target, burst)
        if not references:
            return ()
        boxes = changed_regions(grey, references, rules=self.change_rules)
        return scale_boxes(boxes, (grey.shape[1], grey.shape[0]),
                           (image.shape[1], image.shape[0]))

    def _reference_copy(self, name: str, width: int) -> np.ndarray | None:
        """A pending file's working copy for comparison (it is not taken), or None when it is
        unreadable or may still be uploading."""
        path = self.folder / name
        try:
            if time.time() - path.stat().st_mtime < SETTLE_S:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        try:
            grey = decode_image(data, str(path), mode="grey")
        except CorruptFrameError:
            return None
        return working_grey(grey, width)
