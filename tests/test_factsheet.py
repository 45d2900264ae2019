"""The ETF factsheet: per-fund facts, the subject fund, the one-fund table and chart kinds,
and a factsheet for every ETF of a generated dataset.

Expected values are worked out here by hand from the rows the test writes (the small
dataset of ``tests.test_metrics``), never with the pandas calls under test. Builds use
the real stages (facts, document, HTML, WeasyPrint PDF, compliance checks).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from reportgen import build as build_module
from reportgen.compose import compose_document
from reportgen.config import load_config
from reportgen.dataset import load_dataset
from reportgen.document import Chart, Paragraph, Table
from reportgen.errors import InputError, UsageError
from reportgen.metrics import compute_facts, monthly_fund_flows, top_holdings, universe
from tests.market_factory import AS_OF as MARKET_AS_OF
from tests.market_factory import DEFAULT_ETFS, write_market
from tests.test_metrics import AAA_WEIGHTS, INSTRUMENTS, PRICES, D, base, build

ROOT = Path(__file__).resolve().parent.parent
FACTSHEET = ROOT / "config" / "etf_factsheet.yaml"
NOTE = ROOT / "config" / "ai_etf_monthly.yaml"
SAMPLE = ROOT / "data" / "sample"
SAMPLE_AS_OF = date(2026, 3, 31)
TOL = 1e-12


#: The one-fund build needs build.make_files(subject=..., prepared=...) (docs/batch.md).
@pytest.fixture(scope="module")
def facts():
    return compute_facts(base(), D)


# --------------------------------------------------------------------------- per-fund facts


def test_top_holding_weights_rank_the_latest_holdings(facts):
    # AAA's latest holdings on or before D are those of 2026-02-28 (S00..S11); the
    # 2025-12-31 file and the 2026-04-30 one (after D) are not used. Ranked by weight, ties
    # (S07 and S08, both 0.05) by security id.
    expected = [("S00", 0.15), ("S01", 0.12), ("S02", 0.10), ("S03", 0.09), ("S04", 0.08)]
    expected += [("S05", 0.07), ("S06", 0.06), ("S07", 0.05), ("S08", 0.05), ("S09", 0.04)]
    for rank, (_, weight) in enumerate(expected, 1):
        fact = facts[f"etf.AAA.holding.{rank}.weight"]
        assert fact.value == pytest.approx(weight, abs=TOL)
        assert (fact.unit, fact.as_of, fact.source) == (
            "percent",
            date(2026, 2, 28),
            "Issuer holdings",
        )
    assert facts["etf.AAA.holding.1.weight"].display == "15.0%"
    assert "etf.AAA.holding.11.weight" not in facts  # ten ranks, however many holdings
    held = top_holdings(base(), "AAA", D)
    assert [(h.rank, h.security, h.weight) for h in held] == [
        (r, s, w) for r, (s, w) in enumerate(expected, 1)
    ]
    assert [h.name for h in held[:2]] == ["Sec 0", "Sec 1"]
    assert held[0].sector == "Information Technology" and held[0].bucket == "infrastructure"
    total = sum(facts[f"etf.AAA.holding.{r}.weight"].value for r in range(1, 11))
    assert total == pytest.approx(facts["etf.AAA.top10_weight"].value, abs=TOL)


def test_a_fund_with_fewer_than_ten_holdings_has_that_many_ranks(facts):
    assert [facts[f"etf.BBB.holding.{r}.weight"].value for r in (1, 2, 3)] == [0.5, 0.3, 0.2]
    assert "etf.BBB.holding.4.weight" not in facts
    assert facts["etf.BBB.holding.1.weight"].as_of == D


def test_funds_without_holdings_or_outside_the_universe_have_no_holding_ids(facts):
    for t in ("NEW", "SPR", "CCC", "LATE"):
        assert not [k for k in facts if k.startswith(f"etf.{t}.holding.")]
        assert not [k for k in facts if k.startswith(f"etf.{t}.exposure.")]
    assert top_holdings(base(), "SPR", D) == []


def test_ties_are_ranked_by_security_whatever_the_file_order():
    rows = [("2026-03-31", "AAA", s, f"Name {s}", 0.1, "IT", "platform") for s in "DCBA"]
    ds = build(INSTRUMENTS, PRICES, holdings=rows)
    assert [h.security for h in top_holdings(ds, "AAA", D)] == ["A", "B", "C", "D"]
    reversed_ds = build(INSTRUMENTS, PRICES, holdings=rows[::-1])
    assert compute_facts(ds, D).to_json() == compute_facts(reversed_ds, D).to_json()


def test_fund_bucket_exposure_sums_the_latest_weights(facts):
    # AAA: S00-S03 infrastructure, S04-S07 platform, S08-S11 application (all twelve).
    w = AAA_WEIGHTS
    expected = {
        "infrastructure": w[0] + w[1] + w[2] + w[3],
        "platform": w[4] + w[5] + w[6] + w[7],
        "application": w[8] + w[9] + w[10] + w[11],
    }
    for bucket, value in expected.items():
        fact = facts[f"etf.AAA.exposure.bucket.{bucket}"]
        assert fact.value == pytest.approx(value, abs=TOL)
        assert (fact.as_of, fact.source) == (date(2026, 2, 28), "Issuer holdings")
    assert facts["etf.AAA.exposure.bucket.infrastructure"].display == "46.0%"
    assert [
        facts[f"etf.BBB.exposure.bucket.{b}"].value for b in ("infrastructure", "platform")
    ] == [
        0.5,
        0.3,
    ]


def test_a_bucket_without_holdings_is_zero_not_absent():
    rows = [("2026-03-31", "AAA", "X", "X Co", 0.7, "IT", "infrastructure")]
    facts = compute_facts(build(INSTRUMENTS, PRICES, holdings=rows), D)
    assert facts["etf.AAA.exposure.bucket.infrastructure"].value == 0.7
    for bucket in ("platform", "application"):
        assert facts[f"etf.AAA.exposure.bucket.{bucket}"].value == 0.0
        assert facts[f"etf.AAA.exposure.bucket.{bucket}"].display == "0.0%"


def test_monthly_flows_of_one_fund():
    # AAA: 2025-12-31 +1000m (December), 2026-01-15 +500m, 2026-02-28 +200m,
    # 2026-03-10 +300m and 2026-03-31 +50m; 2026-04-01 is after D.
    s = monthly_fund_flows(base(), "AAA", D, months=4)
    assert s.id == "series.AAA.flows.monthly"
    assert s.points == (
        (date(2025, 12, 31), 1000e6),
        (date(2026, 1, 31), 500e6),
        (date(2026, 2, 28), 200e6),
        (date(2026, 3, 31), 350e6),
    )
    assert (s.as_of, s.source, s.unit) == (D, "Flow vendor", "usd")


def test_holdings_ids_are_documented():
    text = (ROOT / "docs" / "facts.md").read_text(encoding="utf-8")
    for fact_id in ("etf.T.holding.<rank>.weight", "etf.T.exposure.bucket.", "monthly_fund_flows"):
        assert fact_id in text


# --------------------------------------------------------------------------- the subject


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "report.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """\
id: one_fund
title: "{{ fund('fund').name }}"
house: Test House
funds:
  fund: {subject: true}
sections:
  - id: risk
    title: Risk
    blocks:
      - paragraph: "{{ fund('fund').ticker }} is a {{ role('fund') }} ETF."
"""


@pytest.fixture(scope="module")
def sample():
    return load_dataset(SAMPLE)


@pytest.fixture(scope="module")
def sample_facts(sample):
    return compute_facts(sample, SAMPLE_AS_OF)


def test_a_subject_selector_names_the_fund_the_report_is_built_for(tmp_path, sample, sample_facts):
    config = load_config(_config(tmp_path, MINIMAL))
    assert config.needs_subject and config.subject_funds == ["fund"]
    doc = compose_document(config, sample, sample_facts, SAMPLE_AS_OF, subject="HLTM")
    assert "Halcyon Total Market Index ETF" in str(doc.title)
    para = doc.sections[0].blocks[0]
    assert isinstance(para, Paragraph)
    assert "HLTM" in para.html and "benchmark ETF" in para.html
    assert not load_config(NOTE).needs_subject


def test_a_one_fund_config_without_a_subject_is_a_usage_error(tmp_path, sample, sample_facts):
    config = load_config(_config(tmp_path, MINIMAL))
    with pytest.raises(UsageError, match=r"describes one fund \(funds.fund: \{subject: true\}\)"):
        compose_document(config, sample, sample_facts, SAMPLE_AS_OF)
    with pytest.raises(UsageError, match=r"subject 'NOPE': not an ETF of the universe"):
        compose_document(config, sample, sample_facts, SAMPLE_AS_OF, subject="NOPE")
    with pytest.raises(UsageError, match=r"subject 'MERAI'"):  # an index, not an ETF
        compose_document(config, sample, sample_facts, SAMPLE_AS_OF, subject="MERAI")
    note = load_config(NOTE)
    with pytest.raises(UsageError, match="not about one fund"):
        compose_document(note, sample, sample_facts, SAMPLE_AS_OF, subject="NWAI")


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("{subject: true, ticker: NWAI}", "found subject with ticker"),
        ("{subject: true, select: largest, by: aum}", "found subject with select, by"),
        ("{subject: false}", "expected True"),
    ],
)
def test_a_subject_selector_stands_alone(tmp_path, selector, message):
    text = MINIMAL.replace("fund: {subject: true}", f"fund: {selector}")
    with pytest.raises(InputError, match=re.escape(message)) as info:
        load_config(_config(tmp_path, text))
    assert info.value.problems[0].line == 5


def test_when_leaves_a_section_out_and_a_bad_condition_is_located(tmp_path, sample, sample_facts):
    text = MINIMAL + (
        "  - id: holdings\n"
        "    title: Holdings\n"
        "    when: available('etf.@fund.top10_weight')\n"
        "    blocks:\n"
        "      - paragraph: \"Top ten: {{ fact('etf.@fund.top10_weight') }}.\"\n"
    )
    config = load_config(_config(tmp_path, text))
    with_holdings = compose_document(config, sample, sample_facts, SAMPLE_AS_OF, subject="NWAI")
    assert [s.id for s in with_holdings.sections] == ["risk", "holdings"]
    without = compose_document(config, sample, sample_facts, SAMPLE_AS_OF, subject="WMCC")
    assert [s.id for s in without.sections] == ["risk"]  # no holdings: no unknown fact id
    bad = load_config(_config(tmp_path, text.replace("available(", "availabel(")))
    with pytest.raises(InputError) as info:
        compose_document(bad, sample, sample_facts, SAMPLE_AS_OF, subject="NWAI")
    [problem] = info.value.problems
    assert problem.line == 13 and "sections.1.when" in problem.message
    assert "availabel" in problem.message


# --------------------------------------------------------------------------- kinds


def _doc(tmp_path, sample, sample_facts, blocks: str, subject: str = "NWAI"):
    text = MINIMAL.replace(
        "      - paragraph: \"{{ fund('fund').ticker }} is a {{ role('fund') }} ETF.\"\n", blocks
    )
    config = load_config(_config(tmp_path, text))
    return compose_document(config, sample, sample_facts, SAMPLE_AS_OF, subject=subject)


def _ids(table: Table) -> list[list[str | None]]:
    return [[c.fact_id for c in row] for row in table.rows]


def test_fund_figures_and_comparison_print_the_funds_facts(tmp_path, sample, sample_facts):
    blocks = (
        "      - table: {kind: fund_figures, caption: Costs, options: {fund: fund,"
        " rows: [issuer, inception_date, expense_ratio, fee_drag.10y, days_to_trade.25m],"
        " indexes: [benchmark]}}\n"
        "      - table: {kind: fund_comparison, options: {fund: fund,"
        " metrics: [return.ytd, return.12m, expense_ratio], indexes: [benchmark, theme]}}\n"
        "      - table: {kind: standardized_performance, options: {fund: fund,"
        " indexes: [benchmark]}}\n"
    )
    doc = _doc(tmp_path, sample, sample_facts, blocks)
    figures, comparison, standard = doc.sections[0].blocks
    assert isinstance(figures, Table) and isinstance(comparison, Table)
    assert isinstance(standard, Table)
    assert [r[1].text for r in figures.rows[:2]] == ["Northwind Funds", "15 September 2014"]
    assert _ids(figures)[2:] == [
        [None, "etf.NWAI.expense_ratio", None],
        [None, "etf.NWAI.fee_drag.10y", None],
        [None, "etf.NWAI.days_to_trade.25m", None],
    ]
    assert figures.rows[4][0].html is not None and "order_1" in figures.rows[4][0].html
    assert [c.text for c in figures.columns[1:]] == ["NWAI", "Meridian Broad Tech 100 Index"]
    assert _ids(comparison) == [
        [None, "etf.NWAI.return.ytd", "etf.NWAI.return.12m", "etf.NWAI.expense_ratio"],
        [None, "index.benchmark.return.ytd", "index.benchmark.return.12m", None],
        [None, "index.theme.return.ytd", "index.theme.return.12m", None],
    ]
    assert standard.id == "standardized-performance"
    assert [r[0].text for r in standard.rows] == ["NWAI", "Meridian Broad Tech 100 Index"]
    assert _ids(standard)[0][1:] == [
        "etf.NWAI.perf.1y",
        "etf.NWAI.perf.5y",
        "etf.NWAI.perf.10y",
        "etf.NWAI.perf.since_inception",
        "etf.NWAI.expense_ratio",
    ]


def test_top_holdings_and_fund_exposure(tmp_path, sample, sample_facts):
    blocks = (
        "      - table: {kind: top_holdings, options: {fund: fund}}\n"
        "      - table: {kind: exposure, options: {fund: fund}}\n"
        "      - chart: {kind: exposure, options: {fund: fund}}\n"
        "      - chart: {kind: fund_cumulative, options: {fund: fund}}\n"
        "      - chart: {kind: monthly_flows, options: {fund: fund, months: 6}}\n"
    )
    doc = _doc(tmp_path, sample, sample_facts, blocks)
    holdings, exposure, bars, lines, flows = doc.sections[0].blocks
    assert isinstance(holdings, Table) and isinstance(exposure, Table)
    expected = top_holdings(sample, "NWAI", SAMPLE_AS_OF)
    assert [r[0].text for r in holdings.rows[:10]] == [h.name for h in expected]
    assert all(r[0].data and r[1].data for r in holdings.rows[:10])
    assert [r[-1].fact_id for r in holdings.rows] == [
        *(f"etf.NWAI.holding.{r}.weight" for r in range(1, 11)),
        "etf.NWAI.top10_weight",
    ]
    values = [sample_facts[r[1].fact_id].value for r in exposure.rows]
    assert values == sorted(values, reverse=True)
    assert {r[1].fact_id for r in exposure.rows} == {
        f"etf.NWAI.exposure.bucket.{b}" for b in ("infrastructure", "platform", "application")
    }
    assert isinstance(bars, Chart) and bars.chart_type == "hbar"
    assert isinstance(lines, Chart) and "Northwind AI Leaders ETF" in lines.alt
    assert "Meridian Broad Tech 100 Index" in lines.alt and "benchmark index" in lines.caption
    assert isinstance(flows, Chart) and flows.chart_type == "bar"


def test_a_fund_without_holdings_shows_not_available(tmp_path, sample, sample_facts):
    blocks = "      - table: {kind: top_holdings, options: {fund: fund}}\n"
    doc = _doc(tmp_path, sample, sample_facts, blocks, subject="WMCC")
    [para] = doc.sections[0].blocks
    assert isinstance(para, Paragraph)
    assert "not available (no holdings of WMCC reported on or before 2026-03-31)" in para.html


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "{kind: fund_figures, options: {fund: fund, rows: [aum, nope]}}",
            "unknown per-ETF metric 'nope'",
        ),
        (
            "{kind: fund_figures, options: {fund: fund, rows: [return.12m]}}",
            "'return.12m' is a return",
        ),
        (
            "{kind: fund_figures, options: {fund: nobody, rows: [aum]}}",
            "expected a fund name (fund)",
        ),
        (
            "{kind: fund_figures, options: {fund: fund, rows: [aum], colour: red}}",
            "options.colour: unknown option",
        ),
        (
            "{kind: fund_comparison, options: {fund: fund, metrics: [aum], indexes: [world]}}",
            "options.indexes",
        ),
        ("{kind: top_holdings, options: {fund: fund, count: 11}}", "expected at most 10"),
        (
            "{kind: exposure, options: {fund: fund, by: sector}}",
            "options.by: expected one of bucket",
        ),
    ],
)
def test_option_errors_name_the_config_line(tmp_path, sample, sample_facts, block, message):
    with pytest.raises(InputError) as info:
        _doc(tmp_path, sample, sample_facts, f"      - table: {block}\n")
    [problem] = info.value.problems
    assert problem.line == 10 and message in problem.message, problem.message


# --------------------------------------------------------------------------- whole factsheets


def _pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated market (tests/market_factory.py) whose fund names carry digits and marks."""
    etfs = list(DEFAULT_ETFS)
    etfs[1] = replace(etfs[1], name="Kestrel Robotics & AI 2030 ETF")
    return write_market(tmp_path_factory.mktemp("market") / "data", etfs=etfs)


def test_a_factsheet_for_every_etf_of_a_generated_market(market: Path) -> None:
    prepared = build_module.prepare(FACTSHEET, market, MARKET_AS_OF)
    tickers = universe(prepared.dataset, MARKET_AS_OF)
    assert tickers == sorted(e.ticker for e in DEFAULT_ETFS)
    for t in tickers:
        result = build_module.make_files(
            FACTSHEET, market, MARKET_AS_OF, subject=t, prepared=prepared
        )
        files = result.files
        compliance = json.loads(files["compliance.json"])
        assert compliance["summary"]["blocking"] == 0, compliance["findings"]
        assert compliance["summary"]["total"] == 0, compliance["findings"]
        assert 1 <= _pages(files["report.pdf"]) <= 2, t
        html = files["report.html"].decode()
        name = next(e.name for e in DEFAULT_ETFS if e.ticker == t)
        if t == "AIRB":
            name = "Kestrel Robotics &amp; AI 2030 ETF"
        assert f'<h1 class="rg-headline" data-block="headline"><span class="name">{name}' in html
        assert json.loads(files["manifest.json"])["inputs"]["subject"] == t
        has_holdings = f"etf.{t}.top10_weight" in result.facts
        assert ('id="holdings"' in html) == has_holdings
        assert ('id="exposure"' in html) == has_holdings


def test_single_build_of_a_factsheet_without_subject_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(UsageError, match="reportgen batch"):
        build_module.build(FACTSHEET, SAMPLE, SAMPLE_AS_OF, out)
    assert not out.exists()


def test_the_factsheet_config_is_generic() -> None:
    """No module the factsheet or the batch touches names either config or a sample ticker."""
    modules = ["compose", "compose_context", "selectors", "tables", "chart_blocks", "config"]
    modules += ["metrics", "metrics_base", "metrics_extra", "metrics_series", "batch"]
    modules += ["batch_dask"]
    code = "".join((ROOT / "reportgen" / f"{m}.py").read_text(encoding="utf-8") for m in modules)
    for word in ("etf_factsheet", "ai_etf_monthly", "NWAI", "factsheet/", "leader"):
        assert word not in code, word
    config = yaml.safe_load(FACTSHEET.read_text(encoding="utf-8"))
    assert config["funds"] == {"fund": {"subject": True}}


def test_factsheet_commentary_prints_no_typed_figure() -> None:
    """Every figure in the commentary comes through fact() or assumption()."""
    for path in sorted((ROOT / "config" / "factsheet").glob("*.md")):
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", path.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"\b12[ -]months?\b", "", text)  # periods, exempt by the compliance rule
        assert not re.search(r"\d", text), path.name
