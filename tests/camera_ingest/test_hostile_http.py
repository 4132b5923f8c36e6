"""An HTTP camera sending garbage (random bytes, a wrong content type, truncated multipart
parts) against a real server on 127.0.0.1: the source reports a clear error or a corrupt
frame, never crashes, and recovers when the server sends good frames again."""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camera_ingest import CorruptFrameError, FrameQueue, IngestService, SourceOptions, open_source
from camera_ingest.errors import SourceError
from camera_ingest.testing import FakeHealthSink
from tests.camera_ingest.conftest import camera, day_image, ingest, jpeg_bytes, wait_for

GOOD = jpeg_bytes(day_image(0, np.random.default_rng(3)))


class GarbageCamera:
    """/snap.jpg answers `body` with `ctype`; /stream.mjpg is multipart whose parts are
    `part(n)` (None: end the response) while `good` is unset, then real JPEGs."""

    def __init__(self) -> None:
        self.body = GOOD
        self.ctype = "image/jpeg"
        self.good = threading.Event()
        self.rng = np.random.default_rng(4)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path == "/snap.jpg":
                    body = server.body
                    self.send_response(200)
                    self.send_header("Content-Type", server.ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    for n in range(400):
                        self.wfile.write(server.part(n))
                        time.sleep(0.05)
                except (BrokenPipeError, ConnectionResetError):
                    return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def part(self, n: int) -> bytes:
        if self.good.is_set():
            body, ctype = GOOD, "image/jpeg"
        elif n % 3 == 0:
            body, ctype = self.rng.bytes(3000), "image/jpeg"  # random bytes
        elif n % 3 == 1:
            body, ctype = b"<html>login</html>", "text/html"  # a wrong content type
        else:
            # A truncated part: it announces the whole JPEG and sends half.
            head = (f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(GOOD)}\r\n\r\n")
            return head.encode() + GOOD[: len(GOOD) // 2]
        return (f"--frame\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
                .encode() + body + b"\r\n")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def garbage_camera() -> Iterator[GarbageCamera]:
    server = GarbageCamera()
    yield server
    server.stop()


def _still(server: GarbageCamera) -> object:
    src = open_source(server.url("snap.jpg"), SourceOptions(fps=1000.0, timeout_s=2.0,
                                                            http_mode="still"))
    src.open()
    return src


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=1500), st.sampled_from(["image/jpeg", "text/html",
                                                  "application/octet-stream"]))
def test_snapshot_garbage_body_corrupt_frame_naming_camera_then_recovers(
        garbage_camera: GarbageCamera, body: bytes, ctype: str) -> None:
    src = _still(garbage_camera)
    garbage_camera.body, garbage_camera.ctype = body, ctype
    try:
        try:
            raw = src.read()  # type: ignore[attr-defined]
        except CorruptFrameError as exc:
            assert exc.ref == garbage_camera.url("snap.jpg") and "snap.jpg" in str(exc)
        else:
            assert raw is not None and raw.image.dtype == np.uint8 and raw.image.shape[2] == 3
        garbage_camera.body, garbage_camera.ctype = GOOD, "image/jpeg"
        raw = src.read()  # type: ignore[attr-defined]
        assert raw is not None and raw.image.shape == (360, 640, 3)
    finally:
        garbage_camera.body, garbage_camera.ctype = GOOD, "image/jpeg"
        src.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(b"", r"empty \(0 bytes\)", id="empty-body"),
        pytest.param(GOOD[: len(GOOD) // 2], "not a decodable image", id="truncated-jpeg"),
        pytest.param(os.urandom(4096), "not a decodable image", id="random"),
    ],
)
def test_snapshot_known_garbage_clear_problem(garbage_camera: GarbageCamera, body: bytes,
                                              problem: str) -> None:
    src = _still(garbage_camera)
    garbage_camera.body = body
    try:
        with pytest.raises(CorruptFrameError, match=problem):
            src.read()  # type: ignore[attr-defined]
    finally:
        garbage_camera.body = GOOD
        src.close()  # type: ignore[attr-defined]


def test_auto_mode_wrong_content_type_refused_at_open(garbage_camera: GarbageCamera) -> None:
    garbage_camera.ctype = "text/plain"
    try:
        src = open_source(garbage_camera.url("snap.jpg"), SourceOptions(fps=1.0, timeout_s=2.0))
        with pytest.raises(SourceError, match="'text/plain'.*MJPEG stream or snapshot URL"):
            src.open()
    finally:
        garbage_camera.ctype = "image/jpeg"


def test_mjpeg_garbage_parts_service_survives_and_recovers(
        garbage_camera: GarbageCamera) -> None:
    garbage_camera.good.clear()
    cam = camera(garbage_camera.url("stream.mjpg"), id="junk", fps=10.0, motion_gating=False)
    cfg = ingest(stale_after_intervals=3, offline_after_s=0.5, backoff_initial_s=0.1,
                 backoff_max_s=0.4, health_interval_s=0.2)
    sink, q = FakeHealthSink(), FrameQueue(1000)
    svc = IngestService([cam], cfg, q, health_sink=sink)
    svc.start()
    reader = svc.readers[0]
    try:
        time.sleep(1.5)  # garbage only: corrupt frames, reconnects, nothing crashes
        assert all(t.is_alive() for t in threading.enumerate() if t.name.startswith("camera"))
        bad_phase = (reader.decode_errors, reader.reconnects, reader.frames_total)
        assert bad_phase[0] + bad_phase[1] >= 1, bad_phase  # counted, not crashed
        garbage_camera.good.set()
        assert wait_for(lambda: reader.frames_total > bad_phase[2] + 3, timeout=20.0), bad_phase
    finally:
        svc.stop(5)
        garbage_camera.good.clear()
    frames = []
    while q.qsize():
        frames.append(q.get(timeout=0.1))
    assert frames and all(f.image.dtype == np.uint8 and f.image.shape[2] == 3 for f in frames)
