"""Errors of the rollout stage.

    BearwatchError
    └── RolloutError
        ├── IllegalTransition   a stage change the state machine does not allow
        │   └── NoNotifier      a promotion to pilot/active of a zone that would warn no one
        ├── ScenarioError       a simulation scenario that cannot be replayed
        ├── NotifyError         a notifier could not deliver (the outbox retries it)
        └── CalibrationRefused  a zone's reviews cannot support a threshold for the budget
"""

from __future__ import annotations

from kernel.errors import BearwatchError


class RolloutError(BearwatchError):
    """Base of the rollout stage's errors."""


class IllegalTransition(RolloutError):
    """The action is not allowed from the zone's current stage; the message says what is."""

    def __init__(self, zone_id: str, stage: str, paused: bool, action: str,
                 allowed: list[str], why: str) -> None:
        self.zone_id, self.stage, self.action, self.allowed = zone_id, stage, action, allowed
        state = f"{stage}{' (paused)' if paused else ''}"
        super().__init__(
            f"zone {zone_id!r} is {state}: cannot {action} ({why}); allowed now: "
            f"{', '.join(allowed) or 'nothing'}")


class NoNotifier(IllegalTransition):
    """Promoting the zone would make its alerts warn people, but it has no notifier: its
    alerts would reach no one. Raised unless the admin overrides it with a reason."""

    def __init__(self, zone_id: str, stage: str, to_stage: str) -> None:
        self.zone_id, self.stage, self.action, self.allowed = zone_id, stage, "promote", []
        RolloutError.__init__(
            self, f"zone {zone_id!r} has no notifier: promoted to {to_stage} its alerts would "
            "warn no one. Configure one under notifier: in config.yaml (mqtt, webhooks, "
            "apprise_urls_env) and check it with `bearwatch notify test "
            f"{zone_id}`, or override with a reason (audited)")


class ScenarioError(RolloutError):
    """A scenario names an unknown zone or camera, or its events are out of order."""


class NotifyError(RolloutError):
    """A notifier failed to deliver one message (retried from the outbox)."""


class CalibrationRefused(RolloutError):
    """No threshold can be proposed from the zone's labelled evidence for the budget; the
    message names what is missing (bears, no-bear items) and how to get it."""
