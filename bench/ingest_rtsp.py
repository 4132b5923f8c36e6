"""The RTSP part of the ingest benchmark (`ingest_bench.py --rtsp`): H.264 at 1080p and 720p
(libx264, made with ffmpeg) served by a real RTSP server (GStreamer's, the one the tests use:
tests/camera_ingest/rtsp.py), read by one camera reader.

Per size: the same H.264 clip read as a file (decode cost without the network), the live
stream (frames per CPU second of this process: RTSP receive, H.264 decode, downscale, flags,
motion score; the server's CPU is not counted), and a reconnect with the default ingest
settings: server killed (a camera losing power), down for `OUTAGE_S`, started again.
Needs `make system-deps` (ffmpeg, gir1.2-gst-rtsp-server-1.0, python3-gi).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from camera_ingest import (
    CameraHealthReport,
    CameraStateChange,
    FrameFlagger,
    FrameQueue,
    IngestService,
    SourceOptions,
    open_source,
)
from kernel.config import CameraConfig, IngestConfig
from kernel.records import CameraState

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' RTSP camera (tests/ is not an installed package)
from tests.camera_ingest.rtsp import RtspCamera, check_tools, make_h264_clip  # noqa: E402

NATIVE_FPS = 25
OUTAGE_S = 2.0
"""How long the server stays down before it is started again, s."""


class _TimedSink:
    """A HealthSink that keeps when (time.monotonic) each state change arrived."""

    def __init__(self) -> None:
        self.changes: list[tuple[float, CameraState]] = []
        self._lock = threading.Lock()

    def write(self, reports: Sequence[CameraHealthReport]) -> None:
        pass

    def event(self, change: CameraStateChange) -> None:
        with self._lock:
            self.changes.append((time.monotonic(), change.to_state))

    def first(self, state: CameraState, after: float) -> float | None:
        with self._lock:
            return next((t for t, s in self.changes if s is state and t >= after), None)


def _wait(cond: Callable[[], float | None], timeout_s: float) -> float | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (value := cond()) is not None:
            return value
        time.sleep(0.01)
    return cond()


def _live_rate(url: str, config: IngestConfig, seconds: float) -> dict[str, float]:
    cam = CameraConfig(id="bench", zone="bench", source=url, fps=NATIVE_FPS, motion_gating=True)
    src = open_source(url, SourceOptions(fps=NATIVE_FPS))
    flagger = FrameFlagger(cam, config)
    t = time.perf_counter()
    src.open()
    open_s = time.perf_counter() - t
    n = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        raw = src.read()
        if raw is not None:
            flagger.process(raw, n / NATIVE_FPS)
            n += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    src.close()
    return {"open_s": round(open_s, 2), "frames": n, "fps_wall": round(n / wall, 1),
            "fps_per_core": round(n / cpu, 1), "cpu_cores_busy": round(cpu / wall, 2)}


def _reconnect(server: RtspCamera, config: IngestConfig) -> dict[str, float | int | None]:
    """Seconds from start to online, kill to offline, restart to online (None: not seen)."""
    cam = CameraConfig(id="bench", zone="bench", source=server.url, fps=5, motion_gating=False)
    sink = _TimedSink()
    svc = IngestService([cam], config, FrameQueue(1000), health_sink=sink)
    t0 = time.monotonic()
    svc.start()
    try:
        online = _wait(lambda: sink.first(CameraState.ONLINE, t0), 30)
        server.kill()
        killed = time.monotonic()
        offline = _wait(lambda: sink.first(CameraState.OFFLINE, killed), 30)
        time.sleep(OUTAGE_S)  # the outage itself: what is measured is what follows it
        server.start()
        restarted = time.monotonic()
        back = _wait(lambda: sink.first(CameraState.ONLINE, restarted), 120)
    finally:
        svc.stop(5)

    def since(t: float | None, start: float) -> float | None:
        return None if t is None else round(t - start, 2)

    return {"start_to_online_s": since(online, t0), "kill_to_offline_s": since(offline, killed),
            "outage_s": OUTAGE_S, "restart_to_online_s": since(back, restarted),
            "reconnects": svc.readers[0].reconnects}


def rtsp_figures(folder: Path, config: IngestConfig, seconds: float,
                 file_rate: Callable[[Path, IngestConfig, float], dict[str, float]]
                 ) -> dict[str, object]:
    """The RTSP section of the bench JSON (clips go to `folder`).

    Args:
        file_rate: `ingest_bench.ingest_rate`, for the same clip read as a file.
    Raises:
        tests.camera_ingest.rtsp.RtspToolsMissing: ffmpeg or the RTSP server is missing.
    """
    check_tools()
    out: dict[str, object] = {
        "server": "GStreamer RTSP server (qtdemux ! h264parse ! rtph264pay), 127.0.0.1",
        "codec": "H.264 libx264 veryfast crf 28, no B-frames, GOP 1 s, ffmpeg testsrc2",
        "native_fps": NATIVE_FPS, "read_seconds": seconds,
        "reconnect_settings": {"backoff_initial_s": config.backoff_initial_s,
                               "backoff_max_s": config.backoff_max_s,
                               "offline_after_s": config.offline_after_s},
    }
    for label, size in (("1080p", (1920, 1080)), ("720p", (1280, 720))):
        short = make_h264_clip(folder, size, seconds=seconds, fps=NATIVE_FPS)
        clip = make_h264_clip(folder, size, seconds=seconds + 120, fps=NATIVE_FPS)
        server = RtspCamera(clip)
        server.start()
        try:
            out[label] = {"h264_file": file_rate(short, config, float(NATIVE_FPS)),
                          "rtsp_live": _live_rate(server.url, config, seconds),
                          "reconnect": _reconnect(server, config)}
        finally:
            server.stop()
    return out
