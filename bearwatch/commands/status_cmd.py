"""`bearwatch status`: what the installation is doing now: each zone's stage, and where the
detector runs. With `cluster.engine: ray`, the Serve application's state and, per replica,
its memory, batch size, queue, latency and errors (the figures each replica reports to the
board `bearwatch up` keeps, `bearwatch.cluster.stats`)."""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict
from typing import Any

from bearwatch.commands.common import load
from bearwatch.wiring import open_database
from db.catalog import zone_states
from kernel.config import BearwatchConfig
from kernel.errors import BearwatchError


def register(sub: Any) -> None:
    p = sub.add_parser("status", help="zones' stages and the detector's replicas, now")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_status)


def _detector(cfg: BearwatchConfig) -> dict[str, Any]:
    c = cfg.cluster
    if c.engine == "local":
        return {"engine": "local", "device": cfg.detector.device}
    if c.address is None:
        raise BearwatchError(
            "cluster.address is unset: the private Ray cluster `bearwatch up` started lives "
            "inside that process and no other can join it; start the cluster with "
            "`ray start --head` and set cluster.address to read its replicas")
    os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")  # see up_cmd._deploy_detector
    try:
        from bearwatch.cluster.stats import APP_NAME, read_status
    except ImportError as exc:
        raise BearwatchError(f"cluster.engine is 'ray' but Ray is not installed ({exc}); "
                             "pip install -e '.[cluster]'") from exc
    try:
        st = read_status(c.address, c.namespace)
    except ConnectionError as exc:
        raise BearwatchError(f"cannot join the Ray cluster at {c.address}: {exc}; check "
                             "cluster.address and `ray status` on the head node") from exc
    now = time.time()
    return {"engine": "ray", "address": c.address, "app": APP_NAME,
            "app_status": st.app_status, "replica_states": st.replica_states,
            "replicas": [{**asdict(r), "age_s": round(now - r.reported_at, 1)}
                         for r in st.replicas]}


def _print(zones: list[dict[str, Any]], det: dict[str, Any]) -> None:
    for z in zones:
        print(f"zone {z['id']}: {z['stage']}{' (paused)' if z['paused'] else ''}")
    if det["engine"] == "local":
        print(f"detector: in the `bearwatch up` process (cluster.engine: local, "
              f"device {det['device']})")
        return
    states = ", ".join(f"{n} {s}" for s, n in sorted(det["replica_states"].items())) or "-"
    print(f"detector: Ray Serve app {det['app']} at {det['address']}: "
          f"{det['app_status'] or 'not deployed (is `bearwatch up` running?)'}; "
          f"replicas {states}")
    for r in det["replicas"]:
        rss = "-" if r["rss_mb"] is None else f"{r['rss_mb']:.0f} MiB"
        print(f"  replica {r['replica']} (pid {r['pid']} on {r['node']}): rss {rss}, "
              f"{r['images']} images in {r['batches']} batches (mean {r['mean_batch']:.1f}, "
              f"last {r['last_batch']}), queue {r['queue']}, ongoing {r['ongoing']}, "
              f"latency p50 {r['latency_p50_ms']:.0f} ms p99 {r['latency_p99_ms']:.0f} ms, "
              f"forward {r['mean_forward_ms']:.0f} ms, errors {r['errors']}, "
              f"rejected {r['rejected']} ({r['age_s']:.0f} s ago)")


def _status(args: argparse.Namespace) -> int:
    cfg = load(args)
    db = open_database(cfg)
    with db.sessions() as s:
        zones = [{"id": z.id, "stage": z.stage.value, "paused": z.paused}
                 for z in zone_states(s)]
    db.engine.dispose()
    det = _detector(cfg)
    if args.json:
        print(json.dumps({"zones": zones, "detector": det}, indent=2))
    else:
        _print(zones, det)
    return 0
