"""INT8 ONNX Runtime exports (`detector.int8_calibration`).

Given calibration images, `detector.onnx_runtime.to_onnx` also quantises the checked
fp32 export to INT8 (static QDQ: per-channel reduced-range int8 weights, uint8 activations
whose ranges are the Percentile calibration over up to `INT8_CALIBRATION_IMAGES` of them; the
classifier and the softmax stay float), caches it beside the
fp32 file, and serves it only while its p_bear stays within `INT8_P95_DIFF` / `INT8_MAX_DIFF`
of the fp32 export's on the other images (`int8_check`, run at every load: INT8 kernels
differ between CPUs); else the fp32 export serves, with a warning.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

from detector.onnx_runtime import OnnxClassifier, import_onnxruntime, session_for

log = logging.getLogger("detector")

INT8_CALIBRATION_IMAGES = 64
"""Images whose activations calibrate the INT8 ranges at most (more: little gain, more RAM)."""
INT8_CHECK_IMAGES = 32
"""Images, not used for calibration, on which the INT8 export is checked at most."""
INT8_MIN_CHECK_IMAGES = 8
"""Fewer images left over after calibration: the check uses the calibration images too."""
INT8_P95_DIFF = 0.05
"""The INT8 export serves only if the 95th percentile of its |Δp_bear| against fp32 is at most
this on the check images (0..1)…"""
INT8_MAX_DIFF = 0.5
"""…and the largest at most this (0..1): a few frames may move, none may flip outright."""
_CALIBRATION_CHUNK = 16
"""Images whose activations the calibrator holds at once (histograms merged between chunks): all
64 at once took 5.4 GB for EfficientNet-Lite0 at 224 px, chunks of 8 to 16 about 1.6-1.9 GB."""
# What decides the quantised graph besides the fp32 export and the calibration files.
_INT8_RECIPE = (f"qdq per-channel reduce-range s8 weights u8 activations percentile "
                f"{INT8_CALIBRATION_IMAGES} chunk {_CALIBRATION_CHUNK} float tail")


class Int8Check(NamedTuple):
    """|Δp_bear| of an INT8 export against its fp32 export on the check images (0..1)."""

    n_images: int
    p50: float
    p95: float
    max: float

    @property
    def passed(self) -> bool:
        return self.n_images > 0 and self.p95 <= INT8_P95_DIFF and self.max <= INT8_MAX_DIFF

    def figures(self) -> dict[str, float | int]:
        """For a log line's extra=: `dp_p50`, `dp_p95`, `dp_max`, `check_images`, limits."""
        return {"check_images": self.n_images, "dp_p50": round(self.p50, 5),
                "dp_p95": round(self.p95, 5), "dp_max": round(self.max, 5),
                "dp_p95_limit": INT8_P95_DIFF, "dp_max_limit": INT8_MAX_DIFF}


def int8_split(images: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The calibration images and the check images out of `images` (sorted by name first):
    up to `INT8_CALIBRATION_IMAGES` spread evenly over the sorted list (deterministic, and not
    all from the first camera or day when names sort that way), then up to
    `INT8_CHECK_IMAGES` of the rest, spread likewise; with fewer than
    `INT8_MIN_CHECK_IMAGES` left over, the check draws from all of them."""
    ordered = sorted(images, key=lambda p: p.name)
    calib = _spread(ordered, INT8_CALIBRATION_IMAGES)
    chosen = set(calib)
    rest = [p for p in ordered if p not in chosen]
    check = _spread(rest if len(rest) >= INT8_MIN_CHECK_IMAGES else ordered, INT8_CHECK_IMAGES)
    return calib, check


def _spread(items: Sequence[Path], n: int) -> list[Path]:
    if len(items) <= n:
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, n).round()]


def int8_key(fp32_key: str, calibration: Sequence[Path]) -> str:
    """sha256 over the fp32 export's key, the quantisation recipe and the calibration files'
    names and sizes (a folder moved elsewhere keeps its cache; a changed image does not)."""
    parts = [fp32_key, _INT8_RECIPE, *(f"{p.name}\t{p.stat().st_size}" for p in calibration)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def read_rgb(paths: Iterable[Path]) -> Iterator[np.ndarray]:
    """The images that decode, one at a time, as HxWx3 uint8 RGB (a corrupt or odd file is
    skipped; one at a time, as a folder of 12-Mpx trail-camera stills would not fit at once)."""
    for p in paths:
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is not None:
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def quantize_int8(fp32_path: Path, out_path: Path, inputs: Sequence[np.ndarray]) -> None:
    """Write the static INT8 (QDQ) quantisation of the export at `fp32_path` to `out_path`.

    Args:
        inputs: pre-processed calibration images, each (1,S,S,3) uint8 (`preprocess`).
    """
    from onnxruntime import quantization as q

    class _Reader(q.CalibrationDataReader):
        """The calibrator runs `_CALIBRATION_CHUNK` images at a time (`set_range`)."""

        def __init__(self) -> None:
            self._next, self._end = 0, len(inputs)

        def __len__(self) -> int:
            return len(inputs)

        def set_range(self, start_index: int, end_index: int) -> None:
            self._next, self._end = start_index, end_index

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self._next >= self._end:
                return None
            self._next += 1
            return {"x": inputs[self._next - 1]}

    chunk = max(d for d in range(1, _CALIBRATION_CHUNK + 1) if len(inputs) % d == 0)
    pre = out_path.with_name(f"pre-{out_path.name}")
    with warnings.catch_warnings(), _quiet_root_logger():
        warnings.simplefilter("ignore")  # onnx / onnxruntime deprecations in the quantiser
        # Shape inference and folding first, so the quantiser sees one Conv per layer.
        q.quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        # reduce_range (7-bit weights): u8 x s8 products saturate on x86 CPUs without VNNI
        # (AVX2); on the shared photos it halved the largest |Δp_bear| (0.39 -> 0.20).
        q.quantize_static(str(pre), str(out_path), _Reader(), quant_format=q.QuantFormat.QDQ,
                          per_channel=True, reduce_range=True,
                          activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
                          calibrate_method=q.CalibrationMethod.Percentile,
                          nodes_to_exclude=_float_tail(pre),
                          extra_options={"CalibStridedMinMax": chunk})
    pre.unlink(missing_ok=True)


def _float_tail(path: Path) -> list[str]:
    """The final classifier (the last Gemm or MatMul) and what follows it (softmax, the bear
    mass), kept in float: quantised, p_bear came in steps of 1/255 (thresholds tied, a zone's
    0.93 unreachable); the classifier is a sliver of the compute."""
    import onnx

    nodes = list(onnx.load(str(path)).graph.node)  # in topological order
    classifiers = [i for i, n in enumerate(nodes) if n.op_type in ("Gemm", "MatMul")]
    softmaxes = [i for i, n in enumerate(nodes) if n.op_type == "Softmax"]
    start = classifiers[-1] if classifiers else (softmaxes[0] if softmaxes else len(nodes))
    return [n.name for n in nodes[start:]]


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Drop the quantiser's INFO lines (one per adjusted weight scale, hundreds), which it logs
    on the root logger; its warnings still pass."""
    root = logging.getLogger()

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING

    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def int8_check(fp32: OnnxClassifier, int8: OnnxClassifier,
               images: Iterable[np.ndarray]) -> Int8Check:
    """|Δp_bear| between the two exports on `images` (HxWx3 uint8 RGB), scored 8 at a time."""
    diffs, it = [], iter(images)
    while chunk := list(itertools.islice(it, 8)):
        diffs.append(np.abs(int8.score_images(chunk) - fp32.score_images(chunk)))
    if not diffs:
        return Int8Check(0, float("nan"), float("nan"), float("nan"))
    d = np.concatenate(diffs).astype(np.float64)
    return Int8Check(int(d.size), float(np.percentile(d, 50)), float(np.percentile(d, 95)),
                     float(d.max()))


def calibrate_int8(fp32: OnnxClassifier, fp32_path: Path, calibration: Sequence[Path], *,
                   out_path: Path, threads: int) -> OnnxClassifier:
    """Quantise the export at `fp32_path` (which `fp32` runs) on the `calibration` images
    (all of them, pre-processed as `fp32` does) into `out_path`, and open it; no check.

    Raises:
        ValueError: none of the images decodes.
    """
    ort = import_onnxruntime(required=True)
    assert ort is not None
    inputs = [fp32.preprocess([img]) for img in read_rgb(calibration)]
    if not inputs:
        raise ValueError(f"none of the {len(calibration)} calibration images decodes")
    quantize_int8(fp32_path, out_path, inputs)
    return OnnxClassifier(session_for(ort, out_path, threads), fp32.spec, fp32.version, "int8",
                          out_path)


def to_int8(fp32: OnnxClassifier, *, fp32_path: Path, key: str, calibration: Sequence[Path],
            threads: int) -> OnnxClassifier | None:
    """The INT8 export of the checked fp32 export at `fp32_path`, quantised on first use on
    `int8_split(calibration)`'s calibration images and cached beside it under `int8_key`; None
    (serve `fp32`, with a warning logged) where quantisation fails or `int8_check` on the check
    images does not pass. A failed check is remembered beside the cache (`.rejected.json`,
    with its figures), so later starts do not calibrate again on the same images."""
    ort = import_onnxruntime(required=True)
    assert ort is not None
    base: dict[str, Any] = {"model_version": fp32.version, "threads": threads}
    t0 = time.perf_counter()
    try:
        calib, check = int8_split(calibration)
        path = fp32_path.with_name(f"{fp32_path.stem}-int8-{int8_key(key, calib)[:16]}.onnx")
        rejected = path.with_suffix(".rejected.json")
        base |= {"int8_path": str(path), "calibration_images": len(calib)}
        if rejected.is_file():
            log.warning("onnx int8 export failed its check earlier; serving fp32 (delete "
                        "rejected_path to calibrate again)", extra={
                            **base, **_read_json(rejected), "rejected_path": str(rejected)})
            return None
        cached = path.is_file()
        if cached:
            served = OnnxClassifier(session_for(ort, path, threads), fp32.spec, fp32.version,
                                    "int8", path)
            t1 = time.perf_counter()
            result = int8_check(fp32, served, read_rgb(check))
        else:
            with tempfile.TemporaryDirectory(dir=path.parent, prefix=".int8-") as tmp:
                tmp_path = Path(tmp) / path.name
                served = calibrate_int8(fp32, fp32_path, calib, out_path=tmp_path,
                                        threads=threads)
                log.info("onnx int8 calibration", extra={
                    **base, "calibrate_s": round(time.perf_counter() - t0, 3)})
                t1 = time.perf_counter()
                result = int8_check(fp32, served, read_rgb(check))
                if result.passed:
                    os.replace(tmp_path, path)  # only a checked export enters the cache
                    served.path = path
                else:
                    rejected.write_text(json.dumps(result.figures()))
    except Exception as exc:  # a quantiser or runtime failure of any kind: fp32 still serves
        log.warning("onnx int8 calibration or load failed; serving fp32", extra={
            **base, "error": f"{type(exc).__name__}: {exc}"})
        return None
    figures = {**base, **result.figures(), "cached": cached,
               "check_s": round(time.perf_counter() - t1, 3)}
    if not result.passed:
        log.warning("onnx int8 export differs from fp32; serving fp32", extra=figures)
        return None
    log.info("onnx int8 check", extra={**figures, "passed": True})
    return served


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
