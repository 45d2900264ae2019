"""Small synthetic markets for end-to-end tests: seeded, deterministic, contract CSVs.

API::

    folder = write_market(tmp_path / "data", theme_ytd=-0.18, benchmark_ytd=-0.06,
                          theme_flows_ytd=-1e9)
    tables = market_tables(...)      # the same dataset as rows of text, to mutate first
    write_dataset(folder, tables)    # (tests.dataset_factory) writes such tables

The dataset (contract section 1) covers every weekday of about 15 months ending
at ``as_of`` (default 31 March 2026): a theme index and a benchmark index, four
theme ETFs and two benchmark ETFs (``DEFAULT_ETFS``, each an :class:`EtfSpec`),
flows, AUM and spreads for every ETF on every day, holdings for the first three
theme ETFs on two dates (sectors and buckets), and a ``sources.yaml`` with a
``label``.

What is exact by construction (up to the 6 decimals the closes are written with,
far below the 0.1 % the note prints):

- ``theme_ytd`` / ``benchmark_ytd``: the index's close at ``as_of`` over its close
  on the last weekday <= December 31 of the previous year, minus 1. The seeded
  daily log returns of the year to date are shifted by a constant so they sum
  to ``log(1 + ytd)``; the final close is then set from the written December
  close, so rounding cannot move it.
- ``theme_flows_ytd``: the sum of ``net_flow_usd`` of the theme ETFs with
  December 31 < date <= ``as_of`` (whole dollars; the total must be a whole
  number). It is spread over the theme ETFs and days with positive weights, so
  every theme ETF and every period of the year (the latest month too) has the
  sign of the total; a total of 0 gives 0 on every day of the year. Flows
  before the year are seeded noise.
- Each ETF's ``aum_usd`` on ``as_of`` is its spec's ``aum`` (so a test picks the
  largest fund, the ``leader`` of the monthly note).

ETFs track their role's index with seeded noise and their spec's extra yearly
drift (``alpha``), so 12-month returns differ between funds. Names, issuers,
tickers and holdings sectors are free text: pass ``etfs=`` (for example
``replace(DEFAULT_ETFS[0], name="<b>x</b>")``) and ``sectors=`` to inject any
text. Everything is a function of the arguments and ``seed``: the same call
writes byte-identical files.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.dataset_factory import write_dataset

AS_OF = date(2026, 3, 31)
LABEL = "Synthetic test market - not actual market data"
MONTHS = 15


@dataclass(frozen=True)
class EtfSpec:
    """One ETF of the synthetic market."""

    ticker: str
    name: str
    role: str  # "theme" or "benchmark"
    issuer: str
    expense_ratio: float
    aum: float  # USD on the as-of date
    alpha: float = 0.0  # extra log return per year over its index
    first_close: float = 50.0


@dataclass(frozen=True)
class IndexSpec:
    ticker: str
    name: str
    first_level: float
    vol: float  # yearly volatility of the daily log returns


THEME_INDEX = IndexSpec("AITX", "Synthetic AI Theme Index", 1000.0, 0.28)
BENCHMARK_INDEX = IndexSpec("TECX", "Synthetic Broad Tech Index", 5000.0, 0.18)

DEFAULT_ETFS: tuple[EtfSpec, ...] = (
    EtfSpec("AIBG", "Northgate AI Leaders ETF", "theme", "Northgate Funds", 0.0045, 6.0e9, 0.01),
    EtfSpec("AIRB", "Kestrel Robotics & AI ETF", "theme", "Kestrel Capital", 0.0068, 3.0e9),
    EtfSpec(
        "AISW", "Larchmont AI Software ETF", "theme", "Larchmont Advisors", 0.0055, 1.5e9, -0.02
    ),
    EtfSpec("AICH", "Osprey AI Chips ETF", "theme", "Osprey Investments", 0.0060, 0.5e9, 0.08),
    EtfSpec("TKBR", "Northgate Broad Tech ETF", "benchmark", "Northgate Funds", 0.0008, 20e9),
    EtfSpec("TKCR", "Core Technology Tracker", "benchmark", "Core Index Shares", 0.0003, 9e9),
)

#: The holdings' sectors, in the order they are dealt to securities.
DEFAULT_SECTORS: tuple[str, ...] = (
    "Semiconductors",
    "Software",
    "Hardware",
    "Cloud Infrastructure",
    "Internet Services",
)
_BUCKET_OF = {
    0: "infrastructure",
    1: "application",
    2: "infrastructure",
    3: "platform",
    4: "platform",
}
HOLDINGS_PER_FUND = 12
FUNDS_WITH_HOLDINGS = 3


def weekdays(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _start(as_of: date) -> date:
    month = as_of.month - MONTHS
    year = as_of.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1)


def _month_end(d: date) -> date:
    """The last weekday of d's month."""
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    day = nxt - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _raw_steps(
    days: list[date], rng: random.Random, vols: dict[str, float]
) -> dict[str, list[float]]:
    """Seeded daily log returns of both indexes; the theme moves with the benchmark (beta 1.3)."""
    n = len(days) - 1
    day_vol = {role: vol / math.sqrt(252) for role, vol in vols.items()}
    bench = [rng.gauss(0.0003, day_vol["benchmark"]) for _ in range(n)]
    rest = math.sqrt(max(day_vol["theme"] ** 2 - (1.3 * day_vol["benchmark"]) ** 2, 0.0))
    theme = [1.3 * b + rng.gauss(0.0, rest) for b in bench]
    return {"theme": theme, "benchmark": bench}


def _index_path(spec: IndexSpec, steps: list[float], year_start: int, ytd: float) -> list[float]:
    """Closes (rounded to 6 decimals) whose YTD return from close[year_start - 1] is ``ytd``."""
    # steps[i] moves day i -> day i + 1; the year's steps start at index year_start - 1
    ytd_steps = steps[year_start - 1 :]
    shift = (math.log1p(ytd) - sum(ytd_steps)) / len(ytd_steps)
    steps = steps[: year_start - 1] + [s + shift for s in ytd_steps]
    closes, level = [round(spec.first_level, 6)], spec.first_level
    for step in steps:
        level *= math.exp(step)
        closes.append(round(level, 6))
    closes[-1] = round(closes[year_start - 1] * (1 + ytd), 6)
    return closes


def _num(x: float, decimals: int) -> str:
    text = f"{x:.{decimals}f}"
    return "0" if text.strip("-0.") == "" else text


def market_tables(
    *,
    as_of: date = AS_OF,
    theme_ytd: float = 0.15,
    benchmark_ytd: float = 0.07,
    theme_flows_ytd: int = 4_000_000_000,
    etfs: Sequence[EtfSpec] = DEFAULT_ETFS,
    sectors: Sequence[str] = DEFAULT_SECTORS,
    theme_index: IndexSpec = THEME_INDEX,
    benchmark_index: IndexSpec = BENCHMARK_INDEX,
    label: str = LABEL,
    seed: int = 7,
) -> dict[str, Any]:
    """The dataset as rows of text (the shape ``tests.dataset_factory.write_dataset`` takes)."""
    if theme_flows_ytd != int(theme_flows_ytd):
        raise ValueError("theme_flows_ytd must be a whole number of dollars")
    if not any(e.role == "theme" for e in etfs):
        raise ValueError("a market needs at least one theme ETF")
    rng = random.Random(seed)
    days = weekdays(_start(as_of), as_of)
    dec31 = date(as_of.year - 1, 12, 31)
    year_start = next(k for k, d in enumerate(days) if d > dec31)
    indexes = {"theme": theme_index, "benchmark": benchmark_index}
    ytds = {"theme": theme_ytd, "benchmark": benchmark_ytd}
    steps = _raw_steps(days, rng, {role: spec.vol for role, spec in indexes.items()})
    levels = {
        role: _index_path(spec, steps[role], year_start, ytds[role])
        for role, spec in indexes.items()
    }

    tables: dict[str, Any] = {
        stem: [] for stem in ("instruments", "prices", "flows", "aum", "spreads", "holdings")
    }
    for role, spec in indexes.items():
        tables["instruments"].append(
            {
                "ticker": spec.ticker,
                "name": spec.name,
                "kind": "index",
                "role": role,
                "issuer": "",
                "expense_ratio": "",
                "inception_date": "",
            }
        )
    for e in etfs:
        tables["instruments"].append(
            {
                "ticker": e.ticker,
                "name": e.name,
                "kind": "etf",
                "role": e.role,
                "issuer": e.issuer,
                "expense_ratio": _num(e.expense_ratio, 6),
                "inception_date": "2018-06-01",
            }
        )
    for role, spec in indexes.items():
        for d, level in zip(days, levels[role], strict=True):
            tables["prices"].append(
                {
                    "date": d.isoformat(),
                    "ticker": spec.ticker,
                    "close": _num(level, 6),
                    "volume": "",
                }
            )

    # theme flows of the year: positive weights over (ETF, day), exact whole-dollar total
    theme = [e for e in etfs if e.role == "theme"]
    ytd_days = days[year_start:]
    cells = [(e.ticker, d) for e in theme for d in ytd_days]
    weights = [rng.uniform(0.5, 1.5) * (1 + 3 * (e.aum / max(x.aum for x in theme))) for e in theme]
    raw = [weights[i // len(ytd_days)] * rng.uniform(0.2, 1.8) for i in range(len(cells))]
    scale = theme_flows_ytd / sum(raw)
    ytd_flows = [round(w * scale) for w in raw]
    ytd_flows[-1] += int(theme_flows_ytd) - sum(ytd_flows)
    flow_of = dict(zip(cells, ytd_flows, strict=True))

    for e in etfs:
        sigma = 0.02 / math.sqrt(252)
        drift = e.alpha / 252
        closes, close = [], e.first_close
        base = levels[e.role]
        for k, _d in enumerate(days):
            if k:
                close *= base[k] / base[k - 1] * math.exp(drift + rng.gauss(0, sigma))
            closes.append(close)
        last = closes[-1]
        for k, d in enumerate(days):
            text = d.isoformat()
            volume = int(e.aum / 300 / closes[k] * rng.uniform(0.5, 1.5))
            tables["prices"].append(
                {
                    "date": text,
                    "ticker": e.ticker,
                    "close": _num(closes[k], 4),
                    "volume": str(volume),
                }
            )
            if d > dec31 and e.role == "theme":
                flow = flow_of[(e.ticker, d)]
            else:
                flow = round(rng.gauss(0.0, e.aum / 2000))
            tables["flows"].append({"date": text, "ticker": e.ticker, "net_flow_usd": str(flow)})
            aum = e.aum if k == len(days) - 1 else e.aum * closes[k] / last
            tables["aum"].append({"date": text, "ticker": e.ticker, "aum_usd": _num(aum, 0)})
            spread = (1.0 + 2e10 / e.aum) * rng.uniform(0.8, 1.2)
            tables["spreads"].append(
                {"date": text, "ticker": e.ticker, "spread_bps": _num(spread, 2)}
            )

    holding_dates = [_month_end(as_of - timedelta(days=40)), _month_end(as_of)]
    holding_dates = [d if d <= as_of else as_of for d in holding_dates]
    for n, e in enumerate(theme[:FUNDS_WITH_HOLDINGS]):
        for h_date in holding_dates:
            raw_w = [rng.uniform(0.2, 1.0) / (1 + 0.25 * i) for i in range(HOLDINGS_PER_FUND)]
            total = sum(raw_w) / 0.95
            for i, w in enumerate(raw_w):
                s = (i + n) % len(sectors)
                tables["holdings"].append(
                    {
                        "as_of": h_date.isoformat(),
                        "fund": e.ticker,
                        "security": f"SEC{i + 3 * n:02d}",
                        "name": f"Synthetic Holding {i + 3 * n:02d} Corp",
                        "weight": _num(w / total, 6),
                        "sector": sectors[s],
                        "bucket": _BUCKET_OF[s % len(_BUCKET_OF)],
                    }
                )
    tables["sources"] = {
        "label": label,
        "instruments": {"source": "Synthetic issuer prospectuses"},
        "prices": {"source": "Synthetic index and exchange closes"},
        "flows": {"source": "Synthetic flow monitor"},
        "aum": {"source": "Synthetic issuer fact sheets"},
        "spreads": {"source": "Synthetic quote data"},
        "holdings": {"source": "Synthetic holdings files"},
    }
    return tables


def write_market(folder: Path, **params: Any) -> Path:
    """Write ``market_tables(**params)`` into ``folder`` (created if needed); return it."""
    return write_dataset(folder, market_tables(**params))
