"""render_html and render_pdf: escaping, self-containment, accessibility, PDF content,
bundled fonts, reproducible bytes and a URL fetcher that fetches nothing it should not.
"""

from __future__ import annotations

import io
import itertools
import re
import socket
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import Markup, escape
from pypdf import PdfReader

from reportgen.document import (
    Callout,
    Cell,
    Chart,
    Citation,
    Document,
    Faq,
    FaqItem,
    KeyFigure,
    Paragraph,
    Section,
    Table,
)
from reportgen.errors import ReportgenError, UsageError
from reportgen.render_html import BUILTIN_TEMPLATES, check_self_contained, render_html
from reportgen.render_pdf import (
    ASSETS_DIR,
    BUNDLED_FONTS,
    FONTS_DIR,
    AssetFetcher,
    PdfOptions,
    RefusedURL,
    render_pdf,
    render_pdf_result,
)

HOSTILE = "<b>A_B*C*</b> & {{ 7*7 }} $x"
LABEL = "Synthetic sample data - not for distribution"
FOOTER = (
    "For professional investors only. Not investment advice. "
    "Past performance is not a reliable indicator of future results."
)
AS_OF = date(2026, 3, 31)
EPOCH = "1774915200"  # 2026-03-31T00:00:00Z


# --------------------------------------------------------------------------- sample


def fact(fact_id: str, text: str) -> Markup:
    return Markup('<span class="fact" data-fact="{}">{}</span>').format(fact_id, text)


def cite(*sources: str) -> Citation:
    return Citation(sources=sources or ("ETF issuer fact sheets",), as_of=AS_OF)


def para(text: str, *facts: tuple[str, str], sources: tuple[str, ...] = ()) -> Paragraph:
    """A paragraph whose ``{0}``, ``{1}``... are facts (id, display)."""
    html = Markup("<p>") + Markup(escape(text)).format(*(fact(i, d) for i, d in facts))
    return Paragraph(html=html + Markup("</p>"), citation=cite(*sources) if facts else None)


def bar_svg(values: list[tuple[str, float]], colour: str, unit: str = "%") -> Markup:
    """A small hand-made bar chart, text as <text> in the bundled sans (as charts should)."""
    top = max(v for _, v in values)
    step = 560 / len(values)
    bars, labels = [], []
    for i, (name, value) in enumerate(values):
        x = 60 + i * step + step * 0.2
        w = step * 0.6
        h = 130 * value / top
        bars.append(f'<rect x="{x:.1f}" y="{160 - h:.1f}" width="{w:.1f}" height="{h:.1f}"/>')
        labels.append(
            f'<text x="{x + w / 2:.1f}" y="176" text-anchor="middle">{escape(name)}</text>'
            f'<text x="{x + w / 2:.1f}" y="{155 - h:.1f}" text-anchor="middle" '
            f'font-weight="600" fill="#0b2545">{value:.1f}{unit}</text>'
        )
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 185" width="100%" '
        'font-family="Inter, sans-serif" font-size="10" fill="#4a5868">'
        '<defs><clipPath id="clip1"><rect x="50" y="0" width="580" height="161"/></clipPath></defs>'
        f'<g clip-path="url(#clip1)" fill="{colour}">' + "".join(bars) + "</g>"
        '<line x1="50" y1="160.5" x2="630" y2="160.5" stroke="#0b2545" stroke-width="0.8"/>'
        + "".join(labels)
        + "</svg>"
    )


def sample_table() -> Table:
    columns = (
        Cell("Fund"),
        Cell("Ticker"),
        Cell("AUM", numeric=True),
        Cell("Q1 net flows", numeric=True),
        Cell("YTD return", numeric=True),
        Cell("12m return", numeric=True, footnote="a"),
        Cell("Expense ratio", numeric=True),
    )
    data = [
        ("Global Robotics & AI Leaders", "GRAI", "$2.1bn", "$610.0m", "16.2%", "34.1%", "0.68%"),
        ("Nasdaq AI Infrastructure", "NAIF", "$1.6bn", "$540.0m", "18.9%", "41.3%", "0.47%"),
        (HOSTILE, "HOST", "$1.2bn", "$385.0m", "12.4%", "27.0%", "0.50%"),
        ("Semiconductor Design Select", "SEMD", "$980.0m", "$290.0m", "21.7%", "46.8%", "0.35%"),
        ("Cloud & Data Platforms", "CLDP", "$870.0m", "$175.0m", "9.8%", "22.5%", "0.40%"),
        ("Applied AI Innovators", "AAII", "$640.0m", "$120.0m", "7.1%", "n/a", "0.65%"),
        ("Machine Learning Equity", "MLEQ", "$510.0m", "-$35.0m", "-2.3%", "11.9%", "0.58%"),
        ("AI Enablers Equal Weight", "AIEW", "$430.0m", "$60.0m", "5.6%", "18.4%", "0.20%"),
    ]
    rows = []
    for n, (name, ticker, *nums) in enumerate(data):
        cells = [Cell(name), Cell(ticker)]
        for k, text in enumerate(nums):
            footnote = "a" if text == "n/a" else None
            cells.append(Cell(text, fact_id=f"fund.{n}.m{k}", numeric=True, footnote=footnote))
        rows.append(tuple(cells))
    return Table(
        id="tbl-funds",
        caption="The eight largest AI-themed ETFs by assets",
        columns=columns,
        rows=tuple(rows),
        notes=(
            "(a) n/a: launched in June 2025, less than twelve months of history.",
            "AUM and flows in USD; returns are total returns in USD, net of fees.",
        ),
        citation=cite("ETF issuer fact sheets", "Exchange flow data"),
    )


def sample_document(**changes: object) -> Document:
    data_blocks = (
        para(
            "Net creations into the eight largest AI-themed funds reached {0} in the quarter, "
            "and the median expense ratio of the group stands at {1}, several times the cost "
            "of a broad technology tracker. Dispersion is wide: the best fund returned {2} "
            "year to date while the weakest lost {3}.",
            ("flows.q1", "$4.2bn"),
            ("fees.median", "0.49%"),
            ("ret.best", "21.7%"),
            ("ret.worst", "-2.3%"),
            sources=("Exchange flow data",),
        ),
        sample_table(),
        para(
            "Funds tilted to chip design and data-centre suppliers led; application-layer "
            "baskets lagged. Liquidity is adequate for the largest products, with quoted "
            "spreads below {0} for the top five, but thins quickly further down the list.",
            ("spread.top5", "10 bp"),
        ),
        Chart(
            id="chart-ytd",
            caption="Year-to-date total return of the largest AI-themed ETFs",
            svg=bar_svg(
                [("SEMD", 21.7), ("NAIF", 18.9), ("GRAI", 16.2), ("HOST", 12.4), ("CLDP", 9.8)],
                "#1f5c99",
            ),
            alt="Bar chart: SEMD 21.7%, NAIF 18.9%, GRAI 16.2%, HOST 12.4%, CLDP 9.8%.",
            citation=cite("ETF issuer fact sheets"),
        ),
    )
    sections = (
        Section(
            "context",
            "Context",
            (
                para(
                    "AI-labelled exchange-traded funds drew {0} of net new money in the first "
                    "quarter of 2026, while the reference AI equity index rose {1} over the "
                    "same period. That compares with {2} for the Nasdaq-100, an outperformance "
                    "of {3}.",
                    ("flows.q1", "$4.2bn"),
                    ("index.ytd", "15.0%"),
                    ("ndx.ytd", "7.0%"),
                    ("index.vs.ndx", "+8.0 pp"),
                    sources=("Exchange flow data", "Index provider"),
                ),
                para(
                    "The theme is no longer a niche: flows now rival those of broad growth "
                    "funds, and a handful of mega-cap platform companies account for much of "
                    "the return. An allocation labelled AI is, in practice, often a "
                    "concentrated large-cap growth position, and should be sized as one."
                ),
                para(
                    "This note reviews the quarter's flows and returns, what they imply for "
                    "hardware and software suppliers, the risks that could reverse the trade "
                    "and how we would implement an allocation today."
                ),
            ),
        ),
        Section("data", "Data Deep Dive", data_blocks),
        Section(
            "sectors",
            "Sector Implications",
            (
                para(
                    "Order books at accelerator and packaging suppliers remain full, and "
                    "capital spending guidance from the large cloud operators rose again. "
                    "The capital intensity of the winners differs sharply from the rest of "
                    "technology: the benefits accrue first to the supply chain."
                ),
                Chart(
                    id="chart-flows",
                    caption="Net flows by month into AI-themed ETFs, USD bn",
                    svg=bar_svg([("Jan", 1.1), ("Feb", 1.3), ("Mar", 1.8)], "#0b2545", "bn"),
                    alt="Bar chart of monthly net flows: January 1.1, February 1.3, March 1.8.",
                    citation=cite("Exchange flow data"),
                ),
                para(
                    "Platform software with usage-based pricing shows the clearest margin "
                    "gains. Vendors exposed to advertising or device cycles did less well, "
                    "which is a reminder that the label does not remove end-market risk."
                ),
            ),
        ),
        Section(
            "risks",
            "Risk Assessment",
            (
                Callout(
                    title="Risk indicators",
                    figures=(
                        KeyFigure("Top-10 weight, median fund", "58.0%", "conc.top10"),
                        KeyFigure("Max drawdown, 2022", "-41.5%", "dd.2022"),
                        KeyFigure("Median spread", "6 bp", "spread.median"),
                    ),
                    citation=cite("ETF issuer fact sheets"),
                ),
                para(
                    "Concentration is the first risk: in the median fund the ten largest "
                    "holdings make up more than half of assets. In the 2022 sell-off the "
                    "group lost {0} from peak to trough, well beyond the broad market.",
                    ("dd.2022", "-41.5%"),
                ),
                para(
                    "Valuation, regulation of models and data, and export controls on "
                    "advanced chips are the other risks we watch. Index rules that buy the "
                    "largest names after they rise can deepen a fall when flows reverse."
                ),
            ),
        ),
        Section(
            "outlook",
            "Outlook",
            (
                para(
                    "Over twelve to thirty-six months we expect returns from the theme to "
                    "converge towards the broad market as capacity is built and pricing "
                    "normalises. Further gains need recurring revenue, not only higher "
                    "multiples."
                ),
                para(
                    "Rates and corporate IT budgets are the macro variables to watch: lower "
                    "real yields would support the multiples, while a hawkish turn would "
                    "hit them first."
                ),
            ),
        ),
        Section(
            "perspective",
            "Harbourline Perspective",
            (
                para(
                    "We would split the exposure into infrastructure, platforms and "
                    "applications, and favour the first two. Rebalancing after strong "
                    "inflows and setting explicit liquidity limits lets investors hold the "
                    "theme without owning its crowding."
                ),
            ),
        ),
        Section(
            "bottom-line",
            "Bottom Line",
            (
                para(
                    "Strong flows ({0}) and a {1} index gain reward holders so far; size "
                    "positions for concentration and valuation risk.",
                    ("flows.q1", "$4.2bn"),
                    ("index.ytd", "15.0%"),
                ),
            ),
        ),
        Section(
            "faq",
            "FAQ",
            (
                Faq(
                    items=(
                        FaqItem(
                            Markup("How did AI ETFs behave in past drawdowns?"),
                            Markup(
                                "<p>They fell further than broad indices, because of "
                                "concentration in high-multiple growth names.</p>"
                            ),
                        ),
                        FaqItem(
                            Markup("How can large orders limit execution costs?"),
                            Markup(
                                "<p>Stagger purchases, use algorithmic execution and size "
                                "orders against the fund's average daily volume.</p>"
                            ),
                        ),
                    )
                ),
            ),
        ),
    )
    doc = Document(
        report_id="ai-etf-2026-03",
        title=Markup("AI ETFs draw ")
        + fact("flows.q1", "$4.2bn")
        + Markup(" as the AI index gains ")
        + fact("index.ytd", "15.0%"),
        byline="Harbourline Research, Thematic Equity Strategy",
        house="Harbourline Research",
        as_of=AS_OF,
        page_size="A4",
        sections=sections,
        disclaimer=Markup(
            "<p>This document is for information only and does not constitute investment "
            "advice, an offer or a solicitation to buy or sell any security. It was "
            "produced from a synthetic data set for demonstration purposes.</p>"
            "<p>Figures are as of the date shown and may change without notice. ETF returns "
            "are shown in USD and net of fees.</p>"
        ),
        footer_disclaimer=FOOTER,
        label=LABEL,
        subtitle=Markup("Flows and returns of AI-themed ETFs in the first quarter of 2026"),
        key_figures=Callout(
            title="Key figures",
            figures=(
                KeyFigure("Q1 net flows, AI ETFs", "$4.2bn", "flows.q1"),
                KeyFigure("AI index, year to date", "15.0%", "index.ytd"),
                KeyFigure("vs Nasdaq-100", "+8.0 pp", "index.vs.ndx", note="YTD, USD"),
                KeyFigure(HOSTILE, "0.49%", "fees.median", note="median expense ratio"),
            ),
            citation=cite("Exchange flow data", "Index provider"),
        ),
        legends=(
            "Past performance is not a reliable indicator of future results.",
            "The value of investments can fall as well as rise.",
        ),
        metadata={"short_title": "AI-themed ETFs: flows and performance"},
    )
    return replace(doc, **changes) if changes else doc


def with_caption(doc: Document, caption: str) -> Document:
    """``doc`` with the first table's caption replaced."""
    sections = []
    for s in doc.sections:
        blocks = tuple(replace(b, caption=caption) if isinstance(b, Table) else b for b in s.blocks)
        sections.append(replace(s, blocks=blocks))
    return replace(doc, sections=tuple(sections))


def pdf_of(html: str, **kwargs: object) -> bytes:
    args: dict[str, object] = {
        "title": "AI ETFs draw $4.2bn",
        "author": "Harbourline Research",
        "subject": "Monthly Thematic Note",
        "keywords": ("AI", "ETF"),
    }
    args.update(kwargs)
    return render_pdf(html, **args)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- HTML parsing


class Tree(HTMLParser):
    """Just enough of a DOM: elements with attributes, text and children."""

    VOID = frozenset(("meta", "link", "br", "img", "hr", "input", "source", "col", "wbr", "base"))

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root: dict = {"tag": "#root", "attrs": {}, "children": [], "text": []}
        self.stack = [self.root]
        self.all: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = {"tag": tag, "attrs": dict(attrs), "children": [], "text": []}
        self.stack[-1]["children"].append(node)
        self.all.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = {"tag": tag, "attrs": dict(attrs), "children": [], "text": []}
        self.stack[-1]["children"].append(node)
        self.all.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        for node in self.stack:
            node["text"].append(data)

    def find(self, tag: str, node: dict | None = None) -> list[dict]:
        out = []
        for child in (node or self.root)["children"]:
            if child["tag"] == tag:
                out.append(child)
            out.extend(self.find(tag, child))
        return out


def text(node: dict) -> str:
    return "".join(node["text"])


@pytest.fixture(scope="module")
def doc() -> Document:
    return sample_document()


@pytest.fixture(scope="module")
def html(doc: Document) -> str:
    return render_html(doc)


@pytest.fixture(scope="module")
def tree(html: str) -> Tree:
    return Tree(html)


# --------------------------------------------------------------------------- HTML


def test_hostile_text_is_escaped_everywhere() -> None:
    html = render_html(with_caption(sample_document(), HOSTILE))
    tree = Tree(html)
    assert "<b>A_B" not in html
    assert "&amp; 49 $x" not in html  # {{ 7*7 }} was not evaluated
    assert html.count("&lt;b&gt;A_B*C*&lt;/b&gt; &amp; {{ 7*7 }} $x") >= 3
    assert HOSTILE in text(tree.find("caption")[0])
    assert any(text(th) == HOSTILE for th in tree.find("th"))
    assert any(text(dt) == HOSTILE for dt in tree.find("dt"))
    assert not any(node["tag"] == "b" for node in tree.all)


def test_html_is_self_contained(html: str, tree: Tree) -> None:
    assert not tree.find("link") and not tree.find("script") and not tree.find("img")
    for node in tree.all:
        for name in ("src", "href", "xlink:href", "srcset", "data"):
            value = node["attrs"].get(name)
            if value is not None:
                assert value.startswith(("#", "data:")), (node["tag"], name, value)
    for match in re.finditer(r"url\(\s*['\"]?([^)'\"]*)", html):
        assert match.group(1).startswith(("data:", "#")), match.group(0)
    assert "@import" not in html and "@font-face" not in html


def test_html_refuses_external_references(doc: Document) -> None:
    with pytest.raises(UsageError, match="self-contained"):
        render_html(doc, css_extra="body { background: url(http://example.com/x.png) }")
    with pytest.raises(UsageError, match="@import"):
        render_html(doc, css_extra="@import 'https://example.com/x.css';")
    with pytest.raises(UsageError, match="</style"):
        render_html(doc, css_extra="</style><script>alert(1)</script>")
    chart = Chart(
        id="ext",
        caption="c",
        svg=Markup('<svg viewBox="0 0 1 1"><image href="http://169.254.169.254/x"/></svg>'),
        alt="a",
    )
    bad = replace(doc, sections=(Section("s", "S", (chart,)),))
    with pytest.raises(UsageError, match="self-contained"):
        render_html(bad)
    with pytest.raises(UsageError, match="self-contained"):
        check_self_contained('<p style="background: url(file:///etc/passwd)">x</p>')


def test_ids_are_unique_and_toc_links_resolve(html: str, tree: Tree, doc: Document) -> None:
    ids = [n["attrs"]["id"] for n in tree.all if "id" in n["attrs"]]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    links = [a["attrs"]["href"] for a in tree.find("a")]
    assert all(href[1:] in ids for href in links)
    toc = tree.find("nav")[0]
    assert [a["attrs"]["href"] for a in tree.find("a", toc)] == [
        *(f"#{s.id}" for s in doc.sections),
        "#rg-disclosures",
    ]
    # both charts define clip1 internally: scoped per chart
    assert "chart-ytd-clip1" in ids and "chart-flows-clip1" in ids
    assert "url(#chart-ytd-clip1)" in html


def test_duplicate_ids_are_refused(doc: Document) -> None:
    dup = replace(doc, sections=(*doc.sections, Section("context", "Again", ())))
    with pytest.raises(UsageError, match="context"):
        render_html(dup)


def test_headings_in_order(tree: Tree, doc: Document) -> None:
    levels = [int(n["tag"][1]) for n in tree.all if re.fullmatch(r"h[1-6]", n["tag"])]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))
    h2 = [text(n) for n in tree.find("h2")]
    assert all(s.title in h2 for s in doc.sections)


def test_document_language_and_title(tree: Tree) -> None:
    assert tree.find("html")[0]["attrs"]["lang"] == "en"
    assert text(tree.find("title")[0]) == "AI ETFs draw $4.2bn as the AI index gains 15.0%"


def test_tables_have_caption_and_scoped_headers(tree: Tree) -> None:
    (table,) = tree.find("table")
    assert text(tree.find("caption", table)[0]).startswith("Exhibit 1:")
    head = tree.find("thead", table)[0]
    ths = tree.find("th", head)
    assert len(ths) == 7 and all(th["attrs"].get("scope") == "col" for th in ths)
    rows = tree.find("tr", tree.find("tbody", table)[0])
    assert len(rows) == 8
    for row in rows:
        first = row["children"][0]
        assert first["tag"] == "th" and first["attrs"]["scope"] == "row"
        assert all(c["tag"] == "td" for c in row["children"][1:])
        assert all(c["attrs"].get("class") == "num" for c in row["children"][2:])


def test_facts_are_marked(tree: Tree) -> None:
    facts = {n["attrs"]["data-fact"]: text(n) for n in tree.all if "data-fact" in n["attrs"]}
    assert facts["fund.3.m0"] == "$980.0m"  # table cell
    assert facts["fees.median"] == "0.49%"  # key figure
    assert facts["conc.top10"] == "58.0%"  # callout figure
    assert all(n["attrs"]["class"] == "fact" for n in tree.all if "data-fact" in n["attrs"])


def test_footnotes_link_to_table_notes(html: str, tree: Tree, doc: Document) -> None:
    notes = [li for ul in tree.find("ul") for li in tree.find("li", ul)]
    note_ids = [li["attrs"]["id"] for li in notes if "id" in li["attrs"]]
    assert note_ids == ["tbl-funds-note-a"]  # "(a) ..." is footnote a; the other is general
    assert '<a href="#tbl-funds-note-a">a</a>' in html
    texts = [" ".join(text(li).split()) for li in notes]
    assert "a n/a: launched in June 2025, less than twelve months of history." in texts
    assert any(t.startswith("Note: AUM and flows in USD") for t in texts)
    bad = replace(sample_table(), notes=("a) not a marker",))
    broken = replace(doc, sections=(Section("s", "S", (bad,)),))
    with pytest.raises(UsageError, match="footnote 'a'"):
        render_html(broken)


def test_charts_are_accessible_figures(tree: Tree, doc: Document) -> None:
    figures = tree.find("figure")
    assert len(figures) == 2
    for fig in figures:
        kids = [c["tag"] for c in fig["children"]]
        assert kids[0] == "figcaption"
        (svg,) = tree.find("svg", fig)
        assert svg["attrs"]["role"] == "img" and svg["attrs"]["aria-label"].startswith("Bar chart")
    assert text(tree.find("figcaption", figures[0])[0]).startswith("Exhibit 2:")


def test_citations_print_under_blocks(tree: Tree) -> None:
    sources = [text(p) for p in tree.all if p["attrs"].get("class") == "rg-source"]
    assert "Source: ETF issuer fact sheets; Exchange flow data, as of 31 Mar 2026" in sources


def test_bad_ids_and_page_sizes_are_refused(doc: Document) -> None:
    with pytest.raises(UsageError, match="cannot be an HTML id"):
        render_html(replace(doc, sections=(Section("two words", "S", ()),)))
    with pytest.raises(UsageError, match="page size"):
        render_html(replace(doc, page_size="A5"))  # type: ignore[arg-type]


def test_css_comments_are_dropped(doc: Document) -> None:
    html = render_html(doc, css_extra="/* url(http://x) @import */ p { color: #222222 }")
    assert "http://x" not in html and "p { color: #222222 }" in html
    assert "/*" not in html.split("<style>")[1].split("</style>")[0]


def test_chart_svg_gets_a_title_and_long_tables_may_break(doc: Document) -> None:
    long_table = replace(sample_table(), id="tbl-long", rows=sample_table().rows * 3)
    html = render_html(
        replace(doc, sections=(*doc.sections, Section("more", "More", (long_table,))))
    )
    assert "<title>Bar chart: SEMD 21.7%" in html
    assert html.count('rg-table-wrap rg-table-long"') == 1


def test_html_is_deterministic(doc: Document, html: str) -> None:
    assert render_html(doc) == html


def test_user_templates_come_first_and_can_extend_builtin(tmp_path: Path, doc: Document) -> None:
    (tmp_path / "note.html.j2").write_text(
        '{% extends "builtin/note.html.j2" %}{% block toc %}<p id="custom">mine</p>{% endblock %}'
    )
    (tmp_path / "note.css").write_text("body { color: #000000 }")
    html = render_html(doc, template_dirs=[tmp_path], css_extra="p { color: #111111 }")
    assert '<p id="custom">mine</p>' in html and "<nav" not in html
    assert "body { color: #000000 }" in html and "p { color: #111111 }" in html
    assert "rg-page-header" not in html.split("<style>")[1].split("</style>")[0]  # user css


def test_missing_template_lists_the_search_path(tmp_path: Path, doc: Document) -> None:
    with pytest.raises(UsageError) as err:
        render_html(doc, template_dirs=[tmp_path], template="nope.html.j2")
    assert str(tmp_path) in str(err.value) and str(BUILTIN_TEMPLATES) in str(err.value)
    with pytest.raises(UsageError, match="does not exist"):
        render_html(doc, template_dirs=[tmp_path / "missing"])


def test_template_errors_are_usage_errors(tmp_path: Path, doc: Document) -> None:
    (tmp_path / "note.html.j2").write_text("{{ doc.no_such_field }}")
    with pytest.raises(UsageError, match="no_such_field"):
        render_html(doc, template_dirs=[tmp_path])
    (tmp_path / "note.html.j2").write_text("{% if %}")
    with pytest.raises(UsageError, match="syntax error"):
        render_html(doc, template_dirs=[tmp_path])


# --------------------------------------------------------------------------- PDF


@pytest.fixture(scope="module")
def pdf(html: str) -> bytes:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        return pdf_of(html)


@pytest.fixture(scope="module")
def pages(pdf: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def test_pdf_contains_the_note(pages: list[str], doc: Document) -> None:
    everything = " ".join(pages)
    assert "AI ETFs draw $4.2bn as the AI index gains 15.0%" in everything
    for section in doc.sections:
        assert section.title in everything
    assert "does not constitute investment advice" in everything
    assert "Past performance is not a reliable indicator of future results." in everything
    assert HOSTILE in everything


def test_every_page_has_label_footer_and_page_number(pages: list[str]) -> None:
    n = len(pages)
    assert n >= 3
    for i, page in enumerate(pages, start=1):
        assert LABEL in page, f"label missing on page {i}"
        assert f"Page {i} of {n}" in page
        assert FOOTER in page
        if i > 1:
            assert "AI-themed ETFs: flows and performance" in page  # running header
            assert "31 March 2026" in page


def test_toc_has_page_numbers(pages: list[str]) -> None:
    assert re.search(r"Context\s*\.*\s*1\b", pages[0])
    assert re.search(r"FAQ\s*\.*\s*\d+", pages[0])


def test_pdf_metadata(pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    info = reader.metadata
    assert info is not None
    assert info.title == "AI ETFs draw $4.2bn"
    assert info.author == "Harbourline Research"
    assert info.subject == "Monthly Thematic Note"
    assert info["/Keywords"] == "AI, ETF"
    assert info["/CreationDate"].startswith("D:20260331000000")
    assert reader.trailer["/Root"]["/Lang"] == "en"
    assert "/ID" in reader.trailer


def _fonts(reader: PdfReader) -> dict[str, bool]:
    """BaseFont -> embedded, for every font of every page (and of Type3/descendants)."""
    found: dict[str, bool] = {}
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            fonts = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for f in fonts:
                desc = f.get("/FontDescriptor")
                desc = desc.get_object() if desc is not None else {}
                embedded = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                found[str(f["/BaseFont"])] = embedded
    return found


def test_only_bundled_fonts_are_embedded(pdf: bytes) -> None:
    fonts = _fonts(PdfReader(io.BytesIO(pdf)))
    assert fonts and all(fonts.values()), fonts
    names = {re.sub(r"^/[A-Z]{6}\+", "", name).replace("-", "") for name in fonts}
    bundled = {f.family.replace(" ", "") for f in BUNDLED_FONTS}
    assert all(any(n.startswith(b) for b in bundled) for n in names), names
    assert {"Inter", "InterSemiBold", "NotoSerif", "NotoSerifBold", "NotoSerifItalic"} <= names


def test_bundled_fonts_are_small_and_licensed() -> None:
    files = {f.file for f in BUNDLED_FONTS}
    assert sum((FONTS_DIR / f).stat().st_size for f in files) < 2_500_000
    licences = list(FONTS_DIR.glob("LICENSE-*.txt"))
    assert len(licences) == 2
    assert all("SIL OPEN FONT LICENSE Version 1.1" in p.read_text() for p in licences)


def test_two_renders_are_byte_identical(
    html: str, pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    assert pdf_of(html) == pdf


def test_dates_come_from_created_then_epoch_then_document(
    html: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    info = PdfReader(io.BytesIO(pdf_of(html))).metadata
    assert info is not None and info["/CreationDate"].startswith("D:20260331")  # as-of meta
    created = datetime(2026, 4, 2, 9, 30, tzinfo=UTC)
    info = PdfReader(io.BytesIO(pdf_of(html, created=created))).metadata
    assert info is not None and info["/CreationDate"].startswith("D:20260402093000")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ReportgenError, match="SOURCE_DATE_EPOCH"):
        pdf_of(html)


def test_letter_page_size(doc: Document) -> None:
    pdf = pdf_of(render_html(replace(doc, page_size="Letter")))
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_render_result_reports_timings_and_assets(html: str) -> None:
    result = render_pdf_result(html, title="t", author="a", subject="s")
    assert result.pages >= 3 and result.layout_seconds > 0 and result.write_seconds > 0
    assert all(u.startswith((FONTS_DIR.as_uri(), "data:")) for u in result.fetched)


# --------------------------------------------------------------------------- fetcher


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record (and stop) any connection attempt, and check what the fetcher served."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError("network connection attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)

    served = AssetFetcher._serve

    def checked(self: AssetFetcher, url: str) -> object:
        response = served(self, url)
        assert url.startswith(("data:", ASSETS_DIR.as_uri() + "/")), url
        return response

    monkeypatch.setattr(AssetFetcher, "_serve", checked)
    return attempts


def page(body: str, head: str = "") -> str:
    return f'<!DOCTYPE html><html lang="en"><head>{head}</head><body>{body}</body></html>'


OUTSIDE_FONT = "file:///usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
ESCAPE = (FONTS_DIR / "../../../../../../../etc/passwd").as_posix()

HOSTILE_HTML = {
    "img file": (page('<img src="file:///etc/passwd" alt="x">'), "file:///etc/passwd"),
    "img metadata": (page('<img src="http://169.254.169.254/" alt="x">'), "http URLs"),
    "css import": (
        page("<p>x</p>", "<style>@import url(http://example.com/x.css);</style>"),
        "http URLs",
    ),
    "font outside": (
        page(
            '<p style="font-family: Outside">x</p>',
            f'<style>@font-face {{ font-family: Outside; src: url("{OUTSIDE_FONT}") }}</style>',
        ),
        "outside the bundled assets",
    ),
    "svg image": (
        page(
            '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
            '<image href="file:///etc/hostname" width="10" height="10"/></svg>'
        ),
        "file:///etc/hostname",
    ),
    "attachment": (
        page("<p>x</p>", '<link rel="attachment" href="file:///etc/passwd">'),
        "attachment",
    ),
    "dotdot": (page(f'<img src="file://{ESCAPE}" alt="x">'), "outside the bundled assets"),
    "percent dotdot": (
        page(f'<img src="{FONTS_DIR.as_uri()}/%2e%2e/%2E%2E/../../../../etc/passwd" alt="x">'),
        "outside the bundled assets",
    ),
    "stylesheet link": (
        page("<p>x</p>", '<link rel="stylesheet" href="https://example.com/x.css">'),
        "https URLs",
    ),
    "relative": (page('<img src="secret.png" alt="x">'), "Relative URI"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_HTML))
def test_fetcher_refuses(name: str, no_network: list[object]) -> None:
    html, message = HOSTILE_HTML[name]
    with pytest.raises(ReportgenError, match=re.escape(message)) as err:
        pdf_of(html)
    assert "PDF rendering" in str(err.value)
    assert no_network == []


def test_fetcher_serves_assets_and_data_urls(no_network: list[object]) -> None:
    pixel = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    html = page(f'<p style="font-family: Inter">x <img src="{pixel}" alt="pixel"></p>')
    assert pdf_of(html).startswith(b"%PDF-")
    assert no_network == []


def test_fetcher_unit(tmp_path: Path) -> None:
    (tmp_path / "font.ttf").write_bytes(b"font")
    (tmp_path / "note.txt").write_text("x")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.ttf"
    outside.write_bytes(b"secret")
    (tmp_path / "link.ttf").symlink_to(outside)
    fetcher = AssetFetcher(root=tmp_path)
    assert fetcher.fetch((tmp_path / "font.ttf").as_uri()).read() == b"font"
    assert fetcher.fetch("data:text/plain,hi").read() == b"hi"
    refused = {
        (tmp_path / "link.ttf").as_uri(): "outside",  # symlink resolved
        (tmp_path / "note.txt").as_uri(): "asset type",
        (tmp_path / "missing.ttf").as_uri(): "no such file",
        f"file://otherhost{tmp_path}/font.ttf": "host",
        "ftp://example.com/x.ttf": "ftp URLs",
        "https://example.com/x.ttf": "https URLs",
        "file:///etc/passwd%00.ttf": "not an absolute",
    }
    for url, reason in refused.items():
        with pytest.raises(RefusedURL, match=reason):
            fetcher.fetch(url)
    assert len(fetcher.refused) == len(refused)
    assert fetcher.fetched == [(tmp_path / "font.ttf").as_uri(), "data:text/plain,hi"]
    assert ASSETS_DIR.is_dir()


def test_weasyprint_errors_fail_the_render() -> None:
    toc = "<style>a::after { content: target-counter(attr(href), page) }</style>"
    with pytest.raises(ReportgenError, match="undefined anchor"):
        pdf_of(page('<p style="font-family: Inter"><a href="#nowhere">x</a></p>', toc))


def test_weasyprint_warnings_fail_unless_lenient() -> None:
    html = page('<p style="colour: red; font-family: Inter">x</p>')
    with pytest.raises(ReportgenError, match="unknown property"):
        pdf_of(html)
    assert pdf_of(html, options=PdfOptions(fail_on_warnings=False)).startswith(b"%PDF-")


def test_svg_presentation_properties_are_not_warnings() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 20" width="40" height="20">'
        '<rect width="20" height="10" style="fill: #0b2545; stroke: #000; stroke-width: 1"/>'
        '<text x="2" y="18" style="text-anchor: start; fill: #333" font-family="Inter">A</text>'
        "</svg>"
    )
    assert pdf_of(page(svg)).startswith(b"%PDF-")


def test_log_capture_is_per_thread() -> None:
    good = page('<p style="font-family: Inter">fine</p>')
    bad = page('<p style="colour: red; font-family: Inter">x</p>')
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda h: _outcome(h), [good, bad] * 4))
    assert results == ["ok", "error"] * 4


def _outcome(html: str) -> str:
    try:
        pdf_of(html)
    except ReportgenError:
        return "error"
    return "ok"


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ReportgenError, match="pdf/a-3b"):
        pdf_of(page("<p>x</p>"), options=PdfOptions(variant="pdf/x-4"))  # type: ignore[arg-type]


def test_system_fonts_are_refused() -> None:
    if not Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists():
        pytest.skip("needs a system font to fall back to")
    with pytest.raises(ReportgenError, match=r"system font.*DejaVu Sans"):
        pdf_of(page("<p style=\"font-family: 'DejaVu Sans'\">x</p>"))


def test_pdf_a3b_variant(html: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    pdf = pdf_of(html, options=PdfOptions(variant="pdf/a-3b"))
    reader = PdfReader(io.BytesIO(pdf))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    assert b"<xmp:CreateDate>2026-03-31T00:00:00Z</xmp:CreateDate>" in xmp
    assert "/OutputIntents" in reader.trailer["/Root"]
    assert pdf_of(html, options=PdfOptions(variant="pdf/a-3b")) == pdf
