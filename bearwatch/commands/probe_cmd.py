"""`bearwatch probe SOURCE`: open any camera source, read N sampled frames and show what
ingest would compute (flags, motion gate) plus a summary, so an operator can check a camera
before adding it to config.yaml. Needs no database."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bearwatch.commands.common import load
from camera_ingest import (
    CorruptFrameError,
    FrameFlagger,
    Processed,
    SourceOptions,
    open_source,
    redact,
)
from kernel.config import CameraConfig, IngestConfig, LoggingConfig
from kernel.logs import setup_logging

DEFAULT_CONFIG = "config.yaml"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "probe", help="read a few frames from a camera source and show their quality flags",
        description="Open SOURCE (rtsp://…, http(s)://…, video file, folder, /dev/video0 or 0, "
        "demo:), read N sampled frames, print per-frame flags and a summary. Uses the ingest "
        "section of --config; when --config is left at ./config.yaml and that file does not "
        "exist, the built-in ingest defaults are used. Folders are read without remembering "
        "what was probed, so probing never consumes a camera trap's uploads.")
    p.add_argument("source", help="camera source string, as in config.yaml")
    p.add_argument("--frames", type=int, default=10, metavar="N",
                   help="frames to read (default 10)")
    p.add_argument("--fps", type=float, default=1.0, metavar="F", help="sampling rate (default 1)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--fast", action="store_true",
                   help="files and folders: read as fast as they decode, not at --fps pace")
    p.add_argument("--latitude", type=float, help="camera latitude: night by sun altitude")
    p.add_argument("--longitude", type=float, help="camera longitude")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="give up after S seconds (default 60)")
    p.set_defaults(handler=_probe)


def _ingest_config(args: argparse.Namespace) -> IngestConfig:
    if args.config == DEFAULT_CONFIG and not Path(DEFAULT_CONFIG).exists():
        setup_logging(LoggingConfig(level="WARNING"), sys.stderr)
        return IngestConfig()
    return load(args).ingest


def _frame_json(p: Processed) -> dict[str, Any]:
    f = p.frame
    return {"seq": f.seq, "captured_at": f.captured_at.isoformat(), "width": f.width,
            "height": f.height, "mean_luma": round(f.mean_luma, 2), "is_infrared": f.is_infrared,
            "is_night": f.is_night, "night_source": f.night_source.value,
            "is_low_res": f.is_low_res, "motion_score": round(f.motion_score, 4)}


def _summary(args: argparse.Namespace, done: list[Processed], native: Counter[str],
             errors: int, elapsed: float, ended: bool) -> dict[str, Any]:
    n = len(done)

    def share(key: str) -> float:
        return round(sum(1 for p in done if getattr(p.frame, key)) / n, 4) if n else 0.0

    sizes = Counter(f"{p.frame.width}x{p.frame.height}" for p in done)
    return {
        "source": redact(args.source), "frames": n,
        "native_resolution": native.most_common(1)[0][0] if native else None,
        "resolution": sizes.most_common(1)[0][0] if sizes else None,
        "fps_requested": args.fps,
        "fps_achieved": round((n - 1) / elapsed, 3) if n > 1 and elapsed > 0 else None,
        "mean_luma": round(sum(p.frame.mean_luma for p in done) / n, 2) if n else None,
        "share_infrared": share("is_infrared"), "share_night": share("is_night"),
        "share_low_res": share("is_low_res"),
        "n_gated": sum(1 for p in done if not p.admitted),
        "decode_errors": errors, "ended_early": ended and n < args.frames,
    }


def _probe(args: argparse.Namespace) -> int:
    if args.frames < 1 or args.fps <= 0:
        print("error: --frames must be >= 1 and --fps > 0", file=sys.stderr)
        return 2
    ingest = _ingest_config(args)
    camera = CameraConfig(id="probe", zone="probe", source=args.source, fps=args.fps,
                          latitude=args.latitude, longitude=args.longitude)
    source = open_source(args.source, SourceOptions(fps=args.fps, realtime=not args.fast,
                                                    burst_gap_s=ingest.burst_gap_s))
    flagger = FrameFlagger(camera, ingest)
    done: list[Processed] = []
    native: Counter[str] = Counter()
    errors = 0
    exhausted = False
    source.open()
    start = first = time.monotonic()
    try:
        while len(done) < args.frames and time.monotonic() - start < args.timeout:
            try:
                raw = source.read()
            except CorruptFrameError as exc:
                errors += 1
                print(f"skipped: {exc}", file=sys.stderr)
                continue
            if raw is None:
                if source.ended or source.quiet_is_healthy:
                    exhausted = True  # end of file, or no more files in the folder for now
                    break
                continue
            if not done:
                first = time.monotonic()
            native[f"{raw.image.shape[1]}x{raw.image.shape[0]}"] += 1
            p = flagger.process(raw, time.time())
            done.append(p)
            if not args.json:
                _print_row(p)
        elapsed = time.monotonic() - first
    finally:
        source.close()
    summary = _summary(args, done, native, errors, elapsed, exhausted)
    if args.json:
        print(json.dumps({"frames": [_frame_json(p) for p in done], "summary": summary}, indent=1))
    else:
        print("summary: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    return 0 if done else 1


def _print_row(p: Processed) -> None:
    f = p.frame
    print(f"#{f.seq:<4} {f.captured_at.isoformat(timespec='seconds')}  {f.width}x{f.height}  "
          f"luma {f.mean_luma:6.1f}  {'IR ' if f.is_infrared else '   '}"
          f"{'night' if f.is_night else 'day  '}({f.night_source.value})  "
          f"{'low-res ' if f.is_low_res else ''}motion {f.motion_score:.3f}"
          f"{'' if p.admitted else '  (gated)'}  {f.source_ref}")
