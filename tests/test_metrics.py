"""Metric conventions (contract section 2 and docs/facts.md) on small hand-made datasets.

Every expected value is worked out here by hand arithmetic or with a second method
(the ``statistics`` module, plain Python loops), never with the pandas call under test.
"""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from reportgen.dataset import Dataset
from reportgen.metrics import (
    MetricParams,
    benchmark_etfs,
    compute_facts,
    cumulative_return_series,
    drawdown_series,
    index_ticker,
    monthly_theme_flows,
    one_year_before,
    performance_quarter_end,
    sector_slugs,
    since_inception_annualized,
    theme_etfs,
    universe,
)
from reportgen.metrics_extra import exposure_sector_names

D = date(2026, 3, 31)
TOL = 1e-12

SOURCES = {
    "instruments": "Issuer filings",
    "prices": "Exchange data",
    "flows": "Flow vendor",
    "aum": "Issuer AUM",
    "spreads": "Quote vendor",
    "holdings": "Issuer holdings",
}


# --- a tiny Dataset builder -------------------------------------------------------------


def _dates(values: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(values), dtype="datetime64[ns]")


def _frame(rows: list[tuple], columns: list[str], dated: str, sort: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    frame[dated] = _dates(list(frame[dated]))
    return frame.sort_values(sort, kind="stable").reset_index(drop=True)


def build(
    instruments: list[tuple],
    prices: list[tuple],
    flows: list[tuple] = (),  # type: ignore[assignment]
    aum: list[tuple] = (),  # type: ignore[assignment]
    spreads: list[tuple] = (),  # type: ignore[assignment]
    holdings: list[tuple] = (),  # type: ignore[assignment]
    *,
    cut: date | None = None,
) -> Dataset:
    """A Dataset as load_dataset documents it; ``cut`` drops later rows in plain Python."""

    def keep(rows: list[tuple]) -> list[tuple]:
        return [r for r in rows if cut is None or date.fromisoformat(r[0]) <= cut]

    ins = pd.DataFrame(
        [
            {
                "ticker": t,
                "name": f"{t} fund",
                "kind": kind,
                "role": role,
                "issuer": "Issuer" if kind == "etf" else None,
                "expense_ratio": float("nan") if er is None else er,
                "inception_date": inc,
            }
            for t, kind, role, er, inc in instruments
        ]
    )
    ins["inception_date"] = pd.Series(
        pd.to_datetime(list(ins["inception_date"])), dtype="datetime64[ns]"
    )
    ins = ins.sort_values("ticker").reset_index(drop=True)
    price_rows = [(d, t, c, float("nan") if v is None else float(v)) for d, t, c, v in prices]
    return Dataset(
        path=Path("test"),
        instruments=ins,
        prices=_frame(
            keep(price_rows), ["date", "ticker", "close", "volume"], "date", ["ticker", "date"]
        ),
        flows=_frame(keep(flows), ["date", "ticker", "net_flow_usd"], "date", ["ticker", "date"]),
        aum=_frame(keep(aum), ["date", "ticker", "aum_usd"], "date", ["ticker", "date"]),
        spreads=_frame(keep(spreads), ["date", "ticker", "spread_bps"], "date", ["ticker", "date"]),
        holdings=_frame(
            keep(holdings),
            ["as_of", "fund", "security", "name", "weight", "sector", "bucket"],
            "as_of",
            ["fund", "as_of", "security"],
        ),
        sources=dict(SOURCES),
    )


def business_days(start: str, end: str) -> list[str]:
    day, last = date.fromisoformat(start), date.fromisoformat(end)
    out = []
    while day <= last:
        if day.weekday() < 5:
            out.append(day.isoformat())
        day += timedelta(days=1)
    return out


# --- the base scenario (D = 2026-03-31) -------------------------------------------------

INSTRUMENTS = [
    ("THX", "index", "theme", None, None),
    ("BMX", "index", "benchmark", None, None),
    ("AAA", "etf", "theme", 0.0065, "2019-01-15"),
    ("BBB", "etf", "theme", 0.0020, None),
    ("SPR", "etf", "theme", 0.0045, None),
    ("NEW", "etf", "theme", 0.0090, "2026-02-02"),
    ("LATE", "etf", "theme", 0.0001, "2026-05-01"),
    ("CCC", "etf", "benchmark", 0.0003, "2010-01-04"),
]

AAA_CLOSES = [
    ("2019-01-15", 40.0),
    ("2021-03-31", 60.0),
    ("2024-12-31", 80.0),
    ("2025-03-31", 100.0),
    ("2025-06-30", 110.0),
    ("2025-09-30", 99.0),
    ("2025-12-31", 120.0),
    ("2026-02-27", 126.0),
    ("2026-03-31", 132.0),
]
THX_CLOSES = [
    ("2025-03-31", 500.0),
    ("2025-06-30", 520.0),
    ("2025-09-30", 540.0),
    ("2025-12-31", 600.0),
    ("2026-02-27", 640.0),
    ("2026-03-31", 690.0),
]
BMX_CLOSES = [
    ("2025-03-31", 1000.0),
    ("2025-06-30", 1050.0),
    ("2025-09-30", 1020.0),
    ("2025-12-31", 1100.0),
    ("2026-02-27", 1150.0),
    ("2026-03-31", 1177.0),
]
CCC_DAILY = business_days("2026-02-16", "2026-03-31")
CCC_CLOSES = [("2025-03-31", 50.0), ("2025-12-31", 55.0)] + [
    (d, 56.0 + 0.1 * i) for i, d in enumerate(CCC_DAILY)
]
CCC_VOLUMES = [3000.0, 3000.0] + [2000.0 + 10 * i for i in range(len(CCC_DAILY))]

PRICES = (
    [(d, "AAA", c, 1000 * (i + 1)) for i, (d, c) in enumerate(AAA_CLOSES)]
    + [("2026-04-30", "AAA", 200.0, 5000)]  # after D
    + [
        ("2025-03-28", "BBB", 20.0, 100),
        ("2025-09-30", "BBB", 22.0, 100),
        ("2026-03-30", "BBB", 25.0, 100),  # BBB misses D
    ]
    + [("2025-01-10", "SPR", 10.0, 50), ("2026-03-31", "SPR", 11.0, 50)]
    + [("2026-02-02", "NEW", 10.0, 10), ("2026-03-02", "NEW", 10.5, 10)]
    + [("2026-03-31", "NEW", 10.8, 10)]
    + [("2026-05-01", "LATE", 10.0, 10)]  # launches after D
    + [(d, "CCC", c, v) for (d, c), v in zip(CCC_CLOSES, CCC_VOLUMES, strict=True)]
    + [(d, "THX", c, None) for d, c in THX_CLOSES]
    + [(d, "BMX", c, None) for d, c in BMX_CLOSES]
    + [("2026-04-01", "BMX", 2000.0, None)]  # after D
)

M = 1e6
FLOWS = [
    ("2025-12-31", "AAA", 1000 * M),  # on the YTD start: excluded
    ("2026-01-15", "AAA", 500 * M),
    ("2026-02-28", "AAA", 200 * M),  # on the month start: excluded from the month
    ("2026-03-10", "AAA", 300 * M),
    ("2026-03-31", "AAA", 50 * M),  # on D: included
    ("2026-04-01", "AAA", 9999 * M),  # after D: ignored
    ("2026-02-10", "BBB", -100 * M),
    ("2026-03-05", "BBB", -40 * M),
    ("2026-03-20", "NEW", 60 * M),
    ("2026-03-15", "LATE", 777 * M),  # before LATE is in the universe: excluded from totals
    ("2026-03-02", "CCC", 5000 * M),  # a benchmark ETF: not a theme flow
]

AUM = [
    ("2025-12-31", "AAA", 1.8e9),
    ("2026-03-30", "AAA", 2.1e9),
    ("2026-04-02", "AAA", 5.0e9),  # after D
    ("2025-12-31", "BBB", 4.0e8),
    ("2026-03-31", "BBB", 5.0e8),
    ("2025-06-30", "SPR", 1.0e8),
    ("2026-03-31", "CCC", 3.0e11),
    ("2026-05-01", "LATE", 1.0e7),
]

AAA_SPREAD_DAYS = [(date(2026, 3, 7) + timedelta(days=i)).isoformat() for i in range(25)]
SPREADS = (
    [(d, "AAA", float(i + 1)) for i, d in enumerate(AAA_SPREAD_DAYS)]
    + [("2026-04-01", "AAA", 500.0)]  # after D
    + [("2026-03-27", "BBB", 8.0), ("2026-03-30", "BBB", 4.0), ("2026-03-31", "BBB", 30.0)]
    + [("2026-03-31", "CCC", 1.0), ("2026-01-10", "SPR", 12.0)]
)

IT, CS, CD, IND = (
    "Information Technology",
    "Communication Services",
    "Consumer Discretionary",
    "Industrials",
)
AAA_WEIGHTS = [0.15, 0.12, 0.10, 0.09, 0.08, 0.07, 0.06, 0.05, 0.05, 0.04, 0.03, 0.02]
AAA_SECTOR = [IT] * 4 + [CS] * 4 + [CD] * 4
AAA_BUCKET = ["infrastructure"] * 4 + ["platform"] * 4 + ["application"] * 4
HOLDINGS = (
    [("2025-12-31", "AAA", "OLD", "Old Co", 0.5, IT, "platform")]
    + [
        ("2026-02-28", "AAA", f"S{i:02d}", f"Sec {i}", w, s, b)
        for i, (w, s, b) in enumerate(zip(AAA_WEIGHTS, AAA_SECTOR, AAA_BUCKET, strict=True))
    ]
    + [("2026-04-30", "AAA", "FUT", "Future Co", 0.99, IT, "platform")]  # after D
    + [
        ("2026-03-31", "BBB", "T1", "T one", 0.5, IT, "infrastructure"),
        ("2026-03-31", "BBB", "T2", "T two", 0.3, IND, "platform"),
        ("2026-03-31", "BBB", "T3", "T three", 0.2, IT, "application"),
        ("2026-03-31", "LATE", "Q1", "Q one", 1.0, IT, "infrastructure"),
    ]
)


def base(cut: date | None = None) -> Dataset:
    return build(INSTRUMENTS, PRICES, FLOWS, AUM, SPREADS, HOLDINGS, cut=cut)


@pytest.fixture(scope="module")
def facts():
    return compute_facts(base(), D)


def value(facts, fact_id: str) -> float:
    fact = facts[fact_id]
    assert fact.value is not None, f"{fact_id}: {fact.reason}"
    return fact.value


def returns(closes: list[float]) -> list[float]:
    return [b / a - 1 for a, b in itertools.pairwise(closes)]


# --- dates ------------------------------------------------------------------------------


def test_one_year_before_maps_feb_29_to_feb_28():
    assert one_year_before(date(2028, 2, 29)) == date(2027, 2, 28)
    assert one_year_before(date(2026, 3, 31)) == date(2025, 3, 31)


@pytest.mark.parametrize(
    ("as_of", "quarter_end"),
    [
        (date(2026, 3, 31), date(2026, 3, 31)),
        (date(2026, 3, 30), date(2025, 12, 31)),
        (date(2026, 5, 15), date(2026, 3, 31)),
        (date(2026, 7, 1), date(2026, 6, 30)),
        (date(2026, 12, 30), date(2026, 9, 30)),
        (date(2026, 12, 31), date(2026, 12, 31)),
    ],
)
def test_performance_quarter_end(as_of, quarter_end):
    assert performance_quarter_end(as_of) == quarter_end


# --- universe ---------------------------------------------------------------------------


def test_universe_and_roles():
    ds = base()
    assert universe(ds, D) == ["AAA", "BBB", "CCC", "NEW", "SPR"]
    assert universe(ds, date(2026, 1, 15)) == ["AAA", "BBB", "CCC", "SPR"]
    assert theme_etfs(ds, D) == ["AAA", "BBB", "NEW", "SPR"]
    assert benchmark_etfs(ds, D) == ["CCC"]
    assert index_ticker(ds, "theme") == "THX"
    assert index_ticker(ds, "benchmark") == "BMX"


def test_etf_outside_the_universe_has_no_ids(facts):
    assert not [k for k in facts if "LATE" in k]
    early = compute_facts(base(), date(2026, 1, 15))
    assert not [k for k in early if ".NEW." in k]
    assert value(early, "theme.count") == 3
    assert value(facts, "theme.count") == 4


# --- returns ----------------------------------------------------------------------------


def test_ytd_and_12m_returns(facts):
    assert value(facts, "etf.AAA.return.ytd") == pytest.approx(132 / 120 - 1, abs=TOL)
    assert value(facts, "etf.AAA.return.12m") == pytest.approx(0.32, abs=TOL)
    assert value(facts, "index.theme.return.ytd") == pytest.approx(0.15, abs=TOL)
    assert value(facts, "index.benchmark.return.ytd") == pytest.approx(0.07, abs=TOL)
    assert value(facts, "index.theme.return.12m") == pytest.approx(0.38, abs=TOL)
    assert value(facts, "index.benchmark.return.12m") == pytest.approx(0.177, abs=TOL)
    assert facts["etf.AAA.return.ytd"].display == "10.0%"


def test_relative_returns_in_percentage_points(facts):
    rel = facts["index.relative.ytd"]
    assert rel.value == pytest.approx(0.08, abs=TOL)
    assert (rel.unit, rel.display, rel.as_of) == ("pp", "+8.0 pp", D)
    assert value(facts, "index.relative.12m") == pytest.approx(0.38 - 0.177, abs=TOL)


def test_ticker_missing_days_uses_latest_row_on_or_before(facts):
    # BBB has no row on 2025-12-31 (uses 2025-09-30) nor on D (uses 2026-03-30)
    fact = facts["etf.BBB.return.ytd"]
    assert fact.value == pytest.approx(25 / 22 - 1, abs=TOL)
    assert fact.as_of == date(2026, 3, 30)
    assert value(facts, "etf.BBB.return.12m") == pytest.approx(25 / 20 - 1, abs=TOL)


def test_history_starting_after_the_period_start_is_null_with_reason(facts):
    ytd = facts["etf.NEW.return.ytd"]
    assert ytd.value is None and ytd.display == "n/a"
    assert ytd.reason == (
        "no close on or before 2025-12-31 (end of the previous year) for NEW "
        "(first price row 2026-02-02)"
    )
    assert ytd.as_of == D and ytd.source == "Exchange data"
    twelve = facts["etf.NEW.return.12m"]
    assert twelve.value is None and "2025-03-31" in twelve.reason
    for metric in ("volatility.12m", "drawdown.12m", "beta.12m"):
        fact = facts[f"etf.NEW.{metric}"]
        assert fact.value is None
        assert "start of the 12-month window" in fact.reason
        assert "first price row 2026-02-02" in fact.reason


def test_feb_29_as_of():
    ins = [
        ("THX", "index", "theme", None, None),
        ("BMX", "index", "benchmark", None, None),
        ("AAA", "etf", "theme", 0.005, None),
    ]
    rows = [
        ("2027-02-26", 90.0),
        ("2027-02-28", 100.0),  # one year before 2028-02-29
        ("2027-03-01", 104.0),
        ("2027-12-31", 110.0),
        ("2028-02-29", 121.0),
    ]
    prices = [(d, t, c, 1) for t in ("AAA", "THX", "BMX") for d, c in rows]
    facts = compute_facts(build(ins, prices), date(2028, 2, 29))
    assert value(facts, "etf.AAA.return.12m") == pytest.approx(0.21, abs=TOL)
    assert value(facts, "etf.AAA.return.ytd") == pytest.approx(0.10, abs=TOL)
    # the window starts at 2027-02-28: four closes, three returns
    expected = statistics.stdev(returns([100.0, 104.0, 110.0, 121.0])) * math.sqrt(252)
    assert value(facts, "etf.AAA.volatility.12m") == pytest.approx(expected, rel=1e-12)


# --- 12-month window metrics ------------------------------------------------------------


def test_volatility_sample_stdev_annualized(facts):
    window = [c for d, c in AAA_CLOSES if d >= "2025-03-31"]
    expected = statistics.stdev(returns(window)) * math.sqrt(252)
    fact = facts["etf.AAA.volatility.12m"]
    assert fact.value == pytest.approx(expected, rel=1e-12)
    assert (fact.as_of, fact.source) == (D, "Exchange data")
    # BBB: s0 is 2025-03-28 (latest row <= 2025-03-31); the gap is spanned, not filled
    bbb = statistics.stdev(returns([20.0, 22.0, 25.0])) * math.sqrt(252)
    assert value(facts, "etf.BBB.volatility.12m") == pytest.approx(bbb, rel=1e-12)
    idx = statistics.stdev(returns([c for _, c in BMX_CLOSES])) * math.sqrt(252)
    assert value(facts, "index.benchmark.volatility.12m") == pytest.approx(idx, rel=1e-12)


def test_volatility_needs_three_closes(facts):
    fact = facts["etf.SPR.volatility.12m"]
    assert fact.value is None
    assert fact.reason == (
        "the 12-month window series of SPR has 2 close(s) (2025-01-10 to 2026-03-31); "
        "volatility needs at least 3"
    )
    assert value(facts, "etf.SPR.drawdown.12m") == 0.0


def test_max_drawdown(facts):
    assert value(facts, "etf.AAA.drawdown.12m") == pytest.approx(99 / 110 - 1, abs=TOL)
    assert value(facts, "index.benchmark.drawdown.12m") == pytest.approx(1020 / 1050 - 1, abs=TOL)
    assert value(facts, "index.theme.drawdown.12m") == 0.0
    assert facts["etf.AAA.drawdown.12m"].display == "-10.0%"


def test_beta_on_shared_dates(facts):
    aaa = returns([c for d, c in AAA_CLOSES if d >= "2025-03-31"])
    bmx = returns([c for _, c in BMX_CLOSES])
    expected = statistics.covariance(aaa, bmx) / statistics.variance(bmx)
    fact = facts["etf.AAA.beta.12m"]
    assert fact.value == pytest.approx(expected, rel=1e-12)
    assert (fact.unit, fact.as_of) == ("ratio", D)


def test_beta_keeps_only_shared_dates(facts):
    # CCC's own window: 2025-03-31, 2025-12-31, then daily rows; BMX shares 3 return dates
    closes = dict(CCC_CLOSES)
    ccc = [
        closes["2025-12-31"] / closes["2025-03-31"] - 1,
        closes["2026-02-27"] / closes["2026-02-26"] - 1,
        closes["2026-03-31"] / closes["2026-03-30"] - 1,
    ]
    bmx = [1100 / 1020 - 1, 1150 / 1100 - 1, 1177 / 1150 - 1]
    expected = statistics.covariance(ccc, bmx) / statistics.variance(bmx)
    assert value(facts, "etf.CCC.beta.12m") == pytest.approx(expected, rel=1e-9)


def test_beta_needs_two_shared_dates(facts):
    fact = facts["etf.BBB.beta.12m"]
    assert fact.value is None
    assert fact.reason == (
        "BBB and benchmark index BMX share 1 daily-return date(s) in their 12-month windows; "
        "beta needs at least 2"
    )


def test_beta_undefined_when_benchmark_variance_is_zero():
    ins = [
        ("THX", "index", "theme", None, None),
        ("BMX", "index", "benchmark", None, None),
        ("AAA", "etf", "theme", 0.005, None),
    ]
    days = ["2025-03-31", "2025-06-30", "2025-09-30", "2026-03-31"]
    prices = [(d, "AAA", c, 1) for d, c in zip(days, [10, 11, 12, 11], strict=True)]
    prices += [(d, "BMX", 100.0, None) for d in days]
    prices += [(d, "THX", 100.0, None) for d in days]
    fact = compute_facts(build(ins, prices), D)["etf.AAA.beta.12m"]
    assert fact.value is None
    assert "variance is 0" in fact.reason


def test_beta_undefined_without_benchmark_window():
    ins = [
        ("THX", "index", "theme", None, None),
        ("BMX", "index", "benchmark", None, None),
        ("AAA", "etf", "theme", 0.005, None),
    ]
    days = ["2025-03-31", "2025-06-30", "2025-09-30", "2026-03-31"]
    prices = [(d, "AAA", c, 1) for d, c in zip(days, [10, 11, 12, 11], strict=True)]
    prices += [("2025-09-30", "BMX", 100.0, None), ("2026-03-31", "BMX", 101.0, None)]
    facts = compute_facts(build(ins, prices), D)
    assert facts["etf.AAA.beta.12m"].reason == (
        "no close on or before 2025-03-31 (one year before 2026-03-31, start of the 12-month "
        "window) for benchmark index BMX (first price row 2025-09-30)"
    )
    theme = facts["index.theme.return.ytd"]
    assert theme.reason == (
        "no close on or before 2025-12-31 (end of the previous year) for theme index THX "
        "(no price row on or before 2026-03-31)"
    )
    rel = facts["index.relative.ytd"]
    assert rel.value is None and rel.reason.startswith("the theme index ytd return is not")


# --- flows and AUM ----------------------------------------------------------------------


def test_flow_window_boundaries(facts):
    ytd = facts["etf.AAA.flows.ytd"]
    assert ytd.value == (500 + 200 + 300 + 50) * M
    assert (ytd.as_of, ytd.source, ytd.unit) == (D, "Flow vendor", "usd")
    assert value(facts, "etf.AAA.flows.month") == (300 + 50) * M
    bbb = facts["etf.BBB.flows.month"]
    assert bbb.value == -40 * M and bbb.as_of == date(2026, 3, 5)


def test_flows_without_rows_sum_to_zero_as_of_d(facts):
    fact = facts["etf.SPR.flows.ytd"]
    assert (fact.value, fact.as_of, fact.display) == (0.0, D, "$0")


def test_theme_flows_sum_over_theme_etfs_in_universe(facts):
    ytd = facts["theme.flows.ytd"]
    assert ytd.value == (1050 - 140 + 60) * M  # not CCC (benchmark), not LATE (not launched)
    assert ytd.as_of == D
    assert value(facts, "theme.flows.month") == (350 - 40 + 60) * M
    early = compute_facts(base(), date(2026, 2, 15))
    month = early["theme.flows.month"]
    assert month.value == -100 * M and month.as_of == date(2026, 2, 10)


def test_aum_at_d(facts):
    fact = facts["etf.AAA.aum"]
    assert (fact.value, fact.as_of, fact.display) == (2.1e9, date(2026, 3, 30), "$2.1bn")
    assert facts["etf.NEW.aum"].reason == "no AUM row on or before 2026-03-31 for NEW"


def test_theme_aum_total_null_names_etfs_without_aum(facts):
    fact = facts["theme.aum.total"]
    assert fact.value is None
    assert fact.reason == "no AUM row on or before 2026-03-31 for theme ETFs: NEW"
    assert (fact.as_of, fact.source) == (D, "Issuer AUM")
    early = compute_facts(base(), date(2026, 1, 15))["theme.aum.total"]
    assert early.value == pytest.approx(1.8e9 + 4.0e8 + 1.0e8, abs=1e-3)
    assert early.as_of == date(2025, 12, 31)


# --- liquidity --------------------------------------------------------------------------


def test_spread_median_of_last_21_rows(facts):
    aaa = facts["etf.AAA.spread"]
    assert aaa.value == pytest.approx(statistics.median(range(5, 26)) / 10_000, abs=TOL)
    assert (aaa.unit, aaa.display, aaa.as_of) == ("bps", "15 bp", D)
    bbb = facts["etf.BBB.spread"]  # fewer than 21 rows: all of them
    assert bbb.value == pytest.approx(0.0008, abs=TOL)
    assert facts["etf.SPR.spread"].as_of == date(2026, 1, 10)
    assert facts["etf.NEW.spread"].reason == "no spread row on or before 2026-03-31 for NEW"


def test_adv_mean_dollar_volume_of_last_21_rows(facts):
    dollars = [c * v for (_, c), v in zip(CCC_CLOSES, CCC_VOLUMES, strict=True)]
    expected = sum(dollars[-21:]) / 21
    assert value(facts, "etf.CCC.adv") == pytest.approx(expected, rel=1e-12)
    aaa = [c * 1000 * (i + 1) for i, (_, c) in enumerate(AAA_CLOSES)]  # 9 rows: all
    fact = facts["etf.AAA.adv"]
    assert fact.value == pytest.approx(sum(aaa) / len(aaa), rel=1e-12)
    assert (fact.as_of, fact.source) == (D, "Exchange data")


def test_days_to_trade(facts):
    adv = value(facts, "etf.CCC.adv")
    fact = facts["etf.CCC.days_to_trade.25m"]
    assert fact.value == pytest.approx(25e6 / (0.2 * adv), rel=1e-12)
    assert (fact.unit, fact.as_of, fact.source) == ("days", D, "Exchange data")
    assert value(facts, "etf.CCC.days_to_trade.100m") == pytest.approx(100e6 / (0.2 * adv))
    bbb = facts["etf.BBB.days_to_trade.25m"]
    assert bbb.as_of == date(2026, 3, 30)


# --- holdings ---------------------------------------------------------------------------


def test_top10_weight_of_latest_holdings(facts):
    fact = facts["etf.AAA.top10_weight"]
    assert fact.value == pytest.approx(sum(sorted(AAA_WEIGHTS, reverse=True)[:10]), abs=TOL)
    assert (fact.as_of, fact.source) == (date(2026, 2, 28), "Issuer holdings")
    assert value(facts, "etf.BBB.top10_weight") == pytest.approx(1.0, abs=TOL)


def test_fund_without_holdings_has_no_top10_or_stress_ids(facts):
    for t in ("NEW", "SPR", "CCC"):
        assert f"etf.{t}.top10_weight" not in facts
        assert f"etf.{t}.stress.top10.10" not in facts


def test_stress_of_top10(facts):
    top10 = 0.81
    for shock in (10, 20):
        fact = facts[f"etf.AAA.stress.top10.{shock}"]
        assert fact.value == pytest.approx(-top10 * shock / 100, abs=TOL)
        assert fact.as_of == date(2026, 2, 28)
    assert facts["etf.AAA.stress.top10.10"].display == "-8.1%"


def test_theme_exposure_aum_weighted(facts):
    a, b = 2.1e9, 5.0e8
    expected_buckets = {
        "infrastructure": (a * 0.46 + b * 0.5) / (a + b),
        "platform": (a * 0.26 + b * 0.3) / (a + b),
        "application": (a * 0.14 + b * 0.2) / (a + b),
    }
    for bucket, expected in expected_buckets.items():
        fact = facts[f"theme.exposure.bucket.{bucket}"]
        assert fact.value == pytest.approx(expected, abs=TOL)
        assert fact.source == "Issuer AUM; Issuer holdings"
        assert fact.as_of == D
    expected_sectors = {
        "information_technology": (a * 0.46 + b * 0.7) / (a + b),
        "communication_services": a * 0.26 / (a + b),
        "consumer_discretionary": a * 0.14 / (a + b),
        "industrials": b * 0.3 / (a + b),
    }
    sectors = {k.rsplit(".", 1)[1]: facts[k].value for k in facts if ".sector." in k}
    assert sectors == pytest.approx(expected_sectors, abs=TOL)
    assert value(facts, "theme.exposure.covered_aum") == a + b
    assert exposure_sector_names(base(), D)["information_technology"] == IT


def test_theme_exposure_null_when_no_fund_qualifies():
    ds = build(INSTRUMENTS, PRICES, FLOWS, AUM, SPREADS, [])
    facts = compute_facts(ds, D)
    fact = facts["theme.exposure.bucket.platform"]
    assert fact.value is None
    assert fact.reason == (
        "no theme ETF has both holdings and AUM on or before 2026-03-31 "
        "(without holdings: AAA, BBB, NEW, SPR; without AUM: NEW)"
    )
    assert facts["theme.exposure.covered_aum"].value is None
    assert not [k for k in facts if ".sector." in k]


def test_sector_slugs_are_deterministic_on_collisions():
    names = ["Info Tech", "info-tech", "Info  Tech!", "info tech 2", "Télécom", "***"]
    slugs = sector_slugs(names)
    assert slugs == {
        "***": "unnamed",
        "Info  Tech!": "info_tech",
        "Info Tech": "info_tech_3",
        "info tech 2": "info_tech_2",
        "info-tech": "info_tech_4",
        "Télécom": "telecom",
    }
    assert sector_slugs(reversed(names)) == slugs


# --- fees -------------------------------------------------------------------------------


def test_expense_ratio_and_fee_ranges(facts):
    er = facts["etf.AAA.expense_ratio"]
    assert (er.value, er.display, er.as_of, er.source) == (0.0065, "0.65%", D, "Issuer filings")
    assert value(facts, "fees.theme.min") == 0.0020  # LATE (0.01%) is not in the universe
    assert value(facts, "fees.theme.max") == 0.0090
    assert facts["fees.benchmark.min"].display == "0.03%"
    assert value(facts, "fees.benchmark.max") == 0.0003
    early = compute_facts(base(), date(2026, 1, 15))
    assert value(early, "fees.theme.max") == 0.0065  # NEW (0.90%) not launched yet


def test_fee_range_undefined_without_etfs_of_role():
    ins = [i for i in INSTRUMENTS if i[0] != "CCC"]
    facts = compute_facts(build(ins, [p for p in PRICES if p[1] != "CCC"]), D)
    fact = facts["fees.benchmark.min"]
    assert fact.value is None
    assert fact.reason == "no benchmark ETF with an expense ratio in the universe at 2026-03-31"


def test_fee_drag(facts):
    kept = 1.0
    for _ in range(10):
        kept *= 1 - 0.0065
    fact = facts["etf.AAA.fee_drag.10y"]
    assert fact.value == pytest.approx(1 - kept, abs=TOL)
    assert (fact.display, fact.as_of, fact.source) == ("6.31%", D, "Issuer filings")


def test_params_change_extra_ids():
    params = MetricParams(stress_shocks=(0.15,), liquidity_orders_usd=(2.5e6,), fee_drag_years=5)
    facts = compute_facts(base(), D, params)
    assert "etf.AAA.stress.top10.15" in facts and "etf.AAA.stress.top10.10" not in facts
    assert "etf.AAA.days_to_trade.2_5m" in facts
    assert "etf.AAA.fee_drag.5y" in facts
    with pytest.raises(ValueError, match="whole percent"):
        MetricParams(stress_shocks=(0.125,))


# --- standardized performance -----------------------------------------------------------


def test_standardized_performance(facts):
    assert value(facts, "etf.AAA.perf.1y") == pytest.approx(0.32, abs=TOL)
    assert value(facts, "etf.AAA.perf.5y") == pytest.approx((132 / 60) ** 0.2 - 1, abs=TOL)
    ten = facts["etf.AAA.perf.10y"]
    assert ten.value is None
    assert ten.reason == (
        "2016-03-31 (10 year(s) before the quarter-end 2026-03-31) is before the inception "
        "date 2019-01-15 of AAA; back-filled history is not used"
    )
    years = (D - date(2019, 1, 15)).days / 365.25
    since = facts["etf.AAA.perf.since_inception"]
    assert since.value == pytest.approx((132 / 40) ** (1 / years) - 1, abs=TOL)
    assert since.source == "Exchange data; Issuer filings"
    assert since_inception_annualized(base(), "AAA", D) is True


def test_performance_short_history(facts):
    assert facts["etf.SPR.perf.5y"].reason == (
        "no close on or before 2021-03-31 (5 year(s) before 2026-03-31) for SPR "
        "(first price row 2025-01-10)"
    )
    # BBB: no inception date; starts with its first row 2025-03-28 (> 1 year: annualized)
    years = (D - date(2025, 3, 28)).days / 365.25
    since = facts["etf.BBB.perf.since_inception"]
    assert since.value == pytest.approx((25 / 20) ** (1 / years) - 1, abs=TOL)
    assert since.as_of == date(2026, 3, 30)
    # NEW: under one year since inception: cumulative, not annualized
    assert value(facts, "etf.NEW.perf.since_inception") == pytest.approx(0.08, abs=TOL)
    assert since_inception_annualized(base(), "NEW", D) is False
    assert "inception date 2026-02-02" in facts["etf.NEW.perf.1y"].reason
    assert value(facts, "index.theme.perf.1y") == pytest.approx(0.38, abs=TOL)
    assert facts["index.benchmark.perf.5y"].value is None


def test_performance_measured_to_the_quarter_end():
    facts = compute_facts(base(), date(2026, 5, 15))  # quarter-end 2026-03-31
    fact = facts["etf.AAA.perf.1y"]
    assert fact.value == pytest.approx(0.32, abs=TOL)  # not the 2026-04-30 close
    assert fact.as_of == D
    assert value(facts, "etf.AAA.return.ytd") == pytest.approx(200 / 120 - 1, abs=TOL)


def test_performance_ignores_back_filled_history():
    ins = [
        ("THX", "index", "theme", None, None),
        ("BMX", "index", "benchmark", None, None),
        ("BKF", "etf", "theme", 0.005, "2022-06-01"),
    ]
    rows = [("2015-03-31", 10.0), ("2021-03-31", 20.0), ("2022-06-01", 25.0), ("2026-03-31", 50.0)]
    prices = [(d, t, c, 1) for t in ("BKF", "THX", "BMX") for d, c in rows]
    facts = compute_facts(build(ins, prices), D)
    assert facts["etf.BKF.perf.5y"].value is None  # a close exists, but before inception
    assert value(facts, "index.theme.perf.5y") == pytest.approx((50 / 20) ** 0.2 - 1, abs=TOL)
    years = (D - date(2022, 6, 1)).days / 365.25
    assert value(facts, "etf.BKF.perf.since_inception") == pytest.approx(
        2 ** (1 / years) - 1, abs=TOL
    )


# --- provenance and no look-ahead -------------------------------------------------------


def test_every_contract_id_is_present(facts):
    required = [
        "theme.flows.ytd",
        "theme.flows.month",
        "theme.aum.total",
        "index.theme.return.ytd",
        "index.benchmark.return.ytd",
        "index.theme.return.12m",
        "index.benchmark.return.12m",
        "index.relative.ytd",
        "fees.theme.min",
        "fees.theme.max",
        "fees.benchmark.min",
        "fees.benchmark.max",
    ]
    per_etf = [
        "return.ytd",
        "return.12m",
        "expense_ratio",
        "volatility.12m",
        "drawdown.12m",
        "beta.12m",
        "aum",
        "flows.ytd",
        "adv",
        "spread",
    ]
    required += [f"etf.{t}.{m}" for t in universe(base(), D) for m in per_etf]
    assert [k for k in required if k not in facts] == []
    units = {"percent", "pp", "usd", "bps", "ratio", "count", "days"}
    assert {facts[k].unit for k in facts} <= units


def test_null_facts_are_dated_d(facts):
    nulls = [facts[k] for k in facts if facts[k].value is None]
    assert nulls and all(f.as_of == D and f.display == "n/a" for f in nulls)


def test_no_look_ahead():
    long = compute_facts(base(), D)
    cut = compute_facts(base(cut=D), D)
    assert long.to_json() == cut.to_json()
    # and rows after D really would have changed figures
    later = compute_facts(base(), date(2026, 5, 1))
    assert later["etf.AAA.aum"].value == 5.0e9


# --- series -----------------------------------------------------------------------------


def test_cumulative_return_and_drawdown_series_match_facts(facts):
    cum = cumulative_return_series(base(), "AAA", D)
    assert cum.points[0] == (date(2025, 3, 31), 0.0)
    assert cum.points[-1][0] == D
    assert cum.points[-1][1] == pytest.approx(value(facts, "etf.AAA.return.12m"), abs=TOL)
    assert (cum.unit, cum.source, cum.as_of) == ("percent", "Exchange data", D)
    dd = drawdown_series(base(), "AAA", D)
    assert min(v for _, v in dd.points) == pytest.approx(
        value(facts, "etf.AAA.drawdown.12m"), abs=TOL
    )
    assert len(dd.points) == 6
    empty = cumulative_return_series(base(), "NEW", D)
    assert empty.points == () and "first price row 2026-02-02" in empty.reason


def test_monthly_theme_flows():
    series = monthly_theme_flows(base(), D, months=4)
    assert series.points == (
        (date(2025, 12, 31), 1000 * M),
        (date(2026, 1, 31), 500 * M),
        (date(2026, 2, 28), (200 - 100) * M),
        (date(2026, 3, 31), (300 + 50 - 40 + 60) * M),
    )
    assert (series.unit, series.source, series.as_of) == ("usd", "Flow vendor", D)
    partial = monthly_theme_flows(base(), date(2026, 3, 12), months=2)
    assert partial.points == ((date(2026, 2, 28), 100 * M), (date(2026, 3, 12), 260 * M))
    assert partial.as_of == date(2026, 3, 10)


def test_unsorted_frames_give_the_same_facts():
    ds = base()
    shuffled = Dataset(
        path=ds.path,
        instruments=ds.instruments,
        prices=ds.prices.sample(frac=1, random_state=1).reset_index(drop=True),
        flows=ds.flows.sample(frac=1, random_state=2).reset_index(drop=True),
        aum=ds.aum.sample(frac=1, random_state=3).reset_index(drop=True),
        spreads=ds.spreads.sample(frac=1, random_state=4).reset_index(drop=True),
        holdings=ds.holdings.sample(frac=1, random_state=5).reset_index(drop=True),
        sources=ds.sources,
    )
    assert compute_facts(shuffled, D).to_json() == compute_facts(ds, D).to_json()


def test_dataset_with_only_prices():
    facts = compute_facts(build(INSTRUMENTS, PRICES), D)
    assert facts["etf.AAA.flows.ytd"].value == 0.0
    assert facts["theme.flows.month"].value == 0.0
    assert facts["theme.aum.total"].reason.endswith("AAA, BBB, NEW, SPR")
    assert facts["etf.AAA.spread"].value is None
    assert facts["theme.exposure.bucket.application"].value is None
    assert not [k for k in facts if k.endswith("top10_weight")]


# --- a second method on random data -----------------------------------------------------------


def _random_dataset(seed: int) -> tuple[Dataset, dict[str, list[tuple[str, float, float]]]]:
    """Random closes with random gaps and launch dates, rows after D included."""
    import random

    rnd = random.Random(seed)
    days = business_days("2024-06-03", "2026-06-30")
    tickers = [f"E{i}" for i in range(6)]
    ins = [("THX", "index", "theme", None, None), ("BMX", "index", "benchmark", None, None)]
    ins += [
        (t, "etf", rnd.choice(["theme", "benchmark"]), 0.001 * (i + 1), None)
        for i, t in enumerate(tickers)
    ]
    series: dict[str, list[tuple[str, float, float]]] = {}
    for t in ["THX", "BMX", *tickers]:
        launch = rnd.choice(days[:400])
        close, rows = 100.0, []
        for d in days:
            if d >= launch and rnd.random() > 0.3:
                close *= 1 + rnd.gauss(0, 0.02)
                rows.append((d, close, float(rnd.randint(0, 10_000))))
        series[t] = rows
    prices = [
        (d, t, c, None if t in ("THX", "BMX") else v)
        for t, rows in series.items()
        for d, c, v in rows
    ]
    flows = [(d, t, rnd.gauss(0, 1e6)) for t in tickers for d, _, _ in series[t][::3]]
    spreads = [(d, t, float(rnd.randint(1, 40))) for t in tickers for d, _, _ in series[t][::2]]
    return build(ins, prices, flows, [], spreads), series


def _reference(series, flows_rows, spread_rows, as_of: date) -> dict[str, float | None]:
    """The contract's rules in plain Python, ticker by ticker."""
    d_iso = as_of.isoformat()
    year_start = one_year_before(as_of).isoformat()
    bench = [(d, c) for d, c, _ in series["BMX"] if d <= d_iso]

    def window(rows):
        before = [i for i, (d, _) in enumerate(rows) if d <= year_start]
        return rows[before[-1] :] if before else None

    def rets(rows):
        return {b[0]: b[1] / a[1] - 1 for a, b in itertools.pairwise(rows)}

    out: dict[str, float | None] = {}
    bw = window(bench)
    for t, full in series.items():
        if t in ("THX", "BMX") or not full or full[0][0] > d_iso:
            continue
        rows = [(d, c) for d, c, _ in full if d <= d_iso]
        w = window(rows)
        ytd = [c for d, c in rows if d <= f"{as_of.year - 1}-12-31"]
        out[f"etf.{t}.return.ytd"] = rows[-1][1] / ytd[-1] - 1 if ytd else None
        if w is not None and len(w) >= 3:
            out[f"etf.{t}.volatility.12m"] = statistics.stdev(rets(w).values()) * math.sqrt(252)
        else:
            out[f"etf.{t}.volatility.12m"] = None
        out[f"etf.{t}.drawdown.12m"] = None
        if w is not None:
            peak, worst = 0.0, 0.0
            for _, c in w:
                peak = max(peak, c)
                worst = min(worst, c / peak - 1)
            out[f"etf.{t}.drawdown.12m"] = worst
        beta = None
        if w is not None and bw is not None:
            mine, theirs = rets(w), rets(bw)
            shared = sorted(set(mine) & set(theirs))
            if len(shared) >= 2:
                xs, ys = [mine[d] for d in shared], [theirs[d] for d in shared]
                beta = statistics.covariance(xs, ys) / statistics.variance(ys)
        out[f"etf.{t}.beta.12m"] = beta
        last = [c * v for d, c, v in full if d <= d_iso][-21:]
        out[f"etf.{t}.adv"] = sum(last) / len(last)
        spr = [s for d, tt, s in spread_rows if tt == t and d <= d_iso][-21:]
        out[f"etf.{t}.spread"] = statistics.median(spr) / 10_000 if spr else None
        start = f"{as_of.year - 1}-12-31"
        out[f"etf.{t}.flows.ytd"] = sum(
            f for d, tt, f in flows_rows if tt == t and start < d <= d_iso
        )
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_figures_match_a_plain_python_reference(seed):
    ds, series = _random_dataset(seed)
    flows_rows = [(d.date().isoformat(), t, f) for d, t, f in ds.flows.itertuples(index=False)]
    spread_rows = [(d.date().isoformat(), t, s) for d, t, s in ds.spreads.itertuples(index=False)]
    facts = compute_facts(ds, D)
    expected = _reference(series, flows_rows, spread_rows, D)
    assert expected
    for fact_id, want in expected.items():
        got = facts[fact_id].value
        if want is None:
            assert got is None, fact_id
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), fact_id
