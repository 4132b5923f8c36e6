"""The one validated configuration tree (`config.yaml`), loaded once at start-up.

One module per section (`cameras`, `detector`, `rollout`, …) on a shared base (`base`) that
forbids unknown keys; every field has a default where one makes sense, bounds and a
description. `root` joins the sections and checks what spans them; `loader` reads the YAML and
maps errors to line numbers. Each stage receives its own sub-model, never the root. Secrets
never live in the file: they come from environment variables named in it (`*_env` fields) or
from the `BEARWATCH_*` overrides.

Other packages import from here, not from the section modules.
"""

from kernel.config.cameras import CameraConfig
from kernel.config.cluster import ClusterConfig
from kernel.config.database import ENV_DATABASE_URL
from kernel.config.detector import (
    BUILTIN_VERSION,
    HEAD_SUFFIX,
    SHIPPED_FILE,
    SHIPPED_MODEL,
    DetectorConfig,
)
from kernel.config.edge import EdgeConfig, SiteConfig
from kernel.config.ingest import IngestConfig
from kernel.config.loader import load_config, parse_config
from kernel.config.logger import LoggingConfig
from kernel.config.notify import NotifierConfig
from kernel.config.proposals import ProposalConfig
from kernel.config.review_ui import ENV_ADMIN_PASSWORD
from kernel.config.rollout import GateConfig, ModelPromotionConfig, RolloutConfig
from kernel.config.root import BearwatchConfig
from kernel.config.storage import StorageConfig
from kernel.config.training import LITE0_ARCHITECTURE, TORCHVISION_ARCHITECTURES, TrainingConfig
from kernel.config.zones import ZoneConfig

__all__ = [
    "BUILTIN_VERSION", "ENV_ADMIN_PASSWORD", "ENV_DATABASE_URL", "HEAD_SUFFIX",
    "LITE0_ARCHITECTURE", "SHIPPED_FILE", "SHIPPED_MODEL", "TORCHVISION_ARCHITECTURES",
    "BearwatchConfig", "CameraConfig", "ClusterConfig", "DetectorConfig", "EdgeConfig",
    "GateConfig", "IngestConfig", "LoggingConfig", "ModelPromotionConfig", "NotifierConfig",
    "ProposalConfig", "RolloutConfig", "SiteConfig", "StorageConfig", "TrainingConfig",
    "ZoneConfig", "load_config", "parse_config",
]
