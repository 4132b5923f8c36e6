"""Model training: labelled items and their groups, the seeded group split, the fastai
DataBlock and fine-tuning of EfficientNet-Lite0, export with a version id and checksum, and
the figures recorded with each version.

Also the shipped recipe: cached features of the frozen backbone (`features`), the head fit
(`head_fit`) and leave-one-source-out cross-validation (`crossval`, `cv_data`, `cv_report`,
`cv_html`), with the fastai recipe as a fold fitter of its own (`fastai_fold`).

Imported lazily through `detector` (it pulls in fastai); other packages use
`from detector import …`.
"""

from detector.training.compare import (
    HeldOut,
    load_heldout,
    model_report,
    recall_at_equal_false_alarms,
    score_heldout,
)
from detector.training.crossval import (
    ZERO_SHOT,
    CrossValData,
    EvalFrame,
    Fold,
    FoldFitter,
    HeadFitter,
    fit_on,
    out_of_fold,
    source_folds,
    visit_folds,
    zero_shot_scores,
)
from detector.training.cv_data import RegionFinder, build_crossval_data
from detector.training.cv_html import render_cross_val
from detector.training.cv_report import (
    BUDGETS,
    CrossValReport,
    cross_val_report,
    side_by_side,
    text_table,
    with_known_scene,
)
from detector.training.errors import TrainingError
from detector.training.fastai_fold import FastaiFitter
from detector.training.figures import threshold_for_false_alarm
from detector.training.head_fit import HeadRecipe
from detector.training.export import ExportedModel, export_model, read_split
from detector.training.items import (
    TrainItem,
    count_items,
    load_labelled,
    negative_tiles,
    read_boxes,
)
from detector.training.split import Split, group_split, with_training_items
from detector.training.summary import (
    reference_histograms,
    served_valid_scores,
    validation_metrics,
)
from detector.training.trainer import TrainOptions, TrainResult, train

__all__ = [
    "ZERO_SHOT",
    "CrossValData",
    "EvalFrame",
    "Fold",
    "FoldFitter",
    "HeadFitter",
    "fit_on",
    "out_of_fold",
    "source_folds",
    "zero_shot_scores",
    "visit_folds",
    "with_known_scene",
    "side_by_side",
    "RegionFinder",
    "build_crossval_data",
    "render_cross_val",
    "BUDGETS",
    "CrossValReport",
    "cross_val_report",
    "text_table",
    "FastaiFitter",
    "threshold_for_false_alarm",
    "HeadRecipe",
    "ExportedModel",
    "HeldOut",
    "Split",
    "TrainItem",
    "TrainOptions",
    "TrainResult",
    "TrainingError",
    "count_items",
    "export_model",
    "group_split",
    "load_heldout",
    "load_labelled",
    "model_report",
    "negative_tiles",
    "read_boxes",
    "read_split",
    "recall_at_equal_false_alarms",
    "reference_histograms",
    "score_heldout",
    "served_valid_scores",
    "train",
    "validation_metrics",
    "with_training_items",
]
