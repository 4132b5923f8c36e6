"""How rollout's notifications leave: the `Notifier` protocol, the MQTT, signed-webhook and
Apprise notifiers, and the outbox dispatcher that retries them. One of rollout's public
modules (`rollout.PUBLIC_MODULES`); a new notifier satisfies `Notifier` and is built in
`bearwatch.rollout_wiring.build_notifiers`.
"""

from rollout.dispatcher import OutboxDispatcher, RetryPolicy
from rollout.notifiers import AppriseNotifier, MqttNotifier, MqttSettings, Notifier, WebhookNotifier

__all__ = [
    "Notifier", "MqttNotifier", "MqttSettings", "WebhookNotifier", "AppriseNotifier",
    "OutboxDispatcher", "RetryPolicy",
]
