"""`bearwatch up`: everything in config.yaml in one process tree, one log stream.

Order at start: migrate the database, sync zones and cameras, create the first admin if there
are no users, then start the rollout runtime (outbox dispatcher + scheduled controller), the
pipeline (cameras → detector → alerts) and the review UI (a Streamlit child process). Ctrl-C or
SIGTERM stops them in reverse: the UI, the cameras, the frames already queued are scored and
committed, then the dispatcher and controller.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from bearwatch.commands.common import load
from bearwatch.commands.ports import port_problem
from bearwatch.commands.ui_cmd import ENV_CONFIG, start_streamlit, stop_streamlit
from bearwatch.pipeline import Pipeline
from bearwatch.rollout_wiring import rollout_runtime
from bearwatch.wiring import Database, ensure_first_admin, open_database, sync_catalog
from db import make_engine, migrate
from db.catalog import zone_states
from kernel.config import ENV_ADMIN_PASSWORD, BearwatchConfig
from review_ui import APP_PATH

log = logging.getLogger("bearwatch")


def register(sub: Any) -> None:
    p = sub.add_parser("up", help="migrate, then run cameras, detector, rollout and review UI")
    p.add_argument("--once", action="store_true",
                   help="prepare the database (migrate, zones, cameras, first admin) and exit")
    p.add_argument("--no-ui", action="store_true", help="do not start the review UI")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                   help="override detector.device")
    p.set_defaults(handler=_up)


def prepare(cfg: BearwatchConfig) -> Database:
    """Migrate, sync the catalog and create the first admin (printing a one-time password)."""
    migrate.upgrade(make_engine(cfg.database.resolved_url()))
    db = open_database(cfg)
    sync_catalog(cfg, db)
    generated = ensure_first_admin(db, password_from_env=os.environ.get(ENV_ADMIN_PASSWORD),
                                   min_password_length=cfg.review_ui.min_password_length)
    if generated:
        print(f"first start: log in as 'admin' with the one-time password {generated} "
              "(shown once; change it on the Users page)", flush=True)
    with db.sessions() as s:
        zones = zone_states(s)
    print(f"database {db.url} ready; zones: "
          + ", ".join(f"{z.id} ({z.stage.value})" for z in zones), flush=True)
    return db


def _up(args: argparse.Namespace) -> int:
    cfg = load(args)
    if not args.once and not args.no_ui:  # before anything starts: a second `up` exits 1
        problem = port_problem(cfg.review_ui.host, cfg.review_ui.port,
                               setting="review_ui.port in the config")
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
    db = prepare(cfg)
    if args.once:
        for cam in cfg.cameras:
            print(f"camera {cam.id}: zone {cam.zone}, source {cam.source}, {cam.fps} fps")
        return 0

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("shutting down: finishing in-flight frames", extra={"signal": signum})
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    runtime = rollout_runtime(cfg, db)
    pipeline = Pipeline(cfg, db, device=args.device)
    ui: subprocess.Popen[bytes] | None = None
    ui_failed = False
    try:
        runtime.start()
        pipeline.start()
        if not args.no_ui:
            env = {**os.environ, ENV_CONFIG: str(Path(args.config).resolve())}
            host, port = cfg.review_ui.host, cfg.review_ui.port
            # Own session: Ctrl-C reaches us once, and we stop the UI ourselves; if we are
            # killed outright, the kernel stops it (no orphan holding the port).
            ui = start_streamlit(APP_PATH, host=host, port=port, env=env)
            print(f"review UI on http://{host}:{port}", flush=True)
        while not stop.is_set() and pipeline.alive:
            if ui is not None and ui.poll() is not None:
                log.error("review UI exited; stopping", extra={"returncode": ui.returncode})
                ui_failed = True
                break
            stop.wait(0.5)
    finally:
        if ui is not None:
            stop_streamlit(ui)
        pipeline.stop()
        runtime.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.info("bearwatch stopped")
    return 1 if pipeline.crashed or ui_failed else 0
