"""The one validated configuration tree (`config.yaml`), loaded once at start-up.

Every section forbids unknown keys, every field has a default where one makes sense, bounds
and a description. Each stage receives its own sub-model, never the root. Secrets never live in
the file: they come from environment variables named in it (`*_env` fields) or from the
`BEARWATCH_*` overrides.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from kernel.errors import ConfigError
from kernel.records import Stage

ENV_DATABASE_URL = "BEARWATCH_DATABASE_URL"
ENV_ADMIN_PASSWORD = "BEARWATCH_ADMIN_PASSWORD"

Identifier = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$",
          description="lower-case letters, digits, '-' and '_'"),
]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(Section):
    url: str = Field(
        "sqlite:///./var/bearwatch.db",
        description="SQLAlchemy URL. SQLite is the embedded default; production uses "
        "postgresql+psycopg://user@host/db. Put no password here: use password_env or "
        f"{ENV_DATABASE_URL}.",
    )
    password_env: str | None = Field(
        None, description="Environment variable holding the database password, if any."
    )

    @model_validator(mode="after")
    def _no_password_in_file(self) -> DatabaseConfig:
        from sqlalchemy.engine import make_url

        try:
            url = make_url(self.url)
        except Exception as exc:  # sqlalchemy raises ArgumentError; message is enough
            raise ValueError(f"not a database URL ({exc})") from exc
        if url.password:
            raise ValueError(
                "the URL holds a password; remove it and set password_env or "
                f"{ENV_DATABASE_URL} instead"
            )
        return self

    def resolved_url(self) -> str:
        """The URL to connect with: the env override, else the file's URL plus the secret."""
        from sqlalchemy.engine import make_url

        override = os.environ.get(ENV_DATABASE_URL)
        if override:
            return override
        url = make_url(self.url)
        if self.password_env and os.environ.get(self.password_env):
            url = url.set(password=os.environ[self.password_env])
        return url.render_as_string(hide_password=False)


class StorageConfig(Section):
    root: Path = Field(Path("./var"), description="Folder for snapshots, spool and models.")

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def spool_dir(self) -> Path:
        return self.root / "spool"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"


class CameraConfig(Section):
    id: Identifier
    name: str = Field("", description="Human name shown to operators.")
    zone: Identifier = Field(description="Id of the zone this camera belongs to.")
    source: str = Field(
        min_length=1,
        description="rtsp://…, http(s)://…, a video file, a folder, a device (/dev/video0 or 0), "
        "or demo: (synthetic scene)",
    )
    fps: float = Field(1.0, gt=0, le=60, description="Frames sampled per second.")
    latitude: float | None = Field(None, ge=-90, le=90, description="Degrees, for sun altitude.")
    longitude: float | None = Field(None, ge=-180, le=180, description="Degrees.")
    motion_gating: bool = Field(True, description="Skip frames of a static scene.")
    motion_threshold: float = Field(
        0.01, ge=0, le=1, description="Share of changed pixels below which a frame is static."
    )
    keepalive_s: float = Field(
        30.0, gt=0, description="A gated camera still sends one frame this often, s."
    )
    enabled: bool = True
    k: int | None = Field(
        None, ge=1, description="Override detector.k for this camera (a camera trap that sends "
        "single stills wants k: 1, n: 1)."
    )
    n: int | None = Field(None, ge=1, description="Override detector.n for this camera.")
    burst_gap_s: float | None = Field(
        None, ge=0, le=3600, description="Override ingest.burst_gap_s for this camera trap, s "
        "(a trap that shoots one still a minute while triggered wants about 90)."
    )

    @model_validator(mode="after")
    def _coordinates_together(self) -> CameraConfig:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude must be given together (or neither)")
        if (self.k is None) != (self.n is None):
            raise ValueError("k and n must be given together (or neither)")
        if self.k is not None and self.n is not None and self.k > self.n:
            raise ValueError(f"k ({self.k}) must be <= n ({self.n})")
        return self


class ZoneConfig(Section):
    id: Identifier
    name: str = ""
    # `pilot` is allowed for a new zone so the demo can show confirmation-gated notification
    # from the first start; `active` never: a zone only earns expansion through its gates.
    stage: Literal["off", "shadow", "pilot"] = Field(
        "shadow", description="Stage a new zone starts in (off, shadow or pilot); later "
        "changes go through the rollout controller or an admin."
    )
    threshold: float | None = Field(
        None, ge=0, le=1, description="p_bear to count a frame as a bear; default detector's."
    )
    high_confidence_threshold: float = Field(
        0.9, ge=0, le=1, description="In pilot, an alert at or above this notifies at once."
    )
    manual_promotion: bool = Field(
        False, description="Only recommend promotion; an admin promotes by hand."
    )
    kill_to: Literal["off", "shadow"] = Field("off", description="Stage the kill switch sets.")

    @property
    def initial_stage(self) -> Stage:
        return Stage(self.stage)


class IngestConfig(Section):
    queue_size: int = Field(64, ge=1, le=100_000, description="Frames waiting for the detector.")
    low_res_width: int = Field(640, ge=1, description="Frames narrower than this are low-res.")
    low_res_height: int = Field(360, ge=1, description="Frames shorter than this are low-res.")
    night_luma_max: float = Field(60.0, ge=0, le=255, description="Image test: mean luma below.")
    infrared_chroma_max: float = Field(
        4.0, ge=0, le=255, description="Mean |chroma| below this is an infrared frame."
    )
    stale_after_intervals: float = Field(
        5.0, gt=1, description="No frame for this many sample intervals: stale."
    )
    offline_after_s: float = Field(30.0, gt=0, description="No frame for this long: offline, s.")
    backoff_initial_s: float = Field(1.0, gt=0, description="First reconnect delay, s.")
    backoff_max_s: float = Field(60.0, gt=0, description="Reconnect delay cap, s.")
    health_interval_s: float = Field(5.0, gt=0, description="Health written this often, s.")
    max_width: int = Field(
        1280, ge=64, description="Frames wider than this are downscaled at ingest."
    )
    burst_gap_s: float = Field(
        10.0, ge=0, le=3600,
        description="A folder camera's stills whose capture times (EXIF, else file time) "
        "follow each other by at most this many seconds are one trigger's burst; each still "
        "is compared with the rest of its burst and the detector scores where it changed, s "
        "(0: only stills stamped the same second).",
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> IngestConfig:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be >= backoff_initial_s")
        return self


class ProposalConfig(Section):
    """Regions scored besides the whole frame, so a bear of a few dozen px is seen at a scale
    the model can read (issue 7); p_bear is the highest of the whole frame and its regions."""

    motion_regions: int = Field(
        4, ge=0, le=64,
        description="Regions where something moved scored besides the whole frame: moving "
        "regions of a stream frame (largest first), changed regions of a camera-trap still "
        "within its burst (strongest first); 0 = none.",
    )
    context: float = Field(
        4.0, ge=1, le=16,
        description="A moving region is scored as a square crop this many times its longer "
        "side (training crops show bears at 4 and 8 times their size).",
    )
    min_crop_px: int = Field(
        96, ge=16, le=4096, description="Smallest side of a moving region's crop, px."
    )
    tile_stills: bool = Field(
        False, description="Score stills where nothing moved (a still alone, or a burst "
        "with no changed region) as tiles too; a tile counts only as high as an overlapping "
        "tile also scores. Worth it with a model from `bearwatch train` (it learns far-bear "
        "crops and empty tiles), at the threshold `bearwatch eval --proposals` gives; the built-in "
        "model finds no far bears in tiles and gains false alarms.",
    )
    tile_fractions: list[float] = Field(
        default_factory=lambda: [0.5, 1 / 3, 1 / 6], min_length=1, max_length=6,
        description="Tile sides, as fractions of a still's shorter side (overlapping square "
        "tiles); also the scales of `bearwatch train`'s empty-tile negatives and of `bearwatch "
        "eval --proposals`.",
    )
    tile_overlap: float = Field(
        0.33, ge=0, lt=1, description="Share of a tile that overlaps its neighbour."
    )

    @field_validator("tile_fractions")
    @classmethod
    def _fractions(cls, value: list[float]) -> list[float]:
        bad = [f for f in value if not 0 < f <= 1]
        if bad:
            raise ValueError(f"tile fractions must be within (0, 1], got {bad}")
        return value


SHIPPED_MODEL = "shipped"
"""`detector.model`'s name for the committed model, the file SHIPPED_FILE of the detector
package."""
SHIPPED_FILE = ("weights", "shipped.safetensors")
HEAD_SUFFIX = ".safetensors"
"""A model file with this suffix is a weights-only head (`detector.head`), not a pickle."""


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

    @model_validator(mode="after")
    def _k_of_n(self) -> DetectorConfig:
        if self.k > self.n:
            raise ValueError(f"k ({self.k}) must be <= n ({self.n})")
        return self


class GateConfig(Section):
    min_reviewed_alerts: int = Field(20, ge=1, description="Fewer: the gate is inconclusive.")
    min_days_in_stage: float = Field(7.0, ge=0, description="Days before a promotion.")
    max_false_alert_rate: float = Field(0.5, ge=0, le=1)
    max_missed_alert_rate: float = Field(0.1, ge=0, le=1)
    max_night_false_alert_rate: float = Field(0.6, ge=0, le=1)
    block_on_drift: bool = Field(
        True, description="A camera of the zone flagged by the drift watch (detector.drift_*) "
        "holds promotion: its rates come from data the model was not trained on. Never rolls "
        "a zone back.",
    )
    dry_run: list[Literal["false_alert", "missed_alert", "night_false_alert", "drift"]] = Field(
        default_factory=list, description="Gates measured and shown but never acted on."
    )


class ModelPromotionConfig(Section):
    """When the controller makes a zone's shadow model version live (issue 7). Its figures are
    the shadow-vs-live counts over frames; rates pass on their Wilson 95 % bound, as gates do."""

    enabled: bool = Field(
        False, description="The controller promotes a zone's shadow version when every gate "
        "passes; off: only an admin promotes (`bearwatch model promote`, Rollout page).",
    )
    window_days: float = Field(
        7.0, gt=0, description="Frames compared over this many days, never before the zone's "
        "last model change (earlier counts compared against another live model).",
    )
    min_frames: int = Field(
        2000, ge=1, description="Fewer frames compared (day and night together): hold.",
    )
    min_agreement: float = Field(
        0.98, ge=0, le=1, description="Share of frames on the same side of the threshold; "
        "passes when its 95 % lower bound is at or above this.",
    )
    max_shadow_only_rate: float = Field(
        0.01, ge=0, le=1, description="Frames the shadow scores above the threshold and live "
        "below (alerts it would add), per frame; passes when the 95 % upper bound is within.",
    )
    max_live_only_rate: float = Field(
        0.005, ge=0, le=1, description="Frames live scores above the threshold and the shadow "
        "below (bears it could miss), per frame; passes when the 95 % upper bound is within.",
    )


class RolloutConfig(Section):
    interval_minutes: float = Field(5.0, gt=0, description="Controller runs this often.")
    window_days: float = Field(14.0, gt=0, description="Rates are computed over this window.")
    hold_hours: float = Field(24.0, ge=0, description="All gates pass this long to promote.")
    failure_limit: int = Field(2, ge=1, description="Consecutive failed evaluations to roll back.")
    gates: GateConfig = GateConfig()
    model_promotion: ModelPromotionConfig = ModelPromotionConfig()


class MqttConfig(Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    topic_prefix: str = Field("bearwatch", min_length=1)
    qos: Literal[0, 1, 2] = 1
    username_env: str | None = None
    password_env: str | None = None


class WebhookConfig(Section):
    url: str = Field(pattern=r"^https?://")
    secret_env: str | None = Field(
        None, description="Environment variable holding the HMAC-SHA256 signing secret."
    )


class NotifierConfig(Section):
    mqtt: MqttConfig = MqttConfig()
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    apprise_urls_env: list[str] = Field(
        default_factory=list,
        description="Environment variables each holding one apprise URL (they embed secrets).",
    )
    max_attempts: int = Field(10, ge=1, description="Outbox retries before giving up.")
    retry_initial_s: float = Field(2.0, gt=0)
    retry_max_s: float = Field(300.0, gt=0)


class ReviewUIConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=1, le=65535)
    lease_seconds: float = Field(120.0, gt=0, description="How long a claim holds an alert.")
    refresh_seconds: float = Field(3.0, gt=0, le=5, description="Live queue refresh, s.")
    timezone: str = Field("UTC", description="Time zone for local times shown to operators.")


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "text"


LITE0_ARCHITECTURE = "efficientnet_lite0"
# torchvision models whose body fastai's vision_learner can cut and give a head, checked by
# tests/detector/test_training_architectures.py; kept here so the config check needs no torch.
TORCHVISION_ARCHITECTURES = (
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "densenet121", "densenet161", "densenet169", "densenet201",
    "squeezenet1_0", "squeezenet1_1", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "alexnet",
    "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "efficientnet_b1",
    "efficientnet_b2", "efficientnet_b3", "convnext_tiny", "regnet_y_400mf",
)


class TrainingConfig(Section):
    """Defaults of `bearwatch train`; its command-line flags override them."""

    recipe: Literal["default", "fastai"] = Field(
        "default", description="default: the shipped recipe, a regularised head on the frozen "
        "ImageNet EfficientNet-Lite0 stacked with its zero-shot bear score (seconds, weights "
        "only, beat fastai fine-tuning on photo sources never seen in training); fastai: "
        "fine-tune the network with fastai (the settings below, minutes).",
    )
    head_c: float = Field(
        0.001, gt=0, le=100, description="Inverse L2 strength of the default recipe's head: "
        "smaller stays closer to the zero-shot model (0.001 tied it on every held-out source "
        "and cut night false alarms; 0.003 and more lost bears on new sources).",
    )
    false_alarm_budget: float = Field(
        0.01, gt=0, lt=1, description="The default recipe's threshold is calibrated for this "
        "false-alarm rate on the out-of-fold (never-seen-source) no-bear frames.",
    )

    architecture: str = Field(
        LITE0_ARCHITECTURE,
        description=f"{LITE0_ARCHITECTURE!r} (ImageNet weights ship with the package) or a "
        "torchvision model trained through fastai's vision_learner: "
        f"{', '.join(TORCHVISION_ARCHITECTURES)}.",
    )
    pretrained: bool = Field(
        True, description="Start from ImageNet weights. A torchvision model's weights file "
        "must already be in torch hub's cache (nothing is downloaded); false trains from "
        "random weights.",
    )
    head: Literal["bear_mass", "new"] = Field(
        "new", description="new: a fresh two-class head (learns far trail-camera bears and "
        "empty tiles best on the shared photos); bear_mass: start from the built-in Lite0 "
        "model's ImageNet bear classes (efficientnet_lite0, pretrained only).",
    )
    epochs: int = Field(5, ge=1, le=1000, description="Epochs with the whole network unfrozen.")
    freeze_epochs: int = Field(1, ge=0, le=1000, description="Head-only epochs before those.")
    size: int = Field(160, ge=32, le=1024, description="Training crop side, px.")
    batch_size: int = Field(16, ge=2, le=4096, description="Images per batch (batch norm: >= 2).")
    valid_pct: float = Field(0.2, gt=0, lt=1, description="Share held out for validation.")
    infrared_prob: float = Field(
        0.3, ge=0, le=1, description="Share of training images turned into infrared-like "
        "greyscale, so day photos teach night too (night bears are scarce).",
    )
    max_lighting: float = Field(
        0.4, ge=0, lt=1, description="Brightness/contrast change of aug_transforms, 0..1.",
    )
    negative_tiles: int = Field(
        3, ge=0, le=32, description="Empty tiles cut from each training no-bear image (at "
        "detector.proposals' tile scales) as hard negatives, so tiling a still does not turn "
        "into false alarms; 0 = none.",
    )

    @model_validator(mode="after")
    def _known_architecture(self) -> TrainingConfig:
        if self.architecture not in (LITE0_ARCHITECTURE, *TORCHVISION_ARCHITECTURES):
            raise ValueError(
                f"architecture {self.architecture!r} is not supported; use "
                f"{LITE0_ARCHITECTURE!r} or a torchvision model name: "
                f"{', '.join(TORCHVISION_ARCHITECTURES)}"
            )
        if self.head == "bear_mass" and (self.architecture != LITE0_ARCHITECTURE
                                         or not self.pretrained):
            raise ValueError(
                f"head 'bear_mass' starts from the pretrained {LITE0_ARCHITECTURE} ImageNet "
                f"classifier, so it cannot go with architecture {self.architecture!r} and "
                f"pretrained {str(self.pretrained).lower()}; set head: new"
            )
        return self


class BearwatchConfig(Section):
    """The root of `config.yaml`."""

    database: DatabaseConfig = DatabaseConfig()
    storage: StorageConfig = StorageConfig()
    cameras: list[CameraConfig] = Field(default_factory=list)
    zones: list[ZoneConfig] = Field(default_factory=list)
    ingest: IngestConfig = IngestConfig()
    detector: DetectorConfig = DetectorConfig()
    rollout: RolloutConfig = RolloutConfig()
    notifier: NotifierConfig = NotifierConfig()
    review_ui: ReviewUIConfig = ReviewUIConfig()
    logging: LoggingConfig = LoggingConfig()
    training: TrainingConfig = TrainingConfig()

    @model_validator(mode="after")
    def _references(self) -> BearwatchConfig:
        problems: list[str] = []
        zone_ids = [z.id for z in self.zones]
        for dup in sorted({z for z in zone_ids if zone_ids.count(z) > 1}):
            problems.append(f"zone id {dup!r} is used twice")
        cam_ids = [c.id for c in self.cameras]
        for dup in sorted({c for c in cam_ids if cam_ids.count(c) > 1}):
            problems.append(f"camera id {dup!r} is used twice")
        for i, cam in enumerate(self.cameras):
            if cam.zone not in zone_ids:
                problems.append(
                    f"cameras[{i}].zone {cam.zone!r} is not a zone; add it under zones: "
                    f"or use one of {zone_ids}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def zone(self, zone_id: str) -> ZoneConfig:
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(zone_id)

    def zone_threshold(self, zone_id: str) -> float:
        t = self.zone(zone_id).threshold
        return self.detector.default_threshold if t is None else t


# ---- loading and error reporting -------------------------------------------------------------

_OPS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(err: dict) -> str:  # type: ignore[type-arg]  # pydantic's ErrorDetails
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind in _OPS:
        bound = next(iter(ctx.values()))
        return f"must be {_OPS[kind]} {bound}, got {value!r}"
    if kind == "extra_forbidden":
        return "unknown key; remove it or check its spelling (see config.yaml in the repo)"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if kind == "value_error":
        return msg
    return f"{msg[:1].lower()}{msg[1:]}, got {value!r}"


def _line_index(text: str) -> dict[tuple[int | str, ...], int]:
    """Map each key path of the YAML document to its 1-based line number."""
    index: dict[tuple[int | str, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[int | str, ...]) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, val in node.value:
                kpath = (*path, str(key.value))
                index[kpath] = key.start_mark.line + 1
                walk(val, kpath)
                index[kpath] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return index


def _nearest_line(index: dict[tuple[int | str, ...], int], loc: tuple[int | str, ...]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in index:
            return index[loc[:cut]]
    return None


def parse_config(text: str, source: str = "config.yaml") -> BearwatchConfig:
    """Validate YAML text into a `BearwatchConfig`.

    Raises:
        ConfigError: with one line per problem, `key.path: what is wrong (line N)`.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [f"YAML syntax error at {where}: {problem}"]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, [f"(top level): must be a mapping of sections, got {type(data).__name__}"])
    try:
        return BearwatchConfig.model_validate(data)
    except ValidationError as exc:
        lines = _line_index(text)
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _nearest_line(lines, loc)
            suffix = f" (line {line})" if line else ""
            problems.append(f"{_format_loc(loc)}: {_describe(dict(err))}{suffix}")
        raise ConfigError(source, problems) from exc


def load_config(path: str | Path) -> BearwatchConfig:
    """Read and validate a config file.

    Raises:
        ConfigError: the file is missing, unreadable or invalid.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(str(p), [f"{p}: file not found; pass --config PATH or copy config.yaml from the repository"]) from exc
    except OSError as exc:
        raise ConfigError(str(p), [f"{p}: cannot read ({exc.strerror})"]) from exc
    return parse_config(text, str(p))
