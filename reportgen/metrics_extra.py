"""Facts beyond the contract: exposures, standardized performance and top holdings.

Each is defined in docs/facts.md as exactly as the contract defines its own facts;
this module is the executable form of those definitions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from reportgen.dataset import Dataset
from reportgen.facts import Fact, make_fact, null_fact
from reportgen.metrics_base import (
    BUCKETS,
    ROLES,
    Context,
    Figures,
    day_number,
    performance_quarter_end,
    years_before,
)

#: The standardized N-year periods, in years.
PERF_YEARS: tuple[int, ...] = (1, 5, 10)
DAYS_PER_YEAR = 365.25
#: What a holdings row without a sector counts under.
UNCLASSIFIED = "(unclassified)"
#: How many of a fund's largest holdings get a fact each: the ten of ``top10_weight``.
TOP_HOLDINGS = 10


# --- theme exposures ------------------------------------------------------------------------------


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "unnamed"


def sector_slugs(names: Iterable[str]) -> dict[str, str]:
    """Sector name -> the slug its exposure fact id uses.

    Lowercase ASCII (accents dropped), each run of other characters becoming "_", stripped
    of "_" ("unnamed" if nothing is left). Names sharing a slug are taken in sorted order:
    the first keeps it, the others get "_2", "_3", ..., skipping any slug another name has.
    """
    distinct = sorted(set(names))
    base = {name: _slug(name) for name in distinct}
    taken = set(base.values())
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in distinct:
        slug = base[name]
        if slug in used:
            k = 2
            while f"{slug}_{k}" in taken or f"{slug}_{k}" in used:
                k += 1
            slug = f"{slug}_{k}"
        used.add(slug)
        out[name] = slug
    return out


@dataclass(frozen=True)
class _ExposureBasis:
    """Latest holdings of the qualifying funds, each row's weight times its fund's AUM."""

    rows: pd.DataFrame  # columns bucket, sector, aum_weight
    covered_aum: float
    as_of: date


def _exposure_basis(ctx: Context) -> _ExposureBasis | str:
    """The funds the exposure covers, or why there is none."""
    theme = ctx.etfs("theme")
    h = ctx.latest_holdings
    held = set(h.loc[h["fund"].isin(theme), "fund"])
    valued = set(ctx.aum_at.index)
    funds = [t for t in theme if t in held and t in valued]
    if not funds:
        if not theme:
            return f"no theme ETF in the universe at {ctx.as_of}"
        lacking = [
            f"without holdings: {', '.join(t for t in theme if t not in held)}",
            f"without AUM: {', '.join(t for t in theme if t not in valued)}",
        ]
        detail = "; ".join(x for x in lacking if not x.endswith(": "))
        return f"no theme ETF has both holdings and AUM on or before {ctx.as_of} ({detail})"
    aum = ctx.aum_at.loc[funds]
    rows = h.loc[h["fund"].isin(funds)]
    sector = rows["sector"].fillna(UNCLASSIFIED).replace("", UNCLASSIFIED)
    aum_weight = rows["weight"] * rows["fund"].map(aum["aum_usd"])
    newest = max(rows["as_of"].max(), aum["date"].max())
    return _ExposureBasis(
        rows=pd.DataFrame({"bucket": rows["bucket"], "sector": sector, "aum_weight": aum_weight}),
        covered_aum=float(aum["aum_usd"].sum()),
        as_of=pd.Timestamp(newest).date(),
    )


def exposure_sector_names(ds: Dataset, as_of: date) -> dict[str, str]:
    """Slug -> sector name of the ``theme.exposure.sector.<slug>`` facts at ``as_of``."""
    basis = _exposure_basis(Context(ds, as_of))
    if isinstance(basis, str):
        return {}
    return {slug: name for name, slug in sector_slugs(basis.rows["sector"]).items()}


def exposure_facts(ctx: Context) -> Iterator[Fact]:
    """AUM-weighted bucket and sector exposure of the theme ETFs, and the AUM it covers."""
    sources = ctx.source("holdings", "aum")
    basis = _exposure_basis(ctx)
    if isinstance(basis, str):
        for bucket in BUCKETS:
            fact_id = f"theme.exposure.bucket.{bucket}"
            yield null_fact(fact_id, "percent", basis, as_of=ctx.as_of, sources=sources)
        yield null_fact(
            "theme.exposure.covered_aum", "usd", basis, as_of=ctx.as_of, sources=sources
        )
        return
    share = basis.rows["aum_weight"] / basis.covered_aum
    by_bucket = share.groupby(basis.rows["bucket"]).sum()
    for bucket in BUCKETS:
        value = float(by_bucket.get(bucket, 0.0))
        fact_id = f"theme.exposure.bucket.{bucket}"
        yield make_fact(fact_id, value, "percent", as_of=basis.as_of, sources=sources)
    by_sector = share.groupby(basis.rows["sector"]).sum()
    for name, slug in sector_slugs(by_sector.index).items():
        fact_id = f"theme.exposure.sector.{slug}"
        yield make_fact(fact_id, by_sector[name], "percent", as_of=basis.as_of, sources=sources)
    yield make_fact(
        "theme.exposure.covered_aum",
        basis.covered_aum,
        "usd",
        as_of=basis.as_of,
        sources=sources,
    )


# --- standardized performance ------------------------------------------------------------


def _inception_dates(ctx: Context) -> dict[str, date]:
    ins = ctx.ds.instruments.dropna(subset=["inception_date"]).set_index("ticker")
    return {str(t): pd.Timestamp(d).date() for t, d in ins["inception_date"].items()}


def _closes(frame: pd.DataFrame) -> tuple[dict[str, float], dict[str, date]]:
    """(close, date) dicts of a frame indexed by ticker, for fast per-ticker access."""
    rows = Figures.of(frame["close"], frame["date"])
    return rows.values, rows.dates


def n_year_performance(ctx: Context, tickers: list[str], years: int) -> Figures:
    """(close at Q / close at Q - N years)^(1/N) - 1, Q the latest quarter-end <= D.

    Undefined when the start date precedes the inception date (no back-filled history)
    or the ticker has no close on or before it.
    """
    q = performance_quarter_end(ctx.as_of)
    start = years_before(q, years)
    end_close, end_date = _closes(ctx.close_at(q))
    beg_close, _ = _closes(ctx.close_at(start))
    inception = _inception_dates(ctx)
    fig = Figures()
    for t in tickers:
        if t not in end_close:
            fig.fail(t, ctx.no_close_reason(t, q, "latest quarter-end"))
        elif t in inception and start < inception[t]:
            fig.fail(
                t,
                f"{start} ({years} year(s) before the quarter-end {q}) is before the inception "
                f"date {inception[t]} of {t}; back-filled history is not used",
            )
        elif t not in beg_close:
            fig.fail(t, ctx.no_close_reason(t, start, f"{years} year(s) before {q}"))
        else:
            ratio = end_close[t] / beg_close[t]
            fig.put(t, ratio ** (1.0 / years) - 1.0, end_date[t])
    return fig


def _inception_starts(ctx: Context, q: date) -> pd.DataFrame:
    """Each ticker's first price row on or after its inception date (if any) and <= ``q``."""
    panel = ctx.prices
    groups = panel.groups()
    inception = _inception_dates(ctx)
    since = panel.days[panel.starts]  # without an inception date: the first row
    for g, name in enumerate(panel.names):
        if name in inception:
            since[g] = day_number(inception[name])
    first = panel.first_on_or_after(since, groups)
    in_time = panel.days[np.maximum(first, 0)] <= day_number(q)
    first = np.where((first >= 0) & in_time, first, -1)
    return panel.rows(first)


def _years_between(start: date, end: date) -> float:
    return (end - start).days / DAYS_PER_YEAR


def since_inception_performance(ctx: Context, tickers: list[str]) -> Figures:
    """Close at Q over the first own close, annualized over (Q - start) / 365.25 years
    when that is at least one year, cumulative otherwise."""
    q = performance_quarter_end(ctx.as_of)
    end_close, end_date = _closes(ctx.close_at(q))
    beg_close, beg_date = _closes(_inception_starts(ctx, q))
    fig = Figures()
    for t in tickers:
        if t not in end_close:
            fig.fail(t, ctx.no_close_reason(t, q, "latest quarter-end"))
        elif t not in beg_close:
            fig.fail(t, f"no price row of {t} on or after its inception date and on or before {q}")
        elif beg_date[t] >= end_date[t]:
            fig.fail(t, f"{t} has a single close ({beg_date[t]}) since inception up to {q}")
        else:
            ratio = end_close[t] / beg_close[t]
            years = _years_between(beg_date[t], q)
            value = ratio ** (1.0 / years) - 1.0 if years >= 1 else ratio - 1.0
            fig.put(t, value, end_date[t])
    return fig


def since_inception_annualized(ds: Dataset, ticker: str, as_of: date) -> bool | None:
    """Whether ``perf.since_inception`` of ``ticker`` is annualized (None when undefined)."""
    ctx = Context(ds, as_of)
    fig = since_inception_performance(ctx, [ticker])
    if ticker not in fig.values:
        return None
    q = performance_quarter_end(as_of)
    _, start = _closes(_inception_starts(ctx, q))
    return _years_between(start[ticker], q) >= 1


def performance_facts(ctx: Context) -> Iterator[Fact]:
    """``perf.{1y,5y,10y,since_inception}`` of every ETF in the universe and both indexes."""
    subjects = [(f"etf.{t}", t) for t in ctx.universe]
    subjects += [(f"index.{role}", ctx.index(role)) for role in ROLES]
    tickers = [t for _, t in subjects]
    periods = {f"{n}y": n_year_performance(ctx, tickers, n) for n in PERF_YEARS}
    periods["since_inception"] = since_inception_performance(ctx, tickers)
    sources = ctx.source("instruments", "prices")
    for prefix, t in subjects:
        for period, fig in periods.items():
            fact_id = f"{prefix}.perf.{period}"
            yield fig.fact(t, fact_id, "percent", sources=sources, as_of=ctx.as_of)


# --- one fund's holdings: largest positions and bucket exposure -------------------------


@dataclass(frozen=True)
class Holding:
    """One position of a fund's latest holdings, with its rank by weight (1 = largest).

    ``name``, ``security``, ``sector`` and ``bucket`` are data, printed as the dataset
    spells them; ``weight`` is the figure ``etf.T.holding.<rank>.weight`` states.
    """

    rank: int
    security: str
    name: str
    sector: str
    bucket: str
    weight: float
    as_of: date


def _ranked(rows: pd.DataFrame) -> pd.DataFrame:
    """Holdings rows ranked within each fund: weight descending, ties by security (code points).

    The security id is unique within a fund's holdings of one date, so the order is total
    and does not depend on the order of the rows in the file.
    """
    ordered = rows.sort_values(
        ["fund", "weight", "security"], ascending=[True, False, True], kind="stable"
    )
    return ordered.assign(rank=ordered.groupby("fund", sort=False).cumcount() + 1)


def top_holdings(ds: Dataset, ticker: str, as_of: date, count: int = TOP_HOLDINGS) -> list[Holding]:
    """The ``count`` largest positions of the fund's latest holdings ``as_of`` <= ``as_of``,
    ranked exactly as the ``etf.T.holding.<rank>.weight`` facts (empty without holdings)."""
    h = ds.holdings
    rows = h.loc[(h["fund"] == ticker) & (h["as_of"] <= pd.Timestamp(as_of))]
    if not len(rows):
        return []
    rows = rows.loc[rows["as_of"] == rows["as_of"].max()]
    top = _ranked(rows).head(count)
    columns = ("rank", "security", "name", "sector", "bucket", "weight", "as_of")
    return [
        Holding(
            rank=int(rank),
            security=str(security),
            name=str(name),
            sector=str(sector) if isinstance(sector, str) and sector else UNCLASSIFIED,
            bucket=str(bucket),
            weight=float(weight),
            as_of=pd.Timestamp(when).date(),
        )
        for rank, security, name, sector, bucket, weight, when in zip(
            *(top[c].tolist() for c in columns), strict=True
        )
    ]


def inception_date(ds: Dataset, ticker: str) -> date | None:
    """The instrument's ``inception_date`` (None when empty or unknown)."""
    ins = ds.instruments.dropna(subset=["inception_date"])
    found = dict(zip(ins["ticker"].tolist(), ins["inception_date"].tolist(), strict=True))
    return pd.Timestamp(found[ticker]).date() if ticker in found else None


def fund_holdings_facts(ctx: Context) -> Iterator[Fact]:
    """Per fund of the universe with holdings: its ten largest weights and bucket exposure.

    ``etf.T.holding.<rank>.weight`` for rank 1..10 (fewer when the fund holds fewer), and
    ``etf.T.exposure.bucket.<b>`` for every bucket: the sum of the fund's weights in it.
    Funds without a holdings row dated <= D have none of these ids.
    """
    sources = ctx.source("holdings")
    h = ctx.latest_holdings
    h = h.loc[h["fund"].isin(ctx.universe)]
    if not len(h):
        return
    ranked = _ranked(h)
    top = ranked.loc[ranked["rank"] <= TOP_HOLDINGS]
    for fund, rank, weight, when in zip(
        top["fund"], top["rank"], top["weight"], top["as_of"], strict=True
    ):
        yield make_fact(
            f"etf.{fund}.holding.{rank}.weight",
            weight,
            "percent",
            as_of=pd.Timestamp(when).date(),
            sources=sources,
        )
    sums = h.groupby(["fund", "bucket"])["weight"].sum()
    dated = h.groupby("fund")["as_of"].max()
    for fund, when in dated.items():
        for bucket in BUCKETS:
            yield make_fact(
                f"etf.{fund}.exposure.bucket.{bucket}",
                float(sums.get((fund, bucket), 0.0)),
                "percent",
                as_of=pd.Timestamp(when).date(),
                sources=sources,
            )
