"""INT8 ONNX Runtime export of the built-in model on the shared photos (prints JSON): raw forward
at batch B of eager torch (channels-last, as TorchClassifier runs it), the fp32 export and the
INT8 export (`detector.int8_calibration`'s recipe), the ratios to eager torch; and, on the photos
not used for calibration, recall of fp32 and of INT8 each at its own threshold for <= 1 % false
alarms, with counts and Wilson 95 % intervals, their difference in points, whether it is
< 0.5 point (issue 14: INT8 is kept only then), and |Δp_bear| against fp32 (p50/p95/max) with
the verdict of the product's own check (`detector.onnx_int8.int8_check`).

The INT8 export is built by the product's functions (`int8_split`, `calibrate_int8`,
`int8_check`), on the 64 photos `int8_split` picks for calibration from all of them.

Usage: .venv/bin/python bench/int8_bench.py [--data ../shared/data/bears] [--batch 4]
       [--rounds 5] [--iters 20]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bearwatch.cli import passive_openmp

passive_openmp()  # before torch and OpenMP start (see bearwatch.cli)

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import torch  # noqa: E402

from detector.builtin import builtin_model  # noqa: E402
from detector.device import usable_cores  # noqa: E402
from detector.head import backbone_sha256  # noqa: E402
from detector.model import TorchClassifier  # noqa: E402
from detector.onnx_int8 import (  # noqa: E402
    INT8_MAX_DIFF,
    INT8_P95_DIFF,
    calibrate_int8,
    int8_check,
    int8_split,
    read_rgb,
)
from detector.onnx_runtime import OnnxClassifier, to_onnx  # noqa: E402
from kernel.intervals import wilson  # noqa: E402
from training.figures import threshold_for_false_alarm  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MAX_FALSE_ALARM = 0.01
KEEP_IF_RECALL_MOVES_LESS_THAN = 0.5  # points (issue 14)


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _labelled(root: Path) -> tuple[list[Path], dict[Path, bool]]:
    with (root / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    paths = [root / r["file"] for r in rows]
    return paths, {root / r["file"]: r["label"] == "bear" for r in rows}


def _fps(model: TorchClassifier | OnnxClassifier, x: torch.Tensor, *, rounds: int, iters: int
         ) -> dict[str, Any]:
    for _ in range(3):
        model.forward_tensor(x)
    per_round = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(iters):
            model.forward_tensor(x)
        per_round.append(iters * x.shape[0] / (time.perf_counter() - started))
    return {"fps": round(statistics.median(per_round), 1),
            "rounds_fps": [round(f, 1) for f in per_round]}


def _recall(is_bear: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    p = p.astype(np.float64)  # against a float32 array the threshold would round back down
    thr = threshold_for_false_alarm(is_bear, p, MAX_FALSE_ALARM)
    assert thr is not None  # the evaluation photos hold no-bear ones (checked by the caller)
    hit = p >= thr
    k, n = int(hit[is_bear].sum()), int(is_bear.sum())
    fa, n_neg = int(hit[~is_bear].sum()), int((~is_bear).sum())
    low, high = wilson(k, n)
    fa_low, fa_high = wilson(fa, n_neg)
    return {"threshold": round(thr, 6), "recall": round(k / n, 4), "recall_k": k, "recall_n": n,
            "recall_wilson95": [round(low, 4), round(high, 4)],
            "false_alarm_rate": round(fa / n_neg, 4), "false_alarms_k": fa,
            "false_alarms_n": n_neg, "false_alarm_wilson95": [round(fa_low, 4), round(fa_high, 4)]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "bears",
                    help="the shared photos (manifest.csv: file,label,...)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20, help="forward passes per timed round")
    args = ap.parse_args()
    if not (args.data / "manifest.csv").is_file():
        _progress(f"skipped: no shared photos at {args.data} (manifest.csv); pass --data")
        return 0
    paths, label = _labelled(args.data)
    calib, _ = int8_split(paths)
    chosen = set(calib)
    held_out = [p for p in paths if p not in chosen]
    threads = usable_cores()
    torch.set_num_threads(threads)
    eager = builtin_model(torch.device("cpu"))
    with tempfile.TemporaryDirectory(prefix="bw-int8-") as tmp:
        _progress("fp32 export ...")
        fp32 = to_onnx(eager, identity=f"{eager.version}:{backbone_sha256()}",
                       cache_dir=Path(tmp), threads=threads)
        assert fp32 is not None and fp32.path is not None, "the fp32 export failed its check"
        _progress(f"INT8 calibration on {len(calib)} photos ...")
        started = time.perf_counter()
        int8 = calibrate_int8(fp32, fp32.path, calib, out_path=Path(tmp) / "int8.onnx",
                              threads=threads)
        calibrate_s = time.perf_counter() - started
        _progress(f"scoring {len(held_out)} held-out photos ...")
        readable: list[Path] = []
        p32_parts, p8_parts = [], []
        for i in range(0, len(held_out), args.batch):  # decoded a batch at a time: 9-Mpx ones
            chunk: list[Path] = []
            images: list[np.ndarray] = []
            for p in held_out[i:i + args.batch]:
                images += read_rgb([p])  # nothing for a file that does not decode
                if len(images) > len(chunk):
                    chunk.append(p)
            readable += chunk
            p32_parts.append(fp32.score_images(images))
            p8_parts.append(int8.score_images(images))
        y = np.array([label[p] for p in readable], dtype=bool)
        if y.all() or not y.any():
            _progress("skipped: the held-out photos need both bear and no-bear ones")
            return 0
        p32, p8 = np.concatenate(p32_parts), np.concatenate(p8_parts)
        _progress("the product's check on the held-out photos ...")
        check = int8_check(fp32, int8, read_rgb(readable))
        _progress(f"timing raw forward at batch {args.batch} ...")
        x = fp32.preprocess(list(read_rgb(readable[:args.batch])))
        speed = {"torch": _fps(eager, x, rounds=args.rounds, iters=args.iters),
                 "onnxruntime_fp32": _fps(fp32, x, rounds=args.rounds, iters=args.iters),
                 "onnxruntime_int8": _fps(int8, x, rounds=args.rounds, iters=args.iters)}
    for fig in speed.values():
        fig["ratio_vs_eager_torch"] = round(fig["fps"] / speed["torch"]["fps"], 3)
    r32, r8 = _recall(y, p32), _recall(y, p8)
    moved = 100 * (r8["recall"] - r32["recall"])
    d = np.abs(p8 - p32)
    doc = {
        "model": eager.version, "data": str(args.data), "threads": threads,
        "batch": args.batch, "onnxruntime": onnxruntime.__version__,
        "calibration_photos": len(calib), "evaluation_photos": len(readable),
        "evaluation_disjoint_from_calibration": not (chosen & set(readable)),
        "calibrate_s": round(calibrate_s, 1),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "precision": {"fp32": fp32.precision, "int8": int8.precision},
        "raw_forward": speed,
        "max_false_alarm_rate": MAX_FALSE_ALARM,
        "fp32_at_own_threshold": r32, "int8_at_own_threshold": r8,
        "recall_difference_points": round(moved, 2),
        "int8_kept": abs(moved) < KEEP_IF_RECALL_MOVES_LESS_THAN,
        "abs_dp_bear": {"p50": round(float(np.percentile(d, 50)), 5),
                        "p95": round(float(np.percentile(d, 95)), 5),
                        "max": round(float(d.max()), 5)},
        "product_check": {**check.figures(), "passed": check.passed,
                          "note": "int8_check on the evaluation photos; detector.onnx_int8 "
                                  f"serves INT8 only if p95 <= {INT8_P95_DIFF} and max <= "
                                  f"{INT8_MAX_DIFF}"},
    }
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
