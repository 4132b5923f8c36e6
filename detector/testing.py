"""In-memory fakes of the detector's protocols, and frame builders, for tests (ours and other
packages'). Real models and databases are tested elsewhere; these replace only our seams."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import torch

from detector.errors import SinkUnavailable
from detector.wiring import LoopClocks
from kernel.records import (
    Alert,
    AlertUpdate,
    AuditSample,
    EncounterFrame,
    Frame,
    NightSource,
    ScoreAggregate,
    ShadowCount,
)

T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A settable clock: `now()` epoch seconds, `utc()` the same as a UTC datetime."""

    def __init__(self, start: datetime = T0) -> None:
        self.t = start.timestamp()

    def now(self) -> float:
        return self.t

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def loop_clocks(self) -> LoopClocks:
        """This clock as a detector loop's UTC and interval clocks."""
        return LoopClocks(utc=self.utc, monotonic=self.now)


def make_frame(camera_id: str = "c1", seq: int = 0, *, zone_id: str = "z1",
               at: datetime = T0, size: tuple[int, int] = (48, 64), value: int = 100,
               is_night: bool = False) -> Frame:
    """A small uniform frame (`size` = height, width) with plausible flags."""
    image = np.full((size[0], size[1], 3), value, dtype=np.uint8)
    return Frame(camera_id=camera_id, zone_id=zone_id, captured_at=at, seq=seq, image=image,
                 mean_luma=float(value), is_night=is_night, night_source=NightSource.IMAGE,
                 is_infrared=False, is_low_res=True, motion_score=0.0)


class ListFeed:
    """A `FrameFeed` over scheduled arrivals: `(arrival epoch s, frame)`; frames become visible
    when the clock reaches their arrival. An empty `get` advances the clock by its timeout
    (time passes while waiting), or to the next arrival if that is sooner."""

    def __init__(self, clock: FakeClock, arrivals: Iterable[tuple[float, Frame]] = ()) -> None:
        self.clock = clock
        self._future = deque(sorted(arrivals, key=lambda a: a[0]))
        self._ready: deque[Frame] = deque()

    def put(self, frame: Frame, at: float | None = None) -> None:
        self._future.append((self.clock.now() if at is None else at, frame))

    def _release(self) -> None:
        while self._future and self._future[0][0] <= self.clock.now():
            self._ready.append(self._future.popleft()[1])

    def get(self, timeout: float) -> Frame | None:
        self._release()
        if self._ready:
            return self._ready.popleft()
        if self._future and self._future[0][0] <= self.clock.now() + timeout:
            self.clock.t = max(self.clock.t, self._future[0][0])
            self._release()
            return self._ready.popleft()
        self.clock.advance(timeout)
        return None

    def drain(self, max_n: int) -> list[Frame]:
        self._release()
        return [self._ready.popleft() for _ in range(min(max_n, len(self._ready)))]

    def __len__(self) -> int:
        return len(self._ready) + len(self._future)


class ScriptedModel:
    """A `Model` whose score is a function of the frame (e.g. a lookup by seq)."""

    def __init__(self, score_of: Callable[[Frame], float], version: str = "scripted") -> None:
        self.score_of = score_of
        self.version = version
        self.device = torch.device("cpu")
        self.batches: list[int] = []

    def score(self, frames: Sequence[Frame]) -> np.ndarray:
        self.batches.append(len(frames))
        return np.array([self.score_of(f) for f in frames], dtype=np.float32)

    def score_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return np.array([float(img.mean()) / 255.0 for img in images], dtype=np.float32)


@dataclass
class MemorySink:
    """An `AlertSink` in memory; set `down = True` to make `aggregates` and `shadow_counts`
    raise like an outage."""

    commits: list[tuple[Alert, tuple[EncounterFrame, ...]]] = field(default_factory=list)
    samples: list[AuditSample] = field(default_factory=list)
    aggregate_rows: list[ScoreAggregate] = field(default_factory=list)
    shadow_rows: list[ShadowCount] = field(default_factory=list)
    down: bool = False

    def commit(self, alert: Alert, frames: Sequence[EncounterFrame]) -> None:
        self.commits.append((alert, tuple(frames)))

    def commit_batch(self, updates: Sequence[AlertUpdate]) -> None:
        for update in updates:
            self.commit(update.alert, update.frames)

    def audit_sample(self, sample: AuditSample) -> None:
        self.samples.append(sample)

    def aggregates(self, rows: Sequence[ScoreAggregate]) -> None:
        if self.down:
            raise SinkUnavailable("memory sink is down")
        self.aggregate_rows.extend(rows)

    def shadow_counts(self, rows: Sequence[ShadowCount]) -> None:
        if self.down:
            raise SinkUnavailable("memory sink is down")
        self.shadow_rows.extend(rows)

    def alerts(self) -> dict[str, Alert]:
        """Latest state of each alert by id."""
        return {str(a.id): a for a, _ in self.commits}


def frames_at(camera_id: str, n: int, *, start: datetime = T0, every_s: float = 1.0,
              zone_id: str = "z1") -> list[Frame]:
    """`n` frames of one camera, `every_s` seconds apart, seq 0..n-1."""
    return [make_frame(camera_id, i, zone_id=zone_id, at=start + timedelta(seconds=i * every_s))
            for i in range(n)]


def write_blob_image(path: Path, *, bear: bool, rng: np.random.Generator, size: int = 96) -> Path:
    """A tiny training image for plumbing tests: green noisy background; a 'bear' is a dark
    brown blob somewhere in it. Written as JPEG/PNG by its suffix; returns `path`."""
    from PIL import Image

    img = np.clip(rng.normal((70, 120, 60), 25, (size, size, 3)), 0, 255)
    if bear:
        cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
        yy, xx = np.ogrid[:size, :size]
        img[((yy - cy) / (size / 5)) ** 2 + ((xx - cx) / (size / 4)) ** 2 <= 1] = (60, 35, 20)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img.astype(np.uint8)).save(path)
    return path
