"""Reading the contract's files from Parquet (``STEM.parquet``): same columns, rules and frames.

Why Parquet: a universe of thousands of ETFs over ten years has ~13 M rows in each
dated file. Parsed cell by cell (as :mod:`reportgen.dataset` must read CSV, to
point at physical lines), that takes minutes and gigabytes; a typed Parquet
column needs no parsing at all.

Why a module of its own: pyarrow's Parquet reader is needed only when a folder
holds a ``.parquet`` file, so :mod:`reportgen.dataset` imports this module (and
``pyarrow.parquet``) only then.

Why whole columns: every rule runs on numpy arrays over all rows. Python sees
only (a) the *distinct* values of a column held as text (tickers, names, dates
or numbers written as strings), each parsed once by the CSV reader's own
parsers, so values and messages are the CSV ones, and (b) the rows that break a
rule, to word their problem. Of those, only the first ``PROBLEM_CAP`` per rule
and file are worded and the rest counted: the load shows at most ``PROBLEM_CAP``
problems in file and line order, so no later row could be shown anyway.

Accepted column types (``docs/dataset.md``, "Parquet files"):

- dates: ``date32``, ``date64``, or ``timestamp`` without a time zone whose
  values are midnight (a time of day is refused on its row; a time zone refuses
  the column); or text ``YYYY-MM-DD``, parsed by the CSV rules.
- numbers: any integer or floating-point type (NaN and infinities refused), or
  text parsed by the CSV rules; a decimal type is read as its exact decimal text
  (``49.8495``), by the same rules. ``volume``: an integer type, a float type
  whose values are whole numbers (what pandas writes for an integer column with
  gaps), or digits as text (so a decimal with decimal places is refused).
- text: ``string``, ``large_string`` or ``string_view``, plain or dictionary
  encoded (pandas' ``category``).
- a null is an empty cell (and so is ``""`` in a text column); a column of
  pyarrow's ``null`` type (all values missing) is a column of empty cells.

A required column of any other type (bool, binary, nested, a timestamp with a
time zone, or a number where text is due: a ticker ``007`` stored as a number
is 7) is refused as a whole, one problem naming its type, and the file's rows
are left unchecked, as for a missing column.

Locations: ``PATH:LINE`` where LINE is the 1-based data row number + 1 (the first
row of data is "line 2", as if line 1 were a header), so a dataset converted from
CSV reports the lines its CSV would. Problems of a whole column (missing,
repeated, wrong type) and of the file itself have no line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reportgen.dataset import (
    _ALSO_SHOWN,
    _BAD,
    _DATE_COLUMNS,
    _EPOCH,
    _FLOAT_COLUMNS,
    _NAT,
    COLUMNS,
    FIRST_DATE,
    LAST_DATE,
    WEIGHT_SUM_TOLERANCE,
    _Bad,
    _iso,
    _Parser,
    _raw,
    _Registry,
    _show,
    _Source,
    _Spec,
    _Table,
    check_column_names,
)
from reportgen.errors import PROBLEM_CAP

#: Row ``i`` (0-based) of a Parquet file is reported as line ``i + 2``.
_FIRST_LINE = 2
_FIRST_DAY = FIRST_DATE.toordinal() - _EPOCH
_LAST_DAY = LAST_DATE.toordinal() - _EPOCH
_UNITS_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
_KIND_CODE = {"etf": 1, "index": 2}  # 0: unknown
_NS_PER_DAY = 86_400_000_000_000

#: Numeric columns' ranges as whole-array tests, and their words (as the CSV parsers say them).
_RANGES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    "close": (lambda v: v > 0, "a number > 0"),
    "aum_usd": (lambda v: v > 0, "a number > 0"),
    "spread_bps": (lambda v: v >= 0, "a number >= 0"),
    "expense_ratio": (lambda v: (v >= 0) & (v <= 1), "a fraction from 0 to 1"),
    "weight": (lambda v: (v >= 0) & (v <= 1), "a weight from 0 to 1"),
    "volume": (lambda v: (v >= 0) & (v == np.floor(v)), "a whole number of shares >= 0"),
}

_EXPECTED_TYPE = {
    "date": "dates (date32, date64, a timestamp without time zone, or text YYYY-MM-DD)",
    "number": "numbers (an integer, floating-point or decimal column, or text)",
    "volume": "whole numbers of shares (an integer column, whole floats, or text)",
    "text": "text (a string column)",
}


def _kind(column: str) -> str:
    if column in _DATE_COLUMNS:
        return "date"
    if column == "volume":
        return "volume"
    return "number" if column in _FLOAT_COLUMNS else "text"


@dataclass
class _Column:
    """One column's parsed values; rows whose value was refused are flagged (and reported).

    ``values``: float64 for numbers (NaN where empty); int64 days since 1970-01-01 for
    dates (``_NAT`` where empty); for text, int32 codes into ``names`` (-1 where empty).
    """

    kind: str
    values: np.ndarray
    bad: np.ndarray
    names: np.ndarray | None = None

    def python(self) -> list[Any]:
        """The values as the CSV reader keeps them (``_BAD`` where refused)."""
        if self.kind == "text":
            assert self.names is not None
            out = _with_none(self.names)[self.values].tolist()
        elif self.kind == "date":
            out = [None if day == _NAT else day for day in self.values.tolist()]
        else:
            out = self.values.tolist()
        for row in np.flatnonzero(self.bad).tolist():
            out[row] = _BAD
        return out

    def ranks(self) -> np.ndarray:
        """Per code, the rank of its text in code-point order (as ``sorted`` orders str)."""
        assert self.names is not None
        rank = np.empty(len(self.names), dtype=np.int64)
        rank[np.argsort(self.names)] = np.arange(len(self.names))
        return rank


def _with_none(names: np.ndarray) -> np.ndarray:
    """``names`` with None appended, so that code -1 (an empty cell) picks None."""
    out = np.empty(len(names) + 1, dtype=object)
    out[:-1] = names
    out[-1] = None
    return out


@dataclass
class _Read:
    """A Parquet file's required columns, parsed."""

    rows: int
    columns: dict[str, _Column]
    table: Any  # the pyarrow Table, for the raw values of a few rows
    names: list[str]  # every column name in the file


# --------------------------------------------------------------------------- public


def read_table(src: _Source, specs: Sequence[_Spec]) -> _Table | None:
    """A small file (instruments) as the CSV reader's table, so its row rules apply unchanged."""
    read = _read(src, specs)
    if read is None:
        return None
    values: dict[str, list[Any]] = {}
    for spec in specs:
        column = spec[0]
        key = spec[2] if len(spec) == 3 else column
        if spec[1] is _raw:
            values[key] = [_text_of(value) for value in read.table.column(column).to_pylist()]
        else:
            values[key] = read.columns[column].python()
    lines = list(range(_FIRST_LINE, read.rows + _FIRST_LINE))
    header = {name: index for index, name in enumerate(read.names)}
    return _Table(lines, values, [], header)


def read_dated(
    src: _Source, specs: Sequence[_Spec], registry: _Registry | None
) -> pd.DataFrame | None:
    """prices, flows, aum or spreads: every rule, then the typed sorted frame (None on problems)."""
    before = src.problems.total
    columns = _read_columns(src, specs)
    if columns is None:
        return None
    complete, order = _check_duplicates(
        src, columns, ("date", "ticker"), sort_by=("ticker", "date")
    )
    if registry is not None:
        ticker = columns["ticker"]
        kinds = _check_tickers(src, ticker, "ticker", registry, etf_only=src.stem != "prices")
        if src.stem == "prices":
            _check_volume(src, columns["volume"], ticker, kinds)
        del ticker
    if src.problems.total != before or not complete:
        return None
    return _frame(src.stem, columns, order)


def read_holdings(
    src: _Source, specs: Sequence[_Spec], registry: _Registry | None
) -> pd.DataFrame | None:
    """holdings: every rule, then the typed sorted frame (None on problems)."""
    before = src.problems.total
    columns = _read_columns(src, specs)
    if columns is None:
        return None
    complete, order = _check_duplicates(
        src, columns, ("as_of", "fund", "security"), sort_by=("fund", "as_of", "security")
    )
    _check_weight_sums(src, columns)
    if registry is not None:
        _check_tickers(src, columns["fund"], "fund", registry, etf_only=True)
    if src.problems.total != before or not complete:
        return None
    return _frame(src.stem, columns, order)


def _read_columns(src: _Source, specs: Sequence[_Spec]) -> dict[str, _Column] | None:
    """The parsed columns alone: the pyarrow table is freed on return."""
    read = _read(src, specs)
    return None if read is None else read.columns


# --------------------------------------------------------------------------- the file


def _read(src: _Source, specs: Sequence[_Spec]) -> _Read | None:
    """Open, check the columns and their types, read and parse them; None when unusable."""
    if src.path.is_dir():
        src.add(None, None, f"expected the file {src.name}, found a folder")
        return None
    try:
        file = pq.ParquetFile(src.path)
        schema = file.schema_arrow
    except FileNotFoundError:
        src.add(None, None, f"expected the file {src.name}, found none")
        return None
    except (pa.ArrowException, OSError, ValueError) as err:
        src.add(None, None, _unreadable(src, err))
        return None
    names: list[str] = list(schema.names)
    if not _check_header(src, names):
        return None
    wanted = list(dict.fromkeys(spec[0] for spec in specs))
    types = {name: schema.field(name).type for name in wanted}
    ok = True
    for name in wanted:
        problem = _type_problem(_kind(name), types[name])
        if problem:
            src.add(None, name, problem)
            ok = False
    if not ok:
        return None
    as_text = [name for name in wanted if _is_text_type(types[name])]
    try:
        table = pq.ParquetFile(src.path, read_dictionary=as_text).read(
            columns=wanted, use_pandas_metadata=False
        )
    except (pa.ArrowException, OSError, ValueError) as err:
        src.add(None, None, _unreadable(src, err))
        return None
    parsers = {spec[0]: spec[1] for spec in specs if spec[1] is not _raw}
    columns = {name: _parse(src, name, table.column(name), parsers[name]) for name in parsers}
    return _Read(table.num_rows, columns, table, names)


def _unreadable(src: _Source, err: BaseException) -> str:
    text = " ".join(str(err).split())
    try:
        empty = src.path.stat().st_size == 0
    except OSError:
        empty = False
    if empty:
        return "expected a Parquet file, found an empty file"
    if "magic bytes" in text or "smaller than the minimum" in text:
        return (
            "expected a Parquet file, found a file without its footer (not Parquet, or cut short)"
        )
    return f"expected a readable Parquet file, found an error: {text}"


def _check_header(src: _Source, names: list[str]) -> bool:
    """Every required column once (as the CSV header check, without a line)."""
    return check_column_names(src, names, None)


def _is_text_type(kind: Any) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _type_problem(kind: str, arrow_type: Any) -> str | None:
    """The problem with a column's type for a column of this kind, or None."""
    if _is_text_type(arrow_type) or pa.types.is_null(arrow_type):
        return None
    types = pa.types
    if kind == "date":
        if types.is_date(arrow_type):
            return None
        if types.is_timestamp(arrow_type):
            if arrow_type.tz is None:
                return None
            return (
                f"expected {_EXPECTED_TYPE[kind]}, found timestamps with the time zone "
                f"{arrow_type.tz} (a date has none)"
            )
    elif kind in ("number", "volume"):
        if types.is_integer(arrow_type) or types.is_floating(arrow_type):
            return None
        if types.is_decimal(arrow_type):
            return None
    return f"expected {_EXPECTED_TYPE[kind]}, found a column of type {arrow_type}"


# --------------------------------------------------------------------------- values


def _report_rows(
    src: _Source, column: str | None, rows: np.ndarray, message: Callable[[int], str]
) -> None:
    """One problem per row (``rows`` ascending); the first PROBLEM_CAP worded, all counted."""
    shown = rows[:PROBLEM_CAP].tolist()
    for row in shown:
        src.add(row + _FIRST_LINE, column, message(row))
    src.problems.total += len(rows) - len(shown)


def _parse(src: _Source, column: str, data: Any, parse: _Parser) -> _Column:
    kind = _kind(column)
    if pa.types.is_decimal(data.type):
        # As its exact decimal text: pyarrow's decimal-to-double cast is not correctly
        # rounded (50.0485 becomes 50.048500000000004), the CSV reader's float() is.
        data = data.cast(pa.string())
    if _is_text_type(data.type) or pa.types.is_null(data.type):
        return _parse_text(src, column, kind, data, parse)
    if kind == "date":
        return _parse_dates(src, column, data, parse)
    return _parse_numbers(src, column, kind, data, parse)


def _empty_message(parse: _Parser) -> str | None:
    """What the CSV parser says of an empty cell, or None when the column may be empty."""
    try:
        parse("")
    except _Bad as bad:
        return bad.message
    return None


def _parse_text(src: _Source, column: str, kind: str, data: Any, parse: _Parser) -> _Column:
    """Text cells: each distinct value parsed once by the CSV parser, then mapped to rows."""
    rows = len(data)
    if pa.types.is_null(data.type):
        distinct: list[str] = []
        codes = np.zeros(rows, dtype=np.int32)  # every row: the "" appended below
    else:
        if pa.types.is_string_view(data.type):
            data = data.cast(pa.large_string())
        if not pa.types.is_dictionary(data.type):
            data = pc.dictionary_encode(data)
        data = data.unify_dictionaries()
        chunks = data.chunks
        dictionary = chunks[0].dictionary.to_pylist() if chunks else []
        distinct = ["" if value is None else value for value in dictionary]
        null = len(distinct)
        parts = [
            pc.fill_null(chunk.indices, null).to_numpy(zero_copy_only=False).astype(np.int32)
            for chunk in chunks
        ]
        codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    distinct.append("")  # the code of a null: an empty cell
    messages: list[str | None] = []
    parsed: list[Any] = []
    for text in distinct:
        try:
            parsed.append(parse(text))
            messages.append(None)
        except _Bad as refused:
            parsed.append(None)
            messages.append(refused.message)
    bad_of = np.array([m is not None for m in messages], dtype=bool)
    if bad_of.any():
        bad_rows = np.flatnonzero(bad_of[codes])
        _report_rows(src, column, bad_rows, lambda row: messages[codes[row]] or "")
    bad = bad_of[codes]
    if kind == "text":
        # one code per distinct parsed value, -1 for an empty (or refused) one
        index: dict[str, int] = {}
        lut = np.array(
            [-1 if value is None else index.setdefault(value, len(index)) for value in parsed],
            dtype=np.int32,
        )
        names = np.array(list(index), dtype=object) if index else np.zeros(0, dtype=object)
        return _Column(kind, lut[codes], bad, names)
    if kind == "date":
        days = np.array([_NAT if value is None else value for value in parsed], dtype=np.int64)
        return _Column(kind, days[codes], bad)
    numbers = np.array([np.nan if value is None else value for value in parsed], dtype=np.float64)
    return _Column(kind, numbers[codes], bad)


def _chunks_to_numpy(data: Any, storage: Any, fill: Any) -> tuple[np.ndarray, np.ndarray]:
    """(values with nulls filled, null mask) of a chunked array viewed or cast as ``storage``."""
    values: list[np.ndarray] = []
    nulls: list[np.ndarray] = []
    for chunk in data.chunks:
        if pa.types.is_floating(storage):
            as_storage = pc.cast(chunk, storage, safe=False)
        else:
            as_storage = chunk.view(storage)
        if chunk.null_count:
            as_storage = pc.fill_null(as_storage, fill)
            nulls.append(chunk.is_null().to_numpy(zero_copy_only=False))
        else:
            nulls.append(np.zeros(len(chunk), dtype=bool))
        values.append(as_storage.to_numpy(zero_copy_only=False))
    if not values:
        return np.zeros(0, dtype=storage.to_pandas_dtype()), np.zeros(0, dtype=bool)
    return np.concatenate(values), np.concatenate(nulls)


def _parse_dates(src: _Source, column: str, data: Any, parse: _Parser) -> _Column:
    """date32, date64 or timestamp (no time zone): whole days, in the CSV's date range."""
    arrow_type = data.type
    if pa.types.is_date32(arrow_type):
        raw, null = _chunks_to_numpy(data, pa.int32(), 0)
        raw, per_day = raw.astype(np.int64), 1
    else:
        raw, null = _chunks_to_numpy(data, pa.int64(), 0)
        per_day = 86_400_000 if pa.types.is_date64(arrow_type) else _UNITS_PER_DAY[arrow_type.unit]
    if per_day == 1:
        timed, days = np.zeros(len(raw), dtype=bool), raw
    else:
        timed = (raw % per_day != 0) & ~null
        days = raw // per_day
    outside = ~null & ~timed & ((days < _FIRST_DAY) | (days > _LAST_DAY))
    empty_message = _empty_message(parse)
    missing = null if empty_message is not None else np.zeros(len(raw), dtype=bool)

    def message(row: int) -> str:
        if missing[row]:
            return empty_message or ""
        if timed[row]:
            return f"expected a date without a time of day, found {_show(_moment(data, raw[row]))}"
        return _message(parse, str(np.datetime64(int(days[row]), "D")), "a date as YYYY-MM-DD")

    bad = timed | outside | missing
    _report_rows(src, column, np.flatnonzero(bad), message)
    days[null | bad] = _NAT
    return _Column("date", days, bad)


def _moment(data: Any, value: int) -> str:
    """A date64 or timestamp value as ISO text, to the second when it has no fraction."""
    unit = "ms" if pa.types.is_date64(data.type) else data.type.unit
    moment = np.array([value], dtype=f"datetime64[{unit}]")[0]
    whole = moment.astype("datetime64[s]")
    return str(whole if whole == moment else moment)


def _parse_numbers(src: _Source, column: str, kind: str, data: Any, parse: _Parser) -> _Column:
    """Integer or float columns as float64: finite, in range, not empty where required.

    Two passes over the column find the few candidate rows (not finite, or out of
    range; nulls are NaN here); only those are then told apart.
    """
    values, null = _chunks_to_numpy(data, pa.float64(), np.nan)
    check, words = _RANGES.get(column, (None, "a number"))
    candidate = ~np.isfinite(values)
    if check is not None:
        with np.errstate(invalid="ignore"):
            candidate |= ~check(values)
    rows = np.flatnonzero(candidate)
    empty_message = _empty_message(parse)
    if empty_message is None:
        rows = rows[~null[rows]]  # an empty cell is allowed: not a problem
    bad = np.zeros(len(values), dtype=bool)
    bad[rows] = True

    def message(row: int) -> str:
        value = values[row]
        if null[row]:
            return empty_message or ""
        if np.isnan(value):
            return "expected a number, found NaN"
        if np.isinf(value):
            return f"expected a finite number, found {'-' if value < 0 else ''}inf"
        return _message(parse, _text_of(data[row].as_py()), words)

    _report_rows(src, column, rows, message)
    values[rows] = np.nan
    return _Column(kind, values, bad)


def _message(parse: _Parser, text: str, words: str) -> str:
    """The CSV parser's message for a value written as ``text`` (``words`` if it accepts it)."""
    try:
        parse(text)
    except _Bad as bad:
        return bad.message
    return f"expected {words}, found {_show(text)}"


def _text_of(value: Any) -> str:
    """A typed cell as CSV text: ints as digits, floats as Python writes them, null as empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --------------------------------------------------------------------------- rules


def _also(shown: list[int], count: int) -> str:
    """dataset._also for a group of ``count`` lines of which ``shown`` are the first."""
    rest = count - 1
    if rest <= 0:
        return ""
    more = rest - _ALSO_SHOWN
    tail = f" and {more} more" if more > 0 else ""
    listed = ", ".join(str(line) for line in shown[1 : _ALSO_SHOWN + 1])
    return f" (also on line{'s' if rest > 1 else ''} {listed}{tail})"


def _report_groups(
    src: _Source,
    column: str,
    rows: np.ndarray,
    codes: np.ndarray,
    message: Callable[[int, int], str],
) -> None:
    """One problem per code, on its first row, listing further lines (as dataset._report_groups)."""
    if not rows.size:
        return
    group = codes[rows]
    order = np.argsort(group, kind="stable")
    rows, group = rows[order], group[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(rows)]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        shown = (rows[start : min(end, start + 1 + _ALSO_SHOWN)] + _FIRST_LINE).tolist()
        text = message(int(group[start]), int(rows[start]))
        src.add(shown[0], column, text + _also(shown, end - start))


def _check_tickers(
    src: _Source, ticker: _Column, column: str, registry: _Registry, *, etf_only: bool
) -> np.ndarray:
    """Every ticker is in instruments (an ETF where only ETFs belong); returns each name's kind."""
    assert ticker.names is not None
    names = ticker.names.tolist()
    kinds = np.array([_KIND_CODE.get(registry.kinds.get(n, ""), 0) for n in names], dtype=np.int8)
    if src.stem == "holdings":
        etf = "expected an ETF ticker as the fund, found the index {}"
    else:
        etf = "expected an ETF (" + src.name + " holds ETF data only), found the index {}"
    verdicts: dict[int, str] = {}
    for code, name in enumerate(names):
        if name not in registry.known:
            verdicts[code] = f"expected a ticker listed in {registry.name}, found {_show(name)}"
        elif etf_only and kinds[code] == _KIND_CODE["index"]:
            verdicts[code] = etf.format(_show(name))
    if verdicts:
        flagged = np.zeros(len(names) + 1, dtype=bool)  # + 1: code -1, an unparsed ticker
        flagged[list(verdicts)] = True
        rows = np.flatnonzero(flagged[ticker.values])
        _report_groups(src, column, rows, ticker.values, lambda code, _: verdicts[code])
    return kinds


def _check_volume(src: _Source, volume: _Column, ticker: _Column, kinds: np.ndarray) -> None:
    """``volume`` is required for ETFs and empty for indexes."""
    assert ticker.names is not None
    row_kind = np.append(kinds, 0)[ticker.values]  # code -1 (unparsed ticker): unknown
    values = volume.values
    empty = np.isnan(values) & ~volume.bad
    names = ticker.names

    def missing(code: int, _: int) -> str:
        return f"expected the day's volume of the ETF {_show(names[code])}, found an empty value"

    def extra(code: int, row: int) -> str:
        found = _show(str(int(values[row])))
        return f"expected an empty value for the index {_show(names[code])}, found {found}"

    etf_rows = np.flatnonzero((row_kind == _KIND_CODE["etf"]) & empty)
    _report_groups(src, "volume", etf_rows, ticker.values, missing)
    filled = ~np.isnan(values) & ~volume.bad
    index_rows = np.flatnonzero((row_kind == _KIND_CODE["index"]) & filled)
    _report_groups(src, "volume", index_rows, ticker.values, extra)


@dataclass
class _Term:
    """One column of a sort key over some rows: int values, their lowest, their span."""

    values: np.ndarray  # int; text as ranks in code-point order, dates as days
    low: int
    span: int
    fresh: bool  # values is a new array (else it is the column's own, not to be changed)


def _sort_terms(
    columns: dict[str, _Column], names: Sequence[str], rows: np.ndarray | None
) -> list[_Term]:
    """The key columns ``names`` (most significant first) over ``rows`` (None: all)."""
    terms: list[_Term] = []
    for name in names:
        column = columns[name]
        values = column.values if rows is None else column.values[rows]
        if column.kind == "text":
            ranks = column.ranks()
            terms.append(_Term(ranks[values], 0, max(len(ranks), 1), True))
        elif len(values):
            low = int(values.min())
            terms.append(_Term(values, low, int(values.max()) - low + 1, rows is not None))
        else:
            terms.append(_Term(values, 0, 1, rows is not None))
    return terms


def _combine(terms: list[_Term]) -> np.ndarray | None:
    """The terms as one int64 key from 0, or None if it would overflow.

    Built in place in one array (the first term's, when fresh): at 12 M rows each
    array less is a tenth of a second less.
    """
    if math.prod(term.span for term in terms) >= 2**62:
        return None
    first = terms[0]
    combined = first.values.astype(np.int64, copy=not first.fresh)
    combined -= first.low
    for term in terms[1:]:
        combined *= term.span
        combined += term.values
        combined -= term.low
    return combined


def _check_duplicates(
    src: _Source, columns: dict[str, _Column], key: tuple[str, ...], *, sort_by: tuple[str, ...]
) -> tuple[bool, np.ndarray | None]:
    """At most one row per key; returns (every key parsed, the frame's row order or None if
    the rows are in order already).

    ``sort_by`` is the key's columns in the frame's sort order: one stable sort finds
    the repeats (of equal keys, the first in the file comes first) and orders the frame.
    """
    ok = ~np.logical_or.reduce([columns[name].bad for name in key])
    complete = bool(ok.all())
    rows = None if complete else np.flatnonzero(ok)
    if not ok.any():
        return complete, None
    terms = _sort_terms(columns, sort_by, rows)
    combined = _combine(terms)
    if combined is not None:
        if bool(np.all(combined[1:] > combined[:-1])):
            return complete, None  # in order, so no key repeats
        order = np.argsort(combined, kind="stable")
        ordered = combined[order]
        same = ordered[1:] == ordered[:-1]
        del combined, ordered
    else:
        order = np.lexsort([term.values for term in reversed(terms)])
        same = np.ones(len(order) - 1, dtype=bool)
        for term in terms:
            ordered = term.values[order]
            same &= ordered[1:] == ordered[:-1]
    del terms
    if same.any():
        _report_duplicates(src, columns, key, order, same, rows)
    return complete, order if complete else None


def _report_duplicates(
    src: _Source,
    columns: dict[str, _Column],
    key: tuple[str, ...],
    order: np.ndarray,
    same: np.ndarray,
    rows: np.ndarray | None,
) -> None:
    """Each repeat of a key, naming the line of its first row."""
    position = np.arange(len(order))
    start = np.maximum.accumulate(np.where(np.r_[True, ~same], position, 0))
    repeated = np.r_[False, same]
    pairs = np.stack([order[repeated], order[start[repeated]]], axis=1)
    if rows is not None:
        pairs = rows[pairs]
    pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    first = dict(zip(pairs[:PROBLEM_CAP, 0].tolist(), pairs[:PROBLEM_CAP, 1].tolist(), strict=True))
    shown_key = ", ".join(key)

    def message(row: int) -> str:
        shown = ", ".join(_shown_key_part(columns[name], row) for name in key)
        return (
            f"expected one row per ({shown_key}), found a second row for {shown} "
            f"(first on line {first[row] + _FIRST_LINE})"
        )

    _report_rows(src, key[0] if len(key) == 1 else None, pairs[:, 0], message)


def _shown_key_part(column: _Column, row: int) -> str:
    value = int(column.values[row])
    if column.kind == "date":
        return _iso(value)
    assert column.names is not None
    return str(column.names[value])


def _check_weight_sums(src: _Source, columns: dict[str, _Column]) -> None:
    """A fund's weights on one ``as_of`` sum to at most 1 (+ tolerance), summed in file order."""
    fund, as_of, weight = columns["fund"], columns["as_of"], columns["weight"]
    rows = np.flatnonzero(~fund.bad & ~as_of.bad & ~weight.bad)
    if not rows.size:
        return
    terms = _sort_terms(columns, ("fund", "as_of"), rows)
    combined = _combine(terms)
    axis = None
    if combined is None:  # cannot happen with real dates, but stay correct
        combined, axis = np.stack([term.values for term in terms], axis=1), 0
    # the first row of each (fund, as_of), and each row's group
    _, first, group = np.unique(combined, return_index=True, return_inverse=True, axis=axis)
    # bincount adds in row order, as the CSV reader's running sum does: same float result
    totals = np.bincount(group, weights=weight.values[rows])
    assert fund.names is not None
    for index in np.flatnonzero(totals > 1.0 + WEIGHT_SUM_TOLERANCE).tolist():
        row = int(rows[first[index]])
        src.add(
            row + _FIRST_LINE,
            "weight",
            f"expected the weights of {_show(str(fund.names[fund.values[row]]))} on "
            f"{_iso(int(as_of.values[row]))} to sum to at most 1, found {totals[index]:.9g}",
        )


# --------------------------------------------------------------------------- frames


def _frame(stem: str, columns: dict[str, _Column], order: np.ndarray | None) -> pd.DataFrame:
    """The frame the CSV reader builds for the same rows: same dtypes, same sort order.

    ``order`` None: the rows are in order already. Columns are reordered two at a
    time (numpy lets go of the GIL while it gathers), each parsed column is dropped
    once its frame column is built, and the frame is not consolidated
    (``copy=False``: no copy of same-dtype columns into one block): a large load
    is faster and its peak memory lower.
    """

    def build(name: str) -> np.ndarray:
        column = columns[name]
        values = column.values if order is None else column.values[order]
        if column.kind == "text":
            assert column.names is not None
            return _with_none(column.names)[values]
        if column.kind == "date":
            empty = values == _NAT
            if order is None:
                values = values.copy()
            values *= _NS_PER_DAY  # in place: one array less than astype
            values[empty] = _NAT
            return values.view("datetime64[ns]")
        return values

    names = COLUMNS[stem]
    with ThreadPoolExecutor(max_workers=2) as pool:
        arrays = pool.map(build, names)
        data = {}
        for name, array in zip(names, arrays, strict=True):
            del columns[name]
            data[name] = pd.Series(array, dtype=array.dtype, copy=False)
    return pd.DataFrame(data, copy=False)
