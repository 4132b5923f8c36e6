"""Errors the detector raises on purpose.

    DetectorError            (base, derives from BearwatchError)
    ├── ModelLoadError       a model file is missing, outside the models folder, has the wrong
    │                        checksum or is not a fastai Learner export
    ├── DeviceError          the requested device is not available
    └── EvalDataError        a labelled evaluation set cannot be read
"""

from __future__ import annotations

from bearwatch.errors import BearwatchError


class DetectorError(BearwatchError):
    """Base of the detector's errors."""


class ModelLoadError(DetectorError):
    """The configured model cannot be loaded; the message names the file and the fix."""

    exit_code = 3


class DeviceError(DetectorError):
    """The configured device (e.g. `cuda`) is not present on this machine."""

    exit_code = 3


class EvalDataError(DetectorError):
    """A labelled data set for `bearwatch eval` is missing or malformed."""

    exit_code = 2


class SinkUnavailable(DetectorError):
    """Storage is unreachable for now; the caller keeps what it tried to store and retries."""
