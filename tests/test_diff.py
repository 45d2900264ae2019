"""``reportgen diff``: what changed between two builds, checked on real builds.

The two sample builds (31 March and 30 April 2026) are made once per module by
the installed ``reportgen`` command. Expected facts, changes and statuses are
recomputed here from the two ``facts.json`` files read with :mod:`json` and with
decimal arithmetic, independently of ``reportgen.diff`` and
``reportgen.formatting``. Edited copies of a build (one word, a disclaimer
sentence, a hostile source) check the redline, the compliance flag and escaping.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from reportgen.diff import (
    BuildDiff,
    FactRecord,
    TextOp,
    diff_builds,
    diff_fact,
    render_diff_html,
    render_diff_pdf,
    summary_lines,
    word_diff,
    write_diff,
)
from reportgen.errors import UsageError
from tests.cli_runner import run_reportgen

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "ai_etf_monthly.yaml"
SAMPLE = ROOT / "data" / "sample"
OLD_AS_OF, NEW_AS_OF = "2026-03-31", "2026-04-30"
#: a word of the Outlook section, and a sentence of the disclaimer, of the sample note
OUTLOOK_WORD, OUTLOOK_NEW_WORD = "gradually", "slowly"
DISCLAIMER_SENTENCE = (
    "ETFs carry market, concentration, liquidity and tracking risks, and their expenses "
    "reduce returns."
)


# -- builds ----------------------------------------------------------------------------------
def _build(as_of: str, out: Path) -> subprocess.CompletedProcess[str]:
    args = ["build", str(CONFIG), "--data", str(SAMPLE), "--as-of", as_of, "--out", str(out)]
    return run_reportgen(*args)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("diff-builds")
    old, new = base / "2026-03", base / "2026-04"
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(_build, (OLD_AS_OF, NEW_AS_OF), (old, new)))
    for proc in procs:
        assert proc.returncode == 0, proc.stderr
    return old, new


@pytest.fixture(scope="module")
def month(builds: tuple[Path, Path]) -> BuildDiff:
    return diff_builds(*builds)


@pytest.fixture(scope="module")
def month_html(month: BuildDiff) -> str:
    return render_diff_html(month)


def facts_of(build: Path) -> dict[str, dict[str, Any]]:
    data: dict[str, Any] = json.loads((build / "facts.json").read_text(encoding="utf-8"))
    return data["facts"]


def copy_build(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("inputs", "report.pdf"))
    return dst


def by_id(diff: BuildDiff) -> dict[str, Any]:
    return {f.fact_id: f for f in diff.facts}


# -- independent arithmetic ------------------------------------------------------------------
def _round(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def pp_by_hand(old: float, new: float) -> str:
    pp = _round(Decimal(repr(new - old)) * 100, "0.1")
    return "0.0 pp" if pp == 0 else f"{pp:+} pp"


def bp_by_hand(old: float, new: float) -> str:
    bp = _round(Decimal(repr(new - old)) * 10000, "1")
    return "0 bp" if bp == 0 else f"{bp:+} bp"


def expected_status(old: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    if old is None:
        return "added"
    if new is None:
        return "removed"
    differing = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    if not differing:
        return "unchanged"
    return "redated" if differing == {"as_of"} else "changed"


# -- facts -----------------------------------------------------------------------------------
def test_theme_index_ytd_change_in_percentage_points(
    builds: tuple[Path, Path], month: BuildDiff
) -> None:
    old, new = (facts_of(b)["index.theme.return.ytd"] for b in builds)
    fact = by_id(month)["index.theme.return.ytd"]
    assert fact.status == "changed"
    assert (fact.old_display, fact.new_display) == (old["display"], new["display"])
    assert (old["display"], new["display"]) == ("15.0%", "11.0%")  # the calibrated sample
    assert fact.delta == pp_by_hand(old["value"], new["value"]) == "-4.0 pp"
    assert fact.summary == "15.0% -> 11.0%, -4.0 pp"
    assert {"value", "display", "as_of"} <= set(fact.changed_fields)


def test_monthly_flows_sign_change(builds: tuple[Path, Path], month: BuildDiff) -> None:
    old, new = (facts_of(b)["theme.flows.month"] for b in builds)
    assert old["value"] > 0 > new["value"]  # inflows in March, outflows in April
    fact = by_id(month)["theme.flows.month"]
    assert (fact.old_display, fact.new_display) == (old["display"], new["display"])
    delta = Decimal(repr(new["value"] - old["value"]))
    assert delta < 0
    assert fact.delta == f"-${_round(-delta / Decimal(10**9), '0.1')}bn" == "-$1.9bn"
    # the prose follows the sign: "net inflows of $1.8bn" became "net outflows of $121.7m"
    context = next(s for s in month.sections if s.section_id == "context")
    assert TextOp("delete", "inflows") in context.ops
    assert TextOp("insert", "outflows") in context.ops


def test_money_and_spread_changes_by_hand(builds: tuple[Path, Path], month: BuildDiff) -> None:
    old_facts, new_facts = (facts_of(b) for b in builds)
    facts = by_id(month)
    old, new = old_facts["theme.aum.total"], new_facts["theme.aum.total"]
    delta = Decimal(repr(new["value"] - old["value"]))
    assert -Decimal(10**9) < delta < 0
    assert facts["theme.aum.total"].delta == f"-${_round(-delta / Decimal(10**6), '0.1')}m"
    spreads = [
        k
        for k, v in new_facts.items()
        if v["unit"] == "bps" and v["display"] != old_facts[k]["display"]
    ]
    assert spreads, "expected at least one spread to change between the months"
    for k in spreads:
        assert facts[k].delta == bp_by_hand(old_facts[k]["value"], new_facts[k]["value"])
    # an expense ratio printed with two decimals changes in basis points, not "0.0 pp"
    fee = diff_fact(
        "etf.X.expense_ratio",
        FactRecord(0.0039, "percent", "0.39%", OLD_AS_OF, "s"),
        FactRecord(0.0035, "percent", "0.35%", NEW_AS_OF, "s"),
    )
    assert fee.delta == "-4 bp"


def test_every_fact_classified_as_the_json_says(
    builds: tuple[Path, Path], month: BuildDiff
) -> None:
    old_facts, new_facts = (facts_of(b) for b in builds)
    expected = {
        k: expected_status(old_facts.get(k), new_facts.get(k))
        for k in old_facts.keys() | new_facts.keys()
    }
    assert {f.fact_id: f.status for f in month.facts} == expected
    assert len(month.facts) == len(expected)
    changed = {f.fact_id for f in month.changed}
    identical = {k for k, s in expected.items() if s == "unchanged"}
    redated = {k for k, s in expected.items() if s == "redated"}
    assert identical and redated
    assert not changed & (identical | redated)  # same values are never listed as changed
    assert not month.added and not month.removed
    for f in month.changed:  # a change always names what changed, never as_of alone
        assert set(f.changed_fields) - {"as_of"}


def test_null_transitions_are_explained() -> None:
    na = FactRecord(None, "percent", "n/a", OLD_AS_OF, "s", reason="no close before launch")
    twelve = FactRecord(0.12, "percent", "12.0%", NEW_AS_OF, "s")
    appeared = diff_fact("etf.X.return.12m", na, twelve)
    assert appeared.summary == "n/a -> 12.0%"
    assert appeared.delta is None
    assert appeared.note is not None
    assert "now available" in appeared.note and "no close before launch" in appeared.note
    gone = diff_fact(
        "etf.X.return.12m", twelve, FactRecord(None, "percent", "n/a", NEW_AS_OF, "s", "delisted")
    )
    assert gone.summary == "12.0% -> n/a"
    assert gone.note == "no longer available: delisted"
    added = diff_fact("etf.Y.aum", None, FactRecord(2.5e9, "usd", "$2.5bn", NEW_AS_OF, "s"))
    assert (added.status, added.summary) == ("added", "added: $2.5bn")


def test_summary_counts(builds: tuple[Path, Path], month: BuildDiff) -> None:
    old_facts, new_facts = (facts_of(b) for b in builds)
    statuses = [expected_status(old_facts.get(k), new_facts.get(k)) for k in new_facts]
    lines = summary_lines(month)
    text = "\n".join(lines)
    assert f"as of {OLD_AS_OF} -> {NEW_AS_OF}" in lines[0]
    assert f"facts: {statuses.count('changed')} changed" in text
    assert "0 added, 0 removed" in text
    assert f"{statuses.count('redated')} only re-dated" in text
    assert "compliance text: " in text and "CHANGED" not in text
    assert len(lines) <= 8


def test_inputs_compared_from_the_manifests(builds: tuple[Path, Path], month: BuildDiff) -> None:
    old_files, new_files = (
        json.loads((b / "manifest.json").read_text())["inputs"]["files"] for b in builds
    )
    expected = sorted(
        k for k in old_files.keys() | new_files.keys() if old_files.get(k) != new_files.get(k)
    )
    assert [f.name for f in month.inputs.files] == expected
    assert f"inputs: {len(expected)} files changed" in "\n".join(summary_lines(month))


def test_changed_manifest_inputs_and_versions(builds: tuple[Path, Path], tmp_path: Path) -> None:
    edited = copy_build(builds[1], tmp_path / "edited")
    manifest = json.loads((edited / "manifest.json").read_text())
    manifest["inputs"]["files"]["dataset/prices.csv"] = "0" * 64
    manifest["inputs"]["versions"]["weasyprint"] = "99.0"
    (edited / "manifest.json").write_text(json.dumps(manifest))
    diff = diff_builds(builds[1], edited)
    assert [(f.name, f.status) for f in diff.inputs.files] == [("dataset/prices.csv", "changed")]
    assert [(v.package, v.new) for v in diff.inputs.versions] == [("weasyprint", "99.0")]
    assert "weasyprint" in "\n".join(summary_lines(diff))


def test_changed_source_listed(builds: tuple[Path, Path], tmp_path: Path) -> None:
    edited = copy_build(builds[1], tmp_path / "edited")
    data = json.loads((edited / "facts.json").read_text())
    data["facts"]["theme.aum.total"]["source"] = "Acme Vendor (illustrative)"
    (edited / "facts.json").write_text(json.dumps(data))
    diff = diff_builds(builds[1], edited)
    assert diff.sources.added == ("Acme Vendor (illustrative)",)
    assert diff.sources.facts_with_new_source == 1
    fact = by_id(diff)["theme.aum.total"]
    assert fact.status == "changed" and fact.changed_fields == ("source",)
    assert fact.note is not None and "Acme Vendor" in fact.note


# -- a build against itself ------------------------------------------------------------------
def test_build_against_itself_has_no_changes(builds: tuple[Path, Path]) -> None:
    diff = diff_builds(builds[1], builds[1])
    assert {f.status for f in diff.facts} == {"unchanged"}
    assert not diff.changed_sections and not diff.compliance_changed
    assert not diff.inputs.changed and not diff.dates.changed and not diff.sources.changed
    assert not diff.has_changes
    assert "facts: 0 changed (0 in value), 0 added, 0 removed" in summary_lines(diff)


# -- text ------------------------------------------------------------------------------------
def _edit_section(html: str, section_id: str, old: str, new: str) -> str:
    start = html.index(f'<section id="{section_id}"')
    end = html.index("</section>", start)
    part = html[start:end]
    assert part.count(old) == 1, f"{old!r} should occur once in section {section_id}"
    return html[:start] + part.replace(old, new) + html[end:]


def test_one_word_changed_in_outlook(builds: tuple[Path, Path], tmp_path: Path) -> None:
    edited = copy_build(builds[1], tmp_path / "edited")
    report = edited / "report.html"
    report.write_text(
        _edit_section(report.read_text(), "outlook", f" {OUTLOOK_WORD} ", f" {OUTLOOK_NEW_WORD} ")
    )
    diff = diff_builds(builds[1], edited)
    assert [s.section_id for s in diff.changed_sections] == ["outlook"]
    outlook = diff.changed_sections[0]
    assert outlook.changes == (
        TextOp("delete", OUTLOOK_WORD),
        TextOp("insert", OUTLOOK_NEW_WORD),
    )
    assert (outlook.words_deleted, outlook.words_inserted) == (1, 1)
    assert outlook.old_text is not None and outlook.new_text is not None
    assert outlook.new_text == outlook.old_text.replace(OUTLOOK_WORD, OUTLOOK_NEW_WORD)
    assert not diff.changed and not diff.compliance_changed
    html = render_diff_html(diff)
    struck = re.findall(r"<del>(.*?)</del>", html, re.DOTALL)
    inserted = re.findall(r"<ins>(.*?)</ins>", html, re.DOTALL)
    assert OUTLOOK_WORD in struck and struck.count(OUTLOOK_WORD) == 1
    assert OUTLOOK_NEW_WORD in inserted and inserted.count(OUTLOOK_NEW_WORD) == 1
    legend = {"struck through in red", "underlined in green"}  # the page's own key
    assert set(struck) | set(inserted) == legend | {OUTLOOK_WORD, OUTLOOK_NEW_WORD}


def test_word_diff_keeps_punctuation_and_numbers_whole() -> None:
    ops, deleted, inserted = word_diff(
        "Flows were $1.8bn, up 15.0%.", "Flows were -$121.7m, up 15.0%."
    )
    assert [op for op in ops if op.kind != "equal"] == [
        TextOp("delete", "$1.8bn"),
        TextOp("insert", "-$121.7m"),
    ]
    assert (deleted, inserted) == (1, 1)
    assert "".join(op.text for op in ops if op.kind != "delete").replace("  ", " ") == (
        "Flows were -$121.7m, up 15.0%."
    )


def test_chart_internals_left_out_captions_kept(month: BuildDiff) -> None:
    deep_dive = next(s for s in month.sections if s.section_id == "data-deep-dive")
    text = deep_dive.new_text or ""
    assert "Exhibit 1: Monthly net flows into theme ETFs" in text
    assert "Source: Fundtrack Flow Monitor (illustrative), as of 30 Apr 2026" in text
    assert "Bar chart of monthly net flows" not in text  # the SVG's <title>
    assert "clipPath" not in text and "font-family" not in text


def test_changed_disclaimer_sentence_is_flagged(builds: tuple[Path, Path], tmp_path: Path) -> None:
    edited = copy_build(builds[1], tmp_path / "edited")
    report = edited / "report.html"
    html = report.read_text()
    assert html.count(DISCLAIMER_SENTENCE) == 1
    report.write_text(html.replace(DISCLAIMER_SENTENCE, "ETFs are suitable for every investor."))
    diff = diff_builds(builds[1], edited)
    assert [c.item for c in diff.compliance_changed] == ["disclaimer"]
    flag = diff.compliance_changed[0]
    assert flag.old_text is not None and DISCLAIMER_SENTENCE in flag.old_text
    assert TextOp("insert", "are suitable for every investor") in flag.ops
    assert any(
        line.startswith("COMPLIANCE TEXT CHANGED: disclaimer") for line in summary_lines(diff)
    )
    page = render_diff_html(diff)
    flag_at = page.index('id="d-compliance" class="d-flag"')
    assert flag_at < page.index('id="d-summary"') < page.index('id="d-facts"')
    assert (
        "<ins>are suitable for every investor</ins>" in page[flag_at : page.index('id="d-summary"')]
    )


def test_changed_legend_and_footer_are_flagged(builds: tuple[Path, Path], tmp_path: Path) -> None:
    edited = copy_build(builds[1], tmp_path / "edited")
    report = edited / "report.html"
    html = report.read_text()
    legend = "so shares, when sold, may be worth more or less than their original cost."
    footer = "For information only; not investment advice."
    assert html.count(legend) == 1 and html.count(footer) == 2  # page footer and screen footer
    html = html.replace(legend, "so shares may be worth less.").replace(footer, "For you.")
    report.write_text(html)
    diff = diff_builds(builds[1], edited)
    assert [c.item for c in diff.compliance_changed] == ["legends", "footer_disclaimer"]


def test_unchanged_compliance_text_not_flagged(month_html: str, month: BuildDiff) -> None:
    assert not month.compliance_changed
    assert {c.item for c in month.compliance} == {
        "disclaimer",
        "legends",
        "footer_disclaimer",
        "label",
    }
    assert 'class="d-flag"' not in month_html and 'class="d-ok"' in month_html


# -- the page --------------------------------------------------------------------------------
class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.extend((tag, k, v or "") for k, v in attrs)


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


HOSTILE_SOURCE = '<script>alert("source")</script>'
HOSTILE_ID = 'etf.<img src=x onerror="alert(1)">.aum'
HOSTILE_TEXT = "&lt;iframe src=//evil.example&gt;&lt;/iframe&gt;"  # as report.html escapes it


def test_page_is_self_contained_and_escapes_hostile_data(
    builds: tuple[Path, Path], tmp_path: Path
) -> None:
    edited = copy_build(builds[1], tmp_path / "edited")
    data = json.loads((edited / "facts.json").read_text())
    data["facts"]["theme.aum.total"]["source"] = HOSTILE_SOURCE
    data["facts"][HOSTILE_ID] = {
        "value": 1.0, "unit": "usd", "display": "<b>$1</b>", "as_of": NEW_AS_OF,
        "source": HOSTILE_SOURCE,
    }  # fmt: skip
    (edited / "facts.json").write_text(json.dumps(data))
    report = edited / "report.html"
    report.write_text(_edit_section(report.read_text(), "outlook", OUTLOOK_WORD, HOSTILE_TEXT))
    page = render_diff_html(diff_builds(builds[1], edited))
    parsed = _tags(page)
    assert parsed.tags <= {
        "html", "head", "meta", "title", "style", "body", "header", "p", "h1", "h2", "h3",
        "table", "thead", "tbody", "tr", "th", "td", "section", "ul", "li", "span", "a",
        "del", "ins", "div", "footer",
    }  # fmt: skip
    for tag, name, value in parsed.attrs:
        assert not name.startswith("on"), (tag, name)
        assert name not in ("src", "srcset", "action", "style"), (tag, name)
        if name == "href":
            assert value.startswith("#"), value
    assert "url(" not in page and "@import" not in page
    assert "&lt;script&gt;alert(&#34;source&#34;)&lt;/script&gt;" in page
    assert "etf.&lt;img src=x onerror=&#34;alert(1)&#34;&gt;.aum" in page
    assert "&lt;iframe src=//evil.example&gt;" in page
    assert "<b>" not in page


def test_page_is_deterministic(month: BuildDiff, month_html: str) -> None:
    assert render_diff_html(month) == month_html
    assert date.today().isoformat() not in month_html  # no clock in the page
    assert '<meta name="dcterms.created" content="2026-04-30">' in month_html
    assert month_html.count("<table") >= len(month.groups())


def test_pdf_renders_deterministically(month: BuildDiff, month_html: str, tmp_path: Path) -> None:
    pdf = render_diff_pdf(month_html)
    assert pdf.startswith(b"%PDF-")
    written = write_diff(month, tmp_path / "review" / "diff.html", pdf=True)
    assert written == (tmp_path / "review" / "diff.html", tmp_path / "review" / "diff.pdf")
    assert written[1].read_bytes() == pdf
    assert written[0].read_text(encoding="utf-8") == month_html


def test_write_refuses_to_touch_a_build(month: BuildDiff, builds: tuple[Path, Path]) -> None:
    with pytest.raises(UsageError, match="inside the new build"):
        write_diff(month, builds[1] / "diff.html")
    assert not (builds[1] / "diff.html").exists()


# -- refusals --------------------------------------------------------------------------------
def test_refuses_a_folder_that_is_not_a_build(builds: tuple[Path, Path], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match=r"old build .*empty is not a reportgen output folder"):
        diff_builds(empty, builds[1])
    with pytest.raises(UsageError, match=r"new build .* does not exist"):
        diff_builds(builds[0], tmp_path / "missing")
    only_facts = tmp_path / "only-facts"
    only_facts.mkdir()
    shutil.copy(builds[1] / "facts.json", only_facts / "facts.json")
    with pytest.raises(UsageError, match=r"new build .*only-facts .*no report\.html"):
        diff_builds(builds[0], only_facts)
    broken = copy_build(builds[1], tmp_path / "broken")
    (broken / "facts.json").write_text("{not json")
    with pytest.raises(UsageError, match=r"facts\.json: cannot read"):
        diff_builds(builds[0], broken)


def test_refuses_builds_of_different_reports(builds: tuple[Path, Path], tmp_path: Path) -> None:
    other = copy_build(builds[1], tmp_path / "other")
    data = json.loads((other / "facts.json").read_text())
    data["report"] = "bond_weekly"
    (other / "facts.json").write_text(json.dumps(data))
    with pytest.raises(UsageError, match="different reports") as err:
        diff_builds(builds[0], other)
    assert "'ai_etf_monthly'" in str(err.value) and "'bond_weekly'" in str(err.value)


def test_summary_prints_no_control_characters(builds: tuple[Path, Path], tmp_path: Path) -> None:
    edited = copy_build(builds[1], tmp_path / "edited")
    report = edited / "report.html"
    report.write_text(report.read_text().replace('id="outlook"', 'id="out\x1b[2Jlook"', 1))
    lines = summary_lines(diff_builds(builds[1], edited))
    assert not any("\x1b" in line for line in lines)
    assert any("out?[2Jlook" in line for line in lines)
