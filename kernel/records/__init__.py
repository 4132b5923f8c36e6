"""Typed records that move between the stages (DESIGN.md §1), and the shared vocabularies.

Stdlib, numpy and `kernel.intervals` (the rates' Wilson intervals) only. Records are frozen,
slotted dataclasses validated in `__post_init__`; every time is timezone-aware UTC, every
score 0..1, every duration in ms. One module per part of the flow: `vocabulary` (enums and
the checks), `frames` (camera to alert), `operations` (what the system records about itself).
"""

from kernel.records.frames import (
    Alert,
    AlertUpdate,
    Detection,
    EncounterFrame,
    Frame,
)
from kernel.records.operations import (
    AuditSample,
    CameraHealthReport,
    CameraStateChange,
    ReplicaStats,
    ScoreAggregate,
    ShadowCount,
    ShadowFigures,
    SiteContact,
    StageChange,
)
from kernel.records.vocabulary import (
    STAGE_ORDER,
    Box,
    CameraState,
    NightSource,
    ReasonCode,
    Role,
    Stage,
    Verdict,
    utc_now,
)

__all__ = [
    "STAGE_ORDER",
    "Stage",
    "Verdict",
    "ReasonCode",
    "Role",
    "NightSource",
    "CameraState",
    "utc_now",
    "Box",
    "Frame",
    "Detection",
    "Alert",
    "EncounterFrame",
    "AlertUpdate",
    "StageChange",
    "AuditSample",
    "CameraHealthReport",
    "CameraStateChange",
    "ScoreAggregate",
    "ShadowFigures",
    "ShadowCount",
    "ReplicaStats",
    "SiteContact",
]
