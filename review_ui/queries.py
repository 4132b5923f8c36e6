"""The UI's reads, cached; and the shared context (config + engine), cached once per config.

`st.cache_data(ttl=…)` is for reads only; claims and writes live in `review_ui.actions` and
are never cached. Each read is keyed by the config path, so two configs (tests) never share.
"""

from __future__ import annotations

import os
from datetime import datetime

import streamlit as st

from db import make_engine, make_sessionmaker
from db.camera_status import CameraInfo, list_cameras
from db.catalog import ZoneState, zone_states
from db.health import camera_health
from db.missed import NearbyFrame, frames_near
from db.rates import HourCount, ScoreVerdictCount
from db.replicas import replica_stats
from db.reviews import QueueCounts, QueueEntry, pending_alerts, queue_counts
from db.sites import site_contacts
from db.users import UserInfo, list_users
from kernel.config import load_config
from kernel.model_defaults import with_model_defaults
from kernel.records import CameraHealthReport, ReplicaStats, SiteContact
from review_ui.actions import UIContext
from review_ui.session_token import TokenSigner, load_secret
from rollout import Calibration, CalibrationRequest, zone_calibration
from rollout.notify import ZoneCoverage, zone_coverage
from rollout.reports import (
    CameraDriftStatus,
    EffectiveThreshold,
    GroupRates,
    RatesAt,
    RateWindow,
    ZoneModelOverview,
    ZoneOverview,
    ZoneShadowReport,
    camera_drift,
    compute_rates,
    effective_thresholds,
    hourly_volume,
    model_overview,
    rates_over_time,
    score_verdict_matrix,
    shadow_report,
    zone_overview,
)

ENV_CONFIG = "BEARWATCH_CONFIG"
LIVE_TTL_S = 2.0  # below review_ui.refresh_seconds' floor of the 5 s target
CATALOG_TTL_S = 30.0


def config_path() -> str:
    """The config `bearwatch ui` passed in $BEARWATCH_CONFIG (default ./config.yaml)."""
    return os.environ.get(ENV_CONFIG, "config.yaml")


@st.cache_resource(show_spinner=False)
def _context(path: str) -> UIContext:
    cfg = with_model_defaults(load_config(path))
    engine = make_engine(cfg.database.resolved_url())
    return UIContext(config=cfg, sessions=make_sessionmaker(engine))


def context() -> UIContext:
    return _context(config_path())


@st.cache_resource(show_spinner=False)
def _signer(path: str) -> TokenSigner:
    ui, storage = _context(path).config.review_ui, _context(path).config.storage
    return TokenSigner(load_secret(ui.session_secret_env, storage.root))


def signer() -> TokenSigner:
    """The session cookies' signer, its key loaded once per config (never shown or logged)."""
    return _signer(config_path())


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def pending(path: str, limit: int = 20) -> list[QueueEntry]:
    with _context(path).sessions() as s:
        return pending_alerts(s, limit=limit)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def counts(path: str) -> QueueCounts:
    ctx = _context(path)
    with ctx.sessions() as s:
        return queue_counts(s, now=ctx.clock())


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def health(path: str) -> list[CameraHealthReport]:
    with _context(path).sessions() as s:
        return camera_health(s)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def sites(path: str) -> list[SiteContact]:
    """Each edge site's last contact as stored (sites never heard from have none)."""
    with _context(path).sessions() as s:
        return site_contacts(s)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def replicas(path: str) -> list[ReplicaStats]:
    """The detector replicas' figures `bearwatch up` last copied from Ray (none: local)."""
    with _context(path).sessions() as s:
        return replica_stats(s)


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def cameras(path: str) -> list[CameraInfo]:
    with _context(path).sessions() as s:
        return list_cameras(s)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def zones(path: str) -> list[ZoneState]:
    with _context(path).sessions() as s:
        return zone_states(s)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def nearby_frames(path: str, camera_id: str, at: datetime, minutes: float) -> list[NearbyFrame]:
    with _context(path).sessions() as s:
        return frames_near(s, camera_id, at, minutes=minutes)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def users(path: str) -> list[UserInfo]:
    with _context(path).sessions() as s:
        return list_users(s)


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def rates(path: str, window: RateWindow) -> list[GroupRates]:
    with _context(path).sessions() as s:
        return compute_rates(s, window)


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def rates_series(path: str, window: RateWindow, bucket_days: float) -> list[RatesAt]:
    with _context(path).sessions() as s:
        return rates_over_time(s, window, bucket_days)


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def volume_by_hour(path: str, window: RateWindow) -> list[HourCount]:
    with _context(path).sessions() as s:
        return hourly_volume(s, window)


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def score_vs_verdict(path: str, window: RateWindow) -> list[ScoreVerdictCount]:
    with _context(path).sessions() as s:
        return score_verdict_matrix(s, window)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def overview(path: str) -> list[ZoneOverview]:
    ctx = _context(path)
    routing = ctx.routing  # built from the config once, not once per zone
    with ctx.sessions() as s:
        return zone_overview(s, ctx.config.rollout, now=ctx.clock(), zones=ctx.config.zones,
                             drift=ctx.drift,
                             notified=lambda zone_id: bool(routing.sinks_for(zone_id)))


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def drift(path: str) -> list[CameraDriftStatus]:
    """Each camera's domain-shift status over the drift watch's recent window (flagged first)."""
    ctx = _context(path)
    with ctx.sessions() as s:
        return camera_drift(s, ctx.drift, now=ctx.clock())


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def shadow_models(path: str, since: datetime, until: datetime) -> list[ZoneShadowReport]:
    """Live vs shadow model per zone and compared version, day and night, in [since, until)."""
    with _context(path).sessions() as s:
        return shadow_report(s, since, until)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def models(path: str) -> list[ZoneModelOverview]:
    """Each zone's model versions and the controller's view of its shadow version now."""
    ctx = _context(path)
    with ctx.sessions() as s:
        return model_overview(s, ctx.config.rollout.model_promotion, now=ctx.clock())


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def thresholds(path: str) -> list[EffectiveThreshold]:
    """Each zone's effective threshold and where it comes from (config or calibrated)."""
    ctx = _context(path)
    with ctx.sessions() as s:
        return effective_thresholds(s, ctx.thresholds)


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def calibration(path: str, zone_id: str, target: float) -> Calibration:
    """The zone's threshold proposal for a false-alarm budget (0 < target < 1) from its own
    labelled alerts and audit samples, beside the figures at its threshold now."""
    ctx = _context(path)
    with ctx.sessions() as s:
        return zone_calibration(s, ctx.thresholds,
                                CalibrationRequest(zone_id=zone_id, target=target))


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def coverage(path: str) -> list[ZoneCoverage]:
    """Where each zone's alerts go at its stage now (no notifier: nowhere)."""
    ctx = _context(path)
    with ctx.sessions() as s:
        return zone_coverage(s, ctx.routing)
