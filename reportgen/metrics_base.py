"""Shared ground of the metric modules: contract dates, the universe, "X at t", window series.

Everything here follows contract section 2 word for word; docs/facts.md is the reader's
version. The frames come from :class:`reportgen.dataset.Dataset` and are relied on to be
sorted by (ticker, date) (holdings by fund, as_of, security), as that class documents:
"latest row" and "first row" are taken positionally, without re-sorting millions of rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import pandas as pd

from reportgen.dataset import Dataset
from reportgen.facts import Fact, Unit, make_fact, null_fact

#: Trading days per year used to annualise daily volatility.
TRADING_DAYS = 252
#: Rows in the "last 21 rows" of the spread and ADV conventions.
RECENT_ROWS = 21
#: Holdings buckets of the contract, in the order the note lists them.
BUCKETS: tuple[str, ...] = ("infrastructure", "platform", "application")
ROLES: tuple[str, ...] = ("theme", "benchmark")


# --- contract dates ----------------------------------------------------------------------


def years_before(t: date, years: int) -> date:
    """The same month and day ``years`` calendar years earlier, Feb 29 becoming Feb 28."""
    try:
        return t.replace(year=t.year - years)
    except ValueError:  # Feb 29 into a non-leap year
        return t.replace(year=t.year - years, day=28)


def one_year_before(t: date) -> date:
    """The contract's "one year before t"."""
    return years_before(t, 1)


def previous_year_end(t: date) -> date:
    """December 31 of the previous year: the start of every year-to-date figure."""
    return date(t.year - 1, 12, 31)


def previous_month_end(t: date) -> date:
    """The last day of the previous calendar month: the start of every month-to-date figure."""
    return t.replace(day=1) - timedelta(days=1)


def performance_quarter_end(as_of: date) -> date:
    """The most recent calendar quarter-end on or before ``as_of``.

    Standardized performance is quoted to a quarter-end so that every fund is measured
    to the same, regulator-recognised date, whatever day the note is built.
    """
    if (as_of.month, as_of.day) in {(3, 31), (6, 30), (9, 30), (12, 31)}:
        return as_of
    month = (as_of.month - 1) // 3 * 3  # last quarter-end month strictly before this quarter
    if month == 0:
        return date(as_of.year - 1, 12, 31)
    return date(as_of.year, month + 1, 1) - timedelta(days=1)


def _ts(t: date) -> pd.Timestamp:
    return pd.Timestamp(t)


def _dates(values: pd.Series) -> dict[str, date]:
    """A Timestamp series keyed by ticker as plain dates."""
    return {k: pd.Timestamp(v).date() for k, v in values.items()}


def latest_on_or_before(
    frame: pd.DataFrame, t: date, *, key: str = "ticker", column: str = "date"
) -> pd.DataFrame:
    """Each key's latest row dated <= ``t`` ("X at t"), indexed by key.

    Relies on the frame being sorted by (key, date), as Dataset guarantees.
    """
    rows = frame.loc[frame[column] <= _ts(t)]
    return rows.drop_duplicates(key, keep="last").set_index(key)


# --- the universe --------------------------------------------------------------------------


def _instrument_tickers(ds: Dataset, kind: str, role: str | None = None) -> pd.Series:
    ins = ds.instruments
    mask = ins["kind"] == kind
    if role is not None:
        mask &= ins["role"] == role
    return ins.loc[mask, "ticker"]


def universe(ds: Dataset, as_of: date) -> list[str]:
    """ETFs with at least one price row dated <= ``as_of``, sorted (contract section 2)."""
    prices = ds.prices
    priced = prices.loc[prices["date"] <= _ts(as_of), "ticker"].unique()
    etfs = _instrument_tickers(ds, "etf")
    return sorted(etfs[etfs.isin(priced)].tolist())


def _etfs_of_role(ds: Dataset, as_of: date, role: str) -> list[str]:
    members = set(_instrument_tickers(ds, "etf", role))
    return [t for t in universe(ds, as_of) if t in members]


def theme_etfs(ds: Dataset, as_of: date) -> list[str]:
    """Theme ETFs in the universe at ``as_of``, sorted: what every theme aggregate sums over."""
    return _etfs_of_role(ds, as_of, "theme")


def benchmark_etfs(ds: Dataset, as_of: date) -> list[str]:
    """Benchmark (broad market) ETFs in the universe at ``as_of``, sorted."""
    return _etfs_of_role(ds, as_of, "benchmark")


def index_ticker(ds: Dataset, role: str) -> str:
    """The one index of ``role`` ("theme" or "benchmark"); the contract guarantees exactly one."""
    found = _instrument_tickers(ds, "index", role).tolist()
    if len(found) != 1:
        raise ValueError(f"expected exactly one {role} index, found {len(found)}: {found}")
    return str(found[0])


# --- per-ticker results -----------------------------------------------------------------------


@dataclass
class Figures:
    """One metric for many tickers: a value and the date of its newest input row, or why not."""

    values: dict[str, float] = field(default_factory=dict)
    dates: dict[str, date] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, values: pd.Series, dates: pd.Series) -> Figures:
        """Figures from vectorised results: two series indexed by ticker."""
        return cls(
            values={k: float(v) for k, v in values.items()},
            dates=_dates(dates.loc[values.index]),
        )

    def put(self, key: str, value: float, as_of: date) -> None:
        self.values[key] = value
        self.dates[key] = as_of

    def fail(self, key: str, reason: str) -> None:
        self.reasons[key] = reason

    def get(self, key: str) -> float | None:
        return self.values.get(key)

    def fact(
        self,
        key: str,
        fact_id: str,
        unit: Unit,
        *,
        sources: Iterable[str],
        as_of: date,
        style: str | None = None,
    ) -> Fact:
        """The fact for ``key``; ``as_of`` (D) is used only when the figure is undefined."""
        if key in self.values:
            return make_fact(
                fact_id,
                self.values[key],
                unit,
                as_of=self.dates[key],
                sources=sources,
                style=style,
            )
        return null_fact(
            fact_id, unit, self.reasons[key], as_of=as_of, sources=sources, style=style
        )


# --- the dataset cut at D, with what several metrics share --------------------------------------


class Context:
    """The dataset cut at ``as_of`` (no look-ahead) and the pieces several metrics reuse."""

    def __init__(self, ds: Dataset, as_of: date) -> None:
        self.ds = ds.up_to(as_of)
        self.as_of = as_of
        self._close_at: dict[date, pd.DataFrame] = {}

    def source(self, *stems: str) -> list[str]:
        """The sources.yaml sources of the files a fact used."""
        return [self.ds.sources[s] for s in stems]

    @cached_property
    def universe(self) -> list[str]:
        return universe(self.ds, self.as_of)

    @cached_property
    def role_of(self) -> dict[str, str]:
        ins = self.ds.instruments
        return dict(zip(ins["ticker"], ins["role"], strict=True))

    @cached_property
    def kind_of(self) -> dict[str, str]:
        ins = self.ds.instruments
        return dict(zip(ins["ticker"], ins["kind"], strict=True))

    def etfs(self, role: str) -> list[str]:
        return [t for t in self.universe if self.role_of.get(t) == role]

    def index(self, role: str) -> str:
        return index_ticker(self.ds, role)

    @cached_property
    def first_row(self) -> dict[str, date]:
        """Each ticker's first price row: named in reasons when history starts too late."""
        firsts = self.ds.prices.drop_duplicates("ticker", keep="first").set_index("ticker")
        return _dates(firsts["date"])

    def close_at(self, t: date) -> pd.DataFrame:
        """Each ticker's latest price row dated <= ``t`` (columns date, close), by ticker."""
        if t not in self._close_at:
            rows = latest_on_or_before(self.ds.prices, t)
            self._close_at[t] = rows[["date", "close"]]
        return self._close_at[t]

    @cached_property
    def window(self) -> pd.DataFrame:
        """12-month window series of every priced ticker (see :func:`window_series`)."""
        return window_series(self.ds.prices, self.as_of)

    @cached_property
    def aum_at(self) -> pd.DataFrame:
        """Each ETF's AUM at D (columns date, aum_usd), by ticker."""
        return latest_on_or_before(self.ds.aum, self.as_of)[["date", "aum_usd"]]

    @cached_property
    def latest_holdings(self) -> pd.DataFrame:
        """Each fund's holdings rows of its latest ``as_of`` <= D."""
        h = self.ds.holdings
        newest = h.groupby("fund")["as_of"].transform("max")
        return h.loc[h["as_of"] == newest]

    def label(self, ticker: str) -> str:
        """How a message names a ticker: indexes with their role ("benchmark index NDX")."""
        if self.kind_of.get(ticker) == "index":
            return f"{self.role_of[ticker]} index {ticker}"
        return ticker

    def no_close_reason(self, ticker: str, t: date, what: str) -> str:
        """Why a close at ``t`` is missing, naming where the ticker's history begins."""
        first = self.first_row.get(ticker)
        seen = (
            f"first price row {first}"
            if first is not None
            else f"no price row on or before {self.as_of}"
        )
        return f"no close on or before {t} ({what}) for {self.label(ticker)} ({seen})"


def window_series(prices: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Every ticker's 12-month window series with its daily returns.

    Rows from ``s0`` (the ticker's latest row <= one year before ``as_of``) to ``as_of``;
    tickers without ``s0`` are left out. ``ret`` is close over the previous row's close
    minus 1 (NaN on the ``s0`` row): gaps are not filled, the next return spans them.
    Columns: ticker, date, close, ret.
    """
    p = prices.loc[prices["date"] <= _ts(as_of), ["ticker", "date", "close"]]
    s0 = latest_on_or_before(p, one_year_before(as_of))["date"]
    p = p.loc[p["ticker"].isin(s0.index)]
    # reindex, not Series.map: pandas 3.1 map() fails on an empty datetime mapper
    starts = s0.reindex(p["ticker"]).to_numpy()
    w = p.loc[p["date"].to_numpy() >= starts].reset_index(drop=True)
    previous = w.groupby("ticker", sort=False)["close"].shift(1)
    return w.assign(ret=w["close"] / previous - 1.0)
