"""Rules over how performance is shown: presentation, legend, no back-filled history."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pandas as pd

from reportgen.compliance.context import Context, RawFinding
from reportgen.compliance.htmldoc import Element, Unit, location_of, skipped
from reportgen.compliance.pdfdoc import normalize
from reportgen.compliance.rules import checks
from reportgen.formatting import format_date, format_date_short
from reportgen.metrics_base import (
    index_ticker,
    one_year_before,
    performance_quarter_end,
    previous_year_end,
    years_before,
)

#: A fund's return: ``etf.T.return.<period>`` or ``etf.T.perf.<period>``.
FUND_RETURN = re.compile(r"^etf\.(?P<ticker>.+)\.(?P<kind>return|perf)\.(?P<period>[a-z0-9_]+)$")
#: Any return shown (fund or index, or the theme-minus-benchmark gap).
ANY_RETURN = re.compile(
    r"^(?:etf\..+|index\.(?:theme|benchmark))\.(?:return|perf)\.|^index\.relative\."
)
#: The standardized performance table and the periods it must show.
STANDARDIZED_TABLE = "standardized-performance"
STANDARDIZED_PERIODS = ("1y", "5y", "10y", "since_inception")

_SPELLED = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty)"
#: Words that state the period of a return.
PERIOD_TERM = re.compile(
    r"\b(?:YTD|MTD|QTD)\b|year[\s-]+to[\s-]+date|month[\s-]+to[\s-]+date|quarter[\s-]+to[\s-]+date"
    r"|since[\s-]+inception|\b\d{1,3}\s*-?\s*(?:m|y|yr|yrs|mo|months?|years?|weeks?|days?)\b"
    rf"|\b{_SPELLED}[\s-]+(?:months?|years?|weeks?|days?)\b"
    r"|\b(?:this|last|the\s+past|the\s+latest|the\s+previous|over\s+the\s+(?:last|past))\s+"
    r"(?:year|month|quarter|week)\b|\bannuali[sz]ed\b|\baverage\s+annual\b",
    re.IGNORECASE,
)

#: The two statements of the past-performance legend; each needs one of its forms on a page.
LEGEND_NO_GUARANTEE = (
    "past performance does not guarantee future results",
    "past performance is no guarantee of future results",
    "past performance is not a guarantee of future results",
    "past performance is not a reliable indicator of future results",
)
LEGEND_FLUCTUATION = (
    "returns and principal value will fluctuate",
    "return and principal value will fluctuate",
    "returns and principal value fluctuate",
    "the value of investments and the income from them can fall as well as rise",
    "the value of investments can go down as well as up",
)


@dataclass(frozen=True)
class _Shown:
    """One printed return: where, and with what around it."""

    fact_id: str
    text: str
    section: str | None
    block: str | None
    #: text that states the period (the sentence, the column header, the label)
    period_text: str
    #: every fact id printed in the same scope (block, table, row)
    scope_facts: frozenset[str]
    row_facts: frozenset[str]
    locate: tuple[str, ...]


def _fact_ids(el: Element) -> list[str]:
    return [
        e.attrs.get("data-fact", "")
        for e in el.iter()
        if e.tag == "span" and "fact" in e.classes and "data-fact" in e.attrs
    ]


def _in(el: Element, tag: str, cls: str | None = None) -> Element | None:
    for a in [el, *el.ancestors()]:
        if a.tag == tag and (cls is None or cls in a.classes):
            return a
    return None


def _tables(ctx: Context) -> Iterator[_Shown]:
    for table in ctx.root.find_all("table"):
        if skipped(table):
            continue
        section, block = location_of(table)
        caption = next(iter(table.find_all("caption")), None)
        caption_text = caption.text() if caption is not None else ""
        headers = [c.text() for head in table.find_all("thead") for c in head.find_all("th")]
        table_facts = frozenset(_fact_ids(table))
        for body in table.find_all("tbody"):
            for row in body.find_all("tr"):
                cells = [
                    c for c in row.children if isinstance(c, Element) and c.tag in ("td", "th")
                ]
                row_facts = frozenset(_fact_ids(row))
                for col, cell in enumerate(cells):
                    header = headers[col] if col < len(headers) else ""
                    for fid in _fact_ids(cell):
                        yield _Shown(
                            fid,
                            cell.text(),
                            section,
                            block,
                            f"{header} {caption_text}",
                            table_facts,
                            row_facts,
                            (row.text(), caption_text),
                        )


def _charts(ctx: Context) -> Iterator[_Shown]:
    """Figures that declare the facts they draw (``data-facts``)."""
    for fig in ctx.root.find_all("figure"):
        ids = fig.attrs.get("data-facts", "").split()
        if not ids or skipped(fig):
            continue
        section, block = location_of(fig)
        caption = next(iter(fig.find_all("figcaption")), None)
        caption_text = caption.text() if caption is not None else ""
        facts = frozenset(ids)
        for fid in ids:
            yield _Shown(fid, fid, section, block, caption_text, facts, facts, (caption_text,))


def _prose(ctx: Context) -> Iterator[_Shown]:
    """Returns printed in text (paragraphs, callouts, key figures, FAQ), scoped by block."""
    by_block: dict[tuple[str | None, str | None], set[str]] = defaultdict(set)
    found: list[tuple[Unit, int, str, str]] = []
    for unit in ctx.units:
        if _in(unit.element, "table") or _in(unit.element, "figure"):
            continue
        for pos, seg in unit.marks:
            if seg.kind == "fact" and seg.ref:
                by_block[(unit.section, unit.block)].add(seg.ref)
                found.append((unit, pos, seg.ref, seg.text))
    for unit, pos, fid, text in found:
        s0, s1 = ctx.sentence_bounds(unit.masked, pos)
        sentence = unit.human(s0, s1)
        period_text = sentence
        kf = _in(unit.element, "div", "rg-kf")
        if kf is not None:  # a key figure: its label states the period
            period_text = kf.text()
        scope = frozenset(by_block[(unit.section, unit.block)])
        yield _Shown(
            fid, text, unit.section, unit.block, period_text, scope, scope, (sentence, text)
        )


def _shown(ctx: Context) -> list[_Shown]:
    return [*_tables(ctx), *_charts(ctx), *_prose(ctx)]


def _benchmark_ids(period: str) -> set[str]:
    return {
        f"index.benchmark.return.{period}",
        f"index.benchmark.perf.{period}",
        f"index.relative.{period}",
    }


@checks("performance-presentation")
def performance_presentation(ctx: Context) -> Iterator[RawFinding]:
    shown = _shown(ctx)
    funds_shown: dict[str, _Shown] = {}
    for item in shown:
        m = FUND_RETURN.match(item.fact_id)
        if m is None:
            continue
        ticker, period = m.group("ticker"), m.group("period")
        funds_shown.setdefault(ticker, item)
        missing = []
        if not PERIOD_TERM.search(item.period_text):
            missing.append("its period")
        if not _benchmark_ids(period) & item.scope_facts:
            missing.append(f"the benchmark's return for the same period ({period})")
        if f"etf.{ticker}.expense_ratio" not in item.row_facts:
            missing.append(f"the fund's expense ratio (etf.{ticker}.expense_ratio)")
        if missing:
            yield RawFinding(
                rule="performance-presentation",
                text=f"{item.text} ({item.fact_id})",
                message="fund return shown without " + "; ".join(missing),
                section=item.section,
                block=item.block,
                locate=item.locate,
                key=f"{item.fact_id}|{'|'.join(missing)}",
                context=item.locate[0] if item.locate else None,
            )
    if funds_shown:
        yield from _standardized_table(ctx, sorted(funds_shown))
    yield from _legend(ctx, shown)


def _standardized_table(ctx: Context, tickers: list[str]) -> Iterator[RawFinding]:
    table = next(
        (t for t in ctx.root.find_all("table") if t.id == STANDARDIZED_TABLE and not skipped(t)),
        None,
    )
    if table is None:
        yield RawFinding(
            rule="performance-presentation",
            text=f"table {STANDARDIZED_TABLE}",
            message="fund returns are shown but the note has no standardized performance table "
            f"(table id {STANDARDIZED_TABLE!r}: 1, 5 and 10 years or since inception, "
            "annualized, to the latest calendar quarter-end)",
            key="standardized-table-missing",
        )
        return
    section, block = location_of(table)
    wrap = (
        table.parent
        if table.parent is not None and "rg-table-wrap" in table.parent.classes
        else table
    )
    text = wrap.text()
    q = performance_quarter_end(ctx.as_of)

    def finding(what: str, message: str) -> RawFinding:
        return RawFinding(
            rule="performance-presentation",
            text=what,
            message=message,
            section=section,
            block=block,
            locate=(what, text[:80]),
            key=f"standardized|{what}",
        )

    row_sets = [frozenset(_fact_ids(row)) for row in table.find_all("tr")]
    for ticker in tickers:
        needed = {f"etf.{ticker}.perf.{p}" for p in STANDARDIZED_PERIODS}
        row = next((r for r in row_sets if r & needed), frozenset())
        missing = sorted(needed - row)  # (a missing expense ratio is reported per return)
        if missing:
            yield finding(
                ticker, f"standardized performance row of {ticker} lacks " + ", ".join(missing)
            )
    bench = {f"index.benchmark.perf.{p}" for p in STANDARDIZED_PERIODS}
    all_ids = frozenset(_fact_ids(table))
    if not bench & all_ids:
        yield finding(
            "benchmark",
            "standardized performance table has no benchmark row (index.benchmark.perf.*)",
        )
    for fid in sorted(all_ids):
        fact = ctx.facts.get(fid, {})
        if ".perf." in fid and fact.get("value") is not None:
            as_of = fact.get("as_of", "")
            if as_of > q.isoformat():
                yield finding(
                    fid,
                    f"{fid} is measured to {as_of}, after the latest calendar "
                    f"quarter-end {q.isoformat()}",
                )
    if not any(form in text for form in (format_date(q), format_date_short(q), q.isoformat())):
        yield finding(
            "quarter-end",
            f"standardized performance table does not state the "
            f"quarter-end {format_date(q)} its returns are measured to",
        )
    if not re.search(r"\bannual|annuali[sz]ed", text, re.IGNORECASE):
        yield finding(
            "annualized",
            "standardized performance table does not say its "
            "returns are average annual (annualized)",
        )


def _legend(ctx: Context, shown: list[_Shown]) -> Iterator[RawFinding]:
    returns = [s for s in shown if ANY_RETURN.match(s.fact_id)]
    copies = [u for u in ctx.units if u.in_context("rg-page-header")]
    if not returns:
        return
    pdf = ctx.pdf
    if not pdf.pages:
        yield RawFinding(
            rule="performance-presentation",
            text="past-performance legend",
            message=f"the note shows performance but its PDF cannot be read ({pdf.error})",
            key="legend-no-pdf",
        )
        return
    pages: set[int] = set()
    for item in returns:
        located = next((pdf.pages_with(t) for t in item.locate if len(normalize(t)) >= 8), [])
        if located:
            pages.update(located)
        else:
            hint = ctx.hint_page(item.section, item.block)
            pages.update([hint] if hint else range(1, len(pdf.pages) + 1))
    headline_returns = any(s.section == "headline" for s in returns)
    if headline_returns:  # the running header repeats the headline on every other page
        for unit in copies:
            pages.update(pdf.pages_with(unit.text[-60:].rstrip("…")))
    missing = [p for p in sorted(pages) if not _has_legend(pdf.norm_pages[p - 1])]
    if missing:
        listed = ", ".join(str(p) for p in missing)
        yield RawFinding(
            rule="performance-presentation",
            text="past-performance legend",
            message=f"page(s) {listed} show performance without the full past-performance "
            "legend: that past performance does not guarantee future results, and that "
            "returns and principal value fluctuate",
            page=missing[0],
            key="legend",
        )


def _has_legend(page: str) -> bool:
    return any(normalize(s) in page for s in LEGEND_NO_GUARANTEE) and any(
        normalize(s) in page for s in LEGEND_FLUCTUATION
    )


# --------------------------------------------------------------------------- inception


_WINDOW_METRICS = ("return.12m", "volatility.12m", "drawdown.12m", "beta.12m")
_SUBJECT = re.compile(
    r"^(?:etf\.(?P<ticker>.+?)|index\.(?P<role>theme|benchmark))\.(?P<metric>.+)$"
)
_SERIES = re.compile(r"^series\.(?P<ticker>.+)\.(?:cumulative_return|drawdown)\.12m$")


def _inceptions(ctx: Context) -> dict[str, date]:
    frame = ctx.dataset.instruments
    out: dict[str, date] = {}
    for ticker, value in zip(frame["ticker"], frame["inception_date"], strict=True):
        if not pd.isna(value):
            out[str(ticker)] = pd.Timestamp(value).date()
    return out


def _period_start(ctx: Context, metric: str) -> date | None:
    d = ctx.as_of
    if metric == "return.ytd":
        return previous_year_end(d)
    if metric in _WINDOW_METRICS:
        return one_year_before(d)
    m = re.fullmatch(r"perf\.(\d+)y", metric)
    if m:
        return years_before(performance_quarter_end(d), int(m.group(1)))
    return None


@checks("inception-backfill")
def inception_backfill(ctx: Context) -> Iterator[RawFinding]:
    inception = _inceptions(ctx)
    seen: set[str] = set()
    for item in _shown(ctx):
        fid = item.fact_id
        if fid in seen:
            continue
        seen.add(fid)
        series = _SERIES.match(fid)
        if series is not None:
            yield from _series_backfill(ctx, item, series.group("ticker"), inception)
            continue
        m = _SUBJECT.match(fid)
        fact = ctx.facts.get(fid)
        if m is None or fact is None or fact.get("value") is None:
            continue
        ticker = m.group("ticker") or _index(ctx, m.group("role"))
        metric = m.group("metric")
        tickers = [ticker]
        if metric == "beta.12m":
            tickers.append(_index(ctx, "benchmark"))
        if metric == "perf.since_inception":
            problem = _since_inception_problem(ctx, ticker, float(fact["value"]), inception)
            if problem:
                yield _backfill_finding(item, fid, problem)
            continue
        start = _period_start(ctx, metric)
        if start is None:
            continue
        for t in tickers:
            born = inception.get(t)
            if born is not None and start < born:
                yield _backfill_finding(
                    item,
                    fid,
                    f"{fid} ({fact.get('display')}) measures from {start.isoformat()}, before "
                    f"{t}'s inception date {born.isoformat()}: back-filled history",
                )


def _index(ctx: Context, role: str | None) -> str:
    try:
        return index_ticker(ctx.dataset, role or "theme")
    except (KeyError, IndexError, ValueError):
        return f"index.{role}"


def _backfill_finding(item: _Shown, fid: str, message: str) -> RawFinding:
    return RawFinding(
        rule="inception-backfill",
        text=f"{item.text} ({fid})",
        message=message,
        section=item.section,
        block=item.block,
        locate=item.locate,
        key=fid,
        context=item.locate[0] if item.locate else None,
    )


def _since_inception_problem(
    ctx: Context, ticker: str, value: float, inception: dict[str, date]
) -> str | None:
    """Recompute a since-inception return from the first price on or after inception."""
    born = inception.get(ticker)
    if born is None:
        return None
    q = performance_quarter_end(ctx.as_of)
    prices = ctx.dataset.prices
    rows = prices.loc[
        (prices["ticker"] == ticker)
        & (prices["date"] >= pd.Timestamp(born))
        & (prices["date"] <= pd.Timestamp(q))
    ]
    if len(rows) < 2:
        return (
            f"{ticker} has a since-inception return but fewer than two prices between "
            f"its inception {born.isoformat()} and the quarter-end {q.isoformat()}"
        )
    first, last = rows.iloc[0], rows.iloc[-1]
    start = pd.Timestamp(first["date"]).date()
    growth = float(last["close"]) / float(first["close"])
    years = (q - start).days / 365.25
    expected = growth ** (1 / years) - 1 if years >= 1 else growth - 1
    if not math.isclose(expected, value, rel_tol=1e-9, abs_tol=1e-12):
        return (
            f"since-inception return of {ticker} is {value:.6f}, but from its first price on or "
            f"after inception ({start.isoformat()}) it is {expected:.6f}: it does not start at "
            "inception"
        )
    return None


def _series_backfill(
    ctx: Context, item: _Shown, ticker: str, inception: dict[str, date]
) -> Iterator[RawFinding]:
    born = inception.get(ticker)
    start = one_year_before(ctx.as_of)
    if born is None or start >= born:
        return
    prices = ctx.dataset.prices
    before = prices.loc[(prices["ticker"] == ticker) & (prices["date"] <= pd.Timestamp(start))]
    if len(before):
        yield _backfill_finding(
            item,
            item.fact_id,
            f"chart series {item.fact_id} starts at {start.isoformat()} on back-filled prices, "
            f"before {ticker}'s inception date {born.isoformat()}",
        )
