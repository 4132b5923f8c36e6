"""Detector: the model, the dynamic batcher and the encounter logic that makes alerts.

Public surface (everything else is internal):
- models: `Model`, `TorchClassifier`, the shipped model's `BearHead`, `head_model` and
  `backbone_sha256`, `InputSpec`, `load_model`, `builtin_model`,
  `sha256_of`, `BUILTIN_VERSION`, `LITE0_SPEC`, `BearOrNot`, `lite0_imagenet`;
- batching: `FrameFeed`, `Batcher`, `Batch`, `BatchStats`, `BatcherCounters`;
- encounters and output: `EncounterRules`, `EncounterTracker`, `StageOf`, `AlertSink`,
  `AlertUpdate`, `EncounterFrame`, `AuditSample`, `ScoreAggregate`, `AuditSampler`,
  `SnapshotStore`, `AlertSpool`;
- shadow models (issue 7): `ShadowSetup`, `ShadowScorer`, `ShadowCount`;
- region proposals for small, far bears (issue 7): `ProposalRules`, `WHOLE_FRAME_ONLY`,
  `RegionScore`, `score_with_regions`, `score_images_with_regions`, `tiles`, `square_around`;
  tiles of stills where nothing moved count by agreement (issue 12): `agreed_tile_score`,
  `score_images_with_tiles`;
- the loop: `DetectorLoop`, `LoopTimings`; its benchmark: `run_benchmark`, `BenchOptions`,
  `BenchWiring`, `BenchResult`;
- evaluation: `EvalReport` (with `Figures`, `ThresholdPoint`, `Mistake`), `LabelledImage`,
  `evaluate`, `evaluate_folder`, `load_labelled_set`, `score_set`; with region proposals:
  `score_set_with_regions`, `proposal_figures`, `ProposalFigures`;
- errors: `DetectorError`, `ModelLoadError`, `DeviceError`, `EvalDataError`, `SinkUnavailable`;
- drift (issue 7): `Histogram`, `SCORE_EDGES`, `LUMA_EDGES`, `psi`, `ks_statistic`,
  `assess_camera`, `compare`, `flagged_cameras`, `CameraDrift`, `DriftResult`, `WindowCounts`;
- training and its reports (issue 7), imported lazily on first use because they pull in
  fastai and matplotlib: the names of `detector.training.__all__`, `render_report`,
  `render_eval` and `heldout_of`.
"""

import importlib
import os
from typing import Any

# Before torch loads OpenMP: idle OpenMP workers sleep instead of spinning. On a small CPU
# shared with camera readers (and other processes), spinning workers stall each other at
# every barrier; measured on 2 busy cores, a batch-8 forward took 1-3 s spinning and 0.45 s
# passive. A value set by the operator wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from detector.audit import AuditSampler
from detector.batcher import Batch, Batcher, BatcherCounters, BatchStats, FrameFeed
from detector.benchmark import BenchOptions, BenchResult, BenchWiring, run_benchmark
from detector.builtin import BUILTIN_VERSION, LITE0_SPEC, BearOrNot, builtin_model, lite0_imagenet
from detector.drift import (
    LUMA_EDGES,
    SCORE_EDGES,
    CameraDrift,
    DriftResult,
    Histogram,
    WindowCounts,
    assess_camera,
    compare,
    flagged_cameras,
    ks_statistic,
    psi,
)
from detector.errors import (
    DetectorError,
    DeviceError,
    EvalDataError,
    ModelLoadError,
    SinkUnavailable,
)
from detector.evaluation import (
    EvalReport,
    Figures,
    LabelledImage,
    Mistake,
    ThresholdPoint,
    evaluate,
    evaluate_folder,
    ProposalFigures,
    load_labelled_set,
    proposal_figures,
    score_set,
    score_set_with_regions,
)
from detector.head import BearHead, backbone_sha256, head_model
from detector.events import EncounterRules, EncounterTracker, StageOf
from detector.loader import load_model, sha256_of
from detector.model import Model, TorchClassifier
from detector.preprocess import InputSpec
from detector.proposals import (
    WHOLE_FRAME_ONLY,
    ProposalRules,
    RegionScore,
    agreed_tile_score,
    score_images_with_regions,
    score_images_with_tiles,
    score_with_regions,
    square_around,
    tiles,
)
from detector.service import DetectorLoop, LoopTimings
from detector.shadow import ShadowScorer, ShadowSetup
from detector.sink import (
    AlertSink,
    AlertUpdate,
    AuditSample,
    EncounterFrame,
    ScoreAggregate,
    ShadowCount,
)
from detector.snapshots import SnapshotStore
from detector.spool import AlertSpool

_LAZY = {
    **{name: "detector.training" for name in (
        "ExportedModel", "HeldOut", "Split", "TrainItem", "TrainOptions", "TrainResult",
        "TrainingError", "count_items", "export_model", "group_split", "load_heldout",
        "load_labelled", "model_report", "negative_tiles", "read_boxes", "with_training_items", "read_split", "recall_at_equal_false_alarms",
        "reference_histograms", "score_heldout", "served_valid_scores", "train",
        "validation_metrics", *("ZERO_SHOT", "CrossValData", "EvalFrame", "Fold", "FoldFitter",
        "HeadFitter", "fit_on", "out_of_fold", "source_folds", "zero_shot_scores",
        "RegionFinder", "build_crossval_data", "render_cross_val", "BUDGETS", "CrossValReport",
        "cross_val_report", "text_table", "FastaiFitter", "threshold_for_false_alarm",
        "HeadRecipe", "visit_folds", "with_known_scene", "side_by_side"))},
    "render_report": "detector.report_html",
    "render_eval": "detector.report_html",
    "heldout_of": "detector.report_html",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'detector' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "LUMA_EDGES", "SCORE_EDGES", "CameraDrift", "DriftResult", "Histogram", "WindowCounts",
    "assess_camera", "compare", "flagged_cameras", "ks_statistic", "psi", *_LAZY,
    "EvalReport", "Figures", "LabelledImage", "Mistake", "ThresholdPoint", "evaluate",
    "evaluate_folder", "load_labelled_set", "score_set", "ProposalFigures", "proposal_figures",
    "score_set_with_regions",
    "BenchOptions", "BenchResult", "BenchWiring", "run_benchmark",
    "WHOLE_FRAME_ONLY", "ProposalRules", "RegionScore", "score_images_with_regions",
    "score_with_regions", "square_around", "tiles", "agreed_tile_score",
    "score_images_with_tiles",
    "BUILTIN_VERSION", "LITE0_SPEC", "AlertSink", "AlertSpool", "AlertUpdate", "AuditSample",
    "AuditSampler", "Batch", "BatchStats", "Batcher", "BatcherCounters", "BearOrNot",
    "DetectorError", "DetectorLoop", "DeviceError", "EncounterFrame", "EncounterRules",
    "EncounterTracker", "EvalDataError", "FrameFeed", "InputSpec", "LoopTimings", "Model",
    "ModelLoadError", "ScoreAggregate", "ShadowCount", "ShadowScorer", "ShadowSetup", "SinkUnavailable", "SnapshotStore", "StageOf",
    "TorchClassifier", "BearHead", "backbone_sha256", "head_model", "builtin_model", "lite0_imagenet", "load_model", "sha256_of",
]
