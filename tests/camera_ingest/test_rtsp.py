"""RTSP cameras against a real RTSP server (GStreamer's, `rtsp.py`) serving H.264 at 720p and
1080p: OpenCV reads them at their size, and a camera whose server is killed goes offline and
comes back online once it is started again.

The tools are Debian packages (`make system-deps`); without them these tests fail, naming it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from camera_ingest import FrameQueue, IngestService, SourceOptions, open_source
from camera_ingest.testing import FakeHealthSink
from kernel.records import CameraState
from tests.camera_ingest.conftest import camera, ingest, wait_for
from tests.camera_ingest.rtsp import RtspCamera, RtspToolsMissing, check_tools, make_h264_clip

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    try:
        check_tools()
    except RtspToolsMissing as exc:
        pytest.fail(str(exc))
    folder = tmp_path_factory.mktemp("rtsp-clips")
    return {label: make_h264_clip(folder, size, seconds=60) for label, size in SIZES.items()}


@pytest.fixture(params=sorted(SIZES))
def rtsp_camera(request: pytest.FixtureRequest,
                clips: dict[str, Path]) -> Iterator[tuple[RtspCamera, tuple[int, int]]]:
    server = RtspCamera(clips[request.param])
    server.start()
    yield server, SIZES[request.param]
    server.stop()


@pytest.mark.parametrize("label", sorted(SIZES))
def test_rtsp_h264_stream_read_at_its_size(label: str, clips: dict[str, Path]) -> None:
    server = RtspCamera(clips[label])
    server.start()
    src = open_source(server.url, SourceOptions(fps=5.0, timeout_s=10.0))
    try:
        src.open()
        frames = [src.read() for _ in range(5)]
    finally:
        src.close()
        server.stop()
    w, h = SIZES[label]
    assert all(f is not None for f in frames)
    images = [f.image for f in frames if f is not None]
    assert all(img.shape == (h, w, 3) and img.dtype == np.uint8 for img in images)
    assert all(img.std() > 20 for img in images)  # the test pattern, not a grey/black frame
    assert not np.array_equal(images[0], images[-1])  # a moving stream, not one frame repeated
    assert {f.source_ref for f in frames if f is not None} == {server.url}
    assert not any(f.is_still for f in frames if f is not None)


def _state(sink: FakeHealthSink) -> CameraState | None:
    states = sink.states("gate")
    return states[-1] if states else None


@pytest.mark.slow
def test_rtsp_server_killed_offline_restarted_online(
        rtsp_camera: tuple[RtspCamera, tuple[int, int]]) -> None:
    server, (width, height) = rtsp_camera
    cam = camera(server.url, id="gate", fps=5.0, motion_gating=False)
    cfg = ingest(stale_after_intervals=10, offline_after_s=3, backoff_initial_s=0.2,
                 backoff_max_s=1.0, health_interval_s=0.5)
    sink, q = FakeHealthSink(), FrameQueue(1000)
    svc = IngestService([cam], cfg, q, health_sink=sink)
    svc.start()
    reader = svc.readers[0]
    try:
        assert wait_for(lambda: _state(sink) is CameraState.ONLINE, timeout=30), sink.events
        assert wait_for(lambda: q.qsize() >= 3)
        server.kill()
        killed = time.monotonic()
        assert wait_for(lambda: _state(sink) is CameraState.OFFLINE, timeout=15), sink.events
        to_offline = time.monotonic() - killed
        attempts = reader.backoff.attempt
        assert wait_for(lambda: reader.backoff.attempt >= attempts + 2)  # refused, retrying
        before = q.qsize()
        server.start()
        restarted = time.monotonic()
        assert wait_for(lambda: _state(sink) is CameraState.ONLINE, timeout=15), sink.events
        to_online = time.monotonic() - restarted
        assert wait_for(lambda: q.qsize() > before + 3)
    finally:
        svc.stop(5)
    # The TCP session ends with the server, so the loss is seen at once, not after
    # offline_after_s; back within one capped reconnect delay (1 s) plus the stream's open
    # and first frame (about 1 s for OpenCV's FFmpeg to probe it), with room for a busy CI.
    assert to_offline < 3, to_offline
    assert to_online < 5, to_online
    offline = next(e for e in sink.events if e.to_state is CameraState.OFFLINE)
    assert "stopped delivering frames" in offline.detail or "cannot be opened" in offline.detail
    assert reader.reconnects >= 1 and reader.backoff.attempt == 0
    frames = q.drain(q.qsize())
    w = min(width, cfg.max_width)  # 1080p is downscaled to max_width (1280) at ingest
    assert frames and {f.image.shape for f in frames} == {(height * w // width, w, 3)}
