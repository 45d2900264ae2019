"""Small valid datasets for tests, easy to break on purpose.

API (every value is the exact text written to the file, so a test can put any
bad string anywhere)::

    tables = minimal_tables()
    tables["prices"][3]["close"] = "7.0x"       # rows are dicts: column -> text
    folder = write_dataset(tmp_path, tables)    # -> tmp_path, holding the dataset
    line_of(3)                                  # -> 5, the physical line of that row

- ``minimal_tables()`` -> ``Tables``: a fresh, valid dataset: stem -> list of row
  dicts for the six CSV files, and ``"sources"`` -> the ``sources.yaml`` mapping
  (with a ``label``). Two indexes (``THEME`` theme, ``BENCH`` benchmark), three
  ETFs (``AAA`` and ``BBB`` theme, ``CCC`` benchmark), every weekday from
  2025-12-15 to 2026-01-30 in prices (all five), flows, aum and spreads (ETFs),
  and holdings of ``AAA`` on 2025-12-31 and 2026-01-30. Rows are in file order:
  by ticker, then date. Mutate it freely; each call builds a new one.
- ``write_dataset(folder, tables=None, *, columns=None, text=None, omit=())``
  writes ``tables`` (default ``minimal_tables()``) into ``folder`` (created if
  needed) and returns ``folder``. Each CSV's header is ``columns[stem]`` when
  given (to reorder, drop or add columns; a row's missing keys are written
  empty, keys not in the header are left out), else the keys of its first row,
  else the contract's columns. ``text`` maps a stem (``"prices"``,
  ``"sources"``) or a file name to a ``str`` or ``bytes`` written verbatim
  instead; ``omit`` names stems or file names not to write at all.
- ``csv_text(rows, columns)`` -> the CSV text ``write_dataset`` would write.
- ``line_of(index)`` -> the physical line of ``rows[index]`` in a file written
  from those rows (the header is line 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from reportgen.dataset import COLUMNS, CSV_FILES

Tables = dict[str, Any]

FIRST_DAY = date(2025, 12, 15)
LAST_DAY = date(2026, 1, 30)
LABEL = "Illustrative test data - not actual market data"
#: ticker -> (name, kind, role, issuer, expense_ratio, inception_date, first close)
INSTRUMENTS: dict[str, tuple[str, str, str, str, str, str, float]] = {
    "AAA": ("Alpha AI ETF", "etf", "theme", "Alpha Funds", "0.0045", "2019-03-01", 50.0),
    "BBB": ("Beta Robotics ETF", "etf", "theme", "Beta Advisors", "0.0068", "", 25.0),
    "BENCH": ("Broad Market Index", "index", "benchmark", "", "", "", 5000.0),
    "CCC": ("Core Market ETF", "etf", "benchmark", "Core Capital", "0.0003", "2010-09-07", 400.0),
    "THEME": ("AI Theme Index", "index", "theme", "", "", "2018-01-02", 1500.0),
}
HOLDINGS: tuple[tuple[str, str, str, str, str], ...] = (
    ("NVDA", "NVIDIA Corp", "0.12", "Semiconductors", "infrastructure"),
    ("MSFT", "Microsoft Corp", "0.10", "Software", "platform"),
    ("CRM", "Salesforce Inc", "0.05", "Software", "application"),
    ("TSM", "Taiwan Semiconductor", "0.08", "Semiconductors", "infrastructure"),
)


def _weekdays() -> list[date]:
    days, day = [], FIRST_DAY
    while day <= LAST_DAY:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def minimal_tables() -> Tables:
    """A fresh valid dataset as rows of text (see the module docstring)."""
    days = _weekdays()
    tables: Tables = {stem: [] for stem in CSV_FILES}
    for ticker, (name, kind, role, issuer, expense, inception, _) in INSTRUMENTS.items():
        tables["instruments"].append(
            {
                "ticker": ticker,
                "name": name,
                "kind": kind,
                "role": role,
                "issuer": issuer,
                "expense_ratio": expense,
                "inception_date": inception,
            }
        )
    for k, (ticker, spec) in enumerate(INSTRUMENTS.items()):
        etf = spec[1] == "etf"
        close = spec[6]
        for i, day in enumerate(days):
            close *= 1 + ((i * 7 + k * 3) % 11 - 5) / 1000
            text = day.isoformat()
            volume = str(100_000 * (k + 1) + 1_000 * i) if etf else ""
            tables["prices"].append(
                {"date": text, "ticker": ticker, "close": f"{close:.4f}", "volume": volume}
            )
            if not etf:
                continue
            flow = ((i * 5 + k) % 9 - 4) * 250_000
            tables["flows"].append({"date": text, "ticker": ticker, "net_flow_usd": str(flow)})
            aum = 1e9 * (k + 1) + 1e6 * i
            tables["aum"].append({"date": text, "ticker": ticker, "aum_usd": f"{aum:.0f}"})
            spread = 1 + (i % 4) * 0.5
            tables["spreads"].append({"date": text, "ticker": ticker, "spread_bps": f"{spread}"})
    for as_of in ("2025-12-31", "2026-01-30"):
        for security, name, weight, sector, bucket in HOLDINGS:
            tables["holdings"].append(
                {
                    "as_of": as_of,
                    "fund": "AAA",
                    "security": security,
                    "name": name,
                    "weight": weight,
                    "sector": sector,
                    "bucket": bucket,
                }
            )
    tables["sources"] = {
        "label": LABEL,
        **{stem: {"source": f"Test publisher of {stem}"} for stem in CSV_FILES},
    }
    return tables


def csv_text(rows: Sequence[Mapping[str, str]], columns: Sequence[str]) -> str:
    """The rows as CSV text (LF line ends, minimal quoting)."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(columns), restval="", extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def line_of(index: int) -> int:
    """The physical line of ``rows[index]`` (no embedded newlines before it)."""
    return index + 2


def _file_name(stem: str) -> str:
    return "sources.yaml" if stem == "sources" else f"{stem}.csv"


def write_dataset(
    folder: Path,
    tables: Tables | None = None,
    *,
    columns: Mapping[str, Sequence[str]] | None = None,
    text: Mapping[str, str | bytes] | None = None,
    omit: Iterable[str] = (),
) -> Path:
    """Write a dataset folder (see the module docstring) and return it."""
    tables = minimal_tables() if tables is None else tables
    columns = columns or {}
    overrides = {_file_name(k) if "." not in k else k: v for k, v in (text or {}).items()}
    skipped = {_file_name(k) if "." not in k else k for k in omit}
    folder.mkdir(parents=True, exist_ok=True)
    contents: dict[str, str | bytes] = {}
    for stem in CSV_FILES:
        rows = tables.get(stem, [])
        header = columns.get(stem) or (list(rows[0]) if rows else list(COLUMNS[stem]))
        contents[_file_name(stem)] = csv_text(rows, header)
    contents["sources.yaml"] = yaml.safe_dump(
        tables.get("sources", {}), sort_keys=False, allow_unicode=True
    )
    contents.update(overrides)
    for name, content in contents.items():
        if name in skipped:
            continue
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_bytes(content.encode("utf-8"))
    return folder
