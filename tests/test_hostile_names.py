"""Names from data are data: never markup, Markdown, template code or mathtext.

Two end-to-end builds with the real config through the console script, on
synthetic markets (tests/market_factory.py) whose names are hostile:

- ``hostile``: the largest theme ETF by AUM (so the note's ``leader``, named in
  the commentary, the tables and the drawdown chart) is called ``<b>A_B*C*</b> &
  {{ 7*7 }} $x_`` with ticker ``A&B`` and an issuer holding markup and a Jinja
  block; the runner-up is ``_Hidden Fund``; the best 12-month performer and most
  expensive is ``Fund $5_A*B* & Co``; the cheapest is literally named ``NA``
  (ticker ``NA``, issuer ``NA``); a holdings sector is ``Robotics & <Automation>
  *AI*``.
- ``legend``: ``_Hidden Fund`` is the leader (a matplotlib legend drops labels
  starting with ``_`` unless told not to), ``NA`` the runner-up, the benchmark
  index, the dataset's label and a source are hostile too, and the best
  performer has long words in its name, which must read unbroken in the PDF.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from tests.dataset_factory import write_dataset
from tests.market_factory import (
    AS_OF,
    BENCHMARK_INDEX,
    DEFAULT_ETFS,
    DEFAULT_SECTORS,
    EtfSpec,
    market_tables,
)

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "ai_etf_monthly.yaml"
REPORTGEN = Path(sys.executable).parent / "reportgen"

LEADER = "<b>A_B*C*</b> & {{ 7*7 }} $x_"
LEADER_TICKER = "A&B"
LEADER_ISSUER = "<i>Issuer</i> & {% if true %}Sons{% endif %}"
HIDDEN = "_Hidden Fund"
FIVE = "Fund $5_A*B* & Co"
FIVE_TICKER = "$F_"  # tickers are free text too; in the scatter chart it is a label
NA = "NA"
SECTOR = "Robotics & <Automation> *AI*"
LONG = "Transcontinental Semiconductormanufacturing Hyperautomation Intelligence ETF"
BENCH_NAME = "Tech <Index> & {{ 6*7 }} *Broad* $y_"
LABEL = "Synthetic <data> & {{ 1+1 }} *not* real $z_"
PRICES_SOURCE = "Quotes <Q> & {{ 2*3 }} *Co* $w_"
DOTTED = "AIBG.L"  # a dotted ticker (exchange suffix, share class) in the leader's fact ids

BENCHMARK_ETFS = tuple(e for e in DEFAULT_ETFS if e.role == "benchmark")
HOSTILE_ETFS = (
    EtfSpec(LEADER_TICKER, LEADER, "theme", LEADER_ISSUER, 0.0050, 8.0e9, 0.0),
    EtfSpec("HIDN", HIDDEN, "theme", "Hidden Issuer", 0.0055, 4.0e9, 0.0),
    EtfSpec(FIVE_TICKER, FIVE, "theme", "Five & Co", 0.0075, 2.0e9, 0.15),
    EtfSpec("NA", NA, "theme", NA, 0.0020, 1.0e9, -0.05),
    *BENCHMARK_ETFS,
)
LEGEND_ETFS = (
    EtfSpec("HIDN", HIDDEN, "theme", "Hidden Issuer", 0.0055, 8.0e9, 0.0),
    EtfSpec("NA", NA, "theme", NA, 0.0020, 4.0e9, -0.05),
    EtfSpec("LONG", LONG, "theme", "Longwinded Management", 0.0090, 1.5e9, 0.15),
    EtfSpec("AICH", "Osprey AI Chips ETF", "theme", "Osprey Investments", 0.0060, 0.5e9),
    *BENCHMARK_ETFS,
)


def _tables(name: str) -> dict[str, Any]:
    if name == "dotted":
        etfs = [replace(e, ticker=DOTTED) if e.ticker == "AIBG" else e for e in DEFAULT_ETFS]
        return market_tables(etfs=etfs)
    if name == "hostile":
        sectors = [SECTOR if s == "Hardware" else s for s in DEFAULT_SECTORS]
        return market_tables(etfs=HOSTILE_ETFS, sectors=sectors)
    tables = market_tables(
        etfs=LEGEND_ETFS,
        benchmark_index=replace(BENCHMARK_INDEX, name=BENCH_NAME),
        label=LABEL,
    )
    tables["sources"]["prices"]["source"] = PRICES_SOURCE
    return tables


# --------------------------------------------------------------------------- builds


@dataclass
class Built:
    facts: dict[str, dict[str, Any]]
    html: str
    pdf_raw: str

    @property
    def pdf(self) -> str:
        """The PDF text on one line. Automatic hyphenation is NOT undone: a name must not get it."""
        return " ".join(self.pdf_raw.split())


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    root = tmp_path_factory.mktemp("hostile")
    running = {}
    for name in ("hostile", "legend", "dotted"):
        data = write_dataset(root / f"{name}-data", _tables(name))
        out = root / f"{name}-out"
        cmd = [str(REPORTGEN), "build", str(CONFIG), "--data", str(data)]
        cmd += ["--as-of", AS_OF.isoformat(), "--out", str(out)]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
        )
        running[name] = (proc, out)
    built = {}
    for name, (proc, out) in running.items():
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name} build failed ({proc.returncode}):\n{stdout}{stderr}"
        pdf = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(out / "report.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        built[name] = Built(
            json.loads((out / "facts.json").read_text(encoding="utf-8"))["facts"],
            (out / "report.html").read_text(encoding="utf-8"),
            pdf,
        )
    return built


@pytest.fixture(scope="module")
def hostile(builds: dict[str, Built]) -> Built:
    return builds["hostile"]


@pytest.fixture(scope="module")
def legend(builds: dict[str, Built]) -> Built:
    return builds["legend"]


# --------------------------------------------------------------------------- helpers


def data(html: str) -> str:
    """How a value from the dataset is marked in a table cell."""
    return f'<span class="name">{html}</span>'


def esc(text: str) -> str:
    """Escaped once, as HTML text must be."""
    return str(escape(text))


def block(page: str, pattern: str) -> str:
    m = re.search(pattern, page, re.S)
    assert m, f"no match for {pattern!r} in report.html"
    return m.group(0)


def figure(page: str, kind: str) -> str:
    return block(page, rf'<figure id="[^"]*{kind}[^"]*".*?</figure>')


def svg_texts(fragment: str) -> list[str]:
    """The content of every SVG <text> element, as written (still escaped)."""
    return re.findall(r"<text\b[^>]*>([^<]*)</text>", fragment)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)


def start_tags(page: str) -> set[str]:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


# --------------------------------------------------------------------------- tests


def test_hostile_fund_is_the_leader_and_its_ids_use_the_ticker_as_data(hostile: Built) -> None:
    f = hostile.facts
    theme_aum = {t: f[f"etf.{t}.aum"]["value"] for t in (LEADER_TICKER, "HIDN", FIVE_TICKER, NA)}
    assert max(theme_aum, key=lambda t: theme_aum[t]) == LEADER_TICKER
    assert f["etf.A&B.aum"]["display"] == "$8.0bn"
    # a fund literally named NA (ticker NA too) is a fund, not a missing value
    assert f["etf.NA.aum"]["value"] == 1.0e9
    assert f["etf.NA.expense_ratio"]["display"] == "0.20%"
    flows = block(hostile.html, r'<section id="data-deep-dive".*?</p>')
    assert f'<span class="name">{esc(LEADER)}</span> (<span class="name">A&amp;B</span>)' in flows
    assert f'<span class="name">{esc(HIDDEN)}</span> (<span class="name">HIDN</span>)' in flows
    assert 'data-fact="etf.A&amp;B.aum"' in hostile.html


def test_names_are_html_escaped_exactly_once(hostile: Built) -> None:
    page = hostile.html
    leader = esc(LEADER)
    assert leader == "&lt;b&gt;A_B*C*&lt;/b&gt; &amp; {{ 7*7 }} $x_"
    # commentary (several paragraphs), the fund list and the drawdown legend
    assert page.count(leader) >= 5
    # every trace of the name is the whole name, escaped once
    assert page.count("A_B*C*") == page.count(leader)
    for text in (FIVE, LEADER_ISSUER, SECTOR, "Five & Co"):
        assert esc(text) in page, text
    for bad in ("&amp;lt;", "&amp;gt;", "&amp;amp;", "&amp;#", "&amp;quot;"):
        assert bad not in page, f"double-escaped text {bad!r}"
    for raw in ("<b>A_B", "<i>Issuer", "<Automation>", "A_B*C*</b>", "& {{"):
        assert raw not in page, f"unescaped name text {raw!r}"
    assert not {"b", "i", "automation"} & start_tags(page)


def test_names_are_not_template_code(hostile: Built, legend: Built) -> None:
    page = hostile.html
    assert page.count("{{ 7*7 }}") == page.count(esc(LEADER))
    assert "&amp; 49 $x_" not in page and "49 $x_" not in hostile.pdf
    assert esc("{% if true %}Sons{% endif %}") in page
    assert "{% if true %}Sons{% endif %}" in hostile.pdf
    assert "&lt;i&gt;Issuer&lt;/i&gt; &amp; Sons" not in page
    assert "{{ 6*7 }}" in legend.html and "&amp; 42 *Broad*" not in legend.html
    assert "{{ 1+1 }}" in legend.html and "{{ 2*3 }}" in legend.html


def test_names_make_no_markdown(hostile: Built, legend: Built) -> None:
    for page in (hostile.html, legend.html):
        for fragment in ("<em>C", "<em>B", "<em>AI", "<em>Hidden", "<em>x", "<em>Broad", "<em>not"):
            assert fragment not in page
        assert "<strong>Hidden" not in page
    assert "A_B*C*" in hostile.html and "$5_A*B* &amp; Co" in hostile.html
    assert f'<span class="name">{esc(HIDDEN)}</span>' in hostile.html
    assert f'<span class="name">{esc(BENCH_NAME)}</span>' in legend.html


def test_hostile_names_in_tables(hostile: Built) -> None:
    page = hostile.html
    funds = block(page, r'<table[^>]*>(?:(?!</table>).)*?<th scope="col">Issuer</th>.*?</table>')
    # values from the data are marked as data (<span class="name">), never as figures
    row = block(funds, r"<tr>\s*<th scope=\"row\">" + data("A&amp;B") + "</th>.*?</tr>")
    assert f"<td>{data(esc(LEADER))}</td>" in row
    assert f"<td>{data(esc(LEADER_ISSUER))}</td>" in row
    na_row = block(funds, r"<tr>\s*<th scope=\"row\">" + data("NA") + "</th>.*?</tr>")
    assert na_row.count(f"<td>{data('NA')}</td>") == 2  # name and issuer, as the data spells them
    assert "n/a" not in na_row
    assert "nan" not in na_row.lower().replace(f"<td>{data('na')}</td>", "")
    assert f"<td>{data(esc(FIVE))}</td>" in funds and f"<td>{data(esc(HIDDEN))}</td>" in funds


def test_sector_name_with_ampersand_in_exposure_table(hostile: Built) -> None:
    slug = "theme.exposure.sector.robotics_automation_ai"
    assert hostile.facts[slug]["value"] > 0
    table = block(hostile.html, r"<table[^>]*>(?:(?!</table>).)*?>Sector<.*?</table>")
    row = block(table, rf'<th scope="row">{re.escape(data(esc(SECTOR)))}</th>.*?</tr>')
    assert f'data-fact="{slug}">{hostile.facts[slug]["display"]}<' in row
    assert "Robotics &amp; &lt;Automation&gt; *AI*" in row


def test_drawdown_chart_labels_stay_literal_text(hostile: Built, legend: Built) -> None:
    texts = svg_texts(figure(hostile.html, "drawdowns"))
    assert esc(LEADER) in texts  # one <text>: no mathtext for "$x_", no markup, no "49"
    assert not [t for t in texts if "A_B" in t and t != esc(LEADER)]
    texts = svg_texts(figure(legend.html, "drawdowns"))
    assert HIDDEN in texts  # the legend keeps a label starting with "_"
    assert esc(BENCH_NAME) in texts
    texts = svg_texts(figure(legend.html, "index_cumulative"))
    assert esc(BENCH_NAME) in texts
    scatter = svg_texts(figure(hostile.html, "fee_vs_return"))
    assert {"A&amp;B", "NA", FIVE_TICKER} <= set(scatter)  # "$F_" is no mathtext


def test_pdf_text_reads_names_literally(hostile: Built) -> None:
    pdf = hostile.pdf
    assert f"them: {LEADER} (A&B) alone saw" in pdf
    assert f"while {HIDDEN} (HIDN) recorded" in pdf
    assert f"{FIVE} ({FIVE_TICKER}) led with" in pdf
    assert "for the cheapest, NA." in pdf
    assert pdf.count(LEADER) >= 5  # prose, fund list and the drawdown legend
    for text in (LEADER_ISSUER, SECTOR, "Five & Co"):
        assert text in pdf, text


def test_pdf_text_reads_label_source_and_long_names_unbroken(legend: Built) -> None:
    pages = [" ".join(p.split()) for p in legend.pdf_raw.split("\f") if p.strip()]
    assert len(pages) >= 4
    for n, page in enumerate(pages, 1):
        assert LABEL in page, f"page {n} lacks the dataset label"
    pdf = legend.pdf
    assert PRICES_SOURCE in pdf
    assert f"the {BENCH_NAME}" in pdf
    assert f"{HIDDEN} (HIDN) alone saw" in pdf
    assert f"while {NA} (NA) recorded" in pdf
    # a name is printed as the data spells it: wrapped at a space if need be, never
    # hyphenated inside a word (that would print "Semiconductor-manufacturing")
    assert f"{LONG} (LONG) led with" in pdf
    assert f"fund, {LONG}, would" in pdf
    hyphenated = re.findall(r"(\S+)\u2010\n(\S+)", legend.pdf_raw)
    words = {w for name in (LONG, HIDDEN, BENCH_NAME, LABEL) for w in name.split()}
    broken = [f"{a}-{b}" for a, b in hyphenated if a.strip(",.()") + b.strip(",.()") in words]
    assert not broken, f"names hyphenated in the PDF: {broken}"


def test_facts_json_keeps_data_text_raw(legend: Built, hostile: Built) -> None:
    sources = {f["source"] for f in legend.facts.values()}
    assert any(PRICES_SOURCE in s for s in sources)  # JSON is data: not HTML-escaped
    assert not any("&lt;" in s or "&amp;" in s for s in sources)
    assert esc(PRICES_SOURCE) in legend.html
    assert "etf.A&B.return.ytd" in hostile.facts


def test_dotted_ticker_keeps_the_fund_name_in_the_drawdown_legend(builds: dict[str, Built]) -> None:
    """Tickers are free text: "AIBG.L" names its fund like "AIBG" would."""
    dotted = builds["dotted"]
    assert dotted.facts[f"etf.{DOTTED}.aum"]["display"] == "$6.0bn"
    assert f"Northgate AI Leaders ETF ({DOTTED}) alone saw" in dotted.pdf
    texts = svg_texts(figure(dotted.html, "drawdowns"))
    assert "Northgate AI Leaders ETF" in texts, f"drawdown chart texts: {texts}"
    assert not [t for t in texts if DOTTED in t]
