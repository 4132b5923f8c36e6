"""`bearwatch eval-report MODEL --split X.split.json --json PATH [--html PATH]
[--baseline builtin|FILE]`: a trained model against the one it would replace, on the
held-out images `bearwatch train` kept aside, as JSON and as a static HTML page."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from bearwatch.commands.common import load
from bearwatch.wiring import open_database
from db.model_versions import expected_sha256
from kernel.config import BearwatchConfig

log = logging.getLogger("bearwatch.eval")


def register(sub: Any) -> None:
    p = sub.add_parser("eval-report",
                       help="compare a trained model with the one it replaces on its "
                       "held-out split")
    p.add_argument("model", help="the candidate: a .pkl file name in the models folder")
    p.add_argument("--split", type=Path, default=None,
                   help="held-out list (default: <models folder>/<version>.split.json)")
    p.add_argument("--baseline", default="builtin",
                   help="the model it would replace: 'builtin' (default) or a .pkl name")
    p.add_argument("--threshold", type=float, default=0.5, help="alert threshold (default 0.5)")
    p.add_argument("--json", type=Path, required=True, help="write the figures here")
    p.add_argument("--html", type=Path, default=None, help="also write the HTML report here")
    p.set_defaults(handler=_eval_report)


def _load(cfg: BearwatchConfig, name: str) -> Any:
    from detector.models import load_model

    recorded = None
    if name != "builtin":
        db = open_database(cfg)
        with db.sessions() as session:
            recorded = expected_sha256(session, name)
    return load_model(cfg.detector.model_copy(update={"model": name}),
                      models_dir=cfg.storage.models_dir, recorded_sha256=recorded)


def _progress(version: str) -> Any:
    def show(done: int, total: int, seconds: float) -> None:
        rate = done / max(seconds, 1e-9)
        print(f"\r{version}: {done}/{total} images ({rate:.1f}/s, ETA "
              f"{(total - done) / rate:.0f} s)", end="" if done < total else "\n",
              file=sys.stderr, flush=True)
    return show


def _eval_report(args: argparse.Namespace) -> int:
    from training import (
        HeldOutComparison,
        load_heldout,
        model_report,
        recall_at_equal_false_alarms,
        score_heldout,
    )

    cfg = load(args)
    split = args.split or cfg.storage.models_dir / f"{Path(args.model).stem}.split.json"
    heldout = load_heldout(split)
    reports, scores = [], {}
    for name in (args.model, args.baseline):
        model = _load(cfg, name)
        p = score_heldout(model, heldout, progress=_progress(model.version))
        scores[model.version] = p
        reports.append(model_report(heldout, p, version=model.version, threshold=args.threshold))
    doc = HeldOutComparison(split=str(split), candidate=reports[0], baseline=reports[1],
                            recall_at_equal_false_alarm_rate=recall_at_equal_false_alarms(
                                heldout, scores))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc.to_json(), indent=1))
    print(f"wrote {args.json}")
    if args.html is not None:
        from training import render_report

        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(render_report(heldout, doc))
        print(f"wrote {args.html}")
    return 0
