"""The document: what the reader will see, before any HTML exists.

Stages before this one (facts, config) decide *what* is said; templates decide
only *how it looks*. A template never sees a DataFrame or computes a number: it
walks these frozen dataclasses. Text that came from analysts' commentary is
already rendered to safe HTML (``Markup``) with every printed fact wrapped in a
``<span class="fact" data-fact="ID">``, so the compliance stage can tell traced
figures from untraced ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from markupsafe import Markup

from reportgen.formatting import format_date_short


@dataclass(frozen=True)
class Citation:
    """Where the figures of one block come from: the sources and the newest as-of date."""

    sources: tuple[str, ...]
    as_of: date | None

    @property
    def text(self) -> str:
        srcs = "; ".join(self.sources) if self.sources else "reportgen"
        when = f", as of {format_date_short(self.as_of)}" if self.as_of else ""
        return f"Source: {srcs}{when}"


@dataclass(frozen=True)
class Paragraph:
    html: Markup
    citation: Citation | None = None
    kind: Literal["paragraph"] = "paragraph"


@dataclass(frozen=True)
class KeyFigure:
    """One figure of a callout box: a label and the fact printed under it."""

    label: str
    display: str
    fact_id: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Callout:
    title: str
    figures: tuple[KeyFigure, ...] = ()
    html: Markup | None = None
    citation: Citation | None = None
    kind: Literal["callout"] = "callout"


@dataclass(frozen=True)
class Cell:
    """A table cell. ``fact_id`` marks a printed fact; ``numeric`` right-aligns it."""

    text: str
    fact_id: str | None = None
    numeric: bool = False
    footnote: str | None = None  # marker such as "a" pointing at Table.notes
    #: a value from the dataset (ticker, name, issuer, sector): printed as data, never a figure
    data: bool = False
    #: rendered header text with its marks (an assumption printed in a column title)
    html: Markup | None = None


@dataclass(frozen=True)
class Table:
    id: str
    caption: str
    columns: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()
    citation: Citation | None = None
    kind: Literal["table"] = "table"


@dataclass(frozen=True)
class Chart:
    id: str
    caption: str
    svg: Markup
    alt: str
    citation: Citation | None = None
    kind: Literal["chart"] = "chart"
    #: "line", "bar", "hbar" or "scatter", and the drawn value-axis range (for compliance)
    chart_type: str = "line"
    value_range: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class FaqItem:
    question: Markup
    answer: Markup


@dataclass(frozen=True)
class Faq:
    items: tuple[FaqItem, ...]
    kind: Literal["faq"] = "faq"


Block = Paragraph | Callout | Table | Chart | Faq


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    report_id: str
    title: Markup  # the headline, rendered from the title template (facts marked)
    byline: str
    house: str
    as_of: date
    page_size: Literal["A4", "Letter"]
    sections: tuple[Section, ...]
    disclaimer: Markup
    #: one-line disclaimer for the page footer
    footer_disclaimer: str
    label: str | None = None
    subtitle: Markup | None = None
    key_figures: Callout | None = None
    legends: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
