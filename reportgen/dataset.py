"""Loading and validating a dataset folder (contract section 1).

Why the CSV files are parsed by hand: pandas' reader pads short rows, skips
blank lines, guesses types (``007`` becomes 7) and turns ``NA``, ``NULL`` or
``None`` into NaN, and its line numbers drift as soon as a quoted value holds a
newline. A compliance tool must refuse what it cannot read exactly, and point at
the physical line. So every file is read with the ``csv`` module (its
``line_num`` counts physical lines), every value is parsed by the strict rules
below, and the frames are built from the parsed Python values.

Each contract file may instead be given as ``STEM.parquet`` (not both): that file
is read by :mod:`reportgen.dataset_parquet` (imported, with pyarrow, only then),
column-wise, to the same rules, messages and frames; the rules between files use
what either reader found.

Every problem of every file is collected before anything is raised (one
:class:`~reportgen.errors.InputError`, at most ``PROBLEM_CAP`` lines shown, all
counted), sorted by file (the order of ``CSV_FILES``, then ``sources.yaml``) and
line. Each message reads ``expected ..., found ...``.

Decisions where the contract is silent (documented in the docs as the contract's
reading, tested in ``tests/test_dataset.py``):

- Encoding: strict UTF-8. A byte-order mark is refused wherever it is, also at
  the very start of a file (Excel's "CSV UTF-8" writes one; save without it):
  the contract allows plain UTF-8 only, and refusing is the safe reading.
- Lines: LF or CRLF endings; a lone CR is refused. A blank or whitespace-only
  line is refused wherever it is; a final newline is optional.
- Values are never trimmed: a value with spaces around it is refused.
- Numbers: ``[+-]digits[.digits][e[+-]digits]`` (``12.5``, ``-3``, ``1e-4``,
  ``2.5E6``). Refused: ``.5``, ``5.``, ``nan``, ``inf``, ``1,234``, ``1 234``,
  ``0,5``, ``1_000``, hexadecimal, and anything that overflows to infinity.
- ``volume``: digits only; ``1200.0`` is refused like ``1200.5`` (an integer is
  written as one, not guessed from a float).
- Dates: ``YYYY-MM-DD``, a real calendar date from 1678-01-01 to 2261-12-31
  (the span ``datetime64[ns]`` can hold).
- Required values: every column the contract does not say may be empty. So an
  ETF needs an ``issuer`` (the contract only says "empty for indexes"), and the
  holdings' ``name`` and ``sector`` must be filled. ``expense_ratio`` is a
  fraction per year, so it must lie in [0, 1].
- Problems that come from another file (an unknown ticker, an index in an
  ETF-only file, a volume that the ticker's ``kind`` forbids) are reported once
  per file and ticker, on the first line, listing up to five further lines and
  counting the rest, so one wrong instrument cannot bury every other problem.
- A file whose header lacks a required column has its rows left unchecked (every
  row would fail the same way), and, for ``instruments.csv``, the checks of the
  other files against it are skipped too.
- ``sources.yaml``: a top-level key other than the six file stems and ``label``
  is refused (a misspelt ``label:`` would otherwise silently drop the label every
  page must show); extra keys inside a stem's mapping are ignored, like extra
  CSV columns. Problems there are located ``PATH:LINE:COLUMN``.
- Frames hold text as ``object`` columns of Python ``str`` (``None`` for an
  index's ``issuer``), never pandas' ``str`` dtype, which would turn that
  ``None`` into NaN.
- Rows dated before an instrument's ``inception_date`` are not refused: the
  contract states no such rule.
"""

from __future__ import annotations

import codecs
import csv
import heapq
import io
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from reportgen.contract import CSV_FILES, SOURCES_FILE
from reportgen.errors import PROBLEM_CAP, InputError, Problem

#: The required columns of each CSV file, in the order frames hold them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "instruments": (
        "ticker",
        "name",
        "kind",
        "role",
        "issuer",
        "expense_ratio",
        "inception_date",
    ),
    "prices": ("date", "ticker", "close", "volume"),
    "flows": ("date", "ticker", "net_flow_usd"),
    "aum": ("date", "ticker", "aum_usd"),
    "spreads": ("date", "ticker", "spread_bps"),
    "holdings": ("as_of", "fund", "security", "name", "weight", "sector", "bucket"),
}

KINDS: tuple[str, ...] = ("etf", "index")
ROLES: tuple[str, ...] = ("theme", "benchmark")
BUCKETS: tuple[str, ...] = ("infrastructure", "platform", "application")
#: Slack on "a fund's weights on one as_of sum to at most 1.0".
WEIGHT_SUM_TOLERANCE = 1e-6
#: The dates ``datetime64[ns]`` can hold, in whole years.
FIRST_DATE = date(1678, 1, 1)
LAST_DATE = date(2261, 12, 31)

_EPOCH = date(1970, 1, 1).toordinal()
_NAT = np.iinfo(np.int64).min
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[0-9]+")
_DATE_COLUMNS = frozenset({"date", "as_of", "inception_date"})
_FLOAT_COLUMNS = frozenset(
    {"close", "volume", "net_flow_usd", "aum_usd", "spread_bps", "expense_ratio", "weight"}
)
_ALSO_SHOWN = 5
_SHOW_MAX = 40


@dataclass(frozen=True)
class Dataset:
    """A validated dataset: typed frames, sources and the file paths they came from.

    Frames (all with a fresh RangeIndex, sorted as noted, dates as ``datetime64[ns]``
    normalised to midnight, strings as Python ``str``):

    - ``instruments``: ticker, name, kind, role, issuer (None for indexes),
      expense_ratio (float, NaN for indexes), inception_date (NaT when empty);
      sorted by ticker.
    - ``prices``: date, ticker, close (float), volume (float, NaN for indexes);
      sorted by ticker, date.
    - ``flows``: date, ticker, net_flow_usd (float); sorted by ticker, date.
    - ``aum``: date, ticker, aum_usd (float); sorted by ticker, date.
    - ``spreads``: date, ticker, spread_bps (float); sorted by ticker, date.
    - ``holdings``: as_of, fund, security, name, weight (float), sector, bucket;
      sorted by fund, as_of, security.
    """

    path: Path
    instruments: pd.DataFrame
    prices: pd.DataFrame
    flows: pd.DataFrame
    aum: pd.DataFrame
    spreads: pd.DataFrame
    holdings: pd.DataFrame
    #: file stem -> who published it (sources.yaml)
    sources: dict[str, str]
    #: the dataset's label ("Illustrative sample data - ..."), shown on every page when set
    label: str | None = None
    #: file stem (and "sources") -> path of the file it was read from
    files: dict[str, Path] = field(default_factory=dict)

    def up_to(self, as_of: date) -> Dataset:
        """The same dataset without any row dated after ``as_of`` (no look-ahead)."""
        ts = pd.Timestamp(as_of)

        def cut(frame: pd.DataFrame, column: str) -> pd.DataFrame:
            keep = (frame[column] <= ts).to_numpy()
            if keep.all():  # nothing after the date: no copy (frames are never changed)
                return frame
            return frame.loc[keep].reset_index(drop=True)

        return replace(
            self,
            prices=cut(self.prices, "date"),
            flows=cut(self.flows, "date"),
            aum=cut(self.aum, "date"),
            spreads=cut(self.spreads, "date"),
            holdings=cut(self.holdings, "as_of"),
        )


def load_dataset(path: Path, *, one_fund: bool = False) -> Dataset:
    """Read and validate every file of a dataset folder; raise InputError listing all problems.

    Nothing is returned unless every file passes every rule: a report must never be
    built from data that was partly guessed. ``one_fund``: the folder holds the rows a
    one-fund report kept (one ETF and the two indexes), so "at least one ETF with role
    theme" is not asked of it: a benchmark ETF's factsheet has none.
    """
    path = Path(path)
    if not path.is_dir():
        found = "a file" if path.exists() else "nothing there"
        raise InputError([Problem(str(path), message=f"expected a dataset folder, found {found}")])
    problems = _Problems()
    files = {stem: _data_file(path, stem) for stem in CSV_FILES}
    files["sources"] = path / SOURCES_FILE
    dates = _DateParser()

    sources = [_Source(stem, files[stem], order, problems) for order, stem in enumerate(CSV_FILES)]
    both = {src.stem for src in sources if _both_formats(src)}
    instruments_src, prices_src, flows_src, aum_src, spreads_src, holdings_src = sources
    instruments = None
    if "instruments" not in both:
        instruments = _read_small(instruments_src, _instrument_specs(dates))
    registry = (
        None
        if instruments is None
        else _check_instruments(instruments_src, instruments, one_fund=one_fund)
    )

    tables: dict[str, _Table | pd.DataFrame | None] = {"instruments": instruments}
    for src, value_column, spec in (
        (prices_src, "close", _number(_positive, "a number > 0")),
        (flows_src, "net_flow_usd", _number(None, "a number")),
        (aum_src, "aum_usd", _number(_positive, "a number > 0")),
        (spreads_src, "spread_bps", _number(_non_negative, "a number >= 0")),
    ):
        specs = [("date", dates.required), ("ticker", _text), (value_column, spec)]
        if src.stem == "prices":
            specs.append(("volume", _optional_volume))
        if src.stem in both:
            tables[src.stem] = None
            continue
        if _is_parquet(src):
            from reportgen.dataset_parquet import read_dated  # imports pyarrow: only here

            tables[src.stem] = read_dated(src, specs, registry)
            continue
        table = _read_table(src, specs)
        tables[src.stem] = table
        if table is None:
            continue
        _check_duplicates(src, table, ("date", "ticker"))
        if registry is not None:
            etf_only = src.stem != "prices"
            tickers = _check_tickers(src, table, "ticker", registry, etf_only=etf_only)
            if src.stem == "prices":
                _check_volume(src, table, tickers)

    holdings = None
    if "holdings" in both:
        tables["holdings"] = None
    elif _is_parquet(holdings_src):
        from reportgen.dataset_parquet import read_holdings

        tables["holdings"] = read_holdings(holdings_src, _holding_specs(dates), registry)
    else:
        holdings = _read_table(holdings_src, _holding_specs(dates))
        tables["holdings"] = holdings
    if holdings is not None:
        _check_duplicates(holdings_src, holdings, ("as_of", "fund", "security"))
        _check_weight_sums(holdings_src, holdings)
        if registry is not None:
            _check_tickers(holdings_src, holdings, "fund", registry, etf_only=True)

    source_names, label = _read_sources(
        _Source("sources", files["sources"], len(CSV_FILES), problems)
    )

    if problems.total:
        raise InputError(problems.sorted(), problems.total)
    frames = {
        stem: table if isinstance(table, pd.DataFrame) else _frame(stem, table)
        for stem, table in tables.items()
        if table is not None
    }
    return Dataset(
        path=path,
        instruments=frames["instruments"],
        prices=frames["prices"],
        flows=frames["flows"],
        aum=frames["aum"],
        spreads=frames["spreads"],
        holdings=frames["holdings"],
        sources=source_names,
        label=label,
        files=files,
    )


# --------------------------------------------------------------------------- formats


def _data_file(folder: Path, stem: str) -> Path:
    """``STEM.parquet`` when it is there and ``STEM.csv`` is not, else ``STEM.csv``.

    A missing file is reported under its CSV name, as before Parquet was accepted.
    """
    parquet = folder / f"{stem}.parquet"
    if parquet.exists() and not (folder / f"{stem}.csv").exists():
        return parquet
    return folder / f"{stem}.csv"


def _is_parquet(src: _Source) -> bool:
    return src.path.suffix == ".parquet"


def _both_formats(src: _Source) -> bool:
    """Report (and return True) when a file is given both as CSV and as Parquet."""
    if _is_parquet(src) or not src.path.with_suffix(".parquet").exists():
        return False
    if not src.path.exists():
        return False
    src.add(None, None, f"expected either {src.stem}.csv or {src.stem}.parquet, found both")
    return True


def _read_small(src: _Source, specs: Sequence[_Spec]) -> _Table | None:
    """A small file (instruments) from either format, as a table the row rules read."""
    if _is_parquet(src):
        from reportgen.dataset_parquet import read_table  # imports pyarrow: only here

        return read_table(src, specs)
    return _read_table(src, specs)


# --------------------------------------------------------------------------- problems


class _Problems:
    """All problems of one load: the first ``PROBLEM_CAP`` in report order kept, all counted.

    A bounded heap, so a million bad rows cost a counter, not a million objects.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int, Problem]] = []
        self.total = 0

    def add(self, order: int, problem: Problem) -> None:
        self.total += 1
        # Negated keys make heapq's min-heap a max-heap: the root is the latest problem kept.
        item = (-order, -(problem.line or 0), -self.total, problem)
        if len(self._heap) < PROBLEM_CAP:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def sorted(self) -> list[Problem]:
        return [item[3] for item in sorted(self._heap, reverse=True)]


@dataclass
class _Source:
    """One input file and where its problems go."""

    stem: str
    path: Path
    order: int
    problems: _Problems
    where: str = ""

    def __post_init__(self) -> None:
        self.where = str(self.path)  # as the user passed the folder: never resolved

    @property
    def name(self) -> str:
        return self.path.name

    def add(
        self,
        line: int | None,
        column: str | None,
        message: str,
        char_column: int | None = None,
    ) -> None:
        self.problems.add(self.order, Problem(self.where, line, column, message, char_column))


class _Bad(Exception):
    """A value that does not parse; the message is the ``expected ..., found ...`` text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _BadValue:
    """Stands for a value that did not parse, so later checks can skip it."""

    def __repr__(self) -> str:
        return "<bad value>"


_BAD: Any = _BadValue()


def _show(text: str) -> str:
    """A value as quoted in a message: invisible characters escaped, long ones cut."""
    if text == "":
        return "an empty value"
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    if len(shown) > _SHOW_MAX:
        shown = shown[: _SHOW_MAX - 3] + "..."
    return f'"{shown}"'


def _also(lines: Sequence[int]) -> str:
    """The suffix ' (also on lines 4, 9 and 12 more)' of a problem repeated on further rows."""
    rest = lines[1:]
    if not rest:
        return ""
    shown = ", ".join(str(n) for n in rest[:_ALSO_SHOWN])
    more = len(rest) - _ALSO_SHOWN
    tail = f" and {more} more" if more > 0 else ""
    return f" (also on line{'s' if len(rest) > 1 else ''} {shown}{tail})"


def _iso(day: int) -> str:
    return date.fromordinal(day + _EPOCH).isoformat()


# --------------------------------------------------------------------------- values

_Parser = Callable[[str], Any]
#: (column, parser) or (column, parser, key the values are kept under)
_Spec = tuple[str, _Parser] | tuple[str, _Parser, str]


def _spaces(text: str) -> str | None:
    if text and (text[0].isspace() or text[-1].isspace()):
        return f"expected a value without spaces around it, found {_show(text)}"
    return None


def _text(text: str) -> str:
    if not text:
        raise _Bad("expected a value, found an empty value")
    if text[0].isspace() or text[-1].isspace():
        raise _Bad(_spaces(text) or "")
    return text


def _optional_text(text: str) -> str | None:
    return None if text == "" else _text(text)


def _choice(choices: tuple[str, ...]) -> _Parser:
    allowed = set(choices)
    wanted = ", ".join(choices[:-1]) + " or " + choices[-1]

    def parse(text: str) -> str:
        if text not in allowed:
            raise _Bad(f"expected {wanted}, found {_show(text)}")
        return text

    return parse


def _number_problem(text: str, expected: str) -> str:
    if text == "":
        return f"expected {expected}, found an empty value"
    spaces = _spaces(text)
    if spaces:
        return spaces
    hint = ""
    if "," in text or " " in text:
        hint = " ('.' is the decimal mark; no thousands separators)"
    return f"expected {expected} such as 12.5 or 1e-4, found {_show(text)}{hint}"


def _positive(value: float) -> bool:
    return value > 0


def _non_negative(value: float) -> bool:
    return value >= 0


def _fraction(value: float) -> bool:
    return 0 <= value <= 1


def _number(
    check: Callable[[float], bool] | None, expected: str, *, optional: bool = False
) -> _Parser:
    """A strict decimal parser; ``check`` is the range, ``expected`` says it in words."""
    fullmatch = _NUMBER.fullmatch

    def parse(text: str) -> float:
        if optional and text == "":
            return math.nan
        if fullmatch(text) is None:
            raise _Bad(_number_problem(text, "a number"))
        value = float(text)
        if math.isinf(value):
            raise _Bad(f"expected a finite number, found {_show(text)}")
        if check is not None and not check(value):
            raise _Bad(f"expected {expected}, found {_show(text)}")
        return value

    return parse


def _optional_volume(text: str) -> float:
    """Shares traded: digits only, empty allowed here (whether it may be is the ``kind``'s)."""
    if text == "":
        return math.nan
    if _INTEGER.fullmatch(text) is None:
        spaces = _spaces(text)
        raise _Bad(spaces or f"expected a whole number of shares >= 0, found {_show(text)}")
    return float(int(text))


class _DateParser:
    """Strict ISO dates as days since 1970-01-01, cached per distinct string.

    A dataset repeats each date once per ticker and file, so the cache turns
    almost every parse into one dictionary look-up.
    """

    def __init__(self) -> None:
        self._cache: dict[str, int] = {}

    def required(self, text: str) -> int:
        try:
            return self._cache[text]
        except KeyError:
            pass
        day = self._parse(text)
        self._cache[text] = day
        return day

    def optional(self, text: str) -> int | None:
        return None if text == "" else self.required(text)

    @staticmethod
    def _parse(text: str) -> int:
        if _DATE.fullmatch(text) is None:
            spaces = _spaces(text)
            raise _Bad(spaces or f"expected a date as YYYY-MM-DD, found {_show(text)}")
        try:
            day = date(int(text[:4]), int(text[5:7]), int(text[8:]))
        except ValueError:
            raise _Bad(
                f"expected a real calendar date as YYYY-MM-DD, found {_show(text)}"
            ) from None
        if not FIRST_DATE <= day <= LAST_DATE:
            raise _Bad(f"expected a date from {FIRST_DATE} to {LAST_DATE}, found {_show(text)}")
        return day.toordinal() - _EPOCH


def _raw(text: str) -> str:
    return text


def _instrument_specs(dates: _DateParser) -> list[_Spec]:
    return [
        ("ticker", _text),
        ("name", _text),
        ("kind", _choice(KINDS)),
        ("role", _choice(ROLES)),
        ("issuer", _optional_text),
        ("expense_ratio", _number(_fraction, "a fraction from 0 to 1", optional=True)),
        # the text as written, to quote it when the kind says it must be empty
        ("expense_ratio", _raw, "expense_ratio_text"),
        ("inception_date", dates.optional),
    ]


def _holding_specs(dates: _DateParser) -> list[_Spec]:
    return [
        ("as_of", dates.required),
        ("fund", _text),
        ("security", _text),
        ("name", _text),
        ("weight", _number(_fraction, "a weight from 0 to 1")),
        ("sector", _text),
        ("bucket", _choice(BUCKETS)),
    ]


# --------------------------------------------------------------------------- CSV reading


@dataclass
class _Table:
    """The parsed rows of one file: per column a list of values (``_BAD`` where unparsed)."""

    lines: list[int]
    values: dict[str, list[Any]]
    #: rows with the wrong number of fields, kept raw (only to learn which tickers exist)
    broken: list[list[str]]
    header: dict[str, int]


def _read_text(src: _Source) -> str | None:
    """The file as text, after reporting every encoding problem (and carrying on past it)."""
    try:
        raw = src.path.read_bytes()
    except FileNotFoundError:
        src.add(None, None, f"expected the file {src.name}, found none")
        return None
    except IsADirectoryError:
        src.add(None, None, f"expected the file {src.name}, found a folder")
        return None
    except OSError as err:
        src.add(None, None, f"expected a readable file, found an error: {err.strerror}")
        return None
    if raw.startswith(codecs.BOM_UTF8):
        src.add(1, None, "expected UTF-8 without a byte-order mark, found one at the start")
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        for number, chunk in enumerate(raw.split(b"\n"), start=1):
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as err:
                byte = chunk[err.start]
                src.add(number, None, f"expected UTF-8 text, found the byte 0x{byte:02X}")
        text = raw.decode("utf-8", errors="replace")
    if "\ufeff" in text:
        for number, line in enumerate(text.split("\n"), start=1):
            if "\ufeff" in line:
                src.add(number, None, "expected no byte-order mark inside the file, found one")
        text = text.replace("\ufeff", "")
    return text


def _csv_problem(err: csv.Error) -> str:
    text = str(err)
    if "unexpected end of data" in text:
        return 'expected a closing quote ("), found the end of the file'
    if "expected after" in text:
        return "expected a comma or the end of the line after a closing quote, found more text"
    if "new-line character" in text:
        return "expected lines ending in LF or CRLF, found a lone carriage return (CR)"
    return f"expected well-formed CSV, found an error: {text}"


def _physical_rows(reader: Any, src: _Source) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, fields) of every row; malformed CSV is reported and skipped."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            src.add(start, None, _csv_problem(err))
            continue
        yield start, row


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _read_header(src: _Source, rows: Iterator[tuple[int, list[str]]]) -> dict[str, int] | None:
    """Column name -> index, or None (problems reported) when a required column is missing."""
    wanted = COLUMNS[src.stem]
    first = next(rows, None)
    if first is None or first[0] != 1:
        return None  # line 1 is malformed CSV, already reported
    if _is_blank(first[1]):
        src.add(1, None, f"expected a header row ({', '.join(wanted)}), found a blank line")
        return None
    header = first[1]
    ok = check_column_names(src, header, 1)
    return {name: index for index, name in enumerate(header)} if ok else None


def check_column_names(src: _Source, names: Sequence[str], line: int | None) -> bool:
    """Every required column exactly once (a CSV header, or a Parquet schema: no line)."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    ok = True
    for name, count in counts.items():
        if count > 1:
            ok = False
            shown = _show(name) if name else "an empty name"
            message = f"expected each column name once, found {shown} {count} times"
            src.add(line, name or None, message)
    for name in COLUMNS[src.stem]:
        if name not in counts:
            ok = False
            near = [h for h in names if h.strip().lower() == name]
            hint = f" (there is {_show(near[0])}; names are exact)" if near else ""
            src.add(line, name, f"expected a column named {name}, found none{hint}")
    return ok


def _read_table(src: _Source, specs: Sequence[_Spec]) -> _Table | None:
    """Parse one CSV file row by row; None when it cannot be read at all."""
    text = _read_text(src)
    if text is None:
        return None
    if not text:
        src.add(
            1, None, f"expected a header row ({', '.join(COLUMNS[src.stem])}), found an empty file"
        )
        return None
    # newline="\n": split on LF only, so line_num counts physical lines (CR stays in the line).
    reader = csv.reader(io.StringIO(text, newline="\n"), strict=True)
    rows = _physical_rows(reader, src)
    header = _read_header(src, rows)
    if header is None:
        return None
    width = len(header)
    values: dict[str, list[Any]] = {}
    plan: list[tuple[int, _Parser, list[Any], str]] = []
    for spec in specs:
        column, parse = spec[0], spec[1]
        out: list[Any] = []
        values[spec[2] if len(spec) == 3 else column] = out
        plan.append((header[column], parse, out, column))
    lines: list[int] = []
    broken: list[list[str]] = []
    add = src.add
    for line, row in rows:
        if len(row) != width:
            if _is_blank(row):
                add(line, None, "expected a row of values, found a blank line")
            else:
                hint = " (quote values that contain a comma)" if len(row) > width else ""
                add(line, None, f"expected {width} fields as in the header, found {len(row)}{hint}")
                broken.append(row)
            continue
        lines.append(line)
        for index, parse, out, column in plan:
            try:
                out.append(parse(row[index]))
            except _Bad as bad:
                out.append(_BAD)
                add(line, column, bad.message)
    return _Table(lines, values, broken, header)


# --------------------------------------------------------------------------- rules


@dataclass
class _Registry:
    """What instruments.csv says: every ticker it names, and the kind of those it could read."""

    known: set[str]
    kinds: dict[str, str]
    #: the file it was read from (instruments.csv or instruments.parquet), for messages
    name: str = "instruments.csv"


def _check_instruments(src: _Source, table: _Table, *, one_fund: bool = False) -> _Registry:
    """Row rules that depend on ``kind``, unique tickers, and the rules over the whole file."""
    v = table.values
    first_line: dict[str, int] = {}
    kinds: dict[str, str] = {}
    complete = not table.broken  # every row read, so the whole-file counts can be trusted
    theme_index: list[int] = []
    benchmark_index: list[int] = []
    theme_etfs = 0
    rows = zip(
        table.lines,
        v["ticker"],
        v["kind"],
        v["role"],
        v["issuer"],
        v["expense_ratio"],
        v["expense_ratio_text"],
        strict=True,
    )
    for line, ticker, kind, role, issuer, expense, expense_text in rows:
        if ticker is not _BAD:
            if ticker in first_line:
                src.add(
                    line,
                    "ticker",
                    f"expected each ticker once, found {_show(ticker)} again "
                    f"(first on line {first_line[ticker]})",
                )
            else:
                first_line[ticker] = line
                if kind is not _BAD:
                    kinds[ticker] = kind
        if kind is _BAD or role is _BAD:
            complete = False
            continue
        if kind == "etf":
            theme_etfs += role == "theme"
            if issuer is None:
                src.add(line, "issuer", "expected the ETF's issuer, found an empty value")
            if expense is not _BAD and math.isnan(expense):
                src.add(
                    line, "expense_ratio", "expected the ETF's expense ratio, found an empty value"
                )
        else:
            (theme_index if role == "theme" else benchmark_index).append(line)
            if issuer is not None and issuer is not _BAD:
                message = f"expected an empty value for an index, found {_show(issuer)}"
                src.add(line, "issuer", message)
            if expense is not _BAD and not math.isnan(expense):
                message = f"expected an empty value for an index, found {_show(expense_text)}"
                src.add(line, "expense_ratio", message)
    if complete:
        for role, found in (("theme", theme_index), ("benchmark", benchmark_index)):
            if not found:
                src.add(None, None, f"expected exactly one index with role {role}, found none")
            for line in found[1:]:
                src.add(
                    line,
                    "role",
                    f"expected exactly one index with role {role}, "
                    f"found another (first on line {found[0]})",
                )
        if not theme_etfs and not one_fund:
            src.add(None, None, "expected at least one ETF with role theme, found none")
    known = set(first_line)
    ticker_at = table.header["ticker"]
    known.update(row[ticker_at] for row in table.broken if ticker_at < len(row))
    return _Registry(known, kinds, src.name)


def _report_groups(
    src: _Source,
    column: str,
    table: _Table,
    rows: np.ndarray,
    codes: np.ndarray,
    message: Callable[[int, int], str],
) -> None:
    """One problem per ticker code, on its first row, listing the further rows.

    ``message(code, first_row)`` words it; ``rows`` are row positions in ``table``.
    """
    groups: dict[int, list[int]] = {}
    for row in rows.tolist():
        groups.setdefault(int(codes[row]), []).append(row)
    lines = table.lines
    for code, found in groups.items():
        src.add(lines[found[0]], column, message(code, found[0]) + _also([lines[r] for r in found]))


@dataclass
class _Tickers:
    """The tickers of one file's rows: a code per row, and per code the ticker and its kind."""

    codes: np.ndarray
    tickers: np.ndarray
    kinds: np.ndarray


def _check_tickers(
    src: _Source, table: _Table, column: str, registry: _Registry, *, etf_only: bool
) -> _Tickers:
    """Every ticker is in instruments.csv (and an ETF, where only ETFs belong)."""
    codes, uniques = pd.factorize(np.array(table.values[column], dtype=object))
    kinds = np.array([registry.kinds.get(t) if t is not _BAD else None for t in uniques])
    if src.stem == "holdings":
        etf = "expected an ETF ticker as the fund, found the index {}"
    else:
        etf = "expected an ETF (" + src.name + " holds ETF data only), found the index {}"
    verdicts: dict[int, str] = {}
    for code, ticker in enumerate(uniques):
        if ticker is _BAD:
            continue
        if ticker not in registry.known:
            verdicts[code] = f"expected a ticker listed in {registry.name}, found {_show(ticker)}"
        elif etf_only and kinds[code] == "index":
            verdicts[code] = etf.format(_show(ticker))
    if verdicts:
        rows = np.flatnonzero(np.isin(codes, list(verdicts)))
        _report_groups(src, column, table, rows, codes, lambda code, _: verdicts[code])
    return _Tickers(codes, uniques, kinds)


def _check_volume(src: _Source, table: _Table, tickers: _Tickers) -> None:
    """``volume`` is required for ETFs and empty for indexes, as instruments.csv says."""
    raw = table.values["volume"]
    volume = np.array([-1.0 if x is _BAD else x for x in raw], dtype=np.float64)
    empty = np.isnan(volume)
    row_kind = tickers.kinds[tickers.codes] if len(raw) else np.array([], dtype=object)
    names = tickers.tickers

    def missing(code: int, _: int) -> str:
        return f"expected the day's volume of the ETF {_show(names[code])}, found an empty value"

    def extra(code: int, row: int) -> str:
        found = _show(str(int(volume[row])))
        return f"expected an empty value for the index {_show(names[code])}, found {found}"

    etf_rows = np.flatnonzero((row_kind == "etf") & empty)
    _report_groups(src, "volume", table, etf_rows, tickers.codes, missing)
    index_rows = np.flatnonzero((row_kind == "index") & ~empty & (volume >= 0))
    _report_groups(src, "volume", table, index_rows, tickers.codes, extra)


def _check_duplicates(src: _Source, table: _Table, key: tuple[str, ...]) -> None:
    """At most one row per key; a repeat names the line of the first."""
    if not table.lines:
        return
    columns = {name: np.array(table.values[name], dtype=object) for name in key}
    parsed = np.ones(len(table.lines), dtype=bool)
    for name in key:
        parsed &= columns[name] != _BAD
    kept = {name: array[parsed] for name, array in columns.items()}
    frame = pd.DataFrame(kept)
    lines = np.array(table.lines, dtype=np.int64)[parsed]
    repeated = frame.duplicated(list(key), keep="first").to_numpy()
    if not repeated.any():
        return
    frame["_line"] = lines
    first = frame.groupby(list(key), sort=False)["_line"].transform("first").to_numpy()
    column = key[0] if len(key) == 1 else None
    shown_key = ", ".join(key)
    for row in np.flatnonzero(repeated).tolist():
        parts: list[Any] = [kept[name][row] for name in key]
        shown = ", ".join(
            _iso(part) if name in _DATE_COLUMNS else str(part)
            for name, part in zip(key, parts, strict=True)
        )
        src.add(
            int(lines[row]),
            column,
            f"expected one row per ({shown_key}), found a second row for {shown} "
            f"(first on line {int(first[row])})",
        )


def _check_weight_sums(src: _Source, table: _Table) -> None:
    """A fund's weights on one ``as_of`` sum to at most 1 (+ tolerance)."""
    v = table.values
    sums: dict[tuple[str, int], list[Any]] = {}
    for line, fund, as_of, weight in zip(
        table.lines, v["fund"], v["as_of"], v["weight"], strict=True
    ):
        if fund is _BAD or as_of is _BAD or weight is _BAD:
            continue
        entry = sums.setdefault((fund, as_of), [line, 0.0])
        entry[1] += weight
    for (fund, as_of), (line, total) in sums.items():
        if total > 1.0 + WEIGHT_SUM_TOLERANCE:
            src.add(
                line,
                "weight",
                f"expected the weights of {_show(fund)} on {_iso(as_of)} to sum to at most 1, "
                f"found {total:.9g}",
            )


# --------------------------------------------------------------------------- sources.yaml


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    kind = node.tag.rsplit(":", 1)[-1]
    if kind == "str":
        return _show(node.value)
    if kind == "null":
        return "nothing (null)"
    if kind == "bool":
        return f"the boolean {node.value}"
    return f"the {'number' if kind in ('int', 'float') else kind} {node.value}"


def _read_sources(src: _Source) -> tuple[dict[str, str], str | None]:
    """``sources.yaml``: a source for every file, optional label; problems located LINE:COLUMN."""
    sources: dict[str, str] = {}
    try:
        raw = src.path.read_bytes()
    except FileNotFoundError:
        src.add(None, None, f"expected the file {src.name} naming each file's source, found none")
        return sources, None
    except OSError as err:
        src.add(None, None, f"expected a readable file, found an error: {err.strerror}")
        return sources, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        src.add(line, None, f"expected UTF-8 text, found the byte 0x{raw[err.start]:02X}")
        return sources, None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        src.add(where[0], None, f"expected valid YAML, found an error: {err.problem}", where[1])
        return sources, None
    except yaml.YAMLError as err:
        src.add(None, None, f"expected valid YAML, found an error: {err}")
        return sources, None

    def at(node: yaml.Node, message: str) -> None:
        src.add(node.start_mark.line + 1, None, message, node.start_mark.column + 1)

    stems = (*CSV_FILES, "label")
    if not isinstance(root, yaml.MappingNode):
        found = "an empty file" if root is None else _describe(root)
        message = f"expected a mapping with a source for each file, found {found}"
        if root is None:
            src.add(None, None, message)
        else:
            at(root, message)
        return sources, None
    label: str | None = None
    seen: dict[str, int] = {}
    for key, value in root.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name is None or name not in stems:
            at(key, f"expected one of {', '.join(stems)}, found {_describe(key)}")
            continue
        if name in seen:
            at(key, f"expected {name} once, found it again (first on line {seen[name]})")
            continue
        seen[name] = key.start_mark.line + 1
        if name == "label":
            if _is_text(value):
                label = value.value
            else:
                at(value, f"expected the label as text, found {_describe(value)}")
            continue
        pairs = value.value if isinstance(value, yaml.MappingNode) else []
        entry = {k.value: v for k, v in pairs if isinstance(k, yaml.ScalarNode)}
        if not isinstance(value, yaml.MappingNode):
            at(value, f'expected {{source: "<who published it>"}}, found {_describe(value)}')
        elif "source" not in entry:
            at(value, f"expected a source for {name}, found none")
        elif not _is_text(entry["source"]):
            at(entry["source"], f"expected the source as text, found {_describe(entry['source'])}")
        else:
            sources[name] = entry["source"].value
    for stem in CSV_FILES:
        if stem not in seen:
            src.add(None, None, f'expected an entry {stem}: {{source: "..."}}, found none')
    return sources, label


def _is_text(node: yaml.Node) -> bool:
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:str"
        and node.value.strip() != ""
    )


# --------------------------------------------------------------------------- frames


def _dates(days: list[Any]) -> np.ndarray:
    ints = np.array([_NAT if d is None else d for d in days], dtype=np.int64)
    return ints.view("datetime64[D]").astype("datetime64[ns]")


def _frame(stem: str, table: _Table) -> pd.DataFrame:
    """The typed, sorted frame of a file that passed every check."""
    columns: dict[str, np.ndarray] = {}
    for name in COLUMNS[stem]:
        values = table.values[name]
        if name in _DATE_COLUMNS:
            columns[name] = _dates(values)
        elif name in _FLOAT_COLUMNS:
            columns[name] = np.array(values, dtype=np.float64)
        else:
            columns[name] = np.array(values, dtype=object)
    sort_by = {
        "instruments": ("ticker",),
        "holdings": ("fund", "as_of", "security"),
    }.get(stem, ("ticker", "date"))
    # np.lexsort sorts by the last key first, and on codes, not on Python strings.
    keys = [pd.factorize(columns[name], sort=True)[0] for name in reversed(sort_by)]
    order = np.lexsort(keys) if len(table.lines) else np.array([], dtype=np.intp)
    return pd.DataFrame(
        {name: pd.Series(array[order], dtype=array.dtype) for name, array in columns.items()}
    )
