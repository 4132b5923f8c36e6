"""Model training: labelled items and their groups, the seeded group split, the fastai
DataBlock and fine-tuning of EfficientNet-Lite0, export with a version id and checksum, and
the figures recorded with each version.

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
from detector.training.errors import TrainingError
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
