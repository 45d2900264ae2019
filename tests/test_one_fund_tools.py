"""``validate`` and ``serve`` for a one-fund report (the ETF factsheet): with ``--subject``
for one fund, and ``validate`` without it for every fund of the universe."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from reportgen.serve import Server
from reportgen.validate import validate
from tests.cli_runner import run_reportgen

ROOT = Path(__file__).resolve().parent.parent
FACTSHEET = ROOT / "config" / "etf_factsheet.yaml"
SAMPLE = ROOT / "data" / "sample"
AS_OF = date(2026, 3, 31)


def etfs_with_holdings() -> set[str]:
    lines = (SAMPLE / "holdings.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    return {line.split(",")[header.index("fund")] for line in lines[1:]}


reportgen = run_reportgen


def test_validate_checks_a_factsheet_for_every_fund_or_the_one_given(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(FACTSHEET.parent, config_dir)
    config = config_dir / FACTSHEET.name
    # print the top-10 weight unconditionally: only funds that publish holdings have it
    text = config.read_text(encoding="utf-8")
    section = "  - id: performance\n    title: Performance\n    blocks:\n"
    line = "      - paragraph: \"Top ten: {{ fact('etf.@fund.top10_weight') }}.\"\n"
    assert section in text
    config.write_text(text.replace(section, section + line), encoding="utf-8")
    with_holdings = etfs_with_holdings()
    at = 1 + config.read_text(encoding="utf-8").splitlines().index(line.rstrip("\n"))
    problems = [str(p) for p in validate(config, SAMPLE, AS_OF)]
    # the funds without holdings each meet it; it is listed once
    assert problems == [
        f"{config}:{at}:20: sections.0.blocks.0.paragraph: unknown fact id "
        "'etf.@fund.top10_weight' (section 'performance')"
    ]
    lacking = sorted(t for t in ("BCLT", "NWBT", "HLTM") if t not in with_holdings)
    assert lacking
    assert [str(p) for p in validate(config, SAMPLE, AS_OF, subject=lacking[0])] == problems
    holder = sorted(with_holdings)[0]
    assert validate(config, SAMPLE, AS_OF, subject=holder) == []
    done = reportgen("validate", str(config), "--data", str(SAMPLE), "--as-of", "2026-03-31")
    assert done.returncode == 2 and done.stderr.strip()
    one = reportgen(
        *("validate", str(config), "--data", str(SAMPLE), "--as-of", "2026-03-31"),
        *("--subject", holder),
    )
    assert one.returncode == 0, one.stderr


def test_validate_refuses_a_subject_outside_the_universe_or_for_a_note() -> None:
    args = ["validate", "--data", str(SAMPLE), "--as-of", "2026-03-31", "--subject"]
    unknown = reportgen(args[0], str(FACTSHEET), *args[1:], "NOPE")
    assert unknown.returncode == 2
    assert "subject 'NOPE': not an ETF of the universe at 2026-03-31" in unknown.stderr
    note = reportgen(args[0], str(ROOT / "config" / "ai_etf_monthly.yaml"), *args[1:], "NWAI")
    assert note.returncode == 2 and "is not about one fund" in note.stderr


def test_serve_previews_the_factsheet_of_the_fund_given() -> None:
    names = {
        line.split(",")[0]: line.split(",")[1]
        for line in (SAMPLE / "instruments.csv").read_text(encoding="utf-8").splitlines()[1:]
    }
    for ticker in ("NWAI", "BCLT"):
        server = Server(FACTSHEET, SAMPLE, AS_OF, port=0, subject=ticker)
        try:
            page = server.rebuild()
        finally:
            server.stop()
        assert page.ok, page.html[:500]
        assert names[ticker] in page.html
    server = Server(FACTSHEET, SAMPLE, AS_OF, port=0)  # no subject: the page says why
    try:
        page = server.rebuild()
    finally:
        server.stop()
    assert not page.ok and "--subject" in page.html
