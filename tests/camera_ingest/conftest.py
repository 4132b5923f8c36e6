"""Builders for the ingest tests: real video files, real JPEGs, a real HTTP MJPEG server."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from kernel.config import CameraConfig, IngestConfig

W, H = 640, 360


def day_image(i: int, rng: np.random.Generator) -> np.ndarray:
    """A colourful, bright RGB scene (green ground, blue sky) with a little noise."""
    img = np.zeros((H, W, 3), np.uint8)
    img[: H // 2] = (110, 160, 230)
    img[H // 2:] = (70, 140, 60)
    img = np.clip(img.astype(np.int16) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)
    cv2.circle(img, (50 + 8 * i, 250), 20, (200, 60, 40), -1)
    return img


def night_ir_image(i: int, rng: np.random.Generator) -> np.ndarray:
    """A dark, grey (zero chroma) scene, as an infrared camera trap records at night."""
    grey = np.full((H, W), 35, np.uint8)
    grey[H // 2:] = 45
    grey = np.clip(grey.astype(np.int16) + rng.integers(-5, 6, grey.shape), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def write_video(path: Path, frames: list[np.ndarray], fps: float, fourcc: str = "MJPG") -> Path:
    """Write RGB frames with cv2.VideoWriter (MJPG in .avi, mp4v in .mp4)."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"this OpenCV build cannot write {fourcc}"
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def wait_for(cond: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll `cond` every 20 ms until true or `timeout` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def jpeg_bytes(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


@pytest.fixture
def day_night_video(tmp_path: Path) -> Path:
    """10 s at 10 fps: 5 s of day, then 5 s of infrared-looking night."""
    rng = np.random.default_rng(1)
    frames = [day_image(i, rng) for i in range(50)] + [night_ir_image(i, rng) for i in range(50)]
    return write_video(tmp_path / "day_night.avi", frames, 10.0)


def camera(source: str, **kw: object) -> CameraConfig:
    return CameraConfig(id=str(kw.pop("id", "cam")), zone="z", source=source, **kw)  # type: ignore[arg-type]


def ingest(**kw: object) -> IngestConfig:
    return IngestConfig(**kw)  # type: ignore[arg-type]


class MjpegServer:
    """A multipart/x-mixed-replace JPEG stream on 127.0.0.1, plus a still image at /still.jpg.

    `set_down(True)` drops every open stream and refuses new connections (the listening socket
    is closed); `set_down(False)` listens again on the same port.
    """

    def __init__(self, frame: Callable[[int], np.ndarray], fps: float = 20.0) -> None:
        self.frame = frame
        self.fps = fps
        self.down = threading.Event()
        self.authorization: str | None = None
        self.port = 0
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.start()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.authorization = self.headers.get("Authorization")
                if self.path == "/page.html":
                    body = b"<html>a camera's admin page</html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path == "/still.jpg":
                    body = jpeg_bytes(server.frame(0))
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                n = 0
                try:
                    while not server.down.is_set():
                        body = jpeg_bytes(server.frame(n))
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(body)}\r\n\r\n".encode()
                                         + body + b"\r\n")
                        n += 1
                        time.sleep(1.0 / server.fps)
                except (BrokenPipeError, ConnectionResetError):
                    return

        return Handler

    def start(self) -> None:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def set_down(self, down: bool) -> None:
        if down:
            self.down.set()
            self.stop()
        else:
            self.down.clear()
            self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"


@pytest.fixture
def mjpeg_server() -> Iterator[MjpegServer]:
    rng = np.random.default_rng(2)
    server = MjpegServer(lambda n: day_image(n % 60, rng))
    yield server
    server.down.set()
    server.stop()
