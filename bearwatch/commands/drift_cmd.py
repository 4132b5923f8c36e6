"""`bearwatch drift [--hours H] [--all]`: cameras whose recent scores or image brightness
moved away from what their model was trained and validated on (DESIGN.md §3, issue 7).
The figures come from `rollout.camera_drift`, the same the Cameras page and the drift gate use."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from bearwatch.commands.common import load
from bearwatch.wiring import open_database
from kernel.records import utc_now
from rollout import DriftSettings
from rollout.reports import camera_drift


def register(sub: Any) -> None:
    p = sub.add_parser("drift", help="cameras whose recent data drifted from the model's training")
    p.add_argument("--hours", type=float, default=None,
                   help="recent window, hours (default: detector.drift_window_hours)")
    p.add_argument("--all", action="store_true", help="list every camera, not only flagged ones")
    p.set_defaults(handler=_drift)


def _drift(args: argparse.Namespace) -> int:
    cfg = load(args)
    db = open_database(cfg)
    settings = DriftSettings.from_config(cfg.detector)
    if args.hours:
        settings = replace(settings, window_hours=args.hours)
    with db.sessions() as session:
        statuses = camera_drift(session, settings, now=utc_now())
    windows = [s for s in statuses if s.model_version is not None]
    flagged = [s for s in windows if s.flagged]
    print(f"{len(windows)} camera window(s) in the last {settings.window_hours:g} h, "
          f"{len(flagged)} flagged (PSI > {settings.psi_max})")
    for s in (windows if args.all else flagged):
        figures = " ".join(f"{m}: PSI {p:.3f} KS {k:.3f}" for m, p, k in (
            ("score", s.psi_score, s.ks_score), ("luma", s.psi_luma, s.ks_luma))
            if p is not None and k is not None)
        print(f"{'DRIFT' if s.flagged else 'ok   '} {s.camera_id:<20} {s.model_version:<32} "
              f"{s.n_frames:>7} frames  {figures}  ({s.reason})")
    return 1 if flagged else 0
