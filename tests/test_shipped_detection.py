"""What a fresh clone's `make up` detects with the repository's own config.yaml: the shipped
model, its calibrated threshold, and far bears found on the changed regions of a camera-trap
burst, or on the tiles of a still alone. A burst of a far trail-camera bear dropped into the
inbox raises an alert whose snapshot outlines the bear's region, so does one such photo alone;
a moose raises none. Real photos, real `bearwatch run`, SQLite."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from sqlalchemy import select

from db import make_engine, make_sessionmaker
from db.models import AlertRow
from detector.models import BearHead
from detector.snapshots import MARK_RGB
from kernel.config import load_config
from kernel.model_defaults import calibrated_threshold, shipped_model_path, with_model_defaults

pytestmark = [pytest.mark.slow, pytest.mark.data]

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "bearwatch"
FAR_BEAR_BURST = [f"images/bear/day/ktosiu_bear_{i:04d}.jpg" for i in range(4)]  # 28-40 px bears
MOOSE = "images/no_bear/day/gocode_moose_pic_003.jpg"
LONE_FAR_BEAR = "images/bear/day/ktosiu_bear_0047.jpg"  # alone in its burst (16:56), 70 px


def _repo_config(tmp: Path, inbox: Path) -> Path:
    """The repository's config.yaml with its database, storage and inbox moved to `tmp`; the
    detector settings stay exactly as shipped."""
    doc = yaml.safe_load((REPO / "config.yaml").read_text())
    doc["database"] = {"url": f"sqlite:///{tmp}/var/bearwatch.db"}
    doc["storage"] = {"root": str(tmp / "var")}
    doc["cameras"] = [dict(c, source=str(inbox)) for c in doc["cameras"] if c["id"] == "inbox"]
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _run(config: Path, seconds: int) -> None:
    done = subprocess.run([str(BIN), "--config", str(config), "run", "--duration", str(seconds)],
                          capture_output=True, text=True, timeout=seconds + 120)
    assert done.returncode == 0, done.stdout + done.stderr


def _alerts(config: Path) -> list[AlertRow]:
    cfg = load_config(config)
    sessions = make_sessionmaker(make_engine(cfg.database.resolved_url()))
    with sessions() as s:
        return list(s.scalars(select(AlertRow).order_by(AlertRow.first_seen)))


def test_repo_config_serves_the_shipped_model_at_its_calibrated_threshold(tmp_path: Path) -> None:
    cfg = with_model_defaults(load_config(_repo_config(tmp_path, tmp_path / "inbox")))

    head = BearHead.load(shipped_model_path())
    assert cfg.detector.model == "shipped" and cfg.detector.threshold is None
    assert cfg.zone_threshold("campground") == head.threshold == calibrated_threshold(
        shipped_model_path())
    assert head.false_alarm_budget == 0.01


def test_a_single_far_bear_still_alerts_from_its_tiles_with_the_bear_outlined(
        tmp_path: Path, bears_dir: Path) -> None:
    """One trail-camera photo dropped alone into the inbox (its burst has no other still, so
    nothing to compare): its tiles find the 70-px bear, counted from the tile threshold."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = _repo_config(tmp_path, inbox)
    subprocess.run([str(BIN), "--config", str(config), "db", "upgrade"], check=True,
                   capture_output=True)
    shutil.copy2(bears_dir / LONE_FAR_BEAR, inbox / Path(LONE_FAR_BEAR).name)

    _run(config, 40)

    alerts = _alerts(config)
    assert len(alerts) == 1, [(a.camera_id, a.peak_p_bear) for a in alerts]
    cfg = load_config(config)
    assert cfg.detector.proposals.tile_stills
    assert alerts[0].peak_p_bear >= cfg.detector.proposals.tile_threshold
    snapshot = cv2.cvtColor(cv2.imread(alerts[0].snapshot_path), cv2.COLOR_BGR2RGB).astype(int)
    outline = np.abs(snapshot - np.array(MARK_RGB)).max(axis=2) < 40
    assert outline.sum() > 500, "the winning tile is outlined on the snapshot"


def test_far_bear_burst_alerts_with_its_region_outlined_and_a_moose_does_not(
        tmp_path: Path, bears_dir: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = _repo_config(tmp_path, inbox)
    subprocess.run([str(BIN), "--config", str(config), "db", "upgrade"], check=True,
                   capture_output=True)
    for name in FAR_BEAR_BURST:  # their EXIF capture times are a minute apart: one burst
        shutil.copy2(bears_dir / name, inbox / Path(name).name)

    _run(config, 40)

    alerts = _alerts(config)
    assert len(alerts) == 1, [(a.camera_id, a.peak_p_bear) for a in alerts]
    [alert] = alerts
    head = BearHead.load(shipped_model_path())
    assert alert.model_version == head.version and alert.peak_p_bear >= head.threshold
    shutil.copyfile(alert.snapshot_path, tmp_path / "alert.jpg")
    snapshot = cv2.cvtColor(cv2.imread(alert.snapshot_path), cv2.COLOR_BGR2RGB).astype(int)
    # The mark colour, give or take the snapshot's JPEG compression.
    outline = np.abs(snapshot - np.array(MARK_RGB)).max(axis=2) < 40
    assert outline.sum() > 500, "the winning region is outlined on the snapshot"

    moose = inbox / "moose.jpg"
    shutil.copyfile(bears_dir / MOOSE, moose)
    later = time.time() + 3600  # an hour after: not part of the bear's burst
    import os

    os.utime(moose, (later, later))
    _run(config, 30)

    assert len(_alerts(config)) == 1, "the moose raised an alert"
