"""The shadow model for `bearwatch run` (issue 7): which version the zones shadow, loaded with
the same checksum rules as the live model, and which zones run it now.

One shadow model per process: when zones shadow different versions, the one most zones run
is loaded (ties: the newest id) and the others are logged as skipped. Per-zone *live* model
selection is out of scope: the live model stays the config's `detector.model`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.config import BearwatchConfig
from db import DatabaseError
from db.model_versions import get_version
from db.zone_models import shadow_versions, zone_models
from detector import BUILTIN_VERSION, ModelLoadError, ShadowSetup, load_model

log = logging.getLogger("bearwatch.shadow")

# How long the set of shadow zones is reused before the database is asked again, s: an
# admin's `bearwatch model shadow` takes effect within this, without a query per batch.
SHADOW_ZONES_TTL_S = 30.0


class DbShadowZones:
    """The zones whose shadow version is `version`, re-read every `ttl_s`; during an outage
    the last set seen."""

    def __init__(self, sessions: sessionmaker[Session], version: str, *,
                 ttl_s: float = SHADOW_ZONES_TTL_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.sessions = sessions
        self.version = version
        self.ttl_s = ttl_s
        self.monotonic = monotonic
        self._zones: frozenset[str] = frozenset()
        self._read_at: float | None = None

    def __call__(self) -> frozenset[str]:
        now = self.monotonic()
        if self._read_at is not None and now - self._read_at < self.ttl_s:
            return self._zones
        try:
            with self.sessions() as session:
                current = shadow_versions(session)
        except (SQLAlchemyError, DatabaseError) as exc:
            log.warning("shadow zones unavailable; using last known", extra={
                "model_version": self.version, "error": str(exc).splitlines()[0]})
            return self._zones
        self._zones = frozenset(z for z, v in current.items() if v == self.version)
        self._read_at = now
        return self._zones


def load_shadow(config: BearwatchConfig, sessions: sessionmaker[Session], *,
                device: str | None = None) -> ShadowSetup | None:
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
    if info is None:
        det = config.detector.model_copy(update={"model": "builtin", "model_sha256": None})
        sha = None
    else:
        det = config.detector.model_copy(update={"model": Path(info.path or "").name,
                                                 "model_sha256": None})
        sha = info.sha256
    model = load_model(det, models_dir=config.storage.models_dir, recorded_sha256=sha,
                       device=device)
    log.info("shadow model loaded", extra={"model_version": model.version,
                                           "zones": sorted(current)})
    return ShadowSetup(model=model, zones=DbShadowZones(sessions, version))


def optional_shadow(config: BearwatchConfig, sessions: sessionmaker[Session], *,
                    device: str | None = None) -> ShadowSetup | None:
    """`load_shadow`, but a shadow model that cannot load is logged as an error and skipped:
    a broken candidate must never keep the live model from warning about bears."""
    try:
        return load_shadow(config, sessions, device=device)
    except (ModelLoadError, DatabaseError, SQLAlchemyError) as exc:
        log.error("shadow model not loaded; the live model runs alone — fix the file or "
                  "reassign the shadow with `bearwatch model shadow`",
                  extra={"error": str(exc).splitlines()[0]})
        return None


def promoted_elsewhere(sessions: sessionmaker[Session], live_version: str) -> dict[str, str]:
    """Zone id → promoted live version, for zones whose promoted version is not the model this
    process runs (per-zone live models are not served yet: the config's `detector.model` scores
    every zone). Logged as a warning so an admin sees the promotion has not taken effect."""
    with sessions() as session:
        differ = {z.zone_id: z.live for z in zone_models(session)
                  if z.live is not None and z.live != live_version}
    if differ:
        log.warning("zones promoted to a model this process does not run; set detector.model "
                    "to that version's .pkl to serve it", extra={"model_version": live_version,
                                                                 "zones": differ})
    return differ
