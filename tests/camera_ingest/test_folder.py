"""Folder source (camera-trap uploads): capture-time order, once only across restarts,
corrupt files counted, uploads in progress retried; and the real labelled photos."""

from __future__ import annotations

import csv
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from camera_ingest import (
    CorruptFrameError,
    FrameFlagger,
    FrameQueue,
    IngestService,
    SourceOptions,
    open_source,
)
from camera_ingest.folder import exif_capture_time
from camera_ingest.testing import FakeClock, FakeHealthSink
from tests.camera_ingest.conftest import camera, day_image, ingest, wait_for

OLD = time.time() - 3600  # an mtime well past the upload settle time


def write_jpeg(path: Path, value: int, *, exif_time: str | None = None,
               mtime: float | None = None) -> Path:
    img = Image.fromarray(np.full((48, 64, 3), value, np.uint8))
    if exif_time:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = exif_time
        img.save(path, exif=exif)
    else:
        img.save(path)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def drain_folder(folder: Path, state_dir: Path | None, *,
                 ack: bool = True) -> tuple[list[str], int]:
    """Read every pending file; `ack` each like the detector does once its outcome is stored."""
    clock = FakeClock()
    src = open_source(str(folder), SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep,
                                                 state_dir=state_dir))
    src.open()
    names, errors = [], 0
    while True:
        try:
            raw = src.read()
        except CorruptFrameError:
            errors += 1
            continue
        if raw is None:
            return names, errors
        names.append(Path(raw.source_ref).name)
        if ack:
            src.ack(raw.source_ref)


def test_folder_orders_by_exif_time_then_mtime(tmp_path: Path) -> None:
    folder = tmp_path / "trap"
    folder.mkdir()
    # Names and mtimes run opposite to the EXIF capture times.
    write_jpeg(folder / "a.jpg", 10, exif_time="2026:05:01 10:00:03", mtime=OLD + 1)
    write_jpeg(folder / "b.jpg", 20, exif_time="2026:05:01 10:00:02", mtime=OLD + 2)
    write_jpeg(folder / "c.jpg", 30, exif_time="2026:05:01 10:00:01", mtime=OLD + 3)
    write_jpeg(folder / "d.png", 40, mtime=datetime(2026, 5, 1, 10, 0, 2, 500000,
                                                    tzinfo=UTC).timestamp())
    (folder / "notes.txt").write_text("not an image")
    names, errors = drain_folder(folder, None)
    assert (names, errors) == (["c.jpg", "b.jpg", "d.png", "a.jpg"], 0)
    assert exif_capture_time(folder / "c.jpg") == datetime(2026, 5, 1, 10, 0, 1, tzinfo=UTC)


def test_folder_restart_with_state_dir_does_not_reprocess(tmp_path: Path) -> None:
    folder, state = tmp_path / "trap", tmp_path / "state"
    folder.mkdir()
    for i in range(3):
        write_jpeg(folder / f"{i}.jpg", 50 + i, mtime=OLD + i)
    assert drain_folder(folder, state)[0] == ["0.jpg", "1.jpg", "2.jpg"]
    assert drain_folder(folder, state)[0] == []
    write_jpeg(folder / "3.jpg", 90, mtime=OLD + 10)
    assert drain_folder(folder, state)[0] == ["3.jpg"]
    assert drain_folder(folder, None)[0] == ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]


def test_folder_unacknowledged_files_are_read_again_after_restart(tmp_path: Path) -> None:
    folder, state = tmp_path / "trap", tmp_path / "state"
    folder.mkdir()
    for i in range(3):
        write_jpeg(folder / f"{i}.jpg", 60 + i, mtime=OLD + i)
    # A crash after reading but before the detector stored the outcome: nothing is lost.
    assert drain_folder(folder, state, ack=False)[0] == ["0.jpg", "1.jpg", "2.jpg"]
    assert drain_folder(folder, state)[0] == ["0.jpg", "1.jpg", "2.jpg"]
    assert drain_folder(folder, state)[0] == []


def test_folder_garbage_jpegs_skipped_and_counted_once(tmp_path: Path) -> None:
    folder, state = tmp_path / "trap", tmp_path / "state"
    folder.mkdir()
    write_jpeg(folder / "good1.jpg", 80, mtime=OLD)
    for name, body in (("garbage.jpg", os.urandom(5000)), ("empty.jpg", b""),
                       ("cut.jpg", (folder / "good1.jpg").read_bytes()[:20])):
        (folder / name).write_bytes(body)
        os.utime(folder / name, (OLD + 1, OLD + 1))
    write_jpeg(folder / "good2.jpg", 90, mtime=OLD + 2)
    assert drain_folder(folder, state) == (["good1.jpg", "good2.jpg"], 3)
    assert drain_folder(folder, state) == ([], 0)


def test_folder_upload_in_progress_retried_not_counted(tmp_path: Path) -> None:
    folder = tmp_path / "trap"
    folder.mkdir()
    whole = write_jpeg(tmp_path / "whole.jpg", 70).read_bytes()
    (folder / "uploading.jpg").write_bytes(whole[:10])  # fresh mtime: still being written
    clock = FakeClock()
    src = open_source(str(folder), SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep))
    src.open()
    assert src.read() is None
    (folder / "uploading.jpg").write_bytes(whole)
    raw = src.read()
    assert raw is not None and raw.source_ref.endswith("uploading.jpg")



def test_folder_fed_while_service_runs_picks_up_new_files_once(tmp_path: Path) -> None:
    folder, state = tmp_path / "inbox", tmp_path / "state"
    folder.mkdir()
    for i in range(2):
        write_jpeg(folder / f"early{i}.jpg", 60 + 20 * i, mtime=OLD + i)
    cam = camera(str(folder), id="trap", fps=20.0, motion_gating=False)
    q = FrameQueue(100)

    def service() -> IngestService:
        return IngestService([cam], ingest(health_interval_s=0.2), q,
                             health_sink=FakeHealthSink(), state_dir=state)

    svc = service()
    svc.start()
    assert wait_for(lambda: q.qsize() == 2)
    for i in range(3):
        write_jpeg(folder / f"late{i}.jpg", 120 + 20 * i, mtime=OLD + 100 + i)
    assert wait_for(lambda: q.qsize() == 5)
    svc.stop(5)
    frames = q.drain(10)
    refs = [Path(f.source_ref).name for f in frames]
    assert refs == ["early0.jpg", "early1.jpg", "late0.jpg", "late1.jpg", "late2.jpg"]
    svc.ack(frames)  # as the detector does once the outcomes are stored

    again = service()
    again.start()
    time.sleep(0.5)  # twenty sample intervals: nothing old may come back
    assert q.qsize() == 0
    write_jpeg(folder / "after_restart.jpg", 200, mtime=OLD + 200)
    assert wait_for(lambda: q.qsize() == 1)
    again.stop(5)
    assert [Path(f.source_ref).name for f in q.drain(10)] == ["after_restart.jpg"]


def write_rgb(path: Path, rgb: np.ndarray, *, mtime: float) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                       [cv2.IMWRITE_JPEG_QUALITY, 95])
    os.utime(path, (mtime, mtime))
    return path


def test_folder_burst_stills_carry_changed_regions_single_still_none_acked_once(
        tmp_path: Path) -> None:
    """Three stills 2 s apart (one trigger: an animal walking, the trap re-exposing between
    shots) each carry a region on the animal, found against the rest of the burst (files
    not yet read are compared, not taken); a still an hour later is alone: no regions. Each
    file is delivered and done exactly once."""
    folder, state = tmp_path / "trap", tmp_path / "state"
    folder.mkdir()
    rng = np.random.default_rng(4)
    for i, gain in enumerate((1.0, 0.85, 1.1)):
        img = day_image(0, rng)
        cv2.circle(img, (150 + 150 * i, 270), 10, (25, 20, 15), -1)
        write_rgb(folder / f"burst{i}.jpg", np.clip(img * gain, 0, 255).astype(np.uint8),
                  mtime=OLD + 2 * i)
    alone = day_image(0, rng)
    cv2.circle(alone, (500, 270), 10, (25, 20, 15), -1)
    write_rgb(folder / "alone.jpg", alone, mtime=OLD + 3600)

    clock = FakeClock()
    src = open_source(str(folder), SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep,
                                                 state_dir=state, burst_gap_s=10))
    src.open()
    # Ingest downscales 640 -> 320 px: regions follow the frame's own pixels.
    flagger = FrameFlagger(camera(str(folder)), ingest(max_width=320))
    frames = []
    while (raw := src.read()) is not None:
        frames.append(flagger.process(raw, clock()).frame)
        src.ack(raw.source_ref)
    assert [Path(f.source_ref).name for f in frames] == ["burst0.jpg", "burst1.jpg",
                                                        "burst2.jpg", "alone.jpg"]
    assert all(f.is_still and f.width == 320 for f in frames)
    for i, f in enumerate(frames[:3]):
        x, y, w, h = f.regions[0]
        assert x <= 75 + 75 * i <= x + w and y <= 135 <= y + h, (i, f.regions)
        assert max(w, h) < 30
    assert frames[3].regions == ()
    assert drain_folder(folder, state) == ([], 0)


def test_folder_first_still_of_a_burst_still_uploading_is_compared_later(tmp_path: Path
                                                                         ) -> None:
    """A burst file modified just now may be half written: it is not used for comparison
    (no regions yet); once settled, the next still is compared with the one already read."""
    folder = tmp_path / "trap"
    folder.mkdir()
    rng = np.random.default_rng(5)
    first = day_image(0, rng)
    cv2.circle(first, (200, 270), 10, (25, 20, 15), -1)
    write_rgb(folder / "a.jpg", first, mtime=OLD)
    second = day_image(0, rng)
    cv2.circle(second, (400, 270), 10, (25, 20, 15), -1)
    fresh = write_rgb(folder / "b.jpg", second, mtime=time.time())
    clock = FakeClock()
    src = open_source(str(folder), SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep))
    src.open()
    raw_a = src.read()
    assert raw_a is not None and raw_a.regions == ()
    os.utime(fresh, (OLD + 2, OLD + 2))
    raw_b = src.read()
    assert raw_b is not None and Path(raw_b.source_ref).name == "b.jpg"
    assert any(x <= 400 <= x + w and y <= 270 <= y + h for x, y, w, h in raw_b.regions)


def test_real_photos_night_flag_agrees_with_manifest(bears_dir: Path) -> None:
    """The image test (no coordinates) against the manifest's day/night labels."""
    with (bears_dir / "manifest.csv").open(newline="") as fh:
        light = {Path(r["file"]).name: r["light"] for r in csv.DictReader(fh)
                 if r["file"].startswith("images/")}
    flaggers = {}
    agree = total = 0
    per_light = {"day": [0, 0], "night": [0, 0]}
    for folder in sorted((bears_dir / "images").glob("*/*")):
        clock = FakeClock()
        src = open_source(str(folder), SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep,
                                                     realtime=False))
        src.open()
        flagger = flaggers.setdefault(folder, FrameFlagger(camera(str(folder)), ingest()))
        while (raw := src.read()) is not None:
            frame = flagger.process(raw, clock()).frame
            truth = light[Path(raw.source_ref).name]
            ok = frame.is_night == (truth == "night")
            agree += ok
            total += 1
            per_light[truth][0] += ok
            per_light[truth][1] += 1
    share = agree / total
    print(f"\nnight flag vs manifest light: {agree}/{total} = {share:.3f} "
          f"(day {per_light['day'][0]}/{per_light['day'][1]}, "
          f"night {per_light['night'][0]}/{per_light['night'][1]})")
    assert total == len(light)
    assert share >= 0.9
