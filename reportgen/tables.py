"""The table kinds a config can ask for, each built from facts only.

A table kind is a function (context, config) -> Table. Every number in a table
is a fact's display, marked with its id; an undefined figure prints "n/a" with
a footnote giving the reason; a figure that does not exist for a row (beta of
an index) prints "–".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reportgen import formatting
from reportgen.compose_context import (
    NOT_APPLICABLE,
    ComposeContext,
    Tracker,
    option_choice,
    option_int,
)
from reportgen.config import TableConfig
from reportgen.document import Cell, Table
from reportgen.metrics import order_label, shock_label
from reportgen.metrics_base import performance_quarter_end
from reportgen.metrics_extra import exposure_sector_names

TableBuilder = Callable[[ComposeContext, TableConfig], Table]

ROLE_NAMES = {"theme": "Theme", "benchmark": "Benchmark"}
_SCALES = {"bn": 1e9, "m": 1e6, "k": 1e3}


def _header(*names: str) -> tuple[Cell, ...]:
    return tuple(Cell(n, numeric=i > 0) for i, n in enumerate(names))


def _table(
    table_id: str,
    cfg: TableConfig,
    default_caption: str,
    columns: tuple[Cell, ...],
    rows: Sequence[tuple[Cell, ...]],
    tracker: Tracker,
    notes: Sequence[str] = (),
) -> Table:
    return Table(
        id=table_id,
        caption=cfg.caption or default_caption,
        columns=columns,
        rows=tuple(rows),
        notes=(*notes, *tracker.note_lines()),
        citation=tracker.citation(),
    )


def _fund_rows(
    ctx: ComposeContext, roles: Sequence[str], metrics: Sequence[str], tracker: Tracker
) -> list[tuple[Cell, ...]]:
    rows = []
    for role in roles:
        for t in ctx.etfs(role):
            cells = [Cell(t, data=True)] + [tracker.cell(ctx, f"etf.{t}.{m}") for m in metrics]
            rows.append(tuple(cells))
    return rows


def _index_rows(
    ctx: ComposeContext, metrics: Sequence[str | None], tracker: Tracker
) -> list[tuple[Cell, ...]]:
    rows = []
    for role in ("theme", "benchmark"):
        _, name = ctx.indexes[role]
        cells = [Cell(name, data=True)]
        for m in metrics:
            cells.append(
                tracker.cell(ctx, f"index.{role}.{m}") if m else Cell(NOT_APPLICABLE, numeric=True)
            )
        rows.append(tuple(cells))
    return rows


def _suffixes(ctx: ComposeContext, marker: str) -> list[str]:
    """The distinct last parts of fact ids containing ``marker`` (".stress.top10.")."""
    return sorted({k.rsplit(".", 1)[1] for k in ctx.facts if marker in k})


def _assumption_header(ctx: ComposeContext, text: str, prefix: str, label: str) -> Cell:
    """A column title that prints a scenario figure, marked as that declared assumption."""
    for name, a in ctx.authoring.assumptions.items():
        if not name.startswith(prefix):
            continue
        matches = shock_label(a.value) if prefix == "shock_" else order_label(a.value)
        if matches == label:
            html, _ = ctx.authoring.render_markdown(
                f"{text}{{{{ assumption('{name}') }}}}", inline=True
            )
            return Cell(html.striptags(), numeric=True, html=html)
    return Cell(f"{text}{label}", numeric=True)  # not from the scenario: untraced, and flagged


def _order_size(label: str) -> float:
    """Inverse of metrics.order_label: "25m" -> 25e6, "1_5bn" -> 1.5e9."""
    for suffix, scale in _SCALES.items():
        if label.endswith(suffix):
            return float(label[: -len(suffix)].replace("_", ".")) * scale
    return float(label.replace("_", "."))


def etf_performance(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """Every ETF of the universe: returns, risk, cost, size and liquidity, with the indexes."""
    tracker = Tracker()
    metrics = (
        "return.ytd",
        "return.12m",
        "volatility.12m",
        "drawdown.12m",
        "beta.12m",
        "expense_ratio",
        "spread",
        "aum",
        "adv",
    )
    columns = _header(
        "Fund", "YTD", "12m", "Vol. 12m", "Max DD 12m", "Beta", "Exp. ratio", "Spread", "AUM", "ADV"
    )
    rows = _fund_rows(ctx, ("theme", "benchmark"), metrics, tracker)
    index_metrics = ("return.ytd", "return.12m", "volatility.12m", "drawdown.12m")
    rows += _index_rows(ctx, (*index_metrics, None, None, None, None, None), tracker)
    notes = (
        "Theme ETFs first, then benchmark ETFs, each by AUM. Returns are total returns; "
        "volatility is annualized from daily returns; beta is against the benchmark index; "
        "spread is the median quoted bid-ask spread over the last 21 trading days; ADV is "
        "average daily dollar volume over the last 21 trading days. – : not applicable.",
    )
    caption = "ETF returns, risk, cost and liquidity"
    return _table("etf-performance", cfg, caption, columns, rows, tracker, notes)


def fund_list(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """Who the funds are: name, issuer, role and cost."""
    tracker = Tracker()
    rows = []
    for role in ("theme", "benchmark"):
        for t in ctx.etfs(role):
            ref = ctx.refs[t]
            rows.append(
                (
                    Cell(t, data=True),
                    Cell(ref.name, data=True),
                    Cell(ref.issuer or formatting.NOT_AVAILABLE, data=ref.issuer is not None),
                    Cell(ROLE_NAMES[role]),
                    tracker.cell(ctx, f"etf.{t}.expense_ratio"),
                    tracker.cell(ctx, f"etf.{t}.aum"),
                )
            )
    columns = (
        Cell("Ticker"),
        Cell("Fund"),
        Cell("Issuer"),
        Cell("Role"),
        Cell("Exp. ratio", numeric=True),
        Cell("AUM", numeric=True),
    )
    return _table("fund-list", cfg, "Funds covered", columns, rows, tracker)


def largest_funds(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """The largest theme ETFs by AUM with their flows and spreads (``options: {count: 5}``)."""
    tracker = Tracker()
    count = option_int(cfg.options, "count", 5)
    rows = []
    for t in ctx.etfs("theme")[:count]:
        rows.append(
            (
                Cell(t, data=True),
                Cell(ctx.refs[t].name, data=True),
                tracker.cell(ctx, f"etf.{t}.aum"),
                tracker.cell(ctx, f"etf.{t}.flows.ytd"),
                tracker.cell(ctx, f"etf.{t}.flows.month"),
                tracker.cell(ctx, f"etf.{t}.spread"),
            )
        )
    columns = (
        Cell("Ticker"),
        Cell("Fund"),
        Cell("AUM", numeric=True),
        Cell("Flows YTD", numeric=True),
        Cell("Flows month", numeric=True),
        Cell("Spread", numeric=True),
    )
    return _table("largest-funds", cfg, "Largest theme ETFs by assets", columns, rows, tracker)


def fees(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """Expense ratios and what they cost over ten years, theme against benchmark ETFs."""
    tracker = Tracker()
    rows = _fund_rows(ctx, ("theme", "benchmark"), ("expense_ratio", "fee_drag.10y"), tracker)
    columns = _header("Fund", "Exp. ratio", "10-year fee drag")
    notes = (
        "Fee drag: the share of an investment lost to fees when the expense ratio is charged "
        "at a constant rate in every year of the period, before any return.",
    )
    return _table("fees", cfg, "Fees and ten-year fee drag", columns, rows, tracker, notes)


def concentration(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """Top-10 weight per theme fund and the loss if those ten holdings fall by each shock."""
    tracker = Tracker()
    shocks = sorted(_suffixes(ctx, ".stress.top10."), key=int)
    rows = []
    for t in ctx.etfs("theme"):
        if f"etf.{t}.top10_weight" not in ctx.facts:
            continue
        cells = [Cell(t, data=True), tracker.cell(ctx, f"etf.{t}.top10_weight")]
        cells += [tracker.cell(ctx, f"etf.{t}.stress.top10.{s}") for s in shocks]
        rows.append(tuple(cells))
    headers = [
        _assumption_header(ctx, "Loss if top-10 holdings fall ", "shock_", s) for s in shocks
    ]
    columns = (*_header("Fund", "Top-10 weight"), *headers)
    without = [t for t in ctx.etfs("theme") if f"etf.{t}.top10_weight" not in ctx.facts]
    notes = ["Loss: top-10 weight times the shock, other holdings unchanged (house scenario)."]
    if without:
        notes.append("No holdings reported for: " + ", ".join(without) + ".")
    caption = "Concentration and stress losses"
    return _table("concentration", cfg, caption, columns, rows, tracker, notes)


def liquidity(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """Average daily dollar volume, spread and days to trade orders at a share of ADV."""
    tracker = Tracker()
    orders = sorted(_suffixes(ctx, ".days_to_trade."), key=_order_size)
    metrics = ("adv", "spread", *(f"days_to_trade.{o}" for o in orders))
    rows = _fund_rows(ctx, ("theme", "benchmark"), metrics, tracker)
    headers = [_assumption_header(ctx, "Days to trade ", "order_", o) for o in orders]
    columns = (*_header("Fund", "ADV", "Spread"), *headers)
    return _table("liquidity", cfg, "Liquidity and days to trade", columns, rows, tracker)


def exposure(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """AUM-weighted exposure of theme ETFs by bucket (or sector, ``options: {by: sector}``)."""
    tracker = Tracker()
    by = option_choice(cfg.options, "by", ("bucket", "sector"))
    prefix = f"theme.exposure.{by}."
    ids = sorted(
        (k for k in ctx.facts if k.startswith(prefix)),
        key=lambda k: (-(ctx.facts[k].value or 0.0), k),
    )
    names = exposure_names(ctx, by)
    rows = [(Cell(names.get(k, k[len(prefix) :]), data=True), tracker.cell(ctx, k)) for k in ids]
    rows.append((Cell("Theme AUM covered"), tracker.cell(ctx, "theme.exposure.covered_aum")))
    columns = _header(by.capitalize(), "Weight")
    caption = f"Theme exposure by {by}, AUM-weighted"
    return _table(f"exposure-{by}", cfg, caption, columns, rows, tracker)


def exposure_names(ctx: ComposeContext, by: str) -> dict[str, str]:
    """Fact id -> the bucket or sector name as the data spells it."""
    if by == "sector":
        return {
            f"theme.exposure.sector.{slug}": name
            for slug, name in exposure_sector_names(ctx.dataset, ctx.as_of).items()
        }
    return {
        f"theme.exposure.bucket.{b}": b.capitalize()
        for b in ("infrastructure", "platform", "application")
    }


def standardized_performance(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """Annualized 1-, 5- and 10-year and since-inception returns to the last quarter-end."""
    tracker = Tracker()
    periods = ("perf.1y", "perf.5y", "perf.10y", "perf.since_inception")
    rows = _fund_rows(ctx, ("theme", "benchmark"), (*periods, "expense_ratio"), tracker)
    rows += _index_rows(ctx, (*periods, None), tracker)
    q = performance_quarter_end(ctx.as_of)
    columns = _header("Fund", "1 year", "5 years", "10 years", "Since inception", "Exp. ratio")
    notes = (
        f"Average annual total returns to {formatting.format_date(q)}, the latest quarter-end; "
        "since-inception figures for funds younger than one year are cumulative. "
        "Past performance does not guarantee future results.",
    )
    caption = "Standardized performance"
    return _table("standardized-performance", cfg, caption, columns, rows, tracker, notes)


TABLES: dict[str, TableBuilder] = {
    "etf_performance": etf_performance,
    "fund_list": fund_list,
    "largest_funds": largest_funds,
    "fees": fees,
    "concentration": concentration,
    "liquidity": liquidity,
    "exposure": exposure,
    "standardized_performance": standardized_performance,
}
