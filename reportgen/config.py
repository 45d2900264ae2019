"""The typed report config, validated with every problem reported at once.

Analysts write these files by hand. Each option is typed and documented (the
docstrings feed the configuration reference); unknown keys are refused rather
than ignored, because a misspelt key silently doing nothing is how a
compliance-relevant setting goes missing. Errors read
``PATH:LINE:COLUMN: key: expected ..., found ...``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reportgen.compliance.settings import ComplianceConfig
from reportgen.errors import InputError, Problem
from reportgen.yaml_source import Location, YamlDocument, read_yaml

_ID = r"^[a-z][a-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FundSelector(_Strict):
    """A fund named by rule, so one config serves any dataset.

    Either ``ticker`` (a fixed fund) or ``select`` with ``role`` and ``by``: the
    theme or benchmark ETF with the largest/smallest value of the per-ETF metric
    ``by`` (``aum``, ``return.12m``, ``return.ytd``, ``flows.ytd``, ``expense_ratio``,
    ...). Ties go to the alphabetically first ticker; ETFs whose metric is not
    available are skipped.

    Or ``subject: true``: the fund the report is about, given when it is built
    (``reportgen batch`` builds one report per ETF of the universe). A config with
    such a selector describes one fund and cannot be built without one; it is built
    from that fund's rows and the indexes' alone, so it has no other selector.
    """

    ticker: str | None = None
    """A fixed fund: its ticker, which must be an ETF of the universe at the as-of date."""
    select: Literal["largest", "smallest"] | None = None
    """Pick a fund by rule instead: the ETF of ``role`` with the largest or smallest ``by``."""
    role: Literal["theme", "benchmark"] = "theme"
    """Which ETFs ``select`` ranks: the theme ETFs or the benchmark ETFs (unused with
    ``ticker``)."""
    by: str | None = None
    """The per-ETF metric ``select`` ranks on, as in the fact id ``etf.TICKER.<by>``
    (``aum``, ``return.12m``, ``expense_ratio``, ...); an unknown metric is an error."""
    rank: Annotated[int, Field(ge=1)] = 1
    """1 for the top fund, 2 for the runner-up, ..."""
    subject: Literal[True] | None = None
    """``true``: the report's subject fund (one report per fund, see ``reportgen batch``)."""

    @model_validator(mode="after")
    def _one_way(self) -> FundSelector:
        if self.subject is not None:
            others = [k for k in ("ticker", "select", "by") if getattr(self, k) is not None]
            if others:
                raise ValueError(
                    "expected exactly one of ticker, select (with by) or subject: true, "
                    f"found subject with {', '.join(others)}"
                )
            return self
        if (self.ticker is None) == (self.select is None):
            raise ValueError("expected either ticker or select (with by), found both or neither")
        if self.select is not None and not self.by:
            raise ValueError("expected by: the metric to rank on, found nothing")
        return self


class Assumption(_Strict):
    """A figure the note prints that does not come from the dataset (a house scenario).

    Declared here with its own source so that compliance can trace it.
    """

    value: float
    """The figure, printed with ``{{ assumption('NAME') }}``; a fraction for ``percent``,
    ``pp`` and ``bps`` (0.05 is 5 %), dollars for ``usd``."""
    unit: Literal["percent", "pp", "usd", "bps", "ratio", "count", "days"]
    """How ``value`` is printed: ``percent`` (0.05 -> 5.0%), ``pp`` (signed, 0.08 -> +8.0 pp),
    ``usd`` ($25.0m), ``bps`` (0.0009 -> 9 bp), ``ratio`` (two decimals), ``count`` (a whole
    number) or ``days`` (one decimal, "days")."""
    source: Annotated[str, Field(min_length=1)]
    """Where the figure comes from; cited in the "Source:" line of each block printing it."""
    description: str = ""
    """What the figure is, for whoever reads or reviews the config; not printed in the note."""


class ScenarioConfig(_Strict):
    """House assumptions behind the stress, liquidity and fee figures.

    Each is printed in the note as a declared assumption citing ``source``
    (``{{ assumption('shock_1') }}``, ``order_1``, ``adv_participation``,
    ``fee_drag_years``), so the compliance check can trace it.
    """

    source: Annotated[str, Field(min_length=1)] = "House scenario"
    """The source cited when a scenario figure is printed with ``assumption(...)``."""
    stress_shocks: Annotated[list[Annotated[float, Field(gt=0, le=1)]], Field(min_length=1)] = [
        0.10,
        0.20,
    ]
    """Falls of a fund's top-10 holdings to stress, as fractions (0.10 = 10 %)."""
    orders_usd: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)] = [25e6, 100e6]
    """Order sizes in US dollars for days-to-trade."""
    adv_participation: Annotated[float, Field(gt=0, le=1)] = 0.20
    """Share of average daily dollar volume an order may take each day."""
    fee_drag_years: Annotated[int, Field(ge=1, le=50)] = 10
    """Holding period, in years, of the fee drag 1 - (1 - expense ratio)^years: the facts
    ``etf.TICKER.fee_drag.Ny`` are computed with N set to this value."""
    fee_drag_investment_usd: Annotated[float, Field(gt=0)] = 10_000.0
    """The illustrative investment the fee drag is described on."""


class ApprovalConfig(_Strict):
    """Who must approve a draft before the approved PDF is written, and where records go."""

    required_approvers: Annotated[int, Field(ge=1, le=5)] = 1
    """Distinct reviewers who must approve the same draft (2 for four eyes)."""
    records: Annotated[str, Field(min_length=1)] = "."
    """Folder of the audit log, relative to the folder holding the output folders
    (``.`` puts ``reportgen-log.jsonl`` beside ``out/2026-03/``, i.e. in ``out/``)."""


class KeyFigureConfig(_Strict):
    """One figure in the key-figures box under the headline."""

    label: Annotated[str, Field(min_length=1)]
    """The figure's name, printed above its value (plain text)."""
    fact: Annotated[str, Field(min_length=1)]
    """The id of the fact whose value is printed (``etf.@NAME.aum``: ``@NAME`` is a fund of
    ``funds``); an unknown id is an error, and the fact's source is cited under the box."""
    note: str | None = None
    """A short line printed under the value (plain text), such as the period it covers."""


class CalloutConfig(_Strict):
    title: Annotated[str, Field(min_length=1)]
    """The heading of the box, printed as written (plain text, no template expressions)."""
    text: str = ""
    """Markdown with Jinja expressions, like a paragraph."""


class TableConfig(_Strict):
    kind: str
    """A table kind from the table registry (see the manual's list)."""
    caption: str | None = None
    """Printed after the exhibit number ("Exhibit 3: ..."), as written; when not set, the
    kind's own caption."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Settings of the kind (``{fund: NAME, count: 10}``); which keys a kind takes is listed
    under Table kinds below, and a wrong option is reported at its line."""


class ChartConfig(_Strict):
    kind: str
    """A chart kind from the chart registry (see the manual's list)."""
    caption: str | None = None
    """Printed after the exhibit number ("Exhibit 3: ..."), as written; when not set, the
    kind's own caption."""
    title: str | None = None
    """A title drawn inside the chart image, above the plot; none when not set."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Settings of the kind (``{fund: NAME}``); which keys a kind takes is listed under
    Chart kinds below, and a wrong option is reported at its line."""


class FaqEntry(_Strict):
    q: Annotated[str, Field(min_length=1)]
    """The question: one line of Markdown with Jinja expressions (no paragraphs or lists)."""
    a: Annotated[str, Field(min_length=1)]
    """The answer: Markdown with Jinja expressions over facts, like a paragraph."""


class BlockConfig(_Strict):
    """One block of a section: exactly one of the keys below."""

    paragraph: str | None = None
    """Markdown with Jinja expressions over facts (trusted analyst text)."""
    paragraph_file: str | None = None
    """A Markdown file, relative to the config's folder, rendered like ``paragraph``."""
    table: TableConfig | None = None
    """A table built from the facts by its ``kind``, numbered as an exhibit with the charts;
    when the dataset has nothing to show, "not available" is printed in its place."""
    chart: ChartConfig | None = None
    """A chart drawn from the facts by its ``kind``, numbered as an exhibit with the tables;
    when the dataset has nothing to show, "not available" is printed in its place."""
    callout: CalloutConfig | None = None
    """A boxed aside: a heading and Markdown text, with the sources of its figures."""
    faq: list[FaqEntry] | None = None
    """Questions and answers, printed as a Q/A list in the order given."""

    @model_validator(mode="after")
    def _exactly_one(self) -> BlockConfig:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            kinds = ", ".join(type(self).model_fields)
            found = ", ".join(given) if given else "none"
            raise ValueError(f"expected exactly one of {kinds}, found {found}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in type(self).model_fields if getattr(self, k) is not None)


class SectionConfig(_Strict):
    id: Annotated[str, Field(pattern=_ID)]
    """Unique in the note: the section's anchor (``#id``) for the table of contents, the
    name compliance findings use (``id:N`` for its blocks), matched by ``forecast_sections``
    and ``risk_sections``."""
    title: Annotated[str, Field(min_length=1)]
    """The heading, printed as written (plain text) and listed in the table of contents."""
    blocks: list[BlockConfig]
    when: str | None = None
    """A condition over facts and funds, as in ``{% if ... %}``
    (``available('etf.@fund.top10_weight')``); the section is left out when it is false."""


class ReportConfig(_Strict):
    """A report: what it is called, who publishes it, and its sections in order."""

    id: Annotated[str, Field(pattern=_ID)]
    """Report id, written to facts.json as ``report``."""
    title: Annotated[str, Field(min_length=1)]
    """The headline: a Jinja template over facts and wording helpers (no Markdown)."""
    subtitle: str | None = None
    """A line under the headline, a Jinja template over facts like ``title``; none when not
    set."""
    byline: str = ""
    """The author line under the headline, printed before the as-of date (plain text)."""
    house: str = ""
    """The publishing house's name, printed on the first page."""
    note_type: str = "Research note"
    """The kind of publication, printed beside ``house`` on the first page and in the
    disclosures' reference line; also the PDF's subject."""
    page_size: Literal["A4", "Letter"] = "A4"
    """The paper size of the PDF's pages: ``A4`` or US ``Letter``."""
    templates: str | None = None
    """A folder of templates searched before the built-in ones, relative to the config."""
    funds: dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")], FundSelector] = Field(
        default_factory=dict
    )
    """Named fund selectors; a name is letters, digits and _ (it is used as ``@name``)."""
    assumptions: dict[str, Assumption] = Field(default_factory=dict)
    scenario: ScenarioConfig = Field(default_factory=ScenarioConfig)
    key_figures: list[KeyFigureConfig] = Field(default_factory=list)
    sections: list[SectionConfig] = Field(default_factory=list)
    """The body of the note, in reading order; each is listed in the table of contents."""
    compliance: ComplianceConfig = Field(default_factory=ComplianceConfig)
    """Regime, rule options and waivers for the compliance checks."""
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    """How many distinct reviewers must approve, and where the audit log goes."""
    disclaimer: str = ""
    """Markdown with Jinja expressions, printed at the end of the note in "Important
    information", below the legends; the compliance checks expect it not to be empty."""
    footer_disclaimer: str = ""
    """Plain text printed in the footer of every PDF page (and at the foot of the HTML): the
    natural place for the past-performance legend needed on each page showing returns."""
    legends: list[str] = Field(default_factory=list)
    """Statements such as the past-performance legend, each printed as a list item in
    "Important information" at the end of the note, above the disclaimer (plain text)."""


def scenario_assumptions(sc: ScenarioConfig) -> dict[str, Assumption]:
    """The scenario's figures as named assumptions authors can print."""
    out = {
        f"shock_{i}": Assumption(value=v, unit="percent", source=sc.source)
        for i, v in enumerate(sc.stress_shocks, 1)
    }
    out.update(
        {
            f"order_{i}": Assumption(value=v, unit="usd", source=sc.source)
            for i, v in enumerate(sc.orders_usd, 1)
        }
    )
    out["adv_participation"] = Assumption(
        value=sc.adv_participation, unit="percent", source=sc.source
    )
    out["fee_drag_years"] = Assumption(value=sc.fee_drag_years, unit="count", source=sc.source)
    out["fee_drag_investment"] = Assumption(
        value=sc.fee_drag_investment_usd, unit="usd", source=sc.source
    )
    return out


class LoadedConfig:
    """A validated config with the positions of its values, for later error messages."""

    def __init__(self, path: Path, model: ReportConfig, source: YamlDocument) -> None:
        self.path = path
        self.model = model
        self.source = source

    def problem(self, loc: Location, message: str) -> Problem:
        return self.source.problem(loc, message)

    @property
    def subject_funds(self) -> list[str]:
        """The fund names whose selector is ``subject: true`` (empty for a report on many)."""
        return [alias for alias, sel in self.model.funds.items() if sel.subject]

    @property
    def needs_subject(self) -> bool:
        """Whether the report describes one fund, named when it is built (``subject: true``)."""
        return bool(self.subject_funds)


_EXPECTED = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected text",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "dict_type": "expected a mapping of keys to values",
    "list_type": "expected a list",
    "model_type": "expected a mapping of keys to values",
    "missing": "expected a value",
    "extra_forbidden": "unknown key",
    "string_too_short": "expected non-empty text",
    "string_pattern_mismatch": "expected an id of lowercase letters, digits, _ and -",
}


_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}


def _found(value: Any, kind: str) -> str:
    if kind == "missing":
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def problems_from_validation(
    exc: ValidationError, doc: YamlDocument, model: type[BaseModel]
) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function")))
        key = ".".join(str(p) for p in loc) or "(top level)"
        kind = err["type"]
        if kind == "literal_error":
            expected = "expected " + err["ctx"]["expected"]
        elif kind == "value_error":
            expected = str(err["ctx"]["error"])
        elif kind in _BOUNDS:
            op, ctx_key = _BOUNDS[kind]
            expected = f"expected a number {op} {err['ctx'][ctx_key]:g}"
        elif kind == "too_short":
            expected = f"expected at least {err['ctx']['min_length']} item(s)"
        elif kind == "too_long":
            expected = f"expected at most {err['ctx']['max_length']} item(s)"
        else:
            expected = _EXPECTED.get(kind, "expected " + err["msg"][0].lower() + err["msg"][1:])
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            message = f"{key}: unknown key" + (f"; expected one of {allowed}" if allowed else "")
            where = (*loc, "__key__")
        elif kind == "value_error":
            message = f"{key}: {expected}" if loc else expected
            where = loc
        else:
            message = f"{key}: {expected}, found {_found(err.get('input'), kind)}"
            where = loc
        out.append(doc.problem(where, message))
    return sorted(set(out), key=lambda p: (p.line or 0, p.char_column or 0, p.message))


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """The keys valid at ``loc``, for "unknown key" messages (best effort)."""
    current: Any = model
    skip_next = False
    for part in loc:
        if isinstance(part, int) or current is None or skip_next:
            skip_next = False
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return ""
        # a mapping of names to models (funds, assumptions): the next part is a name, not a key
        skip_next = getattr(field.annotation, "__origin__", None) is dict
        current = _model_of(field.annotation)
    fields = getattr(current, "model_fields", None)
    return ", ".join(fields) if fields else ""


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def load_config(path: Path) -> LoadedConfig:
    """Read and validate a report config; raise InputError listing every problem."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "expected a mapping of report settings")])
    try:
        model = ReportConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, doc, ReportConfig)) from None
    loaded = LoadedConfig(path, model, doc)
    if loaded.needs_subject:
        _one_fund_only(loaded)
    return loaded


def _one_fund_only(config: LoadedConfig) -> None:
    """A one-fund report is built from its fund's rows and the indexes' alone (that is what
    lets a batch rebuild only the funds whose data changed), so it cannot pick another
    fund: such a selector would silently pick among those rows. Refused here, located."""
    problems = [
        config.problem(
            ("funds", alias),
            f"funds.{alias}: a one-fund report (funds with subject: true) reads only its "
            "fund's and the indexes' rows, so it cannot select another fund; expected "
            "subject: true, found "
            + ("a ticker" if selector.ticker is not None else "a selection by " + str(selector.by)),
        )
        for alias, selector in config.model.funds.items()
        if not selector.subject
    ]
    if problems:
        raise InputError(problems)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
