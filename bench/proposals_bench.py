"""Region proposals on the shared photos (prints JSON): the built-in model on whole frames vs
the max over whole frame + multi-scale tiles (`detector.proposals`), for the trail-camera
bears (per frame and per sequence) and the false-alarm cost on the no-bear photos.

Usage: .venv/bin/python bench/proposals_bench.py [--data ../shared/data/bears]
       [--source ktosiu/Bear-Detection] [--no-bear-every K] [--threshold T] [--json PATH]
       [--model X.pkl --sha256 HEX]   (a trained model instead of the built-in one; give
       --source the held-out sequence's group, e.g. ktosiu/Bear-Detection/data/bearSightings/
       raw/bear_#0, and --split its .split.json with --no-bear-every 1, so it is scored only
       on images it never trained on)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from detector import builtin_model, load_labelled, read_split
from detector.loader import load_learner_model
from detector.proposals import best_region, tiles
from detector.training.cache import load_rgb

LOAD_SIDE = 1024


def _score(model: object, path: Path) -> tuple[float, float, int]:
    """(whole-frame p_bear, max over whole + tiles, number of tiles) for one image."""
    rgb = load_rgb(path, max_side=LOAD_SIDE)
    h, w = rgb.shape[:2]
    boxes = tiles(w, h)
    crops = [rgb[y:y + s, x:x + s2] for x, y, s2, s in boxes]
    scores = np.concatenate([model.score_images(crops[i:i + 16])  # type: ignore[attr-defined]
                             for i in range(0, len(crops), 16)])
    whole = float(model.score_images([rgb])[0])  # type: ignore[attr-defined]
    return whole, best_region(whole, boxes, scores).p_bear, len(boxes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared/data/bears")
    ap.add_argument("--source", default="ktosiu/Bear-Detection",
                    help="group prefix of the trail-camera bears")
    ap.add_argument("--no-bear-every", type=int, default=2, help="score every K-th no-bear photo")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--model", type=Path, default=None, help="a .pkl from `bearwatch train`")
    ap.add_argument("--sha256", default=None, help="its recorded sha256 (required with --model)")
    ap.add_argument("--split", type=Path, default=None,
                    help="a <version>.split.json: score only its held-out no-bear photos")
    args = ap.parse_args()
    items = load_labelled(args.data, box_crops=False)
    bears = [it for it in items if it.label == "bear" and it.group.startswith(args.source)]
    others = [it for it in items if it.label == "no_bear"]
    if args.split is not None:
        held_out = {row["ref"] for row in read_split(args.split)}
        others = [it for it in others if it.ref in held_out]
    others = others[::args.no_bear_every]
    model = (builtin_model(torch.device("cpu")) if args.model is None else
             load_learner_model(args.model, expected_sha256=args.sha256, bear_classes=["bear"],
                                device=torch.device("cpu")))
    started = time.monotonic()
    rows: dict[str, list[tuple[float, float, int]]] = {"bear": [], "no_bear": []}
    todo = [("bear", it) for it in bears] + [("no_bear", it) for it in others]
    for n, (kind, it) in enumerate(todo, start=1):
        rows[kind].append(_score(model, it.path))
        rate = n / (time.monotonic() - started)
        print(f"\r{n}/{len(todo)} images ({rate:.2f}/s, ETA {(len(todo) - n) / rate:.0f} s)",
              end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    t = args.threshold
    whole_b = np.array([r[0] for r in rows["bear"]])
    tiled_b = np.array([r[1] for r in rows["bear"]])
    whole_n = np.array([r[0] for r in rows["no_bear"]])
    tiled_n = np.array([r[1] for r in rows["no_bear"]])
    groups = sorted({it.group for it in bears})

    def per_sequence(p: np.ndarray) -> int:
        return sum(any(p[i] >= t for i, it in enumerate(bears) if it.group == g) for g in groups)

    doc = {
        "model": model.version, "threshold": t, "tile_fractions": [0.5, 0.25],
        "regions_per_frame": int(np.mean([r[2] for r in rows["bear"] + rows["no_bear"]])),
        "trail_camera_frames": len(bears), "trail_camera_sequences": len(groups),
        "no_bear_photos": len(others),
        "recall_per_frame": {"whole": float(np.mean(whole_b >= t)),
                             "with_tiles": float(np.mean(tiled_b >= t)),
                             "hits_whole": int(np.sum(whole_b >= t)),
                             "hits_with_tiles": int(np.sum(tiled_b >= t))},
        "recall_per_sequence": {"whole": per_sequence(whole_b) / len(groups),
                                "with_tiles": per_sequence(tiled_b) / len(groups)},
        "false_alarm_rate": {"whole": float(np.mean(whole_n >= t)),
                             "with_tiles": float(np.mean(tiled_n >= t)),
                             "false_alarms_whole": int(np.sum(whole_n >= t)),
                             "false_alarms_with_tiles": int(np.sum(tiled_n >= t))},
        "max_p_bear_on_bears": {"whole": float(whole_b.max()), "with_tiles": float(tiled_b.max())},
        "seconds": round(time.monotonic() - started, 1),
    }
    text = json.dumps(doc, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
