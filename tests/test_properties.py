"""Properties of the metrics and of the strict CSV loader, over generated data.

Markets are generated as plain Python rows (a few ETFs with random roles, launch
dates, gaps, flat stretches, flows of both signs, AUM, spreads and holdings over
2023-2026, and a random as-of date, weekends and Feb 29 included) and turned into
``reportgen.dataset.Dataset`` frames as ``load_dataset`` documents them. Hypothesis
draws the shape of each market; a seeded ``random.Random`` fills in the rows, so
examples stay cheap. Every expected figure is worked out here from the rows, never
with reportgen's own code.

The loader property writes a valid ``prices.csv`` with an extra, ignored column of
quoted text (commas, quotes and newlines, so physical lines and rows differ), breaks
one random row in one random way, and checks that the one problem reported names
exactly that row's physical line.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen.dataset import Dataset, load_dataset
from reportgen.errors import InputError
from reportgen.facts import FactSet
from reportgen.metrics import compute_facts
from tests.dataset_factory import minimal_tables, write_dataset

FIRST = date(2023, 1, 2)
LAST = date(2026, 6, 30)
DAYS = [FIRST + timedelta(n) for n in range((LAST - FIRST).days + 1)]
DAYS = [d for d in DAYS if d.weekday() < 5]
ROLES = ("theme", "benchmark")
BUCKETS = ("infrastructure", "platform", "application")
SECTORS = ("Semiconductors", "Software", "Hardware", "Cloud", "Internet")
SOURCES = {
    "instruments": "Issuer filings",
    "prices": "Exchange closes",
    "flows": "Flow vendor",
    "aum": "Issuer AUM",
    "spreads": "Quote vendor",
    "holdings": "Issuer holdings",
}
#: Every ETF in the universe has these ids (contract section 4); top10_weight only with holdings.
ETF_IDS = (
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
)
#: An ETF whose every row is dated after the as-of date (none at all when D is the last day).
LATE = "ZLATE"

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --------------------------------------------------------------------------- markets


@dataclass
class Market:
    as_of: date
    #: ticker -> (kind, role, expense_ratio or None)
    instruments: dict[str, tuple[str, str, float | None]]
    prices: list[tuple[date, str, float, float | None]] = field(default_factory=list)
    flows: list[tuple[date, str, float]] = field(default_factory=list)
    aum: list[tuple[date, str, float]] = field(default_factory=list)
    spreads: list[tuple[date, str, float]] = field(default_factory=list)
    holdings: list[tuple[date, str, str, str, float, str, str]] = field(default_factory=list)

    @property
    def etfs(self) -> list[str]:
        return sorted(t for t, (kind, _, _) in self.instruments.items() if kind == "etf")

    def role(self, ticker: str) -> str:
        return self.instruments[ticker][1]

    def universe(self) -> list[str]:
        """ETFs with a price row dated <= D, by the contract's words."""
        priced = {t for d, t, _, _ in self.prices if d <= self.as_of}
        return [t for t in self.etfs if t in priced]

    def holdings_funds(self) -> set[str]:
        return {fund for d, fund, *_ in self.holdings if d <= self.as_of}

    def dataset(self, *, cut: bool = False) -> Dataset:
        """Frames as load_dataset builds them; ``cut`` drops rows after D here, by hand."""

        def keep(rows: Iterable[tuple]) -> list[tuple]:
            return [r for r in rows if not cut or r[0] <= self.as_of]

        ins = pd.DataFrame(
            {
                "ticker": pd.Series(list(self.instruments), dtype=object),
                "name": pd.Series([f"{t} Fund" for t in self.instruments], dtype=object),
                "kind": pd.Series([k for k, _, _ in self.instruments.values()], dtype=object),
                "role": pd.Series([r for _, r, _ in self.instruments.values()], dtype=object),
                "issuer": pd.Series(
                    [None if k == "index" else "Issuer" for k, _, _ in self.instruments.values()],
                    dtype=object,
                ),
                "expense_ratio": pd.Series(
                    [math.nan if e is None else e for _, _, e in self.instruments.values()],
                    dtype="float64",
                ),
                "inception_date": pd.Series(
                    [pd.NaT] * len(self.instruments), dtype="datetime64[ns]"
                ),
            }
        )
        return Dataset(
            path=Path("generated"),
            instruments=ins.sort_values("ticker").reset_index(drop=True),
            prices=_frame(keep(self.prices), ("date", "ticker", "close", "volume")),
            flows=_frame(keep(self.flows), ("date", "ticker", "net_flow_usd")),
            aum=_frame(keep(self.aum), ("date", "ticker", "aum_usd")),
            spreads=_frame(keep(self.spreads), ("date", "ticker", "spread_bps")),
            holdings=_frame(
                keep(self.holdings),
                ("as_of", "fund", "security", "name", "weight", "sector", "bucket"),
                sort=("fund", "as_of", "security"),
            ),
            sources=dict(SOURCES),
            label="Generated test data",
        )


def _frame(
    rows: list[tuple], columns: tuple[str, ...], sort: tuple[str, ...] = ("ticker", "date")
) -> pd.DataFrame:
    data: dict[str, pd.Series] = {}
    for k, name in enumerate(columns):
        values = [r[k] for r in rows]
        if name in ("date", "as_of"):
            data[name] = pd.Series(pd.to_datetime(values), dtype="datetime64[ns]")
        elif name in ("ticker", "fund", "security", "name", "sector", "bucket"):
            data[name] = pd.Series(values, dtype=object)
        else:
            data[name] = pd.Series([math.nan if v is None else v for v in values], dtype="float64")
    frame = pd.DataFrame(data)
    return frame.sort_values(list(sort), kind="stable").reset_index(drop=True)


def _start_index(day: date) -> int:
    """Index of the first business day on or after ``day`` (len(DAYS) when none)."""
    return next((i for i, d in enumerate(DAYS) if d >= day), len(DAYS))


@st.composite
def markets(draw: st.DrawFn) -> Market:
    as_of = draw(
        st.one_of(
            st.dates(date(2024, 1, 1), LAST),
            st.sampled_from(
                [date(2024, 2, 29), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2), LAST]
            ),
        )
    )
    n = draw(st.integers(1, 4))
    roles = ["theme", *draw(st.lists(st.sampled_from(ROLES), min_size=n - 1, max_size=n - 1))]
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    fees = (0.0, 0.0003, 0.0045, 0.0068, 0.0095)
    instruments: dict[str, tuple[str, str, float | None]] = {
        "THX": ("index", "theme", None),
        "BMX": ("index", "benchmark", None),
    }
    for i, role in enumerate(roles):
        instruments[f"E{i}"] = ("etf", role, rnd.choice(fees))
    instruments[LATE] = ("etf", draw(st.sampled_from(ROLES)), rnd.choice(fees))
    m = Market(as_of, instruments)

    for ticker, (kind, _, _) in instruments.items():
        if ticker == LATE:
            start = _start_index(as_of + timedelta(1))
        elif draw(st.booleans()):
            start = 0  # a long history
        else:
            start = _start_index(draw(st.dates(FIRST, LAST)))
        gaps = draw(st.sampled_from((0.0, 0.1, 0.6)))
        flat = draw(st.sampled_from((False, False, False, True)))
        close = rnd.uniform(5, 500)
        for k in range(start, len(DAYS)):
            if k > start and rnd.random() < gaps:
                continue  # a missing day (the launch day always has a row)
            if not flat:
                close *= math.exp(rnd.gauss(0.0002, 0.02))
            volume = float(rnd.randint(0, 2_000_000)) if kind == "etf" else None
            m.prices.append((DAYS[k], ticker, close, volume))
        if kind == "index":
            continue
        # flows may start a little before the first price (seed creations), both signs, whole $
        flow_share = draw(st.sampled_from((0.0, 0.3, 1.0)))
        for k in range(max(0, start - 5), len(DAYS)):
            if rnd.random() < flow_share:
                m.flows.append((DAYS[k], ticker, float(rnd.randint(-500_000_000, 500_000_000))))
        aum_share = draw(st.sampled_from((0.0, 0.5, 1.0)))
        spread_share = draw(st.sampled_from((0.0, 0.5, 1.0)))
        for k in range(start, len(DAYS)):
            if rnd.random() < aum_share:
                m.aum.append((DAYS[k], ticker, float(rnd.randint(1_000_000, 50_000_000_000))))
            if rnd.random() < spread_share:
                m.spreads.append((DAYS[k], ticker, rnd.randint(0, 80) / 2))
        if draw(st.booleans()):
            for day in sorted(set(draw(st.lists(st.dates(FIRST, LAST), min_size=1, max_size=3)))):
                size = rnd.randint(1, 15)
                raw = [rnd.random() + 0.01 for _ in range(size)]
                total = rnd.uniform(0.3, 1.0) / sum(raw)
                for j, w in enumerate(raw):
                    weight = math.floor(w * total * 1e6) / 1e6  # sums to at most 1
                    sector = rnd.choice(SECTORS)
                    m.holdings.append(
                        (day, ticker, f"S{j:02d}", f"Sec {j}", weight, sector, rnd.choice(BUCKETS))
                    )
    return m


# --------------------------------------------------------------------------- display parsing

_NUMBER = r"-?[0-9]{1,3}(?:,[0-9]{3})*(?:\.[0-9]+)?"
_USD_SCALE = {"bn": Decimal(10) ** 9, "m": Decimal(10) ** 6, "k": Decimal(10) ** 3, "": Decimal(1)}


def _dec(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def parse_display(display: str, unit: str) -> tuple[Decimal, Decimal]:
    """(the value the display shows, half of its last printed unit), in the fact's own units."""

    def half_of(number: str, scale: Decimal = Decimal(1)) -> Decimal:
        decimals = len(number.split(".")[1]) if "." in number else 0
        return Decimal(1).scaleb(-decimals) * scale / 2

    if unit == "percent":
        m = re.fullmatch(f"({_NUMBER})%", display)
        assert m, display
        return _dec(m[1]) / 100, half_of(m[1], Decimal("0.01"))
    if unit == "pp":
        m = re.fullmatch(r"([+-]?[0-9][0-9,]*(?:\.[0-9]+)?) pp", display)
        assert m, display
        assert m[1][0] in "+-" or _dec(m[1]) == 0, f"a pp change carries its sign: {display}"
        return _dec(m[1]) / 100, half_of(m[1], Decimal("0.01"))
    if unit == "usd":
        m = re.fullmatch(r"(-?)\$([0-9][0-9,]*(?:\.[0-9]+)?)(bn|m|k|)", display)
        assert m, display
        scale = _USD_SCALE[m[3]]
        value = _dec(m[2]) * scale
        return (-value if m[1] else value), half_of(m[2], scale)
    if unit == "bps":
        m = re.fullmatch(f"({_NUMBER}) bp", display)
        assert m, display
        return _dec(m[1]) / 10_000, half_of(m[1], Decimal("0.0001"))
    if unit == "days":
        m = re.fullmatch(f"({_NUMBER}) days?", display)
        assert m, display
        return _dec(m[1]), half_of(m[1])
    m = re.fullmatch(_NUMBER, display)  # ratio, count
    assert m, display
    return _dec(display), half_of(display)


def facts_of(m: Market) -> FactSet:
    return compute_facts(m.dataset(), m.as_of)


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(markets())
def test_every_fact_is_finite_or_null_with_a_reason_and_reads_cleanly(m: Market) -> None:
    facts = facts_of(m)
    assert len(facts) > 0
    for fact_id, fact in facts.items():
        j = fact.to_json()
        display = j["display"]
        assert "nan" not in display.lower() and "inf" not in display.lower(), (fact_id, display)
        if j["value"] is None:
            assert isinstance(j.get("reason"), str) and j["reason"].strip(), fact_id
            assert not re.search(r"\b(nan|NaN|inf|NaT|None)\b", j["reason"]), j["reason"]
            assert display == "n/a", (fact_id, display)
            assert j["as_of"] == m.as_of.isoformat(), fact_id
        else:
            assert isinstance(j["value"], float) and math.isfinite(j["value"]), fact_id
            assert "reason" not in j, fact_id
            assert date.fromisoformat(j["as_of"]) <= m.as_of, (fact_id, j["as_of"])
        assert j["source"], fact_id


@PROPERTY
@given(markets())
def test_displays_round_trip_to_their_values(m: Market) -> None:
    """Each display, read back, is within half its last printed digit of the value."""
    for fact_id, fact in facts_of(m).items():
        if fact.value is None:
            continue
        shown, half = parse_display(fact.display, fact.unit)
        exact = Decimal(repr(fact.value))
        assert abs(shown - exact) <= half, (fact_id, fact.value, fact.display)
        if shown != 0:
            assert (shown < 0) == (fact.value < 0), (fact_id, fact.value, fact.display)


@PROPERTY
@given(markets())
def test_rows_after_the_as_of_date_change_nothing(m: Market) -> None:
    """The dataset cut at D here by hand gives the very same facts.json figures."""
    later = sum(1 for rows in (m.prices, m.flows, m.aum, m.spreads) for r in rows if r[0] > m.as_of)
    assert later > 0 or m.as_of == LAST
    full = compute_facts(m.dataset(), m.as_of).to_json()
    cut = compute_facts(m.dataset(cut=True), m.as_of).to_json()
    assert full == cut


@PROPERTY
@given(markets())
def test_the_universe_is_every_etf_priced_on_or_before_the_as_of_date(m: Market) -> None:
    facts = facts_of(m)
    universe = set(m.universe())
    assert LATE not in universe
    etf_ids = {k.split(".")[1] for k in facts if k.startswith("etf.")}
    assert etf_ids == universe
    for t in universe:
        for name in ETF_IDS:
            assert f"etf.{t}.{name}" in facts, f"etf.{t}.{name}"
    # aggregates are over the universe: theme count, fee ranges
    theme = sorted(t for t in universe if m.role(t) == "theme")
    assert facts["theme.count"].value == len(theme)
    for role in ROLES:
        fees = [m.instruments[t][2] for t in universe if m.role(t) == role]
        for name, pick in (("min", min), ("max", max)):
            got = facts[f"fees.{role}.{name}"].value
            assert got == (pick(fees) if fees else None), (role, name)  # type: ignore[type-var]


@PROPERTY
@given(markets())
def test_flows_over_sub_periods_sum_to_the_year_to_date(m: Market) -> None:
    """Month flows + flows from Dec 31 to the previous month end = YTD flows, exactly."""
    facts = facts_of(m)
    d = m.as_of
    year_end = date(d.year - 1, 12, 31)
    month_end = d.replace(day=1) - timedelta(1)

    def hand(tickers: Iterable[str], start: date, end: date) -> float:
        chosen = set(tickers)
        return math.fsum(f for day, t, f in m.flows if t in chosen and start < day <= end)

    universe = m.universe()
    theme = [t for t in universe if m.role(t) == "theme"]
    for t in universe:
        ytd = facts[f"etf.{t}.flows.ytd"].value
        month = facts[f"etf.{t}.flows.month"].value
        assert ytd == hand([t], year_end, d), t
        assert month == hand([t], month_end, d), t
        assert ytd == month + hand([t], year_end, month_end), t
    ytd = facts["theme.flows.ytd"].value
    month = facts["theme.flows.month"].value
    assert ytd == hand(theme, year_end, d)
    assert ytd == month + hand(theme, year_end, month_end)
    assert ytd == math.fsum(facts[f"etf.{t}.flows.ytd"].value or 0.0 for t in theme)


@PROPERTY
@given(markets())
def test_bounded_figures_stay_in_their_bounds(m: Market) -> None:
    facts = facts_of(m)
    with_holdings = m.holdings_funds()
    for t in m.universe():
        top10 = facts.get(f"etf.{t}.top10_weight")
        assert (top10 is not None) == (t in with_holdings), t
        if top10 is not None:
            assert top10.value is not None and 0 <= top10.value <= 1 + 1e-6, (t, top10.value)
        drawdown = facts[f"etf.{t}.drawdown.12m"].value
        if drawdown is not None:
            assert -1 < drawdown <= 0, (t, drawdown)
        vol = facts[f"etf.{t}.volatility.12m"].value
        if vol is not None:
            assert vol >= 0, (t, vol)
        spread = facts[f"etf.{t}.spread"].value
        if spread is not None:
            assert 0 <= spread <= 40 / 10_000, (t, spread)
    for role in ROLES:
        drawdown = facts[f"index.{role}.drawdown.12m"].value
        if drawdown is not None:
            assert -1 < drawdown <= 0, (role, drawdown)
    total = facts["theme.aum.total"].value
    if total is not None:
        parts = [facts[f"etf.{t}.aum"].value for t in m.universe() if m.role(t) == "theme"]
        assert all(p is not None for p in parts)
        assert total == pytest.approx(math.fsum(p for p in parts if p is not None), rel=1e-12)


# --------------------------------------------------------------------------- broken rows

PRICE_COLUMNS = ["date", "ticker", "note", "close", "volume"]
NOTE_TEXT = st.text(alphabet=st.sampled_from('ab ,"\n'), max_size=8)
BREAKS = ("extra field", "missing field", "bad number", "bad date")
BAD_NUMBERS = ("1,5", "0,5", "abc", "nan", "1.2.3", "", "1e", "--1", "12.5%", " 3.5")
BAD_DATES = ("31/01/2026", "2026/01/05", "2026-02-30", "2026-1-5", "20260105", "", "2026-01-05 ")


@dataclass
class PricesFile:
    text: str
    #: the physical line each data row starts on
    lines: list[int]


def prices_file(rows: list[list[str]], quote_all: list[bool]) -> PricesFile:
    """Rows written one by one (some fully quoted), counting the lines each one takes."""
    out = io.StringIO()
    minimal = csv.writer(out, lineterminator="\n")
    every = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    minimal.writerow(PRICE_COLUMNS)
    starts = []
    for row, quoted in zip(rows, quote_all, strict=True):
        starts.append(out.getvalue().count("\n") + 1)
        (every if quoted else minimal).writerow(row)
    return PricesFile(out.getvalue(), starts)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_broken_row_is_reported_on_its_own_physical_line(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    base = minimal_tables()["prices"]
    n = len(base)
    notes = data.draw(st.lists(NOTE_TEXT, min_size=n, max_size=n), label="notes")
    quote_all = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="quoted")
    rows = [
        [r["date"], r["ticker"], note, r["close"], r["volume"]]
        for r, note in zip(base, notes, strict=True)
    ]
    folder = tmp_path_factory.mktemp("broken")
    good = prices_file(rows, quote_all)
    load_dataset(write_dataset(folder / "good", text={"prices": good.text}))  # valid as written

    k = data.draw(st.integers(0, n - 1), label="row")
    how = data.draw(st.sampled_from(BREAKS), label="break")
    column = {"bad number": "close", "bad date": "date"}.get(how)
    broken = list(rows[k])
    if how == "extra field":
        broken.append(data.draw(st.sampled_from(["x", "", "1.5", "a\nb"]), label="extra"))
    elif how == "missing field":
        del broken[data.draw(st.integers(0, len(broken) - 1), label="dropped")]
    elif how == "bad number":
        broken[3] = data.draw(st.sampled_from(BAD_NUMBERS), label="number")
    else:
        broken[0] = data.draw(st.sampled_from(BAD_DATES), label="date")
    bad = prices_file([*rows[:k], broken, *rows[k + 1 :]], quote_all)
    assert bad.lines[k] == good.lines[k]
    path = write_dataset(folder / "bad", text={"prices": bad.text}) / "prices.csv"

    with pytest.raises(InputError) as info:
        load_dataset(path.parent)
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == 1, problems
    where = f"{path}:{good.lines[k]}: "
    if column is not None:
        where += f"column {column}: expected "
    else:
        width = len(PRICE_COLUMNS)
        where += f"expected {width} fields as in the header, found {len(broken)}"
    assert problems[0].startswith(where), (problems[0], where, bad.text)
    assert ", found " in problems[0], problems[0]
