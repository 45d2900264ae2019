"""Data series for charts: plain, frozen data computed with the same conventions as the facts.

A chart draws exactly these points, so it cannot disagree with the facts beside it
(a cumulative-return line ends on the ticker's 12-month return; the drawdown curve's
minimum is its 12-month maximum drawdown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from reportgen.dataset import Dataset
from reportgen.facts import Unit, join_sources
from reportgen.metrics_base import Panel, one_year_before, theme_etfs, window_series

Point = tuple[date | str, float]


@dataclass(frozen=True)
class Series:
    """Points of one chart line, with the provenance its caption cites.

    ``points`` is empty exactly when ``reason`` says why (the chart shows "not available").
    """

    id: str
    label: str
    unit: Unit
    points: tuple[Point, ...]
    source: str
    as_of: date
    reason: str | None = None


def _ticker_window(ds: Dataset, ticker: str, as_of: date) -> tuple[pd.DataFrame, str | None]:
    """One ticker's 12-month window series, or why it has none."""
    prices = ds.prices.loc[
        (ds.prices["ticker"] == ticker) & (ds.prices["date"] <= pd.Timestamp(as_of))
    ]
    w = window_series(Panel(prices), as_of)
    if len(w):
        return w, None
    start = one_year_before(as_of)
    seen = (
        f"first price row {prices['date'].min().date()}"
        if len(prices)
        else f"no price row on or before {as_of}"
    )
    return w, f"no close on or before {start} (one year before {as_of}) for {ticker} ({seen})"


def _window_line(
    ds: Dataset,
    ticker: str,
    as_of: date,
    name: str,
    label: str,
    transform: Callable[[pd.Series], pd.Series],
) -> Series:
    """A percent line over the ticker's 12-month window series; as_of its last row."""
    w, reason = _ticker_window(ds, ticker, as_of)
    values = transform(w["close"]) if reason is None else w["close"]
    points = tuple(
        (pd.Timestamp(d).date(), float(v)) for d, v in zip(w["date"], values, strict=True)
    )
    return Series(
        id=f"series.{ticker}.{name}.12m",
        label=label,
        unit="percent",
        points=points,
        source=join_sources([ds.sources["prices"]]),
        as_of=pd.Timestamp(w["date"].iloc[-1]).date() if len(w) else as_of,
        reason=reason,
    )


def cumulative_return_series(ds: Dataset, ticker: str, as_of: date) -> Series:
    """close / close at s0 - 1 on every row of the 12-month window series."""
    label = f"{ticker} cumulative return over 12 months"
    return _window_line(
        ds, ticker, as_of, "cumulative_return", label, lambda c: c / c.iloc[0] - 1.0
    )


def drawdown_series(ds: Dataset, ticker: str, as_of: date) -> Series:
    """close / running maximum - 1 on every row of the 12-month window series."""
    label = f"{ticker} drawdown from its running peak over 12 months"
    return _window_line(ds, ticker, as_of, "drawdown", label, lambda c: c / c.cummax() - 1.0)


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def monthly_theme_flows(ds: Dataset, as_of: date, months: int = 12) -> Series:
    """Net flows of the theme ETFs (universe at ``as_of``) per calendar month.

    The last ``months`` months up to ``as_of``; each point is keyed by its month-end date,
    the last by ``as_of`` itself (month to date when ``as_of`` is not a month-end). A month
    without a flow row sums to 0, as in the contract's flow convention.
    """
    return _monthly_flows(
        ds,
        as_of,
        months,
        theme_etfs(ds, as_of),
        "series.theme.flows.monthly",
        "Net flows into theme ETFs by calendar month (latest month to date)",
    )


def monthly_fund_flows(ds: Dataset, ticker: str, as_of: date, months: int = 12) -> Series:
    """Net flows of one ETF per calendar month, exactly as :func:`monthly_theme_flows`."""
    return _monthly_flows(
        ds,
        as_of,
        months,
        [ticker],
        f"series.{ticker}.flows.monthly",
        f"Net flows into {ticker} by calendar month (latest month to date)",
    )


def _monthly_flows(
    ds: Dataset, as_of: date, months: int, tickers: list[str], series_id: str, label: str
) -> Series:
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    index = as_of.year * 12 + as_of.month - 1  # month number of as_of
    keys = [divmod(i, 12) for i in range(index - months + 1, index + 1)]
    start = date(keys[0][0], keys[0][1] + 1, 1) - timedelta(days=1)
    f = ds.flows
    rows = f.loc[
        (f["date"] > pd.Timestamp(start))
        & (f["date"] <= pd.Timestamp(as_of))
        & f["ticker"].isin(tickers)
    ]
    month_of = rows["date"].dt.year * 12 + rows["date"].dt.month - 1
    sums = rows["net_flow_usd"].groupby(month_of).sum()
    points: list[Point] = []
    for year, m0 in keys:
        key = min(_month_end(year, m0 + 1), as_of)
        points.append((key, float(sums.get(year * 12 + m0, 0.0))))
    newest = rows["date"].max().date() if len(rows) else as_of
    return Series(
        id=series_id,
        label=label,
        unit="usd",
        points=tuple(points),
        source=join_sources([ds.sources["flows"]]),
        as_of=newest,
    )
