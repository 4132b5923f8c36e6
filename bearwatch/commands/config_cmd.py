"""`bearwatch config check [PATH]`."""

from __future__ import annotations

import argparse
from typing import Any

from kernel.config import load_config


def register(sub: Any) -> None:
    p = sub.add_parser("config", help="check the configuration")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = csub.add_parser("check", help="validate a config file; exit 2 listing every problem")
    check.add_argument("path", nargs="?", help="file to check (default: --config)")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    path = args.path or args.config
    cfg = load_config(path)
    print(f"{path}: OK ({len(cfg.cameras)} cameras, {len(cfg.zones)} zones, "
          f"database {cfg.database.url.split(':', 1)[0]})")
    return 0
