"""Every frame of an alert has its own image (issue 17 item 4): the tracker writes one JPEG per
counted frame, with the region that scored, and storage keeps them apart."""

from __future__ import annotations

import uuid
from datetime import timedelta
from itertools import count
from pathlib import Path

import cv2
import numpy as np
import pytest

from db import make_engine, make_sessionmaker, migrate
from db.alerts import store_alert
from db.catalog import CameraSpec, ZoneSpec, sync
from db.reviews import alert_detail
from detector import AlertSpool, EncounterRules, EncounterTracker, SnapshotStore
from detector.testing import T0, make_frame
from kernel.records import AlertUpdate, Detection, Stage


def _tracker(tmp_path: Path, *, cap: int = 60) -> EncounterTracker:
    ids = count(1)
    rules = EncounterRules(k=2, n=3, cooldown_s=10.0, default_threshold=0.5,
                           frame_images_per_alert=cap)
    return EncounterTracker(rules, stage_of=lambda z: Stage.SHADOW,
                            snapshots=SnapshotStore(tmp_path / "snaps"),
                            new_id=lambda: uuid.UUID(int=next(ids)))


def _visit(tracker: EncounterTracker, scores: list[float]) -> list[AlertUpdate]:
    """One camera's frames, each a different grey (10, 50, 90, …) with its own region."""
    ups = []
    for i, p in enumerate(scores):
        frame = make_frame("c1", i, at=T0 + timedelta(seconds=i), value=10 + 40 * i)
        up = tracker.observe(Detection(frame=frame, p_bear=p, model_version="m",
                                       inference_ms=1.0, batch_size=1, region=(i, i, 8, 6)))
        if up is not None:
            ups.append(up)
    return ups


@pytest.mark.parametrize("n", [2, 3, 5])
def test_tracker_alert_of_n_frames_writes_n_distinct_images(tmp_path: Path, n: int) -> None:
    ups = _visit(_tracker(tmp_path), [0.9] * n)
    frames = [f for up in ups for f in up.frames]
    assert len(frames) == n == ups[-1].alert.n_frames
    paths = [f.image_path for f in frames]
    assert None not in paths and len(set(paths)) == n
    assert ups[-1].alert.snapshot_path not in paths  # the marked snapshot is a file apart
    # the files hold each frame's own pixels, unmarked: the grey of frame i is 10 + 40 i
    greys = [int(np.median(cv2.imread(str(p)))) for p in paths if p]
    assert greys == pytest.approx([10 + 40 * i for i in range(n)], abs=2)
    assert [f.region for f in frames] == [(i, i, 8, 6) for i in range(n)]


def test_tracker_past_the_image_cap_writes_only_a_better_frame(tmp_path: Path) -> None:
    ups = _visit(_tracker(tmp_path, cap=2), [0.7, 0.7, 0.6, 0.95, 0.6])
    paths = [f.image_path for up in ups for f in up.frames]
    written = [p is not None for p in paths]
    # both opening frames, then only the frame that beat the peak (0.95)
    assert written == [True, True, False, True, False]


def test_alert_of_n_frames_stored_and_read_back_with_n_images_and_regions(
        tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z", Stage.SHADOW)],
             [CameraSpec("c1", "C", "z1", "demo:", None, None)], now=T0)
    ups = _visit(_tracker(tmp_path), [0.8, 0.9, 0.85])
    spool = AlertSpool(tmp_path / "spool")
    for up in ups:
        spool.append(up.alert, up.frames)  # the outage path keeps images and regions too
    with sessions.begin() as s:
        for entry in spool.entries():
            store_alert(s, entry.alert, entry.frames, now=T0)
    with sessions() as s:
        d = alert_detail(s, ups[0].alert.id)
    assert len(d.frames) == 3
    assert len({f.image_path for f in d.frames}) == 3
    assert [f.region for f in d.frames] == [(0, 0, 8, 6), (1, 1, 8, 6), (2, 2, 8, 6)]
    contents = {Path(f.image_path).read_bytes() for f in d.frames if f.image_path}
    assert len(contents) == 3  # three different pictures, not one file three times
