"""Contract section 1: every rule, with the exact message a person reads.

Each test breaks one thing in an otherwise valid dataset (tests/dataset_factory.py)
and pins the whole problem line: file path, physical line, column, expected/found.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from reportgen.dataset import CSV_FILES, Dataset, load_dataset
from reportgen.errors import EXIT_BAD_INPUT, PROBLEM_CAP, InputError
from tests.dataset_factory import LABEL, csv_text, line_of, minimal_tables, write_dataset

# Row positions in minimal_tables(): instruments are AAA, BBB, BENCH, CCC, THEME; prices
# hold 35 weekdays per ticker in that order; flows/aum/spreads the ETFs AAA, BBB, CCC.
DAYS = 35
AAA, BBB, BENCH, CCC, THEME = range(5)


def problems(folder: Path) -> list[str]:
    """The lines of the InputError that loading ``folder`` must raise."""
    with pytest.raises(InputError) as info:
        load_dataset(folder)
    assert info.value.exit_code == EXIT_BAD_INPUT
    return info.value.lines()


def only_problem(folder: Path) -> str:
    lines = problems(folder)
    assert len(lines) == 1, lines
    return lines[0]


def broken(tmp_path: Path, stem: str, index: int, column: str, value: str) -> str:
    """The one problem of a valid dataset with one cell replaced."""
    tables = minimal_tables()
    tables[stem][index][column] = value
    return only_problem(write_dataset(tmp_path, tables))


def at(tmp_path: Path, stem: str, line: int | None = None) -> str:
    """The location prefix of a problem: ``PATH`` or ``PATH:LINE``."""
    path = str(tmp_path / (f"{stem}.csv" if stem in CSV_FILES else stem))
    return path if line is None else f"{path}:{line}"


def first_row(tables: dict[str, Any], stem: str, **match: str) -> int:
    rows = tables[stem]
    return next(i for i, row in enumerate(rows) if all(row[k] == v for k, v in match.items()))


# --------------------------------------------------------------------------- a valid dataset


def test_valid_dataset_loads_with_documented_dtypes_and_orders(tmp_path: Path) -> None:
    tables = minimal_tables()
    for stem in ("instruments", "prices", "holdings"):
        tables[stem].reverse()  # the loader sorts; the file order must not matter
    ds = load_dataset(write_dataset(tmp_path, tables))

    assert isinstance(ds, Dataset)
    assert ds.path == tmp_path
    assert ds.label == LABEL
    assert ds.sources == {stem: f"Test publisher of {stem}" for stem in CSV_FILES}
    assert ds.files == {
        **{stem: tmp_path / f"{stem}.csv" for stem in CSV_FILES},
        "sources": tmp_path / "sources.yaml",
    }
    ns, text, real = np.dtype("datetime64[ns]"), np.dtype(object), np.dtype(np.float64)
    expected = {
        "instruments": {
            "ticker": text,
            "name": text,
            "kind": text,
            "role": text,
            "issuer": text,
            "expense_ratio": real,
            "inception_date": ns,
        },
        "prices": {"date": ns, "ticker": text, "close": real, "volume": real},
        "flows": {"date": ns, "ticker": text, "net_flow_usd": real},
        "aum": {"date": ns, "ticker": text, "aum_usd": real},
        "spreads": {"date": ns, "ticker": text, "spread_bps": real},
        "holdings": {
            "as_of": ns,
            "fund": text,
            "security": text,
            "name": text,
            "weight": real,
            "sector": text,
            "bucket": text,
        },
    }
    for stem, dtypes in expected.items():
        frame: pd.DataFrame = getattr(ds, stem)
        assert frame.dtypes.to_dict() == dtypes, stem
        assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0, stem
        assert len(frame) == len(tables[stem]), stem

    inst = ds.instruments
    assert inst["ticker"].tolist() == ["AAA", "BBB", "BENCH", "CCC", "THEME"]
    assert all(type(t) is str for t in inst["ticker"])
    bench = inst.loc[inst["ticker"] == "BENCH"].iloc[0]
    assert bench["issuer"] is None
    assert np.isnan(bench["expense_ratio"]) and pd.isna(bench["inception_date"])
    assert inst.loc[0, "expense_ratio"] == 0.0045
    assert inst.loc[0, "inception_date"] == pd.Timestamp("2019-03-01")

    for stem in ("prices", "flows", "aum", "spreads"):
        frame = getattr(ds, stem)
        keys = list(zip(frame["ticker"], frame["date"], strict=True))
        assert keys == sorted(keys), stem
    prices = ds.prices
    assert prices["volume"][prices["ticker"] == "BENCH"].isna().all()
    assert prices["volume"][prices["ticker"] == "AAA"].notna().all()
    assert (prices["date"] == prices["date"].dt.normalize()).all()

    holdings = ds.holdings
    keys = list(zip(holdings["fund"], holdings["as_of"], holdings["security"], strict=True))
    assert keys == sorted(keys)
    assert holdings.loc[0, "security"] == "CRM"


def test_up_to_drops_later_rows(tmp_path: Path) -> None:
    ds = load_dataset(write_dataset(tmp_path))
    cut = ds.up_to(date(2025, 12, 31))
    limit = pd.Timestamp("2025-12-31")
    for stem, column in (
        ("prices", "date"),
        ("flows", "date"),
        ("aum", "date"),
        ("spreads", "date"),
        ("holdings", "as_of"),
    ):
        before: pd.DataFrame = getattr(ds, stem)
        after: pd.DataFrame = getattr(cut, stem)
        assert after[column].max() == limit, stem
        assert len(after) == (before[column] <= limit).sum() < len(before), stem
        assert isinstance(after.index, pd.RangeIndex), stem
    assert cut.instruments is ds.instruments


def test_extra_columns_are_ignored_and_column_order_is_free(tmp_path: Path) -> None:
    tables = minimal_tables()
    for row in tables["prices"]:
        row["comment"] = "not = a number, 1,234"
    columns = {"prices": ["volume", "comment", "close", "ticker", "date"]}
    ds = load_dataset(write_dataset(tmp_path, tables, columns=columns))
    assert list(ds.prices.columns) == ["date", "ticker", "close", "volume"]


def test_crlf_line_endings_are_accepted(tmp_path: Path) -> None:
    tables = minimal_tables()
    texts = {
        stem: csv_text(tables[stem], list(tables[stem][0])).replace("\n", "\r\n")
        for stem in CSV_FILES
    }
    ds = load_dataset(write_dataset(tmp_path, tables, text=texts))
    assert ds.instruments["ticker"].tolist() == ["AAA", "BBB", "BENCH", "CCC", "THEME"]
    assert len(ds.prices) == len(tables["prices"])


def test_crlf_keeps_physical_line_numbers(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["prices"][4]["close"] = "x"
    text = csv_text(tables["prices"], list(tables["prices"][0])).replace("\n", "\r\n")
    assert only_problem(write_dataset(tmp_path, tables, text={"prices": text})) == (
        f"{at(tmp_path, 'prices', 6)}: column close: expected a number such as 12.5 or 1e-4, "
        'found "x"'
    )


def test_a_missing_final_newline_is_fine(tmp_path: Path) -> None:
    tables = minimal_tables()
    text = csv_text(tables["aum"], list(tables["aum"][0])).rstrip("\n")
    assert len(load_dataset(write_dataset(tmp_path, tables, text={"aum": text})).aum) == 3 * DAYS


def test_na_null_none_are_names_and_tickers_stay_text(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["instruments"].append(
        {
            "ticker": "007",
            "name": "NA",
            "kind": "etf",
            "role": "theme",
            "issuer": "None",
            "expense_ratio": "0.001",
            "inception_date": "",
        }
    )
    tables["instruments"].append({**tables["instruments"][-1], "ticker": "NA", "name": "NULL"})
    tables["prices"].append({"date": "2026-01-05", "ticker": "007", "close": "1", "volume": "0"})
    tables["holdings"].append(
        {
            "as_of": "2026-01-30",
            "fund": "NA",
            "security": "None",
            "name": "NULL",
            "weight": "0.5",
            "sector": "N/A",
            "bucket": "platform",
        }
    )
    ds = load_dataset(write_dataset(tmp_path, tables))
    inst = ds.instruments.set_index("ticker")
    assert inst.loc["007", "name"] == "NA"
    assert inst.loc["007", "issuer"] == "None"
    assert inst.loc["NA", "name"] == "NULL"
    assert ds.prices["ticker"].tolist().count("007") == 1
    row = ds.holdings.loc[ds.holdings["fund"] == "NA"].iloc[0]
    assert (row["security"], row["name"], row["sector"]) == ("None", "NULL", "N/A")


# --------------------------------------------------------------------------- files and headers


@pytest.mark.parametrize("stem", CSV_FILES)
def test_missing_csv_file(tmp_path: Path, stem: str) -> None:
    folder = write_dataset(tmp_path, omit=[stem])
    expected = f"{at(tmp_path, stem)}: expected the file {stem}.csv, found none"
    if stem == "instruments":  # the other files cannot be checked against it: no cascade
        assert problems(folder) == [expected]
    else:
        assert only_problem(folder) == expected


def test_missing_sources_file(tmp_path: Path) -> None:
    assert only_problem(write_dataset(tmp_path, omit=["sources"])) == (
        f"{at(tmp_path, 'sources.yaml')}: expected the file sources.yaml naming each file's "
        "source, found none"
    )


def test_folder_that_is_not_there(tmp_path: Path) -> None:
    assert only_problem(tmp_path / "nope") == (
        f"{tmp_path / 'nope'}: expected a dataset folder, found nothing there"
    )


def test_folder_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "data.csv"
    target.write_text("x\n")
    assert only_problem(target) == f"{target}: expected a dataset folder, found a file"


def test_path_is_kept_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dataset(tmp_path / "data", omit=["spreads"])
    monkeypatch.chdir(tmp_path)
    assert (
        only_problem(Path("data")) == "data/spreads.csv: expected the file spreads.csv, found none"
    )


def test_missing_column(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path, columns={"aum": ["date", "ticker"]})
    assert only_problem(folder) == (
        f"{at(tmp_path, 'aum', 1)}: column aum_usd: expected a column named aum_usd, found none"
    )


def test_column_names_are_case_sensitive(tmp_path: Path) -> None:
    text = "date,ticker,Close,volume\n2026-01-05,AAA,1,1\n"
    assert only_problem(write_dataset(tmp_path, text={"prices": text})) == (
        f"{at(tmp_path, 'prices', 1)}: column close: expected a column named close, found none "
        '(there is "Close"; names are exact)'
    )


def test_broken_instruments_header_skips_the_checks_against_it(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["prices"][0]["ticker"] = "XYZ"  # not reported: there is no readable list to check
    columns = {
        "instruments": ["ticker", "name", "role", "issuer", "expense_ratio", "inception_date"]
    }
    assert only_problem(write_dataset(tmp_path, tables, columns=columns)) == (
        f"{at(tmp_path, 'instruments', 1)}: column kind: expected a column named kind, found none"
    )


def test_malformed_header_line_is_reported_once(tmp_path: Path) -> None:
    assert only_problem(write_dataset(tmp_path, text={"aum": '"date,ticker,aum_usd\n'})) == (
        f'{at(tmp_path, "aum", 1)}: expected a closing quote ("), found the end of the file'
    )


def test_duplicate_column_name(tmp_path: Path) -> None:
    text = "date,ticker,net_flow_usd,ticker\n"
    assert only_problem(write_dataset(tmp_path, text={"flows": text})) == (
        f"{at(tmp_path, 'flows', 1)}: column ticker: expected each column name once, "
        'found "ticker" 2 times'
    )


def test_empty_file(tmp_path: Path) -> None:
    assert only_problem(write_dataset(tmp_path, text={"spreads": ""})) == (
        f"{at(tmp_path, 'spreads', 1)}: expected a header row (date, ticker, spread_bps), "
        "found an empty file"
    )


def test_header_only_file_is_an_empty_table(tmp_path: Path) -> None:
    ds = load_dataset(
        write_dataset(
            tmp_path, text={"holdings": "as_of,fund,security,name,weight,sector,bucket\n"}
        )
    )
    assert ds.holdings.empty
    assert ds.holdings["as_of"].dtype == np.dtype("datetime64[ns]")


# --------------------------------------------------------------------------- rows and lines


def test_row_with_too_many_fields(tmp_path: Path) -> None:
    text = "date,ticker,aum_usd\n2026-01-05,AAA,1\n2026-01-06,AAA,1,000\n"
    assert only_problem(write_dataset(tmp_path, text={"aum": text})) == (
        f"{at(tmp_path, 'aum', 3)}: expected 3 fields as in the header, found 4 "
        "(quote values that contain a comma)"
    )


def test_row_with_too_few_fields(tmp_path: Path) -> None:
    text = "date,ticker,aum_usd\n2026-01-05,AAA\n"
    assert only_problem(write_dataset(tmp_path, text={"aum": text})) == (
        f"{at(tmp_path, 'aum', 2)}: expected 3 fields as in the header, found 2"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("date,ticker,aum_usd\n2026-01-05,AAA,1\n\n2026-01-06,AAA,1\n", 3),
        ("date,ticker,aum_usd\n2026-01-05,AAA,1\n   \n", 3),
        ("date,ticker,aum_usd\n2026-01-05,AAA,1\n\n", 3),
        ("date,ticker,aum_usd\r\n2026-01-05,AAA,1\r\n\r\n", 3),
    ],
    ids=["middle", "whitespace-only", "second-final-newline", "crlf"],
)
def test_blank_line(tmp_path: Path, text: str, line: int) -> None:
    assert only_problem(write_dataset(tmp_path, text={"aum": text})) == (
        f"{at(tmp_path, 'aum', line)}: expected a row of values, found a blank line"
    )


def test_blank_first_line(tmp_path: Path) -> None:
    text = "\ndate,ticker,aum_usd\n"
    assert only_problem(write_dataset(tmp_path, text={"aum": text})) == (
        f"{at(tmp_path, 'aum', 1)}: expected a header row (date, ticker, aum_usd), "
        "found a blank line"
    )


def test_quoted_newline_keeps_physical_line_numbers(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["instruments"][AAA]["name"] = "Alpha\nAI ETF"  # rows 2-3
    tables["instruments"][BENCH]["kind"] = "fund"  # third row: line 4 + 1
    lines = problems(write_dataset(tmp_path, tables))
    assert lines[0] == (
        f'{at(tmp_path, "instruments", 5)}: column kind: expected etf or index, found "fund"'
    )


def test_row_spanning_lines_is_reported_on_its_first_line(tmp_path: Path) -> None:
    text = 'ticker,name,kind,role,issuer,expense_ratio,inception_date\nX,"a\nb",etf,theme,I,0.1x,\n'
    folder = write_dataset(tmp_path, text={"instruments": text})
    assert (
        f"{at(tmp_path, 'instruments', 2)}: column expense_ratio: expected a number such as "
        '12.5 or 1e-4, found "0.1x"'
    ) in problems(folder)


def test_byte_order_mark_at_start_is_refused(tmp_path: Path) -> None:
    tables = minimal_tables()
    text = "\ufeff" + csv_text(tables["flows"], list(tables["flows"][0]))
    assert only_problem(write_dataset(tmp_path, tables, text={"flows": text})) == (
        f"{at(tmp_path, 'flows', 1)}: expected UTF-8 without a byte-order mark, "
        "found one at the start"
    )


def test_byte_order_mark_in_the_middle_is_refused(tmp_path: Path) -> None:
    text = "date,ticker,net_flow_usd\n2026-01-05,AAA,1\n2026-01-06,\ufeffAAA,1\n"
    assert only_problem(write_dataset(tmp_path, text={"flows": text})) == (
        f"{at(tmp_path, 'flows', 3)}: expected no byte-order mark inside the file, found one"
    )


def test_invalid_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    text = b"date,ticker,net_flow_usd\n2026-01-05,AAA,1\n2026-01-06,AAA,1\xe9\n"
    lines = problems(write_dataset(tmp_path, text={"flows": text}))
    assert lines[0] == f"{at(tmp_path, 'flows', 3)}: expected UTF-8 text, found the byte 0xE9"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            'date,ticker,aum_usd\n2026-01-05,AAA,"1\n',
            2,
            'expected a closing quote ("), found the end of the file',
        ),
        (
            'date,ticker,aum_usd\n2026-01-05,"AAA"B,1\n',
            2,
            "expected a comma or the end of the line after a closing quote, found more text",
        ),
        (
            "date,ticker,aum_usd\n2026-01-05,AAA,1\r2026-01-06,AAA,1\n",
            2,
            "expected lines ending in LF or CRLF, found a lone carriage return (CR)",
        ),
    ],
    ids=["unclosed-quote", "text-after-quote", "lone-cr"],
)
def test_malformed_csv(tmp_path: Path, text: str, line: int, message: str) -> None:
    assert only_problem(write_dataset(tmp_path, text={"aum": text})) == (
        f"{at(tmp_path, 'aum', line)}: {message}"
    )


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31/03/2026", 'expected a date as YYYY-MM-DD, found "31/03/2026"'),
        ("2026-3-31", 'expected a date as YYYY-MM-DD, found "2026-3-31"'),
        ("2026-03-31T00:00", 'expected a date as YYYY-MM-DD, found "2026-03-31T00:00"'),
        ("20260331", 'expected a date as YYYY-MM-DD, found "20260331"'),
        ("2026-02-30", 'expected a real calendar date as YYYY-MM-DD, found "2026-02-30"'),
        ("", "expected a date as YYYY-MM-DD, found an empty value"),
        (" 2026-01-05", 'expected a value without spaces around it, found " 2026-01-05"'),
        ("0001-01-01", 'expected a date from 1678-01-01 to 2261-12-31, found "0001-01-01"'),
    ],
)
def test_unparseable_date(tmp_path: Path, value: str, message: str) -> None:
    assert broken(tmp_path, "spreads", 3, "date", value) == (
        f"{at(tmp_path, 'spreads', line_of(3))}: column date: {message}"
    )


def test_unparseable_inception_date(tmp_path: Path) -> None:
    assert broken(tmp_path, "instruments", BBB, "inception_date", "2020/01/01") == (
        f"{at(tmp_path, 'instruments', 3)}: column inception_date: expected a date as "
        'YYYY-MM-DD, found "2020/01/01"'
    )


NUMBER = "expected a number such as 12.5 or 1e-4, found"
SEPARATORS = "('.' is the decimal mark; no thousands separators)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("7.0x", f'{NUMBER} "7.0x"'),
        ("1,234", f'{NUMBER} "1,234" {SEPARATORS}'),
        ("1 234", f'{NUMBER} "1 234" {SEPARATORS}'),
        ("0,5", f'{NUMBER} "0,5" {SEPARATORS}'),
        ("nan", f'{NUMBER} "nan"'),
        ("NaN", f'{NUMBER} "NaN"'),
        ("inf", f'{NUMBER} "inf"'),
        ("-Infinity", f'{NUMBER} "-Infinity"'),
        ("1_000", f'{NUMBER} "1_000"'),
        ("0x10", f'{NUMBER} "0x10"'),
        (".5", f'{NUMBER} ".5"'),
        ("5.", f'{NUMBER} "5."'),
        ("1e999", 'expected a finite number, found "1e999"'),
        ("", "expected a number, found an empty value"),
        (" 12.5", 'expected a value without spaces around it, found " 12.5"'),
        ("12.5\t", 'expected a value without spaces around it, found "12.5\\t"'),
    ],
)
def test_unparseable_number(tmp_path: Path, value: str, message: str) -> None:
    assert broken(tmp_path, "flows", 7, "net_flow_usd", value) == (
        f"{at(tmp_path, 'flows', line_of(7))}: column net_flow_usd: {message}"
    )


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("12.5", 12.5), ("-3", -3.0), ("+4", 4.0), ("1e-4", 1e-4), ("2.5E6", 2.5e6), ("-0.0", 0.0)],
)
def test_plain_decimals_and_exponents_are_numbers(
    tmp_path: Path, value: str, parsed: float
) -> None:
    tables = minimal_tables()
    tables["flows"][0]["net_flow_usd"] = value
    assert load_dataset(write_dataset(tmp_path, tables)).flows.loc[0, "net_flow_usd"] == parsed


@pytest.mark.parametrize("value", ["1200.5", "-1", "1200.0", "1e3", "1,200", "abc"])
def test_volume_is_a_whole_number(tmp_path: Path, value: str) -> None:
    assert broken(tmp_path, "prices", 2, "volume", value) == (
        f"{at(tmp_path, 'prices', line_of(2))}: column volume: expected a whole number of "
        f'shares >= 0, found "{value}"'
    )


def test_volume_zero_is_fine(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["prices"][2]["volume"] = "0"
    assert load_dataset(write_dataset(tmp_path, tables)).prices.loc[2, "volume"] == 0.0


@pytest.mark.parametrize(
    ("stem", "column", "value", "message"),
    [
        ("prices", "close", "0", 'expected a number > 0, found "0"'),
        ("prices", "close", "-1.5", 'expected a number > 0, found "-1.5"'),
        ("aum", "aum_usd", "0", 'expected a number > 0, found "0"'),
        ("spreads", "spread_bps", "-0.1", 'expected a number >= 0, found "-0.1"'),
        ("holdings", "weight", "1.5", 'expected a weight from 0 to 1, found "1.5"'),
        ("holdings", "weight", "-0.01", 'expected a weight from 0 to 1, found "-0.01"'),
    ],
)
def test_value_out_of_range(
    tmp_path: Path, stem: str, column: str, value: str, message: str
) -> None:
    assert broken(tmp_path, stem, 1, column, value) == (
        f"{at(tmp_path, stem, line_of(1))}: column {column}: {message}"
    )


def test_range_edges_are_fine(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["spreads"][0]["spread_bps"] = "0"
    tables["holdings"][0]["weight"] = "0"
    tables["instruments"][AAA]["expense_ratio"] = "0"
    load_dataset(write_dataset(tmp_path, tables))


def test_expense_ratio_is_a_fraction(tmp_path: Path) -> None:
    assert broken(tmp_path, "instruments", CCC, "expense_ratio", "3") == (
        f"{at(tmp_path, 'instruments', 5)}: column expense_ratio: expected a fraction from 0 to 1, "
        'found "3"'
    )


@pytest.mark.parametrize(
    ("stem", "index", "column"),
    [
        ("instruments", AAA, "name"),
        ("instruments", AAA, "ticker"),
        ("prices", 0, "ticker"),
        ("holdings", 0, "security"),
        ("holdings", 0, "name"),
        ("holdings", 0, "sector"),
    ],
)
def test_required_text(tmp_path: Path, stem: str, index: int, column: str) -> None:
    tables = minimal_tables()
    tables[stem][index][column] = ""
    lines = problems(write_dataset(tmp_path, tables))
    assert lines[0] == (
        f"{at(tmp_path, stem, line_of(index))}: column {column}: expected a value, "
        "found an empty value"
    )


def test_text_with_spaces_around_is_refused(tmp_path: Path) -> None:
    assert broken(tmp_path, "holdings", 2, "sector", "Software ") == (
        f"{at(tmp_path, 'holdings', 4)}: column sector: expected a value without spaces around "
        'it, found "Software "'
    )


@pytest.mark.parametrize(
    ("stem", "index", "column", "value", "message"),
    [
        ("instruments", AAA, "kind", "ETF", 'expected etf or index, found "ETF"'),
        ("instruments", AAA, "role", "core", 'expected theme or benchmark, found "core"'),
        (
            "holdings",
            3,
            "bucket",
            "hardware",
            'expected infrastructure, platform or application, found "hardware"',
        ),
    ],
)
def test_enums(
    tmp_path: Path, stem: str, index: int, column: str, value: str, message: str
) -> None:
    tables = minimal_tables()
    tables[stem][index][column] = value
    lines = problems(write_dataset(tmp_path, tables))
    assert lines[0] == f"{at(tmp_path, stem, line_of(index))}: column {column}: {message}"


# --------------------------------------------------------------------------- keys


def test_duplicate_ticker_in_instruments(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["instruments"].append(dict(tables["instruments"][BBB]))
    assert only_problem(write_dataset(tmp_path, tables)) == (
        f"{at(tmp_path, 'instruments', 7)}: column ticker: expected each ticker once, "
        'found "BBB" again (first on line 3)'
    )


@pytest.mark.parametrize("stem", ["prices", "flows", "aum", "spreads"])
def test_duplicate_date_and_ticker(tmp_path: Path, stem: str) -> None:
    tables = minimal_tables()
    tables[stem].append(dict(tables[stem][4]))
    end = line_of(len(tables[stem]) - 1)
    assert only_problem(write_dataset(tmp_path, tables)) == (
        f"{at(tmp_path, stem, end)}: expected one row per (date, ticker), found a second row "
        f"for 2025-12-19, AAA (first on line {line_of(4)})"
    )


def test_duplicate_holding(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["holdings"].append({**tables["holdings"][1], "weight": "0.01"})
    assert only_problem(write_dataset(tmp_path, tables)) == (
        f"{at(tmp_path, 'holdings', 10)}: expected one row per (as_of, fund, security), found a "
        "second row for 2025-12-31, AAA, MSFT (first on line 3)"
    )


# --------------------------------------------------------------------------- across files


def test_unknown_ticker_is_reported_once_per_file_with_its_lines(tmp_path: Path) -> None:
    tables = minimal_tables()
    for i in range(3, 12):
        tables["prices"][i]["ticker"] = "XYZ"
    tables["aum"][0]["ticker"] = "XYZ"
    assert problems(write_dataset(tmp_path, tables)) == [
        f"{at(tmp_path, 'prices', 5)}: column ticker: expected a ticker listed in instruments.csv, "
        'found "XYZ" (also on lines 6, 7, 8, 9, 10 and 3 more)',
        f"{at(tmp_path, 'aum', 2)}: column ticker: expected a ticker listed in instruments.csv, "
        'found "XYZ"',
    ]


@pytest.mark.parametrize(
    ("stem", "column"), [("flows", "net_flow_usd"), ("aum", "aum_usd"), ("spreads", "spread_bps")]
)
def test_etf_only_file_refuses_an_index(tmp_path: Path, stem: str, column: str) -> None:
    tables = minimal_tables()
    tables[stem].append({"date": "2026-01-05", "ticker": "THEME", column: "1"})
    tables[stem].append({"date": "2026-01-06", "ticker": "THEME", column: "1"})
    n = len(tables[stem])
    assert only_problem(write_dataset(tmp_path, tables)) == (
        f"{at(tmp_path, stem, n)}: column ticker: expected an ETF ({stem}.csv holds ETF data "
        f'only), found the index "THEME" (also on line {n + 1})'
    )


def test_holdings_fund_must_be_an_etf(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["holdings"][0]["fund"] = "BENCH"
    tables["holdings"][5]["fund"] = "ZZZ"
    assert problems(write_dataset(tmp_path, tables)) == [
        f"{at(tmp_path, 'holdings', 2)}: column fund: expected an ETF ticker as the fund, "
        'found the index "BENCH"',
        f"{at(tmp_path, 'holdings', 7)}: column fund: expected a ticker listed in "
        'instruments.csv, found "ZZZ"',
    ]


def test_volume_required_for_etfs(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["prices"][5]["volume"] = ""
    tables["prices"][9]["volume"] = ""
    assert only_problem(write_dataset(tmp_path, tables)) == (
        f"{at(tmp_path, 'prices', 7)}: column volume: expected the day's volume of the ETF "
        '"AAA", found an empty value (also on line 11)'
    )


def test_volume_empty_for_indexes(tmp_path: Path) -> None:
    tables = minimal_tables()
    index = first_row(tables, "prices", ticker="THEME")
    tables["prices"][index]["volume"] = "1200"
    assert only_problem(write_dataset(tmp_path, tables)) == (
        f"{at(tmp_path, 'prices', line_of(index))}: column volume: expected an empty value for "
        'the index "THEME", found "1200"'
    )


def test_expense_ratio_required_for_etfs_and_empty_for_indexes(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["instruments"][BBB]["expense_ratio"] = ""
    tables["instruments"][THEME]["expense_ratio"] = "1e-3"
    assert problems(write_dataset(tmp_path, tables)) == [
        f"{at(tmp_path, 'instruments', 3)}: column expense_ratio: expected the ETF's expense "
        "ratio, found an empty value",
        f"{at(tmp_path, 'instruments', 6)}: column expense_ratio: expected an empty value for an "
        'index, found "1e-3"',
    ]


def test_issuer_empty_for_indexes_and_required_for_etfs(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["instruments"][BENCH]["issuer"] = "S&P"
    tables["instruments"][CCC]["issuer"] = ""
    assert problems(write_dataset(tmp_path, tables)) == [
        f"{at(tmp_path, 'instruments', 4)}: column issuer: expected an empty value for an "
        'index, found "S&P"',
        f"{at(tmp_path, 'instruments', 5)}: column issuer: expected the ETF's issuer, "
        "found an empty value",
    ]


def test_exactly_one_theme_index(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["instruments"][BENCH]["role"] = "theme"
    assert problems(write_dataset(tmp_path, tables)) == [
        f"{at(tmp_path, 'instruments')}: expected exactly one index with role benchmark, "
        "found none",
        f"{at(tmp_path, 'instruments', 6)}: column role: expected exactly one index with role "
        "theme, found another (first on line 4)",
    ]


def test_at_least_one_theme_etf(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["instruments"][AAA]["role"] = "benchmark"
    tables["instruments"][BBB]["role"] = "benchmark"
    assert only_problem(write_dataset(tmp_path, tables)) == (
        f"{at(tmp_path, 'instruments')}: expected at least one ETF with role theme, found none"
    )


def test_weights_of_a_fund_on_one_date_sum_to_at_most_one(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["holdings"][6]["weight"] = "0.8"  # 2026-01-30: 0.12 + 0.10 + 0.8 + 0.08
    assert only_problem(write_dataset(tmp_path, tables)) == (
        f'{at(tmp_path, "holdings", 6)}: column weight: expected the weights of "AAA" on '
        "2026-01-30 to sum to at most 1, found 1.1"
    )


def test_weights_may_sum_to_one_within_tolerance(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["holdings"][4]["weight"] = "0.7000005"  # sum 1.0000005
    load_dataset(write_dataset(tmp_path, tables))


# --------------------------------------------------------------------------- sources.yaml

SOURCES_OK = "".join(f"{stem}: {{source: Pub}}\n" for stem in CSV_FILES)


def test_label_is_optional(tmp_path: Path) -> None:
    ds = load_dataset(write_dataset(tmp_path, text={"sources": SOURCES_OK}))
    assert ds.label is None
    assert ds.sources == dict.fromkeys(CSV_FILES, "Pub")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            SOURCES_OK + "label: [a\n",
            ":8:1: expected valid YAML, found an error: "
            "expected ',' or ']', but got '<stream end>'",
        ),
        ("", ": expected a mapping with a source for each file, found an empty file"),
        ("- prices\n", ":1:1: expected a mapping with a source for each file, found a list"),
        (
            SOURCES_OK.replace("prices: {source: Pub}\n", ""),
            ': expected an entry prices: {source: "..."}, found none',
        ),
        (
            SOURCES_OK.replace("{source: Pub}", "Pub", 1),
            ':1:14: expected {source: "<who published it>"}, found "Pub"',
        ),
        (
            SOURCES_OK.replace("{source: Pub}", "{url: x}", 1),
            ":1:14: expected a source for instruments, found none",
        ),
        (
            SOURCES_OK.replace("source: Pub", "source: 12", 1),
            ":1:23: expected the source as text, found the number 12",
        ),
        (
            SOURCES_OK.replace("source: Pub", "source: ''", 1),
            ":1:23: expected the source as text, found an empty value",
        ),
        (SOURCES_OK + "label: 3\n", ":7:8: expected the label as text, found the number 3"),
        (SOURCES_OK + "label: yes\n", ":7:8: expected the label as text, found the boolean yes"),
        (
            SOURCES_OK + "lable: Sample\n",
            ":7:1: expected one of instruments, prices, flows, aum, spreads, holdings, label, "
            'found "lable"',
        ),
        (
            SOURCES_OK + "aum: {source: Again}\n",
            ":7:1: expected aum once, found it again (first on line 4)",
        ),
    ],
    ids=[
        "syntax",
        "empty",
        "list",
        "missing-stem",
        "not-a-mapping",
        "no-source",
        "source-number",
        "source-empty",
        "label-number",
        "label-boolean",
        "unknown-key",
        "duplicate-key",
    ],
)
def test_sources_yaml(tmp_path: Path, text: str, message: str) -> None:
    assert only_problem(write_dataset(tmp_path, text={"sources": text})) == (
        at(tmp_path, "sources.yaml") + message
    )


def test_sources_yaml_missing_every_stem_in_an_empty_mapping(tmp_path: Path) -> None:
    lines = problems(write_dataset(tmp_path, text={"sources": "{}\n"}))
    assert lines == [
        f'{at(tmp_path, "sources.yaml")}: expected an entry {stem}: {{source: "..."}}, found none'
        for stem in CSV_FILES
    ]


# --------------------------------------------------------------------------- all at once


def test_all_problems_of_all_files_are_reported_at_once_in_file_order(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["holdings"][0]["bucket"] = "other"
    tables["spreads"][2]["date"] = "2026-1-1"
    tables["prices"][9]["close"] = "abc"
    tables["prices"][3]["close"] = "-1"
    tables["instruments"][CCC]["kind"] = "stock"
    tables["sources"]["label"] = 5
    lines = problems(write_dataset(tmp_path, tables))
    assert lines == [
        f'{at(tmp_path, "instruments", 5)}: column kind: expected etf or index, found "stock"',
        f'{at(tmp_path, "prices", 5)}: column close: expected a number > 0, found "-1"',
        f'{at(tmp_path, "prices", 11)}: column close: {NUMBER} "abc"',
        f"{at(tmp_path, 'spreads', 4)}: column date: expected a date as YYYY-MM-DD, "
        'found "2026-1-1"',
        f"{at(tmp_path, 'holdings', 2)}: column bucket: expected infrastructure, platform or "
        'application, found "other"',
        f"{at(tmp_path, 'sources.yaml')}:1:8: expected the label as text, found the number 5",
    ]


def test_problems_are_capped_and_counted(tmp_path: Path) -> None:
    tables = minimal_tables()
    for row in tables["prices"]:
        row["close"] = "n/a"
    for row in tables["flows"]:
        row["net_flow_usd"] = "n/a"
    tables["instruments"][AAA]["name"] = ""
    with pytest.raises(InputError) as info:
        load_dataset(write_dataset(tmp_path, tables))
    error = info.value
    total = len(tables["prices"]) + len(tables["flows"]) + 1
    assert total > PROBLEM_CAP
    assert error.total == total
    assert len(error.problems) == PROBLEM_CAP
    lines = error.lines()
    assert len(lines) == PROBLEM_CAP + 1
    assert lines[0].startswith(f"{at(tmp_path, 'instruments', 2)}: column name:")
    assert lines[1] == f'{at(tmp_path, "prices", 2)}: column close: {NUMBER} "n/a"'
    last_price = len(tables["prices"])  # problems 2..176 are the prices rows, then flows
    assert lines[last_price].startswith(f"{at(tmp_path, 'prices', line_of(last_price - 1))}:")
    assert lines[last_price + 1].startswith(f"{at(tmp_path, 'flows', 2)}:")
    flows_shown = PROBLEM_CAP - last_price - 1
    assert lines[PROBLEM_CAP - 1].startswith(f"{at(tmp_path, 'flows', flows_shown + 1)}:")
    assert lines[-1] == f"... and {total - PROBLEM_CAP} more problem(s) not shown"


def test_a_misfielded_instrument_row_does_not_make_its_ticker_unknown(tmp_path: Path) -> None:
    tables = minimal_tables()
    text = csv_text(tables["instruments"], list(tables["instruments"][0]))
    text = text.replace("BBB,Beta Robotics ETF", "BBB,Beta, Robotics ETF")
    assert only_problem(write_dataset(tmp_path, tables, text={"instruments": text})) == (
        f"{at(tmp_path, 'instruments', 3)}: expected 7 fields as in the header, found 8 "
        "(quote values that contain a comma)"
    )
