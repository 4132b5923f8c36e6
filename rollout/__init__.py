"""Rollout: zone stages, alert routing, rates, gates, the controller and notifications."""

__all__: list[str] = []
