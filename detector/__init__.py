"""Detector: serves frames. The dynamic batcher, the loop, and the encounter logic that turns
scores into alerts. Training, evaluation and reports live in `training`; the drift maths in
`kernel.drift`. Its surfaces, one per audience:

- `detector` (this module), for wiring the loop: `DetectorLoop` with a `ModelRouter`, a
  `LoopOutput` and `LoopOptions` (`LoopTimings`, `LoopHooks`), the `Batcher`; encounters and
  output: `EncounterRules`, `EncounterTracker`, `AlertSink` (its records, `AlertUpdate` and
  `EncounterFrame`, are in `kernel.records`; it raises `SinkUnavailable`), `AuditSampler`,
  `SnapshotStore`, `AlertSpool`, shadow models `ShadowSetup`; region proposals for far bears:
  `ProposalRules`, `RegionScore`, `score_images_with_tiles`, `tiles`, `square_around`;
- `detector.models`: the models and how they load (`Model`, `load_model`, the built-in
  network, the shipped head, fastai exports, the device, `ModelLoadError`).
"""

from detector.audit import AuditSampler
from detector.batcher import Batcher
from detector.errors import SinkUnavailable
from detector.events import EncounterRules, EncounterTracker
from detector.proposals import (
    ProposalRules,
    RegionScore,
    score_images_with_tiles,
    square_around,
    tiles,
)
from detector.service import DetectorLoop
from detector.shadow import ShadowSetup
from detector.sink import AlertSink
from detector.snapshots import SnapshotStore
from detector.spool import AlertSpool
from detector.wiring import LoopHooks, LoopOptions, LoopOutput, LoopTimings, ModelRouter

PUBLIC_MODULES = ("detector.models",)

__all__ = [
    "DetectorLoop", "LoopTimings", "LoopHooks", "LoopOptions", "LoopOutput", "ModelRouter",
    "Batcher", "EncounterRules", "EncounterTracker", "AlertSink", "AuditSampler",
    "SnapshotStore", "AlertSpool", "ShadowSetup", "ProposalRules", "RegionScore",
    "score_images_with_tiles", "tiles", "square_around", "SinkUnavailable",
]
