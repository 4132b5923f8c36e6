"""`bearwatch run` on a real RTSP camera (GStreamer's RTSP server, H.264 720p): the camera goes
online, offline when the server is killed, and online again once it is restarted, as the
database's camera events show. Needs `make system-deps`; fails naming it otherwise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db import make_engine, make_sessionmaker, migrate
from db.health import camera_events
from kernel.records import CameraState
from tests.camera_ingest.rtsp import RtspCamera, RtspToolsMissing, check_tools, make_h264_clip

REPO = Path(__file__).resolve().parents[2]


def _states(engine: Engine) -> list[CameraState]:
    with make_sessionmaker(engine)() as session:
        return [e.state for e in reversed(camera_events(session, "gate"))]


def _until(cond: Callable[[], bool], proc: subprocess.Popen[str], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


@pytest.mark.slow
def test_run_rtsp_camera_offline_when_server_dies_online_after_restart(tmp_path: Path) -> None:
    try:
        check_tools()
    except RtspToolsMissing as exc:
        pytest.fail(str(exc))
    server = RtspCamera(make_h264_clip(tmp_path, (1280, 720), seconds=180))
    engine = make_engine(f"sqlite:///{tmp_path / 'bearwatch.db'}")
    migrate.upgrade(engine)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"""
database:
  url: "{engine.url.render_as_string(hide_password=False)}"
storage:
  root: {tmp_path / 'var'}
ingest:
  backoff_initial_s: 0.2
  backoff_max_s: 1
  health_interval_s: 1
zones:
  - id: trail
    stage: shadow
cameras:
  - id: gate
    zone: trail
    source: {server.url}
    fps: 2
detector:
  device: cpu
""")
    server.start()
    proc = subprocess.Popen([sys.executable, "-m", "bearwatch.cli", "--config", str(cfg), "run"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    on, off = CameraState.ONLINE, CameraState.OFFLINE
    try:
        assert _until(lambda: _states(engine)[-1:] == [on], proc, 120), _states(engine)
        server.kill()
        assert _until(lambda: _states(engine)[-1:] == [off], proc, 30), _states(engine)
        server.start()
        restarted = time.monotonic()
        assert _until(lambda: _states(engine)[-1:] == [on], proc, 30), _states(engine)
        back_s = time.monotonic() - restarted
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        server.stop()
        engine.dispose()
    assert proc.returncode == 0, out
    states = _states(engine)
    assert states[0] is on and off in states and states[-1] is on, states
    # One capped reconnect delay (1 s), the stream's open (~1 s) and a busy CI's slack.
    assert back_s < 8, back_s
    assert "camera reconnected" in out and "pipeline stopped" in out
