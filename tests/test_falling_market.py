"""The real monthly note on falling, flat and rising synthetic markets, end to end.

Each market is built once (module fixture, the three builds run side by side)
with the real ``config/ai_etf_monthly.yaml`` through the installed console script,
and the words are checked in facts.json, report.html and the PDF's text: the
sign of a figure is carried by its direction word ("Falls 18.0%", "outflows of
$1.0bn"), never by a minus after a word that already says it.
"""

from __future__ import annotations

import csv
import html
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from reportgen.dataset import load_dataset
from tests.market_factory import AS_OF, DEFAULT_ETFS, market_tables, write_market

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "ai_etf_monthly.yaml"
REPORTGEN = Path(sys.executable).parent / "reportgen"
AUTO_HYPHEN = "\u2010"  # what WeasyPrint inserts where it hyphenates a word at a line end

MARKETS: dict[str, dict[str, Any]] = {
    "falling": {"theme_ytd": -0.18, "benchmark_ytd": -0.06, "theme_flows_ytd": -1_000_000_000},
    # both YTD returns print "0.0%" although neither is 0 (the benchmark's is negative),
    # and their difference (+0.04 pp) prints "0.0 pp"
    "flat": {"theme_ytd": 0.0002, "benchmark_ytd": -0.0002, "theme_flows_ytd": 0},
    "rising": {"theme_ytd": 0.25, "benchmark_ytd": 0.10, "theme_flows_ytd": 2_500_000_000},
}


# --------------------------------------------------------------------------- helpers


class _Text(HTMLParser):
    """Visible text of an HTML fragment: no <svg>, <style>, <script> or <head> content."""

    SKIP = frozenset({"svg", "style", "script", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.depth += 1
        elif tag in {"p", "li", "td", "th", "h1", "h2", "dd", "dt", "div", "br"}:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth == 0:
            self.parts.append(data)


def visible_text(fragment: str) -> str:
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.parts).split())


def element(page: str, pattern: str) -> str:
    """The first match of ``pattern`` (a regex over the raw HTML, DOTALL)."""
    m = re.search(pattern, page, re.S)
    assert m, f"no match for {pattern!r} in report.html"
    return m.group(0)


def section(page: str, section_id: str) -> str:
    return element(page, rf'<section id="{section_id}".*?</section>')


def prose(page: str) -> str:
    """The text of every paragraph, headline and FAQ answer (not tables or charts)."""
    body = element(page, r"<body.*</body>")
    blocks = [m.group(0) for m in re.finditer(r"<(h1|p|dd)\b[^>]*>.*?</\1>", body, re.S)]
    assert blocks
    return " | ".join(visible_text(b) for b in blocks)


def squash(text: str, *, dehyphenate: bool) -> str:
    """PDF text as one line; optionally undo WeasyPrint's hyphenation at line ends."""
    if dehyphenate:
        text = re.sub(AUTO_HYPHEN + r"\n", "", text)
    return " ".join(text.split())


def unsigned(display: str) -> str:
    return display[1:] if display[:1] in "+-" else display


def pdf_text(pdf: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


@dataclass
class Built:
    out: Path
    facts: dict[str, dict[str, Any]]
    html: str
    pdf_raw: str

    @property
    def pdf(self) -> str:
        """The PDF text, whitespace squashed and automatic hyphenation undone."""
        return squash(self.pdf_raw, dehyphenate=True)

    def display(self, fact_id: str) -> str:
        return str(self.facts[fact_id]["display"])


def start_build(data: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(REPORTGEN),
            "build",
            str(CONFIG),
            "--data",
            str(data),
            "--as-of",
            AS_OF.isoformat(),
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def finish_build(proc: subprocess.Popen[str], out: Path) -> Built:
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"build failed ({proc.returncode}):\n{stdout}\n{stderr}"
    facts = json.loads((out / "facts.json").read_text(encoding="utf-8"))["facts"]
    page = (out / "report.html").read_text(encoding="utf-8")
    return Built(out, facts, page, pdf_text(out / "report.pdf"))


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    root = tmp_path_factory.mktemp("markets")
    running = {}
    for name, params in MARKETS.items():
        data = write_market(root / f"{name}-data", **params)
        out = root / f"{name}-out"
        running[name] = (start_build(data, out), out)
    return {name: finish_build(proc, out) for name, (proc, out) in running.items()}


@pytest.fixture(scope="module")
def falling(builds: dict[str, Built]) -> Built:
    return builds["falling"]


@pytest.fixture(scope="module")
def flat(builds: dict[str, Built]) -> Built:
    return builds["flat"]


@pytest.fixture(scope="module")
def rising(builds: dict[str, Built]) -> Built:
    return builds["rising"]


# --------------------------------------------------------------------------- the factory


def _rows(folder: Path, stem: str) -> list[dict[str, str]]:
    with (folder / f"{stem}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_market_factory_hits_its_targets_exactly_and_is_deterministic(tmp_path: Path) -> None:
    params = MARKETS["falling"]
    a = write_market(tmp_path / "a", **params)
    b = write_market(tmp_path / "b", **params)
    for file in sorted(a.iterdir()):
        assert file.read_bytes() == (b / file.name).read_bytes(), file.name
    c = write_market(tmp_path / "c", **params, seed=8)
    assert (c / "prices.csv").read_bytes() != (a / "prices.csv").read_bytes()

    ds = load_dataset(a)  # the contract's validator accepts it
    assert ds.sources  # and sources.yaml names a source per file

    dec31 = date(AS_OF.year - 1, 12, 31).isoformat()
    prices = _rows(a, "prices")
    for ticker, ytd in (("AITX", params["theme_ytd"]), ("TECX", params["benchmark_ytd"])):
        closes = [(r["date"], float(r["close"])) for r in prices if r["ticker"] == ticker]
        base = max(c for c in closes if c[0] <= dec31)[1]
        last = max(closes)
        assert last[0] == AS_OF.isoformat()
        assert last[1] / base - 1 == pytest.approx(ytd, abs=1e-8)
        assert min(c[0] for c in closes) < AS_OF.replace(year=AS_OF.year - 1).isoformat()

    theme = {e.ticker for e in DEFAULT_ETFS if e.role == "theme"}
    flows = [r for r in _rows(a, "flows") if r["ticker"] in theme and r["date"] > dec31]
    assert sum(int(r["net_flow_usd"]) for r in flows) == params["theme_flows_ytd"]
    assert all(int(r["net_flow_usd"]) <= 0 for r in flows)
    aum = {r["ticker"]: float(r["aum_usd"]) for r in _rows(a, "aum") if r["date"] == "2026-03-31"}
    assert aum == {e.ticker: e.aum for e in DEFAULT_ETFS}
    funds = {r["fund"] for r in _rows(a, "holdings")}
    assert len(funds) == 3 and funds < theme
    tables = market_tables(**params)
    assert tables["sources"]["label"]


# --------------------------------------------------------------------------- falling


def test_falling_market_facts(falling: Built) -> None:
    f = falling.facts
    assert f["index.theme.return.ytd"]["display"] == "-18.0%"
    assert f["index.theme.return.ytd"]["value"] == pytest.approx(-0.18, abs=1e-8)
    assert f["index.benchmark.return.ytd"]["display"] == "-6.0%"
    assert f["index.relative.ytd"]["display"] == "-12.0 pp"
    assert f["index.relative.ytd"]["unit"] == "pp"
    assert f["index.relative.ytd"]["value"] == pytest.approx(-0.12, abs=1e-8)
    assert f["theme.flows.ytd"]["display"] == "-$1.0bn"
    assert f["theme.flows.ytd"]["value"] == -1_000_000_000
    assert f["theme.flows.ytd"]["unit"] == "usd"
    # the year's flows are all outflows, so the latest month is one too
    assert f["theme.flows.month"]["value"] < 0
    assert f["theme.flows.month"]["display"].startswith("-$")


def test_falling_market_headline_carries_the_sign_in_words(falling: Built) -> None:
    expected = "AI ETFs Draw $1.0bn of Outflows as the Theme Index Falls 18.0% Year to Date"
    headline = visible_text(element(falling.html, r"<h1 class=\"rg-headline\".*?</h1>"))
    assert headline == expected
    assert "Inflows" not in headline and "-18.0%" not in headline and "-$" not in headline
    assert expected in falling.pdf
    assert "Falls -" not in falling.pdf and "Draw -" not in falling.pdf
    subtitle = visible_text(element(falling.html, r'<p class="rg-subtitle">.*?</p>'))
    assert subtitle.startswith(
        "The AI theme underperformed the broad technology benchmark by 12.0 pp this year"
    )
    assert "-12.0 pp" not in subtitle


def test_falling_market_context_paragraph(falling: Built) -> None:
    text = visible_text(section(falling.html, "context"))
    month = unsigned(falling.display("theme.flows.month"))
    assert "outflows of $1.0bn" in text
    assert f"outflows of {month} in the latest month" in text
    assert "Synthetic AI Theme Index fell 18.0%" in text
    assert "Synthetic Broad Tech Index fell 6.0%" in text
    assert "underperformed the broad technology benchmark by 12.0 pp" in text
    assert "outperformed" not in text and "inflows" not in text and " rose " not in text
    for words in (
        "outflows of $1.0bn",
        "fell 18.0%",
        "underperformed the broad technology benchmark by 12.0 pp",
    ):
        assert words in falling.pdf


def test_falling_market_bottom_line(falling: Built) -> None:
    text = visible_text(section(falling.html, "bottom-line"))
    assert "outflows of $1.0bn" in text
    assert "fell 18.0%" in text
    assert "underperformed the benchmark by 12.0 pp" in text


# --------------------------------------------------------------------------- every market

FORBIDDEN = (
    re.compile(r"\b(rose|fell|Gains|Falls|Holds Flat|was unchanged at) [-+]\S"),
    re.compile(r"\b(inflows|outflows|Inflows|Outflows) of [-+]"),
    re.compile(r"\b(outperformed|underperformed|matched) the [\w ]+ by [-+]"),
    re.compile(r"\b(lose|fall|fell by) -"),
    re.compile(r"\b(nan|NaN|None|null|undefined|inf)\b"),
    re.compile(r"(?<![\d.])[-+]0\.0+(?!\d)"),  # a zero with a sign: "-0.0%", "+0.0 pp"
    re.compile(r"\{\{|\{%|\}\}"),  # template code left over
)


@pytest.mark.parametrize("market", list(MARKETS))
def test_prose_has_no_sign_slips_or_missing_values(builds: dict[str, Built], market: str) -> None:
    b = builds[market]
    for where, text in (("html prose", prose(b.html)), ("pdf", b.pdf)):
        for pattern in FORBIDDEN:
            hits = [m.group(0) for m in pattern.finditer(text)]
            assert not hits, f"{market} market, {where}: {pattern.pattern} found {hits}"


@pytest.mark.parametrize("market", list(MARKETS))
def test_prose_never_repeats_a_word(builds: dict[str, Built], market: str) -> None:
    """A helper's words and the author's must not stutter ("recorded net net flows of $0")."""
    text = prose(builds[market].html)
    doubled = [m.group(0) for m in re.finditer(r"\b([A-Za-z]+) \1\b", text, re.I)]
    assert not doubled, f"{market} market: doubled words {doubled}"


@pytest.mark.parametrize("market", list(MARKETS))
def test_every_printed_figure_is_its_fact_display(builds: dict[str, Built], market: str) -> None:
    """Contract 4: a fact prints as its display, or without its sign beside a direction word."""
    b = builds[market]
    spans = re.findall(r'<span class="fact" data-fact="([^"]+)">([^<]*)</span>', b.html)
    assert len(spans) > 100
    for fact_id, shown in spans:
        fact = b.facts[html.unescape(fact_id)]
        assert html.unescape(shown) in {fact["display"], unsigned(fact["display"])}, fact_id
        if fact["value"] is None:
            assert shown == "n/a" and fact["reason"], fact_id


@pytest.mark.parametrize("market", list(MARKETS))
def test_na_footnotes_point_at_their_reason(builds: dict[str, Built], market: str) -> None:
    """15 months of history: 5- and 10-year figures are n/a, each with its reason."""
    b = builds[market]
    cells = re.findall(
        r'<span class="fact" data-fact="([^"]+)">n/a</span>'
        r'<sup class="rg-fn"><a href="#([^"]+)">([^<]+)</a></sup>',
        b.html,
    )
    assert cells, "expected n/a cells with footnotes (5- and 10-year performance)"
    for fact_id, target, _marker in cells:
        note = element(b.html, rf'<li id="{re.escape(target)}"[^>]*>.*?</li>')
        reason = b.facts[html.unescape(fact_id)]["reason"]
        assert reason in visible_text(note), f"{fact_id}: footnote #{target} reads {note!r}"


# --------------------------------------------------------------------------- flat


def test_flat_market_facts_print_unsigned_zeros(flat: Built) -> None:
    f = flat.facts
    assert f["index.benchmark.return.ytd"]["value"] < 0
    assert f["index.benchmark.return.ytd"]["display"] == "0.0%"
    assert f["index.theme.return.ytd"]["value"] > 0
    assert f["index.theme.return.ytd"]["display"] == "0.0%"
    assert f["index.relative.ytd"]["value"] > 0
    assert f["index.relative.ytd"]["display"] == "0.0 pp"
    assert f["theme.flows.ytd"]["value"] == 0
    assert f["theme.flows.ytd"]["display"] == "$0"


def test_flat_market_reads_matched_and_unchanged(flat: Built) -> None:
    headline = visible_text(element(flat.html, r"<h1 class=\"rg-headline\".*?</h1>"))
    assert "Holds Flat at 0.0% Year to Date" in headline
    assert headline.startswith("Flows into AI ETFs Stall")
    for word in ("Gains", "Falls", "Inflows", "Outflows"):
        assert word not in headline
    context = visible_text(section(flat.html, "context"))
    assert "Synthetic AI Theme Index was unchanged at 0.0%" in context
    assert "Synthetic Broad Tech Index was unchanged at 0.0%" in context
    assert "matched the broad technology benchmark" in context
    bottom = visible_text(section(flat.html, "bottom-line"))
    assert "was unchanged at 0.0%" in bottom and "matched the benchmark" in bottom
    for text in (context, bottom, headline):
        for word in ("outperformed", "underperformed", " rose ", " fell ", "inflows", "outflows"):
            assert word not in text
    assert "matched the broad technology benchmark" in flat.pdf
    assert "was unchanged at 0.0%" in flat.pdf


# --------------------------------------------------------------------------- rising


def test_rising_market_reads_inflows_gains_outperformed(rising: Built) -> None:
    f = rising.facts
    assert f["index.theme.return.ytd"]["display"] == "25.0%"
    assert f["index.relative.ytd"]["display"] == "+15.0 pp"
    assert f["theme.flows.ytd"]["display"] == "$2.5bn"
    expected = "AI ETFs Draw $2.5bn of Inflows as the Theme Index Gains 25.0% Year to Date"
    headline = visible_text(element(rising.html, r"<h1 class=\"rg-headline\".*?</h1>"))
    assert headline == expected
    assert expected in rising.pdf
    context = visible_text(section(rising.html, "context"))
    assert "inflows of $2.5bn" in context
    assert "Synthetic AI Theme Index rose 25.0%" in context
    assert "outperformed the broad technology benchmark by 15.0 pp" in context
    assert "outflows" not in context and "underperformed" not in context
    assert "fell" not in context
