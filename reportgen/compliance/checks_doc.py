"""Rules over the document as a whole: balance and identity, charts, stale inputs, files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime

import numpy as np
import pandas as pd

from reportgen.compliance.context import Context, RawFinding
from reportgen.compliance.htmldoc import Element, location_of, skipped
from reportgen.compliance.pdfdoc import normalize
from reportgen.compliance.rules import checks
from reportgen.formatting import format_date, format_date_short
from reportgen.metrics_base import (
    index_ticker,
    one_year_before,
    performance_quarter_end,
    previous_month_end,
    previous_year_end,
    theme_etfs,
    years_before,
)


def _date_forms(d: date) -> tuple[str, ...]:
    month = format_date(d).split()[1]
    return (format_date(d), format_date_short(d), d.isoformat(), f"{month} {d.day}, {d.year}")


# --------------------------------------------------------------------------- balance, identity


@checks("balance-identity")
def balance_identity(ctx: Context) -> Iterator[RawFinding]:
    names = ctx.settings.risk_sections
    risk = [sid for sid in ctx.sections if ctx.section_matches(sid, names)]
    if not risk:
        yield RawFinding(
            rule="balance-identity",
            text="Risk Assessment",
            message="the note has no risk assessment section (expected one of: "
            + ", ".join(names)
            + ")",
            key="risk-missing",
        )
    for sid in risk:
        if not _body_text(ctx.sections[sid]):
            yield RawFinding(
                rule="balance-identity",
                text="Risk Assessment",
                message=f"the risk assessment section {sid!r} is empty",
                section=sid,
                key="risk-empty",
            )
    disclosures = ctx.sections.get("rg-disclosures")
    disclaimer = (
        [e for e in disclosures.iter() if "rg-disclaimer" in e.classes] if disclosures else []
    )
    if disclosures is None or not any(e.text() for e in disclaimer):
        yield RawFinding(
            rule="balance-identity",
            text="Disclaimer",
            message="the note has no disclaimer (an empty or missing disclaimer in "
            "#rg-disclosures)",
            section="rg-disclosures",
            key="disclaimer-missing",
        )
    yield from _first_page(ctx)


def _body_text(section: Element) -> str:
    parts = [
        c.text() if isinstance(c, Element) else c
        for c in section.children
        if not (isinstance(c, Element) and c.tag in ("h1", "h2"))
    ]
    return " ".join(p for p in parts if p.strip()).strip()


def _first_page(ctx: Context) -> Iterator[RawFinding]:
    house = ctx.evidence.config.model.house.strip()
    if not house:
        yield RawFinding(
            rule="balance-identity",
            text="house",
            message="the config names no publishing house (house:), so no name is printed",
            key="house-missing",
        )
    pdf = ctx.pdf
    if not pdf.pages:
        yield RawFinding(
            rule="balance-identity",
            text="first page",
            message=f"the first page cannot be checked: the PDF cannot be read ({pdf.error})",
            key="first-page-unreadable",
        )
        return
    first = pdf.norm_pages[0]
    if house and normalize(house) not in first:
        yield RawFinding(
            rule="balance-identity",
            text=house,
            message=f"the house name {house!r} is not on the first page",
            page=1,
            key="house-first-page",
        )
    forms = _date_forms(ctx.as_of)
    if not any(normalize(f) in first for f in forms):
        yield RawFinding(
            rule="balance-identity",
            text=format_date(ctx.as_of),
            message=f"the as-of date ({' / '.join(forms[:3])}) is not on the first page",
            page=1,
            key="as-of-first-page",
        )


# --------------------------------------------------------------------------- charts

_SOURCE_LINE = re.compile(r"^Source:\s*(?P<source>.+?),\s*as of\s+(?P<date>.+?)\.?$")
_BAR_KINDS = frozenset({"bar", "hbar", "column", "stacked-bar"})


def _parse_printed_date(text: str) -> date | None:
    for fmt in ("%d %B %Y", "%d %b %Y", "%Y-%m-%d", "%B %d, %Y", "%b %d, %Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


@checks("chart-integrity")
def chart_integrity(ctx: Context) -> Iterator[RawFinding]:
    for fig in ctx.root.find_all("figure"):
        if skipped(fig) or not ("rg-chart" in fig.classes or fig.find_all("svg")):
            continue
        caption_el = next(iter(fig.find_all("figcaption")), None)
        caption = _caption_text(caption_el)
        name = caption or fig.id or "chart"

        def finding(problem: str, message: str, fig: Element = fig, name: str = name) -> RawFinding:
            section, block = location_of(fig)
            return RawFinding(
                rule="chart-integrity",
                text=name,
                message=message,
                section=section,
                block=block,
                locate=(name,),
                key=f"{fig.id or name}|{problem}",
            )

        if not caption:
            yield finding("caption", f"chart {fig.id or ''} has no caption".replace("  ", " "))
        sources = [p for p in fig.find_all("p") if "rg-source" in p.classes]
        line = sources[0].text() if sources else ""
        m = _SOURCE_LINE.match(line)
        if m is None:
            yield finding(
                "source",
                f"chart {name!r} has no source line 'Source: ..., as of DATE'"
                + (f" (found {line!r})" if line else ""),
            )
        else:
            when = _parse_printed_date(m.group("date"))
            if not m.group("source").strip() or m.group("source").strip() == "reportgen":
                yield finding("source", f"chart {name!r} names no source ({line!r})")
            if when is None:
                yield finding(
                    "source-date",
                    f"chart {name!r}: the source line's date {m.group('date')!r} is not a date",
                )
            elif when > ctx.as_of:
                yield finding(
                    "source-date",
                    f"chart {name!r}: the source line's date "
                    f"{when.isoformat()} is after the as-of date",
                )
        kind = fig.attrs.get("data-chart-kind")
        if kind is None:
            yield finding(
                "kind",
                f"chart {name!r} does not declare its kind (data-chart-kind), "
                "so its axis cannot be checked",
            )
        elif kind in _BAR_KINDS:
            low, high = (
                _float(fig.attrs.get("data-value-min")),
                _float(fig.attrs.get("data-value-max")),
            )
            if low is None or high is None:
                yield finding(
                    "axis",
                    f"bar chart {name!r} does not declare its value axis "
                    "(data-value-min, data-value-max)",
                )
            elif not low <= 0 <= high:
                yield finding(
                    "zero",
                    f"bar chart {name!r}: the value axis runs from {low:g} to "
                    f"{high:g}, so its bars do not start at zero",
                )


def _caption_text(caption: Element | None) -> str:
    if caption is None:
        return ""
    parts = [
        c if isinstance(c, str) else c.text()
        for c in caption.children
        if isinstance(c, str) or "rg-exhibit-no" not in c.classes
    ]
    return " ".join(" ".join(parts).split())


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- stale inputs

#: Metric -> (file, how its period starts) for the "no rows in a reported period" check.
_PERIOD_FILES: dict[str, tuple[str, str]] = {
    "return.ytd": ("prices", "ytd"),
    "return.12m": ("prices", "12m"),
    "volatility.12m": ("prices", "12m"),
    "drawdown.12m": ("prices", "12m"),
    "beta.12m": ("prices", "12m"),
    "flows.ytd": ("flows", "ytd"),
    "flows.month": ("flows", "month"),
    "perf.1y": ("prices", "1y"),
    "perf.5y": ("prices", "5y"),
    "perf.10y": ("prices", "10y"),
}
_SUBJECT = re.compile(
    r"^(?:etf\.(?P<ticker>.+?)|index\.(?P<role>theme|benchmark)|(?P<theme>theme))\.(?P<metric>.+)$"
)


def _printed_facts(ctx: Context) -> dict[str, tuple[str | None, str | None, str]]:
    """Fact id -> (section, block, display) of its first printed occurrence."""
    out: dict[str, tuple[str | None, str | None, str]] = {}
    for unit in ctx.units:
        for _, seg in unit.marks:
            if seg.kind == "fact" and seg.ref and seg.ref not in out:
                out[seg.ref] = (unit.section, unit.block, seg.text)
    for fig in ctx.root.find_all("figure"):
        for fid in fig.attrs.get("data-facts", "").split():
            if fid not in out and fid in ctx.facts:
                section, block = location_of(fig)
                out[fid] = (section, block, str(ctx.facts[fid].get("display", fid)))
    return out


def _period(ctx: Context, name: str) -> tuple[date, date]:
    """(start exclusive, end inclusive) of a reported period."""
    d = ctx.as_of
    if name == "ytd":
        return previous_year_end(d), d
    if name == "month":
        return previous_month_end(d), d
    if name == "12m":
        return one_year_before(d), d
    q = performance_quarter_end(d)
    return years_before(q, int(name.rstrip("y"))), q


@checks("stale-input")
def stale_input(ctx: Context) -> Iterator[RawFinding]:
    printed = _printed_facts(ctx)
    stems_of = _stems_by_source(ctx)
    limits: dict[str, int] = {str(k): v for k, v in ctx.settings.stale_days_by_input.items()}
    q = performance_quarter_end(ctx.as_of)
    for fid, (section, block, display) in printed.items():
        fact = ctx.facts.get(fid)
        if fact is None or fact.get("value") is None or not fact.get("as_of"):
            continue
        try:
            as_of = date.fromisoformat(str(fact["as_of"]))
        except ValueError:
            continue
        reference = q if ".perf." in fid else ctx.as_of
        stems = [
            s for src in str(fact.get("source", "")).split("; ") for s in stems_of.get(src, [])
        ]
        limit = max(
            (limits.get(s, ctx.settings.stale_days) for s in stems),
            default=ctx.settings.stale_days,
        )
        age = (reference - as_of).days
        if age > limit:
            what = "the quarter-end" if ".perf." in fid else "the as-of date"
            yield RawFinding(
                rule="stale-input",
                text=f"{display} ({fid})",
                message=f"{fid} rests on inputs dated {as_of.isoformat()}, {age} days before "
                f"{what} {reference.isoformat()} (limit {limit} days)",
                section=section,
                block=block,
                locate=(display,),
                key=f"stale|{fid}",
            )
    yield from _empty_periods(ctx, printed)


def _stems_by_source(ctx: Context) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for stem, source in ctx.dataset.sources.items():
        out.setdefault(source, []).append(stem)
    return out


def _has_rows(frame: pd.DataFrame, ticker: str, start: date, end: date) -> bool:
    """Whether ``ticker`` has a row dated in (start, end]. Frames are sorted by ticker,
    then date (see :class:`~reportgen.dataset.Dataset`), so two binary searches do."""
    tickers = frame["ticker"].to_numpy()
    first, last = (
        np.searchsorted(tickers, ticker, "left"),
        np.searchsorted(tickers, ticker, "right"),
    )
    dates = frame["date"].to_numpy()[first:last]
    lo = np.searchsorted(dates, np.datetime64(start, "ns"), "right")
    hi = np.searchsorted(dates, np.datetime64(end, "ns"), "right")
    return bool(hi > lo)


def _empty_periods(
    ctx: Context, printed: dict[str, tuple[str | None, str | None, str]]
) -> Iterator[RawFinding]:
    ds = ctx.dataset
    names = dict(zip(ds.instruments["ticker"], ds.instruments["name"], strict=True))
    done: set[tuple[str, str, str]] = set()
    for fid, (section, block, _display) in printed.items():
        fact = ctx.facts.get(fid)
        m = _SUBJECT.match(fid)
        if m is None or fact is None or fact.get("value") is None:
            continue
        spec = _PERIOD_FILES.get(m.group("metric"))
        if spec is None:
            continue
        stem, period = spec
        if m.group("theme"):
            if stem != "flows":
                continue
            tickers = theme_etfs(ds, ctx.as_of)
        elif m.group("role"):
            tickers = [index_ticker(ds, m.group("role"))]
        else:
            tickers = [m.group("ticker")]
        start, end = _period(ctx, period)
        frame: pd.DataFrame = getattr(ds, stem)
        for ticker in tickers:
            if (ticker, stem, period) in done:
                continue
            done.add((ticker, stem, period))
            if _has_rows(frame, ticker, start, end):
                continue
            name = names.get(ticker, ticker)
            yield RawFinding(
                rule="stale-input",
                text=f"{name} ({ticker})",
                message=f"{name} ({ticker}) has no rows in {stem}.csv after "
                f"{start.isoformat()} up to {end.isoformat()}, a period the note reports "
                f"it for ({fid})",
                section=section,
                block=block,
                locate=(name,),
                key=f"empty|{ticker}|{stem}|{period}",
            )


# --------------------------------------------------------------------------- files

_REF_ATTRS = (
    "src",
    "href",
    "xlink:href",
    "srcset",
    "data",
    "poster",
    "action",
    "formaction",
    "background",
)
_CSS_URL = re.compile(r"url\(\s*['\"]?(?P<url>[^'\")\s]+)|@import\s+['\"](?P<imp>[^'\"]+)", re.I)


def _local(url: str) -> bool:
    u = url.strip().lower()
    return u == "" or u.startswith("#") or u.startswith("data:")


@checks("file-conformance")
def file_conformance(ctx: Context) -> Iterator[RawFinding]:
    pdf = ctx.pdf
    if not pdf.pages and pdf.error:
        yield RawFinding(
            rule="file-conformance",
            text="report.pdf",
            message=f"the PDF cannot be read: {pdf.error}",
            key="pdf-unreadable",
        )
    else:
        if pdf.pdfa is None:
            yield RawFinding(
                rule="file-conformance",
                text="report.pdf",
                message="the PDF declares no PDF/A part in its XMP metadata (pdfaid:part)",
                key="pdfa-missing",
            )
        elif not pdf.pdfa[1]:
            yield RawFinding(
                rule="file-conformance",
                text="report.pdf",
                message=f"the PDF declares PDF/A part {pdf.pdfa[0]} but no conformance level "
                "(pdfaid:conformance)",
                key="pdfa-conformance",
            )
        for font in pdf.fonts:
            if not font.embedded:
                yield RawFinding(
                    rule="file-conformance",
                    text=font.name,
                    message=f"font {font.name!r} ({font.subtype.lstrip('/')}) is used but not "
                    "embedded in the PDF",
                    key=f"font|{font.name}",
                )
        for ref in pdf.references:
            yield RawFinding(
                rule="file-conformance",
                text=ref.target or ref.kind,
                message=f"the PDF references something outside itself: {ref.kind} {ref.target!r}",
                key=f"pdf-ref|{ref.kind}|{ref.target}",
            )
    yield from _html_references(ctx)


def _html_references(ctx: Context) -> Iterator[RawFinding]:
    for el in ctx.root.iter():
        urls = [el.attrs[a] for a in _REF_ATTRS if a in el.attrs]
        if el.tag == "link" and "href" in el.attrs:
            urls.append(el.attrs["href"])
        css = el.attrs.get("style", "")
        if el.tag == "style":
            css += " ".join(c for c in el.children if isinstance(c, str))
        for m in _CSS_URL.finditer(css):
            urls.append(m.group("url") or m.group("imp") or "")
        for url in urls:
            for part in url.split(",") if el.attrs.get("srcset") == url else [url]:
                target = part.strip().split(" ")[0]
                if _local(target):
                    continue
                section, block = location_of(el)
                yield RawFinding(
                    rule="file-conformance",
                    text=target,
                    message=f"report.html references {target!r} outside itself "
                    f"(<{el.tag}>); the HTML must be self-contained",
                    section=section,
                    block=block,
                    key=f"html-ref|{target}",
                )
