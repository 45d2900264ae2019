"""The Fact: one named, sourced, dated figure, and the set a build produces.

Every number a reader sees is a Fact (or a declared assumption), so that a
compliance reviewer can trace it to a source file and a date. Facts are built
only through :func:`make_fact` / :func:`null_fact`, which format the display
text with the one formatter, so text, tables and charts cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from reportgen import formatting

Unit = Literal["usd", "percent", "pp", "bps", "ratio", "count", "days"]
UNITS: tuple[str, ...] = ("usd", "percent", "pp", "bps", "ratio", "count", "days")


@dataclass(frozen=True)
class Fact:
    """A figure with its provenance. ``value`` is None exactly when ``reason`` says why."""

    id: str
    value: float | None
    unit: Unit
    display: str
    as_of: date
    source: str
    reason: str | None = None
    #: Formatting style beyond the unit (``"fee"`` prints two decimals); kept so that
    #: derived displays (tables, charts) format the same way.
    style: str | None = None

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"fact {self.id}: unknown unit {self.unit!r}")
        if (self.value is None) != (self.reason is not None):
            raise ValueError(f"fact {self.id}: a null value needs a reason, and only then")
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError(f"fact {self.id}: value {self.value!r} is not finite")

    @property
    def available(self) -> bool:
        return self.value is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "unit": self.unit,
            "display": self.display,
            "as_of": self.as_of.isoformat(),
            "source": self.source,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def join_sources(sources: Iterable[str]) -> str:
    """The contract's source text: distinct, sorted, joined with "; "."""
    return "; ".join(sorted({s for s in sources if s}))


def make_fact(
    fact_id: str,
    value: float,
    unit: Unit,
    *,
    as_of: date,
    sources: Iterable[str],
    style: str | None = None,
) -> Fact:
    """A defined fact; a non-finite value is a bug upstream and raises."""
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"fact {fact_id}: computed a non-finite value {v!r}")
    return Fact(
        id=fact_id,
        value=v,
        unit=unit,
        display=formatting.format_value(v, unit, style),
        as_of=as_of,
        source=join_sources(sources),
        style=style,
    )


def null_fact(
    fact_id: str,
    unit: Unit,
    reason: str,
    *,
    as_of: date,
    sources: Iterable[str],
    style: str | None = None,
) -> Fact:
    """An undefined fact: never filled in, shown as not available, with its reason."""
    return Fact(
        id=fact_id,
        value=None,
        unit=unit,
        display=formatting.NOT_AVAILABLE,
        as_of=as_of,
        source=join_sources(sources),
        reason=reason,
        style=style,
    )


class FactSet(Mapping[str, Fact]):
    """All facts of one build, by id, in a stable (sorted) order."""

    def __init__(self, facts: Iterable[Fact] = ()) -> None:
        self._facts: dict[str, Fact] = {}
        for f in facts:
            self.add(f)

    def add(self, fact: Fact) -> None:
        if fact.id in self._facts:
            raise ValueError(f"fact {fact.id} computed twice")
        self._facts[fact.id] = fact

    def __getitem__(self, key: str) -> Fact:
        return self._facts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._facts))

    def __len__(self) -> int:
        return len(self._facts)

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {k: self._facts[k].to_json() for k in self}
