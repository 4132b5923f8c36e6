"""`bearwatch edge --site S`: run one site's cameras on this box and relay their gated frames
to the centre (`edge.centre_url`), until Ctrl-C / SIGTERM or `--duration` seconds. No
database and no model here: the centre scores, stores and warns."""

from __future__ import annotations

import argparse
from typing import Any

from bearwatch.commands.common import load, stop_on_signals, wait_until_stopped
from bearwatch.edge.site import EdgeSite, site_token


def register(sub: Any) -> None:
    p = sub.add_parser("edge", help="run one edge site's cameras, relaying frames to the centre")
    p.add_argument("--site", required=True, help="the site (edge.sites) whose cameras run here")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="stop after S seconds (default: until Ctrl-C or SIGTERM)")
    p.set_defaults(handler=_edge)


def _edge(args: argparse.Namespace) -> int:
    cfg = load(args)
    site = EdgeSite(cfg, args.site, site_token(cfg, args.site))
    with stop_on_signals("stopping the edge site: frames left stay in the backlog") as stop:
        site.start()
        try:
            wait_until_stopped(stop, args.duration)
        finally:
            site.stop()
    return 0
