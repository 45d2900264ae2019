"""The bundled sample dataset tells the reference note's story, and is reproducible.

The expected figures are recomputed here with plain pandas arithmetic, following
the contract's metric conventions, independently of ``reportgen.metrics``; a last
test checks that ``reportgen`` agrees with them.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
SCRIPT = ROOT / "scripts" / "make_sample_data.py"
FILES = (
    "instruments.csv",
    "prices.csv",
    "flows.csv",
    "aum.csv",
    "spreads.csv",
    "holdings.csv",
    "sources.yaml",
)
DATED = ("prices", "flows", "aum", "spreads")

D = pd.Timestamp("2026-03-31")
YEAR_START = pd.Timestamp("2025-12-31")
MONTH_START = pd.Timestamp("2026-02-28")
YEAR_AGO = pd.Timestamp("2025-03-31")
ROBOTICS = "HLRA"
PP = 0.0004  # within display rounding of one decimal, per cent or pp


@cache
def frame(stem: str) -> pd.DataFrame:
    df = pd.read_csv(SAMPLE / f"{stem}.csv", dtype={"ticker": str, "fund": str})
    for col in ("date", "as_of", "inception_date"):
        if col in df:
            df[col] = pd.to_datetime(df[col], format="%Y-%m-%d")
    return df


def instruments() -> pd.DataFrame:
    return frame("instruments")


def tickers(kind: str, role: str) -> list[str]:
    ins = instruments()
    return sorted(ins.loc[(ins.kind == kind) & (ins.role == role), "ticker"])


def index_ticker(role: str) -> str:
    (t,) = tickers("index", role)
    return t


def value_at(stem: str, column: str, ticker: str, t: pd.Timestamp) -> float:
    df = frame(stem)
    rows = df[(df.ticker == ticker) & (df.date <= t)]
    assert len(rows), f"{ticker} has no {stem} row on or before {t.date()}"
    return float(rows.sort_values("date")[column].iloc[-1])


def period_return(ticker: str, start: pd.Timestamp, end: pd.Timestamp = D) -> float:
    return value_at("prices", "close", ticker, end) / value_at("prices", "close", ticker, start) - 1


def theme_flows(start: pd.Timestamp) -> float:
    fl = frame("flows")
    sel = fl.ticker.isin(tickers("etf", "theme")) & (fl.date > start) & (fl.date <= D)
    return float(fl.loc[sel, "net_flow_usd"].sum())


def aum_at_d() -> dict[str, float]:
    return {t: value_at("aum", "aum_usd", t, D) for t in tickers("etf", "theme")}


def spread_at_d(ticker: str) -> float:
    """Median spread over the last 21 rows dated <= D, as a fraction."""
    sp = frame("spreads")
    rows = sp[(sp.ticker == ticker) & (sp.date <= D)].sort_values("date").tail(21)
    return float(rows.spread_bps.median()) / 10_000


def fee(role: str, how: str) -> float:
    ins = instruments()
    ers = ins.loc[(ins.kind == "etf") & (ins.role == role), "expense_ratio"]
    return float(getattr(ers, how)())


def expected_figures() -> dict[str, float]:
    """The contract fact ids this dataset is calibrated for, computed independently."""
    theme, bench = index_ticker("theme"), index_ticker("benchmark")
    aums = aum_at_d()
    top5 = sorted(aums, key=aums.__getitem__, reverse=True)[:5]
    out = {
        "theme.flows.ytd": theme_flows(YEAR_START),
        "theme.flows.month": theme_flows(MONTH_START),
        "theme.aum.total": sum(aums.values()),
        "index.theme.return.ytd": period_return(theme, YEAR_START),
        "index.benchmark.return.ytd": period_return(bench, YEAR_START),
        "index.theme.return.12m": period_return(theme, YEAR_AGO),
        "index.benchmark.return.12m": period_return(bench, YEAR_AGO),
        f"etf.{ROBOTICS}.return.12m": period_return(ROBOTICS, YEAR_AGO),
        "fees.theme.min": fee("theme", "min"),
        "fees.theme.max": fee("theme", "max"),
        "fees.benchmark.min": fee("benchmark", "min"),
        "fees.benchmark.max": fee("benchmark", "max"),
    }
    out["index.relative.ytd"] = out["index.theme.return.ytd"] - out["index.benchmark.return.ytd"]
    for t in top5:
        out[f"etf.{t}.aum"] = aums[t]
        out[f"etf.{t}.spread"] = spread_at_d(t)
    return out


# --------------------------------------------------------------------------- the story


def test_flows_tell_the_story() -> None:
    ytd = theme_flows(YEAR_START)
    assert ytd == pytest.approx(4.2e9, abs=0.02e9)  # "$4.2bn"
    month = theme_flows(MONTH_START)
    assert 0 < month < ytd


def test_index_returns_tell_the_story() -> None:
    theme, bench = index_ticker("theme"), index_ticker("benchmark")
    theme_ytd, bench_ytd = period_return(theme, YEAR_START), period_return(bench, YEAR_START)
    assert theme_ytd == pytest.approx(0.15, abs=PP)
    assert bench_ytd == pytest.approx(0.07, abs=PP)
    assert theme_ytd - bench_ytd == pytest.approx(0.08, abs=PP)
    bench_12m = period_return(bench, YEAR_AGO)
    assert bench_12m == pytest.approx(0.22, abs=PP)
    assert bench_12m < period_return(theme, YEAR_AGO) < 0.40


def test_robotics_etf_twelve_month_return() -> None:
    name = instruments().set_index("ticker").loc[ROBOTICS, "name"]
    assert "Robotics & AI" in name
    assert period_return(ROBOTICS, YEAR_AGO) == pytest.approx(0.34, abs=PP)


def test_assets() -> None:
    aums = aum_at_d()
    ranked = sorted(aums.values(), reverse=True)
    assert ranked[0] == pytest.approx(2.1e9, abs=0.02e9)  # "$2.1bn"
    assert ranked[1] < 2.0e9
    assert 5e9 < sum(ranked) < 15e9


def test_spreads_of_the_five_largest_are_under_10_bp() -> None:
    aums = aum_at_d()
    ranked = sorted(aums, key=aums.__getitem__, reverse=True)
    assert all(spread_at_d(t) < 0.0010 for t in ranked[:5])
    assert max(spread_at_d(t) for t in ranked[5:]) > 0.0010  # the small ones are wider


def test_fee_ranges() -> None:
    assert fee("theme", "min") == pytest.approx(0.0020, abs=1e-12)
    assert fee("theme", "max") == pytest.approx(0.0065, abs=1e-12)
    assert fee("benchmark", "min") == pytest.approx(0.0003, abs=1e-12)
    assert fee("benchmark", "max") == pytest.approx(0.0010, abs=1e-12)


def test_april_is_a_mild_down_month_with_small_outflows() -> None:
    theme = index_ticker("theme")
    end = pd.Timestamp("2026-04-30")
    april = period_return(theme, D, end)
    assert -0.08 < april < 0
    fl = frame("flows")
    sel = fl.ticker.isin(tickers("etf", "theme")) & (fl.date > D) & (fl.date <= end)
    assert -0.5e9 < fl.loc[sel, "net_flow_usd"].sum() < 0


def daily_returns(ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    px = frame("prices")
    c = px[(px.ticker == ticker) & (px.date >= start) & (px.date <= end)].set_index("date").close
    return c.sort_index().pct_change().dropna()


def test_history_looks_real() -> None:
    theme, bench = index_ticker("theme"), index_ticker("benchmark")
    # daily volatility over the 12 months to D
    s0 = YEAR_AGO  # a business day with a row for both indexes
    assert 0.016 <= daily_returns(theme, s0, D).std() <= 0.020
    assert 0.012 <= daily_returns(bench, s0, D).std() <= 0.014
    # a 2022-style drawdown of the theme index
    px = frame("prices")
    c = px[(px.ticker == theme) & (px.date >= "2021-06-01") & (px.date <= "2023-06-30")]
    c = c.set_index("date").close
    assert -0.40 <= (c / c.cummax() - 1).min() <= -0.30
    # betas of the theme ETFs to the benchmark index over the same window
    b = daily_returns(bench, s0, D)
    for t in tickers("etf", "theme"):
        r = daily_returns(t, s0, D)
        if len(r) < 200:
            continue  # launched within the window
        both = pd.concat([r, b], axis=1, join="inner")
        beta = both.cov().iloc[0, 1] / both.iloc[:, 1].var()
        assert 1.1 <= beta <= 1.65, t


# --------------------------------------------------------------------------- the contract


def test_universe() -> None:
    ins = instruments()
    assert ins.ticker.is_unique
    assert len(tickers("index", "theme")) == 1
    assert len(tickers("index", "benchmark")) == 1
    theme_etfs = ins[(ins.kind == "etf") & (ins.role == "theme")]
    assert len(theme_etfs) >= 6
    assert (theme_etfs.inception_date.dt.year == 2025).sum() >= 1
    assert theme_etfs.inception_date.between("2018-01-01", "2021-12-31").sum() >= 1
    assert len(tickers("etf", "benchmark")) >= 2
    indexes = ins[ins.kind == "index"]
    assert indexes.issuer.isna().all() and indexes.expense_ratio.isna().all()
    etfs = ins[ins.kind == "etf"]
    assert etfs.issuer.notna().all() and etfs.expense_ratio.notna().all()


def test_date_range_and_no_row_before_inception() -> None:
    ins = instruments().set_index("ticker")
    etfs = set(ins.index[ins.kind == "etf"])
    for stem in DATED:
        df = frame(stem)
        assert df.date.min() == pd.Timestamp("2016-01-04"), stem
        assert df.date.max() == pd.Timestamp("2026-04-30"), stem
        assert not df.duplicated(["date", "ticker"]).any(), stem
        assert set(df.ticker) <= set(ins.index), stem
        if stem != "prices":
            assert set(df.ticker) == etfs, stem
        first = df.groupby("ticker").date.min()
        inception = ins.loc[first.index, "inception_date"]
        assert (inception.isna() | (first >= inception)).all(), stem
    assert (frame("aum").aum_usd > 0).all()
    assert (frame("spreads").spread_bps >= 0).all()
    px = frame("prices")
    assert (px.close > 0).all()
    is_etf = px.ticker.isin(etfs)
    assert px.loc[~is_etf, "volume"].isna().all()
    vol = px.loc[is_etf, "volume"]
    assert vol.notna().all() and (vol >= 0).all() and (vol == vol.round()).all()


def test_some_days_are_missing() -> None:
    px = frame("prices")
    days = px.groupby("ticker").date.nunique()
    bench = index_ticker("benchmark")
    assert days[index_ticker("theme")] < days[bench]


def test_holdings() -> None:
    h = frame("holdings")
    theme_etfs = set(tickers("etf", "theme"))
    assert set(h.fund) <= theme_etfs
    assert len(theme_etfs - set(h.fund)) == 1  # one theme ETF without holdings
    assert set(h.bucket) == {"infrastructure", "platform", "application"}
    for (_, _), g in h.groupby(["fund", "as_of"]):
        assert 15 <= len(g) <= 30
        assert g.weight.between(0, 1).all()
        assert g.weight.sum() <= 1 + 1e-6
        assert 0.45 <= g.weight.nlargest(10).sum() <= 0.65
    assert not h.duplicated(["as_of", "fund", "security"]).any()


def test_sources_and_label() -> None:
    src = yaml.safe_load((SAMPLE / "sources.yaml").read_text(encoding="utf-8"))
    assert src["label"] == "Illustrative sample data - not actual market data"
    for stem in ("instruments", "prices", "flows", "aum", "spreads", "holdings"):
        assert src[stem]["source"].endswith("(illustrative)")


def test_files_are_plain_and_sorted() -> None:
    for name in FILES:
        raw = (SAMPLE / name).read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n") and not raw.startswith(b"\xef\xbb\xbf")
        raw.decode("ascii")
    for stem in DATED:
        df = frame(stem)
        assert df[["date", "ticker"]].equals(
            df.sort_values(["date", "ticker"])[["date", "ticker"]]
        ), stem
    total = sum((SAMPLE / name).stat().st_size for name in FILES)
    assert total < 8_000_000


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        check=True,
        timeout=120,
        env={"PYTHONHASHSEED": "12345", "LC_ALL": "C"},
    )
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name


# --------------------------------------------------------------------------- reportgen agrees


def test_reportgen_computes_the_same_figures() -> None:
    from reportgen.dataset import load_dataset
    from reportgen.metrics import compute_facts

    facts = compute_facts(load_dataset(SAMPLE), date(2026, 3, 31))
    expected = expected_figures()
    for fact_id, value in expected.items():
        assert fact_id in facts, fact_id
        assert facts[fact_id].value == pytest.approx(value, rel=1e-9, abs=1e-9), fact_id
    assert facts["theme.flows.ytd"].display == "$4.2bn"
    assert facts["index.theme.return.ytd"].display == "15.0%"
    assert facts["index.benchmark.return.ytd"].display == "7.0%"
    assert facts["index.relative.ytd"].display == "+8.0 pp"
    assert facts["index.benchmark.return.12m"].display == "22.0%"
    assert facts[f"etf.{ROBOTICS}.return.12m"].display == "34.0%"
    assert facts["fees.theme.min"].display == "0.20%"
    assert facts["fees.theme.max"].display == "0.65%"
    assert facts["fees.benchmark.min"].display == "0.03%"
    assert facts["fees.benchmark.max"].display == "0.10%"
    aums = {k: f.value for k, f in facts.items() if k.endswith(".aum") and k.startswith("etf.")}
    theme_aums = {k: v for k, v in aums.items() if k.split(".")[1] in tickers("etf", "theme")}
    largest = max(theme_aums, key=lambda k: theme_aums[k] or 0)
    assert facts[largest].display == "$2.1bn"
