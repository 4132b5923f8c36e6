"""`bearwatch run`: the detection pipeline for the cameras in the config, until Ctrl-C /
SIGTERM or `--duration` seconds."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bearwatch.commands.common import load, stop_on_signals, wait_until_stopped
from bearwatch.rollout_wiring import log_notifier_coverage
from bearwatch.wiring import open_database, sync_catalog

log = logging.getLogger("bearwatch")


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run ingest → detector → database for the configured cameras")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="stop after S seconds (default: until Ctrl-C or SIGTERM)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                   help="override detector.device")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    cfg = load(args)
    db = open_database(cfg)  # raises NotMigratedError: run `bearwatch db upgrade`
    sync_catalog(cfg, db)
    log_notifier_coverage(cfg, db)
    from bearwatch.pipeline import Pipeline  # torch: only for the commands that score

    pipeline = Pipeline(cfg, db, device=args.device)
    with stop_on_signals("stopping: finishing in-flight frames") as stop:
        pipeline.start()
        try:
            wait_until_stopped(stop, args.duration, lambda: pipeline.alive)
        finally:
            pipeline.stop()
    return 1 if pipeline.crashed else 0
