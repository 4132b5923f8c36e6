"""The root of `config.yaml`: one field per section, and the checks that span sections
(ids unique, every camera's zone exists)."""

from __future__ import annotations

from pydantic import Field, model_validator

from kernel.config.base import Section
from kernel.config.cameras import CameraConfig
from kernel.config.cluster import ClusterConfig
from kernel.config.database import DatabaseConfig
from kernel.config.detector import DetectorConfig
from kernel.config.edge import EdgeConfig
from kernel.config.ingest import IngestConfig
from kernel.config.logger import LoggingConfig
from kernel.config.notify import NotifierConfig
from kernel.config.review_ui import ReviewUIConfig
from kernel.config.rollout import RolloutConfig
from kernel.config.storage import StorageConfig
from kernel.config.training import TrainingConfig
from kernel.config.zones import ZoneConfig


class BearwatchConfig(Section):
    """The root of `config.yaml`."""

    database: DatabaseConfig = DatabaseConfig()
    storage: StorageConfig = StorageConfig()
    cameras: list[CameraConfig] = Field(default_factory=list)
    zones: list[ZoneConfig] = Field(default_factory=list)
    ingest: IngestConfig = IngestConfig()
    detector: DetectorConfig = DetectorConfig()
    rollout: RolloutConfig = RolloutConfig()
    notifier: NotifierConfig = NotifierConfig()
    review_ui: ReviewUIConfig = ReviewUIConfig()
    logging: LoggingConfig = LoggingConfig()
    training: TrainingConfig = TrainingConfig()
    cluster: ClusterConfig = ClusterConfig()
    edge: EdgeConfig = EdgeConfig()

    @model_validator(mode="after")
    def _references(self) -> BearwatchConfig:
        problems: list[str] = []
        zone_ids = [z.id for z in self.zones]
        for dup in sorted({z for z in zone_ids if zone_ids.count(z) > 1}):
            problems.append(f"zone id {dup!r} is used twice")
        cam_ids = [c.id for c in self.cameras]
        for dup in sorted({c for c in cam_ids if cam_ids.count(c) > 1}):
            problems.append(f"camera id {dup!r} is used twice")
        for i, cam in enumerate(self.cameras):
            if cam.zone not in zone_ids:
                problems.append(
                    f"cameras[{i}].zone {cam.zone!r} is not a zone; add it under zones: "
                    f"or use one of {zone_ids}"
                )
        site_ids = [s.id for s in self.edge.sites]
        for i, cam in enumerate(self.cameras):
            if cam.site is not None and cam.site not in site_ids:
                problems.append(
                    f"cameras[{i}].site {cam.site!r} is not a site; add it under edge.sites: "
                    f"or use one of {site_ids}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def zone(self, zone_id: str) -> ZoneConfig:
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(zone_id)

    def zone_threshold(self, zone_id: str) -> float:
        return self.zone(zone_id).threshold_or(self.detector.default_threshold)
