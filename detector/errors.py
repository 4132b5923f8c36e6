"""Errors the detector raises on purpose.

    DetectorError            (base, derives from BearwatchError)
    ├── ModelLoadError       a model file is missing, outside the models folder, has the wrong
    │                        checksum or is not a fastai Learner export
    ├── DeviceError          the requested device is not available
    └── SinkUnavailable      storage is unreachable for now
"""

from __future__ import annotations

from kernel.errors import BearwatchError


class DetectorError(BearwatchError):
    """Base of the detector's errors."""


class ModelLoadError(DetectorError):
    """The configured model cannot be loaded; the message names the file and the fix."""

    exit_code = 3


class DeviceError(DetectorError):
    """The configured device (e.g. `cuda`) is not present on this machine."""

    exit_code = 3


class SinkUnavailable(DetectorError):
    """Storage is unreachable for now; the caller keeps what it tried to store and retries."""
