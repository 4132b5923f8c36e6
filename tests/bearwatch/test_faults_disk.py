"""Fault injection: the snapshot folder is a full 64 KiB tmpfs while frames alert.

The detector built from the config (`build_detector`, database sink on SQLite and PostgreSQL)
still stores the alert, with `snapshot_path` "" and an error naming camera and alert, and does
not crash. Needs root (mount); skipped with the reason otherwise.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.pipeline import DbAlertSink, DetectorWiring, build_detector, rollout_router
from camera_ingest import FrameQueue
from db.alerts import latest_alert
from db.catalog import CameraSpec, ZoneSpec, sync
from detector import AlertSpool
from detector.batcher import Batch
from detector.testing import T0, ScriptedModel, make_frame
from kernel.config import parse_config
from kernel.records import Stage


@pytest.fixture
def full_snapshots(tmp_path: Path) -> Iterator[Path]:
    """`<tmp>/var/snapshots` as a 64 KiB tmpfs, filled to the last byte."""
    folder = tmp_path / "var" / "snapshots"
    folder.mkdir(parents=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {proc.stderr.strip()}")
    try:
        with (folder / "filler").open("wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 1024)
            except OSError:
                pass
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        if os.path.ismount(folder):
            subprocess.run(["umount", "-l", str(folder)], check=False)


def test_fault_disk_full_alert_stored_without_snapshot_and_flagged(
        sessions: sessionmaker[Session], tmp_path: Path, full_snapshots: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    cfg = parse_config(f"storage: {{root: '{tmp_path / 'var'}'}}\n"
                       "zones: [{id: z1}]\n"
                       "cameras: [{id: c1, zone: z1, source: 'demo:'}]\n"
                       "detector: {k: 2, n: 3, cooldown_s: 30, audit_share: 0.0}\n")
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.SHADOW)],
             [CameraSpec("c1", "C1", "z1", "demo:", None, None)], now=T0)
    sink = DbAlertSink(sessions, AlertSpool(cfg.storage.spool_dir), route=rollout_router(cfg),
                       utc=lambda: T0)
    scores = {0: 0.9, 1: 0.92, 2: 0.95, 3: 0.97}  # opens, then better frames: each re-snapshots
    loop = build_detector(cfg, FrameQueue(8), ScriptedModel(lambda f: scores[f.seq]),
                          DetectorWiring(sink=sink, stage_of=lambda _z: Stage.SHADOW))
    frames = tuple(make_frame("c1", i, at=T0 + timedelta(seconds=i)) for i in range(4))
    with caplog.at_level(logging.ERROR, logger="detector"):
        loop.process(Batch(frames[:2], wait_ms=0.0, formed_at=0.0))
        loop.process(Batch(frames[2:], wait_ms=0.0, formed_at=0.0))
    alert = loop.tracker.open_alert("c1")
    assert alert is not None
    with sessions() as s:
        stored = latest_alert(s, "c1", seen_since=T0)
    assert stored is not None and stored.id == alert.id
    assert (stored.n_frames, stored.peak_p_bear, stored.snapshot_path) == (
        4, pytest.approx(0.97), "")
    errors = [r for r in caplog.records if "snapshot not written" in r.getMessage()]
    assert len(errors) == 3  # the opening frame and the two better ones
    assert {(getattr(r, "camera_id", None), getattr(r, "alert_id", None)) for r in errors} == {
        ("c1", str(alert.id))}
    # no half-written temporary file is left to fill the disk further
    assert sorted(p.name for p in full_snapshots.rglob("*") if p.is_file()) == ["filler"]
