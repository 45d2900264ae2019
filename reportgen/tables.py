"""The table kinds a config can ask for, each built from facts only.

A table kind is a function (context, config) -> Table. Every number in a table
is a fact's display, marked with its id; an undefined figure prints "n/a" with
a footnote giving the reason; a figure that does not exist for a row (beta of
an index) prints "–".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

import pandas as pd

from reportgen import formatting
from reportgen.compose_context import (
    NOT_APPLICABLE,
    ComposeContext,
    NoData,
    OptionError,
    Tracker,
    option_choice,
    option_indexes,
    option_int,
)
from reportgen.config import TableConfig, slug
from reportgen.document import Cell, Table
from reportgen.metrics import order_label, shock_label
from reportgen.metrics_base import BUCKETS, performance_quarter_end
from reportgen.metrics_extra import (
    TOP_HOLDINGS,
    exposure_sector_names,
    inception_date,
    top_holdings,
)

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
    ctx: ComposeContext,
    metrics: Sequence[str | None],
    tracker: Tracker,
    roles: Sequence[str] = ("theme", "benchmark"),
) -> list[tuple[Cell, ...]]:
    rows = []
    for role in roles:
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
    """AUM-weighted exposure of theme ETFs by bucket (or sector, ``options: {by: sector}``);
    with ``options: {fund: NAME}`` one fund's weight in each bucket."""
    if "fund" in cfg.options:
        return _fund_exposure(ctx, cfg)
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


def fund_exposure_ids(ctx: ComposeContext, options: dict[str, object]) -> tuple[str, list[str]]:
    """(ticker, its bucket exposure fact ids, largest first) for ``options: {fund: NAME}``."""
    t = ctx.fund_option(options).ticker
    option_choice(options, "by", ("bucket",))  # per fund: buckets only (no sector facts)
    ids = [
        f"etf.{t}.exposure.bucket.{b}"
        for b in BUCKETS
        if f"etf.{t}.exposure.bucket.{b}" in ctx.facts
    ]
    if not ids:
        raise NoData(f"no holdings of {t} reported on or before {ctx.as_of}")
    ids.sort(key=lambda k: (-(ctx.facts[k].value or 0.0), k))
    return t, ids


def _fund_exposure(ctx: ComposeContext, cfg: TableConfig) -> Table:
    _only_options(cfg, "fund", "by")
    t, ids = fund_exposure_ids(ctx, cfg.options)
    tracker = Tracker()
    rows = [(Cell(k.rsplit(".", 1)[1].capitalize()), tracker.cell(ctx, k)) for k in ids]
    columns = _header("Bucket", "Weight")
    notes = (
        "Share of the fund's latest holdings in each bucket; cash and unclassified "
        "positions are in none.",
    )
    return _table(
        f"exposure-{slug(t)}", cfg, "Holdings of the fund by bucket", columns, rows, tracker, notes
    )


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
    """Annualized 1-, 5- and 10-year and since-inception returns to the last quarter-end.

    Every ETF and both indexes; with ``options: {fund: NAME}`` that one fund only, and
    with ``indexes: [benchmark]`` only the indexes listed.
    """
    tracker = Tracker()
    periods = ("perf.1y", "perf.5y", "perf.10y", "perf.since_inception")
    metrics = (*periods, "expense_ratio")
    roles = option_indexes(cfg.options)
    if "fund" in cfg.options:
        t = ctx.fund_option(cfg.options).ticker
        rows = [(Cell(t, data=True), *(tracker.cell(ctx, f"etf.{t}.{m}") for m in metrics))]
    else:
        rows = _fund_rows(ctx, ("theme", "benchmark"), metrics, tracker)
    rows += _index_rows(ctx, (*periods, None), tracker, roles)
    q = performance_quarter_end(ctx.as_of)
    columns = _header("Fund", "1 year", "5 years", "10 years", "Since inception", "Exp. ratio")
    notes = (
        f"Average annual total returns to {formatting.format_date(q)}, the latest quarter-end; "
        "since-inception figures for funds younger than one year are cumulative. "
        "Past performance does not guarantee future results.",
    )
    caption = "Standardized performance"
    return _table("standardized-performance", cfg, caption, columns, rows, tracker, notes)


# --- one fund: its figures, against the indexes ---------------------------------------------

#: Per-ETF metric -> (row label, column label). Labels state periods in forms the
#: compliance checks read as periods ("12-month", "last 21 days", "YTD", "12m").
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "return.ytd": ("Return, year to date", "YTD"),
    "return.12m": ("12-month return", "12m"),
    "perf.1y": ("1-year average annual return", "1 year"),
    "perf.5y": ("5-year average annual return", "5 years"),
    "perf.10y": ("10-year average annual return", "10 years"),
    "perf.since_inception": ("Return since inception", "Since inception"),
    "volatility.12m": ("12-month volatility, annualized", "Vol. 12m"),
    "drawdown.12m": ("12-month maximum drawdown", "Max DD 12m"),
    "beta.12m": ("12-month beta to the benchmark index", "Beta 12m"),
    "expense_ratio": ("Expense ratio", "Exp. ratio"),
    "aum": ("Assets under management", "AUM"),
    "flows.ytd": ("Net flows, year to date", "Flows YTD"),
    "flows.month": ("Net flows, month to date", "Flows month"),
    "spread": ("Median bid-ask spread, last 21 days", "Spread"),
    "adv": ("Average daily dollar volume, last 21 days", "ADV"),
    "top10_weight": ("Top-10 holdings, combined weight", "Top-10 weight"),
}
#: Data about the fund (not figures) a ``fund_figures`` row can show.
FUND_DATA = ("name", "ticker", "issuer", "role", "inception_date")
_DATA_LABELS = {
    "name": "Fund",
    "ticker": "Ticker",
    "issuer": "Issuer",
    "role": "Role in this research",
    "inception_date": "Inception date",
}
_RETURN = re.compile(r"^(?:return|perf)\.")


def _metric_labels(ctx: ComposeContext, metric: str) -> tuple[Cell, str] | None:
    """(row label cell, column label) of a per-ETF metric; None when it is not one we know.

    Parameterised ids (``fee_drag.10y``, ``days_to_trade.25m``, ``stress.top10.10``,
    ``exposure.bucket.platform``, ``holding.3.weight``) get labels built from the id;
    scenario figures in a label are printed as the declared assumption they are.
    """
    if metric in METRIC_LABELS:
        row, col = METRIC_LABELS[metric]
        return Cell(row), col
    if m := re.fullmatch(r"fee_drag\.(\d+)y", metric):
        return Cell(f"{m[1]}-year fee drag"), f"{m[1]}y fee drag"
    if m := re.fullmatch(r"days_to_trade\.(\w+)", metric):
        return replace(_assumption_header(ctx, "Days to trade ", "order_", m[1]), numeric=False), (
            "Days to trade"
        )
    if m := re.fullmatch(r"stress\.top10\.(\d+)", metric):
        cell = _assumption_header(ctx, "Loss if top-10 holdings fall ", "shock_", m[1])
        return replace(cell, numeric=False), "Stress loss"
    if m := re.fullmatch(r"exposure\.bucket\.(\w+)", metric):
        return Cell(f"{m[1].capitalize()} bucket weight"), m[1].capitalize()
    if m := re.fullmatch(r"holding\.(\d+)\.weight", metric):
        return Cell(f"Holding #{m[1]} weight"), f"#{m[1]}"
    return None


def _option_metrics(
    ctx: ComposeContext, cfg: TableConfig, key: str, allowed_data: Sequence[str] = ()
) -> list[str]:
    """A required, non-empty list of per-ETF metrics (and, where allowed, fund data fields).

    A metric is known when it has a label or when some ETF of the universe has the fact,
    so an id that is absent on this dataset (top-10 weight without holdings) is no error.
    """
    value = cfg.options.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise OptionError(f"options.{key}: expected a list of per-ETF metrics, found {value!r}")
    known = {k.split(".", 2)[2] for k in ctx.facts if k.startswith("etf.")}
    for metric in value:
        if metric in allowed_data or metric in known or _metric_labels(ctx, metric):
            continue
        data = f"; or fund data: {', '.join(allowed_data)}" if allowed_data else ""
        raise OptionError(
            f"options.{key}: unknown per-ETF metric {metric!r} "
            f"(known: {', '.join(sorted(known | set(METRIC_LABELS)))}{data})"
        )
    return list(value)


def _only_options(cfg: TableConfig, *allowed: str) -> None:
    unknown = sorted(set(cfg.options) - set(allowed))
    if unknown:
        raise OptionError(
            f"options.{unknown[0]}: unknown option; expected one of {', '.join(allowed)}"
        )


def _index_cell(ctx: ComposeContext, role: str, metric: str, tracker: Tracker) -> Cell:
    """An index's figure for a per-ETF metric, or "–" where the index has no such figure."""
    return tracker.cell(ctx, f"index.{role}.{metric}")


def _fund_data_cell(ctx: ComposeContext, ticker: str, field: str) -> Cell:
    """A fact about the fund that is data, not a figure, printed as the dataset spells it."""
    ref = ctx.refs[ticker]
    if field in ("name", "ticker", "issuer"):
        text = getattr(ref, field)
        return Cell(text or formatting.NOT_AVAILABLE, numeric=True, data=text is not None)
    if field == "role":
        return Cell(f"{ROLE_NAMES[ctx.role_of(ticker)]} ETF", numeric=True)
    born = inception_date(ctx.dataset, ticker)
    return Cell(formatting.format_date(born) if born else formatting.NOT_AVAILABLE, numeric=True)


def fund_figures(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """One fund's figures, one per row: ``options: {fund: NAME, rows: [aum, spread, ...]}``.

    ``rows`` lists per-ETF metrics (``aum``, ``flows.ytd``, ``spread``, ``fee_drag.10y``,
    ...) and fund data (``ticker``, ``issuer``, ``inception_date``, ``role``); with
    ``indexes: [benchmark]`` a column per index shows its figure where it has one ("–"
    otherwise). Returns belong in ``fund_comparison`` or ``standardized_performance``,
    where each return shares its row with the expense ratio and sits beside the
    benchmark's return for the same period.
    """
    _only_options(cfg, "fund", "rows", "indexes")
    ref = ctx.fund_option(cfg.options)
    t = ref.ticker
    items = _option_metrics(ctx, cfg, "rows", FUND_DATA)
    returns = [m for m in items if _RETURN.match(m)]
    if returns:
        raise OptionError(
            f"options.rows: {returns[0]!r} is a return; show returns in a fund_comparison or "
            "standardized_performance table, beside the expense ratio and the benchmark"
        )
    roles = option_indexes(cfg.options, default=())
    tracker = Tracker()
    rows = []
    for item in items:
        if item in FUND_DATA:
            empty = [Cell(NOT_APPLICABLE, numeric=True) for _ in roles]
            rows.append((Cell(_DATA_LABELS[item]), _fund_data_cell(ctx, t, item), *empty))
            continue
        labels = _metric_labels(ctx, item)
        label = labels[0] if labels else Cell(item)
        cells = [_index_cell(ctx, role, item, tracker) for role in roles]
        rows.append((label, tracker.cell(ctx, f"etf.{t}.{item}"), *cells))
    columns = (
        Cell(""),
        Cell(t, numeric=True, data=True),
        *(Cell(ctx.indexes[role][1], numeric=True, data=True) for role in roles),
    )
    notes = ("– : not applicable.",) if roles else ()
    caption = "Key figures of the fund"
    # one id per table: the caption (or the rows) tells several such tables apart
    table_id = f"fund-figures-{slug(t)}-{slug(cfg.caption or '-'.join(items))}"
    return _table(table_id, cfg, caption, columns, rows, tracker, notes)


def fund_comparison(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """One fund against the indexes, one row each: ``options: {fund: NAME, metrics: [...]}``.

    Columns are the ``metrics`` (``return.ytd``, ``return.12m``, ``expense_ratio``, ...);
    rows the fund, then each index of ``indexes`` (default ``[benchmark]``), which prints
    "–" for a metric it does not have (an expense ratio).
    """
    _only_options(cfg, "fund", "metrics", "indexes")
    t = ctx.fund_option(cfg.options).ticker
    metrics = _option_metrics(ctx, cfg, "metrics")
    roles = option_indexes(cfg.options, default=("benchmark",))
    tracker = Tracker()
    rows = [(Cell(t, data=True), *(tracker.cell(ctx, f"etf.{t}.{m}") for m in metrics))]
    rows += _index_rows(ctx, metrics, tracker, roles)
    headers = []
    for m in metrics:
        labels = _metric_labels(ctx, m)
        headers.append(labels[1] if labels else m)
    columns = _header("Fund", *headers)
    caption = "The fund against " + (
        " and ".join(f"the {r} index" for r in roles) if roles else "itself"
    )
    table_id = f"fund-comparison-{slug(t)}-{slug(cfg.caption or '-'.join(metrics))}"
    return _table(table_id, cfg, caption, columns, rows, tracker, ())


def top_holdings_table(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """The fund's largest holdings by weight: ``options: {fund: NAME, count: 10}`` (10 at most).

    Name, sector and bucket are data from the holdings file; each weight is the fact
    ``etf.T.holding.<rank>.weight``; the last row is their combined weight.
    """
    _only_options(cfg, "fund", "count", "columns")
    t = ctx.fund_option(cfg.options).ticker
    count = option_int(cfg.options, "count", TOP_HOLDINGS)
    if count > TOP_HOLDINGS:
        raise OptionError(f"options.count: expected at most {TOP_HOLDINGS}, found {count}")
    shown = cfg.options.get("columns", ["sector", "bucket"])
    if not isinstance(shown, list) or any(c not in ("sector", "bucket") for c in shown):
        raise OptionError(f"options.columns: expected a list of sector, bucket; found {shown!r}")
    held = top_holdings(ctx.dataset, t, ctx.as_of, count)
    if not held:
        raise NoData(f"no holdings of {t} reported on or before {ctx.as_of}")
    tracker = Tracker()
    rows = [
        (
            Cell(h.name, data=True),
            *(Cell(getattr(h, c), data=True) for c in shown),
            tracker.cell(ctx, f"etf.{t}.holding.{h.rank}.weight"),
        )
        for h in held
    ]
    if count == TOP_HOLDINGS:
        blank = [Cell("") for _ in shown]
        rows.append(
            (Cell("Top-10 holdings, combined"), *blank, tracker.cell(ctx, f"etf.{t}.top10_weight"))
        )
    columns = (
        Cell("Holding"),
        *(Cell(c.capitalize()) for c in shown),
        Cell("Weight", numeric=True),
    )
    caption = "Largest holdings of the fund"
    return _table(f"top-holdings-{slug(t)}", cfg, caption, columns, rows, tracker)


def _newest(frame: pd.DataFrame, column: str) -> str:
    return formatting.format_date(frame[column].max().date()) if len(frame) else NOT_APPLICABLE


def sources(ctx: ComposeContext, cfg: TableConfig) -> Table:
    """Who published each input file of the dataset, and its newest row used (no options)."""
    _only_options(cfg)
    ds = ctx.dataset
    dated = {
        "prices": _newest(ds.prices, "date"),
        "flows": _newest(ds.flows, "date"),
        "aum": _newest(ds.aum, "date"),
        "spreads": _newest(ds.spreads, "date"),
        "holdings": _newest(ds.holdings, "as_of"),
    }
    names = {
        "instruments": "Fund and index details",
        "prices": "Prices and index levels",
        "flows": "Net flows",
        "aum": "Assets under management",
        "spreads": "Bid-ask spreads",
        "holdings": "Holdings",
    }
    rows = [
        (Cell(names.get(stem, stem)), Cell(source), Cell(dated.get(stem, NOT_APPLICABLE)))
        for stem, source in ds.sources.items()
    ]
    columns = (Cell("Data"), Cell("Source"), Cell("Latest row"))
    return Table(
        id="data-sources", caption=cfg.caption or "Data sources", columns=columns, rows=tuple(rows)
    )


TABLES: dict[str, TableBuilder] = {
    "etf_performance": etf_performance,
    "fund_list": fund_list,
    "largest_funds": largest_funds,
    "fees": fees,
    "concentration": concentration,
    "liquidity": liquidity,
    "exposure": exposure,
    "standardized_performance": standardized_performance,
    "fund_figures": fund_figures,
    "fund_comparison": fund_comparison,
    "top_holdings": top_holdings_table,
    "sources": sources,
}
