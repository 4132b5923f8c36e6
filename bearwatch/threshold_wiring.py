"""The zones' thresholds for `bearwatch run` (issue 12): the config's, replaced zone by zone by
the threshold an admin calibrated (`bearwatch calibrate ZONE --apply`), re-read every 30 s
(during an outage the last seen), so an applied or cleared threshold takes effect without a
restart. The detector, its audit sampler and the shadow comparison all judge frames by it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

from sqlalchemy.orm import Session, sessionmaker

from bearwatch.zone_reader import ZONE_SETTINGS_TTL_S, ZoneReader
from db.zone_thresholds import threshold_overrides
from detector import EncounterRules
from kernel.config import BearwatchConfig

log = logging.getLogger("bearwatch.thresholds")


class DbZoneThresholds(Mapping[str, float]):
    """Zone id → the threshold its frames are judged against now (p_bear 0..1): the zone's
    calibrated override from the database, else the config's (zones[].threshold, else
    detector.threshold). A zone in neither is missing (the rules then use their default).

    Args:
        config: the validated config (the fallback values).
        sessions: the database's session factory.
        ttl_s: how long the overrides are reused before the database is asked again, s.
        monotonic: clock, s (inject for tests).
    """

    def __init__(self, config: BearwatchConfig, sessions: sessionmaker[Session], *,
                 ttl_s: float = ZONE_SETTINGS_TTL_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.configured = {z.id: config.zone_threshold(z.id) for z in config.zones}
        self._overrides = ZoneReader(sessions, threshold_overrides, "zones' thresholds",
                                     ttl_s=ttl_s, monotonic=monotonic)
        self._logged: dict[str, float] = {}
        self._seen: dict[str, float] | None = None

    def overrides(self) -> dict[str, float]:
        """Zone id → calibrated threshold, for zones that have one (logged when it changes)."""
        current = self._overrides.get()
        # Read on every frame: compare contents only when the reader has read anew.
        if current is self._seen:
            return current
        self._seen = current
        if current != self._logged:
            log.info("zones' calibrated thresholds", extra={
                "zones": current, "config": {z: self.configured.get(z) for z in current}})
            self._logged = current
        return current

    def __getitem__(self, zone_id: str) -> float:
        override = self.overrides().get(zone_id)
        return self.configured[zone_id] if override is None else override

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(set(self.configured) | set(self.overrides())))

    def __len__(self) -> int:
        return len(set(self.configured) | set(self.overrides()))


def encounter_rules(config: BearwatchConfig, sessions: sessionmaker[Session], *,
                    ttl_s: float = ZONE_SETTINGS_TTL_S,
                    monotonic: Callable[[], float] = time.monotonic) -> EncounterRules:
    """The config's encounter rules with each zone's threshold read live from the database."""
    thresholds: Mapping[str, float] = DbZoneThresholds(config, sessions, ttl_s=ttl_s,
                                                       monotonic=monotonic)
    return replace(EncounterRules.from_config(config.detector, zones=config.zones,
                                           cameras=config.cameras),
                   zone_thresholds=thresholds)
