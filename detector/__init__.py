"""Detector: the model, the dynamic batcher and the encounter logic that makes alerts."""

__all__: list[str] = []
