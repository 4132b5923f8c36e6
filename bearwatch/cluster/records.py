"""What crosses the Ray boundary between the centre and the detector replicas: which model
to score with (`ModelSpec`), one image to score (`ScoreRequest`) and its answer
(`ScoreReply`). Plain frozen records: Ray pickles them. A replica's figures (`ReplicaStats`)
live in `kernel.records`, since `db` stores them too; re-exported here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kernel.config import DetectorConfig
from kernel.records import ReplicaStats

__all__ = ["ClusterStatus", "LoadedModel", "ModelSpec", "ReplicaStats", "ScoreReply",
           "ScoreRequest"]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model version as `detector.models.load_model` loads it, so every replica loads (and
    checksums) the very model the centre would have loaded itself.

    Attributes:
        detector: the detector section naming the model (`model`, `model_sha256`, runtime).
        models_dir: the models folder, as the replicas see it (shared storage or the same
            path on every node).
        recorded_sha256: the checksum `model_versions` records for a .pkl (None otherwise).
        device: overrides `detector.device` on the replica (None: the section's).
        key: identifies the spec; a replica caches one loaded model per key.
    """

    detector: DetectorConfig
    models_dir: Path
    recorded_sha256: str | None = None
    device: str | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        ident = "|".join([self.detector.model_dump_json(), str(self.models_dir),
                          str(self.recorded_sha256), str(self.device)])
        object.__setattr__(self, "key", hashlib.sha256(ident.encode()).hexdigest()[:16])


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    """One image (a whole frame or a region crop, HxWx3 uint8 RGB) for one model."""

    spec: ModelSpec
    image: np.ndarray


@dataclass(frozen=True, slots=True)
class ScoreReply:
    """One image's score.

    Attributes:
        p_bear: 0..1.
        version: the version of the model that scored it.
        replica: the id of the replica that scored it (which replicas served, after a kill).
        batch_size: how many images the replica scored in that forward pass.
    """

    p_bear: float
    version: str
    replica: str
    batch_size: int


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """What a replica answers to a load: the model's version and device ('cpu', 'cuda:0')."""

    version: str
    device: str


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """The detector deployment as a driver joining the cluster sees it (`bearwatch status`).

    Attributes:
        app_status: the Serve application's status ('RUNNING', 'DEPLOYING', …); None: not
            deployed (no `bearwatch up` with engine ray is running).
        replica_states: replicas per Serve state ('RUNNING': 2, 'STARTING': 1).
        replicas: each live replica's latest figures (the stats board's).
    """

    app_status: str | None
    replica_states: dict[str, int]
    replicas: tuple[ReplicaStats, ...]
