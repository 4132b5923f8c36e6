"""Model training: labelled items and their groups, the seeded group split, the fastai
DataBlock and fine-tuning of EfficientNet-Lite0, export with a version id and checksum, and
the figures recorded with each version.

Also the shipped recipe: cached features of the frozen backbone (`features`), the head fit
(`head_fit`) and leave-one-source-out cross-validation (`crossval`, `cv_data`, `cv_report`,
`cv_html`), with the fastai recipe as a fold fitter of its own (`fastai_fold`).

And the evaluation of a model on a labelled folder (`evaluation`), its HTML reports
(`report_html`) and the fastai Learner around the built-in network (`fastai_wrap`, the
`learn.predict` baseline). Only the application (`bearwatch`) imports this package: it pulls in
fastai, scikit-learn and matplotlib, which serving never needs.
"""

from training.compare import (
    EqualFalseAlarmRecall,
    HeldOut,
    HeldOutComparison,
    ModelReport,
    load_heldout,
    model_report,
    recall_at_equal_false_alarms,
    score_heldout,
)
from training.crossval import (
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
from training.cv_data import RegionFinder, build_crossval_data
from training.cv_html import render_cross_val
from training.cv_report import (
    BUDGETS,
    CrossValReport,
    cross_val_report,
    side_by_side,
    text_table,
    with_known_scene,
)
from training.errors import EvalDataError, TrainingError
from training.evaluation import (
    EvalReport,
    LabelledImage,
    Mistake,
    evaluate,
    evaluate_folder,
    load_labelled_set,
    score_set,
)
from training.export import ExportedModel, export_model, read_split
from training.fastai_fold import FastaiFitter
from training.fastai_wrap import builtin_learner
from training.figures import threshold_for_false_alarm
from training.head_fit import HeadRecipe
from training.items import (
    TrainItem,
    count_items,
    load_labelled,
    negative_tiles,
    read_boxes,
)
from training.proposal_eval import (
    BearHits,
    ProposalFigures,
    proposal_figures,
    score_set_with_regions,
)
from training.rates import Figures, ThresholdPoint
from training.report_html import heldout_of, render_eval, render_report
from training.split import Split, group_split, with_training_items
from training.summary import (
    ValidationMetrics,
    VersionMetrics,
    reference_histograms,
    served_valid_scores,
    validation_metrics,
)
from training.trainer import TrainOptions, TrainResult, train

__all__ = [
    "BearHits", "EvalDataError", "EvalReport", "Figures", "LabelledImage", "Mistake",
    "ProposalFigures", "EqualFalseAlarmRecall", "HeldOutComparison", "ModelReport",
    "ValidationMetrics", "VersionMetrics",
    "ThresholdPoint", "evaluate", "evaluate_folder", "load_labelled_set", "proposal_figures",
    "score_set", "score_set_with_regions", "builtin_learner", "heldout_of", "render_eval",
    "render_report",
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
