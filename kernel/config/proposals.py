"""`detector.proposals:` — the regions scored besides the whole frame, so far bears are seen."""

from __future__ import annotations

from pydantic import Field, field_validator

from kernel.config.base import Section


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
        True, description="Score stills where nothing moved (a still alone, or a burst "
        "with no changed region) as tiles too; a tile counts only as high as an overlapping "
        "tile of another scale also scores, and only from tile_threshold up. Worth it with a "
        "model that learned far-bear crops and empty tiles (the shipped one, or one from "
        "`bearwatch train`); the built-in model finds no far bears in tiles.",
    )
    tile_threshold: float = Field(
        0.72, ge=0, le=1,
        description="A tiled still's agreed tile score counts only from this up (below it the "
        "still scores as its whole frame): tiles see ~130 crops of a still, so they cross a "
        "given score more often than a whole frame. 0.72: no false alarm on the 204 shared "
        "no-bear photos tiled with the shipped model (0.70: 1), 31 of 38 trail-camera bears "
        "caught as single stills; for another model, `bearwatch eval --proposals` shows the "
        "false alarms it costs.",
    )
    tile_fractions: list[float] = Field(
        default_factory=lambda: [1 / 3, 1 / 6], min_length=1, max_length=6,
        description="Tile sides, as fractions of a still's shorter side (overlapping square "
        "tiles), also for `bearwatch eval --proposals`; `bearwatch train` cuts its empty-tile "
        "negatives at its own three scales (1/2, 1/3, 1/6), whatever is set here.",
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
