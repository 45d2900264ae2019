"""End to end: the installed ``reportgen`` command on the real sample dataset.

Every test here runs the real console script in a subprocess (real data, real
WeasyPrint PDF) and checks the outputs against the contract
(``../shared/CONTRACT.md``, sections 1-4). Expected values are recomputed here
with the csv and hashlib modules, independently of ``reportgen``. Builds cost
seconds, so they are shared through session-scoped fixtures, and independent
builds run two at a time.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import itertools
import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from tests.cli_runner import clean_env as base_env
from tests.cli_runner import reportgen_exe, snapshot

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "ai_etf_monthly.yaml"
SAMPLE = ROOT / "data" / "sample"
TEMPLATES = ROOT / "templates"
GOLDEN = ROOT / "tests" / "golden" / "ai_etf_monthly-2026-03-31.html"
UPDATE_GOLDEN = ".venv/bin/python scripts/update_golden.py"

AS_OF = "2026-03-31"
EARLY_AS_OF = "2025-01-31"
OUTPUTS = ("report.html", "report.pdf", "facts.json", "manifest.json")
LABEL = "Illustrative sample data - not actual market data"
TIMEOUT = 300

# -- contract section 4 --------------------------------------------------------------------
UNITS = {"usd", "percent", "pp", "bps", "ratio", "count", "days"}
GLOBAL_IDS = {
    "theme.flows.ytd": "usd",
    "theme.flows.month": "usd",
    "theme.aum.total": "usd",
    "index.theme.return.ytd": "percent",
    "index.benchmark.return.ytd": "percent",
    "index.theme.return.12m": "percent",
    "index.benchmark.return.12m": "percent",
    "index.relative.ytd": "pp",
    "fees.theme.min": "percent",
    "fees.theme.max": "percent",
    "fees.benchmark.min": "percent",
    "fees.benchmark.max": "percent",
}
ETF_IDS = {
    "return.ytd": "percent",
    "return.12m": "percent",
    "expense_ratio": "percent",
    "volatility.12m": "percent",
    "drawdown.12m": "percent",
    "beta.12m": "ratio",
    "aum": "usd",
    "flows.ytd": "usd",
    "adv": "usd",
    "spread": "bps",
}
TOP10 = "top10_weight"  # percent; present only for funds with holdings dated <= D
CALIBRATION = {
    "theme.flows.ytd": "$4.2bn",
    "index.theme.return.ytd": "15.0%",
    "index.benchmark.return.ytd": "7.0%",
    "index.relative.ytd": "+8.0 pp",
    "index.benchmark.return.12m": "22.0%",
    "fees.theme.min": "0.20%",
    "fees.theme.max": "0.65%",
    "fees.benchmark.min": "0.03%",
    "fees.benchmark.max": "0.10%",
}
LARGEST_THEME_AUM = "$2.1bn"
HEADLINE_FIGURES = ("$4.2bn", "15.0%", "7.0%", "+8.0 pp", "$2.1bn")
SIGNS = "+-\u2212"  # a display's leading sign: plus, hyphen-minus, minus


# -- running the command ---------------------------------------------------------------------
@dataclass
class Run:
    args: Sequence[str]
    cwd: Path = ROOT
    env: Mapping[str, str] = field(default_factory=base_env)


def run(r: Run) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(reportgen_exe()), *r.args],
        cwd=r.cwd,
        env=dict(r.env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def run_all(runs: Sequence[Run]) -> list[subprocess.CompletedProcess[str]]:
    """Independent builds, two at a time (each is single-threaded and takes seconds)."""
    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        return list(pool.map(run, runs))


def build_args(config: Path | str, data: Path | str, as_of: str, out: Path) -> list[str]:
    return ["build", str(config), "--data", str(data), "--as-of", as_of, "--out", str(out)]


def assert_built(proc: subprocess.CompletedProcess[str], out: Path) -> Path:
    assert proc.returncode == 0, f"build failed ({proc.returncode}):\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_facts(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "facts.json").read_text(encoding="utf-8"))
    return data


# -- independent readings of the dataset -----------------------------------------------------
def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def etf_kinds(data: Path = SAMPLE) -> dict[str, str]:
    """ETF ticker -> role."""
    return {
        r["ticker"]: r["role"] for r in read_csv(data / "instruments.csv") if r["kind"] == "etf"
    }


def universe(as_of: str, data: Path = SAMPLE) -> set[str]:
    """Contract section 2: every ETF with at least one price row dated <= D."""
    etfs = etf_kinds(data)
    d = date.fromisoformat(as_of)
    return {
        r["ticker"]
        for r in read_csv(data / "prices.csv")
        if r["ticker"] in etfs and date.fromisoformat(r["date"]) <= d
    }


def funds_with_holdings(as_of: str, data: Path = SAMPLE) -> set[str]:
    d = date.fromisoformat(as_of)
    return {
        r["fund"] for r in read_csv(data / "holdings.csv") if date.fromisoformat(r["as_of"]) <= d
    }


def largest_theme_etf(as_of: str, data: Path = SAMPLE) -> str:
    d = date.fromisoformat(as_of)
    theme = {t for t, role in etf_kinds(data).items() if role == "theme"} & universe(as_of, data)
    latest: dict[str, tuple[date, float]] = {}
    for r in read_csv(data / "aum.csv"):
        day = date.fromisoformat(r["date"])
        if r["ticker"] in theme and day <= d and day >= latest.get(r["ticker"], (date.min, 0))[0]:
            latest[r["ticker"]] = (day, float(r["aum_usd"]))
    return max(latest, key=lambda t: latest[t][1])


def dataset_sources(data: Path = SAMPLE) -> set[str]:
    doc = yaml.safe_load((data / "sources.yaml").read_text(encoding="utf-8"))
    return {v["source"] for v in doc.values() if isinstance(v, dict) and "source" in v}


def cut_dataset(src: Path, dst: Path, as_of: str) -> int:
    """Copy ``src`` with every row dated after ``as_of`` removed; returns the rows removed."""
    d = date.fromisoformat(as_of)
    dst.mkdir(parents=True)
    removed = 0
    for path in sorted(src.iterdir()):
        if path.suffix != ".csv":
            shutil.copyfile(path, dst / path.name)
            continue
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            rows = list(reader)
        col = next((header.index(c) for c in ("date", "as_of") if c in header), None)
        kept = [r for r in rows if col is None or date.fromisoformat(r[col]) <= d]
        removed += len(rows) - len(kept)
        with (dst / path.name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(kept)
    return removed


def config_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return doc


# -- shared builds ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def e2e_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def sample_run(e2e_tmp: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The README's build: relative paths from the project folder."""
    out = e2e_tmp / "sample-a"
    proc = run(Run(build_args("config/ai_etf_monthly.yaml", "data/sample", AS_OF, out)))
    return proc, out


@pytest.fixture(scope="session")
def sample(sample_run: tuple[subprocess.CompletedProcess[str], Path]) -> Path:
    return assert_built(*sample_run)


@pytest.fixture(scope="session")
def sample_facts(sample: Path) -> dict[str, Any]:
    return load_facts(sample)


@pytest.fixture(scope="session")
def rebuilds(e2e_tmp: Path, sample: Path) -> dict[str, Path]:
    """The sample build again: into another folder; and from elsewhere in another environment."""
    plain = e2e_tmp / "sample-b"
    moved = e2e_tmp / "elsewhere" / "sample-c"
    cwd = e2e_tmp / "cwd"
    cwd.mkdir()
    env = base_env()
    env.update(TZ="Asia/Kathmandu", PYTHONHASHSEED="2718281", LC_ALL="C.UTF-8")
    runs = [
        Run(build_args("config/ai_etf_monthly.yaml", "data/sample", AS_OF, plain)),
        Run(build_args(CONFIG, SAMPLE, AS_OF, moved), cwd=cwd, env=env),
    ]
    procs = run_all(runs)
    return {"plain": assert_built(procs[0], plain), "env": assert_built(procs[1], moved)}


@pytest.fixture(scope="session")
def epoch_builds(e2e_tmp: Path) -> tuple[Path, Path]:
    env = base_env()
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    outs = (e2e_tmp / "epoch-1", e2e_tmp / "epoch-2")
    procs = run_all([Run(build_args(CONFIG, SAMPLE, AS_OF, out), env=env) for out in outs])
    return assert_built(procs[0], outs[0]), assert_built(procs[1], outs[1])


@pytest.fixture(scope="session")
def early_data(e2e_tmp: Path) -> Path:
    """The sample, plus holdings dated 2024-12-31 (copies of the first holdings of each fund).

    The sample's holdings start in September 2025, after LKNG's launch; the bundled note
    needs holdings, so an as-of before LKNG's launch needs some earlier holdings.
    """
    data = e2e_tmp / "early-data"
    shutil.copytree(SAMPLE, data)
    rows = read_csv(SAMPLE / "holdings.csv")
    first = min(r["as_of"] for r in rows)
    early = universe(EARLY_AS_OF)
    added = [
        {**r, "as_of": "2024-12-31"} for r in rows if r["as_of"] == first and r["fund"] in early
    ]
    assert added
    with (data / "holdings.csv").open("a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n").writerows(added)
    return data


@pytest.fixture(scope="session")
def early(e2e_tmp: Path, early_data: Path) -> Path:
    out = e2e_tmp / "early"
    return assert_built(run(Run(build_args(CONFIG, early_data, EARLY_AS_OF, out))), out)


@pytest.fixture(scope="session")
def cut_build(e2e_tmp: Path) -> Path:
    data = e2e_tmp / "cut-data"
    removed = cut_dataset(SAMPLE, data, AS_OF)
    assert removed > 0, "the sample has no rows after the as-of date: the test would prove nothing"
    out = e2e_tmp / "cut"
    return assert_built(run(Run(build_args(CONFIG, data, AS_OF, out))), out)


# -- 1. the sample build and facts.json --------------------------------------------------------
def test_sample_build_writes_the_four_files(
    sample_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, out = sample_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in OUTPUTS:
        assert (out / name).is_file(), f"{name} missing from {out}"
        assert (out / name).stat().st_size > 0, f"{name} is empty"
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")


def check_fact_shape(fid: str, fact: Any, as_of: str) -> list[str]:
    bad: list[str] = []
    if not isinstance(fact, dict):
        return [f"{fid}: not an object"]
    keys = set(fact)
    required = {"value", "unit", "display", "as_of", "source"}
    if not required <= keys:
        bad.append(f"{fid}: missing {sorted(required - keys)}")
    allowed = required | ({"reason"} if fact.get("value") is None else set())
    if keys - allowed:
        bad.append(f"{fid}: unexpected keys {sorted(keys - allowed)}")
    value = fact.get("value")
    if value is None:
        if not (isinstance(fact.get("reason"), str) and fact["reason"].strip()):
            bad.append(f"{fid}: null value without a reason")
        if fact.get("as_of") != as_of:
            bad.append(f"{fid}: a null fact's as_of must be D, found {fact.get('as_of')!r}")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        bad.append(f"{fid}: value {value!r} is not a number")
    if fact.get("unit") not in UNITS:
        bad.append(f"{fid}: unit {fact.get('unit')!r}")
    if not (isinstance(fact.get("display"), str) and fact["display"].strip()):
        bad.append(f"{fid}: empty display")
    try:
        day = date.fromisoformat(fact.get("as_of", ""))
        if day > date.fromisoformat(as_of):
            bad.append(f"{fid}: as_of {day} after D")
    except (TypeError, ValueError):
        bad.append(f"{fid}: as_of {fact.get('as_of')!r} is not YYYY-MM-DD")
    source = fact.get("source")
    if not isinstance(source, str) or not source:
        bad.append(f"{fid}: empty source")
    else:
        parts = source.split("; ")
        if parts != sorted(set(parts)):
            bad.append(f"{fid}: source {source!r} is not distinct, sorted and joined with '; '")
    return bad


def test_facts_json_has_the_contract_shape(sample_facts: dict[str, Any]) -> None:
    assert set(sample_facts) == {"report", "as_of", "generator", "facts"}
    assert sample_facts["report"] == config_doc()["id"] == "ai_etf_monthly"
    assert sample_facts["as_of"] == AS_OF
    assert re.fullmatch(r"reportgen \S+", sample_facts["generator"]), sample_facts["generator"]
    assert sample_facts["generator"] == f"reportgen {metadata.version('reportgen')}"
    facts = sample_facts["facts"]
    assert isinstance(facts, dict) and facts
    bad = [msg for fid, fact in facts.items() for msg in check_fact_shape(fid, fact, AS_OF)]
    assert not bad, "\n".join(bad)


def test_calibration_figures(sample_facts: dict[str, Any]) -> None:
    facts = sample_facts["facts"]
    shown = {fid: facts.get(fid, {}).get("display") for fid in CALIBRATION}
    assert shown == CALIBRATION
    leader = largest_theme_etf(AS_OF)
    assert facts[f"etf.{leader}.aum"]["display"] == LARGEST_THEME_AUM, leader


def required_ids(as_of: str, data: Path = SAMPLE) -> dict[str, str]:
    ids = dict(GLOBAL_IDS)
    holders = funds_with_holdings(as_of, data)
    for t in universe(as_of, data):
        ids.update({f"etf.{t}.{suffix}": unit for suffix, unit in ETF_IDS.items()})
        if t in holders:
            ids[f"etf.{t}.{TOP10}"] = "percent"
    return ids


def check_universe(facts: dict[str, Any], as_of: str, data: Path = SAMPLE) -> None:
    required = required_ids(as_of, data)
    missing = sorted(set(required) - set(facts))
    assert not missing, f"required fact ids missing: {missing}"
    wrong_unit = {f: (facts[f]["unit"], u) for f, u in required.items() if facts[f]["unit"] != u}
    assert not wrong_unit, f"fact id: (unit found, unit expected): {wrong_unit}"
    inside = universe(as_of, data)
    outside = sorted(
        fid for fid in facts if fid.startswith("etf.") and fid.split(".")[1] not in inside
    )
    assert not outside, f"fact ids of ETFs outside the universe at {as_of}: {outside}"
    holders = funds_with_holdings(as_of, data)
    stray = sorted(
        fid for fid in facts if fid.endswith(f".{TOP10}") and fid.split(".")[1] not in holders
    )
    assert not stray, f"top-10 weights of funds without holdings dated <= {as_of}: {stray}"
    for fid in ("fees.theme.min", "fees.theme.max", "fees.benchmark.min", "fees.benchmark.max"):
        assert facts[fid]["as_of"] == as_of, f"{fid} comes from undated inputs: as_of is D"
    for t in inside:
        assert facts[f"etf.{t}.expense_ratio"]["as_of"] == as_of


def test_every_required_fact_id_for_the_universe(sample_facts: dict[str, Any]) -> None:
    facts = sample_facts["facts"]
    inside = universe(AS_OF)
    assert "LKNG" in inside, "LKNG launched in 2025 and is in the universe at 2026-03-31"
    assert inside == set(etf_kinds())
    check_universe(facts, AS_OF)
    assert any(fid.startswith("etf.LKNG.") for fid in facts)
    sources = dataset_sources()
    for fid in required_ids(AS_OF):
        parts = set(facts[fid]["source"].split("; "))
        assert parts <= sources, f"{fid}: source {facts[fid]['source']!r} not in sources.yaml"


def test_an_etf_launched_after_an_earlier_as_of_is_absent(early: Path, early_data: Path) -> None:
    doc = load_facts(early)
    assert doc["as_of"] == EARLY_AS_OF
    facts = doc["facts"]
    inside = universe(EARLY_AS_OF, early_data)
    assert "LKNG" not in inside and inside, inside
    assert not [fid for fid in facts if fid.startswith("etf.LKNG.")]
    check_universe(facts, EARLY_AS_OF, early_data)
    bad = [msg for fid, fact in facts.items() for msg in check_fact_shape(fid, fact, EARLY_AS_OF)]
    assert not bad, "\n".join(bad)


# -- 2. manifest.json ----------------------------------------------------------------------
def test_manifest_inputs_and_outputs(sample: Path) -> None:
    text = (sample / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    inputs, outputs = manifest["inputs"], manifest["outputs"]
    files = inputs["files"]
    expected = {f"dataset/{p.name}": sha256(p) for p in sorted(SAMPLE.iterdir()) if p.is_file()}
    expected["config/ai_etf_monthly.yaml"] = sha256(CONFIG)
    for p in sorted((CONFIG.parent / "commentary").glob("*.md")):
        expected[f"config/commentary/{p.name}"] = sha256(p)
    wrong = {k: (files.get(k), v) for k, v in expected.items() if files.get(k) != v}
    assert not wrong, f"input: (manifest, recomputed): {wrong}"
    # every template of the note (the reviewers' diff page is not part of a note)
    templates = {
        p.name: sha256(p)
        for p in TEMPLATES.rglob("*")
        if p.is_file() and not p.name.startswith("diff.")
    }
    assert templates
    recorded = {h for k, h in files.items() if k.startswith("templates/")}
    assert set(templates.values()) <= recorded, "every template's sha256 is in the manifest"
    assert not any(k.startswith("templates/builtin/diff.") for k in files)
    assert inputs["as_of"] == AS_OF
    versions = inputs["versions"]
    assert versions["reportgen"] == metadata.version("reportgen")
    assert versions["python"] == platform.python_version()
    for package in ("pandas", "numpy", "matplotlib", "jinja2", "weasyprint", "pydyf", "pyyaml"):
        assert versions.get(package) == metadata.version(package), package
    assert set(outputs) >= {"report.html", "report.pdf", "facts.json"}
    for name in ("report.html", "report.pdf", "facts.json"):
        assert outputs[name] == sha256(sample / name), name
    # No absolute path and no wall-clock time: the manifest is the same from any folder.
    assert str(ROOT) not in text and str(sample) not in text


# -- 3. determinism ------------------------------------------------------------------------
def assert_same_outputs(a: Path, b: Path) -> None:
    differ = [name for name in OUTPUTS if (a / name).read_bytes() != (b / name).read_bytes()]
    assert not differ, f"{a} and {b} differ in {differ}"


def test_two_builds_are_byte_identical(sample: Path, rebuilds: dict[str, Path]) -> None:
    assert_same_outputs(sample, rebuilds["plain"])


def test_build_ignores_timezone_hash_seed_locale_and_working_folder(
    sample: Path, rebuilds: dict[str, Path]
) -> None:
    assert_same_outputs(sample, rebuilds["env"])


def test_source_date_epoch_build_is_deterministic(epoch_builds: tuple[Path, Path]) -> None:
    a, b = epoch_builds
    assert (a / "report.pdf").read_bytes() == (b / "report.pdf").read_bytes()
    assert_same_outputs(a, b)


# -- 4. no look-ahead ----------------------------------------------------------------------
def test_rows_after_as_of_change_nothing(sample: Path, cut_build: Path) -> None:
    assert (cut_build / "facts.json").read_bytes() == (sample / "facts.json").read_bytes()
    assert (cut_build / "report.html").read_bytes() == (sample / "report.html").read_bytes()


# -- 5. the PDF ----------------------------------------------------------------------------
def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page (pdftotext when installed, else pypdf)."""
    exe = shutil.which("pdftotext")
    if exe:
        text = subprocess.run(
            [exe, "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True, timeout=60
        ).stdout.decode("utf-8")
        pages = text.split("\f")
        return pages[:-1] if pages and not pages[-1].strip() else pages
    return [page.extract_text() or "" for page in PdfReader(pdf).pages]


def flat(text: str) -> str:
    """Lines joined: hyphenation breaks undone, whitespace collapsed."""
    text = re.sub(r"[\u2010\u00ad]\n", "", text)
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="session")
def pages(sample: Path) -> list[str]:
    return pdf_pages(sample / "report.pdf")


@pytest.fixture(scope="session")
def report_pages(report: Path) -> list[str]:
    return pdf_pages(report / "report.pdf")


def test_pdf_shows_headline_figures_headings_and_disclaimer(pages: list[str]) -> None:
    text = flat("\n".join(pages))
    for figure in HEADLINE_FIGURES:
        assert figure in text, figure
    doc = config_doc()
    for section in doc["sections"]:
        assert flat(section["title"]) in text, section["title"]
    first_sentence = flat(doc["disclaimer"]).split(". ")[0].strip() + "."
    assert first_sentence in text, first_sentence


def test_pdf_every_page_has_label_and_page_footer(report_pages: list[str]) -> None:
    assert report_pages
    n = len(report_pages)
    for i, page in enumerate(report_pages, start=1):
        text = flat(page)
        assert LABEL in text, f"page {i} lacks the dataset label"
        assert f"Page {i} of {n}" in text, f"page {i} lacks 'Page {i} of {n}'"


def test_pdf_page_count_and_metadata(sample: Path, pages: list[str]) -> None:
    reader = PdfReader(sample / "report.pdf")
    assert len(reader.pages) == len(pages)
    meta = reader.metadata
    assert meta is not None
    title = html_title((sample / "report.html").read_text(encoding="utf-8"))
    assert meta.title and meta.title == title
    assert meta.author and meta.author == config_doc()["house"]


def iter_fonts(resources: Any, seen: set[int]) -> Iterator[tuple[str, DictionaryObject]]:
    if resources is None:
        return
    resources = resources.get_object()
    fonts = resources.get("/Font")
    if fonts is not None:
        for name, ref in fonts.get_object().items():
            yield name, ref.get_object()
    xobjects = resources.get("/XObject")
    if xobjects is not None:
        for ref in xobjects.get_object().values():
            key = getattr(ref, "idnum", id(ref))
            if key in seen:
                continue
            seen.add(key)
            xobj = ref.get_object()
            if xobj.get("/Subtype") == "/Form":
                yield from iter_fonts(xobj.get("/Resources"), seen)


def test_pdf_fonts_are_all_embedded(sample: Path) -> None:
    reader = PdfReader(sample / "report.pdf")
    seen: set[int] = set()
    found = 0
    unembedded = set()
    for page in reader.pages:
        for name, font in iter_fonts(page.get("/Resources"), seen):
            found += 1
            base = str(font.get("/BaseFont", name))
            if font.get("/Subtype") == "/Type3":
                continue  # glyphs drawn by the PDF itself
            descendants = font.get("/DescendantFonts")
            target = descendants.get_object()[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                unembedded.add(base)
    assert found
    assert not unembedded, f"fonts not embedded: {sorted(unembedded)}"


# -- 6. the HTML ---------------------------------------------------------------------------
URL_ATTRS = {"src", "srcset", "poster", "action", "formaction", "background"}


class Page(HTMLParser):
    """What the HTML checks need, gathered in one pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: list[str] = []
        self.headings: list[int] = []
        self.tables: list[int] = []  # col-scoped th per table
        self._open_tables: list[int] = []
        self.svgs: list[dict[str, str | None]] = []  # outermost svg elements
        self._svg_depth = 0
        self._spans: list[list[str] | None] = []
        self.facts: list[tuple[str, str]] = []
        self._fact_ids: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id") is not None:
            self.ids.append(a["id"] or "")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "title" and self._svg_depth == 0:
            self._in_title = True
        if tag == "table":
            self._open_tables.append(0)
        if tag == "th" and self._open_tables and a.get("scope") == "col":
            self._open_tables[-1] += 1
        if tag == "svg":
            if self._svg_depth == 0:
                self.svgs.append(a)
            self._svg_depth += 1
        if tag == "span":
            classes = (a.get("class") or "").split()
            if "fact" in classes and a.get("data-fact") is not None:
                self._spans.append([])
                self._fact_ids.append(a["data-fact"] or "")
            else:
                self._spans.append(None)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("svg", "span", "table"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag == "table" and self._open_tables:
            self.tables.append(self._open_tables.pop())
        if tag == "svg" and self._svg_depth:
            self._svg_depth -= 1
        if tag == "span" and self._spans:
            buf = self._spans.pop()
            if buf is not None:
                self.facts.append((self._fact_ids.pop(), "".join(buf)))

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        for buf in self._spans:
            if buf is not None:
                buf.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def html_title(html: str) -> str:
    return parse(html).title.strip()


@pytest.fixture(scope="session", params=["sample", "early"])
def report(request: pytest.FixtureRequest) -> Path:
    """The structural checks run on the sample note and on the earlier, different one."""
    out: Path = request.getfixturevalue(request.param)
    return out


@pytest.fixture(scope="session")
def html(report: Path) -> str:
    return (report / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def page(html: str) -> Page:
    return parse(html)


def test_html_is_self_contained(html: str, page: Page) -> None:
    external = []
    for tag, attrs in page.tags:
        if tag in ("link", "iframe", "object", "embed"):
            external.append(f"<{tag}>")
        for name, value in attrs.items():
            if name in URL_ATTRS or name.endswith("href"):
                v = (value or "").strip()
                if not (v.startswith("#") or v.startswith("data:")):
                    external.append(f"<{tag} {name}={value!r}>")
    assert not external, external
    for m in re.finditer(r"url\(\s*(?:&quot;|['\"])?\s*([^'\")&\s]*)", html, flags=re.I):
        assert m.group(1).startswith(("data:", "#")), m.group(0)
    assert "@import" not in html


def test_html_ids_are_unique(page: Page) -> None:
    dupes = sorted({i for i in page.ids if page.ids.count(i) > 1})
    assert page.ids and not dupes, dupes


def test_html_headings_in_order(page: Page) -> None:
    levels = page.headings
    assert levels and levels[0] == 1 and levels.count(1) == 1, levels
    skips = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
    assert not skips, f"heading levels skipped: {skips}"


def test_html_tables_have_column_headers(page: Page) -> None:
    assert page.tables
    assert all(n > 0 for n in page.tables), f'tables without <th scope="col">: {page.tables}'


def test_html_charts_are_labelled(page: Page) -> None:
    charts = sum(1 for s in config_doc()["sections"] for block in s["blocks"] if "chart" in block)
    assert len(page.svgs) >= charts
    for svg in page.svgs:
        assert svg.get("role") == "img", svg
        assert (svg.get("aria-label") or "").strip(), svg


def test_html_prints_facts_exactly_as_their_display(page: Page, report: Path) -> None:
    facts = load_facts(report)["facts"]
    assert page.facts
    bad = []
    for fid, shown in page.facts:
        if fid not in facts:
            bad.append(f"{fid}: not in facts.json (shows {shown!r})")
            continue
        display = facts[fid]["display"]
        unsigned = display[1:] if display[:1] in SIGNS else display
        if shown not in (display, unsigned):
            bad.append(f"{fid}: shows {shown!r}, display is {display!r}")
    assert not bad, "\n".join(bad)


# -- 7. golden HTML ------------------------------------------------------------------------
def test_html_matches_golden(sample: Path) -> None:
    html = (sample / "report.html").read_text(encoding="utf-8")
    assert GOLDEN.is_file(), f"{GOLDEN} is missing; create it with: {UPDATE_GOLDEN}"
    golden = GOLDEN.read_text(encoding="utf-8")
    if html != golden:
        diff = list(
            difflib.unified_diff(
                golden.splitlines(),
                html.splitlines(),
                fromfile=f"golden/{GOLDEN.name}",
                tofile="built report.html",
                lineterm="",
            )
        )
        shown = "\n".join(diff[:80]) + ("\n..." if len(diff) > 80 else "")
        pytest.fail(
            f"report.html differs from the golden file ({len(diff)} diff lines):\n{shown}\n"
            f"If the change is intended, regenerate it with: {UPDATE_GOLDEN}",
            pytrace=False,
        )


# -- 8. bad input --------------------------------------------------------------------------
def assert_refused(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 2, f"exit {proc.returncode}, stderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr


def decimal_comma(line: str) -> str:
    """A prices.csv row (date,ticker,close,volume) with its close written with a decimal comma."""
    fields = line.split(",")
    assert "." in fields[2] and '"' not in line, line
    fields[2] = '"' + fields[2].replace(".", ",") + '"'
    return ",".join(fields)


def test_broken_prices_rows_are_refused_and_output_kept(sample: Path, e2e_tmp: Path) -> None:
    data = e2e_tmp / "broken-data"
    shutil.copytree(SAMPLE, data)
    prices = data / "prices.csv"
    lines = prices.read_text(encoding="utf-8").splitlines()
    assert [c.strip() for c in lines[0].split(",")] == ["date", "ticker", "close", "volume"]
    middle = 1000  # physical, 1-based
    lines[middle - 1] = decimal_comma(lines[middle - 1])
    taken = {tuple(line.split(",")[:2]) for line in lines[1:]}
    assert ("2026-03-28", "NWAI") not in taken  # a Saturday: no duplicate key
    lines.append(decimal_comma("2026-03-28,NWAI,31.5000,1200"))
    appended = len(lines)
    prices.write_text("\n".join(lines) + "\n", encoding="utf-8")

    out = e2e_tmp / "kept" / "out"
    shutil.copytree(sample, out)  # a complete earlier build
    before, siblings = snapshot(out), sorted(os.listdir(out.parent))

    proc = run(Run(build_args(CONFIG, data, AS_OF, out)))
    assert_refused(proc)
    for line in (middle, appended):
        assert f"prices.csv:{line}: column close:" in proc.stderr, proc.stderr
    assert snapshot(out) == before, "the earlier output was changed"
    assert sorted(os.listdir(out.parent)) == siblings, "the build left files beside --out"


def insert_after(text: str, anchor: str, addition: str) -> tuple[str, int]:
    """``text`` with ``addition`` appended to the line containing ``anchor``; its 1-based line."""
    lines = text.split("\n")
    (i,) = [n for n, line in enumerate(lines) if anchor in line]
    lines[i] += addition
    return "\n".join(lines), i + 1


BAD_FACT = "{{ fact('theme.flows.nonexistent') }}"


@pytest.mark.parametrize("where", ["paragraph", "paragraph_file"])
def test_unknown_fact_id_in_commentary_is_refused(e2e_tmp: Path, where: str) -> None:
    folder = e2e_tmp / f"bad-config-{where}"
    shutil.copytree(CONFIG.parent, folder)
    config = folder / CONFIG.name
    if where == "paragraph":
        target, section = config, "performance"
        anchor = "quarter-end, net of each fund's expense ratio"
    else:
        target, section = folder / "commentary" / "outlook.md", "outlook"
        anchor = next(ln for ln in target.read_text(encoding="utf-8").splitlines() if ln.strip())
    text, line = insert_after(target.read_text(encoding="utf-8"), anchor, f" {BAD_FACT}")
    target.write_text(text, encoding="utf-8")

    out = e2e_tmp / f"bad-config-{where}-out"
    proc = run(Run(build_args(config, SAMPLE, AS_OF, out)))
    assert_refused(proc)
    assert "theme.flows.nonexistent" in proc.stderr, proc.stderr
    located = [ln for ln in proc.stderr.splitlines() if ln.startswith(f"{target}:{line}:")]
    assert located, f"no line starting {target}:{line}: in\n{proc.stderr}"
    assert f"'{section}'" in located[0], located[0]
    assert not out.exists(), "a refused build wrote its output folder"


def test_impossible_as_of_date_is_refused(e2e_tmp: Path) -> None:
    out = e2e_tmp / "bad-date-out"
    proc = run(Run(build_args(CONFIG, SAMPLE, "2026-02-30", out)))
    assert_refused(proc)
    assert "2026-02-30" in proc.stderr
    assert not out.exists()


def test_malformed_source_date_epoch_is_a_usage_error(e2e_tmp: Path) -> None:
    env = base_env()
    env["SOURCE_DATE_EPOCH"] = "yesterday"
    out = e2e_tmp / "bad-epoch-out"
    proc = run(Run(build_args(CONFIG, SAMPLE, AS_OF, out), env=env))
    assert_refused(proc)
    assert "SOURCE_DATE_EPOCH" in proc.stderr, proc.stderr
    assert not out.exists()


FOREIGN_FOLDERS = {
    "documents": {"thesis.docx": b"months of work", "notes/todo.txt": b"do not delete\n"},
    # A web app's folder: its manifest.json is a web app manifest, not a reportgen one.
    "web-app": {
        "manifest.json": b'{"name": "My App", "start_url": "/", "display": "standalone"}\n',
        "index.html": b"<!DOCTYPE html><title>My App</title><h1>My App</h1>\n",
    },
}


@pytest.mark.parametrize("kind", sorted(FOREIGN_FOLDERS))
def test_foreign_output_folder_is_refused_and_untouched(e2e_tmp: Path, kind: str) -> None:
    out = e2e_tmp / f"someone-elses-{kind}"
    for name, content in FOREIGN_FOLDERS[kind].items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(content)
    before, siblings = snapshot(out), sorted(os.listdir(out.parent))
    proc = run(Run(build_args(CONFIG, SAMPLE, AS_OF, out)))
    assert_refused(proc)
    assert snapshot(out) == before, f"{out} was changed: now holds {sorted(snapshot(out))}"
    assert sorted(os.listdir(out.parent)) == siblings
