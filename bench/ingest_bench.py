"""Ingest benchmark (prints JSON): frames per second per CPU core that one camera reader
sustains on 1080p and 720p video files, including decode, the ingest downscale and all
quality flags plus the motion score; and the share of frames the motion gate holds back on a
static scene. Runs in well under a minute.

Usage: .venv/bin/python bench/ingest_bench.py [--seconds 3] [--rtsp]

`--rtsp` adds H.264 (libx264) at 1080p and 720p served by a real RTSP server: the file, the
live stream and a reconnect (`ingest_rtsp.py`; needs `make system-deps`).

H.264 files are written with cv2.VideoWriter ('avc1', then 'H264'); when this OpenCV build
cannot encode H.264 the JSON says so and MPEG-4 Part 2 ('mp4v') is used instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")  # the failed H.264 writer probes are expected
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
import cv2  # noqa: E402  (after the log settings above)
import numpy as np  # noqa: E402

from camera_ingest import FrameFlagger, SourceOptions, open_source  # noqa: E402
from kernel.config import CameraConfig, IngestConfig  # noqa: E402

SHARED_H264 = Path(__file__).resolve().parents[2] / "shared/data/bears/videos/rsmpeg_vids_bear.mp4"


def _scene(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A textured outdoor-like BGR background (sky gradient, ground texture, dark shapes)."""
    img = np.zeros((height, width, 3), np.float32)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    img[..., 0], img[..., 1], img[..., 2] = 200 - 120 * y, 170 - 40 * y, 120 - 50 * y
    texture = cv2.GaussianBlur(rng.normal(0, 25, (height, width)).astype(np.float32), (0, 0), 2)
    img += texture[..., None]
    for _ in range(12):
        cx, cy = int(rng.uniform(0, width)), int(rng.uniform(height * 0.5, height))
        r = int(rng.uniform(0.02, 0.08) * width)
        cv2.circle(img, (cx, cy), r, (40, 70, 40), -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def _writer(path_stem: Path, size: tuple[int, int],
            fps: float) -> tuple[cv2.VideoWriter, Path, str]:
    for fourcc in ("avc1", "H264"):
        path = path_stem.with_suffix(".mp4")
        w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
        if w.isOpened():
            return w, path, fourcc
        w.release()
    path = path_stem.with_suffix(".mp4")
    return cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size), path, "mp4v"


def write_clip(folder: Path, name: str, size: tuple[int, int], frames: int, fps: float, *,
               moving: bool, rng: np.random.Generator) -> tuple[Path, str]:
    """A clip of a textured scene with sensor noise and (optionally) a moving dark blob."""
    w, h = size
    base = _scene(w, h, rng)
    noise = [rng.integers(-4, 5, (h, w, 1), dtype=np.int16) for _ in range(4)]
    writer, path, codec = _writer(folder / name, size, fps)
    for i in range(frames):
        frame = np.clip(base.astype(np.int16) * (1.0 + 0.02 * np.sin(i / 40)) + noise[i % 4],
                        0, 255).astype(np.uint8)
        if moving:
            cx = int((i * 7) % w)
            cv2.ellipse(frame, (cx, int(h * 0.7)), (w // 16, h // 12), 0, 0, 360, (20, 20, 25), -1)
        writer.write(frame)
    writer.release()
    return path, codec


def ingest_rate(path: Path, config: IngestConfig, native_fps: float) -> dict[str, float]:
    """Decode every frame, downscale, flag; rates per wall second and per CPU second."""
    cam = CameraConfig(id="bench", zone="bench", source=str(path), fps=native_fps,
                       motion_gating=True)
    src = open_source(str(path), SourceOptions(fps=native_fps, realtime=False))
    flagger = FrameFlagger(cam, config)
    src.open()
    n = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while (raw := src.read()) is not None:
        flagger.process(raw, n / native_fps)
        n += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    src.close()
    return {"frames": n, "fps_wall": round(n / wall, 1), "fps_per_core": round(n / cpu, 1),
            "cpu_cores_busy": round(cpu / wall, 2)}


def decode_only_rate(path: Path) -> float:
    cap = cv2.VideoCapture(str(path))
    n, cpu0 = 0, time.process_time()
    while cap.read()[0]:
        n += 1
    cap.release()
    return round(n / (time.process_time() - cpu0), 1)


def gating_share(path: Path, fps: float, frames_sampled: int) -> dict[str, float]:
    """Share of sampled frames the motion gate holds back (default camera settings), with the
    gate's clock following the video's own time so the keep-alive fires as it would live."""
    cam = CameraConfig(id="bench", zone="bench", source=str(path), fps=fps)
    src = open_source(str(path), SourceOptions(fps=fps, realtime=False))
    flagger = FrameFlagger(cam, IngestConfig())
    src.open()
    sent = gated = 0
    while (raw := src.read()) is not None:
        p = flagger.process(raw, (sent + gated) / fps)
        sent += p.admitted
        gated += not p.admitted
    src.close()
    total = sent + gated
    return {"frames": total, "sent": sent, "gated": gated,
            "share_gated": round(gated / total, 4) if total else 0.0,
            "keepalive_s": cam.keepalive_s, "motion_threshold": cam.motion_threshold,
            "video_seconds": round(total / fps, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each test clip, s")
    ap.add_argument("--rtsp", action="store_true",
                    help="also read H.264 1080p/720p from a real RTSP server (make system-deps)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    config = IngestConfig()
    out: dict[str, object] = {
        "bench": "ingest", "python": platform.python_version(), "opencv": cv2.__version__,
        "cpu_count": os.cpu_count(), "ingest_max_width": config.max_width,
        "note": "one reader thread; fps_per_core = frames / process CPU seconds (decode, "
                "downscale to max_width, luma/chroma/infrared/night flags, motion score)",
    }
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        folder = Path(tmp)
        native = 25.0
        for label, size in (("1080p", (1920, 1080)), ("720p", (1280, 720))):
            t = time.perf_counter()
            path, codec = write_clip(folder, label, size, int(args.seconds * native), native,
                                     moving=True, rng=rng)
            print(f"{label}: wrote {path.name} ({codec}) in {time.perf_counter() - t:.1f} s",
                  file=sys.stderr)
            out["codec"] = codec
            out["h264_encoder_available"] = codec in ("avc1", "H264")
            result = ingest_rate(path, config, native)
            result["decode_only_fps_per_core"] = decode_only_rate(path)
            out[label] = result
        if not out["h264_encoder_available"]:
            out["codec_note"] = ("this OpenCV build cannot encode H.264 (avc1/H264 writers fail: "
                                 "no libx264, only h264_v4l2m2m without a device); clips are "
                                 "MPEG-4 Part 2 (mp4v); H.264 usually costs more to decode at "
                                 "the same size, so read the 1080p/720p figures as optimistic")
        if SHARED_H264.exists():
            # A real H.264 clip (320x180, 30 fps): proves the H.264 decode path, tiny frames.
            out["h264_reference_320x180"] = {"file": SHARED_H264.name,
                                              **ingest_rate(SHARED_H264, config, 29.97)}
        static_fps = 2.0
        static, _ = write_clip(folder, "static", (640, 360), int(300 * static_fps), static_fps,
                               moving=False, rng=rng)
        out["static_scene_gating"] = gating_share(static, static_fps, int(300 * static_fps))
        moving, _ = write_clip(folder, "moving", (640, 360), int(60 * static_fps), static_fps,
                               moving=True, rng=rng)
        out["moving_object_gating"] = gating_share(moving, static_fps, int(60 * static_fps))
        if args.rtsp:
            from ingest_rtsp import rtsp_figures  # bench/ is on sys.path when run as a script

            out["rtsp_h264"] = rtsp_figures(folder, config, args.seconds, ingest_rate)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
