"""Write a large synthetic dataset (contract section 1) for benchmarks: N ETFs x Y years, daily.

Run as::

    .venv/bin/python scripts/make_large_dataset.py --etfs 5000 --years 10 --out /tmp/large \\
        [--format csv|parquet|both] [--seed 0] [--as-of 2026-03-31]

``--format both`` writes ``OUT/csv/`` and ``OUT/parquet/`` (a folder may not hold
both formats of one file); ``csv`` or ``parquet`` (the default) writes into ``OUT``.

Why it exists: the bundled sample has 12 ETFs; the loader and the metrics must be
timed on 100 to 5,000 ETFs x 10 years (5,000 x 10 y is ~13 M rows in each dated
file). So everything is whole-array numpy (no per-row Python), and the files are
written by pyarrow (its CSV writer is C++, and fast).

What it writes (valid by construction, so ``load_dataset`` accepts it):

- ``instruments``: one theme index (``IDXTHEME``), one benchmark index
  (``IDXBENCH``) and N ETFs ``E0001``... (the first is always a theme ETF, the
  others theme with probability 0.8, benchmark otherwise), with issuer, expense
  ratio and an inception date (empty for about one ETF in ten).
- ``prices``: a close for every business day (Monday to Friday, no holidays) of
  the Y years up to ``--as-of``, for both indexes and every live ETF; about one
  ETF in seven launches partway through (its rows start later: the universe logic
  is exercised), and about 0.05 % of ETF price rows are missing (a ticker may miss
  days). Volumes are whole shares; indexes have none.
- ``flows``, ``aum``, ``spreads``: a row per live ETF and business day (AUM =
  shares outstanding x close, flows = change in shares x close, whole dollars).
- ``holdings``: for about 85 % of ETFs, 10 to 40 securities on the last business
  day of each calendar quarter the fund was live, weights summing to at most 0.99.
- ``sources.yaml``: a label saying the data is synthetic.

Rows are in the sample's order (dated files by date, then ticker; holdings by
as_of, fund, security). Numbers are exact decimals: closes have 4 decimals,
spreads 2, weights 6, expense ratios 4, dollars and shares are integers. Parquet
holds them as float64 (or int64) equal to the decimal text the CSV holds, so a
load of either format gives equal frames.

Determinism: one ``numpy.random.default_rng(seed)`` stream drawn in a fixed order,
no clock, no hash(); the same arguments give byte-identical files (on the same
numpy and pyarrow versions).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import yaml

THEME_INDEX = "IDXTHEME"
BENCH_INDEX = "IDXBENCH"
LABEL = "Synthetic benchmark data (scripts/make_large_dataset.py) - not actual market data"
SOURCE = "Synthetic data generator (scripts/make_large_dataset.py)"
STEMS = ("instruments", "prices", "flows", "aum", "spreads", "holdings")
SECTORS = (
    ("Semiconductors", "infrastructure"),
    ("Hardware", "infrastructure"),
    ("Cloud Infrastructure", "infrastructure"),
    ("Software", "platform"),
    ("Internet Services", "platform"),
    ("Data Platforms", "platform"),
    ("Software", "application"),
    ("Industrials/Robotics", "application"),
)
SECURITIES = 3000
ISSUERS = 25
LATE_LAUNCH_SHARE = 0.15
MISSING_PRICE_SHARE = 0.0005
HOLDINGS_SHARE = 0.85


@dataclass
class Table:
    """One file's columns: the exact decimal values as (unscaled int64, decimals)."""

    columns: dict[str, pa.Array | tuple[np.ndarray, int]]

    def arrow(self, *, text_decimals: bool) -> pa.Table:
        """Parquet: decimals as float64; CSV: as decimal128, which prints every decimal place."""
        out: dict[str, pa.Array] = {}
        for name, column in self.columns.items():
            if isinstance(column, tuple):
                unscaled, scale = column
                out[name] = _decimal(unscaled, scale) if text_decimals else _float(unscaled, scale)
            else:
                out[name] = column
        return pa.table(out)


def _float(unscaled: np.ndarray, scale: int) -> pa.Array:
    # Both operands are exact doubles, so IEEE division gives the double nearest the decimal
    # value: the same double the loader's float() of the CSV text gives.
    return pa.array(unscaled / float(10**scale), pa.float64())


def _decimal(unscaled: np.ndarray, scale: int) -> pa.Array:
    """decimal128 straight from the unscaled integers (16-byte little-endian two's complement)."""
    words = np.empty((len(unscaled), 2), dtype=np.int64)
    words[:, 0] = unscaled
    words[:, 1] = unscaled >> 63
    return pa.Array.from_buffers(
        pa.decimal128(18, scale), len(unscaled), [None, pa.py_buffer(words)]
    )


def business_days(as_of: date, years: int) -> np.ndarray:
    """Monday-to-Friday days after the same day ``years`` earlier, up to ``as_of``."""
    day = min(as_of.day, 28) if as_of.month == 2 else as_of.day
    start = date(as_of.year - years, as_of.month, day)
    days = np.arange(np.datetime64(start) + 1, np.datetime64(as_of) + 1, dtype="datetime64[D]")
    return days[np.is_busday(days)]


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("datetime64[D]").astype(np.int32), pa.date32())


def _text(codes: np.ndarray, names: Sequence[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(names))


def generate(etfs: int, years: int, seed: int, as_of: date) -> dict[str, Table]:
    """The whole dataset as tables (stem -> Table); deterministic for the arguments."""
    if etfs < 1 or years < 1:
        raise ValueError("--etfs and --years must be at least 1")
    rng = np.random.default_rng(seed)
    days = business_days(as_of, years)
    n_days = len(days)
    width = max(4, len(str(etfs)))
    tickers = [f"E{i + 1:0{width}d}" for i in range(etfs)]
    # Column j of the daily matrices: ETFs (sorted names) then the two indexes, which
    # sort after every "E..." ticker: row-major order of a (day, column) mask is the
    # files' (date, ticker) order.
    names = [*tickers, BENCH_INDEX, THEME_INDEX]

    theme = rng.random(etfs) < 0.8
    theme[0] = True
    late = rng.random(etfs) < LATE_LAUNCH_SHARE
    launch = np.where(late, rng.integers(1, n_days, etfs), 0)
    issuer = rng.integers(0, ISSUERS, etfs)
    fee = np.where(theme, rng.integers(20, 76, etfs), rng.integers(3, 21, etfs))  # 1e-4 units
    no_inception = (rng.random(etfs) < 0.1) & ~late
    inception = np.where(
        late, days[launch], days[0] - rng.integers(30, 4000, etfs).astype("timedelta64[D]")
    )
    instruments = _instruments(tickers, theme, issuer, fee, inception, no_inception)

    # Daily log returns: benchmark index, theme index (beta 1.25 plus its own factor),
    # each ETF loading on its role's index plus its own noise.
    bench = rng.normal(0.0004, 0.011, n_days)
    theme_r = 1.25 * bench + rng.normal(0.0, 0.007, n_days)
    beta = np.where(theme, rng.uniform(0.8, 1.3, etfs), rng.uniform(0.97, 1.03, etfs))
    idio = np.where(theme, rng.uniform(0.002, 0.01, etfs), rng.uniform(0.0002, 0.001, etfs))
    factor = np.where(theme[None, :], theme_r[:, None], bench[:, None])
    log_close = rng.standard_normal((n_days, etfs))
    log_close *= idio
    log_close += beta * factor
    del factor
    log_close[0] = 0.0
    np.cumsum(log_close, axis=0, out=log_close)
    log_close += np.log(rng.uniform(20.0, 200.0, etfs))
    close = np.rint(np.exp(log_close) * 1e4).astype(np.int64)  # 1e-4 units
    del log_close
    np.maximum(close, 1, out=close)
    index_close = np.rint(
        1000.0 * np.exp(np.cumsum(np.stack([bench, theme_r], axis=1), axis=0)) * 1e4
    ).astype(np.int64)

    live = np.arange(n_days)[:, None] >= launch[None, :]
    shares_log = rng.normal(0.0003, 0.004, (n_days, etfs))
    shares_log[0] = 0.0
    np.cumsum(shares_log, axis=0, out=shares_log)
    shares = np.exp(shares_log) * np.exp(rng.uniform(np.log(2e5), np.log(5e7), etfs))
    del shares_log
    price = close / 1e4
    aum = np.maximum(np.rint(shares * price), 1).astype(np.int64)
    flows = np.zeros((n_days, etfs), dtype=np.int64)
    flows[1:] = np.rint(np.diff(shares, axis=0) * price[1:])
    flows[launch, np.arange(etfs)] = 0  # a fund's first day has no flow of its own
    volume = np.rint(shares * rng.lognormal(np.log(0.01), 0.6, (n_days, etfs))).astype(np.int64)
    del shares
    base = rng.uniform(1.0, 30.0, etfs)
    spread = np.rint(
        base * (aum / 1e9) ** -0.15 * rng.lognormal(0.0, 0.2, (n_days, etfs)) * 100
    ).astype(np.int64)  # 1e-2 bps
    del price

    # prices: ETFs live that day (a few missing), and both indexes every day
    priced = live & (rng.random((n_days, etfs)) >= MISSING_PRICE_SHARE)
    priced[launch, np.arange(etfs)] = True  # the first day is always there
    mask = np.concatenate([priced, np.ones((n_days, 2), dtype=bool)], axis=1)
    day_at, col_at = np.nonzero(mask)
    all_close = np.concatenate([close, index_close], axis=1)[mask]
    all_volume = np.concatenate([volume, np.zeros((n_days, 2), dtype=np.int64)], axis=1)[mask]
    prices = Table(
        {
            "date": _dates(days[day_at]),
            "ticker": _text(col_at, names),
            "close": (all_close, 4),
            "volume": pa.array(all_volume, pa.int64(), mask=col_at >= etfs),
        }
    )
    del all_close, all_volume, day_at, col_at, mask, priced, close, volume

    day_at, col_at = np.nonzero(live)
    date_array, ticker_array = _dates(days[day_at]), _text(col_at, names)
    tables = {
        "instruments": instruments,
        "prices": prices,
        "flows": Table(
            {"date": date_array, "ticker": ticker_array, "net_flow_usd": (flows[live], 0)}
        ),
        "aum": Table({"date": date_array, "ticker": ticker_array, "aum_usd": (aum[live], 0)}),
        "spreads": Table(
            {"date": date_array, "ticker": ticker_array, "spread_bps": (spread[live], 2)}
        ),
        "holdings": _holdings(rng, days, launch, tickers),
    }
    return tables


def _instruments(
    tickers: list[str],
    theme: np.ndarray,
    issuer: np.ndarray,
    fee: np.ndarray,
    inception: np.ndarray,
    no_inception: np.ndarray,
) -> Table:
    n = len(tickers)
    index = np.arange(n + 2) >= n
    return Table(
        {
            "ticker": pa.array([*tickers, BENCH_INDEX, THEME_INDEX]),
            "name": pa.array(
                [
                    f"Synthetic {'Theme' if t else 'Benchmark'} ETF {i + 1}"
                    for i, t in enumerate(theme)
                ]
                + ["Synthetic Benchmark Index", "Synthetic Theme Index"]
            ),
            "kind": pa.array(["etf"] * n + ["index", "index"]),
            "role": pa.array(
                [*np.where(theme, "theme", "benchmark").tolist(), "benchmark", "theme"]
            ),
            "issuer": pa.array([f"Synthetic Issuer {i + 1:02d}" for i in issuer] + [None, None]),
            "expense_ratio": pa.array(
                np.concatenate([fee / 1e4, [0.0, 0.0]]), pa.float64(), mask=index
            ),
            "inception_date": pa.array(
                np.concatenate([inception.astype(np.int64), [0, 0]]).astype(np.int32),
                pa.date32(),
                mask=np.concatenate([no_inception, [True, True]]),
            ),
        }
    )


def _holdings(
    rng: np.random.Generator, days: np.ndarray, launch: np.ndarray, tickers: list[str]
) -> Table:
    """Quarter-end portfolios: (fund, quarter) groups of 10-40 securities, weights <= 0.99."""
    etfs = len(tickers)
    # the last business day of each calendar quarter (March, June, September, December)
    following = np.busday_offset(days, 1, roll="forward").astype("datetime64[M]")
    months = days.astype("datetime64[M]")
    quarter_end = np.flatnonzero((months != following) & (months.astype(np.int64) % 3 == 2))
    has = rng.random(etfs) < HOLDINGS_SHARE
    size = rng.integers(10, 41, etfs)
    first_security = rng.integers(0, SECURITIES, etfs)
    fund_of, quarter_of = np.nonzero(has[:, None] & (quarter_end[None, :] >= launch[:, None]))
    group_size = size[fund_of]
    rows = int(group_size.sum())
    group = np.repeat(np.arange(len(fund_of)), group_size)
    starts = np.cumsum(group_size) - group_size
    position = np.arange(rows) - np.repeat(starts, group_size)
    security = (first_security[fund_of][group] + position) % SECURITIES
    raw = rng.gamma(1.0, 1.0, rows) + 0.01
    total = rng.uniform(0.9, 0.99, len(fund_of))
    share = raw / np.bincount(group, weights=raw, minlength=len(fund_of))[group]
    weight = np.floor(share * total[group] * 1e6).astype(np.int64)  # 1e-6 units

    fund = fund_of[group]
    as_of = days[quarter_end[quarter_of[group]]]
    order = np.lexsort((security, fund, as_of))  # as_of, then fund, then security
    fund, as_of, security, weight = fund[order], as_of[order], security[order], weight[order]
    width = len(str(SECURITIES))
    sector = security % len(SECTORS)
    return Table(
        {
            "as_of": _dates(as_of),
            "fund": _text(fund, tickers),
            "security": _text(security, [f"S{i + 1:0{width}d}" for i in range(SECURITIES)]),
            "name": _text(
                security, [f"Synthetic Holding {i + 1:0{width}d}" for i in range(SECURITIES)]
            ),
            "weight": (weight, 6),
            "sector": _text(sector, [s for s, _ in SECTORS]),
            "bucket": _text(sector, [b for _, b in SECTORS]),
        }
    )


def sources_yaml() -> str:
    return yaml.safe_dump(
        {"label": LABEL, **{stem: {"source": SOURCE} for stem in STEMS}},
        sort_keys=False,
        allow_unicode=True,
    )


def write(tables: dict[str, Table], out: Path, fmt: str) -> list[tuple[Path, int]]:
    """Write one format into ``out``; returns (path, rows) of each data file."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, int]] = []
    for stem in STEMS:
        table = tables[stem].arrow(text_decimals=fmt == "csv")
        path = out / f"{stem}.{fmt}"
        if fmt == "csv":
            pa_csv.write_csv(table, path)
        else:
            pq.write_table(table, path, compression="zstd")
        written.append((path, table.num_rows))
    (out / "sources.yaml").write_text(sources_yaml(), encoding="utf-8")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etfs", type=int, required=True, help="number of ETFs")
    parser.add_argument("--years", type=int, required=True, help="years of daily rows")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--format", choices=("csv", "parquet", "both"), default="parquet")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=date(2026, 3, 31), help="last day (YYYY-MM-DD)"
    )
    args = parser.parse_args(argv)
    if args.etfs < 1 or args.years < 1:
        parser.error("--etfs and --years must be at least 1")
    started = time.perf_counter()
    tables = generate(args.etfs, args.years, args.seed, args.as_of)
    print(
        f"generated {args.etfs} ETFs x {args.years} years in {time.perf_counter() - started:.1f} s"
    )
    formats = ("csv", "parquet") if args.format == "both" else (args.format,)
    for fmt in formats:
        began = time.perf_counter()
        folder = args.out / fmt if args.format == "both" else args.out
        for path, rows in write(tables, folder, fmt):
            size = path.stat().st_size / 2**20
            print(f"  {path.name:<20} {rows:>12,} rows {size:>9.1f} MiB")
        print(f"wrote {fmt} into {folder} in {time.perf_counter() - began:.1f} s")
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
