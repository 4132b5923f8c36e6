"""How fast the detector scores camera-trap stills with region proposals (prints JSON): stills
per second for the whole frame alone and for the whole frame + its tiles (`detector.proposals`,
as configured by default), through the built-in model on the chosen device, same run, for each
runtime asked for (`--runtime torch,onnxruntime`: the ratio of each to eager torch is reported).

Usage: .venv/bin/python bench/still_speed.py [--device cpu|cuda] [--stills N]
       [--runtime torch[,onnxruntime]] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bearwatch.cli import passive_openmp

passive_openmp()  # before torch and OpenMP start (see bearwatch.cli)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from detector import ProposalRules  # noqa: E402
from detector.models import Model, builtin_model, load_model  # noqa: E402
from detector.proposals import WHOLE_FRAME_ONLY, score_with_regions  # noqa: E402
from kernel.config import DetectorConfig  # noqa: E402
from kernel.records import Frame, NightSource  # noqa: E402

WIDTH, HEIGHT = 1280, 960  # a 2048x1536 trail-camera still after ingest's default downscale


def _still(seq: int, rng: np.random.Generator) -> Frame:
    image = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    return Frame(camera_id="trap", zone_id="z", captured_at=datetime.now(UTC), seq=seq,
                 image=image, mean_luma=float(image.mean()), is_night=False,
                 night_source=NightSource.IMAGE, is_infrared=False, is_low_res=False,
                 motion_score=0.0, is_still=True)


def _rate(model: object, frames: list[Frame], rules: ProposalRules, device: torch.device
          ) -> float:
    score_with_regions(model, frames[:1], rules)  # type: ignore[arg-type]  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for i, f in enumerate(frames, start=1):
        score_with_regions(model, [f], rules)  # type: ignore[arg-type]
        print(f"\r{i}/{len(frames)} stills", end="", file=sys.stderr, flush=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    print(file=sys.stderr)
    return len(frames) / (time.perf_counter() - started)


def _model(runtime: str, device: torch.device, cache: str) -> Model:
    if runtime == "torch":
        return builtin_model(device)
    cfg = DetectorConfig(model="builtin", device=device.type, runtime=runtime)  # type: ignore[arg-type]
    return load_model(cfg, models_dir=Path(cache) / "models", cache_dir=Path(cache) / "onnx")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--stills", type=int, default=10)
    ap.add_argument("--runtime", default="torch",
                    help="comma-separated runtimes to time in this run: torch, onnxruntime")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    frames = [_still(i, rng) for i in range(args.stills)]
    rules = ProposalRules()
    n_regions = len(rules.still_regions(WIDTH, HEIGHT))
    runtimes: dict[str, dict[str, float | str]] = {}
    with tempfile.TemporaryDirectory(prefix="bw-still-") as cache:
        for runtime in args.runtime.split(","):
            model = _model(runtime.strip(), device, cache)
            whole = _rate(model, frames, WHOLE_FRAME_ONLY, device)
            tiled = _rate(model, frames, rules, device)
            runtimes[runtime] = {"served_by": type(model).__name__,
                                 "stills_per_s_whole_frame": round(whole, 2),
                                 "stills_per_s_with_tiles": round(tiled, 2),
                                 "s_per_tiled_still": round(1 / tiled, 3),
                                 "crops_per_s_with_tiles": round(tiled * (n_regions + 1), 1)}
    first = next(iter(runtimes.values()))
    for fig in runtimes.values():
        fig["ratio_tiled_vs_first"] = round(float(fig["stills_per_s_with_tiles"])
                                            / float(first["stills_per_s_with_tiles"]), 3)
    doc = {"device": str(device), "gpu": torch.cuda.get_device_name(0) if device.type == "cuda"
           else None, "still": f"{WIDTH}x{HEIGHT}", "regions_per_still": n_regions,
           "tile_fractions": [round(f, 4) for f in rules.tile_fractions],
           "runtimes": runtimes}
    text = json.dumps(doc, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
