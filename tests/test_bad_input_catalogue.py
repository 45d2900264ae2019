"""A catalogue of bad inputs, each refused by the real ``reportgen build`` command.

One case per bad input (contract section 1, and the config's strict YAML), each on
an otherwise valid synthetic market (``tests/market_factory.py``) with the shipped
config ``config/ai_etf_monthly.yaml`` (or a copy of its folder, edited), through the
installed console script:

- ``fresh``: ``--out`` names a folder that does not exist; afterwards it still does
  not, and nothing was left beside it;
- ``kept`` (one case for each stage that can refuse, ``KEPT``): ``--out`` holds a
  complete earlier build; afterwards it is byte-for-byte the same, and nothing was
  left beside it.

Each run must exit 2 and print exactly the expected lines on stderr (the
contract's ``PATH:LINE: column NAME: expected ..., found ...``, with the physical
line counted here from the text written, or ``PATH:LINE:COLUMN: ...`` for YAML),
hence no traceback. Expected lines are worked out here from the edit each case
makes, never read back from reportgen.

Refusals happen before rendering, so a run costs well under a second; the runs
share one pool of worker threads (one subprocess each) to keep the file fast. Two
cases must build instead (exit 0): funds literally named ``NA``, ``NULL`` and
``None`` are names, not gaps, and an unquoted date where the config expects text
is that text.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import run_reportgen, snapshot
from tests.dataset_factory import csv_text, line_of, write_dataset
from tests.market_factory import DEFAULT_ETFS, market_tables

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "ai_etf_monthly.yaml"
AS_OF = "2026-03-31"
SEPARATORS = "('.' is the decimal mark; no thousands separators)"
OUTSIDE = "expected a path inside the config's folder, found one leading outside it"


# --------------------------------------------------------------------------- running


def build(config: Path, data: Path, out: Path) -> subprocess.CompletedProcess[str]:
    args = ["build", str(config), "--data", str(data), "--as-of", AS_OF, "--out", str(out)]
    return run_reportgen(*args)


def workers() -> int:
    return max(2, min(4, os.cpu_count() or 1))


# --------------------------------------------------------------------------- inputs


@cache
def _base_tables() -> dict[str, Any]:
    return market_tables()


def tables() -> dict[str, Any]:
    """A fresh copy of the valid synthetic market, as rows of text."""
    return copy.deepcopy(_base_tables())


def first(rows: list[dict[str, str]], **match: str) -> int:
    """Index of the first row whose columns have these values."""
    return next(i for i, r in enumerate(rows) if all(r[k] == v for k, v in match.items()))


def lines(t: dict[str, Any], stem: str) -> list[str]:
    """The file's text as ``write_dataset`` would write it, split into physical lines."""
    rows = t[stem]
    return csv_text(rows, list(rows[0])).split("\n")[:-1]


def joined(text_lines: list[str]) -> str:
    return "\n".join(text_lines) + "\n"


def line_no(text: str, needle: str) -> int:
    """The 1-based line of the only line of ``text`` that contains ``needle``."""
    (found,) = [n for n, line in enumerate(text.split("\n"), start=1) if needle in line]
    return found


@dataclass
class Prepared:
    config: Path
    data: Path
    expected: list[str]
    #: files the run must not create (a YAML tag that would run a command)
    forbidden: list[Path] = field(default_factory=list)
    #: text that must not reach stderr (the content of a file outside the config folder)
    secret: str | None = None
    #: when set, stderr must hold exactly one line starting with it (the rest may evolve)
    prefix: str | None = None


@dataclass(frozen=True)
class Where:
    """Where a case writes: its own folder, and the shared valid dataset."""

    root: Path
    base_data: Path

    def data(self, t: dict[str, Any], **kw: Any) -> Path:
        return write_dataset(self.root / "data", t, **kw)

    def config(self, edit: Callable[[str], str] | None = None) -> Path:
        folder = self.root / "cfg"
        shutil.copytree(CONFIG.parent, folder, symlinks=True)
        path = folder / CONFIG.name
        if edit is not None:
            path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
        return path


# --------------------------------------------------------------------------- dataset cases


def _extra_field(w: Where) -> Prepared:
    t = tables()
    i = first(t["prices"], ticker="AIRB") + 40
    text = lines(t, "prices")
    text[line_of(i) - 1] += ",17"
    data = w.data(t, text={"prices": joined(text)})
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'prices.csv'}:{line_of(i)}: expected 4 fields as in the header, found 5 "
            "(quote values that contain a comma)"
        ],
    )


def _missing_field(w: Where) -> Prepared:
    t = tables()
    i = first(t["spreads"], ticker="AISW") + 7
    text = lines(t, "spreads")
    text[line_of(i) - 1] = text[line_of(i) - 1].rsplit(",", 1)[0]
    data = w.data(t, text={"spreads": joined(text)})
    return Prepared(
        CONFIG,
        data,
        [f"{data / 'spreads.csv'}:{line_of(i)}: expected 3 fields as in the header, found 2"],
    )


def _leading_zeros_lost(w: Where) -> Prepared:
    """Ticker ``007`` in instruments, ``7`` in prices and AUM (a spreadsheet ate the zeros)."""
    t = tables()
    t["instruments"].append(
        {
            "ticker": "007",
            "name": "Double Oh Seven AI ETF",
            "kind": "etf",
            "role": "theme",
            "issuer": "Bond Street Funds",
            "expense_ratio": "0.0007",
            "inception_date": "2026-03-02",
        }
    )
    for day in ("2026-03-30", "2026-03-31"):
        t["prices"].append({"date": day, "ticker": "7", "close": "20.5", "volume": "1000"})
    t["aum"].append({"date": "2026-03-31", "ticker": "7", "aum_usd": "50000000"})
    n_prices, n_aum = len(t["prices"]), len(t["aum"])
    data = w.data(t)
    unknown = 'column ticker: expected a ticker listed in instruments.csv, found "7"'
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'prices.csv'}:{line_of(n_prices - 2)}: {unknown} "
            f"(also on line {line_of(n_prices - 1)})",
            f"{data / 'aum.csv'}:{line_of(n_aum - 1)}: {unknown}",
        ],
    )


def _value(
    stem: str, ticker: str, offset: int, column: str, value: str
) -> Callable[[Where, str], Prepared]:
    """A case that writes ``value`` into one cell (csv quotes it if it holds a comma)."""

    def prepare(w: Where, expected: str) -> Prepared:
        t = tables()
        i = first(t[stem], ticker=ticker) + offset
        t[stem][i][column] = value
        data = w.data(t)
        return Prepared(
            CONFIG, data, [f"{data / f'{stem}.csv'}:{line_of(i)}: column {column}: {expected}"]
        )

    return prepare


def _thousands_separator(w: Where) -> Prepared:
    return _value("aum", "AICH", 100, "aum_usd", "1,234")(
        w, f'expected a number such as 12.5 or 1e-4, found "1,234" {SEPARATORS}'
    )


def _thousands_separator_unquoted(w: Where) -> Prepared:
    t = tables()
    i = first(t["flows"], ticker="AIBG") + 3
    text = lines(t, "flows")
    day, ticker, _ = text[line_of(i) - 1].split(",")
    text[line_of(i) - 1] = f"{day},{ticker},-1,234,567"
    data = w.data(t, text={"flows": joined(text)})
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'flows.csv'}:{line_of(i)}: expected 3 fields as in the header, found 5 "
            "(quote values that contain a comma)"
        ],
    )


def _decimal_comma(w: Where) -> Prepared:
    return _value("prices", "AIBG", 250, "close", "0,5")(
        w, f'expected a number such as 12.5 or 1e-4, found "0,5" {SEPARATORS}'
    )


def _day_first_date(w: Where) -> Prepared:
    t = tables()
    i = first(t["flows"], ticker="TKCR", date="2026-03-31")
    t["flows"][i]["date"] = "31/03/2026"
    data = w.data(t)
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'flows.csv'}:{line_of(i)}: column date: "
            'expected a date as YYYY-MM-DD, found "31/03/2026"'
        ],
    )


def _impossible_date(w: Where) -> Prepared:
    t = tables()
    i = first(t["aum"], ticker="AIRB", date="2026-02-27")
    t["aum"][i]["date"] = "2026-02-30"
    data = w.data(t)
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'aum.csv'}:{line_of(i)}: column date: "
            'expected a real calendar date as YYYY-MM-DD, found "2026-02-30"'
        ],
    )


def _nan_close(w: Where) -> Prepared:
    return _value("prices", "TECX", 17, "close", "nan")(
        w, 'expected a number such as 12.5 or 1e-4, found "nan"'
    )


def _spaces_around(w: Where) -> Prepared:
    return _value("prices", "AISW", 3, "close", " 50.25")(
        w, 'expected a value without spaces around it, found " 50.25"'
    )


def _fractional_volume(w: Where) -> Prepared:
    return _value("prices", "TKBR", 9, "volume", "1200.0")(
        w, 'expected a whole number of shares >= 0, found "1200.0"'
    )


def _negative_aum(w: Where) -> Prepared:
    return _value("aum", "TKBR", 60, "aum_usd", "-5000000")(
        w, 'expected a number > 0, found "-5000000"'
    )


def _bom_at_start(w: Where) -> Prepared:
    t = tables()
    data = w.data(t, text={"spreads": "\ufeff" + joined(lines(t, "spreads"))})
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'spreads.csv'}:1: "
            "expected UTF-8 without a byte-order mark, found one at the start"
        ],
    )


def _bom_mid_file(w: Where) -> Prepared:
    t = tables()
    text = lines(t, "holdings")
    text[4] = "\ufeff" + text[4]  # line 5
    data = w.data(t, text={"holdings": joined(text)})
    return Prepared(
        CONFIG,
        data,
        [f"{data / 'holdings.csv'}:5: expected no byte-order mark inside the file, found one"],
    )


def _bom_inside_a_value(w: Where) -> Prepared:
    t = tables()
    i = first(t["prices"], ticker="AICH") + 11
    text = lines(t, "prices")
    text[line_of(i) - 1] = text[line_of(i) - 1].replace(",AICH,", ",\ufeffAICH,")
    data = w.data(t, text={"prices": joined(text)})
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'prices.csv'}:{line_of(i)}: "
            "expected no byte-order mark inside the file, found one"
        ],
    )


def _blank_line(blank: str) -> Callable[[Where], Prepared]:
    def prepare(w: Where) -> Prepared:
        t = tables()
        text = lines(t, "flows")
        at = 120  # the blank line becomes physical line 121; later rows move down one
        text.insert(at, blank)
        data = w.data(t, text={"flows": joined(text)})
        return Prepared(
            CONFIG,
            data,
            [f"{data / 'flows.csv'}:{at + 1}: expected a row of values, found a blank line"],
        )

    return prepare


def _duplicate_key(w: Where) -> Prepared:
    t = tables()
    i = first(t["flows"], ticker="AIRB", date="2026-01-15")
    t["flows"].insert(i + 1, {**t["flows"][i], "net_flow_usd": "12345"})
    data = w.data(t)
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'flows.csv'}:{line_of(i + 1)}: expected one row per (date, ticker), "
            f"found a second row for 2026-01-15, AIRB (first on line {line_of(i)})"
        ],
    )


def _unknown_ticker(w: Where) -> Prepared:
    return _value("spreads", "AISW", 30, "ticker", "ZZZZ")(
        w, 'expected a ticker listed in instruments.csv, found "ZZZZ"'
    )


def _index_in_etf_file(w: Where) -> Prepared:
    t = tables()
    i = first(t["flows"], ticker="AIBG") + 5
    t["flows"][i]["ticker"] = "AITX"
    data = w.data(t)
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'flows.csv'}:{line_of(i)}: column ticker: "
            'expected an ETF (flows.csv holds ETF data only), found the index "AITX"'
        ],
    )


def _weights_over_one(w: Where) -> Prepared:
    t = tables()
    rows = t["holdings"]
    fund, as_of = rows[0]["fund"], rows[0]["as_of"]
    rows[0]["weight"] = "0.9"
    total = 0.0
    for r in rows:
        if (r["fund"], r["as_of"]) == (fund, as_of):
            total += float(r["weight"])
    assert total > 1.0
    data = w.data(t)
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'holdings.csv'}:{line_of(0)}: column weight: expected the weights of "
            f'"{fund}" on {as_of} to sum to at most 1, found {total:.9g}'
        ],
    )


def _missing_file(w: Where) -> Prepared:
    data = w.data(tables(), omit=("aum",))
    return Prepared(CONFIG, data, [f"{data / 'aum.csv'}: expected the file aum.csv, found none"])


def _missing_column(w: Where) -> Prepared:
    data = w.data(tables(), columns={"spreads": ["date", "ticker"]})
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'spreads.csv'}:1: column spread_bps: "
            "expected a column named spread_bps, found none"
        ],
    )


def _unclosed_quote(w: Where) -> Prepared:
    t = tables()
    text = lines(t, "prices")
    last = len(text)  # physical line of the last row
    day, ticker, close, volume = text[-1].split(",")
    text[-1] = f'{day},{ticker},"{close},{volume}'
    data = w.data(t, text={"prices": joined(text)})
    return Prepared(
        CONFIG,
        data,
        [f'{data / "prices.csv"}:{last}: expected a closing quote ("), found the end of the file'],
    )


def _quoted_newline_before_the_bad_row(w: Where) -> Prepared:
    """A quoted name spanning lines in instruments moves every later row down a line."""
    t = tables()
    name_row = first(t["instruments"], ticker="AIRB")
    t["instruments"][name_row]["name"] = "Kestrel Robotics\n& AI ETF"
    bad = first(t["instruments"], ticker="AICH")
    t["instruments"][bad]["expense_ratio"] = "0.6%"
    data = w.data(t)
    line = line_of(bad) + (1 if bad > name_row else 0)
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'instruments.csv'}:{line}: column expense_ratio: "
            'expected a number such as 12.5 or 1e-4, found "0.6%"'
        ],
    )


def _several_files_at_once(w: Where) -> Prepared:
    """Every problem of every file, in file order (instruments, prices, ..., holdings)."""
    t = tables()
    h = 3
    t["holdings"][h]["bucket"] = "hardware"
    s = first(t["spreads"], ticker="AIBG") + 2
    t["spreads"][s]["spread_bps"] = "-1"
    p = first(t["prices"], ticker="AIRB") + 2
    t["prices"][p]["date"] = "2026-13-01"
    data = w.data(t)
    return Prepared(
        CONFIG,
        data,
        [
            f"{data / 'prices.csv'}:{line_of(p)}: column date: "
            'expected a real calendar date as YYYY-MM-DD, found "2026-13-01"',
            f"{data / 'spreads.csv'}:{line_of(s)}: column spread_bps: "
            'expected a number >= 0, found "-1"',
            f"{data / 'holdings.csv'}:{line_of(h)}: column bucket: "
            'expected infrastructure, platform or application, found "hardware"',
        ],
    )


# --------------------------------------------------------------------------- config cases


def _yaml_duplicate_key(w: Where) -> Prepared:
    config = w.config(lambda text: text + "house: Someone Else\n")
    text = config.read_text(encoding="utf-8")
    first_line = line_no(text, "house: Halden Bridge Research")
    second = line_no(text, "house: Someone Else")
    return Prepared(
        config,
        w.base_data,
        [f"{config}:{second}:1: duplicate key 'house': first defined on line {first_line}"],
    )


def _yaml_alias(w: Where) -> Prepared:
    def edit(text: str) -> str:
        text = text.replace("note_type: Monthly", "note_type: &nt Monthly", 1)
        return text.replace('byline: "Thematic Equity Strategy | ETF Research"', "byline: *nt", 1)

    config = w.config(edit)
    text = config.read_text(encoding="utf-8")
    msg = "expected plain values, found a YAML anchor or alias (& or *)"
    return Prepared(
        config,
        w.base_data,
        [
            f"{config}:{line_no(text, 'note_type: &nt')}:12: {msg}",
            f"{config}:{line_no(text, 'byline: *nt')}:9: {msg}",
        ],
    )


def _yaml_python_tag(w: Where) -> Prepared:
    marker = w.root / "pwned"
    tag = f'!!python/object/apply:os.system ["touch {marker}"]'
    config = w.config(lambda text: text.replace("house: Halden Bridge Research", f"house: {tag}"))
    line = line_no(config.read_text(encoding="utf-8"), "house: !!python")
    return Prepared(
        config,
        w.base_data,
        [
            f"{config}:{line}:8: expected a plain YAML value, found the tag "
            "tag:yaml.org,2002:python/object/apply:os.system"
        ],
        forbidden=[marker],
    )


def _page_size_lower_case(w: Where) -> Prepared:
    config = w.config(lambda text: text.replace("page_size: A4", "page_size: a4", 1))
    line = line_no(config.read_text(encoding="utf-8"), "page_size: a4")
    return Prepared(
        config,
        w.base_data,
        [f"{config}:{line}:12: page_size: expected 'A4' or 'Letter', found 'a4'"],
    )


def _unknown_key(w: Where) -> Prepared:
    config = w.config(
        lambda text: text.replace("id: ai_etf_monthly\n", "id: ai_etf_monthly\ncolour: red\n")
    )
    line = line_no(config.read_text(encoding="utf-8"), "colour: red")
    return Prepared(
        config,
        w.base_data,
        [],
        # the list of allowed keys grows with the schema; its start and the location do not
        prefix=f"{config}:{line}:1: colour: unknown key; expected one of id, title, ",
    )


def _octal_looking_integer(w: Where) -> Prepared:
    config = w.config(
        lambda text: text.replace("  fee_drag_years: 10\n", "  fee_drag_years: 010\n")
    )
    line = line_no(config.read_text(encoding="utf-8"), "fee_drag_years: 010")
    return Prepared(
        config,
        w.base_data,
        [f"{config}:{line}:19: scenario.fee_drag_years: expected an integer, found '010'"],
    )


def _flow_style_octal(w: Where) -> Prepared:
    """The brief's own spelling: ``scenario: {fee_drag_years: 010}`` on one line."""

    def edit(text: str) -> str:
        start = text.index("scenario:\n")
        end = text.index("\nkey_figures:")
        return text[:start] + "scenario: {fee_drag_years: 010}\n" + text[end:]

    config = w.config(edit)
    line = line_no(config.read_text(encoding="utf-8"), "scenario: {fee_drag_years: 010}")
    return Prepared(
        config,
        w.base_data,
        [f"{config}:{line}:28: scenario.fee_drag_years: expected an integer, found '010'"],
    )


def _yaml_syntax_error(w: Where) -> Prepared:
    config = w.config(
        lambda text: text.replace(
            "house: Halden Bridge Research\n", "house: Halden Bridge Research\n  oops: 1\n"
        )
    )
    line = line_no(config.read_text(encoding="utf-8"), "  oops: 1")
    return Prepared(
        config,
        w.base_data,
        [f"{config}:{line}:7: YAML syntax: mapping values are not allowed here"],
    )


def _paragraph_file(name: str, reason: str) -> Callable[[Where], Prepared]:
    def prepare(w: Where) -> Prepared:
        config = w.config(
            lambda text: text.replace(
                "paragraph_file: commentary/context.md", f"paragraph_file: {name}", 1
            )
        )
        line = line_no(config.read_text(encoding="utf-8"), f"paragraph_file: {name}")
        return Prepared(
            config,
            w.base_data,
            [
                f"{config}:{line}:25: paragraph_file: cannot use {name!r}: {reason} "
                "(section 'context')"
            ],
        )

    return prepare


def _paragraph_file_symlink_out(w: Where) -> Prepared:
    secret = w.root / "secret.md"
    secret.write_text("SECRET-7f3a {{ fact('theme.aum.total') }}\n", encoding="utf-8")
    config = w.config()
    link = config.parent / "commentary" / "context.md"
    link.unlink()
    link.symlink_to(secret)
    line = line_no(config.read_text(encoding="utf-8"), "paragraph_file: commentary/context.md")
    return Prepared(
        config,
        w.base_data,
        [
            f"{config}:{line}:25: paragraph_file: cannot use 'commentary/context.md': "
            f"{OUTSIDE} (section 'context')"
        ],
        secret="SECRET-7f3a",
    )


CASES: dict[str, Callable[[Where], Prepared]] = {
    # dataset
    "extra-field": _extra_field,
    "missing-field": _missing_field,
    "leading-zeros-lost": _leading_zeros_lost,
    "thousands-separator-quoted": _thousands_separator,
    "thousands-separator-unquoted": _thousands_separator_unquoted,
    "decimal-comma": _decimal_comma,
    "day-first-date": _day_first_date,
    "impossible-date": _impossible_date,
    "nan-close": _nan_close,
    "spaces-around-a-value": _spaces_around,
    "fractional-volume": _fractional_volume,
    "negative-aum": _negative_aum,
    "bom-at-start": _bom_at_start,
    "bom-mid-file": _bom_mid_file,
    "bom-inside-a-value": _bom_inside_a_value,
    "blank-line": _blank_line(""),
    "whitespace-only-line": _blank_line("   "),
    "duplicate-key-row": _duplicate_key,
    "unknown-ticker": _unknown_ticker,
    "index-in-etf-only-file": _index_in_etf_file,
    "weights-sum-over-one": _weights_over_one,
    "missing-file": _missing_file,
    "missing-column": _missing_column,
    "unclosed-quote": _unclosed_quote,
    "quoted-newline-before-the-bad-row": _quoted_newline_before_the_bad_row,
    "several-files-at-once": _several_files_at_once,
    # config
    "yaml-duplicate-key": _yaml_duplicate_key,
    "yaml-alias": _yaml_alias,
    "yaml-python-tag": _yaml_python_tag,
    "page-size-lower-case": _page_size_lower_case,
    "unknown-config-key": _unknown_key,
    "octal-looking-integer": _octal_looking_integer,
    "octal-looking-integer-flow-style": _flow_style_octal,
    "yaml-syntax-error": _yaml_syntax_error,
    "paragraph-file-parent-dirs": _paragraph_file("../../etc/passwd", OUTSIDE),
    "paragraph-file-absolute": _paragraph_file(
        "/etc/passwd", "expected a path relative to the config's folder, found an absolute path"
    ),
    "paragraph-file-symlink-out": _paragraph_file_symlink_out,
}


#: Cases also run over a complete earlier build: one per stage that can refuse (CSV
#: structure, encoding, a value, a rule across files, a rule over a file, a missing file;
#: YAML parsing, YAML tags, the typed schema; a commentary path refused while composing,
#: after the metrics ran). Every case runs "fresh".
KEPT = (
    "extra-field",
    "bom-mid-file",
    "decimal-comma",
    "leading-zeros-lost",
    "duplicate-key-row",
    "weights-sum-over-one",
    "missing-file",
    "several-files-at-once",
    "yaml-duplicate-key",
    "yaml-python-tag",
    "octal-looking-integer",
    "paragraph-file-parent-dirs",
    "paragraph-file-symlink-out",
)
RUNS = [(case, "fresh") for case in CASES] + [(case, "kept") for case in KEPT]


# --------------------------------------------------------------------------- fixtures


@dataclass
class Outcome:
    prepared: Prepared
    proc: subprocess.CompletedProcess[str]
    out: Path
    before: dict[str, bytes] | None  # the earlier build in --out (kept variant)
    siblings_before: list[str]


@dataclass
class GoodBuilds:
    baseline: Path  # a complete build of the valid market (the earlier output of "kept")
    base_data: Path
    names: Path  # funds named NA / NULL / None, dates unquoted where text is expected
    names_proc: subprocess.CompletedProcess[str]


NAMES = {"AIBG": "NA", "AIRB": "NULL", "AISW": "None"}
UNQUOTED_BYLINE = "2025-07-04"
UNQUOTED_NOTE_TYPE = "2025-07-05"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> GoodBuilds:
    root = tmp_path_factory.mktemp("good")
    base_data = write_dataset(root / "data", tables())

    etfs = [replace(e, name=NAMES.get(e.ticker, e.name)) for e in DEFAULT_ETFS]
    names_data = write_dataset(root / "names-data", market_tables(etfs=etfs))
    config = Where(root / "names", base_data).config(
        lambda text: text.replace(
            "note_type: Monthly Thematic Note", f"note_type: {UNQUOTED_NOTE_TYPE}"
        ).replace('byline: "Thematic Equity Strategy | ETF Research"', f"byline: {UNQUOTED_BYLINE}")
    )
    assert f"\nbyline: {UNQUOTED_BYLINE}\n" in config.read_text(encoding="utf-8")
    jobs = [(CONFIG, base_data, root / "baseline"), (config, names_data, root / "names-out")]
    with ThreadPoolExecutor(workers()) as pool:
        base_proc, names_proc = pool.map(lambda job: build(*job), jobs)
    assert base_proc.returncode == 0, base_proc.stderr
    return GoodBuilds(root / "baseline", base_data, root / "names-out", names_proc)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, good: GoodBuilds) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("catalogue")
    pending: list[tuple[str, Prepared, Path, dict[str, bytes] | None, list[str]]] = []
    for case, prepare in CASES.items():
        folder = root / case
        folder.mkdir()
        prepared = prepare(Where(folder, good.base_data))
        for variant in [v for c, v in RUNS if c == case]:
            parent = folder / variant
            parent.mkdir()
            out = parent / "out"
            before = None
            if variant == "kept":
                shutil.copytree(good.baseline, out)
                before = snapshot(out)
            pending.append((f"{case}/{variant}", prepared, out, before, sorted(os.listdir(parent))))
    with ThreadPoolExecutor(workers()) as pool:
        procs = list(pool.map(lambda p: build(p[1].config, p[1].data, p[2]), pending))
    return {
        key: Outcome(prepared, proc, out, before, siblings)
        for (key, prepared, out, before, siblings), proc in zip(pending, procs, strict=True)
    }


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize(("case", "variant"), RUNS)
def test_bad_input_is_refused_and_nothing_is_written(
    outcomes: dict[str, Outcome], case: str, variant: str
) -> None:
    o = outcomes[f"{case}/{variant}"]
    stderr = o.proc.stderr
    assert o.proc.returncode == 2, f"exit {o.proc.returncode}, stderr:\n{stderr}"
    assert "Traceback" not in stderr, stderr
    got = stderr.splitlines()
    if o.prepared.prefix is not None:
        assert len(got) == 1 and got[0].startswith(o.prepared.prefix), stderr
    else:
        assert got == o.prepared.expected
    assert o.proc.stdout == "", o.proc.stdout
    for path in o.prepared.forbidden:
        assert not path.exists(), f"{path} was created: a YAML tag ran a command"
    if o.prepared.secret is not None:
        assert o.prepared.secret not in stderr
    if o.before is None:
        assert not o.out.exists(), f"a refused build wrote {o.out}"
    else:
        assert snapshot(o.out) == o.before, "the earlier output was changed"
    assert sorted(os.listdir(o.out.parent)) == o.siblings_before, "files were left beside --out"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.nodes.append(data.strip())


def text_nodes(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.nodes


@pytest.fixture(scope="module")
def names_html(good: GoodBuilds) -> Iterator[str]:
    proc = good.names_proc
    assert proc.returncode == 0, f"exit {proc.returncode}, stderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    yield (good.names / "report.html").read_text(encoding="utf-8")


def test_funds_named_na_null_none_are_names_not_gaps(names_html: str, good: GoodBuilds) -> None:
    nodes = text_nodes(names_html)
    for ticker, name in NAMES.items():
        assert name in nodes, f"the fund named {name!r} ({ticker}) is not printed as its name"
    facts = json.loads((good.names / "facts.json").read_text(encoding="utf-8"))["facts"]
    for ticker in NAMES:
        assert facts[f"etf.{ticker}.aum"]["value"] is not None, ticker
        assert facts[f"etf.{ticker}.expense_ratio"]["value"] is not None, ticker


def test_an_unquoted_date_where_text_is_expected_is_that_text(names_html: str) -> None:
    text = " ".join(text_nodes(names_html))
    assert UNQUOTED_BYLINE in text, "the byline written as an unquoted date is missing"
    assert UNQUOTED_NOTE_TYPE in text, (
        "note_type written as an unquoted date (2025-07-05) is not printed in report.html"
    )
