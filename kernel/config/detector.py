"""`detector:` — which model scores frames, how they are batched, the k-of-n encounter rule,
the audit sample and the drift watch."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from kernel.config.base import Section
from kernel.config.proposals import ProposalConfig

BUILTIN_VERSION = "builtin-efficientnet-lite0"
"""The version id of the zero-shot built-in model (`detector.builtin`): here, so a command that
only names it (`bearwatch model`) does not load torch."""
SHIPPED_MODEL = "shipped"
"""`detector.model`'s name for the committed model, the file SHIPPED_FILE of the detector
package."""
SHIPPED_FILE = ("weights", "shipped.safetensors")
HEAD_SUFFIX = ".safetensors"
"""A model file with this suffix is a weights-only head (`detector.head`), not a pickle."""
CALIBRATION_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
"""What counts as an image in detector.int8_calibration (the still suffixes ingest reads)."""
MIN_CALIBRATION_IMAGES = 16
"""Fewer images calibrate INT8 ranges too noisily to trust (detector.int8_calibration)."""


def _images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir()
                   if p.suffix.lower() in CALIBRATION_SUFFIXES and p.is_file()),
                  key=lambda p: p.name)


class DetectorConfig(Section):
    model: str = Field(
        SHIPPED_MODEL,
        description="'shipped' (the committed fine-tuned model, detector/weights/MODEL_CARD.md), "
        "'builtin' (the zero-shot EfficientNet-Lite0, ImageNet bears: the baseline), a "
        ".safetensors head from `bearwatch train` or a .pkl exported with learn.export(), by "
        "file name in the models folder.",
    )
    # The loaded model's calibrated threshold, filled in at start-up (`kernel.model_defaults`)
    # where detector.threshold is unset; never read from YAML.
    _model_threshold: float = PrivateAttr(0.5)

    @property
    def default_threshold(self) -> float:
        """detector.threshold, else the model's calibrated threshold (0..1)."""
        return self._model_threshold if self.threshold is None else self.threshold

    def with_model_threshold(self, threshold: float) -> DetectorConfig:
        """A copy whose unset threshold means `threshold` (0..1)."""
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"model threshold must be within 0..1, got {threshold}")
        out = self.model_copy()
        out._model_threshold = threshold
        return out
    model_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$",
        description="Expected sha256 of the .pkl; else the one recorded in model_versions.",
    )
    bear_classes: list[str] = Field(
        default_factory=lambda: ["bear"], min_length=1,
        description="Class names of a fastai Learner that mean 'bear'.",
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    runtime: Literal["auto", "torch", "onnxruntime"] = Field(
        "auto", description="What runs the forward pass: 'torch' (eager PyTorch), "
        "'onnxruntime' (the network exported to ONNX once, cached under storage.root/onnx, "
        "CPU only) or 'auto' (onnxruntime where it is installed and the device is the CPU, "
        "else torch).",
    )
    runtime_threads: int | None = Field(
        None, ge=1, le=1024,
        description="Intra-op threads of the onnxruntime session; unset: one per CPU core.",
    )
    int8_calibration: Path | None = Field(
        None, description="A folder of camera images (no labels needed) whose activation "
        "ranges calibrate an INT8 ONNX Runtime export, served where its p_bear stays close to "
        "the fp32 export's on the folder's other images; unset: fp32.",
    )
    overlap_forward: Literal["auto", "on", "off"] = Field(
        "auto", description="Batching and the forward pass on a thread of their own, one batch "
        "ahead of the per-frame work (encounters, commits, audit draws): 'auto' does so on CUDA, "
        "where the GPU would otherwise wait on Python, and not on the CPU, where both compete "
        "for the same cores.",
    )
    image_size: int = Field(224, ge=32, le=1024, description="Model input side, px.")
    max_batch: int = Field(8, ge=1, le=1024, description="Frames per forward pass at most.")
    max_wait_ms: float = Field(50.0, ge=0, le=10_000, description="Wait to fill a batch, ms.")
    staleness_ms: float = Field(
        5_000.0, gt=0, description="A frame older than this is dropped, not scored late, ms."
    )
    threshold: float | None = Field(
        None, ge=0, le=1, description="Default per-frame bear threshold; unset: the model's "
        "own calibrated one (the shipped model's for a 1 % false-alarm rate on photo sources "
        "it never saw; 0.5 for builtin and .pkl models).",
    )
    k: int = Field(2, ge=1, description="Frames above threshold needed …")
    n: int = Field(3, ge=1, description="… among the last n frames to open an alert.")
    cooldown_s: float = Field(
        120.0, ge=0, description="Quiet time that closes an encounter; one visit = one alert, s."
    )
    frame_images_per_alert: int = Field(
        60, ge=1, le=100_000,
        description="Each counted frame of an alert gets its own JPEG (the Review filmstrip) up "
        "to this many; past it only a frame that beats the peak score is written, so a bear "
        "that stays an hour does not fill the disk.",
    )
    audit_share: float = Field(
        0.01, ge=0, le=1, description="Share of non-alert frames sampled for the audit queue."
    )
    audit_near_threshold_boost: float = Field(
        5.0, ge=1, description="Over-sampling factor for scores near the threshold."
    )
    audit_near_band: float = Field(
        0.15, gt=0, le=1,
        description="A score within this distance of the threshold counts as near it (p_bear).",
    )
    aggregate_flush_s: float = Field(
        60.0, gt=0, description="Per-camera score histograms are written this often, s."
    )
    throughput_log_s: float = Field(
        30.0, gt=0, description="A throughput line (fps, batch size, queue depth) this often, s."
    )
    drift_psi_max: float = Field(
        0.25, gt=0, le=10,
        description="A camera whose recent score or luma histogram has a population stability "
        "index above this against the model's training reference is flagged as drifted.",
    )
    drift_window_hours: float = Field(
        24.0, gt=0, le=24 * 90, description="Recent window the drift watch compares, hours."
    )
    drift_min_frames: int = Field(
        200, ge=1, description="Fewer frames in the window: drift is not assessed (too noisy)."
    )
    proposals: ProposalConfig = Field(default_factory=ProposalConfig)

    def int8_calibration_images(self) -> list[Path]:
        """The images of detector.int8_calibration, sorted by name; [] when it is unset."""
        return [] if self.int8_calibration is None else _images(self.int8_calibration)

    @field_validator("int8_calibration")
    @classmethod
    def _calibration_folder(cls, folder: Path | None) -> Path | None:
        if folder is None:
            return None
        if not folder.is_dir():
            raise ValueError(
                f"detector.int8_calibration: {str(folder)!r} is not a folder; point it at a "
                f"folder of at least {MIN_CALIBRATION_IMAGES} camera images, or unset it to "
                "serve fp32")
        try:
            n = len(_images(folder))
        except OSError as exc:
            raise ValueError(f"detector.int8_calibration: cannot list {str(folder)!r} "
                             f"({exc.strerror}); make it readable, or unset it") from exc
        if n < MIN_CALIBRATION_IMAGES:
            raise ValueError(
                f"detector.int8_calibration: {str(folder)!r} holds {n} image(s) "
                f"({', '.join(sorted(CALIBRATION_SUFFIXES))}), fewer than the "
                f"{MIN_CALIBRATION_IMAGES} that calibrate INT8 ranges; add camera images to it "
                "(64 are used), or unset it to serve fp32")
        return folder

    @model_validator(mode="after")
    def _k_of_n(self) -> DetectorConfig:
        if self.k > self.n:
            raise ValueError(f"k ({self.k}) must be <= n ({self.n})")
        return self

    @model_validator(mode="after")
    def _int8_needs_onnxruntime(self) -> DetectorConfig:
        if self.int8_calibration is not None and self.runtime == "torch":
            raise ValueError(
                "detector.int8_calibration is set but detector.runtime is 'torch'; INT8 is an "
                "ONNX Runtime export: set detector.runtime to 'onnxruntime' or 'auto', or unset "
                "detector.int8_calibration")
        return self
