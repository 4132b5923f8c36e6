"""`bearwatch train DATA [--seed S] [--epochs N] [--out DIR] [--size PX] [--arch NAME]`:
fine-tune the bear classifier on a labelled folder plus every reviewed alert and audit sample,
export it with a version id and register the version (checksum, counts, held-out figures).
Defaults come from the config's `training:` section; flags override them."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bearwatch.commands.common import load
from bearwatch.wiring import open_database
from db.model_versions import ModelVersionInfo, register_version
from db.training_data import ReviewedImage, reviewed_images
from kernel.config import BearwatchConfig
from kernel.records import utc_now

if TYPE_CHECKING:
    from training import TrainItem

log = logging.getLogger("bearwatch.train")
T = TypeVar("T")


def register(sub: Any) -> None:
    p = sub.add_parser("train", help="fine-tune the bear model on labelled photos + reviews")
    p.add_argument("data", type=Path, help="folder with manifest.csv, or bear/ and no_bear/")
    p.add_argument("--seed", type=int, default=42, help="split and training seed (default 42)")
    # None: take training.<key> from the config, so the file holds the usual recipe.
    p.add_argument("--epochs", type=int, default=None, help="unfrozen epochs (training.epochs)")
    p.add_argument("--freeze-epochs", type=int, default=None,
                   help="head-only epochs first (training.freeze_epochs)")
    p.add_argument("--size", type=int, default=None,
                   help="training crop side, px (training.size)")
    p.add_argument("--batch-size", type=int, default=None, help="(training.batch_size)")
    p.add_argument("--valid-pct", type=float, default=None,
                   help="held-out share (training.valid_pct)")
    p.add_argument("--head", choices=("bear_mass", "new"), default=None,
                   help="start from the built-in model's ImageNet bear classes or a fresh "
                   "two-class head (training.head)")
    p.add_argument("--arch", default=None,
                   help="efficientnet_lite0 or a torchvision model name such as resnet18 "
                   "(training.architecture)")
    p.add_argument("--lr", type=float, default=None,
                   help="base learning rate (default 5e-4 for bear_mass, 2e-3 for new)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: the models folder of the config)")
    p.add_argument("--recipe", choices=("default", "fastai"), default=None,
                   help="default: the shipped recipe (a head on the frozen ImageNet backbone, "
                   "stacked with the zero-shot score; leave-one-source-out figures and a "
                   "threshold calibrated for training.false_alarm_budget; seconds once the "
                   "features are cached); fastai: fine-tune with fastai (training.recipe)")
    p.add_argument("--ship", action="store_true",
                   help="with --recipe default: write the committed model "
                   "(detector/weights/shipped.safetensors, what `make model` runs) from DATA "
                   "alone, without the database's reviews, so it rebuilds the same; with "
                   "--out, write it there instead (to compare a rebuild with the committed one)")
    p.set_defaults(handler=_dispatch)


def review_items(images: list[ReviewedImage], snapshots_dir: Path) -> tuple[list[TrainItem], int]:
    """Reviewed images as training items grouped by camera + encounter; files that no longer
    exist are skipped and counted (the review stays in the database)."""
    from training import TrainItem

    items, missing = [], 0
    for im in images:
        path = Path(im.image_path)
        path = path if path.is_absolute() else snapshots_dir / path
        if not path.is_file():
            missing += 1
            log.warning("reviewed image %s is missing; skipped", path, extra={"ref": im.ref})
            continue
        items.append(TrainItem(path=path, label=im.label, light=im.light,
                               group=f"db/{im.camera_id}/{im.encounter}",
                               source=im.ref.split(":")[0], ref=im.ref))
    return items, missing


def database_items(cfg: BearwatchConfig) -> tuple[list[TrainItem], int]:
    """Every reviewed alert and audit sample as training items, and the count of missing
    image files skipped."""
    db = open_database(cfg)
    with db.sessions() as session:
        reviewed = reviewed_images(session)
    return review_items(reviewed, cfg.storage.snapshots_dir.resolve())


FASTAI_FLAGS = ("epochs", "freeze_epochs", "size", "batch_size", "valid_pct", "head", "arch",
                "lr")


def _dispatch(args: argparse.Namespace) -> int:
    recipe = args.recipe or load(args).training.recipe
    given = [f"--{f.replace('_', '-')}" for f in FASTAI_FLAGS if getattr(args, f) is not None]
    if recipe == "default" and given:
        print(f"bearwatch train: {', '.join(given)} set(s) the fastai recipe, which this run does "
              "not use (training.recipe is 'default'); add --recipe fastai, or drop them",
              file=sys.stderr)
        return 2
    if recipe == "default":
        from bearwatch.commands.head_train import train_head

        return train_head(args)
    if args.ship:
        raise SystemExit("bearwatch train: --ship writes the shipped model, which the default "
                         "recipe makes; use --recipe default")
    return _train(args)


def _given(flag: T | None, configured: T) -> T:
    return configured if flag is None else flag


def _train(args: argparse.Namespace) -> int:
    # fastai loads here, not when the command line is built for every other command.
    from training import (
        TrainOptions,
        VersionMetrics,
        count_items,
        export_model,
        group_split,
        load_labelled,
        negative_tiles,
        reference_histograms,
        served_valid_scores,
        train,
        validation_metrics,
        with_training_items,
    )

    cfg = load(args)
    recipe = cfg.training
    # The flags override the `training:` section; an unset flag (None) keeps its value.
    options = TrainOptions.from_config(
        recipe, seed=args.seed, epochs=args.epochs, freeze_epochs=args.freeze_epochs,
        size=args.size, batch_size=args.batch_size, head=args.head, base_lr=args.lr,
        architecture=args.arch)
    valid_pct = _given(args.valid_pct, recipe.valid_pct)
    db = open_database(cfg)
    out = (args.out or cfg.storage.models_dir).resolve()
    folder_items = load_labelled(args.data)
    db_items, missing = database_items(cfg)
    items = folder_items + db_items
    split = group_split(items, valid_pct=valid_pct, seed=args.seed)
    tiles = negative_tiles(items, split.train, per_image=recipe.negative_tiles,
                           fractions=cfg.detector.proposals.tile_fractions)
    items, split = with_training_items(items, split, tiles)
    print(f"data: {len(folder_items)} labelled images from {args.data}, {len(db_items)} "
          f"reviewed images from the database ({missing} missing files skipped), "
          f"{len(tiles)} empty tiles of training no-bear images; "
          f"{len(split.train)} train / {len(split.valid)} held out", flush=True)
    result = train(items, split, options, work_dir=out)
    exported = export_model(result, out, clock=utc_now)
    learner_accuracy = validation_metrics(result).accuracy
    result = replace(result, valid_p_bear=served_valid_scores(result, exported))
    metrics = VersionMetrics(
        validation=validation_metrics(result), learner_valid_accuracy=learner_accuracy,
        reference=reference_histograms([items[i] for i in split.train], result.valid_p_bear))
    counts = {"train": count_items(items[i] for i in split.train),
              "valid": count_items(items[i] for i in split.valid),
              "missing_files": missing}
    with db.sessions.begin() as session:
        register_version(session, ModelVersionInfo(
            id=exported.version, kind="fastai", created_at=utc_now(), path=str(exported.path),
            sha256=exported.sha256, training_counts=counts, metrics=metrics.to_json(),
            notes=f"bearwatch train {args.data} seed={args.seed} size={options.size} "
                  f"arch={options.architecture} pretrained={options.pretrained} "
                  f"head={options.head} epochs={options.freeze_epochs}+{options.epochs} "
                  f"infrared_prob={options.infrared_prob} max_lighting={options.max_lighting} "
                  f"negative_tiles={recipe.negative_tiles}"),
            actor="cli")
    served = metrics.validation
    print(f"model {exported.version}\n  file     {exported.path}\n  sha256   {exported.sha256}\n"
          f"  held out {exported.split_path}\n  accuracy {served.accuracy:.3f} as served "
          f"({learner_accuracy:.3f} in fastai's validation)  recall {served.overall.recall}  "
          f"false-alarm rate {served.overall.false_alarm_rate} at 0.5\n"
          f"  took     {result.seconds:.0f} s\n"
          f"use it: detector.model: {exported.path.name} (in {out})")
    return 0
