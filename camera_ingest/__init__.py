"""Camera ingest: sources, sampling, quality flags, motion gating, camera health."""

__all__: list[str] = []
