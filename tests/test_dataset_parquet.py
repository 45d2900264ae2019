"""Contract files given as Parquet: the same rules, messages and frames as from CSV.

Datasets are converted here with pyarrow's own CSV reader, independently of
reportgen: "text" keeps every cell as the exact string written (so every message
must equal the CSV one, line for line), "inferred" lets pyarrow pick the types a
person converting a CSV would get (date32, int64, double, string), and "frames"
writes what ``load_dataset`` returned for the CSV (timestamp[ns], double, string).
Typed problems (NaN, a null, a time of day, a column of the wrong type) are
checked against lines written out here by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from reportgen import dataset_parquet
from reportgen.dataset import CSV_FILES, Dataset, load_dataset
from reportgen.errors import EXIT_BAD_INPUT, PROBLEM_CAP, InputError
from tests.cli_runner import run_reportgen, snapshot
from tests.dataset_factory import Tables, minimal_tables, write_dataset

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
CONFIG = ROOT / "config" / "ai_etf_monthly.yaml"
GENERATOR = ROOT / "scripts" / "make_large_dataset.py"
AS_OF = "2026-03-31"
TIMEOUT = 300

# Row positions in minimal_tables(): instruments AAA, BBB, BENCH, CCC, THEME; prices hold
# 35 weekdays per ticker in that order; flows/aum/spreads the ETFs AAA, BBB, CCC.
DAYS = 35
AAA, BBB, BENCH, CCC, THEME = range(5)


# --------------------------------------------------------------------------- helpers


def read_csv(path: Path, mode: str) -> pa.Table:
    """A contract CSV read by pyarrow: every column as text ("text") or with inferred types."""
    if mode == "text":
        header = path.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
        options = pa_csv.ConvertOptions(column_types={name: pa.string() for name in header})
        return pa_csv.read_csv(path, convert_options=options)
    return pa_csv.read_csv(path)


def convert(csv_folder: Path, out: Path, mode: str, stems: tuple[str, ...] = CSV_FILES) -> Path:
    """A copy of a CSV dataset with ``stems`` as Parquet (``mode``: text, inferred or frames)."""
    out.mkdir(parents=True)
    shutil.copy(csv_folder / "sources.yaml", out / "sources.yaml")
    loaded = load_dataset(csv_folder) if mode == "frames" else None
    for stem in CSV_FILES:
        source = csv_folder / f"{stem}.csv"
        if stem not in stems:
            shutil.copy(source, out / source.name)
        elif loaded is not None:
            frame = getattr(loaded, stem)
            pq.write_table(
                pa.Table.from_pandas(frame, preserve_index=False), out / f"{stem}.parquet"
            )
        else:
            pq.write_table(read_csv(source, mode), out / f"{stem}.parquet")
    return out


def assert_same_frames(a: Dataset, b: Dataset) -> None:
    for stem in CSV_FILES:
        pd.testing.assert_frame_equal(getattr(a, stem), getattr(b, stem), check_exact=True)
    assert (a.sources, a.label) == (b.sources, b.label)


def problems(folder: Path) -> list[str]:
    """The lines of the InputError that loading ``folder`` must raise."""
    with pytest.raises(InputError) as info:
        load_dataset(folder)
    assert info.value.exit_code == EXIT_BAD_INPUT
    return info.value.lines()


def edit(table: pa.Table, column: str, changes: dict[int, Any], kind: Any = None) -> pa.Table:
    """``table`` with some cells of ``column`` replaced (and the column cast to ``kind``)."""
    index = table.schema.get_field_index(column)
    values = table.column(column).to_pylist()
    for row, value in changes.items():
        values[row] = value
    array = pa.array(values, kind if kind is not None else table.schema.field(index).type)
    return table.set_column(index, column, array)


def typed_dataset(folder: Path, tables: Tables | None = None) -> dict[str, pa.Table]:
    """``minimal_tables()`` (or ``tables``) as pyarrow tables with inferred types, not written."""
    csv_folder = write_dataset(folder.parent / f"{folder.name}-csv", tables)
    return {stem: read_csv(csv_folder / f"{stem}.csv", "inferred") for stem in CSV_FILES}


def write_parquet(folder: Path, tables: dict[str, pa.Table]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_dataset(folder, omit=CSV_FILES)  # sources.yaml only
    for stem, table in tables.items():
        pq.write_table(table, folder / f"{stem}.parquet")
    return folder


# --------------------------------------------------------------------------- valid data


@pytest.mark.parametrize("mode", ["text", "inferred", "frames"])
def test_the_sample_as_parquet_loads_to_the_csv_frames(tmp_path: Path, mode: str) -> None:
    folder = convert(SAMPLE, tmp_path / "parquet", mode)
    from_csv, from_parquet = load_dataset(SAMPLE), load_dataset(folder)
    assert_same_frames(from_csv, from_parquet)
    assert from_parquet.files == {
        **{stem: folder / f"{stem}.parquet" for stem in CSV_FILES},
        "sources": folder / "sources.yaml",
    }


def test_a_folder_of_both_formats_loads_each_file_from_its_own(tmp_path: Path) -> None:
    folder = convert(SAMPLE, tmp_path / "mixed", "inferred", stems=("prices", "holdings"))
    loaded = load_dataset(folder)
    assert_same_frames(load_dataset(SAMPLE), loaded)
    assert {stem: path.suffix for stem, path in loaded.files.items()} == {
        "instruments": ".csv",
        "prices": ".parquet",
        "flows": ".csv",
        "aum": ".csv",
        "spreads": ".csv",
        "holdings": ".parquet",
        "sources": ".yaml",
    }


def test_accepted_types_load_to_the_same_frames(tmp_path: Path) -> None:
    """Dates as timestamp or date64, numbers as decimal or uint64, volume as whole floats,
    dictionary-encoded text, pyarrow's null type for an all-empty column, an extra column."""
    tables = minimal_tables()
    for row in tables["instruments"]:
        row["inception_date"] = ""
    csv_folder = write_dataset(tmp_path / "csv", tables)
    data = {stem: read_csv(csv_folder / f"{stem}.csv", "inferred") for stem in CSV_FILES}
    prices = data["prices"]
    data["prices"] = (
        prices.set_column(0, "date", prices.column("date").cast(pa.timestamp("us")))
        .set_column(1, "ticker", prices.column("ticker").dictionary_encode())
        .set_column(2, "close", prices.column("close").cast(pa.decimal128(12, 4)))
        .set_column(3, "volume", prices.column("volume").cast(pa.float64()))
        .append_column("note", pa.array(["extra"] * prices.num_rows))
    )
    flows = data["flows"]
    data["flows"] = flows.set_column(0, "date", flows.column("date").cast(pa.date64()))
    data["aum"] = data["aum"].set_column(
        2, "aum_usd", data["aum"].column("aum_usd").cast(pa.uint64())
    )
    instruments = data["instruments"]
    index = instruments.schema.get_field_index("inception_date")
    data["instruments"] = instruments.set_column(
        index, "inception_date", pa.nulls(instruments.num_rows)
    )
    folder = write_parquet(tmp_path / "parquet", data)
    assert_same_frames(load_dataset(csv_folder), load_dataset(folder))


def test_a_parquet_file_without_rows_is_a_file_without_rows(tmp_path: Path) -> None:
    """A fund may have no holdings: an empty holdings.parquet loads like a header-only CSV."""
    tables = minimal_tables()
    tables["holdings"] = []
    csv_folder = write_dataset(tmp_path / "csv", tables)
    for mode in ("text", "inferred"):
        folder = convert(csv_folder, tmp_path / mode, mode, stems=("holdings",))
        loaded = load_dataset(folder)
        assert loaded.holdings.empty
        assert_same_frames(load_dataset(csv_folder), loaded)


# --------------------------------------------------------------------------- same messages


def _set(stem: str, index: int, column: str, value: str) -> Callable[[Tables], None]:
    def change(tables: Tables) -> None:
        tables[stem][index][column] = value

    return change


def _set_many(stem: str, rows: range, column: str, value: str) -> Callable[[Tables], None]:
    def change(tables: Tables) -> None:
        for index in rows:
            tables[stem][index][column] = value

    return change


def _duplicate(stem: str, index: int) -> Callable[[Tables], None]:
    def change(tables: Tables) -> None:
        tables[stem].append(dict(tables[stem][index]))

    return change


def _many(tables: Tables) -> None:
    """More problems in one column than PROBLEM_CAP: 300 more AAA days, every close unreadable;
    and every AUM negative."""
    day = date(2026, 1, 30)
    while len(tables["prices"]) < 5 * DAYS + 300:
        day += timedelta(days=1)
        if day.weekday() < 5:
            tables["prices"].append(
                {"date": day.isoformat(), "ticker": "AAA", "close": "1", "volume": "1"}
            )
    for row in tables["prices"]:
        row["close"] = "x"
    for row in tables["aum"]:
        row["aum_usd"] = "-1"


CASES: dict[str, Callable[[Tables], None]] = {
    "close not a number": _set("prices", 3, "close", "7.0x"),
    "close with a decimal comma": _set("prices", 3, "close", "7,5"),
    "close negative": _set("prices", 3, "close", "-3"),
    "close empty": _set("prices", 3, "close", ""),
    "close nan": _set("prices", 3, "close", "nan"),
    "close overflows": _set("prices", 3, "close", "1e999"),
    "close with spaces": _set("prices", 3, "close", " 7.5"),
    "volume written as a float": _set("prices", 3, "volume", "1200.0"),
    "volume missing for an ETF": _set_many("prices", range(3, 11), "volume", ""),
    "volume for an index": _set("prices", BENCH * DAYS + 2, "volume", "5"),
    "impossible date": _set("flows", 4, "date", "2026-02-30"),
    "date in another format": _set("aum", 4, "date", "2026/01/02"),
    "date out of range": _set("aum", 4, "date", "1600-01-01"),
    "empty date": _set("spreads", 4, "date", ""),
    "unknown ticker on many rows": _set_many("spreads", range(7, 17), "ticker", "ZZZ"),
    "ticker with a space": _set("spreads", 7, "ticker", "AAA "),
    "index in an ETF-only file": _set_many("flows", range(0, 3), "ticker", "THEME"),
    "repeated price row": _duplicate("prices", 0),
    "repeated holding": _duplicate("holdings", 2),
    "weights over 1": _set("holdings", 0, "weight", "0.9"),
    "weight out of range": _set("holdings", 1, "weight", "1.5"),
    "fund is an index": _set("holdings", 1, "fund", "BENCH"),
    "fund unknown": _set("holdings", 1, "fund", "NOPE"),
    "bucket not allowed": _set("holdings", 1, "bucket", "other"),
    "holding without a name": _set("holdings", 1, "name", ""),
    "kind not allowed": _set("instruments", AAA, "kind", "fund"),
    "index with an expense ratio": _set("instruments", BENCH, "expense_ratio", "0.001"),
    "ETF without an issuer": _set("instruments", AAA, "issuer", ""),
    "ETF without an expense ratio": _set("instruments", BBB, "expense_ratio", ""),
    "second theme index": _set("instruments", BBB, "kind", "index"),
    "repeated ticker": _set("instruments", BBB, "ticker", "AAA"),
    "inception date impossible": _set("instruments", AAA, "inception_date", "2019-13-01"),
    "more problems than the cap": _many,
}


@pytest.mark.parametrize("case", list(CASES))
def test_parquet_of_csv_text_reports_exactly_the_csv_problems(tmp_path: Path, case: str) -> None:
    tables = minimal_tables()
    CASES[case](tables)
    csv_folder = write_dataset(tmp_path / "csv", tables)
    parquet_folder = convert(csv_folder, tmp_path / "parquet", "text")
    expected = [
        line.replace(str(csv_folder), str(parquet_folder)).replace(".csv", ".parquet")
        for line in problems(csv_folder)
    ]
    assert problems(parquet_folder) == expected
    if case == "more problems than the cap":
        assert len(expected) == PROBLEM_CAP + 1
        hidden = 5 * DAYS + 300 + 3 * DAYS - PROBLEM_CAP
        assert expected[-1] == f"... and {hidden} more problem(s) not shown"


@pytest.mark.parametrize("case", ["repeated price row", "repeated holding", "weights over 1"])
def test_keys_too_wide_for_one_integer_are_checked_the_same(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback used when a key's columns span more than an int64 (never with real
    dates) finds the same repeats and sums."""
    tables = minimal_tables()
    CASES[case](tables)
    folder = convert(write_dataset(tmp_path / "csv", tables), tmp_path / "parquet", "text")
    expected = problems(folder)
    monkeypatch.setattr(dataset_parquet, "_combine", lambda terms: None)
    assert problems(folder) == expected


# --------------------------------------------------------------------------- typed problems


def test_typed_parquet_problems_are_all_reported_at_once_with_their_lines(tmp_path: Path) -> None:
    base = minimal_tables()
    data = typed_dataset(tmp_path / "typed", base)
    nan, inf = float("nan"), float("inf")
    # prices: NaN and inf closes, a fractional volume, a missing ETF volume, a repeated row
    prices = edit(data["prices"], "close", {3: nan, 4: inf})
    prices = edit(prices, "volume", {5: 1200.5, 6: None, 7: -4.0}, pa.float64())
    data["prices"] = pa.concat_tables([prices, prices.slice(0, 1)])
    # flows: a null ticker, an index; aum: a negative int and a time of day
    data["flows"] = edit(data["flows"], "ticker", {2: None, 3: "THEME"})
    aum = edit(data["aum"], "aum_usd", {1: -5})
    days = aum.column("date").to_pylist()
    moments = [datetime(d.year, d.month, d.day) for d in days]
    moments[4] = datetime(days[4].year, days[4].month, days[4].day, 13, 45)
    data["aum"] = aum.set_column(0, "date", pa.array(moments, pa.timestamp("ms")))
    # spreads: a date too early, a null spread, an unknown ticker on two rows
    spreads = edit(data["spreads"], "date", {0: date(1600, 1, 1)})
    spreads = edit(spreads, "spread_bps", {1: None})
    data["spreads"] = edit(spreads, "ticker", {8: "ZZZ", 9: "ZZZ"})
    # holdings: weights of AAA on 2025-12-31 above 1, a NaN weight on the next date
    data["holdings"] = edit(data["holdings"], "weight", {0: 0.9, 5: nan})
    # instruments: an index with an expense ratio, an ETF without one
    data["instruments"] = edit(data["instruments"], "expense_ratio", {BENCH: 0.001, BBB: None})
    folder = write_parquet(tmp_path / "typed", data)

    def at(stem: str, line: int | None = None) -> str:
        path = str(folder / f"{stem}.parquet")
        return path if line is None else f"{path}:{line}"

    assert problems(folder) == [
        f"{at('instruments', 3)}: column expense_ratio: "
        "expected the ETF's expense ratio, found an empty value",
        f"{at('instruments', 4)}: column expense_ratio: "
        'expected an empty value for an index, found "0.001"',
        f"{at('prices', 5)}: column close: expected a number, found NaN",
        f"{at('prices', 6)}: column close: expected a finite number, found inf",
        f'{at("prices", 7)}: column volume: expected a whole number of shares >= 0, found "1200.5"',
        f"{at('prices', 8)}: column volume: "
        'expected the day\'s volume of the ETF "AAA", found an empty value',
        f'{at("prices", 9)}: column volume: expected a whole number of shares >= 0, found "-4.0"',
        f"{at('prices', 5 * DAYS + 2)}: "
        "expected one row per (date, ticker), found a second row for 2025-12-15, AAA "
        "(first on line 2)",
        f"{at('flows', 4)}: column ticker: expected a value, found an empty value",
        f"{at('flows', 5)}: column ticker: "
        'expected an ETF (flows.parquet holds ETF data only), found the index "THEME"',
        f'{at("aum", 3)}: column aum_usd: expected a number > 0, found "-5"',
        f"{at('aum', 6)}: column date: "
        'expected a date without a time of day, found "2025-12-19T13:45:00"',
        f"{at('spreads', 2)}: column date: "
        'expected a date from 1678-01-01 to 2261-12-31, found "1600-01-01"',
        f"{at('spreads', 3)}: column spread_bps: expected a number, found an empty value",
        f"{at('spreads', 10)}: column ticker: "
        'expected a ticker listed in instruments.parquet, found "ZZZ" (also on line 11)',
        f"{at('holdings', 2)}: column weight: "
        'expected the weights of "AAA" on 2025-12-31 to sum to at most 1, found 1.13',
        f"{at('holdings', 7)}: column weight: expected a number, found NaN",
    ]


def test_unusable_files_and_columns_are_reported_without_a_traceback(tmp_path: Path) -> None:
    data = typed_dataset(tmp_path / "bad")
    instruments = data["instruments"]
    index = instruments.schema.get_field_index("inception_date")
    data["instruments"] = instruments.set_column(
        index,
        "inception_date",
        instruments.column("inception_date").cast(pa.timestamp("s", tz="UTC")),
    )
    spreads = data["spreads"]
    data["spreads"] = spreads.set_column(
        1, "ticker", pa.array(np.arange(spreads.num_rows, dtype=np.int64))
    ).set_column(2, "spread_bps", pa.array([True] * spreads.num_rows))
    holdings = data["holdings"]
    data["holdings"] = holdings.drop_columns(["bucket"]).append_column(
        "Bucket", holdings.column("bucket")
    )
    folder = write_parquet(tmp_path / "bad", data)
    write_dataset(folder, omit=("instruments", "flows", "aum", "spreads", "holdings", "sources"))
    (folder / "flows.parquet").write_text("date,ticker,net_flow_usd\n", encoding="utf-8")
    (folder / "aum.parquet").write_bytes(b"")

    def at(name: str) -> str:
        return str(folder / name)

    assert problems(folder) == [
        f"{at('instruments.parquet')}: column inception_date: expected dates (date32, date64, "
        "a timestamp without time zone, or text YYYY-MM-DD), found timestamps with the time "
        "zone UTC (a date has none)",
        f"{at('prices.csv')}: expected either prices.csv or prices.parquet, found both",
        f"{at('flows.parquet')}: "
        "expected a Parquet file, found a file without its footer (not Parquet, or cut short)",
        f"{at('aum.parquet')}: expected a Parquet file, found an empty file",
        f"{at('spreads.parquet')}: column ticker: "
        "expected text (a string column), found a column of type int64",
        f"{at('spreads.parquet')}: column spread_bps: expected numbers (an integer, "
        "floating-point or decimal column, or text), found a column of type bool",
        f"{at('holdings.parquet')}: column bucket: "
        'expected a column named bucket, found none (there is "Bucket"; names are exact)',
    ]


def test_a_repeated_column_name_is_refused(tmp_path: Path) -> None:
    data = typed_dataset(tmp_path / "repeat")
    flows = data["flows"]
    data["flows"] = pa.Table.from_arrays(
        [*flows.columns, flows.column("ticker")], names=[*flows.column_names, "ticker"]
    )
    folder = write_parquet(tmp_path / "repeat", data)
    assert problems(folder) == [
        f"{folder / 'flows.parquet'}: column ticker: "
        'expected each column name once, found "ticker" 2 times'
    ]


def test_loading_csv_does_not_import_the_parquet_reader() -> None:
    code = (
        "import sys; from pathlib import Path; from reportgen.dataset import load_dataset; "
        f"load_dataset(Path({str(SAMPLE)!r})); "
        "print('reportgen.dataset_parquet' in sys.modules, 'pyarrow.parquet' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=TIMEOUT
    )
    assert done.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- the generator


def generate(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), "--etfs", "20", "--years", "2", "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT,
    )


def test_the_generator_writes_a_valid_dataset_the_same_in_both_formats(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        first, _ = pool.map(
            lambda out: generate(out, "--format", "both", "--seed", "7"),
            [tmp_path / "a", tmp_path / "b"],
        )
    assert "wrote parquet" in first.stdout and "wrote csv" in first.stdout
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")  # same arguments, same bytes

    from_csv = load_dataset(tmp_path / "a" / "csv")
    from_parquet = load_dataset(tmp_path / "a" / "parquet")
    assert_same_frames(from_csv, from_parquet)
    assert from_parquet.files["prices"].suffix == ".parquet"
    assert "synthetic" in (from_csv.label or "").lower()

    inst = from_csv.instruments
    etfs = inst.loc[inst["kind"] == "etf"]
    assert len(etfs) == 20 and set(etfs["role"]) == {"theme", "benchmark"}
    indexes = inst.loc[inst["kind"] == "index"]
    assert sorted(indexes["role"]) == ["benchmark", "theme"]
    prices = from_csv.prices
    first_day = prices.groupby("ticker")["date"].min()
    assert (first_day.loc[etfs["ticker"]] > prices["date"].min()).any()  # some launch later
    assert prices["date"].max() == pd.Timestamp(AS_OF)
    assert prices["date"].dt.day_of_week.max() <= 4  # business days only
    for stem in ("flows", "aum", "spreads"):
        assert set(getattr(from_csv, stem)["ticker"]) == set(etfs["ticker"])
    holdings = from_csv.holdings
    assert 0 < holdings["fund"].nunique() < 20
    assert holdings.groupby(["fund", "as_of"])["weight"].sum().max() <= 1.0


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", "--seed", "1")
    generate(tmp_path / "b", "--seed", "2")
    assert snapshot(tmp_path / "a") != snapshot(tmp_path / "b")
    assert (tmp_path / "a" / "prices.parquet").exists()  # Parquet is the default format


# --------------------------------------------------------------------------- end to end


def test_a_build_from_parquet_has_the_facts_of_the_build_from_csv(tmp_path: Path) -> None:
    parquet = convert(SAMPLE, tmp_path / "sample-parquet", "inferred")

    def build(data: Path, out: Path) -> subprocess.CompletedProcess[str]:
        args = ["build", str(CONFIG), "--data", str(data), "--as-of", AS_OF, "--out", str(out)]
        return run_reportgen(*args)

    outs = {"csv": tmp_path / "out-csv", "parquet": tmp_path / "out-parquet"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(outs, pool.map(build, [SAMPLE, parquet], outs.values()), strict=True))
    for name, proc in runs.items():
        assert proc.returncode == 0, f"{name} build failed:\n{proc.stderr}"
        assert "Traceback" not in proc.stderr
    facts = {
        name: json.loads((out / "facts.json").read_text(encoding="utf-8"))
        for name, out in outs.items()
    }
    assert facts["parquet"] == facts["csv"]
    assert len(facts["csv"]["facts"]) > 50
    inputs = json.loads((outs["parquet"] / "manifest.json").read_text(encoding="utf-8"))["inputs"]
    assert "dataset/prices.parquet" in json.dumps(inputs)
