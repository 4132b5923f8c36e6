"""`bearwatch train DATA --recipe default`: the shipped recipe. Measures it against zero-shot
with leave-one-source-out cross-validation, calibrates its threshold on the out-of-fold no-bear
frames (photo sources it never saw), fits the head on everything and writes it as a
weights-only file with its cross-validation report beside it. `--ship` writes the committed
model (`make model`) from the folder alone, so anyone can rebuild it: bit for bit on the
same kind of CPU, within float rounding (same figures) on another.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

from bearwatch.commands.common import load
from bearwatch.commands.crossval import (
    HEAD,
    cross_validate,
    crossval_data,
    fitters,
    head_recipe,
    print_report,
)
from kernel.config import BearwatchConfig
from kernel.model_defaults import shipped_model_path
from kernel.records import utc_now


def _version(head_bytes: bytes) -> str:
    return f"bw-head-{hashlib.sha256(head_bytes).hexdigest()[:12]}"


def train_head(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import numpy as np

    from detector.models import backbone_sha256, sha256_of
    from training import (
        TrainingError,
        TrainItem,
        fit_on,
        render_cross_val,
        threshold_for_false_alarm,
    )

    cfg = load(args)
    started = time.monotonic()
    extra: list[TrainItem] = []
    missing = 0
    if not args.ship:
        from bearwatch.commands.train_cmd import database_items

        extra, missing = database_items(cfg)
    cache = cfg.storage.root / "cache" / "features"
    data = crossval_data(cfg, args.data, extra=extra, cache_dir=cache)
    report = cross_validate(data, fitters(cfg, ["head"], work_dir=cfg.storage.models_dir))
    print_report(report)
    budget = cfg.training.false_alarm_budget
    # The rule the report's tables use, at the configured budget (any, not only theirs).
    threshold = threshold_for_false_alarm(np.array([f.is_bear for f in report.frames]),
                                          report.scores[HEAD], budget)
    if threshold is None:  # cross_validate already refused data without no-bear frames
        raise TrainingError("no no-bear frames to calibrate the threshold on; add some")
    recipe = head_recipe(cfg)
    head = fit_on(data, data.train_views, recipe=recipe)
    digest = b"".join(np.ascontiguousarray(a, dtype=np.float32).tobytes()
                      for a in (head.mean, head.scale, head.weight,
                                np.array([head.zero_shot_weight, head.bias])))
    head = replace(head, version=_version(digest + recipe.describe().encode()),
                   threshold=float(threshold), false_alarm_budget=budget,
                   backbone_sha256=backbone_sha256(),
                   recipe=f"{recipe.describe()}; data {args.data.name}: "
                          f"{len(data.train_views)} training views"
                          f"{'' if args.ship else f', {len(extra)} reviewed images'}")
    if args.ship and args.out is None:
        path = shipped_model_path()
    elif args.ship:
        # A rebuild to compare with the committed file, which stays as it is.
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out.resolve() / shipped_model_path().name
    else:
        out = (args.out or cfg.storage.models_dir).resolve()
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{head.version}.safetensors"
    head.save(path)
    doc = report.to_json()
    doc["model"] = {"version": head.version, "threshold": head.threshold,
                    "false_alarm_budget": budget, "recipe": head.recipe}
    report_path = path.with_suffix(".crossval.json")
    report_path.write_text(json.dumps(doc, indent=1, sort_keys=True))
    path.with_suffix(".crossval.html").write_text(render_cross_val(
        report, title=f"{head.version}: leave-one-source-out"))
    sha = sha256_of(path)
    if args.ship:
        from bearwatch.commands.model_card import model_card

        path.with_name("MODEL_CARD.md").write_text(
            model_card(head, report, data=args.data, sha256=sha, model=HEAD))
    else:
        _register(cfg, head.version, path, sha, doc, missing)
    print(f"model {head.version}\n  file      {path}\n  sha256    {sha}\n  threshold "
          f"{head.threshold:.4f} (false-alarm rate <= {budget:.0%} on never-seen sources)\n"
          f"  report    {report_path} (+ .html)\n  took      {time.monotonic() - started:.0f} s\n"
          f"use it: detector.model: {'shipped' if args.ship else path.name}")
    return 0


def _register(cfg: BearwatchConfig, version: str, path: Path, sha: str,
              doc: dict[str, object], missing: int) -> None:
    from bearwatch.wiring import open_database
    from db.model_versions import ModelVersionInfo, register_version

    db = open_database(cfg)
    with db.sessions.begin() as session:
        register_version(session, ModelVersionInfo(
            id=version, kind="head", created_at=utc_now(), path=str(path), sha256=sha,
            training_counts={"missing_files": missing},
            metrics={"cross_validation": {k: doc[k] for k in ("folds", "tables", "model")}},
            notes=str(doc["model"])), actor="cli")
