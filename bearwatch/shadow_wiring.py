"""Model versions per zone for `bearwatch run` (issue 7): the shadow model (which version the
zones shadow, and which zones run it now) and the live model each zone was promoted to, loaded
with the same checksum rules as the config's `detector.model`.

One shadow model per process: when zones shadow different versions, the one most zones run
is loaded (ties: the newest id) and the others are logged as skipped. Live models are served
per zone: a zone without a promoted version uses the config's `detector.model`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.zone_reader import ZONE_SETTINGS_TTL_S, ZoneReader
from db import DatabaseError
from db.model_versions import ModelVersionInfo, get_version
from db.zone_models import shadow_versions, zone_models
from detector import ShadowSetup
from detector.models import BUILTIN_VERSION, Model, ModelLoadError, load_model
from kernel.config import BearwatchConfig, DetectorConfig

log = logging.getLogger("bearwatch.shadow")

# How long the set of shadow zones is reused before the database is asked again, s: an
# admin's `bearwatch model shadow` takes effect within this, without a query per batch.
SHADOW_ZONES_TTL_S = ZONE_SETTINGS_TTL_S


class ModelLoad(Protocol):
    """How a model version is loaded: `detector.models.load_model` in this process, or onto
    the Ray Serve replicas on a cluster (`bearwatch.cluster`); both check the checksum."""

    def __call__(self, config: DetectorConfig, *, models_dir: Path,
                 recorded_sha256: str | None = None, device: str | None = None) -> Model: ...


class DbShadowZones:
    """The zones whose shadow version is `version`, re-read every `ttl_s`; during an outage
    the last set seen."""

    def __init__(self, sessions: sessionmaker[Session], version: str, *,
                 ttl_s: float = SHADOW_ZONES_TTL_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.version = version
        self._versions = ZoneReader(sessions, shadow_versions, "shadow zones", ttl_s=ttl_s,
                                    monotonic=monotonic)

    def __call__(self) -> frozenset[str]:
        return frozenset(z for z, v in self._versions.get().items() if v == self.version)


def load_shadow(config: BearwatchConfig, sessions: sessionmaker[Session], *,
                device: str | None = None, load: ModelLoad = load_model) -> ShadowSetup | None:
    """The shadow model the zones in the database run, or None when no zone runs one.

    Raises:
        detector.ModelLoadError: its file is missing, outside the models folder, or its
            checksum differs from the one `model_versions` records.
        db.NotFoundError: the version is no longer registered.
    """
    with sessions() as session:
        current = shadow_versions(session)
        if not current:
            return None
        ranked = sorted(Counter(current.values()).items(), key=lambda kv: (kv[1], kv[0]),
                        reverse=True)
        version = ranked[0][0]
        info = None if version == BUILTIN_VERSION else get_version(session, version)
    skipped = sorted(z for z, v in current.items() if v != version)
    if skipped:
        log.warning("one shadow model per process; these zones' shadow versions are not run",
                    extra={"model_version": version, "zones": skipped})
    model = _load_version(config, info, device=device, load=load)
    log.info("shadow model loaded", extra={"model_version": model.version,
                                           "zones": sorted(current)})
    return ShadowSetup(model=model, zones=DbShadowZones(sessions, version))


def _load_version(config: BearwatchConfig, info: ModelVersionInfo | None, *,
                  device: str | None, load: ModelLoad = load_model) -> Model:
    """A registered version's model (None: the built-in one), its checksum as recorded."""
    if info is None:
        det = config.detector.model_copy(update={"model": "builtin", "model_sha256": None})
        sha = None
    else:
        det = config.detector.model_copy(update={"model": Path(info.path or "").name,
                                                 "model_sha256": None})
        sha = info.sha256
    return load(det, models_dir=config.storage.models_dir, recorded_sha256=sha, device=device)


def optional_shadow(config: BearwatchConfig, sessions: sessionmaker[Session], *,
                    device: str | None = None, load: ModelLoad = load_model) -> ShadowSetup | None:
    """`load_shadow`, but a shadow model that cannot load is logged as an error and skipped:
    a broken candidate must never keep the live model from warning about bears."""
    try:
        return load_shadow(config, sessions, device=device, load=load)
    except (ModelLoadError, DatabaseError, SQLAlchemyError) as exc:
        log.error("shadow model not loaded; the live model runs alone — fix the file or "
                  "reassign the shadow with `bearwatch model shadow`",
                  extra={"error": str(exc).splitlines()[0]})
        return None


def _live_versions(session: Session) -> dict[str, str]:
    return {z.zone_id: z.live for z in zone_models(session) if z.live is not None}


class DbLiveModels:
    """Zone id → the model promoted live in that zone, for the detector loop.

    The zones' live versions are re-read every `ttl_s` (a promotion or rollback takes effect
    within it, without a restart; during an outage the last seen). Each version loads once,
    with its recorded checksum. A version that cannot load is logged once and its zones use
    the config's model: a broken promotion must never stop the warnings.
    """

    def __init__(self, config: BearwatchConfig, sessions: sessionmaker[Session], default: Model,
                 *, device: str | None = None, ttl_s: float = SHADOW_ZONES_TTL_S,
                 monotonic: Callable[[], float] = time.monotonic,
                 load: ModelLoad = load_model) -> None:
        self.config = config
        self.load = load
        self.sessions = sessions
        self.default = default
        self.device = device
        self._versions = ZoneReader(sessions, _live_versions, "zones' live models",
                                    ttl_s=ttl_s, monotonic=monotonic)
        self._logged: dict[str, str] = {}
        self._models: dict[str, Model | None] = {}

    def __call__(self, zone_id: str) -> Model | None:
        """The zone's promoted model, or None for the config's model."""
        version = self._live().get(zone_id)
        if version is None or version == self.default.version:
            return None
        if version not in self._models:
            self._models[version] = self._load(version)
        return self._models[version]

    def served(self) -> dict[str, str]:
        """Zone id → version each zone is scored with now (promoted zones only)."""
        return {z: (m.version if (m := self(z)) is not None else self.default.version)
                for z in self._live()}

    def _live(self) -> dict[str, str]:
        live = self._versions.get()
        if live != self._logged:
            changed = {z: v for z, v in live.items() if self._logged.get(z) != v}
            self._logged = live
            if changed:
                log.info("zones' live model versions", extra={"zones": changed})
        return live

    def _load(self, version: str) -> Model | None:
        try:
            with self.sessions() as session:
                info = None if version == BUILTIN_VERSION else get_version(session, version)
            model = _load_version(self.config, info, device=self.device, load=self.load)
        except (ModelLoadError, DatabaseError, SQLAlchemyError) as exc:
            log.error("promoted model not loaded; its zones use the config's model — fix the "
                      "file or roll the zone's model back", extra={
                          "model_version": version, "fallback": self.default.version,
                          "error": str(exc).splitlines()[0]})
            return None
        log.info("live model loaded for promoted zones", extra={"model_version": model.version})
        return model
