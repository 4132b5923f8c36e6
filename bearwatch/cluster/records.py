"""What crosses the Ray boundary between the centre and the detector replicas: which model
to score with (`ModelSpec`), one image to score (`ScoreRequest`) and its answer
(`ScoreReply`). Plain frozen records: Ray pickles them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kernel.config import DetectorConfig


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
class ReplicaStats:
    """One replica's figures since it started, as it last reported them (`bearwatch status`).

    Attributes:
        replica: the replica's id (Serve's).
        pid: its worker process on `node`.
        node: the node's IP address.
        rss_mb: its resident memory, MiB (None where /proc is not there to read it).
        batches: forward passes run.
        images: images scored.
        mean_batch: images per forward pass, on average.
        last_batch: images in the latest forward pass.
        queue: requests accepted and not yet in a forward pass, at `reported_at`.
        ongoing: requests accepted and not yet answered, at `reported_at`.
        latency_p50_ms: a request's time at the replica (arrival to answer), median of the
            latest `window` requests, ms.
        latency_p99_ms: the same, 99th percentile, ms.
        mean_forward_ms: a forward pass's time, on average, ms.
        errors: forward passes that raised (their requests were answered with the error).
        rejected: HTTP requests answered 4xx (a body that is no image).
        reported_at: when the replica measured these, epoch s (UTC).
    """

    replica: str
    pid: int
    node: str
    rss_mb: float | None
    batches: int
    images: int
    mean_batch: float
    last_batch: int
    queue: int
    ongoing: int
    latency_p50_ms: float
    latency_p99_ms: float
    mean_forward_ms: float
    errors: int
    rejected: int
    reported_at: float


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
