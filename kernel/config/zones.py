"""`zones:` — groups of cameras that move through the rollout stages together."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kernel.config.base import Identifier, Section
from kernel.records import Stage


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

    def threshold_or(self, default: float) -> float:
        """This zone's threshold, else `default` (the detector's; p_bear 0..1)."""
        return default if self.threshold is None else self.threshold
