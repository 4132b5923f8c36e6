"""Detector: serves frames. The model, the dynamic batcher, the loop, and the encounter logic
that turns scores into alerts. Training, evaluation and reports live in `training`; the drift
maths in `kernel.drift`.

Public surface (everything else is internal):
- models: `Model`, `TorchClassifier`, `InputSpec`, `Preprocessor`, `load_model`,
  `sha256_of`, the zero-shot `builtin_model` (`BUILTIN_VERSION`, `LITE0_SPEC`, its network
  `lite0_imagenet` and the two-class `BearOrNot`), the shipped `BearHead` on `Lite0Features`
  (`backbone_sha256`), and fastai Learner exports (`load_learner_model`);
- the loop: `DetectorLoop` (`LoopTimings`), `Batcher`, `pick_device`;
- encounters and output: `EncounterRules`, `EncounterTracker`, `AlertSink` (`AlertUpdate`,
  `EncounterFrame`), `AuditSampler`,
  `SnapshotStore`, `AlertSpool`, shadow models `ShadowSetup`;
- region proposals for far bears: `ProposalRules` (`WHOLE_FRAME_ONLY`), `RegionScore`, `score_with_regions`,
  `score_images_with_tiles`, `tiles`, `square_around`;
- errors: `DetectorError`, `ModelLoadError`, `DeviceError`, `SinkUnavailable`.
"""

from detector.audit import AuditSampler
from detector.batcher import Batcher
from detector.builtin import BUILTIN_VERSION, LITE0_SPEC, BearOrNot, builtin_model, lite0_imagenet
from detector.device import pick_device
from detector.errors import ModelLoadError, SinkUnavailable
from detector.events import EncounterRules, EncounterTracker
from detector.head import BearHead, Lite0Features, backbone_sha256
from detector.loader import load_learner_model, load_model, sha256_of
from detector.model import Model, TorchClassifier
from detector.preprocess import InputSpec, Preprocessor
from detector.proposals import (
    ProposalRules,
    RegionScore,
    score_images_with_tiles,
    square_around,
    tiles,
)
from detector.service import DetectorLoop, LoopTimings
from detector.shadow import ShadowSetup
from detector.sink import AlertSink, AlertUpdate, EncounterFrame
from detector.snapshots import SnapshotStore
from detector.spool import AlertSpool

__all__ = [
    "Model", "TorchClassifier", "InputSpec", "Preprocessor", "load_model", "sha256_of",
    "builtin_model", "BUILTIN_VERSION", "LITE0_SPEC", "lite0_imagenet", "BearOrNot", "BearHead",
    "Lite0Features", "backbone_sha256", "load_learner_model", "DetectorLoop", "LoopTimings",
    "Batcher", "pick_device", "EncounterRules", "EncounterTracker", "AlertSink", "AlertUpdate",
    "EncounterFrame", "AuditSampler", "SnapshotStore", "AlertSpool", "ShadowSetup",
    "ProposalRules", "RegionScore", "score_images_with_tiles", "tiles", "square_around",
    "ModelLoadError", "SinkUnavailable",
]
