"""IngestService with real threads: back-pressure between cameras, a dead camera beside live
ones, thumbnails, clean stop."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from camera_ingest import FrameQueue, IngestService
from camera_ingest.folder import FolderSource
from camera_ingest.source import RawFrame
from camera_ingest.testing import FakeHealthSink
from kernel.records import CameraState
from tests.camera_ingest.conftest import camera, ingest, wait_for


def test_fast_camera_fills_queue_slow_and_dead_cameras_unaffected(tmp_path: Path) -> None:
    cams = [camera("demo:seed=1,width=320,height=180", id="fast", fps=50.0, motion_gating=False),
            camera("demo:seed=2,width=320,height=180", id="slow", fps=2.0, motion_gating=False),
            camera("http://127.0.0.1:9/dead.mjpg", id="dead", fps=5.0)]
    q, sink = FrameQueue(8), FakeHealthSink()
    svc = IngestService(cams, ingest(health_interval_s=0.3, offline_after_s=5), q,
                        health_sink=sink, thumbs_dir=tmp_path / "thumbs")
    svc.start()
    time.sleep(2.0)  # nobody consumes: the queue is full most of the time
    assert svc.stop(5)
    fast, slow, dead = svc.readers
    queued = q.drain(100)
    slow_queued = [f for f in queued if f.camera_id == "slow"]
    assert q.dropped("fast") > 20 and fast.frames_total > 40
    # The fast camera only ever pushes out its own frames: the slow camera's newest frame is
    # always queued; the slow camera loses only frames it replaced itself in a full queue.
    assert slow.frames_total >= 3 and slow_queued
    assert slow_queued[-1].seq == slow.frames_total - 1
    assert q.dropped("slow") + len(slow_queued) == slow.frames_total
    assert q.dropped("slow") < slow.frames_total
    assert len(queued) == 8
    assert dead.frames_total == 0 and sink.states("dead") == [CameraState.OFFLINE]
    report = sink.latest("fast")
    assert report is not None and report.dropped_frames > 0 and report.state is CameraState.ONLINE
    assert (tmp_path / "thumbs" / "fast.jpg").is_file()
    assert not (tmp_path / "thumbs" / "dead.jpg").exists()


def test_disabled_camera_gets_no_reader_and_stop_is_prompt() -> None:
    cams = [camera("demo:", id="on", fps=1.0), camera("demo:", id="off", fps=1.0, enabled=False)]
    svc = IngestService(cams, ingest(), FrameQueue(4), health_sink=FakeHealthSink())
    assert [r.camera.id for r in svc.readers] == ["on"]
    svc.start()
    time.sleep(0.2)
    t = time.monotonic()
    assert svc.stop(5)
    assert time.monotonic() - t < 2.0  # the default sleep wakes on stop


class BlockingSource:
    """A source whose read blocks until released, as a stalled RTSP stream does until its
    read timeout; it delivers small grey frames once released."""

    quiet_is_healthy = False

    def __init__(self) -> None:
        self.description = "blocking-fake"
        self.release = threading.Event()
        self.n = 0

    @property
    def ended(self) -> bool:
        return False

    def open(self) -> None:
        pass

    def read(self) -> RawFrame:
        if self.n >= 3:
            self.release.wait()
        time.sleep(0.05)
        self.n += 1
        return RawFrame(datetime.now(UTC), np.full((48, 64, 3), 100, np.uint8), "b")

    def close(self) -> None:
        self.release.set()


def test_reader_blocked_in_read_still_goes_stale_offline_then_online() -> None:
    source = BlockingSource()
    sink = FakeHealthSink()
    svc = IngestService([camera("x", id="stuck", fps=20.0, motion_gating=False)],
                        ingest(stale_after_intervals=2, offline_after_s=0.6,
                               health_interval_s=0.1), FrameQueue(100), health_sink=sink,
                        source_factory=lambda cam: source)
    svc.start()
    try:
        assert wait_for(lambda: sink.states("stuck")[-1:] == [CameraState.OFFLINE], 5)
        assert source.n == 3  # the reader never came back from read: the watchdog ticked
        source.release.set()
        assert wait_for(lambda: sink.states("stuck")[-1:] == [CameraState.ONLINE], 5)
    finally:
        svc.stop(5)
    assert sink.states("stuck")[:3] == [CameraState.ONLINE, CameraState.STALE,
                                         CameraState.OFFLINE]


def test_folder_camera_burst_gap_own_setting_else_ingest_default(tmp_path: Path) -> None:
    own = camera(str(tmp_path), id="own", burst_gap_s=90)
    default = camera(str(tmp_path), id="default")
    svc = IngestService([own, default], ingest(burst_gap_s=4), FrameQueue(4),
                        health_sink=FakeHealthSink())
    sources = [svc.context.make_source(c) for c in (own, default)]
    assert all(isinstance(s, FolderSource) for s in sources)
    assert [s.options.burst_gap_s for s in sources] == [90, 4]  # type: ignore[attr-defined]


def test_stop_writes_a_last_report_with_the_final_counters() -> None:
    # One periodic report at start, none after (60 s interval): only the stop's report can
    # carry what the camera read since, which the soak's frame accounting depends on.
    cam = camera("demo:seed=4,width=320,height=180", id="cam", fps=20.0, motion_gating=False)
    q, sink = FrameQueue(4), FakeHealthSink()
    svc = IngestService([cam], ingest(health_interval_s=60.0), q, health_sink=sink)
    svc.start()
    assert wait_for(lambda: svc.readers[0].frames_total >= 10)
    assert svc.stop(5)
    reader = svc.readers[0]
    first, last = sink.reports[0], sink.latest("cam")
    assert last is not None and first.frames_total < last.frames_total == reader.frames_total
    assert last.dropped_frames == q.dropped("cam") > 0
    assert last.frames_total == last.frames_gated + last.dropped_frames + q.qsize()
