"""`notifier:` — where notifications go (MQTT, webhooks, apprise) and how the outbox retries."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kernel.config.base import Section


class HomeAssistantConfig(Section):
    """Home Assistant MQTT discovery: each zone a device with a `bear` binary sensor and a
    snapshot camera, announced (retained) by the process that runs the dispatcher."""

    enabled: bool = Field(True, description="Publish discovery config when MQTT is enabled.")
    discovery_prefix: str = Field(
        "homeassistant", min_length=1, pattern=r"^[^#+\s]+$",
        description="Home Assistant's MQTT discovery prefix (its mqtt: discovery_prefix).")
    clear_after_s: float = Field(
        120.0, gt=0, description="Seconds after an alert the bear sensor turns OFF again.")


class MqttConfig(Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    topic_prefix: str = Field("bearwatch", min_length=1)
    qos: Literal[0, 1, 2] = 1
    username_env: str | None = None
    password_env: str | None = None
    home_assistant: HomeAssistantConfig = HomeAssistantConfig()


class WebhookConfig(Section):
    url: str = Field(pattern=r"^https?://")
    secret_env: str | None = Field(
        None, description="Environment variable holding the HMAC-SHA256 signing secret."
    )


class NotifierConfig(Section):
    mqtt: MqttConfig = MqttConfig()
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    apprise_urls_env: list[str] = Field(
        default_factory=list,
        description="Environment variables each holding one apprise URL (they embed secrets).",
    )
    max_attempts: int = Field(10, ge=1, description="Outbox retries before giving up.")
    retry_initial_s: float = Field(2.0, gt=0)
    retry_max_s: float = Field(300.0, gt=0)
