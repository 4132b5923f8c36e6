"""Errors of the camera-ingest stage.

    BearwatchError
    └── IngestError              base of this package
        ├── SourceError          a source cannot be opened or was lost (the reader reconnects)
        └── CorruptFrameError    one frame could not be decoded or was empty (skipped, counted)
"""

from __future__ import annotations

from kernel.errors import BearwatchError


class IngestError(BearwatchError):
    """Base of every error raised by camera_ingest."""


class SourceError(IngestError):
    """The source cannot be opened, or it stopped delivering (network down, device gone).

    The message names the source and what to check. Readers treat it as transient and reconnect
    with backoff; `bearwatch probe` prints it and exits 1.
    """

    def __init__(self, source: str, problem: str, fix: str = "") -> None:
        self.source = source
        self.problem = problem
        text = f"camera source {source!r}: {problem}"
        super().__init__(f"{text}; {fix}" if fix else text)


class CorruptFrameError(IngestError):
    """One frame (or one image file) could not be decoded or was empty; the stream goes on."""

    def __init__(self, ref: str, problem: str) -> None:
        self.ref = ref
        super().__init__(f"corrupt frame {ref!r}: {problem}")
