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
from typing import TYPE_CHECKING, Any

from bearwatch.allocator import FreeMemoryReleaser, fix_mmap_threshold, limit_arenas
from bearwatch.commands.common import load, stop_on_signals
from bearwatch.commands.ui_cmd import refuse_taken_port, start_streamlit, stop_streamlit
from bearwatch.rollout_wiring import log_notifier_coverage, rollout_runtime
from bearwatch.wiring import Database, ensure_first_admin, open_database, sync_catalog
from db import make_engine, migrate
from db.catalog import zone_states
from kernel.config import ENV_ADMIN_PASSWORD, BearwatchConfig
from kernel.errors import BearwatchError

if TYPE_CHECKING:
    from bearwatch.cluster.runtime import RayDetector

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


def _deploy_detector(cfg: BearwatchConfig, db: Database, device: str | None) -> RayDetector:
    """`cluster.engine: ray`: join (or start) the Ray cluster and deploy the detector on Ray
    Serve (`bearwatch.cluster`); the pipeline then scores through its replicas."""
    # Before Ray loads: a Ray call after shutdown must fail, not start a stray local cluster.
    os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
    try:
        from bearwatch.cluster.runtime import deploy
    except ImportError as exc:
        raise BearwatchError(f"cluster.engine is 'ray' but Ray is not installed ({exc}); "
                             "pip install -e '.[cluster]', or set cluster.engine: local") from exc
    # `ray.init` replaces SIGTERM's handler with `sys.exit`, and the core worker's crash
    # handler (which logs "SIGTERM received" and then aborted the process mid-way through
    # deleting the deployment): put back `stop_on_signals`' handlers, so SIGTERM stops in order.
    from bearwatch.pipeline import recorded_model_sha

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    detector = deploy(cfg, sessions=db.sessions, device=device,
                      recorded_sha256=recorded_model_sha(cfg, db.sessions))
    for s, handler in handlers.items():
        signal.signal(s, handler)
    return detector


def _up(args: argparse.Namespace) -> int:
    # Before any thread starts: few malloc arenas, and their free pages returned every minute,
    # so RSS follows the memory in use (bearwatch/allocator.py has the soak's measurement).
    limit_arenas()
    fix_mmap_threshold()
    cfg = load(args)
    if not args.once and not args.no_ui:  # before anything starts: a second `up` exits 1
        refused = refuse_taken_port(cfg.review_ui.host, cfg.review_ui.port,
                                    setting="review_ui.port in the config")
        if refused is not None:
            return refused
    db = prepare(cfg)
    log_notifier_coverage(cfg, db)
    if args.once:
        for cam in cfg.cameras:
            print(f"camera {cam.id}: zone {cam.zone}, source {cam.source}, {cam.fps} fps")
        return 0

    # Here, not at the top: `bearwatch edge` and the other commands build the same parser,
    # and the pipeline brings torch (~400 MiB) that a process without a model must not carry.
    from bearwatch.pipeline import Pipeline

    releaser = FreeMemoryReleaser()  # free malloc pages back every minute (see limit_arenas)
    ui: subprocess.Popen[bytes] | None = None
    ui_failed = False
    with stop_on_signals("shutting down: finishing in-flight frames") as stop:
        runtime = rollout_runtime(cfg, db)
        cluster = _deploy_detector(cfg, db, args.device) if cfg.cluster.engine == "ray" else None
        pipeline = (Pipeline(cfg, db, device=args.device) if cluster is None
                    else Pipeline(cfg, db, device=args.device, load=cluster.load))
        try:
            runtime.start()
            pipeline.start()
            if not args.no_ui:
                host, port = cfg.review_ui.host, cfg.review_ui.port
                ui = start_streamlit(args.config, host=host, port=port)
                print(f"review UI on http://{host}:{port}", flush=True)
            while not stop.is_set() and pipeline.alive:
                if ui is not None and ui.poll() is not None:
                    log.error("review UI exited; stopping",
                              extra={"returncode": ui.returncode})
                    ui_failed = True
                    break
                releaser.maybe_release()
                stop.wait(0.5)
        finally:
            if ui is not None:
                stop_streamlit(ui)
            pipeline.stop()
            runtime.stop()
            if cluster is not None:
                cluster.stop()
    log.info("bearwatch stopped")
    return 1 if pipeline.crashed or ui_failed else 0
