"""Incremental rebuilds: what is unchanged is neither built nor rewritten; what changed is.

Real builds throughout: the monthly note through the installed ``reportgen`` command,
factsheets through :func:`reportgen.batch.run_batch` (one process, so a test can see
which items were built), on a small synthetic market copied per test so it can be
edited. "Untouched" is checked on the file system (inode and modification time of
every file), not taken from reportgen's own account.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from reportgen.batch import BatchResult, run_batch
from reportgen.cache import BuildCache
from tests.cli_runner import clean_env, run_reportgen
from tests.market_factory import AS_OF, BENCHMARK_INDEX, THEME_INDEX, write_market

ROOT = Path(__file__).resolve().parent.parent
NOTE = ROOT / "config" / "ai_etf_monthly.yaml"
FACTSHEET = ROOT / "config" / "etf_factsheet.yaml"
ONLY = ["AIBG", "AIRB", "TKBR"]  # two theme ETFs and a benchmark ETF
CHANGED = "AIRB"
CSV_STEMS = ("instruments", "prices", "flows", "aum", "spreads", "holdings")


reportgen = run_reportgen


def build_note(
    config: Path, data: Path, out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    args = ["-v", "build", str(config), "--data", str(data), "--as-of", AS_OF.isoformat()]
    proc = reportgen(*args, "--out", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    return proc


def stages(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The stages ``-v`` reported: what the build actually did."""
    return [line.split()[0] for line in proc.stderr.splitlines() if line.startswith("  ")]


def stat_all(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file's (inode, mtime in ns): any rewrite changes one of them."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def contents(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def log_lines(root: Path) -> list[str]:
    path = root / "reportgen-log.jsonl"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def change_close(data: Path, ticker: str, factor: float = 1.01) -> None:
    """Scale one ETF's latest close (on or before the as-of date), read and written with csv."""
    path = data / "prices.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    t, d, c = header.index("ticker"), header.index("date"), header.index("close")
    last = max(i for i, r in enumerate(rows[1:], 1) if r[t] == ticker and r[d] <= AS_OF.isoformat())
    rows[last][c] = f"{float(rows[last][c]) * factor:.6f}"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_market(tmp_path_factory.mktemp("market") / "data")


@pytest.fixture
def data(tmp_path: Path, market: Path) -> Path:
    """A private copy of the market, free to edit."""
    return Path(shutil.copytree(market, tmp_path / "data"))


def factsheets(config: Path, data: Path, out: Path, cache: BuildCache) -> BatchResult:
    return run_batch(config, data, AS_OF, out, only=ONLY, jobs=1, progress=False, cache=cache)


# --------------------------------------------------------------------------- the note


def test_an_unchanged_note_does_no_work_and_rewrites_nothing(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out" / "note"
    first = build_note(NOTE, data, out)
    assert {"load", "metrics", "pdf"} <= set(stages(first))
    before, log = stat_all(out), log_lines(out.parent)

    again = build_note(NOTE, data, out)
    assert "up to date" in again.stdout
    assert stages(again) == ["config", "cache"]  # no load, metrics, document, PDF or write
    assert stat_all(out) == before
    assert log_lines(out.parent) == log  # nothing published, nothing logged
    assert (out.parent / ".reportgen-cache" / "entries").is_dir()


def test_a_damaged_or_missing_output_is_restored_from_the_cache(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out" / "note"
    build_note(NOTE, data, out)
    want = contents(out)
    (out / "report.html").write_text("edited by hand", encoding="utf-8")
    (out / "stray.txt").write_text("x", encoding="utf-8")

    proc = build_note(NOTE, data, out)
    assert "(from the cache)" in proc.stdout
    assert "pdf" not in stages(proc)
    assert contents(out) == want


def test_changed_data_commentary_or_template_rebuild_the_note(tmp_path: Path, data: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(NOTE.parent, config_dir)
    config = config_dir / NOTE.name
    out = tmp_path / "out" / "note"
    build_note(config, data, out)
    first = contents(out)

    change_close(data, CHANGED)  # one ETF's data: the note reads every fund
    proc = build_note(config, data, out)
    assert "pdf" in stages(proc)
    second = contents(out)
    assert second["facts.json"] != first["facts.json"]

    commentary = config_dir / "commentary" / "bottom_line.md"
    commentary.write_text(commentary.read_text(encoding="utf-8") + "\nOne more line.\n")
    proc = build_note(config, data, out)
    assert "pdf" in stages(proc)
    assert b"One more line." in (out / "report.html").read_bytes()
    assert (out / "facts.json").read_bytes() == second["facts.json"]

    templates = config_dir / "templates"  # the config's own templates, searched first
    templates.mkdir()
    css = ROOT / "templates" / "note.css"
    (templates / "note.css").write_text(
        css.read_text(encoding="utf-8") + "\nh1 { color: #123456 }\n"
    )
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("\nsections:", "\ntemplates: templates\nsections:", 1))
    proc = build_note(config, data, out)
    assert "pdf" in stages(proc)
    assert b"#123456" in (out / "report.html").read_bytes()

    # unchanged once more: nothing to do
    assert stages(build_note(config, data, out)) == ["config", "cache"]


def test_a_damaged_cache_costs_time_never_correctness(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out" / "note"
    build_note(NOTE, data, out)
    want = contents(out)
    blobs = tmp_path / "out" / ".reportgen-cache" / "blobs"
    for blob in blobs.rglob("*"):
        if blob.is_file() and blob.read_bytes() == want["report.pdf"]:
            blob.write_bytes(b"%PDF-1.7 damaged")
    shutil.rmtree(out)
    proc = build_note(NOTE, data, out)
    assert "pdf" in stages(proc)  # the damaged entry was a miss
    assert contents(out) == want


def test_cache_folder_and_no_cache(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out" / "note"
    build_note(NOTE, data, out, "--cache", str(tmp_path / "elsewhere"))
    assert (tmp_path / "elsewhere" / "entries").is_dir()
    assert not (tmp_path / "out" / ".reportgen-cache").exists()
    proc = build_note(NOTE, data, out, "--no-cache")
    assert "pdf" in stages(proc)
    assert not (tmp_path / "out" / ".reportgen-cache").exists()
    both = reportgen("build", str(NOTE), "--data", str(data), "--as-of", AS_OF.isoformat())
    assert both.returncode == 2  # --out is required; nothing was written
    clash = reportgen(
        *("build", str(NOTE), "--data", str(data), "--as-of", AS_OF.isoformat()),
        *("--out", str(out), "--no-cache", "--cache", str(tmp_path / "c")),
    )
    assert clash.returncode == 2 and "--cache and --no-cache" in clash.stderr


def test_the_source_date_epoch_is_part_of_the_key(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out" / "note"
    build_note(NOTE, data, out)
    pdf = (out / "report.pdf").read_bytes()
    args = ["-v", "build", str(NOTE), "--data", str(data), "--as-of", AS_OF.isoformat()]
    proc = reportgen(*args, "--out", str(out), env=clean_env(SOURCE_DATE_EPOCH="1700000000"))
    assert proc.returncode == 0, proc.stderr
    assert "pdf" in stages(proc)
    assert (out / "report.pdf").read_bytes() != pdf


# --------------------------------------------------------------------------- factsheets


def test_changing_one_etfs_prices_rebuilds_that_factsheet_only(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out" / "factsheets"
    cache = BuildCache(tmp_path / "cache")
    first = factsheets(FACTSHEET, data, out, cache)
    assert first.made("built") == ONLY and first.exit_code == 0
    before = {t: stat_all(out / t) for t in ONLY}
    manifests = {t: json.loads((out / t / "manifest.json").read_text()) for t in ONLY}
    first_prices = (out / CHANGED / "inputs" / "dataset" / "prices.csv").read_bytes()

    unchanged = factsheets(FACTSHEET, data, out, cache)
    assert unchanged.made("unchanged") == ONLY
    assert {t: stat_all(out / t) for t in ONLY} == before
    assert unchanged.raw == []  # no worker ran

    change_close(data, CHANGED)
    after = factsheets(FACTSHEET, data, out, cache)
    assert after.made("built") == [CHANGED]
    assert after.made("unchanged") == [t for t in ONLY if t != CHANGED]
    for t in ONLY:
        if t != CHANGED:
            assert stat_all(out / t) == before[t], t
    rows_before = manifests[CHANGED]["inputs"]["rows"]
    rows_after = json.loads((out / CHANGED / "manifest.json").read_text())["inputs"]["rows"]
    assert rows_after["prices"]["sha256"] != rows_before["prices"]["sha256"]
    assert rows_after["prices"]["rows"] == rows_before["prices"]["rows"]
    for stem in ("instruments", "flows", "aum", "spreads", "holdings"):
        assert rows_after[stem] == rows_before[stem], stem
    # the stored rows are the edited ones, and hash as the manifest says
    stored = out / CHANGED / "inputs" / "dataset" / "prices.csv"
    mf = json.loads((out / CHANGED / "manifest.json").read_text())
    assert (
        mf["inputs"]["files"]["dataset/prices.csv"]
        == hashlib.sha256(stored.read_bytes()).hexdigest()
    )
    assert stored.read_bytes() != first_prices


def test_an_index_change_rebuilds_every_factsheet(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out" / "factsheets"
    cache = BuildCache(tmp_path / "cache")
    factsheets(FACTSHEET, data, out, cache)
    change_close(data, BENCHMARK_INDEX.ticker)
    assert factsheets(FACTSHEET, data, out, cache).made("built") == ONLY
    change_close(data, THEME_INDEX.ticker)
    assert factsheets(FACTSHEET, data, out, cache).made("built") == ONLY


def test_a_config_or_template_change_rebuilds_the_factsheets_it_shapes(
    tmp_path: Path, data: Path
) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(FACTSHEET.parent, config_dir)
    config = config_dir / FACTSHEET.name
    out = tmp_path / "out" / "factsheets"
    cache = BuildCache(tmp_path / "cache")
    factsheets(config, data, out, cache)

    css = config_dir / "factsheet" / "templates" / "factsheet.css"
    css.write_text(css.read_text(encoding="utf-8") + "\nh1 { color: #654321 }\n")
    assert factsheets(config, data, out, cache).made("built") == ONLY
    assert all(b"#654321" in (out / t / "report.html").read_bytes() for t in ONLY)

    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("Fund factsheet", "Fund factsheet, monthly"))
    assert factsheets(config, data, out, cache).made("built") == ONLY
    assert factsheets(config, data, out, cache).made("unchanged") == ONLY


def test_a_deleted_factsheet_folder_comes_back_from_the_cache(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out" / "factsheets"
    cache = BuildCache(tmp_path / "cache")
    factsheets(FACTSHEET, data, out, cache)
    want = contents(out / "AIBG")
    shutil.rmtree(out / "AIBG")
    result = factsheets(FACTSHEET, data, out, cache)
    assert result.made("cached") == ["AIBG"]
    assert result.raw == []
    assert contents(out / "AIBG") == want


def test_a_single_factsheet_build_uses_the_same_cache(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out" / "AIBG"
    args = ["--subject", "AIBG"]
    first = build_note(FACTSHEET, data, out, *args)
    assert "pdf" in stages(first)
    change_close(data, CHANGED)  # another fund's rows: this factsheet does not read them
    again = build_note(FACTSHEET, data, out, *args)
    assert "up to date" in again.stdout
    assert "pdf" not in stages(again)


def test_another_as_of_date_is_another_build(tmp_path: Path, data: Path) -> None:
    """A different as-of date is a different build, even with the same rows."""
    out = tmp_path / "out" / "factsheets"
    cache = BuildCache(tmp_path / "cache")
    factsheets(FACTSHEET, data, out, cache)
    other = run_batch(
        FACTSHEET, data, date(2026, 3, 30), out, only=ONLY, jobs=1, progress=False, cache=cache
    )
    assert other.made("built") == ONLY


# --------------------------------------------------------------------------- kept rows


@pytest.mark.parametrize("ticker", ["AIBG", "TKBR"], ids=["theme-etf", "benchmark-etf"])
def test_a_factsheet_folder_rebuilds_and_is_approved_from_its_kept_rows(
    tmp_path: Path, data: Path, ticker: str
) -> None:
    """The folder keeps only its fund's rows (a benchmark ETF's rows hold no theme ETF,
    which a whole dataset must have); rebuilding and approving work from them alone."""
    out = tmp_path / "out" / ticker
    build_note(FACTSHEET, data, out, "--subject", ticker, "--no-cache")
    kept = {p.name for p in (out / "inputs" / "dataset").iterdir()}
    assert kept == {f"{s}.csv" for s in CSV_STEMS} | {"sources.yaml"}
    with (out / "inputs" / "dataset" / "instruments.csv").open(encoding="utf-8") as fh:
        tickers = sorted(row["ticker"] for row in csv.DictReader(fh))
    assert tickers == sorted([ticker, THEME_INDEX.ticker, BENCHMARK_INDEX.ticker])

    shutil.rmtree(data)  # the folder alone must do
    rebuilt = reportgen("rebuild", str(out))
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    approved = reportgen("approve", str(out), "--reviewer", "Ada", "--role", "Compliance")
    assert approved.returncode == 0, approved.stderr
    assert (out / "report-approved.pdf").is_file()


def test_rows_after_the_as_of_date_are_not_read_so_changing_them_rebuilds_nothing(
    tmp_path: Path, data: Path
) -> None:
    """A factsheet as of the day before the data ends keeps no row of the last day."""
    day_before = date(2026, 3, 30)
    out = tmp_path / "out" / "factsheets"
    cache = BuildCache(tmp_path / "cache")

    def batch() -> BatchResult:
        return run_batch(
            FACTSHEET, data, day_before, out, only=ONLY, jobs=1, progress=False, cache=cache
        )

    assert batch().made("built") == ONLY
    kept = (out / CHANGED / "inputs" / "dataset" / "prices.csv").read_text(encoding="utf-8")
    assert AS_OF.isoformat() not in kept and day_before.isoformat() in kept
    change_close(data, CHANGED)  # its close on AS_OF, after the factsheets' date
    assert batch().made("unchanged") == ONLY


# --------------------------------------------------------------------------- the cache itself


def _entry_files() -> dict[str, bytes]:
    files = {
        "compliance.json": b"{}\n",
        "facts.json": b'{"facts": {}}\n',
        "report.html": b"<html></html>\n",
        "report.pdf": b"%PDF-1.7\n",
        "inputs/dataset/prices.csv": b"date,ticker,close,volume\n",
    }
    outputs = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}
    files["manifest.json"] = json.dumps({"inputs": {}, "outputs": outputs}).encode()
    return files


def test_an_entry_that_does_not_describe_a_whole_build_is_a_miss(tmp_path: Path) -> None:
    from reportgen.cache import Entry

    cache = BuildCache(tmp_path)
    files = _entry_files()
    cache.put("a" * 64, Entry(files, ["summary"], [], 3))
    found = cache.lookup("a" * 64)
    assert found is not None and cache.files(found) == files
    assert (found.summary, found.fact_count) == (["summary"], 3)

    entry = tmp_path / "entries" / "aa" / f"{'a' * 64}.json"
    data = json.loads(entry.read_text())
    del data["files"]["report.pdf"]  # a build always has its PDF
    entry.write_text(json.dumps(data))
    assert cache.lookup("a" * 64) is None

    data["files"]["report.pdf"] = data["files"]["report.html"]  # not what its manifest lists
    entry.write_text(json.dumps(data))
    found = cache.lookup("a" * 64)
    assert found is not None and cache.files(found) is None

    entry.write_text("{not json")
    assert cache.lookup("a" * 64) is None


def test_a_damaged_blob_is_dropped_and_written_again(tmp_path: Path) -> None:
    from reportgen.cache import Entry

    cache = BuildCache(tmp_path)
    files = _entry_files()
    cache.put("b" * 64, Entry(files))
    digest = hashlib.sha256(files["report.pdf"]).hexdigest()
    blob = tmp_path / "blobs" / digest[:2] / digest
    blob.write_bytes(b"%PDF-1.7 trunc")  # a crash mid-write, say
    found = cache.lookup("b" * 64)
    assert found is not None and cache.files(found) is None
    cache.put("b" * 64, Entry(files))  # the next build stores it again
    assert blob.read_bytes() == files["report.pdf"]
    assert cache.files(found) == files


def test_the_key_covers_every_file_of_the_package() -> None:
    """The wording lexicon and the chart style shape the output as much as the code."""
    from reportgen import cache as cache_module

    package = ROOT / "reportgen"
    seen = cache_module.package_files()
    for name in ("lexicon/promissory-v1.yaml", "styles/house.mplstyle", "cache.py"):
        assert package / name in seen, name
    assert not any("__pycache__" in p.parts for p in seen)
    assert "pdftotext" in cache_module.tool_versions()


def test_a_one_fund_config_cannot_select_another_fund(tmp_path: Path) -> None:
    """Built from its own rows, a factsheet would silently pick among them."""
    from reportgen.config import load_config
    from reportgen.errors import InputError

    config_dir = tmp_path / "config"
    shutil.copytree(FACTSHEET.parent, config_dir)
    config = config_dir / FACTSHEET.name
    text = config.read_text(encoding="utf-8")
    extra = "  fund: {subject: true}\n  leader: {select: largest, by: aum}\n"
    config.write_text(text.replace("  fund: {subject: true}\n", extra, 1))
    line = 1 + config.read_text(encoding="utf-8").splitlines().index(
        "  leader: {select: largest, by: aum}"
    )
    with pytest.raises(InputError) as info:
        load_config(config)
    (message,) = info.value.lines()
    assert message.startswith(f"{config}:{line}:")
    assert "funds.leader: a one-fund report" in message
    assert "found a selection by aum" in message
