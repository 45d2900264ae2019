"""Compliance checks: every rule fires on a small document that breaks it, stays quiet on
a small document that keeps it, and stays quiet on the real sample build.

The small documents are hand-written HTML over the test dataset of
``tests/dataset_factory.py`` (facts computed from it, so every printed figure is
real), rendered to PDF/A-3b with reportgen's own renderer where a rule reads the
PDF. The sample is built once per module with the installed ``reportgen`` command.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from reportgen import compliance
from reportgen.compliance import (
    RULES,
    ComplianceConfig,
    Evidence,
    Finding,
    check,
    exit_code,
    finding_lines,
    findings_json,
    load_evidence,
    summary_lines,
)
from reportgen.compliance.htmldoc import parse_html, units
from reportgen.compliance.lexicon import load_lexicon
from reportgen.compliance.numbers import untraced_numbers
from reportgen.config import load_config
from reportgen.dataset import Dataset, load_dataset
from reportgen.errors import UsageError
from reportgen.metrics import compute_facts
from tests.dataset_factory import minimal_tables, write_dataset

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
SAMPLE = ROOT / "data" / "sample"
SAMPLE_AS_OF = "2026-03-31"
REPORTGEN = Path(sys.executable).parent / "reportgen"
D = date(2026, 1, 30)  # the last day of the test dataset
TIMEOUT = 300

# --------------------------------------------------------------------------- small documents

HOUSE = "Test House Research"
LEGEND = (
    "Past performance does not guarantee future results. Investment returns and principal "
    "value will fluctuate."
)


@cache
def _dataset_dir(tmp_root: str, variant: str = "") -> Path:
    folder = Path(tmp_root) / f"dataset{variant}"
    tables = minimal_tables()
    if variant == "late-inception":  # AAA "launched" 2026-01-05, yet priced from 2025-12-15
        for row in tables["instruments"]:
            if row["ticker"] == "AAA":
                row["inception_date"] = "2026-01-05"
    if variant == "stale":  # AAA's prices stop on 2026-01-09; its flows stop in December
        tables["prices"] = [
            r for r in tables["prices"] if r["ticker"] != "AAA" or r["date"] <= "2026-01-09"
        ]
        tables["flows"] = [
            r for r in tables["flows"] if r["ticker"] != "AAA" or r["date"] <= "2025-12-31"
        ]
    return write_dataset(folder, tables)


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compliance")


def _config(tmp_root: Path, compliance_section: dict[str, Any] | None = None) -> Path:
    data: dict[str, Any] = {"id": "test_note", "title": "Test note", "house": HOUSE}
    data["assumptions"] = {
        "house_growth": {"value": 0.05, "unit": "percent", "source": "House view"}
    }
    if compliance_section is not None:
        data["compliance"] = compliance_section
    name = f"config-{abs(hash(json.dumps(data, sort_keys=True)))}.yaml"
    path = tmp_root / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class Doc:
    """A small note over the test dataset; ``facts`` come from that dataset."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.facts = compute_facts(dataset, D).to_json()

    def f(self, fact_id: str, text: str | None = None) -> str:
        shown = self.facts[fact_id]["display"] if text is None else text
        return f'<span class="fact" data-fact="{fact_id}">{shown}</span>'

    def perf_row(self, ticker: str, prefix: str, expense: bool = True) -> str:
        cells = "".join(
            f'<td class="num">{self.f(f"{prefix}.perf.{p}")}</td>'
            for p in ("1y", "5y", "10y", "since_inception")
        )
        fee = f"<td>{self.f(f'etf.{ticker}.expense_ratio')}</td>" if expense else "<td>–</td>"
        return f'<tr><th scope="row"><span class="name">{ticker}</span></th>{cells}{fee}</tr>'

    def parts(self) -> dict[str, str]:
        f = self.f
        return {
            "style": '<style>* { font-family: "Noto Serif"; } body { font-size: 9pt; }</style>',
            "header": (
                f'<header class="rg-title-block"><span class="rg-house">{HOUSE}</span>'
                '<h1 class="rg-headline" data-block="headline">AI Theme Index Gains '
                f"{f('index.theme.return.ytd')} Year to Date</h1>"
                '<p class="rg-byline">As of <time datetime="2026-01-30">30 January 2026</time>'
                "</p></header>"
            ),
            "context": (
                '<section id="context" class="rg-section"><h2>Context</h2>'
                '<div class="rg-para" data-block="context:1"><p><span class="name">Alpha AI ETF'
                f"</span> returned {f('etf.AAA.return.ytd')} year to date, against "
                f"{f('index.benchmark.return.ytd')} for the benchmark, at an expense ratio of "
                f"{f('etf.AAA.expense_ratio')}.</p>"
                '<p class="rg-source">Source: Test publisher of prices, as of 30 Jan 2026</p>'
                "</div>"
                '<figure id="flows-chart" class="rg-exhibit rg-chart" data-block="context:2" '
                'data-chart-kind="bar" data-value-min="0" data-value-max="1000000">'
                '<figcaption><span class="rg-exhibit-no">Exhibit 1:</span> Monthly net flows'
                "</figcaption><div><svg><text font-family='Noto Serif'>12</text></svg></div>"
                '<p class="rg-source">Source: Test publisher of flows, as of 30 Jan 2026</p>'
                "</figure></section>"
            ),
            "risk": (
                '<section id="risk-assessment" class="rg-section"><h2>Risk Assessment</h2>'
                '<div class="rg-para" data-block="risk-assessment:1"><p>Concentration is high; '
                "the top-10 holdings dominate.</p></div></section>"
            ),
            "outlook": (
                '<section id="outlook" class="rg-section"><h2>Outlook</h2>'
                '<div class="rg-para" data-block="outlook:1"><p>We expect returns to converge '
                "with the market, and we think the winners will be fewer.</p></div></section>"
            ),
            "performance": (
                '<section id="performance" class="rg-section"><h2>Standardized Performance</h2>'
                '<div class="rg-exhibit rg-table-wrap" data-block="performance:1">'
                '<table id="standardized-performance"><caption><span class="rg-exhibit-no">'
                "Exhibit 2:</span> Standardized performance</caption><thead><tr>"
                '<th scope="col">Fund</th><th scope="col">1 year</th><th scope="col">5 years'
                '</th><th scope="col">10 years</th><th scope="col">Since inception</th>'
                '<th scope="col">Exp. ratio</th></tr></thead><tbody>'
                + self.perf_row("AAA", "etf.AAA")
                + self.perf_row("BENCH", "index.benchmark", expense=False).replace(
                    '<span class="name">BENCH</span>',
                    '<span class="name">Broad Market Index</span>',
                )
                + '</tbody></table><ul class="rg-table-notes"><li>Average annual total returns '
                "to 31 December 2025, the latest quarter-end.</li></ul>"
                '<p class="rg-source">Source: Test publisher of prices, as of 31 Dec 2025</p>'
                "</div></section>"
            ),
            "disclosures": (
                '<section id="rg-disclosures" class="rg-disclosures"><h2>Important information'
                f'</h2><ul class="rg-legends"><li>{LEGEND}</li></ul><div class="rg-disclaimer">'
                "<p>This note is for information only and does not guarantee any result.</p>"
                "</div></section>"
            ),
        }

    def html(self, **overrides: str) -> str:
        parts = {**self.parts(), **overrides}
        body = "".join(v for k, v in parts.items() if k != "style")
        head = f"<!DOCTYPE html><html><head>{parts['style']}</head>"
        return f"{head}<body><main>{body}</main></body></html>"


@cache
def _pdf(html: str, variant: str | None = "pdf/a-3b") -> bytes:
    from reportgen.render_pdf import PdfOptions, render_pdf

    return render_pdf(
        html,
        title="Test",
        author=HOUSE,
        subject="Test note",
        options=PdfOptions(variant=variant),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def make(tmp_root: Path) -> Callable[..., Evidence]:
    datasets: dict[str, Dataset] = {}

    def build(
        *,
        dataset: str = "",
        pdf: bool = True,
        variant: str | None = "pdf/a-3b",
        compliance_section: dict[str, Any] | None = None,
        facts: dict[str, Any] | None = None,
        html: str | Callable[[Doc], str] | None = None,
        **overrides: str,
    ) -> Evidence:
        if dataset not in datasets:
            datasets[dataset] = load_dataset(_dataset_dir(str(tmp_root), dataset))
        doc = Doc(datasets[dataset])
        text = html(doc) if callable(html) else html if html is not None else doc.html(**overrides)
        return Evidence(
            html=text,
            pdf=_pdf(text, variant) if pdf else b"",
            facts={"report": "test_note", "as_of": D.isoformat(), "facts": facts or doc.facts},
            config=load_config(_config(tmp_root, compliance_section)),
            dataset=datasets[dataset],
            as_of=D,
        )

    return build


def doc_for(make: Callable[..., Evidence], **kw: Any) -> Doc:
    return Doc(make(pdf=False, **kw).dataset)


def of_rule(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def presentation(findings: list[Finding]) -> list[Finding]:
    """Performance-presentation findings other than the PDF legend (tests without a PDF)."""
    return [
        f
        for f in of_rule(findings, "performance-presentation")
        if f.text != "past-performance legend"
    ]


# --------------------------------------------------------------------------- the baseline


def test_the_small_document_breaks_no_rule(make: Callable[..., Evidence]) -> None:
    findings = check(make())
    assert findings == [], "\n".join(finding_lines(findings))


def test_rules_are_data_with_a_regulation_for_every_regime() -> None:
    ids = [r.id for r in RULES]
    assert ids == [
        "untraced-number",
        "promissory-wording",
        "forecast",
        "performance-presentation",
        "inception-backfill",
        "balance-identity",
        "chart-integrity",
        "stale-input",
        "file-conformance",
    ]
    for rule in RULES:
        assert rule.severity in ("block", "review")
        assert set(rule.regulation) == {"us", "uk", "eu"}
        assert all(rule.regulation.values()) and rule.title and rule.checks


# --------------------------------------------------------------------------- 1 untraced numbers


def test_an_untraced_number_is_caught_with_section_block_and_page(
    make: Callable[..., Evidence],
) -> None:
    doc = doc_for(make)
    context = doc.parts()["context"].replace(
        "year to date, against", "year to date, a 12.5% gain, against"
    )
    findings = of_rule(check(make(context=context)), "untraced-number")
    assert [(f.text, f.section, f.block, f.page, f.severity) for f in findings] == [
        ("12.5%", "context", "context:1", 1, "block")
    ]
    assert "a 12.5% gain" in (findings[0].context or "")


@pytest.mark.parametrize(
    "text",
    [
        "31 March 2026",
        "31 Mar 2026",
        "2026-03-31",
        "March 31, 2026",
        "March 2026",
        "Apr 2025",
        "in 2025 and 2024",
        "2020-2025",
        "FY2025",
        "Q1",
        "Q1 2026",
        "Page 1 of 9",
        "Exhibit 3: Fees",
        "see Table 2 and Note 4",
        "Rule 2210(d)(1)(B)",
        "Regulation (EU) 2017/565",
        "top-10 holdings",
        "the top 10",
        "the 10 largest holdings",
        "the 2nd largest fund",
        "#1",
        "over the last 21 trading days",
        "over 12 months",
        "10 year(s) before the quarter-end",
        "the past 5 years",
        "5 years to 31 March 2026",
        "10-year fee drag",
        "12-month total return",
    ],
)
def test_dates_periods_ranks_and_references_are_not_figures(text: str) -> None:
    assert untraced_numbers(text) == []


@pytest.mark.parametrize("text", ["12m", "Vol. 12m", "1 year", "5 years", "10yr", "5y"])
def test_period_labels_are_terms_in_headers_only(text: str) -> None:
    assert untraced_numbers(text, label=True) == []
    assert untraced_numbers(text) != []


@pytest.mark.parametrize(
    ("text", "figure"),
    [
        ("a 12.5% gain", "12.5%"),
        ("flows of $4.2bn", "$4.2bn"),
        ("would take 6 days to complete", "6 days"),
        ("within 6 days", "6 days"),
        ("the 12m return", "12m"),
        ("2025%", "2025%"),
        ("$2025", "$2025"),
        ("9 funds", "9"),
        ("top 10% of funds", "10%"),
        ("Note 3.5% higher", "3.5%"),
        ("we note 40% of assets", "40%"),
        ("ten percent", "ten percent"),
        ("1,250", "1,250"),
    ],
)
def test_figures_are_untraced(text: str, figure: str) -> None:
    assert [u.text for u in untraced_numbers(text)] == [figure]


def test_formula_constants_are_exempt_but_not_other_numbers() -> None:
    assert untraced_numbers("1 - (1 - fee)", formula=True) == []
    assert [u.text for u in untraced_numbers("1 - (1 - fee)^7", formula=True)] == ["7"]


def test_marks_must_print_exactly_what_they_claim(make: Callable[..., Evidence]) -> None:
    doc = doc_for(make)
    context = (
        '<section id="context" class="rg-section"><h2>Context</h2><div class="rg-para">'
        f"<p>Up {doc.f('etf.AAA.return.ytd', '99.9%')}, a {doc.f('no.such.fact', '1.0%')} move, "
        'a <span class="fact assumption" data-assumption="house_growth">7.0%</span> house view, '
        'an <span class="fact assumption" data-assumption="nope">1</span> guess, '
        'in <span class="name">Fund 2000</span>.</p></div></section>'
    )
    findings = of_rule(check(make(pdf=False, context=context)), "untraced-number")
    messages = sorted(f.message for f in findings)
    assert len(messages) == 5
    assert any("'etf.AAA.return.ytd' but prints '99.9%'" in m for m in messages)
    assert any("'no.such.fact', which facts.json does not hold" in m for m in messages)
    assert any("'house_growth' but prints '7.0%', not '5.0%'" in m for m in messages)
    assert any("'nope', which the config does not declare" in m for m in messages)
    assert any("called 'Fund 2000'" in m for m in messages)


def test_declared_assumptions_and_data_names_are_traced(make: Callable[..., Evidence]) -> None:
    context = (
        '<section id="context" class="rg-section"><h2>Context</h2><div class="rg-para"><p>A '
        '<span class="fact assumption" data-assumption="house_growth">5.0%</span> house view, '
        'a <span class="fact assumption" data-assumption="house_growth">5%</span> one, and '
        '<span class="name">Alpha AI ETF</span>.</p></div></section>'
    )
    assert of_rule(check(make(pdf=False, context=context)), "untraced-number") == []


def test_the_running_header_may_repeat_the_headline_figures(make: Callable[..., Evidence]) -> None:
    doc = doc_for(make)
    shown = doc.facts["index.theme.return.ytd"]["display"]
    cut = shown[:-2] + "…"
    header = f'<div class="rg-page-header"><span>{HOUSE} | AI Theme Index Gains {cut}</span></div>'
    quiet = check(make(pdf=False, header=doc.parts()["header"] + header))
    assert of_rule(quiet, "untraced-number") == []
    other = header.replace(cut, "77.7%")
    loud = of_rule(check(make(pdf=False, header=doc.parts()["header"] + other)), "untraced-number")
    assert [f.text for f in loud] == ["77.7%"]


def test_chart_internals_are_not_read(make: Callable[..., Evidence]) -> None:
    # the baseline's chart SVG holds a bare "12": drawn from facts, not printed prose
    assert ">12</text></svg>" in doc_for(make).html()


# --------------------------------------------------------------------------- 2 promissory wording


def _para(section: str, text: str) -> str:
    return (
        f'<section id="{section}" class="rg-section"><h2>{section.title()}</h2>'
        f'<div class="rg-para" data-block="{section}:1"><p>{text}</p></div></section>'
    )


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Returns are guaranteed.", "guaranteed"),
        ("A RISK-FREE bet on AI.", "RISK-FREE"),
        ("A risk free bet on AI.", "risk free"),
        ("Investors cannot lose here.", "cannot lose"),
        ("Your money will double.", "will double"),
        ("Chip stocks could skyrocket.", "skyrocket"),
        ("A can't-miss opportunity.", "can't-miss"),
        ("This could be the next Nvidia.", "the next Nvidia"),
        ("It is the best fund in the theme.", "best"),
        ("The #1 AI ETF.", "#1"),
        ("It is the top fund this year.", "top fund"),
        ("The top performer of the year.", "top performer"),
    ],
)
def test_promissory_wording_is_flagged(make: Callable[..., Evidence], text: str, term: str) -> None:
    findings = of_rule(check(make(pdf=False, outlook=_para("outlook", text))), "promissory-wording")
    assert [(f.text, f.severity, f.section) for f in findings] == [(term, "review", "outlook")]


@pytest.mark.parametrize(
    "text",
    [
        "Past performance does not guarantee future results.",
        "An AI label does not guarantee durable winners.",
        "There is no guaranteed return.",
        "The top-10 holdings make up half the fund; the top 10 fell.",
        "We seek best execution for every order.",
        "At best, returns will match the market.",
        "Over the next twelve months, rates matter.",
        "The next section covers fees.",
        "A riskier bet than the benchmark.",
    ],
)
def test_negated_and_ordinary_uses_are_allowed(make: Callable[..., Evidence], text: str) -> None:
    findings = check(make(pdf=False, outlook=_para("outlook", text)))
    assert of_rule(findings, "promissory-wording") == []


def test_disclaimers_and_data_names_are_not_wording(make: Callable[..., Evidence]) -> None:
    disclosures = (
        '<section id="rg-disclosures"><h2>Important information</h2><div class="rg-disclaimer">'
        "<p>Nothing here is guaranteed; no product is risk-free.</p></div></section>"
    )
    name = _para("outlook", 'We like <span class="name">Top Fund Guaranteed Income ETF</span>.')
    findings = check(make(pdf=False, disclosures=disclosures, outlook=name))
    assert of_rule(findings, "promissory-wording") == []


def test_the_lexicon_is_a_versioned_file() -> None:
    lexicon = load_lexicon("promissory-v1")
    assert lexicon.id == "promissory-v1" and lexicon.spec.version == 1
    assert lexicon.path.name == "promissory-v1.yaml"
    assert {"guaranteed", "risk-free", "cannot lose", "will double", "skyrocket"} <= set(
        lexicon.spec.terms
    )


# --------------------------------------------------------------------------- 3 forecasts


def test_a_figure_beside_will_in_the_outlook_is_a_forecast(make: Callable[..., Evidence]) -> None:
    doc = doc_for(make)
    text = f"We think the index will add another {doc.f('index.theme.return.ytd')} this year."
    findings = of_rule(check(make(pdf=False, outlook=_para("outlook", text))), "forecast")
    assert [(f.text, f.section, f.severity) for f in findings] == [("will", "outlook", "review")]
    written = "Our target is $5bn of inflows. Flows are expected to reach 3% of assets."
    findings = of_rule(check(make(pdf=False, outlook=_para("outlook", written))), "forecast")
    assert [f.text for f in findings] == ["target", "expected to"]


def test_forecast_words_without_figures_or_outside_forecast_sections_are_quiet(
    make: Callable[..., Evidence],
) -> None:
    doc = doc_for(make)
    outside = _para(
        "context", f"The index will be rebalanced; it rose {doc.f('index.theme.return.ytd')}."
    )
    words_only = _para("outlook", "We think the winners will be fewer.")
    assert of_rule(check(make(pdf=False, context=outside)), "forecast") == []
    assert of_rule(check(make(pdf=False, outlook=words_only)), "forecast") == []
    perspective = _para("bottom-line", f"The theme will return {doc.f('index.theme.return.ytd')}.")
    assert len(of_rule(check(make(pdf=False, outlook=perspective)), "forecast")) == 1


# --------------------------------------------------------------------------- 4 performance


def _context(doc: Doc, sentence: str) -> str:
    return (
        '<section id="context" class="rg-section"><h2>Context</h2>'
        f'<div class="rg-para" data-block="context:1"><p>{sentence}</p></div></section>'
    )


def test_a_fund_return_needs_period_benchmark_and_expense_ratio(
    make: Callable[..., Evidence],
) -> None:
    doc = doc_for(make)
    f = doc.f
    bare = _context(doc, f"Alpha returned {f('etf.AAA.return.ytd')}.")
    findings = presentation(check(make(pdf=False, context=bare)))
    assert len(findings) == 1
    message = findings[0].message
    assert "its period" in message
    assert "benchmark's return for the same period (ytd)" in message
    assert "expense ratio (etf.AAA.expense_ratio)" in message
    assert (findings[0].section, findings[0].block) == ("context", "context:1")
    wrong_period = _context(
        doc,
        f"Alpha returned {f('etf.AAA.return.ytd')} year to date, against "
        f"{f('index.benchmark.return.12m')} over 12 months; fee {f('etf.AAA.expense_ratio')}.",
    )
    findings = presentation(check(make(pdf=False, context=wrong_period)))
    assert [f.message for f in findings] == [
        "fund return shown without the benchmark's return for the same period (ytd)"
    ]


def test_table_returns_need_a_period_column_benchmark_row_and_fee(
    make: Callable[..., Evidence],
) -> None:
    doc = doc_for(make)
    f = doc.f
    table = (
        '<section id="context" class="rg-section"><h2>Context</h2><div class="rg-exhibit" '
        'data-block="context:1"><table id="returns"><caption>Returns</caption><thead><tr>'
        '<th scope="col">Fund</th><th scope="col">Return</th></tr></thead><tbody><tr><th>'
        f"AAA</th><td>{f('etf.AAA.return.ytd')}</td></tr></tbody></table></div></section>"
    )
    findings = presentation(check(make(pdf=False, context=table)))
    assert len(findings) == 1 and findings[0].block == "context:1"
    assert findings[0].message.count(";") == 2  # period, benchmark and expense ratio
    good = table.replace(">Return<", ">YTD<").replace(
        "</td></tr></tbody>",
        f"</td><td>{f('etf.AAA.expense_ratio')}</td></tr>"
        f"<tr><th>Bench</th><td>{f('index.benchmark.return.ytd')}</td></tr></tbody>",
    )
    assert presentation(check(make(pdf=False, context=good))) == []


def test_the_standardized_table_is_required_and_complete(make: Callable[..., Evidence]) -> None:
    missing = presentation(check(make(pdf=False, performance="")))
    assert [f.text for f in missing] == ["table standardized-performance"]
    doc = doc_for(make)
    perf = doc.parts()["performance"]
    no_fee = perf.replace(doc.f("etf.AAA.expense_ratio"), "–")
    findings = presentation(check(make(pdf=False, performance=no_fee)))
    assert len(findings) == 4  # each of the four returns of AAA
    assert all("expense ratio (etf.AAA.expense_ratio)" in f.message for f in findings)
    no_row = perf.replace(doc.f("etf.AAA.perf.10y"), "n/a")
    findings = presentation(check(make(pdf=False, performance=no_row)))
    assert [f.message for f in findings] == [
        "standardized performance row of AAA lacks etf.AAA.perf.10y"
    ]
    cases = {
        "benchmark": perf.replace("index.benchmark.perf", "index.theme.perf"),
        "quarter-end": perf.replace("to 31 December 2025, the latest", "to the latest").replace(
            "as of 31 Dec 2025", "as of 30 Jan 2026"
        ),
        "annual": perf.replace("Average annual total returns", "Total returns"),
    }
    for what, html in cases.items():
        findings = presentation(check(make(pdf=False, performance=html)))
        assert findings and {f.section for f in findings} == {"performance"}, what
        assert any(what in f.message for f in findings), (what, finding_lines(findings))


def test_the_legend_must_be_on_every_page_that_shows_performance(
    make: Callable[..., Evidence],
) -> None:
    doc = doc_for(make)
    # page 2 shows a return; the legend is in the disclosures, on page 1
    page_two = (
        '<section id="more" class="rg-section" style="break-before: page"><h2>More</h2>'
        '<div class="rg-para" data-block="more:1"><p>The theme index moved '
        f"{doc.f('index.theme.return.ytd')} year to date.</p></div></section>"
    )
    findings = of_rule(
        check(make(disclosures=doc.parts()["disclosures"] + page_two)), "performance-presentation"
    )
    assert [(f.text, f.page) for f in findings] == [("past-performance legend", 2)]
    assert "page(s) 2 " in findings[0].message
    with_legend = page_two.replace("</div></section>", f"<p>{LEGEND}</p></div></section>")
    quiet = check(make(disclosures=doc.parts()["disclosures"] + with_legend))
    assert of_rule(quiet, "performance-presentation") == []


def test_half_a_legend_is_not_the_legend(make: Callable[..., Evidence]) -> None:
    disclosures = make(pdf=False).html  # baseline with the full legend
    half = disclosures.replace(" Investment returns and principal value will fluctuate.", "")
    findings = of_rule(check(make(html=half)), "performance-presentation")
    assert [f.text for f in findings] == ["past-performance legend"]


# --------------------------------------------------------------------------- 5 inception


def test_returns_before_inception_are_back_filled(make: Callable[..., Evidence]) -> None:
    # AAA launched 2026-01-05, but the data prices it from 2025-12-15: its YTD return
    # (from 2025-12-31) rests on back-filled history
    findings = of_rule(check(make(dataset="late-inception", pdf=False)), "inception-backfill")
    assert [(f.text.split(" (")[1], f.section, f.severity) for f in findings] == [
        ("etf.AAA.return.ytd)", "context", "block")
    ]
    assert "before AAA's inception date 2026-01-05" in findings[0].message


def test_since_inception_must_start_at_inception(make: Callable[..., Evidence]) -> None:
    base = make(pdf=False)
    facts = json.loads(json.dumps(base.facts["facts"]))
    assert of_rule(check(base), "inception-backfill") == []
    facts["etf.AAA.perf.since_inception"]["value"] += 0.01
    findings = of_rule(check(make(pdf=False, facts=facts)), "inception-backfill")
    assert len(findings) == 1 and "does not start at inception" in findings[0].message


# --------------------------------------------------------------------------- 6 balance, identity


def test_risk_section_and_disclaimer_must_be_there_and_not_empty(
    make: Callable[..., Evidence],
) -> None:
    none = of_rule(check(make(pdf=False, risk="")), "balance-identity")
    assert "no risk assessment section" in " ".join(f.message for f in none)
    empty = '<section id="risk-assessment" class="rg-section"><h2>Risk Assessment</h2></section>'
    found = of_rule(check(make(pdf=False, risk=empty)), "balance-identity")
    assert any(f.message.endswith("is empty") for f in found)
    no_disclaimer = of_rule(check(make(pdf=False, disclosures="")), "balance-identity")
    assert any("no disclaimer" in f.message for f in no_disclaimer)


def test_house_and_as_of_date_must_be_on_the_first_page(make: Callable[..., Evidence]) -> None:
    doc = doc_for(make)
    header = doc.parts()["header"].replace(HOUSE, "").replace("30 January 2026", "today")
    header += '<div style="break-after: page"></div>'  # nothing else on the first page
    found = of_rule(check(make(header=header)), "balance-identity")
    assert sorted(f.text for f in found) == ["30 January 2026", HOUSE]
    assert all(f.page == 1 for f in found)


# --------------------------------------------------------------------------- 7 charts


def test_charts_need_zero_based_bars_a_caption_and_a_dated_source(
    make: Callable[..., Evidence],
) -> None:
    doc = doc_for(make)
    ctx = doc.parts()["context"]
    cases = {
        "zero": ctx.replace('data-value-min="0"', 'data-value-min="500000"'),
        "caption": ctx.replace(
            '<span class="rg-exhibit-no">Exhibit 1:</span> Monthly net flows', ""
        ),
        "source": ctx.replace(
            '<p class="rg-source">Source: Test publisher of flows, as of 30 Jan 2026</p>', ""
        ),
        "source-date": ctx.replace("flows, as of 30 Jan 2026", "flows, as of soon"),
        "kind": ctx.replace(' data-chart-kind="bar"', ""),
    }
    for problem, html in cases.items():
        findings = of_rule(check(make(pdf=False, context=html)), "chart-integrity")
        assert len(findings) == 1, (problem, finding_lines(findings))
        assert findings[0].block == "context:2" and findings[0].severity == "block"
    line = ctx.replace(
        'data-chart-kind="bar" data-value-min="0"', 'data-chart-kind="line" data-value-min="5"'
    )
    assert of_rule(check(make(pdf=False, context=line)), "chart-integrity") == []


# --------------------------------------------------------------------------- 8 stale inputs


def test_old_inputs_and_empty_periods_are_named(make: Callable[..., Evidence]) -> None:
    findings = of_rule(check(make(dataset="stale", pdf=False)), "stale-input")
    messages = [f.message for f in findings]
    assert any(
        m.startswith("etf.AAA.return.ytd rests on inputs dated 2026-01-09, 21 days before")
        for m in messages
    ), messages
    assert all(f.severity == "review" for f in findings)
    relaxed = check(make(dataset="stale", pdf=False, compliance_section={"stale_days": 30}))
    assert of_rule(relaxed, "stale-input") == []
    doc = doc_for(make, dataset="stale")
    flows = _context(doc, f"Alpha AI ETF took in {doc.f('etf.AAA.flows.ytd')} year to date.")
    empty = of_rule(check(make(dataset="stale", pdf=False, context=flows)), "stale-input")
    assert any(
        "Alpha AI ETF (AAA) has no rows in flows.csv after 2025-12-31 up to 2026-01-30" in f.message
        for f in empty
    ), [f.message for f in empty]


# --------------------------------------------------------------------------- 9 files


def test_a_pdf_without_pdfa_declaration_fails(make: Callable[..., Evidence]) -> None:
    findings = of_rule(check(make(variant=None)), "file-conformance")
    assert [f.message for f in findings] == [
        "the PDF declares no PDF/A part in its XMP metadata (pdfaid:part)"
    ]


def test_links_and_loads_outside_the_files_fail(make: Callable[..., Evidence]) -> None:
    doc = doc_for(make)
    linked = doc.parts()["risk"].replace(
        "Concentration is high;", 'Concentration is <a href="https://example.com/x">high</a>;'
    )
    findings = of_rule(check(make(risk=linked)), "file-conformance")
    kinds = sorted(f.message.split(" outside itself")[0] for f in findings)
    assert kinds == [
        "report.html references 'https://example.com/x'",
        "the PDF references something",
    ]
    image = make(pdf=False).html.replace("</main>", '<img src="file:///etc/logo.png"></main>')
    found = of_rule(check(make(html=image, pdf=False)), "file-conformance")
    assert any("file:///etc/logo.png" in f.message for f in found)


def test_fonts_that_are_not_embedded_fail(make: Callable[..., Evidence]) -> None:
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    import io

    buf = io.BytesIO()
    writer.write(buf)
    evidence = replace(make(pdf=False), pdf=buf.getvalue())
    messages = [f.message for f in of_rule(check(evidence), "file-conformance")]
    assert "font 'Helvetica' (Type1) is used but not embedded in the PDF" in messages


# --------------------------------------------------------------------------- ids, waivers, json


def _untraced(make: Callable[..., Evidence], **kw: Any) -> Evidence:
    doc = doc_for(make)
    context = doc.parts()["context"].replace(
        "year to date, against", "year to date (12.5%), against"
    )
    risk = doc.parts()["risk"].replace("is high;", "is 40% high;")
    return make(pdf=False, context=context, risk=risk, **kw)


def test_a_waiver_silences_exactly_its_finding(make: Callable[..., Evidence]) -> None:
    findings = of_rule(check(_untraced(make)), "untraced-number")
    assert sorted(f.text for f in findings) == ["12.5%", "40%"]
    target = next(f for f in findings if f.text == "12.5%")
    waivers = [
        {"finding": target.id, "reason": "Quoted from the issuer's press release"},
        {"finding": "untraced-number-0000000000", "reason": "stale"},
    ]
    settings = {"waivers": waivers}
    waived = check(_untraced(make, compliance_section=settings))
    by_id = {f.id: f for f in waived}
    assert by_id[target.id].waived == "Quoted from the issuer's press release"
    others = [f for f in waived if f.id != target.id]
    assert others and all(f.waived is None for f in others)
    assert exit_code(waived) == 1  # the 40% is still blocking
    only = [f for f in waived if f.id == target.id]
    assert exit_code(only) == 0
    config = ComplianceConfig.model_validate(settings)
    data = json.loads(findings_json(waived, config, report="test_note", as_of=D))
    assert data["unused_waivers"] == ["untraced-number-0000000000"]
    assert data["summary"]["waived"] == 1
    assert any("matches no finding" in line for line in summary_lines(waived, config))


def test_ids_do_not_depend_on_page_block_or_order(make: Callable[..., Evidence]) -> None:
    first = {f.text: f for f in of_rule(check(_untraced(make)), "untraced-number")}
    doc = doc_for(make)
    context = doc.parts()["context"].replace(
        "year to date, against", "year to date (12.5%), against"
    )
    # a new block before it and a page break: the page and block number change, the id not
    moved = context.replace(
        '<div class="rg-para" data-block="context:1">',
        '<div class="rg-para" data-block="context:1" style="break-before: page"><p>New.</p></div>'
        '<div class="rg-para" data-block="context:2">',
    )
    second = {f.text: f for f in of_rule(check(make(context=moved)), "untraced-number")}
    assert second["12.5%"].id == first["12.5%"].id
    assert (second["12.5%"].block, second["12.5%"].page) == ("context:2", 2)
    assert first["12.5%"].id.startswith("untraced-number-") and len(first["12.5%"].id) == 26


def test_findings_json_is_sorted_and_counts(make: Callable[..., Evidence]) -> None:
    findings = check(_untraced(make))
    raw = findings_json(findings, ComplianceConfig(), report="test_note", as_of=D)
    data = json.loads(raw)
    assert raw == (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    assert data["summary"]["blocking"] == sum(f.blocking for f in findings) > 0
    assert data["regime"] == "us" and data["lexicon"] == "promissory-v1"
    assert {r["id"] for r in data["rules"]} == {r.id for r in RULES}
    first = data["findings"][0]
    assert set(first) >= {"id", "rule", "severity", "regulation", "section", "block", "page"}
    assert first["regulation"].startswith("FINRA")


def test_the_regime_chooses_the_regulation(make: Callable[..., Evidence]) -> None:
    uk = of_rule(check(_untraced(make, compliance_section={"regime": "uk"})), "untraced-number")
    assert all("COBS" in f.regulation for f in uk)
    eu = of_rule(check(_untraced(make, compliance_section={"regime": "eu"})), "untraced-number")
    assert all("2017/565" in f.regulation for f in eu)


def test_a_lexicon_that_does_not_exist_is_refused_by_the_config() -> None:
    with pytest.raises(ValueError, match="expected a lexicon"):
        ComplianceConfig.model_validate({"lexicon": "promissory-v9"})


def test_units_keep_marks_apart() -> None:
    html = (
        '<section id="s" class="rg-section"><h2>S</h2><div data-block="s:1"><p>Up '
        '<span class="fact" data-fact="x">1.0%</span> at <span class="name">Fund 100</span>'
        '<sup class="rg-fn">a</sup>.</p></div></section>'
    )
    (unit,) = [u for u in units(parse_html(html)) if u.block == "s:1"]
    assert unit.masked == "Up \ue001 at \ue000\ue003."
    assert unit.text == "Up 1.0% at Fund 100a."
    assert unit.section == "s"


# --------------------------------------------------------------------------- the real sample


def _build(config: Path, out: Path) -> subprocess.Popen[str]:
    args = ["build", config, "--data", SAMPLE, "--as-of", SAMPLE_AS_OF, "--out", out]
    return subprocess.Popen(
        [str(REPORTGEN), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample, and the sample with "a 12.5% gain" typed into its commentary, built at once."""
    root = tmp_path_factory.mktemp("sample")
    config = root / "config"
    shutil.copytree(CONFIG_DIR, config)
    context = config / "commentary" / "context.md"
    text = context.read_text(encoding="utf-8")
    assert "in the latest month alone." in text
    context.write_text(
        text.replace("in the latest month alone.", "in the latest month alone, a 12.5% gain."),
        encoding="utf-8",
    )
    outs = {"sample": root / "sample", "typed": root / "typed"}
    running = [
        _build(CONFIG_DIR / "ai_etf_monthly.yaml", outs["sample"]),
        _build(config / "ai_etf_monthly.yaml", outs["typed"]),
    ]
    for proc in running:
        _, err = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode in (0, 1), err
    return outs


@pytest.fixture(scope="module")
def sample_findings(builds: dict[str, Path]) -> list[Finding]:
    return check(load_evidence(builds["sample"]))


@pytest.mark.parametrize("rule", [r.id for r in RULES])
def test_the_sample_breaks_no_rule(sample_findings: list[Finding], rule: str) -> None:
    found = of_rule(sample_findings, rule)
    assert found == [], "\n".join(finding_lines(found))


def test_an_untraced_number_in_commentary_is_caught_in_the_sample(
    builds: dict[str, Path], sample_findings: list[Finding]
) -> None:
    findings = check(load_evidence(builds["typed"]))
    new = [f for f in findings if f.id not in {g.id for g in sample_findings}]
    assert [(f.rule, f.text, f.section, f.block, f.page) for f in new] == [
        ("untraced-number", "12.5%", "context", "context:1", 1)
    ]
    assert "a 12.5% gain" in (new[0].context or "")
    assert exit_code(findings) == 1


def test_reportgen_check_prints_the_finding_and_exits_1(builds: dict[str, Path]) -> None:
    done = subprocess.run(
        [str(REPORTGEN), "check", str(builds["typed"])],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "12.5%" in done.stdout + done.stderr
    clean = subprocess.run(
        [str(REPORTGEN), "check", str(builds["sample"])],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=ROOT,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_load_evidence_needs_a_build_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"missing report\.html"):
        load_evidence(tmp_path)


def test_the_package_exports_the_api() -> None:
    for name in compliance.__all__:
        assert getattr(compliance, name) is not None
