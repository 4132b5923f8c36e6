"""`bearwatch eval DATA --json PATH`: score a labelled image set and report precision, recall
and false-alarm rate overall and per light, the confusion matrix, the threshold reaching 95 %
recall, and the worst mistakes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bearwatch.commands.common import load
from kernel.config import BearwatchConfig

if TYPE_CHECKING:
    from training import BearHits, EvalReport, ProposalFigures

BUILTIN = "builtin"


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="score a labelled image set (manifest.csv or bear/ no_bear/)")
    p.add_argument("data", type=Path, help="folder with manifest.csv, or bear/ and no_bear/")
    p.add_argument("--json", type=Path, required=True, help="write the figures here")
    p.add_argument("--model", default=None,
                   help="'builtin' or a .pkl name in the models folder (default: detector.model)")
    p.add_argument("--threshold", type=float, default=None,
                   help="p_bear threshold (default: detector.threshold)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                   help="override detector.device")
    p.add_argument("--html", type=Path, default=None,
                   help="also write a static HTML report (charts, top losses with images)")
    p.add_argument("--baseline", default=None,
                   help="a second model ('builtin' or a .pkl), the one the first would replace, "
                   "scored the same way: both in the JSON with recall at equal false-alarm "
                   "rates, side by side in the HTML")
    p.add_argument("--proposals", action="store_true",
                   help="score each image as the detector scores a camera-trap still: whole "
                   "image and its tiles (detector.proposals), read at ingest.max_width; adds "
                   "whole-vs-proposals figures, recall on the boxes.csv bears per frame, per "
                   "sequence and by bear size, and the false-alarm cost")
    p.add_argument("--split", type=Path, default=None,
                   help="a <version>.split.json from bearwatch train: evaluate only its "
                   "held-out images (so a trained model is scored on images it never saw)")
    p.add_argument("--cross-validate", action="store_true",
                   help="leave-one-source-out: train each recipe on all photo sources but one "
                   "(every source with bears is its own fold), score the held-out source, "
                   "repeat; recall at equal false-alarm rates (1 %%, 5 %%) against the zero-shot "
                   "model by source, camera, light, bear size, per frame and per visit, with "
                   "counts and Wilson 95 %% intervals. Frames are scored whole and on the "
                   "changed regions of their burst, as the folder camera scores them")
    p.add_argument("--recipes", default="head",
                   help="with --cross-validate: comma-separated recipes beside zero-shot: "
                   "head (the shipped recipe, seconds) and fastai (the fastai fine-tune, "
                   "minutes per fold); default: head")
    p.add_argument("--folds", type=int, default=None,
                   help="with --cross-validate: that many folds, photo sources dealt among "
                   "them (for the fastai recipe, minutes a fold); default: one fold per source "
                   "with bears")
    p.set_defaults(handler=_eval)


def _recorded_sha(cfg: BearwatchConfig, name: str) -> str | None:
    # Only a pickle needs a known checksum; builtin and weights-only heads run no code.
    if not name.endswith(".pkl") or cfg.detector.model_sha256:
        return None
    from bearwatch.wiring import open_database
    from db.model_versions import expected_sha256

    db = open_database(cfg)
    with db.sessions() as session:
        return expected_sha256(session, name)


def _progress(done: int, total: int, seconds: float) -> None:
    rate = done / max(seconds, 1e-9)
    print(f"\rscored {done}/{total} images ({rate:.1f}/s, ETA {(total - done) / rate:.0f} s)",
          end="" if done < total else "\n", file=sys.stderr, flush=True)


def _pct(x: float | None) -> str:
    return "  n/a " if x is None else f"{100 * x:5.1f}%"


def _print(report: EvalReport) -> None:
    print(f"model {report.model_version}, threshold {report.threshold}, "
          f"{len(report.images)} images ({len(report.skipped)} skipped)")
    print(f"{'slice':<8} {'bears':>6} {'others':>6} {'recall':>7} {'precision':>9} "
          f"{'false alarms':>12}")
    for name, f in [("overall", report.overall), *report.by_light.items()]:
        print(f"{name:<8} {f.n_bear:>6} {f.n_no_bear:>6} {_pct(f.recall):>7} "
              f"{_pct(f.precision):>9} {_pct(f.false_alarm_rate):>12}")
    c = report.confusion
    print(f"confusion (truth × predicted): bear→bear {c.tp}, bear→no_bear {c.fn}, "
          f"no_bear→bear {c.fp}, no_bear→no_bear {c.tn}")
    t = report.threshold_for_recall_95
    if t:
        print(f"95% recall needs threshold {t.threshold:.4f} "
              f"(recall {_pct(t.recall)}, false alarms {_pct(t.false_alarm_rate)})")
    print("worst mistakes:")
    for m in report.worst:
        print(f"  {m.p_bear:.4f}  {m.label:<7} {m.light:<5} {m.file}")


def _held_out(split: Path) -> set[str]:
    """Manifest names of a split's held-out images (a crop's ref is `<file>#…`)."""
    from training import read_split

    return {row["ref"].split("#", 1)[0] for row in read_split(split)}


def _score(model: Any, args: argparse.Namespace, cfg: BearwatchConfig, threshold: float
           ) -> tuple[EvalReport, ProposalFigures | None]:
    """The EvalReport of `model` on the set (with regions when asked) and, with
    --proposals, the whole-vs-proposals figures."""
    import time

    from detector import ProposalRules
    from training import (
        evaluate,
        load_labelled,
        load_labelled_set,
        proposal_figures,
        read_boxes,
        score_set,
        score_set_with_regions,
    )

    items, skipped = load_labelled_set(args.data)
    if args.split is not None:
        keep = _held_out(args.split)
        items = [im for im in items if im.name in keep]
    if not args.proposals:
        kept, scores, bad = score_set(model, items, progress=_progress)
        return evaluate(kept, scores, threshold=threshold, model_version=model.version,
                        skipped=[*skipped, *bad]), None
    started = time.monotonic()
    rules = ProposalRules.from_config(cfg.detector.proposals)
    kept, scored, bad = score_set_with_regions(model, items, rules,
                                               max_side=cfg.ingest.max_width, progress=_progress)
    boxes_csv = args.data / "boxes.csv"
    boxes = read_boxes(boxes_csv) if boxes_csv.is_file() else {}
    figures = proposal_figures(
        kept, scored, threshold=threshold,
        bear_px={name: max(max(w, h) for _, _, w, h in bs) for name, bs in boxes.items()},
        sequence_of={it.ref: it.group for it in load_labelled(args.data, box_crops=False)},
        seconds=time.monotonic() - started)
    report = evaluate(kept, [s.p_bear for s in scored], threshold=threshold,
                      model_version=model.version, skipped=[*skipped, *bad])
    return report, figures


def _load_model(cfg: BearwatchConfig, name: str, device: str | None) -> Any:
    from detector.models import load_model

    det = cfg.detector.model_copy(update={"model": name})
    return load_model(det, models_dir=cfg.storage.models_dir,
                      recorded_sha256=_recorded_sha(cfg, name), device=device)


def _eval(args: argparse.Namespace) -> int:
    from training import heldout_of, recall_at_equal_false_alarms

    cfg = load(args)
    if args.cross_validate:
        return _cross_validate(args, cfg)
    model = _load_model(cfg, args.model or cfg.detector.model, args.device)
    threshold = cfg.detector.default_threshold if args.threshold is None else args.threshold
    report, proposals = _score(model, args, cfg, threshold)
    doc = report.to_json()
    if args.split is not None:
        doc["split"] = str(args.split)
    if proposals is not None:
        doc["proposals"] = proposals.to_json()
    baseline = base_proposals = None
    if args.baseline is not None:
        other = _load_model(cfg, args.baseline, args.device)
        baseline, base_proposals = _score(other, args, cfg, threshold)
        base_doc = baseline.to_json()
        if base_proposals is not None:
            base_doc["proposals"] = base_proposals.to_json()
        doc["baseline"] = base_doc
        doc["recall_at_equal_false_alarm_rate"] = recall_at_equal_false_alarms(
            heldout_of(report.images), {r.model_version: np.asarray(r.scores, dtype=np.float64)
                                        for r in (report, baseline)}).to_json()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=1))
    for shown, shown_proposals in ((report, proposals), (baseline, base_proposals)):
        if shown is not None:
            _print(shown)
            if shown_proposals is not None:
                _print_proposals(shown_proposals)
    print(f"wrote {args.json}")
    if args.html is not None:
        from training import render_eval

        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(render_eval(report, baseline, proposals={
            r.model_version: p for r, p in ((report, proposals), (baseline, base_proposals))
            if r is not None and p is not None}))
        print(f"wrote {args.html}")
    return 0


def _print_proposals(figures: ProposalFigures) -> None:
    def hits(f: BearHits) -> str:
        return f"{f.hits}/{f.n} ({_pct(f.recall).strip()})"

    cost = figures.false_alarm_cost
    bears = figures.trail_camera_bears
    print(f"proposals: {round(figures.regions_per_image, 1)} regions per image, "
          f"{round(figures.seconds_per_image, 3)} s per image")
    print(f"  false alarms on {cost.n_no_bear} no-bear images: "
          f"{cost.false_alarms_whole} whole image → {cost.false_alarms_with_proposals} "
          "with proposals")
    if bears.per_frame.whole.n:
        for what, f in (("per frame", bears.per_frame), ("per sequence", bears.per_sequence)):
            print(f"  trail-camera bears {what}: {hits(f.whole)} whole "
                  f"image → {hits(f.with_proposals)} with proposals")
        for row in bears.by_bear_size:
            print(f"    bears {row.size}: {hits(row.whole)} → {hits(row.with_proposals)}")


def _cross_validate(args: argparse.Namespace, cfg: BearwatchConfig) -> int:
    from bearwatch.commands.crossval import cross_validate, crossval_data, fitters, print_report

    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    data = crossval_data(cfg, args.data, cache_dir=cfg.storage.root / "cache" / "features")
    if args.folds is not None and args.folds < 2:
        raise SystemExit(f"bearwatch eval: --folds must be at least 2, got {args.folds}")
    report = cross_validate(data, fitters(cfg, recipes, work_dir=cfg.storage.root / "cache"),
                            groups=args.folds)
    print_report(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report.to_json(), indent=1, sort_keys=True))
    print(f"wrote {args.json}")
    if args.html is not None:
        from training import render_cross_val

        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(render_cross_val(report))
        print(f"wrote {args.html}")
    return 0
