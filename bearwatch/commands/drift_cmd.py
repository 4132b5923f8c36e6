"""`bearwatch drift [--hours H] [--all]`: cameras whose recent scores or image brightness
moved away from what their model was trained and validated on (DESIGN.md §3, issue 7)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from bearwatch.commands.common import load
from bearwatch.records import utc_now
from bearwatch.wiring import open_database
from db.drift import camera_windows
from db.model_versions import list_versions
from detector import assess_camera


def register(sub: Any) -> None:
    p = sub.add_parser("drift", help="cameras whose recent data drifted from the model's training")
    p.add_argument("--hours", type=float, default=None,
                   help="recent window, hours (default: detector.drift_window_hours)")
    p.add_argument("--all", action="store_true", help="list every camera, not only flagged ones")
    p.set_defaults(handler=_drift)


def _drift(args: argparse.Namespace) -> int:
    cfg = load(args)
    db = open_database(cfg)
    det = cfg.detector
    now = utc_now()
    hours = args.hours or det.drift_window_hours
    with db.sessions() as session:
        windows = camera_windows(session, since=now - timedelta(hours=hours), until=now)
        refs = {v.id: v.metrics.get("reference") for v in list_versions(session, limit=1000)}
    results = [assess_camera(w, refs.get(w.model_version), psi_max=det.drift_psi_max,
                             min_frames=det.drift_min_frames) for w in windows]
    shown = [r for r in results if args.all or r.flagged]
    print(f"{len(windows)} camera window(s) in the last {hours:g} h, "
          f"{sum(r.flagged for r in results)} flagged (PSI > {det.drift_psi_max})")
    for r in shown:
        figures = " ".join(f"{m.measure}: PSI {m.psi:.3f} KS {m.ks:.3f}"
                           for m in (r.score, r.luma) if m is not None)
        print(f"{'DRIFT' if r.flagged else 'ok   '} {r.camera_id:<20} {r.model_version:<32} "
              f"{r.n_frames:>7} frames  {figures}  ({r.reason})")
    return 1 if any(r.flagged for r in results) else 0
