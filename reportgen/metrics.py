"""Pure metric computation: a dataset and an as-of date in, named, sourced, dated facts out.

:func:`compute_facts` is the one entry point of the build. It cuts the dataset at ``D``
first (no look-ahead), then computes every fact id of contract section 4 with the
conventions of section 2, and the extra facts the note needs (docs/facts.md defines each).
Figures are computed for all tickers at once with grouped frame operations, so a universe
of thousands of ETFs over a decade costs a handful of passes over the price rows; Python
loops run only over tickers, to build the facts.

This module holds the contract facts and the public API; exposures and standardized
performance live in :mod:`reportgen.metrics_extra`, chart series in
:mod:`reportgen.metrics_series`, the shared conventions in :mod:`reportgen.metrics_base`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pandas as pd

from reportgen.dataset import Dataset
from reportgen.facts import Fact, FactSet, Unit, make_fact, null_fact
from reportgen.metrics_base import (
    RECENT_ROWS,
    ROLES,
    TRADING_DAYS,
    Context,
    Figures,
    benchmark_etfs,
    index_ticker,
    one_year_before,
    performance_quarter_end,
    previous_month_end,
    previous_year_end,
    theme_etfs,
    universe,
)
from reportgen.metrics_extra import (
    Holding,
    exposure_facts,
    fund_holdings_facts,
    performance_facts,
    sector_slugs,
    since_inception_annualized,
    top_holdings,
)
from reportgen.metrics_series import (
    Series,
    cumulative_return_series,
    drawdown_series,
    monthly_fund_flows,
    monthly_theme_flows,
)

__all__ = [
    "Holding",
    "MetricParams",
    "Series",
    "benchmark_etfs",
    "compute_facts",
    "cumulative_return_series",
    "drawdown_series",
    "index_ticker",
    "monthly_fund_flows",
    "monthly_theme_flows",
    "one_year_before",
    "performance_quarter_end",
    "sector_slugs",
    "since_inception_annualized",
    "theme_etfs",
    "top_holdings",
    "universe",
]


@dataclass(frozen=True)
class MetricParams:
    """The assumptions behind the extra (non-contract) facts; the note states them."""

    #: Falls of the top-10 holdings in the stress scenario, as fractions (whole percents).
    stress_shocks: tuple[float, ...] = (0.10, 0.20)
    #: Order sizes, in USD, for the days-to-trade estimate.
    liquidity_orders_usd: tuple[float, ...] = (25e6, 100e6)
    #: Share of the average daily dollar volume an order may take each day.
    adv_participation: float = 0.20
    #: Holding period of the cumulative fee drag.
    fee_drag_years: int = 10

    def __post_init__(self) -> None:
        for shock in self.stress_shocks:
            if not 0 < shock <= 1 or abs(shock * 100 - round(shock * 100)) > 1e-9:
                raise ValueError(f"stress shock {shock!r} must be a whole percent in (0, 1]")
        for order in self.liquidity_orders_usd:
            if not order > 0:
                raise ValueError(f"liquidity order {order!r} must be a positive USD amount")
        if not 0 < self.adv_participation <= 1:
            raise ValueError(f"ADV participation {self.adv_participation!r} must be in (0, 1]")
        if isinstance(self.fee_drag_years, bool) or not (
            isinstance(self.fee_drag_years, int) and self.fee_drag_years > 0
        ):
            raise ValueError(f"fee drag years {self.fee_drag_years!r} must be a positive integer")


def shock_label(shock: float) -> str:
    """A stress shock as the whole percent used in fact ids: 0.10 -> "10"."""
    return str(round(shock * 100))


def order_label(order_usd: float) -> str:
    """An order size as used in fact ids: 25e6 -> "25m", 1.5e9 -> "1_5bn" (no dots in ids)."""
    for scale, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if order_usd >= scale:
            return f"{order_usd / scale:g}".replace(".", "_") + suffix
    return f"{order_usd:g}".replace(".", "_")


def compute_facts(ds: Dataset, as_of: date, params: MetricParams | None = None) -> FactSet:
    """Every fact of the note as of ``as_of``; nothing dated after it is read."""
    ctx = Context(ds, as_of)
    p = params or MetricParams()
    facts = FactSet()
    for fact in _all_facts(ctx, p):
        facts.add(fact)
    return facts


def _all_facts(ctx: Context, p: MetricParams) -> Iterator[Fact]:
    yield from _etf_facts(ctx, p)
    yield from _theme_facts(ctx)
    yield from _index_facts(ctx)
    yield from _fee_range_facts(ctx)
    yield from exposure_facts(ctx)
    yield from performance_facts(ctx)
    yield from fund_holdings_facts(ctx)


# --- point-to-point returns ------------------------------------------------------------------


def period_returns(ctx: Context, tickers: list[str], start: date, what: str) -> Figures:
    """Close at D / close at ``start`` - 1; undefined without a close on or before ``start``.

    ``as_of`` is the date of the close at D actually used (the ticker may miss D).
    """
    end = ctx.close_at(ctx.as_of)
    beg = ctx.close_at(start)
    have = [t for t in tickers if t in beg.index]
    fig = Figures.of(end.loc[have, "close"] / beg.loc[have, "close"] - 1.0, end["date"])
    for t in tickers:
        if t not in beg.index:
            fig.fail(t, ctx.no_close_reason(t, start, what))
    return fig


def ytd_returns(ctx: Context, tickers: list[str]) -> Figures:
    start = previous_year_end(ctx.as_of)
    return period_returns(ctx, tickers, start, "end of the previous year")


def twelve_month_returns(ctx: Context, tickers: list[str]) -> Figures:
    start = one_year_before(ctx.as_of)
    return period_returns(ctx, tickers, start, f"one year before {ctx.as_of}")


# --- 12-month window metrics ---------------------------------------------------------------------


def _no_window_reason(ctx: Context, ticker: str) -> str:
    what = f"one year before {ctx.as_of}, start of the 12-month window"
    return ctx.no_close_reason(ticker, one_year_before(ctx.as_of), what)


def _fail_without_window(ctx: Context, fig: Figures, tickers: list[str]) -> None:
    """Tickers with neither a value nor another reason have no ``s0``."""
    for t in tickers:
        if t not in fig.values and t not in fig.reasons:
            fig.fail(t, _no_window_reason(ctx, t))


def window_volatility(ctx: Context, tickers: list[str]) -> Figures:
    """Sample stdev (ddof=1) of the window's daily returns x sqrt(252); needs >= 3 closes.

    Returns that are all equal have a volatility of exactly 0 (not float noise).
    """
    w = ctx.window.loc[ctx.window["ticker"].isin(tickers)]
    by_ticker = w.groupby("ticker")
    closes = by_ticker.size()
    rets = w.dropna(subset=["ret"]).groupby("ticker")["ret"]
    flat = rets.max() == rets.min()
    vol = rets.std(ddof=1).where(~flat, 0.0) * math.sqrt(TRADING_DAYS)
    enough = closes.index[closes >= 3]
    first, last = by_ticker["date"].min(), by_ticker["date"].max()
    fig = Figures.of(vol.loc[enough], last)
    for t in closes.index.difference(enough):
        fig.fail(
            t,
            f"the 12-month window series of {ctx.label(t)} has {closes[t]} close(s) "
            f"({first[t].date()} to {last[t].date()}); volatility needs at least 3",
        )
    _fail_without_window(ctx, fig, tickers)
    return fig


def window_drawdown(ctx: Context, tickers: list[str]) -> Figures:
    """Minimum over the window series of close / running maximum - 1 (<= 0)."""
    w = ctx.window.loc[ctx.window["ticker"].isin(tickers)]
    peak = w.groupby("ticker")["close"].cummax()
    by_ticker = (w["close"] / peak - 1.0).groupby(w["ticker"])
    fig = Figures.of(by_ticker.min(), w.groupby("ticker")["date"].max())
    _fail_without_window(ctx, fig, tickers)
    return fig


def window_beta(ctx: Context, tickers: list[str]) -> Figures:
    """Cov(ETF, benchmark) / Var(benchmark), ddof=1, over the dates both have a daily return.

    ``as_of`` is the newest shared date: the rows beyond it do not enter the figure.
    The benchmark's variance is 0 exactly when its shared returns are all equal.
    """
    bench = ctx.index("benchmark")
    rets = ctx.window.dropna(subset=["ret"])
    b = rets.loc[rets["ticker"] == bench, ["date", "ret"]].rename(columns={"ret": "b"})
    x = rets.loc[rets["ticker"].isin(tickers), ["ticker", "date", "ret"]]
    m = x.merge(b, on="date", how="inner")
    g = m.groupby("ticker")
    n = g.size()
    dx = m["ret"] - g["ret"].transform("mean")
    dy = m["b"] - g["b"].transform("mean")
    cov = (dx * dy).groupby(m["ticker"]).sum()
    var = (dy * dy).groupby(m["ticker"]).sum()
    flat = g["b"].max() == g["b"].min()
    ok = n.index[(n >= 2) & ~flat]
    fig = Figures.of(cov.loc[ok] / var.loc[ok], g["date"].max())  # the (n - 1)s cancel
    windowed = set(ctx.window["ticker"].unique())
    for t in tickers:
        if t in ok:
            continue
        if bench not in windowed:
            fig.fail(t, _no_window_reason(ctx, bench))
        elif t not in windowed:
            fig.fail(t, _no_window_reason(ctx, t))
        elif n.get(t, 0) < 2:
            fig.fail(
                t,
                f"{t} and benchmark index {bench} share {n.get(t, 0)} daily-return date(s) "
                "in their 12-month windows; beta needs at least 2",
            )
        else:
            fig.fail(
                t,
                f"the daily returns of benchmark index {bench} are all equal on the {n[t]} "
                f"dates shared with {t}; their variance is 0",
            )
    return fig


# --- flows, AUM, liquidity, holdings -------------------------------------------------------------


def net_flows(ctx: Context, tickers: list[str], start: date) -> Figures:
    """Sum of net flows with start < date <= D; no row in the window sums to 0 (as_of D).

    The flows panel holds no row after D, so "after start" is the whole window.
    """
    rows = ctx.flows.after(start, tickers)
    g = rows.groupby("ticker")
    fig = Figures.of(g["net_flow_usd"].sum(), g["date"].max())
    for t in tickers:
        if t not in fig.values:
            fig.put(t, 0.0, ctx.as_of)
    return fig


def theme_net_flows(ctx: Context, start: date, fact_id: str) -> Fact:
    """Net flows summed over the theme ETFs of the universe; as_of the newest row summed."""
    rows = ctx.flows.after(start, ctx.etfs("theme"))
    newest = rows["date"].max().date() if len(rows) else ctx.as_of
    total = float(rows["net_flow_usd"].sum())
    return make_fact(fact_id, total, "usd", as_of=newest, sources=ctx.source("flows"))


def aum(ctx: Context, tickers: list[str]) -> Figures:
    """AUM at D: the ETF's latest AUM row dated <= D."""
    rows = ctx.aum_at.loc[ctx.aum_at.index.intersection(tickers)]
    fig = Figures.of(rows["aum_usd"], rows["date"])
    for t in tickers:
        if t not in fig.values:
            fig.fail(t, f"no AUM row on or before {ctx.as_of} for {t}")
    return fig


def theme_aum_total(ctx: Context) -> Fact:
    """Sum of theme ETFs' AUM at D; null naming the ETFs without AUM."""
    theme = ctx.etfs("theme")
    missing = [t for t in theme if t not in ctx.aum_at.index]
    sources = ctx.source("aum")
    if not theme:
        reason = f"no theme ETF in the universe at {ctx.as_of}"
        return null_fact("theme.aum.total", "usd", reason, as_of=ctx.as_of, sources=sources)
    if missing:
        reason = f"no AUM row on or before {ctx.as_of} for theme ETFs: {', '.join(missing)}"
        return null_fact("theme.aum.total", "usd", reason, as_of=ctx.as_of, sources=sources)
    rows = ctx.aum_at.loc[theme]
    return make_fact(
        "theme.aum.total",
        float(rows["aum_usd"].sum()),
        "usd",
        as_of=rows["date"].max().date(),
        sources=sources,
    )


def spreads(ctx: Context, tickers: list[str]) -> Figures:
    """Median spread_bps over the last 21 spread rows / 10,000 (a fraction)."""
    rows = ctx.spreads.tail(RECENT_ROWS, tickers)
    g = rows.groupby("ticker")
    fig = Figures.of(g["spread_bps"].median() / 10_000, g["date"].max())
    for t in tickers:
        if t not in fig.values:
            fig.fail(t, f"no spread row on or before {ctx.as_of} for {t}")
    return fig


def average_daily_dollar_volume(ctx: Context, tickers: list[str]) -> Figures:
    """Mean close x volume over the last 21 price rows; a missing volume is not skipped."""
    rows = ctx.prices.tail(RECENT_ROWS, tickers)
    dollars = rows["close"] * rows["volume"]
    g = dollars.groupby(rows["ticker"])
    gaps = dollars.isna().groupby(rows["ticker"]).any()
    complete = gaps.index[~gaps]
    fig = Figures.of(g.mean().loc[complete], rows.groupby("ticker")["date"].max())
    for t in tickers:
        if t not in fig.values:
            fig.fail(t, f"a volume is missing among the last {RECENT_ROWS} price rows of {t}")
    return fig


def top10_weights(ctx: Context, tickers: list[str]) -> Figures:
    """Sum of the 10 largest weights of the fund's latest holdings; funds without are absent."""
    h = ctx.latest_holdings
    h = h.loc[h["fund"].isin(tickers)]
    largest = (
        h.sort_values(["fund", "weight"], ascending=[True, False], kind="stable")
        .groupby("fund")
        .head(10)
    )
    g = largest.groupby("fund")
    return Figures.of(g["weight"].sum(), g["as_of"].max())


# --- fact assembly ------------------------------------------------------------------------------


def _etf_facts(ctx: Context, p: MetricParams) -> Iterator[Fact]:
    etfs = ctx.universe
    d = ctx.as_of
    prices, flows, ins = ctx.source("prices"), ctx.source("flows"), ctx.source("instruments")
    holdings = ctx.source("holdings")
    per_ticker: list[tuple[str, Figures, Unit, list[str]]] = [
        ("return.ytd", ytd_returns(ctx, etfs), "percent", prices),
        ("return.12m", twelve_month_returns(ctx, etfs), "percent", prices),
        ("volatility.12m", window_volatility(ctx, etfs), "percent", prices),
        ("drawdown.12m", window_drawdown(ctx, etfs), "percent", prices),
        ("beta.12m", window_beta(ctx, etfs), "ratio", prices),
        ("aum", aum(ctx, etfs), "usd", ctx.source("aum")),
        ("flows.ytd", net_flows(ctx, etfs, previous_year_end(d)), "usd", flows),
        ("flows.month", net_flows(ctx, etfs, previous_month_end(d)), "usd", flows),
        ("spread", spreads(ctx, etfs), "bps", ctx.source("spreads")),
    ]
    adv = average_daily_dollar_volume(ctx, etfs)
    top10 = top10_weights(ctx, etfs)
    fees = expense_ratios(ctx, etfs)
    for t in etfs:
        for name, fig, unit, sources in per_ticker:
            yield fig.fact(t, f"etf.{t}.{name}", unit, sources=sources, as_of=d)
        yield adv.fact(t, f"etf.{t}.adv", "usd", sources=prices, as_of=d)
        yield fees.fact(t, f"etf.{t}.expense_ratio", "percent", sources=ins, as_of=d, style="fee")
        yield from _fee_drag(ctx, t, fees, p)
        yield from _days_to_trade(ctx, t, adv, p)
        if t in top10.values:
            yield top10.fact(t, f"etf.{t}.top10_weight", "percent", sources=holdings, as_of=d)
            for shock in p.stress_shocks:
                loss = -top10.values[t] * shock
                yield make_fact(
                    f"etf.{t}.stress.top10.{shock_label(shock)}",
                    loss,
                    "percent",
                    as_of=top10.dates[t],
                    sources=holdings,
                )


def expense_ratios(ctx: Context, tickers: list[str]) -> Figures:
    """Expense ratios from instruments.csv (undated: as_of D)."""
    er = ctx.ds.instruments.set_index("ticker")["expense_ratio"]
    fig = Figures()
    for t in tickers:
        value = er.get(t)
        if value is None or pd.isna(value):
            fig.fail(t, f"no expense ratio for {t} in instruments")
        else:
            fig.put(t, float(value), ctx.as_of)
    return fig


def _fee_drag(ctx: Context, t: str, fees: Figures, p: MetricParams) -> Iterator[Fact]:
    """Share of wealth lost to fees over the holding period: 1 - (1 - ER)^years."""
    fact_id = f"etf.{t}.fee_drag.{p.fee_drag_years}y"
    sources = ctx.source("instruments")
    er = fees.get(t)
    if er is None:
        reason = fees.reasons[t]
        yield null_fact(fact_id, "percent", reason, as_of=ctx.as_of, sources=sources, style="fee")
        return
    drag = 1.0 - (1.0 - er) ** p.fee_drag_years
    yield make_fact(fact_id, drag, "percent", as_of=ctx.as_of, sources=sources, style="fee")


def _days_to_trade(ctx: Context, t: str, adv: Figures, p: MetricParams) -> Iterator[Fact]:
    """Days to trade an order taking ``adv_participation`` of ADV a day."""
    sources = ctx.source("prices")
    value = adv.get(t)
    for order in p.liquidity_orders_usd:
        fact_id = f"etf.{t}.days_to_trade.{order_label(order)}"
        if value is None or value == 0:
            reason = adv.reasons.get(t) or f"the average daily dollar volume of {t} is 0"
            yield null_fact(fact_id, "days", reason, as_of=ctx.as_of, sources=sources)
        else:
            days = order / (p.adv_participation * value)
            yield make_fact(fact_id, days, "days", as_of=adv.dates[t], sources=sources)


def _theme_facts(ctx: Context) -> Iterator[Fact]:
    d = ctx.as_of
    yield theme_net_flows(ctx, previous_year_end(d), "theme.flows.ytd")
    yield theme_net_flows(ctx, previous_month_end(d), "theme.flows.month")
    yield theme_aum_total(ctx)
    yield make_fact(
        "theme.count",
        len(ctx.etfs("theme")),
        "count",
        as_of=d,
        sources=ctx.source("instruments", "prices"),
    )


def _index_facts(ctx: Context) -> Iterator[Fact]:
    d = ctx.as_of
    prices = ctx.source("prices")
    indexes = [ctx.index(role) for role in ROLES]
    ytd = ytd_returns(ctx, indexes)
    twelve = twelve_month_returns(ctx, indexes)
    per_index: list[tuple[str, Figures, Unit]] = [
        ("return.ytd", ytd, "percent"),
        ("return.12m", twelve, "percent"),
        ("volatility.12m", window_volatility(ctx, indexes), "percent"),
        ("drawdown.12m", window_drawdown(ctx, indexes), "percent"),
    ]
    for role, t in zip(ROLES, indexes, strict=True):
        for name, fig, unit in per_index:
            yield fig.fact(t, f"index.{role}.{name}", unit, sources=prices, as_of=d)
    for period, fig in (("ytd", ytd), ("12m", twelve)):
        yield _relative(ctx, period, fig, *indexes)


def _relative(ctx: Context, period: str, fig: Figures, theme: str, bench: str) -> Fact:
    """Theme index minus benchmark index return, in percentage points."""
    fact_id = f"index.relative.{period}"
    sources = ctx.source("prices")
    for role, t in (("theme", theme), ("benchmark", bench)):
        if t not in fig.values:
            reason = f"the {role} index {period} return is not available: {fig.reasons[t]}"
            return null_fact(fact_id, "pp", reason, as_of=ctx.as_of, sources=sources)
    value = fig.values[theme] - fig.values[bench]
    newest = max(fig.dates[theme], fig.dates[bench])
    return make_fact(fact_id, value, "pp", as_of=newest, sources=sources)


def _fee_range_facts(ctx: Context) -> Iterator[Fact]:
    """Min and max expense ratio over the universe's ETFs of each role (instruments: as_of D)."""
    sources = ctx.source("instruments")
    for role in ROLES:
        members = ctx.etfs(role)
        fees = expense_ratios(ctx, members)
        values = [fees.values[t] for t in members if t in fees.values]
        for name, pick in (("min", min), ("max", max)):
            fact_id = f"fees.{role}.{name}"
            if values:
                value = pick(values)
                yield make_fact(
                    fact_id, value, "percent", as_of=ctx.as_of, sources=sources, style="fee"
                )
            else:
                reason = f"no {role} ETF with an expense ratio in the universe at {ctx.as_of}"
                yield null_fact(
                    fact_id, "percent", reason, as_of=ctx.as_of, sources=sources, style="fee"
                )
