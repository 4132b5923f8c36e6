"""`bearwatch up`: bring the system up on the config (migrate, sync, first admin, serve)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from bearwatch.commands.common import load
from bearwatch.config import ENV_ADMIN_PASSWORD
from bearwatch.wiring import ensure_first_admin, open_database, sync_catalog
from db import make_engine, migrate
from db.catalog import zone_states


def register(sub: Any) -> None:
    p = sub.add_parser("up", help="migrate the database and start everything in config.yaml")
    p.add_argument("--once", action="store_true",
                   help="prepare the database and exit (no pipeline, no UI)")
    p.set_defaults(handler=_up)


def _up(args: argparse.Namespace) -> int:
    cfg = load(args)
    migrate.upgrade(make_engine(cfg.database.resolved_url()))
    db = open_database(cfg)
    sync_catalog(cfg, db)
    generated = ensure_first_admin(db, password_from_env=os.environ.get(ENV_ADMIN_PASSWORD))
    if generated:
        print(f"first start: log in as 'admin' with the one-time password {generated}")
    with db.sessions() as s:
        zones = zone_states(s)
    print(f"database {db.url} ready; zones: "
          + ", ".join(f"{z.id} ({z.stage.value})" for z in zones))
    for cam in cfg.cameras:
        print(f"camera {cam.id}: zone {cam.zone}, source {cam.source}, {cam.fps} fps")
    return 0
