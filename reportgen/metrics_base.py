"""Shared ground of the metric modules: contract dates, the universe, "X at t", window series.

Everything here follows contract section 2 word for word; docs/facts.md is the reader's
version. The frames come from :class:`reportgen.dataset.Dataset`, sorted by (ticker, date)
(holdings by fund, as_of, security) as that class documents; :class:`Panel` turns that
order into binary searches ("latest row <= t", "last 21 rows") instead of passes over
millions of rows, and sorts a frame itself if it ever arrives unsorted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import numpy as np
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


def _dates(values: pd.Series) -> dict[str, date]:
    """A Timestamp series keyed by ticker as plain dates."""
    return {str(k): pd.Timestamp(v).date() for k, v in values.items()}


# --- the universe --------------------------------------------------------------------------


def _instrument_tickers(ds: Dataset, kind: str, role: str | None = None) -> pd.Series:
    ins = ds.instruments
    mask = ins["kind"] == kind
    if role is not None:
        mask &= ins["role"] == role
    return ins.loc[mask, "ticker"]


def _etfs_priced(ds: Dataset, priced: Iterable[str]) -> list[str]:
    have = set(priced)
    return sorted(t for t in _instrument_tickers(ds, "etf") if t in have)


def universe(ds: Dataset, as_of: date) -> list[str]:
    """ETFs with at least one price row dated <= ``as_of``, sorted (contract section 2)."""
    prices = ds.prices
    return _etfs_priced(ds, prices.loc[prices["date"] <= pd.Timestamp(as_of), "ticker"].unique())


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
            values={str(k): float(v) for k, v in values.items()},
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


# --- frames sorted by (key, date), indexed for per-key lookups ---------------------------------

_GROUP_STRIDE = 2**32  # room for any day number (offset by _DAY_OFFSET) within one group
_DAY_OFFSET = 2**31


def _day_numbers(values: pd.Series) -> np.ndarray:
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)


def day_number(t: date) -> int:
    return int(np.datetime64(t, "D").astype(np.int64))


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The row positions [lo_k, hi_k) of every k, concatenated in order."""
    lengths = np.maximum(hi - lo, 0)
    starts_out = np.cumsum(lengths) - lengths
    return np.repeat(lo - starts_out, lengths) + np.arange(int(lengths.sum()))


class Panel:
    """A frame sorted by (key, date) -- as Dataset guarantees -- indexed for per-key lookups.

    "Latest row <= t", "first row", "rows after t" and "last n rows" become binary
    searches and slices, not filters and group-bys over millions of rows: the 5,000-ETF,
    ten-year universe stays a few passes over the data. A frame that is not sorted
    (or whose keys are not contiguous) is sorted once, stably, rather than misread.
    """

    def __init__(self, frame: pd.DataFrame, key: str = "ticker", column: str = "date") -> None:
        self.key = key
        self.column = column
        self._index(frame.reset_index(drop=True))
        if len(set(self.names)) != len(self.names) or np.any(np.diff(self._order) < 0):
            self._index(frame.sort_values([key, column], kind="stable").reset_index(drop=True))

    def _index(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        keys = frame[self.key].to_numpy(dtype=object)
        bounds = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        self.starts = np.concatenate(([0], bounds)).astype(np.int64) if len(keys) else bounds
        self.ends = np.concatenate((bounds, [len(keys)])).astype(np.int64)[: len(self.starts)]
        self.names: list[str] = [str(k) for k in keys[self.starts]]
        self.days = _day_numbers(frame[self.column])
        group = np.repeat(np.arange(len(self.starts), dtype=np.int64), self.ends - self.starts)
        self._order = group * _GROUP_STRIDE + self.days + _DAY_OFFSET
        self.group_of = {name: g for g, name in enumerate(self.names)}

    def groups(self, names: Iterable[str] | None = None) -> np.ndarray:
        """Group numbers of ``names`` that have rows (all groups when None), in name order."""
        if names is None:
            return np.arange(len(self.names), dtype=np.int64)
        found = [self.group_of[n] for n in names if n in self.group_of]
        return np.array(sorted(found), dtype=np.int64)

    def _search(self, groups: np.ndarray, days: np.ndarray | int, side: str) -> np.ndarray:
        probe = groups * _GROUP_STRIDE + days + _DAY_OFFSET
        return np.searchsorted(self._order, probe, side=side)  # type: ignore[call-overload]

    def last_on_or_before(self, t: date, groups: np.ndarray) -> np.ndarray:
        """Per group, the position of its latest row dated <= ``t``, or -1."""
        pos = self._search(groups, day_number(t), "right") - 1
        return np.where(pos >= self.starts[groups], pos, -1)

    def first_on_or_after(self, days: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Per group, the position of its first row dated >= its day number, or -1."""
        pos = self._search(groups, days, "left")
        return np.where(pos < self.ends[groups], pos, -1)

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """The rows at ``positions`` (those >= 0), indexed by key."""
        return self.frame.iloc[positions[positions >= 0]].set_index(self.key)

    def at(self, t: date, names: Iterable[str] | None = None) -> pd.DataFrame:
        """Each key's latest row dated <= ``t`` ("X at t"), indexed by key."""
        return self.rows(self.last_on_or_before(t, self.groups(names)))

    def after(self, t: date, names: Iterable[str] | None = None) -> pd.DataFrame:
        """The rows dated after ``t`` of ``names``."""
        groups = self.groups(names)
        last = self.last_on_or_before(t, groups)
        lo = np.where(last >= 0, last + 1, self.starts[groups])
        return self.frame.iloc[_ranges(lo, self.ends[groups])]

    def tail(self, n: int, names: Iterable[str] | None = None) -> pd.DataFrame:
        """Each key's last ``n`` rows (all when fewer)."""
        groups = self.groups(names)
        ends = self.ends[groups]
        return self.frame.iloc[_ranges(np.maximum(self.starts[groups], ends - n), ends)]

    def first_days(self) -> dict[str, date]:
        """Each key's first date."""
        firsts = self.days[self.starts].astype("datetime64[D]").tolist()
        return dict(zip(self.names, firsts, strict=True))


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
    def prices(self) -> Panel:
        return Panel(self.ds.prices)

    @cached_property
    def flows(self) -> Panel:
        return Panel(self.ds.flows)

    @cached_property
    def spreads(self) -> Panel:
        return Panel(self.ds.spreads)

    @cached_property
    def universe(self) -> list[str]:
        return _etfs_priced(self.ds, self.prices.names)

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
        return self.prices.first_days()

    def close_at(self, t: date) -> pd.DataFrame:
        """Each ticker's latest price row dated <= ``t`` (columns date, close), by ticker."""
        if t not in self._close_at:
            self._close_at[t] = self.prices.at(t)[["date", "close"]]
        return self._close_at[t]

    @cached_property
    def window(self) -> pd.DataFrame:
        """12-month window series of every priced ticker (see :func:`window_series`)."""
        return window_series(self.prices, self.as_of)

    @cached_property
    def aum_at(self) -> pd.DataFrame:
        """Each ETF's AUM at D (columns date, aum_usd), by ticker."""
        return Panel(self.ds.aum).at(self.as_of)[["date", "aum_usd"]]

    @cached_property
    def latest_holdings(self) -> pd.DataFrame:
        """Each fund's holdings rows of its latest ``as_of`` <= D."""
        h = Panel(self.ds.holdings, key="fund", column="as_of")
        groups = h.groups()
        last = h.ends[groups] - 1  # the frame is cut at D
        first = h.first_on_or_after(h.days[last], groups)
        return h.frame.iloc[_ranges(first, h.ends[groups])]

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


def window_series(prices: Panel, as_of: date) -> pd.DataFrame:
    """Every ticker's 12-month window series with its daily returns.

    Rows from ``s0`` (the ticker's latest row <= one year before ``as_of``) to ``as_of``
    (the panel holds no later row); tickers without ``s0`` are left out. ``ret`` is close
    over the previous row's close minus 1 (NaN on the ``s0`` row): gaps are not filled,
    the next return spans them. Columns: ticker, date, close, ret.
    """
    groups = prices.groups()
    s0 = prices.last_on_or_before(one_year_before(as_of), groups)
    has = s0 >= 0
    lo, hi = s0[has], prices.ends[groups][has]
    rows = _ranges(lo, hi)
    w = prices.frame.iloc[rows][["ticker", "date", "close"]].reset_index(drop=True)
    close = w["close"].to_numpy(dtype=float)
    previous = np.concatenate(([np.nan], close[:-1]))
    previous[np.cumsum(hi - lo) - (hi - lo)] = np.nan  # each s0 row starts a new series
    return w.assign(ret=close / previous - 1.0)
