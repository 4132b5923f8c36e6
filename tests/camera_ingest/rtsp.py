"""A real RTSP camera for tests and the ingest bench: H.264 clips made with Debian's ffmpeg
(libx264) and served by GStreamer's RTSP server (`rtsp_server.py`, run with the system
Python, which has PyGObject; our venv does not). `make system-deps` installs both.

No pytest here: the bench imports this too. A missing tool raises `RtspToolsMissing`, whose
message names the fix.
"""

from __future__ import annotations

import select
import signal
import socket
import subprocess
import time
from pathlib import Path

SYSTEM_PYTHON = Path("/usr/bin/python3")
SERVER = Path(__file__).with_name("rtsp_server.py")
FIX = "run `make system-deps` (as root; CI does)"


class RtspToolsMissing(RuntimeError):
    """ffmpeg with libx264, or GStreamer's RTSP server for the system Python, is missing."""


def check_tools() -> None:
    """Raise `RtspToolsMissing` naming what is missing and `make system-deps`.

    Raises:
        RtspToolsMissing: no ffmpeg, an ffmpeg without libx264, no /usr/bin/python3, or no
            GStreamer RTSP server / elements for it.
    """
    problems: list[str] = []
    try:
        encoders = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True,
                                  text=True, timeout=30, check=False).stdout
        if "libx264" not in encoders:
            problems.append("ffmpeg has no libx264 encoder (Debian's `ffmpeg` has it)")
    except FileNotFoundError:
        problems.append("no `ffmpeg` (Debian package `ffmpeg`)")
    if not SYSTEM_PYTHON.exists():
        problems.append(f"no {SYSTEM_PYTHON} (Debian `python3`)")
    else:
        probe = subprocess.run([str(SYSTEM_PYTHON), str(SERVER), "--check"], capture_output=True,
                               text=True, timeout=60, check=False)
        if probe.returncode != 0:
            lines = (probe.stderr or probe.stdout).strip().splitlines()
            problems.append(f"GStreamer RTSP server for {SYSTEM_PYTHON}: "
                            + (lines[-1] if lines else f"exit {probe.returncode}"))
    if problems:
        raise RtspToolsMissing("the RTSP camera needs Debian's ffmpeg, gir1.2-gst-rtsp-server-1.0 "
                               "and the GStreamer good/bad plugins: " + "; ".join(problems)
                               + f"; {FIX}")


def make_h264_clip(folder: Path, size: tuple[int, int], *, seconds: float, fps: int = 25,
                   segment_s: float = 2.0) -> Path:
    """An H.264 (libx264, yuv420p, no B-frames, a key frame every second) MP4 of `seconds`.

    Only `segment_s` of ffmpeg's moving test pattern is encoded; it is repeated to the length
    by remuxing (`-stream_loop`, no encoding), so long clips cost no more CPU than short ones.

    Args:
        folder: where the clip goes (a test's tmp_path).
        size: width, height in px.
        seconds: length of the clip, s.
        fps: frame rate of the clip.
    """
    w, h = size
    segment = folder / f"segment-{w}x{h}.mp4"
    clip = folder / f"h264-{w}x{h}-{seconds:g}s.mp4"
    _ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={fps}", "-t", f"{segment_s:g}",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-bf", "0",
             "-g", str(fps), "-pix_fmt", "yuv420p", str(segment)])
    loops = max(0, int(seconds / segment_s + 0.999) - 1)
    _ffmpeg(["-stream_loop", str(loops), "-i", str(segment), "-c", "copy", "-t", f"{seconds:g}",
             "-movflags", "+faststart", str(clip)])
    segment.unlink()
    return clip


def _ffmpeg(args: list[str]) -> None:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                           *args], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg {' '.join(args)} failed: {done.stderr.strip()}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RtspCamera:
    """An RTSP server process serving `clip` at `url` on a fixed port, so it can be killed
    (a camera losing power) and started again at the same address.

    Args:
        clip: an MP4 with one H.264 track (`make_h264_clip`).
        port: TCP port on 127.0.0.1; a free one when None.
    """

    def __init__(self, clip: Path, port: int | None = None, path: str = "/cam") -> None:
        self.clip = clip
        self.port = port or free_port()
        self.path = path
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}{self.path}"

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the server and return once it listens.

        Raises:
            RuntimeError: it exited or did not say `ready` within `timeout_s`.
        """
        proc = subprocess.Popen([str(SYSTEM_PYTHON), str(SERVER), "--clip", str(self.clip),
                                 "--port", str(self.port), "--path", self.path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proc = proc
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], 0.1)
            if ready:
                line = proc.stdout.readline()
                if line.startswith("ready "):
                    return
        self.stop()
        err = proc.stderr.read() if proc.stderr is not None else ""
        raise RuntimeError(f"RTSP server on port {self.port} did not start "
                           f"(exit {proc.returncode}): {err.strip()}; {FIX}")

    def kill(self) -> None:
        """SIGKILL: the stream ends with no goodbye, as when a camera loses power."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def _end(self, sig: signal.Signals) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
