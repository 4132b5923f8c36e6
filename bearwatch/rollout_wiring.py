"""Glue between the config (and its environment variables) and the rollout stage: the
stage's records built from their sections (routing, controller settings, thresholds),
notifiers with their secrets, the controller and the outbox dispatcher as one runtime for
`up`/`run`."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from bearwatch.wiring import Database
from kernel.config import BearwatchConfig
from kernel.errors import ConfigError
from rollout import ConfiguredThresholds, Controller, ControllerSettings, RoutingPolicy
from rollout.notify import (
    AppriseNotifier,
    HomeAssistant,
    MqttNotifier,
    MqttSettings,
    Notifier,
    NotifyError,
    OutboxDispatcher,
    RetryPolicy,
    WebhookNotifier,
    unwarned_banner,
    zone_coverage,
)

log = logging.getLogger("bearwatch")


def _env(name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise ConfigError("config.yaml", [f"{what}: environment variable {name} is not set; "
                                          "set it or remove the key"])
    return value


def routing_policy(config: BearwatchConfig) -> RoutingPolicy:
    """Where alerts notify: the `notifier` section's sinks, the zones' pilot thresholds."""
    return RoutingPolicy.from_config(config.notifier, config.zones)


def controller_settings(config: BearwatchConfig) -> ControllerSettings:
    """The `rollout` section, the zones' manual promotion and the detector's drift limits."""
    return ControllerSettings.from_config(config.rollout, zones=config.zones,
                                          detector=config.detector)


def configured_thresholds(config: BearwatchConfig) -> ConfiguredThresholds:
    """The zones' thresholds from the config, else the detector's."""
    return ConfiguredThresholds.from_config(config.detector, config.zones)


def build_notifiers(config: BearwatchConfig) -> dict[str, Notifier]:
    """One notifier per sink name of `routing_policy(config)`.

    Raises:
        ConfigError: a secret's environment variable is missing.
    """
    n = config.notifier
    out: dict[str, Notifier] = {}
    if n.mqtt.enabled:
        out["mqtt"] = MqttNotifier(MqttSettings(
            host=n.mqtt.host, port=n.mqtt.port, topic_prefix=n.mqtt.topic_prefix, qos=n.mqtt.qos,
            username=_env(n.mqtt.username_env, "notifier.mqtt.username_env"),
            password=_env(n.mqtt.password_env, "notifier.mqtt.password_env"),
            home_assistant=home_assistant(config)))
    for i, hook in enumerate(n.webhooks):
        secret = _env(hook.secret_env, f"notifier.webhooks[{i}].secret_env")
        out[f"webhook:{i}"] = WebhookNotifier(hook.url, secret=secret.encode() if secret else None)
    for i, env in enumerate(n.apprise_urls_env):
        url = _env(env, f"notifier.apprise_urls_env[{i}]")
        assert url is not None
        out[f"apprise:{env}"] = AppriseNotifier(url, label=env)
    return out


def home_assistant(config: BearwatchConfig) -> HomeAssistant | None:
    """Home Assistant discovery for every configured zone (None when turned off)."""
    ha = config.notifier.mqtt.home_assistant
    if not ha.enabled:
        return None
    storage = config.storage
    return HomeAssistant(zones=tuple((z.id, z.name) for z in config.zones),
                         discovery_prefix=ha.discovery_prefix, clear_after_s=ha.clear_after_s,
                         snapshot_roots=(str(storage.root), str(storage.snapshots_dir)))


def log_notifier_coverage(config: BearwatchConfig, db: Database) -> list[str]:
    """Log, at start-up, where each zone's alerts go; an ERROR naming every pilot/active zone
    that has no notifier (its alerts would warn no one). Returns the zones without one."""
    with db.sessions() as s:
        coverage = zone_coverage(s, routing_policy(config))
    for c in coverage:
        log.info("zone notifications: %s", c.describe(), extra={
            "zone_id": c.zone_id, "stage": c.stage.value, "targets": list(c.targets)})
    banner = unwarned_banner(coverage)
    if banner is not None:
        log.error(banner)
    return [c.zone_id for c in coverage if c.unwarned]


def retry_policy(config: BearwatchConfig) -> RetryPolicy:
    n = config.notifier
    return RetryPolicy(initial_s=n.retry_initial_s, max_s=n.retry_max_s,
                       max_attempts=n.max_attempts)


@dataclass
class RolloutRuntime:
    """The controller (scheduled) and the dispatcher (thread) of one process."""

    controller: Controller
    dispatcher: OutboxDispatcher
    notifiers: dict[str, Notifier] = field(default_factory=dict)

    def start(self) -> None:
        for notifier in self.notifiers.values():
            if isinstance(notifier, MqttNotifier):  # owns Home Assistant availability
                try:
                    notifier.announce()
                except NotifyError as exc:  # announced on the first connect that works
                    log.warning("Home Assistant discovery not yet published: %s", exc)
        self.dispatcher.start()
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
        self.dispatcher.stop()
        for notifier in self.notifiers.values():
            if isinstance(notifier, MqttNotifier):
                notifier.close()  # availability offline


def rollout_runtime(config: BearwatchConfig, db: Database) -> RolloutRuntime:
    """Build (not start) the rollout controller and outbox dispatcher for this config."""
    routing, notifiers = routing_policy(config), build_notifiers(config)
    return RolloutRuntime(
        controller=Controller(db.sessions, controller_settings(config), routing),
        dispatcher=OutboxDispatcher(db.sessions, notifiers, retry=retry_policy(config),
                                    routing=routing),
        notifiers=notifiers)
