"""Per-report compliance settings: the ``compliance:`` section of a report config."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Waiver(_Strict):
    """A finding accepted by a reviewer: its stable id and why it is acceptable."""

    finding: Annotated[str, Field(min_length=1)]
    reason: Annotated[str, Field(min_length=1)]


class ComplianceConfig(_Strict):
    """Which regime's rule references apply, rule options, and accepted findings."""

    regime: Literal["us", "uk", "eu"] = "us"
    """Whose regulations the findings cite: US (SEC/FINRA), UK (FCA) or EU (MiFID II/ESMA)."""
    stale_days: Annotated[int, Field(ge=0)] = 10
    """An input whose newest row is older than this many days before the as-of date is stale."""
    waivers: list[Waiver] = Field(default_factory=list)
