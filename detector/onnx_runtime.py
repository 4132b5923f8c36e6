"""The ONNX Runtime back-end: the served torch network exported once to ONNX and run by
`onnxruntime` on the CPU.

`to_onnx` wraps a `TorchClassifier`'s network with its input normalisation and the very
`p_bear` maths of `TorchClassifier._p_bear` (softmax, mass of the bear classes), exports it with
`torch.onnx.export` (opset 17, dynamic batch axis, the TorchScript exporter: no extra
packages), checks the export against torch on a few synthetic images, and caches the checked
file under `cache_dir` by a key of the model's identity (its file's sha256, or version and
backbone sha) and the exporter's versions, so a second start only loads it. `OnnxClassifier`
satisfies `detector.model.Model` with the same pre-processing (`detector.preprocess`): the
uint8 resize runs in Python, the float conversion, layout change and normalisation in the
graph. Done in torch beside the session, those cost a tenth of the forward pass at batch 4
(and a copy back to the NCHW layout the session reads).

(INT8: `detector.onnx_int8`.)
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from detector.device import usable_cores
from detector.errors import ModelLoadError
from detector.model import TorchClassifier, bear_mass
from detector.preprocess import InputSpec, Preprocessor
from kernel.records import Frame

log = logging.getLogger("detector")

OPSET = 17
MAX_P_BEAR_DIFF = 1e-3
"""An export whose p_bear differs from torch's by more than this is refused (0..1)."""
_CHECK_IMAGES = 4
_CPU = torch.device("cpu")


def import_onnxruntime(*, required: bool) -> Any | None:
    """The `onnxruntime` module, or None when it is not installed and not `required`.

    Raises:
        ModelLoadError: `required` (detector.runtime is 'onnxruntime') and it is not installed.
    """
    try:
        import onnxruntime
    except ImportError as exc:
        if required:
            raise ModelLoadError(
                f"detector.runtime is 'onnxruntime' but the onnxruntime package cannot be "
                f"imported ({exc}); install it (`.venv/bin/pip install onnxruntime`) or set "
                "detector.runtime to 'torch' or 'auto'") from exc
        return None
    return onnxruntime


INPUT_LAYOUT = "uint8-nhwc"
"""What the export reads: (B,S,S,3) uint8 RGB, as `Preprocessor.fit_uint8` makes it."""


class _PBearNet(nn.Module):
    """(B,S,S,3) uint8 RGB → (B,) p_bear: `Preprocessor`'s normalisation (the same multiply
    and subtract), the network and the same `bear_mass` as TorchClassifier."""

    def __init__(self, net: nn.Module, bear: torch.Tensor, spec: InputSpec) -> None:
        super().__init__()
        self.net = net
        self.bear: torch.Tensor
        self.scale: torch.Tensor
        self.shift: torch.Tensor
        self.register_buffer("bear", bear.cpu(), persistent=False)
        std = torch.tensor(spec.std, dtype=torch.float32).view(1, 3, 1, 1)
        mean = torch.tensor(spec.mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.register_buffer("scale", 1.0 / (255.0 * std), persistent=False)
        self.register_buffer("shift", mean / std, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2).float() * self.scale - self.shift
        return bear_mass(self.net(x), self.bear)


class OnnxClassifier:
    """A `Model` whose forward pass runs in an ONNX Runtime session on the CPU.

    Args:
        session: an `onnxruntime.InferenceSession` of a `_PBearNet` export (input `x`,
            output `p_bear`).
        spec: the network's input size and normalisation.
        version: model version id (the same for either precision: the same model).
        precision: 'fp32', or 'int8' for a quantised export (logged at load, in bench JSON).
        path: the export file the session runs, where known (the cached one once checked).
    """

    def __init__(self, session: Any, spec: InputSpec, version: str,
                 precision: str = "fp32", path: Path | None = None) -> None:
        self.session = session
        self.spec = spec
        self.version = version
        self.precision = precision
        self.path = path
        self.device = _CPU
        self._resize = Preprocessor(spec, _CPU)
        self._input = session.get_inputs()[0].name

    def score(self, frames: Sequence[Frame]) -> np.ndarray:
        return self.score_images([f.image for f in frames])

    def score_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if not images:
            return np.zeros((0,), dtype=np.float32)
        return self.forward_tensor(self.preprocess(images))

    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """The (B,S,S,3) uint8 batch the session reads (normalised in the graph)."""
        return self._resize.fit_uint8(images)

    def forward_tensor(self, x: np.ndarray) -> np.ndarray:
        """Score a `preprocess`ed batch (the benchmark's raw forward)."""
        p = self.session.run(None, {self._input: x})[0]
        return np.clip(np.asarray(p, dtype=np.float32).reshape(-1), 0.0, 1.0)


def cache_key(model: TorchClassifier, identity: str, ort_version: str) -> str:
    """sha256 over what decides the exported graph: the model's identity (file sha256, or
    version and backbone sha), its input spec and bear classes, and the exporter versions."""
    parts = (identity, model.version, repr(model.spec), repr(model.bear_indices),
             f"opset{OPSET}", INPUT_LAYOUT, torch.__version__, ort_version)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _export(model: TorchClassifier, path: Path) -> None:
    net = _PBearNet(model.net, torch.tensor(model.bear_indices, dtype=torch.long),
                    model.spec).eval()
    x = torch.zeros((2, model.spec.size, model.spec.size, 3), dtype=torch.uint8)
    with warnings.catch_warnings():
        # The TorchScript exporter warns about its own deprecation and traced shapes.
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(path), opset_version=OPSET, dynamo=False,
                          input_names=["x"], output_names=["p_bear"],
                          dynamic_axes={"x": {0: "batch"}, "p_bear": {0: "batch"}})


def _check_images(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    sizes = ((360, 640), (480, 480), (270, 480), (600, 400))
    return [rng.integers(0, 256, (*sizes[i % len(sizes)], 3), dtype=np.uint8) for i in range(n)]


def session_for(ort: Any, path: Path, threads: int) -> Any:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def to_onnx(model: TorchClassifier, *, identity: str, cache_dir: Path,
            threads: int | None = None, calibration: Sequence[Path] = ()
            ) -> OnnxClassifier | None:
    """`model` served by ONNX Runtime, exported on first use and cached in `cache_dir`; None
    (serve `model` itself, with a warning logged) where the export fails or its p_bear differs
    from torch's by more than `MAX_P_BEAR_DIFF` on the check images.

    Args:
        model: the loaded torch model (on the CPU).
        identity: what identifies its weights (a file's sha256, or version + backbone sha).
        cache_dir: folder of the cached exports (created).
        threads: intra-op threads; None: one per core this process may use.
        calibration: camera images (files) for an INT8 export (`to_int8`), which serves where
            it passes its check, else the fp32 export does; empty: fp32.

    Raises:
        ModelLoadError: onnxruntime is not installed.
    """
    ort = import_onnxruntime(required=True)
    assert ort is not None
    key = cache_key(model, identity, ort.__version__)
    path = cache_dir / f"{model.version}-{key[:16]}.onnx"
    n_threads = threads or usable_cores()
    base = {"model_version": model.version, "onnx_path": str(path), "threads": n_threads}
    cached = path.is_file()
    t0 = time.perf_counter()
    try:
        if cached:
            served = OnnxClassifier(session_for(ort, path, n_threads), model.spec, model.version,
                                    path=path)
            diff = _max_diff(model, served)
        else:
            cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".export-") as tmp:
                tmp_path = Path(tmp) / path.name
                _export(model, tmp_path)
                log.info("onnx export", extra={
                    **base, "export_s": round(time.perf_counter() - t0, 3)})
                served = OnnxClassifier(session_for(ort, tmp_path, n_threads), model.spec,
                                        model.version)
                diff = _max_diff(model, served)
                if diff <= MAX_P_BEAR_DIFF:
                    os.replace(tmp_path, path)  # only a checked export enters the cache
                    served.path = path
    except Exception as exc:  # an exporter or runtime failure of any kind: torch still serves
        log.warning("onnx export or load failed; serving torch", extra={
            **base, "error": f"{type(exc).__name__}: {exc}"})
        return None
    if diff > MAX_P_BEAR_DIFF:
        log.warning("onnx model differs from torch; serving torch", extra={
            **base, "max_p_bear_diff": diff, "limit": MAX_P_BEAR_DIFF, "cached": cached})
        return None
    if calibration:
        # Here: `detector.onnx_int8` builds on this module's classifier and session.
        from detector.onnx_int8 import to_int8

        served = to_int8(served, fp32_path=path, key=key, calibration=calibration,
                         threads=n_threads) or served
    log.info("onnx model loaded", extra={**base, "load_s": round(time.perf_counter() - t0, 3),
                                         "cached": cached, "max_p_bear_diff": diff,
                                         "precision": served.precision})
    return served


def _max_diff(model: TorchClassifier, served: OnnxClassifier) -> float:
    images = _check_images(_CHECK_IMAGES)
    return float(np.max(np.abs(model.score_images(images) - served.score_images(images))))
