"""What the configured model itself says about serving it: its calibrated threshold.

A head file (the shipped model, or a `.safetensors` from `bearwatch train`) records the
threshold calibrated for its false-alarm budget; a zone without its own threshold, under a
config without `detector.threshold`, uses it. Read from the file's metadata only (no torch),
so every command can apply it at start-up.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from safetensors import SafetensorError, safe_open

from kernel.config import HEAD_SUFFIX, SHIPPED_FILE, SHIPPED_MODEL, BearwatchConfig

UNCALIBRATED = 0.5


def shipped_model_path() -> Path:
    """The committed model file, inside the installed `detector` package (found without
    importing it, which would load torch)."""
    spec = importlib.util.find_spec("detector")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the detector package is not installed; run pip install -e .")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*SHIPPED_FILE)


def head_file(config: BearwatchConfig) -> Path | None:
    """The head file `detector.model` names, or None for builtin and .pkl models."""
    name = config.detector.model
    if name == SHIPPED_MODEL:
        return shipped_model_path()
    if name.endswith(HEAD_SUFFIX):
        return config.storage.models_dir / name
    return None


def calibrated_threshold(path: Path) -> float | None:
    """The threshold a head file records, or None when it cannot be read (the model loader
    reports that with the fix when the detector starts)."""
    try:
        with safe_open(str(path), framework="np") as fh:
            meta = fh.metadata() or {}
        return float(meta["threshold"])
    except (SafetensorError, OSError, KeyError, ValueError):
        return None


def with_model_defaults(config: BearwatchConfig) -> BearwatchConfig:
    """`config` whose unset detector.threshold means the model's calibrated threshold."""
    path = head_file(config)
    threshold = calibrated_threshold(path) if path is not None else None
    detector = config.detector.with_model_threshold(
        UNCALIBRATED if threshold is None else threshold)
    return config.model_copy(update={"detector": detector})
