"""Load the configured model: the built-in one, or a fastai Learner exported with
`learn.export()`.

Unpickling runs code, so a `.pkl` loads only from the models folder and only when its sha256
matches the expected one (config `detector.model_sha256`, else the one recorded in the
`model_versions` table, passed in by the caller). Only `learn.model` is kept for serving; its
input is prepared as the Learner's own pipeline does (see `learner_input_spec`).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from detector.builtin import builtin_model
from detector.device import pick_device
from detector.errors import ModelLoadError
from detector.head import backbone_sha256, head_model
from detector.model import TorchClassifier
from detector.onnx_runtime import OnnxClassifier, import_onnxruntime, to_onnx
from detector.preprocess import InputSpec, ResizeMethod
from kernel.config import HEAD_SUFFIX, SHIPPED_FILE, SHIPPED_MODEL, DetectorConfig

log = logging.getLogger("detector")

BUILTIN = "builtin"
# The committed model (`make model`): a weights-only head file, loaded without any pickle.
SHIPPED_PATH = Path(__file__).resolve().parent.joinpath(*SHIPPED_FILE)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve_model_file(name: str, models_dir: Path) -> Path:
    """The model file `name` inside `models_dir`.

    Raises:
        ModelLoadError: it resolves outside the models folder, or does not exist.
    """
    root = models_dir.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise ModelLoadError(
            f"model file {name!r} resolves to {path}, outside the models folder {root}; "
            "models load only from storage.root/models — copy it there and set detector.model "
            "to its file name"
        )
    if not path.is_file():
        raise ModelLoadError(
            f"model file {path} does not exist; put the .pkl exported by `bearwatch train` in "
            f"{root} or set detector.model to 'builtin'"
        )
    return path


def _reject_checksum(path: Path, actual: str, expected: str | None) -> None:
    if expected is None:
        raise ModelLoadError(
            f"no checksum recorded for model file {path} (sha256 {actual}); a .pkl runs code "
            "when loaded, so it loads only with a known checksum — set detector.model_sha256 "
            "or register it with `bearwatch train`"
        )
    if actual != expected:
        raise ModelLoadError(
            f"model file {path} has sha256 {actual}, expected {expected}; the file changed "
            "since it was recorded — re-export it or fix detector.model_sha256"
        )


def learner_input_spec(learn: Any, default_size: int) -> InputSpec:
    """Input size, resize method and normalisation as the Learner's own validation pipeline
    applies them: `Resize` in `dls.after_item` (size and method) and `Normalize` in
    `dls.after_batch` (mean/std on 0..1 pixels, after `IntToFloatTensor`'s /255). Without a
    `Resize` the config's `detector.image_size` is used, squished; without a `Normalize`, none
    (mean 0, std 1). Random augmentations apply only to training and are ignored."""
    size, method = default_size, "squish"
    mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    dls = getattr(learn, "dls", None)
    for tfm in getattr(getattr(dls, "after_item", None), "fs", []):
        if type(tfm).__name__ == "Resize":
            sz = tfm.size
            size = int(sz[0] if isinstance(sz, tuple | list) else sz)
            method = str(getattr(tfm, "method", "squish")).lower()
    for tfm in getattr(getattr(dls, "after_batch", None), "fs", []):
        if type(tfm).__name__ == "Normalize":
            mean = tuple(float(v) for v in torch.as_tensor(tfm.mean).flatten()[:3])  # type: ignore[assignment]
            std = tuple(float(v) for v in torch.as_tensor(tfm.std).flatten()[:3])  # type: ignore[assignment]
    chosen: ResizeMethod = method if method in ("squish", "crop", "pad") else "squish"  # type: ignore[assignment]
    return InputSpec(size=size, mean=mean, std=std, method=chosen)


def _bear_indices(learn: Any, bear_classes: Sequence[str], path: Path) -> list[int]:
    vocab = [str(v) for v in getattr(learn.dls, "vocab", [])]
    missing = [c for c in bear_classes if c not in vocab]
    if missing or not vocab:
        raise ModelLoadError(
            f"model {path}: bear class(es) {missing or list(bear_classes)} not in the Learner's "
            f"classes {vocab}; set detector.bear_classes to the names that mean 'bear'"
        )
    return [vocab.index(c) for c in bear_classes]


def load_learner_model(path: Path, *, expected_sha256: str | None, bear_classes: Sequence[str],
                       device: torch.device, default_size: int = 224) -> TorchClassifier:
    """Verify and load a `learn.export()` file; serve its `learn.model`.

    Raises:
        ModelLoadError: wrong checksum, not a fastai Learner, or bear classes not in its vocab.
    """
    from fastai.learner import Learner, load_learner

    actual = sha256_of(path)
    _reject_checksum(path, actual, expected_sha256)
    try:
        with warnings.catch_warnings():
            # fastai warns that pickle is unsafe; the checksum check above is our answer.
            warnings.filterwarnings("ignore", message="load_learner", category=UserWarning)
            learn = load_learner(path, cpu=True)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError,
            TypeError, RuntimeError, IndexError, KeyError) as exc:
        raise ModelLoadError(
            f"model file {path} is not a loadable fastai Learner export ({type(exc).__name__}: "
            f"{exc}); export it with learn.export() from fastai 2.x"
        ) from exc
    if not isinstance(learn, Learner):
        raise ModelLoadError(
            f"model file {path} holds a {type(learn).__name__}, not a fastai Learner; "
            "export it with learn.export()"
        )
    spec = learner_input_spec(learn, default_size)
    idx = _bear_indices(learn, bear_classes, path)
    version = path.stem
    log.info("loaded fastai model", extra={"model_version": version, "path": str(path),
                                           "size": spec.size, "resize": spec.method})
    return TorchClassifier(learn.model, spec, device, idx, version)


def load_model(config: DetectorConfig, *, models_dir: Path,
               recorded_sha256: str | None = None, device: str | None = None,
               cache_dir: Path | None = None) -> TorchClassifier | OnnxClassifier:
    """The model named by `detector.model` on the configured (or given) device: `builtin`,
    `shipped` (the committed head), a `.safetensors` head or a fastai `.pkl` in `models_dir`,
    run by `detector.runtime` (torch, or onnxruntime on an export cached in `cache_dir`).

    Args:
        recorded_sha256: the checksum stored in `model_versions` for this file, used when the
            config names none.
        device: overrides `detector.device` (`auto` | `cpu` | `cuda`).
        cache_dir: the ONNX export cache; default `<storage.root>/onnx` (beside `models_dir`).

    Raises:
        ModelLoadError: the model cannot be loaded, or `detector.runtime` is 'onnxruntime' and
            onnxruntime is not installed or the device is not the CPU.
    """
    t0 = time.perf_counter()
    dev = pick_device(device or config.device)
    use_onnx = _use_onnxruntime(config, dev)
    model, identity = _load_torch(config, models_dir=models_dir,
                                  recorded_sha256=recorded_sha256, dev=dev)
    served: TorchClassifier | OnnxClassifier = model
    if use_onnx:
        served = to_onnx(model, identity=identity,
                         cache_dir=cache_dir or models_dir.parent / "onnx",
                         threads=config.runtime_threads,
                         calibration=_calibration_images(config)) or model
    elif config.int8_calibration is not None:
        log.warning("detector.int8_calibration is set but detector.runtime 'auto' chose torch "
                    "(not the CPU, or onnxruntime not installed); INT8 needs onnxruntime on the "
                    "CPU", extra={"int8_calibration": str(config.int8_calibration),
                                  "device": dev.type})
    # Start-up time is what an operator waits for after a restart; the export's and the INT8
    # calibration's own shares are in the "onnx export" and "onnx int8 calibration" lines.
    log.info("model loaded", extra={"model": config.model, "version": served.version,
                                    "served_by": type(served).__name__, "device": dev.type,
                                    "precision": served.precision
                                    if isinstance(served, OnnxClassifier) else None,
                                    "load_s": round(time.perf_counter() - t0, 3)})
    return served


def _calibration_images(config: DetectorConfig) -> list[Path]:
    try:
        return config.int8_calibration_images()
    except OSError as exc:  # validated at start-up, gone or unreadable since
        raise ModelLoadError(
            f"detector.int8_calibration {config.int8_calibration} cannot be listed "
            f"({exc.strerror}); restore the folder, or unset detector.int8_calibration") from exc


def _use_onnxruntime(config: DetectorConfig, dev: torch.device) -> bool:
    if config.runtime == "torch":
        return False
    if config.runtime == "onnxruntime":
        import_onnxruntime(required=True)
        if dev.type != "cpu":
            raise ModelLoadError(
                f"detector.runtime is 'onnxruntime', which Bearwatch runs on the CPU only, but "
                f"the device is {dev.type}; set detector.device to 'cpu', or detector.runtime "
                "to 'auto' or 'torch'")
        return True
    use = dev.type == "cpu" and import_onnxruntime(required=False) is not None
    log.info("detector runtime", extra={"runtime": "onnxruntime" if use else "torch",
                                        "requested": "auto", "device": dev.type})
    return use


def _load_torch(config: DetectorConfig, *, models_dir: Path, recorded_sha256: str | None,
                dev: torch.device) -> tuple[TorchClassifier, str]:
    """The torch model and what identifies its weights (for the ONNX cache key)."""
    if config.model == BUILTIN:
        model = builtin_model(dev)
        log.info("loaded built-in model", extra={"model_version": model.version})
        return model, f"{model.version}:{backbone_sha256()}"
    if config.model == SHIPPED_MODEL or config.model.endswith(HEAD_SUFFIX):
        path = SHIPPED_PATH if config.model == SHIPPED_MODEL else resolve_model_file(config.model,
                                                                               models_dir)
        if not path.is_file():
            raise ModelLoadError(
                f"model file {path} does not exist; rebuild the shipped model with `make "
                "model`, or set detector.model to 'builtin'")
        sha = sha256_of(path)
        if config.model_sha256 is not None:  # optional for a head: it runs no code
            _reject_checksum(path, sha, config.model_sha256)
        model = head_model(path, dev)
        log.info("loaded model", extra={"model_version": model.version, "path": str(path),
                                        "sha256": sha})
        return model, sha
    path = resolve_model_file(config.model, models_dir)
    expected = config.model_sha256 or recorded_sha256
    model = load_learner_model(path, expected_sha256=expected, bear_classes=config.bear_classes,
                               device=dev, default_size=config.image_size)
    return model, str(expected)  # checked equal to the file's sha256 by the load
