"""Per-report compliance settings: the ``compliance:`` section of a report config.

Everything here is an *option* of a rule, never a way to switch a rule off: a
finding that a reviewer accepts is waived by its id, with a reason, so the
acceptance is recorded in the config and in ``compliance.json``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Regimes whose regulations the findings cite.
Regime = Literal["us", "uk", "eu"]

#: Input files of a dataset whose staleness can be tuned one by one.
InputName = Literal["prices", "flows", "aum", "spreads", "holdings"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Waiver(_Strict):
    """A finding accepted by a reviewer: its stable id and why it is acceptable."""

    finding: Annotated[str, Field(min_length=1)]
    """The finding's id as printed by ``reportgen check`` (``untraced-number-3f9a2c1b``)."""
    reason: Annotated[str, Field(min_length=1)]
    """Why the finding is acceptable; copied into ``compliance.json``."""


class ComplianceConfig(_Strict):
    """Which regime's rule references apply, rule options, and accepted findings."""

    regime: Regime = "us"
    """Whose regulations the findings cite: US (SEC/FINRA), UK (FCA) or EU (MiFID II/ESMA)."""
    stale_days: Annotated[int, Field(ge=0)] = 10
    """An input whose newest row is older than this many days before the as-of date is stale."""
    stale_days_by_input: dict[InputName, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """Per-file limits replacing ``stale_days`` (quarterly holdings: ``{holdings: 95}``)."""
    lexicon: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")] = "promissory-v1"
    """The wording lexicon (a file in ``reportgen/lexicon/``) the promissory-wording rule uses."""
    forecast_sections: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: ["outlook", "perspective", "bottom-line"]
    )
    """Sections where forecasts are looked for: a section matches when its id equals an entry
    or the slug of its title contains one (``perspective`` matches "Halden Bridge Perspective")."""
    risk_sections: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: ["risk-assessment"]
    )
    """Sections that count as the risk assessment (matched like ``forecast_sections``)."""
    waivers: list[Waiver] = Field(default_factory=list)
    """Accepted findings. A waived finding stays in ``compliance.json``, marked with the reason."""

    @field_validator("lexicon")
    @classmethod
    def _lexicon_exists(cls, name: str) -> str:
        from reportgen.compliance.lexicon import LEXICON_DIR

        if not (LEXICON_DIR / f"{name}.yaml").is_file():
            known = ", ".join(sorted(p.stem for p in LEXICON_DIR.glob("*.yaml")))
            raise ValueError(f"expected a lexicon in reportgen/lexicon/ ({known}), found {name!r}")
        return name
