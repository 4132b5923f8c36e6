"""`bearwatch bench`: the detector benchmark (raw forward, pipeline, `learn.predict` loop,
latency) in one process on the same frames; writes JSON. The pipeline writes to a fresh SQLite
database in a temporary folder, so it measures the real storage path without touching yours."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bearwatch.commands.common import load
from camera_ingest import FrameQueue
from db import make_engine, make_sessionmaker, migrate
from db.catalog import CameraSpec, ZoneSpec, sync
from kernel.config import BearwatchConfig
from kernel.records import Stage, utc_now

BENCH_ZONE = "bench"


def register(sub: Any) -> None:
    p = sub.add_parser("bench",
                       help="measure the detector: raw forward vs pipeline vs learn.predict")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where the model runs (default auto: cuda when available)")
    p.add_argument("--cameras", type=int, default=4, help="synthetic cameras (default 4)")
    p.add_argument("--batch", type=int, default=None,
                   help="batch size (default detector.max_batch)")
    p.add_argument("--seconds", type=float, default=15.0,
                   help="timed seconds per path over all rounds, and of the latency phase")
    p.add_argument("--rounds", type=int, default=5,
                   help="rounds; the median round of each path is reported")
    p.add_argument("--predict-frames", type=int, default=60,
                   help="frames through learn.predict over all rounds (default 60)")
    p.add_argument("--runtime", choices=("torch", "onnxruntime", "all"), default="torch",
                   help="what runs the forward pass; all: raw forward and pipeline of each "
                   "runtime in one run, with the ratios (no learn.predict, no latency)")
    p.add_argument("--overlap", choices=("auto", "on", "off"), default=None,
                   help="forward pass one batch ahead of the per-frame work (default "
                   "detector.overlap_forward; auto: on CUDA only)")
    p.add_argument("--json", type=Path, required=True, help="write the result here")
    p.set_defaults(handler=_bench)


def _routing_off(*_: object) -> None:
    """Bench alerts are stored but not routed: the shadow-stage bench zone notifies no one,
    and routing is measured by the rollout benchmarks."""


def _overlap(setting: str, device: str) -> bool:
    if setting == "auto":
        from detector.models import pick_device

        return pick_device(device).type == "cuda"
    return setting == "on"


def _bench(args: argparse.Namespace) -> int:
    # Here, not at the top: every command builds this parser, and torch (~400 MiB) belongs
    # only to the commands that score (`bearwatch edge` has no model).
    from bearwatch.loop_bench import BenchOptions, BenchWiring, compare_runtimes, run_benchmark
    from bearwatch.pipeline import DbAlertSink
    from detector import AlertSpool

    cfg: BearwatchConfig = load(args)
    opts = BenchOptions(device=args.device, n_cameras=args.cameras,
                        batch=args.batch or cfg.detector.max_batch, seconds=args.seconds,
                        predict_frames=args.predict_frames, max_wait_ms=cfg.detector.max_wait_ms,
                        rounds=max(1, args.rounds), runtime=args.runtime,
                        models_dir=cfg.storage.models_dir,
                        overlap=_overlap(args.overlap or cfg.detector.overlap_forward,
                                         args.device))
    with tempfile.TemporaryDirectory(prefix="bw-bench-") as tmp:
        root = Path(tmp)
        engine = make_engine(f"sqlite:///{root / 'bench.db'}")
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions.begin() as s:
            sync(s, [ZoneSpec(BENCH_ZONE, "Bench", Stage.SHADOW)],
                 [CameraSpec(f"bench-{i}", f"Bench {i}", BENCH_ZONE, "demo:", None, None)
                  for i in range(opts.n_cameras)], now=utc_now())
        sink = DbAlertSink(sessions, AlertSpool(root / "spool"), route=_routing_off)
        wiring = BenchWiring(make_queue=FrameQueue, sink=sink, zone_id=BENCH_ZONE,
                             snapshots_dir=root / "snapshots")
        try:
            doc = (compare_runtimes(opts, wiring) if opts.runtime == "all"
                   else run_benchmark(opts, wiring).to_json())
        finally:
            engine.dispose()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=1))
    print(json.dumps(doc, indent=1))
    return 0
