"""How rollout's notifications leave: the `Notifier` protocol, the MQTT (with Home Assistant
discovery), signed-webhook and Apprise notifiers, the outbox dispatcher that retries them, and
whether each zone's alerts reach anyone (`zone_coverage`, `unwarned_banner`, `delivery_note`).
One of rollout's public modules (`rollout.PUBLIC_MODULES`); a new notifier satisfies
`Notifier` and is built in `bearwatch.rollout_wiring.build_notifiers`.
"""

from rollout.coverage import ZoneCoverage, delivery_note, unwarned_banner, zone_coverage
from rollout.dispatcher import OutboxDispatcher, RetryPolicy
from rollout.errors import NotifyError
from rollout.home_assistant import HomeAssistant
from rollout.notifiers import AppriseNotifier, MqttNotifier, MqttSettings, Notifier, WebhookNotifier

__all__ = [
    "Notifier", "MqttNotifier", "MqttSettings", "WebhookNotifier", "AppriseNotifier",
    "OutboxDispatcher", "RetryPolicy", "HomeAssistant", "NotifyError",
    "ZoneCoverage", "zone_coverage", "unwarned_banner", "delivery_note",
]
