"""`reportgen validate` and `reportgen facts` through the real console script."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTGEN = str(Path(sys.executable).parent / "reportgen")
CONFIG = ROOT / "config" / "ai_etf_monthly.yaml"
SAMPLE = ROOT / "data" / "sample"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REPORTGEN, *args], capture_output=True, text=True, cwd=ROOT)


def test_validate_accepts_the_sample() -> None:
    done = run("validate", str(CONFIG), "--data", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    assert "no problems found" in done.stdout


def test_validate_reports_config_and_data_problems_together(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG.parent, config_dir)
    config = config_dir / CONFIG.name
    lines = config.read_text(encoding="utf-8").splitlines()
    page_line = next(i for i, line in enumerate(lines) if line.startswith("page_size:"))
    lines[page_line] = "page_size: a4"
    lines.append("colour: navy")
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    with (data / "flows.csv").open("a", encoding="utf-8") as fh:
        fh.write("2026-03-31,NWAI,1.234,5\n")  # a fourth field on line N
    n_lines = len((data / "flows.csv").read_text(encoding="utf-8").splitlines())

    done = run("validate", str(config), "--data", str(data))
    assert done.returncode == 2
    err = done.stderr.splitlines()
    assert f"{config}:{page_line + 1}:12: page_size: expected 'A4' or 'Letter', found 'a4'" in err
    assert any(e.startswith(f"{config}:{len(lines)}:1: colour: unknown key") for e in err)
    assert any(e.startswith(f"{data / 'flows.csv'}:{n_lines}: ") for e in err), err

    as_json = json.loads(
        run("validate", str(config), "--data", str(data), "--format", "json").stdout
    )
    assert as_json["count"] == len(err)
    assert {p["path"] for p in as_json["problems"]} == {str(config), str(data / "flows.csv")}


def test_validate_resolves_fact_ids_against_the_data(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG.parent, config_dir)
    outlook = config_dir / "commentary" / "outlook.md"
    outlook.write_text("Flows were {{ fact('theme.flows.quarter') }}.\n", encoding="utf-8")
    done = run("validate", str(config_dir / CONFIG.name), "--data", str(SAMPLE))
    assert done.returncode == 2
    assert f"{outlook}:1: unknown fact id 'theme.flows.quarter'" in done.stderr
    assert "(section 'outlook')" in done.stderr


def test_facts_lists_ids_with_display_source_and_date() -> None:
    done = run(
        "facts",
        str(CONFIG),
        "--data",
        str(SAMPLE),
        "--as-of",
        "2026-03-31",
        "--grep",
        "^theme.flows",
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    assert [r[0] for r in rows] == ["theme.flows.month", "theme.flows.ytd"]
    # theme flows YTD by hand: sum of theme ETFs' flows, 2025-12-31 < date <= 2026-03-31
    with (SAMPLE / "instruments.csv").open(encoding="utf-8") as fh:
        theme = {
            r["ticker"] for r in csv.DictReader(fh) if r["kind"] == "etf" and r["role"] == "theme"
        }
    with (SAMPLE / "flows.csv").open(encoding="utf-8") as fh:
        total = sum(
            float(r["net_flow_usd"])
            for r in csv.DictReader(fh)
            if r["ticker"] in theme and "2025-12-31" < r["date"] <= "2026-03-31"
        )
    assert round(total / 1e9, 1) == 4.2
    assert rows[1][1] == "$4.2bn" and rows[1][2] == "2026-03-31"

    as_json = json.loads(
        run(
            "facts",
            "--data",
            str(SAMPLE),
            "--as-of",
            "2026-03-31",
            "--grep",
            "flows.ytd",
            "--format",
            "json",
        ).stdout
    )
    assert as_json["theme.flows.ytd"]["value"] == total
    assert all("flows.ytd" in k for k in as_json)


def test_build_names_a_fund_without_rows_in_a_reported_period(tmp_path: Path) -> None:
    """Its flows sum to 0 by the contract; the build must say so rather than mislead."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    flows = data / "flows.csv"
    lines = flows.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    date_i, ticker_i = header.index("date"), header.index("ticker")
    kept = [lines[0]] + [
        line
        for line in lines[1:]
        if not (line.split(",")[ticker_i] == "WMCC" and line.split(",")[date_i] > "2025-12-31")
    ]
    flows.write_text("\n".join(kept) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    done = run(
        "build", str(CONFIG), "--data", str(data), "--as-of", "2026-03-31", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    review = [line for line in done.stdout.splitlines() if "review: stale-input" in line]
    assert any("(WMCC) has no rows in flows.csv after 2025-12-31" in line for line in review)
    assert any("(WMCC) has no rows in flows.csv after 2026-02-28" in line for line in review)
    report = json.loads((out / "compliance.json").read_text(encoding="utf-8"))
    assert report["summary"]["by_rule"] == {"stale-input": 2}
    assert report["summary"]["blocking"] == 0
