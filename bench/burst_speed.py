"""Time per camera-trap still and per stream frame through ingest and the detector, on real
frames (prints JSON), same run, built-in model:

- stills: the boxed ktosiu trail-camera frames (2048x1536; a burst = consecutive frame
  numbers), through the real folder source (decode, changed regions within the burst,
  flags at ingest.max_width) and `score_with_regions`, one still at a time, scored
  (a) whole only, (b) whole + crops around the burst's changed regions (no tiles), and
  (c) whole + tiles with the agreement rule (no bursts: nothing moved);
- stream frames: a real video through the capture source and the flagger (motion regions
  against the running background), scored whole only and whole + motion-region crops.

Usage: .venv/bin/python bench/burst_speed.py [--device cpu|cuda] [--data DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from bearwatch.cli import passive_openmp

# Before torch and OpenMP start: spinning workers on 2 shared cores made this benchmark
# several times slower.
passive_openmp()

import torch  # noqa: E402

from camera_ingest import FrameFlagger, SourceOptions, open_source  # noqa: E402
from detector import ProposalRules  # noqa: E402
from detector.models import builtin_model, load_model  # noqa: E402
from detector.proposals import WHOLE_FRAME_ONLY, score_with_regions  # noqa: E402
from kernel.config import CameraConfig, DetectorConfig, IngestConfig, ProposalConfig  # noqa: E402
from kernel.records import Frame  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bears"
VIDEOS = {"rsmpeg_vids_bear.mp4": 30.0, "zamba_densepose_tests_chimp.mp4": 10.0}  # name: fps
T0 = 1_700_000_000.0


def _without_exif(jpeg: bytes) -> bytes:
    """The JPEG's bytes without its APP1 (EXIF) segments, pixels untouched, so the folder
    source orders the copies by the mtimes the benchmark sets."""
    if jpeg[:2] != b"\xff\xd8":
        return jpeg
    out, i = bytearray(jpeg[:2]), 2
    while i + 4 <= len(jpeg) and jpeg[i] == 0xFF and jpeg[i + 1] != 0xDA:
        length = int.from_bytes(jpeg[i + 2:i + 4], "big")
        if jpeg[i + 1] != 0xE1:
            out += jpeg[i:i + 2 + length]
        i += 2 + length
    return bytes(out + jpeg[i:])


def _burst_folder(data: Path, into: Path) -> list[list[str]]:
    """Copy the boxed ktosiu frames into `into`: consecutive numbers 2 s apart (one burst),
    sequences an hour apart. Returns the sequences' file names."""
    with (data / "boxes.csv").open(newline="") as fh:
        files = sorted(r["file"] for r in csv.DictReader(fh) if "ktosiu_bear_" in r["file"])
    sequences: list[list[str]] = []
    last = -2
    for rel in files:
        number = int(re.search(r"(\d+)\.jpg$", rel).group(1))  # type: ignore[union-attr]
        if number != last + 1:
            sequences.append([])
        sequences[-1].append(Path(rel).name)
        last = number
        at = T0 + 3600 * len(sequences) + 2 * len(sequences[-1])
        target = into / Path(rel).name
        target.write_bytes(_without_exif((data / rel).read_bytes()))
        os.utime(target, (at, at))
    return sequences


def _stills(folder: Path, *, burst_gap_s: float) -> tuple[list[Frame], float]:
    """Every still of the folder as the folder camera delivers it, and ingest ms per still."""
    camera = CameraConfig(id="trap", zone="z", source=str(folder))
    flagger = FrameFlagger(camera, IngestConfig())
    src = open_source(str(folder), SourceOptions(fps=1000.0, realtime=False,
                                                 burst_gap_s=burst_gap_s))
    src.open()
    frames: list[Frame] = []
    started = time.perf_counter()
    while (raw := src.read()) is not None:
        frames.append(flagger.process(raw, time.time()).frame)
    elapsed = time.perf_counter() - started
    src.close()
    return frames, 1000.0 * elapsed / max(1, len(frames))


def _stream(video: Path, fps: float) -> tuple[list[Frame], float]:
    """A video file sampled at `fps` through the capture source and the flagger (motion
    regions), and ingest ms per frame."""
    camera = CameraConfig(id="cam", zone="z", source=str(video), fps=fps)
    flagger = FrameFlagger(camera, IngestConfig())
    src = open_source(str(video), SourceOptions(fps=fps, realtime=False))
    src.open()
    frames: list[Frame] = []
    started = time.perf_counter()
    while not src.ended:
        raw = src.read()
        if raw is not None:
            frames.append(flagger.process(raw, time.time()).frame)
    elapsed = time.perf_counter() - started
    src.close()
    return frames, 1000.0 * elapsed / max(1, len(frames))


def _score_ms(model: object, frames: list[Frame], rules: ProposalRules,
              device: torch.device) -> tuple[float, float]:
    """Mean ms to score one frame at a time, and mean regions scored per frame."""
    score_with_regions(model, frames[:1], rules)  # type: ignore[arg-type]  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    regions = 0
    started = time.perf_counter()
    for f in frames:
        (s,) = score_with_regions(model, [f], rules)  # type: ignore[arg-type]
        regions += s.n_regions
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 1000.0 * (time.perf_counter() - started) / len(frames), regions / len(frames)


def _row(ingest_ms: float, score: tuple[float, float]) -> dict[str, float]:
    return {"ingest_ms": round(ingest_ms, 1), "score_ms": round(score[0], 1),
            "total_s": round((ingest_ms + score[0]) / 1000.0, 3),
            "regions_scored": round(score[1], 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--tiled-stills", type=int, default=8, metavar="N",
                    help="stills scored with tiles (about 130 crops each; default 8)")
    ap.add_argument("--model", choices=("shipped", "builtin"), default="shipped",
                    help="the shipped model (what make up serves) or the zero-shot baseline; "
                    "both run the same backbone, the head adds next to nothing")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    # The shipped model reads no models folder; any path will do.
    model = (builtin_model(device) if args.model == "builtin"
             else load_model(DetectorConfig(model="shipped"),
                             models_dir=Path(tempfile.gettempdir()), device=args.device))
    # What config.yaml ships: lone stills tiled at two scales from the tile threshold up.
    tiled = ProposalRules.from_config(ProposalConfig())
    regions_only = dataclasses.replace(tiled, tile_stills=False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sequences = _burst_folder(args.data, folder)
        lone, lone_ms = _stills(folder, burst_gap_s=0)  # no bursts: nothing "moved"
        burst, burst_ms = _stills(folder, burst_gap_s=10)
        print(f"{len(burst)} stills read", file=sys.stderr)
        stills = {
            "whole_only": _row(lone_ms, _score_ms(model, lone, WHOLE_FRAME_ONLY, device)),
            "burst_regions": _row(burst_ms, _score_ms(model, burst, regions_only, device)),
            "tiles_agreement": _row(lone_ms, _score_ms(model, lone[:args.tiled_stills], tiled,
                                                       device)),
        }
    streams = {}
    for name, fps in VIDEOS.items():
        frames, ingest_ms = _stream(args.data / "videos" / name, fps)
        print(f"{name}: {len(frames)} frames read", file=sys.stderr)
        streams[name] = {
            "fps": fps, "frames": len(frames), "size": f"{frames[0].width}x{frames[0].height}",
            "frames_with_motion_regions": sum(1 for f in frames if f.regions),
            "whole_only": _row(ingest_ms, _score_ms(model, frames, WHOLE_FRAME_ONLY, device)),
            "motion_regions": _row(ingest_ms, _score_ms(model, frames, regions_only, device)),
        }
    doc = {"model": model.version, "device": str(device), "torch_threads": torch.get_num_threads(),
           "cpu_cores": os.cpu_count(),
           "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
           "stills": {"source": "ktosiu trail camera, 2048x1536, scored at "
                      f"{burst[0].width}x{burst[0].height}", "n": len(burst),
                      "bursts": [len(s) for s in sequences],
                      "stills_with_changed_regions": sum(1 for f in burst if f.regions),
                      "tiles_per_still": len(tiled.still_regions(lone[0].width, lone[0].height)),
                      "per_still": stills},
           "stream_frames": streams,
           "note": "ms per frame, one frame per call; total_s = ingest + score; tiles "
           f"scored on the first {min(args.tiled_stills, len(lone))} stills"}
    text = json.dumps(doc, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
