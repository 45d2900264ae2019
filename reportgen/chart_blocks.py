"""The chart kinds a config can ask for: series and facts in, a Chart block out.

A chart is drawn from the same data as the facts beside it (metrics_series
computes its points with the facts' conventions) and its caption cites the
same sources and date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from markupsafe import Markup

from reportgen import charts, formatting
from reportgen.compose_context import (
    ComposeContext,
    NoData,
    OptionError,
    Tracker,
    citation_for,
    option_choice,
    option_indexes,
    option_int,
)
from reportgen.config import ChartConfig
from reportgen.document import Chart, Citation
from reportgen.facts import Fact
from reportgen.metrics_series import (
    Series,
    cumulative_return_series,
    drawdown_series,
    monthly_fund_flows,
    monthly_theme_flows,
)
from reportgen.tables import exposure_names, fund_exposure_ids

ChartBuilder = Callable[[ComposeContext, ChartConfig, str], Chart]


class ChartDataError(NoData):
    """A chart that has nothing to draw on this dataset (the message says why)."""


def _series_citation(series: list[Series]) -> Citation:
    sources = sorted({s for x in series for s in x.source.split("; ") if s})
    return Citation(tuple(sources), max(x.as_of for x in series))


def _line(s: Series, label: str) -> charts.LineSeries:
    """A series as a chart line, labelled with the instrument's name as the data spells it."""
    if s.reason:
        raise ChartDataError(s.reason)
    dates = [p[0] for p in s.points]
    assert all(isinstance(d, date) for d in dates)
    return charts.LineSeries(label, dates, [p[1] for p in s.points])  # type: ignore[arg-type]


def _chart(
    cfg: ChartConfig, chart_id: str, svg: charts.ChartSVG, caption: str, cit: Citation | None
) -> Chart:
    return Chart(
        id=chart_id,
        caption=cfg.caption or caption,
        svg=Markup(svg.svg),
        alt=svg.alt,
        citation=cit,
        chart_type=svg.kind,
        value_range=svg.value_range,
    )


def _end_text(s: Series) -> str:
    return (
        formatting.format_value(s.points[-1][1], s.unit) if s.points else formatting.NOT_AVAILABLE
    )


def index_cumulative(ctx: ComposeContext, cfg: ChartConfig, chart_id: str) -> Chart:
    """Cumulative 12-month total return of the theme index against the benchmark index."""
    series = [
        cumulative_return_series(ctx.dataset, ctx.indexes[role][0], ctx.as_of)
        for role in ("theme", "benchmark")
    ]
    names = [ctx.indexes[role][1] for role in ("theme", "benchmark")]
    lines = [_line(s, name) for s, name in zip(series, names, strict=True)]
    alt = "Line chart of cumulative 12-month return: " + "; ".join(
        f"{s.label} ends at {_end_text(s)}" for s in series
    )
    svg = charts.line_chart(
        chart_id,
        lines,
        title=cfg.title or "",
        y_label="Cumulative total return",
        unit="percent",
        alt=alt,
        end_labels=True,
    )
    return _chart(
        cfg,
        chart_id,
        svg,
        "Theme index against the benchmark: cumulative total return over 12 months",
        _series_citation(series),
    )


def fund_cumulative(ctx: ComposeContext, cfg: ChartConfig, chart_id: str) -> Chart:
    """Cumulative 12-month total return of one fund (``options: {fund: NAME}``) against the
    indexes of ``indexes`` (default ``[benchmark]``)."""
    t = ctx.fund_option(cfg.options).ticker
    roles = option_indexes(cfg.options, default=("benchmark",))
    tickers = [t, *(ctx.indexes[role][0] for role in roles)]
    names = [ctx.refs[t].name, *(ctx.indexes[role][1] for role in roles)]
    series = [cumulative_return_series(ctx.dataset, x, ctx.as_of) for x in tickers]
    lines = [_line(s, name) for s, name in zip(series, names, strict=True)]
    alt = "Line chart of cumulative 12-month return: " + "; ".join(
        f"{name} ends at {_end_text(s)}" for s, name in zip(series, names, strict=True)
    )
    svg = charts.line_chart(
        chart_id,
        lines,
        title=cfg.title or "",
        y_label="Cumulative total return",
        unit="percent",
        alt=alt,
        end_labels=True,
    )
    against = " and ".join(f"the {role} index" for role in roles)
    caption = "The fund's cumulative total return over 12 months" + (
        f", against {against}" if against else ""
    )
    return _chart(cfg, chart_id, svg, caption, _series_citation(series))


def monthly_flows(ctx: ComposeContext, cfg: ChartConfig, chart_id: str) -> Chart:
    """Monthly net flows of theme ETFs (or of one fund, ``options: {fund: NAME}``);
    the last bar is month to date."""
    months = option_int(cfg.options, "months", 12)
    if "fund" in cfg.options:
        t = ctx.fund_option(cfg.options).ticker
        s = monthly_fund_flows(ctx.dataset, t, ctx.as_of, months)
        what, caption = t, "Monthly net flows into the fund"
    else:
        s = monthly_theme_flows(ctx.dataset, ctx.as_of, months)
        what, caption = "theme ETFs", "Monthly net flows into theme ETFs"
    if s.reason:
        raise ChartDataError(s.reason)
    labels = [charts.month_label(p[0]) if isinstance(p[0], date) else str(p[0]) for p in s.points]
    values = [p[1] for p in s.points]
    alt = f"Bar chart of monthly net flows into {what}: " + ", ".join(
        f"{lab} {formatting.format_usd(v)}" for lab, v in zip(labels, values, strict=True)
    )
    svg = charts.bar_chart(
        chart_id,
        labels,
        values,
        title=cfg.title or "",
        y_label="Net flows (USD)",
        unit="usd",
        alt=alt,
    )
    return _chart(cfg, chart_id, svg, caption, _series_citation([s]))


def drawdowns(ctx: ComposeContext, cfg: ChartConfig, chart_id: str) -> Chart:
    """12-month drawdowns of both indexes and of funds named in ``options: {funds: [...]}``."""
    tickers = [ctx.indexes["theme"][0], ctx.indexes["benchmark"][0]]
    funds = cfg.options.get("funds", [])
    if not isinstance(funds, list):
        raise OptionError(f"options.funds: expected a list of fund names, found {funds!r}")
    for alias in funds:
        if alias in ctx.authoring.funds:
            tickers.append(ctx.authoring.funds[alias].ticker)
        elif alias in ctx.authoring.missing_funds:
            continue  # names no fund on this dataset: the chart shows the indexes only
        elif alias in ctx.refs:
            tickers.append(alias)
        else:
            known = ", ".join(sorted(ctx.authoring.funds))
            raise OptionError(
                f"options.funds: {alias!r} is neither a fund name ({known}) nor a ticker"
                " of the universe"
            )
    names = {t: n for t, n in ctx.indexes.values()} | {t: r.name for t, r in ctx.refs.items()}
    pairs = [(t, drawdown_series(ctx.dataset, t, ctx.as_of)) for t in dict.fromkeys(tickers)]
    pairs = [(t, s) for t, s in pairs if not s.reason] or pairs
    series = [s for _, s in pairs]
    lines = [_line(s, names.get(t, s.label)) for t, s in pairs]
    alt = "Line chart of drawdowns from the running peak over 12 months: " + "; ".join(
        f"{s.label} deepest {formatting.format_percent(min(p[1] for p in s.points))}"
        for s in series
    )
    svg = charts.line_chart(
        chart_id,
        lines,
        title=cfg.title or "",
        y_label="Drawdown",
        unit="percent",
        alt=alt,
    )
    return _chart(
        cfg,
        chart_id,
        svg,
        "Drawdown from the running peak over 12 months",
        _series_citation(series),
    )


def exposure(ctx: ComposeContext, cfg: ChartConfig, chart_id: str) -> Chart:
    """AUM-weighted exposure of theme ETFs by bucket (or ``options: {by: sector}``);
    with ``options: {fund: NAME}`` one fund's weight in each bucket."""
    if "fund" in cfg.options:
        return _fund_exposure(ctx, cfg, chart_id)
    by = option_choice(cfg.options, "by", ("bucket", "sector"))
    prefix = f"theme.exposure.{by}."
    tracker = Tracker()
    facts = [tracker.use(ctx.facts[k]) for k in ctx.facts if k.startswith(prefix)]
    facts = [f for f in facts if f.value is not None]
    if not facts:
        raise ChartDataError(f"no theme ETF has holdings and AUM for an exposure by {by}")
    facts.sort(key=lambda f: (-(f.value or 0.0), f.id))
    names = exposure_names(ctx, by)
    labels = [names.get(f.id, f.id[len(prefix) :]) for f in facts]
    return _share_bars(
        cfg,
        chart_id,
        labels,
        facts,
        what=f"theme exposure by {by}",
        x_label="Share of covered AUM",
        caption=f"Theme ETF exposure by {by}, weighted by assets",
    )


def _fund_exposure(ctx: ComposeContext, cfg: ChartConfig, chart_id: str) -> Chart:
    t, ids = fund_exposure_ids(ctx, cfg.options)
    return _share_bars(
        cfg,
        chart_id,
        [k.rsplit(".", 1)[1].capitalize() for k in ids],
        [ctx.facts[k] for k in ids],
        what=f"{t}'s holdings by bucket",
        x_label="Share of the fund's holdings",
        caption="Holdings of the fund by bucket",
    )


def _share_bars(
    cfg: ChartConfig,
    chart_id: str,
    labels: list[str],
    facts: list[Fact],
    *,
    what: str,
    x_label: str,
    caption: str,
) -> Chart:
    """Horizontal bars of shares (exposure by bucket or sector), each bar a fact, the alt
    text listing every bar with its printed value."""
    alt = f"Bar chart of {what}: " + ", ".join(
        f"{lab} {f.display}" for lab, f in zip(labels, facts, strict=True)
    )
    svg = charts.hbar_chart(
        chart_id,
        labels,
        [f.value or 0.0 for f in facts],
        title=cfg.title or "",
        x_label=x_label,
        unit="percent",
        alt=alt,
    )
    return _chart(cfg, chart_id, svg, caption, citation_for(facts))


def fee_vs_return(ctx: ComposeContext, cfg: ChartConfig, chart_id: str) -> Chart:
    """Expense ratio against 12-month return for each ETF with both."""
    tracker = Tracker()
    points = []
    for role in ("theme", "benchmark"):
        for t in ctx.etfs(role):
            fee = ctx.facts.get(f"etf.{t}.expense_ratio")
            ret = ctx.facts.get(f"etf.{t}.return.12m")
            if fee is None or ret is None or fee.value is None or ret.value is None:
                continue
            tracker.use(fee)
            tracker.use(ret)
            points.append(charts.ScatterPoint(t, fee.value, ret.value))
    if not points:
        raise ChartDataError("no ETF has both an expense ratio and a 12-month return")
    alt = "Scatter chart of expense ratio against 12-month return: " + ", ".join(
        f"{p.label} {formatting.format_percent(p.x, 2)} / {formatting.format_percent(p.y)}"
        for p in points
    )
    svg = charts.scatter_chart(
        chart_id,
        points,
        title=cfg.title or "",
        x_label="Expense ratio",
        y_label="12-month total return",
        x_unit="percent",
        y_unit="percent",
        alt=alt,
        x_style="fee",
    )
    return _chart(
        cfg,
        chart_id,
        svg,
        "Expense ratio against 12-month total return, per ETF",
        tracker.citation(),
    )


CHARTS: dict[str, ChartBuilder] = {
    "index_cumulative": index_cumulative,
    "fund_cumulative": fund_cumulative,
    "monthly_flows": monthly_flows,
    "drawdowns": drawdowns,
    "exposure": exposure,
    "fee_vs_return": fee_vs_return,
}
