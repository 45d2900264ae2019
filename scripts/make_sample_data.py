"""Generate the bundled, entirely fictional sample dataset in ``data/sample/``.

Run as ``.venv/bin/python scripts/make_sample_data.py [--out data/sample]``.

The story
---------
The dataset describes a made-up universe of AI-themed ETFs from made-up issuers
(Northwind Funds, Halcyon Asset Management, Bramblecrest Capital, ...), two
made-up indexes (the *Meridian AI Leaders Index*, role ``theme``, and the
*Meridian Broad Tech 100 Index*, role ``benchmark``) and three cheap broad
trackers (role ``benchmark``). Every business day from 2016-01-04 to 2026-04-30
has a close for each instrument live then (US-style market holidays are left
out, and a handful of days are missing for one ETF and for the theme index, as
in real vendor files), and every ETF has daily flows, assets and quoted spreads
from its first day, plus (for all theme ETFs but one) quarterly holdings.

History looks like a technology market: calm 2016-17, a sharp fourth quarter of
2018, the spring-2020 crash and rebound, a 2022 bear market (the theme index
falls about 35-40 % from its late-2021 peak), recovery in 2023-24, a sharp sell-off
and rebound in April 2025, and a strong run into the first quarter of 2026. April
2026 is a mild down month for the theme, with small net outflows, so a note as
of 2026-04-30 reads differently from one as of 2026-03-31.

As of 2026-03-31, computed with the contract's metric conventions (section 2),
the data tells the reference note's numeric story:

- theme ETFs took in net flows of $4.2bn year to date (and positive flows in March);
- the theme index is up 15.0 % year to date, the benchmark index 7.0 %
  (relative +8.0 pp); over 12 months the benchmark index is up 22.0 % and the
  theme index 30.0 %;
- the robotics & AI ETF (HLRA) returned 34.0 % over 12 months;
- the largest theme ETF (NWAI) manages $2.1bn; the five largest theme ETFs
  quote median spreads under 10 bp, the small ones wider;
- theme ETF expense ratios run from 0.20 % to 0.65 %, benchmark ETFs from
  0.03 % to 0.10 %.

How the calibration works (by construction, never by searching seeds)
----------------------------------------------------------------------
- Prices: daily log returns are simulated from a seeded numpy Generator (fat
  tailed shocks, a shared stochastic-volatility factor and dated stress regimes);
  the theme index loads on the benchmark with a beta of 1.25 plus its own
  factor; each ETF loads on both with its own beta and noise, minus its fee.
  Then, for each *segment* between two checkpoints, a constant is added to every
  daily log return of the segment so that the segment's total return is exactly
  the target. Index checkpoints are levels (year ends, 2020 and 2022 peaks and
  troughs, ...); the calibrated windows are the segments ending 2025-03-31,
  2025-12-31, 2026-03-31 and 2026-04-30, so that the YTD return
  (2025-12-31 -> 2026-03-31) and the 12-month return (2025-03-31 -> 2026-03-31)
  hit their targets exactly. Theme ETFs get explicit targets on the same
  windows. Closes are written with 4 decimals, which moves a return by < 1e-5.
- Flows and assets: until 2025-12-31 a day's flow is a (sparse, random) fraction
  of the fund's assets, so AUM_t = AUM_(t-1) x close_t / close_(t-1) + flow_t is
  proportional to the starting assets; each month of 2026 has an explicit total
  per fund (Q1 totals sum to $4.2bn, April totals are small outflows), spread
  over random days. The starting assets (or seed capital at launch) are then
  solved from that linear relation so that the fund's AUM on 2026-03-31 is its
  target. Flows and assets are whole dollars, and the recursion uses the
  rounded flows and the written closes.
- Spreads shrink with fund size (about 5 bp x (AUM / $1bn) ^ -0.8, at least
  1.2 bp, widening in stress), volumes are a noisy turnover of assets, and holdings use rank
  weights k ^ -alpha with alpha solved so that the top ten weigh a chosen share.

Determinism: each random stream is ``np.random.default_rng([SEED, crc32(name)])``
(no clock, no ``hash()``, no locale), numbers are formatted with fixed decimals,
rows are sorted (by date, then ticker; holdings by as_of, fund, security) and
lines end with ``\\n``. Running the script twice gives byte-identical files (on
the same numpy version and platform).
"""

from __future__ import annotations

import argparse
import itertools
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

SEED = 20260331
START = date(2016, 1, 4)
END = date(2026, 4, 30)
AS_OF = date(2026, 3, 31)
YEAR_START = date(2025, 12, 31)  # the YTD base at AS_OF
YEAR_AGO = date(2025, 3, 31)  # one year before AS_OF

LABEL = "Illustrative sample data - not actual market data"
SOURCES = {
    "instruments": "Issuer prospectuses (illustrative)",
    "prices": "Meridian Index Services and exchange closes (illustrative)",
    "flows": "Fundtrack Flow Monitor (illustrative)",
    "aum": "Issuer fact sheets (illustrative)",
    "spreads": "Quotewell Market Data (illustrative)",
    "holdings": "Issuer holdings files (illustrative)",
}

THEME_INDEX = "MERAI"
BENCH_INDEX = "MERBT"
THEME_BETA = 1.25  # the theme index's loading on the benchmark index

#: Index checkpoints: date -> (benchmark level, theme level). Segments between
#: consecutive checkpoints are forced to these levels exactly.
_B_Q1_25, _T_Q1_25 = 16850.0, 5080.0
BENCH_12M, BENCH_YTD, BENCH_APR = 0.22, 0.07, -0.015
THEME_12M, THEME_YTD, THEME_APR = 0.30, 0.15, -0.035
INDEX_CHECKPOINTS: tuple[tuple[date, float, float], ...] = (
    (date(2016, 1, 4), 4000.0, 1000.0),
    (date(2016, 2, 11), 3640.0, 865.0),
    (date(2016, 12, 30), 4240.0, 1085.0),
    (date(2017, 12, 29), 5580.0, 1525.0),
    (date(2018, 9, 28), 6560.0, 1840.0),
    (date(2018, 12, 24), 5120.0, 1345.0),
    (date(2018, 12, 31), 5480.0, 1415.0),
    (date(2019, 12, 31), 7530.0, 2005.0),
    (date(2020, 2, 19), 8420.0, 2290.0),
    (date(2020, 3, 23), 6060.0, 1570.0),
    (date(2020, 12, 31), 10980.0, 3290.0),
    (date(2021, 11, 19), 14200.0, 4200.0),
    (date(2021, 12, 31), 13870.0, 4040.0),
    (date(2022, 3, 14), 11800.0, 3320.0),
    (date(2022, 3, 29), 12900.0, 3640.0),
    (date(2022, 6, 16), 10300.0, 2980.0),
    (date(2022, 8, 16), 11950.0, 3480.0),
    (date(2022, 10, 13), 10000.0, 3000.0),
    (date(2022, 12, 30), 9900.0, 2960.0),
    (date(2023, 7, 31), 13500.0, 4250.0),
    (date(2023, 12, 29), 14380.0, 4420.0),
    (date(2024, 7, 10), 17600.0, 5700.0),
    (date(2024, 8, 5), 15800.0, 4950.0),
    (date(2024, 12, 31), 17950.0, 5600.0),
    (date(2025, 2, 19), 18650.0, 5900.0),
    (YEAR_AGO, _B_Q1_25, _T_Q1_25),
    (date(2025, 4, 8), 15050.0, 4380.0),
    (date(2025, 4, 30), 16600.0, 4950.0),
    (
        YEAR_START,
        _B_Q1_25 * (1 + BENCH_12M) / (1 + BENCH_YTD),
        _T_Q1_25 * (1 + THEME_12M) / (1 + THEME_YTD),
    ),
    (AS_OF, _B_Q1_25 * (1 + BENCH_12M), _T_Q1_25 * (1 + THEME_12M)),
    (
        END,
        _B_Q1_25 * (1 + BENCH_12M) * (1 + BENCH_APR),
        _T_Q1_25 * (1 + THEME_12M) * (1 + THEME_APR),
    ),
)

#: Dated stress regimes: (first day, last day, volatility multiplier).
REGIMES: tuple[tuple[date, date, float], ...] = (
    (date(2016, 1, 4), date(2016, 2, 29), 1.3),
    (date(2016, 3, 1), date(2017, 12, 31), 0.7),
    (date(2018, 2, 1), date(2018, 4, 30), 1.3),
    (date(2018, 10, 1), date(2018, 12, 31), 1.5),
    (date(2020, 2, 20), date(2020, 4, 30), 3.0),
    (date(2020, 5, 1), date(2020, 12, 31), 1.4),
    (date(2021, 1, 1), date(2021, 12, 31), 1.1),
    (date(2022, 1, 1), date(2022, 12, 31), 1.45),
    (date(2023, 1, 1), date(2023, 6, 30), 1.1),
    (date(2025, 4, 1), date(2025, 4, 30), 2.0),
)
BENCH_DAILY_VOL = 0.0100
THEME_IDIO_VOL = 0.0068


@dataclass(frozen=True)
class Etf:
    ticker: str
    name: str
    role: str
    issuer: str
    expense_ratio: float
    inception: date
    start_price: float
    beta: float  # loading on the benchmark index
    theme_load: float  # loading on the theme index's own factor
    idio_vol: float  # daily own noise
    aum_target: float  # AUM at AS_OF
    targets: tuple[float | None, float | None, float | None] = (None, None, None)
    """(12-month, YTD, April) total-return targets at AS_OF; None leaves it free."""
    ytd_flows: float = 0.0  # theme ETFs: net flows 2026-01-01..2026-03-31
    april_flow_frac: float = 0.0  # theme ETFs: April 2026 net flows / AUM at AS_OF
    flow_mult: float = 1.0  # scales the yearly flow rates before 2026
    flow_day_prob: float = 0.5  # share of days with a flow
    spread_scale_bps: float = 5.0  # spread at $1bn of assets
    turnover: float = 0.015  # daily dollar volume / assets
    holdings: tuple[int, float, dict[str, float]] | None = None
    """(number of securities, top-10 weight, sector preferences); None: no holdings."""


ETFS: tuple[Etf, ...] = (
    Etf(
        "NWAI", "Northwind AI Leaders ETF", "theme", "Northwind Funds", 0.0045,
        date(2014, 9, 15), 28.40, 1.25, 1.0, 0.0030, 2.10e9, (0.29, 0.145, -0.036),
        ytd_flows=1.05e9, april_flow_frac=-0.012, flow_mult=1.0, flow_day_prob=0.7,
        spread_scale_bps=5.0, turnover=0.012,
        holdings=(28, 0.56, {"Semiconductors": 3, "Software": 3, "Cloud Infrastructure": 2,
                             "Hardware": 1.5, "Internet Services": 2, "Industrials/Robotics": 1}),
    ),
    Etf(
        "HLRA", "Halcyon Robotics & AI ETF", "theme", "Halcyon Asset Management", 0.0050,
        date(2015, 5, 11), 21.75, 1.35, 0.8, 0.0060, 1.82e9, (0.34, 0.160, -0.042),
        ytd_flows=0.85e9, april_flow_frac=-0.015, flow_mult=1.1, flow_day_prob=0.65,
        spread_scale_bps=5.2, turnover=0.014,
        holdings=(26, 0.52, {"Industrials/Robotics": 5, "Semiconductors": 2, "Software": 1.5,
                             "Hardware": 1, "Cloud Infrastructure": 0.3,
                             "Internet Services": 0.2}),
    ),
    Etf(
        "BCAI", "Bramblecrest AI Infrastructure ETF", "theme", "Bramblecrest Capital", 0.0039,
        date(2013, 11, 4), 34.10, 1.50, 1.1, 0.0070, 1.56e9, (0.38, 0.185, -0.055),
        ytd_flows=0.75e9, april_flow_frac=-0.020, flow_mult=0.9, flow_day_prob=0.6,
        spread_scale_bps=4.8, turnover=0.016,
        holdings=(24, 0.61, {"Semiconductors": 4, "Hardware": 3, "Cloud Infrastructure": 3,
                             "Software": 0.5, "Internet Services": 0.2,
                             "Industrials/Robotics": 0.3}),
    ),
    Etf(
        "NWCL", "Northwind Cloud Computing ETF", "theme", "Northwind Funds", 0.0035,
        date(2016, 4, 11), 25.00, 1.15, 0.7, 0.0050, 1.30e9, (0.24, 0.118, -0.028),
        ytd_flows=0.55e9, april_flow_frac=-0.008, flow_mult=0.8, flow_day_prob=0.55,
        spread_scale_bps=5.0, turnover=0.011,
        holdings=(25, 0.50, {"Cloud Infrastructure": 4, "Software": 3, "Internet Services": 2,
                             "Hardware": 1, "Semiconductors": 0.5,
                             "Industrials/Robotics": 0.2}),
    ),
    Etf(
        "TWMI", "Tidewell Machine Intelligence ETF", "theme", "Tidewell Investments", 0.0020,
        date(2018, 6, 11), 25.00, 1.20, 0.9, 0.0040, 0.90e9, (0.31, 0.152, -0.034),
        ytd_flows=0.45e9, april_flow_frac=-0.010, flow_mult=1.0, flow_day_prob=0.5,
        spread_scale_bps=4.6, turnover=0.013,
        holdings=(30, 0.47, {"Semiconductors": 1, "Software": 1, "Cloud Infrastructure": 1,
                             "Hardware": 1, "Internet Services": 1, "Industrials/Robotics": 1}),
    ),
    Etf(
        "HLSW", "Halcyon AI Software ETF", "theme", "Halcyon Asset Management", 0.0058,
        date(2015, 2, 2), 30.20, 1.10, 0.8, 0.0060, 0.60e9, (0.20, 0.094, -0.022),
        ytd_flows=0.22e9, april_flow_frac=-0.018, flow_mult=0.7, flow_day_prob=0.45,
        spread_scale_bps=6.5, turnover=0.018,
        holdings=(22, 0.55, {"Software": 5, "Internet Services": 2, "Cloud Infrastructure": 1,
                             "Semiconductors": 0.2, "Hardware": 0.2,
                             "Industrials/Robotics": 0.2}),
    ),
    Etf(
        "QFGA", "Quillfeather Generative AI ETF", "theme", "Quillfeather Partners", 0.0065,
        date(2021, 10, 18), 25.00, 1.45, 1.2, 0.0090, 0.35e9, (0.27, 0.171, -0.061),
        ytd_flows=0.18e9, april_flow_frac=-0.025, flow_mult=1.2, flow_day_prob=0.35,
        spread_scale_bps=5.3, turnover=0.022,
        holdings=(20, 0.63, {"Software": 3, "Semiconductors": 2, "Internet Services": 2,
                             "Cloud Infrastructure": 1.5, "Hardware": 0.3,
                             "Industrials/Robotics": 0.2}),
    ),
    Etf(
        "WMCC", "Wrenmoor Cognitive Computing ETF", "theme", "Wrenmoor Advisors", 0.0060,
        date(2016, 8, 22), 20.00, 1.20, 0.9, 0.0070, 0.22e9, (0.22, 0.108, -0.031),
        ytd_flows=0.08e9, april_flow_frac=-0.012, flow_mult=0.6, flow_day_prob=0.3,
        spread_scale_bps=5.0, turnover=0.020,
        holdings=None,
    ),
    Etf(
        "LKNG", "Larkspur Next Generation AI ETF", "theme", "Larkspur Funds", 0.0055,
        date(2025, 6, 16), 25.00, 1.30, 1.0, 0.0080, 0.12e9, (None, 0.193, -0.048),
        ytd_flows=0.07e9, april_flow_frac=0.030, flow_mult=1.0, flow_day_prob=0.4,
        spread_scale_bps=4.4, turnover=0.025,
        holdings=(18, 0.60, {"Semiconductors": 2, "Software": 2, "Cloud Infrastructure": 2,
                             "Industrials/Robotics": 1, "Internet Services": 1,
                             "Hardware": 1}),
    ),
    Etf(
        "NWBT", "Northwind Broad Tech 100 ETF", "benchmark", "Northwind Funds", 0.0010,
        date(2009, 3, 9), 105.30, 1.00, 0.0, 0.0002, 38.0e9,
        flow_mult=0.6, flow_day_prob=0.9, spread_scale_bps=5.0, turnover=0.06,
    ),
    Etf(
        "HLTM", "Halcyon Total Market Index ETF", "benchmark", "Halcyon Asset Management",
        0.0003, date(2010, 11, 8), 52.60, 0.75, 0.0, 0.0040, 52.0e9,
        flow_mult=0.5, flow_day_prob=0.9, spread_scale_bps=5.0, turnover=0.008,
    ),
    Etf(
        "BCLT", "Bramblecrest Large Cap Technology ETF", "benchmark", "Bramblecrest Capital",
        0.0008, date(2012, 5, 21), 61.90, 1.05, 0.2, 0.0030, 14.0e9,
        flow_mult=0.7, flow_day_prob=0.8, spread_scale_bps=5.0, turnover=0.01,
    ),
)  # fmt: skip

INDEXES: tuple[tuple[str, str, str, date], ...] = (
    (THEME_INDEX, "Meridian AI Leaders Index", "theme", date(2014, 12, 31)),
    (BENCH_INDEX, "Meridian Broad Tech 100 Index", "benchmark", date(2009, 12, 31)),
)

#: Mean daily flow, as a fraction of assets, by calendar year (before 2026).
FLOW_RATE_BY_YEAR = {
    2016: 0.0002, 2017: 0.0008, 2018: 0.0002, 2019: 0.0002, 2020: 0.0012,
    2021: 0.0010, 2022: -0.0008, 2023: 0.0000, 2024: 0.0004, 2025: 0.0010,
}  # fmt: skip
#: Share of each 2026 Q1 flow total booked in January, February and March.
Q1_MONTH_SHARES = (0.27, 0.31, 0.42)

#: Missing price rows: (ticker, how many business days to drop).
MISSING_PRICE_DAYS = (("QFGA", 5), (THEME_INDEX, 2))

HOLDINGS_DATES = (date(2025, 9, 30), date(2025, 12, 31), date(2026, 3, 31), date(2026, 4, 30))

#: Fictional companies: (security, name, sector, bucket).
COMPANIES: tuple[tuple[str, str, str, str], ...] = (
    ("ARCT", "Arcturon Semiconductor", "Semiconductors", "infrastructure"),
    ("KSMD", "Kestrel Microdevices", "Semiconductors", "infrastructure"),
    ("NVLT", "Novalith Chips", "Semiconductors", "infrastructure"),
    ("PLSI", "Pellucid Silicon", "Semiconductors", "infrastructure"),
    ("QNTL", "Quantaris Logic", "Semiconductors", "infrastructure"),
    ("TBWW", "Thornbury Wafer Works", "Semiconductors", "infrastructure"),
    ("VTPH", "Vantrel Photonics", "Semiconductors", "infrastructure"),
    ("ZPMM", "Zephyrine Memory", "Semiconductors", "infrastructure"),
    ("OBLC", "Obelisk Circuitry", "Semiconductors", "infrastructure"),
    ("BFSY", "Brightforge Systems", "Hardware", "infrastructure"),
    ("CRVS", "Corvane Servers", "Hardware", "infrastructure"),
    ("HLVN", "Halvard Networks", "Hardware", "infrastructure"),
    ("IRVS", "Ironvale Storage", "Hardware", "infrastructure"),
    ("LMBO", "Lumenbridge Optics", "Hardware", "infrastructure"),
    ("STCH", "Stratacore Hardware", "Hardware", "infrastructure"),
    ("GLMT", "Glenmarch Thermal", "Hardware", "infrastructure"),
    ("CRGT", "Cirrusgate Cloud", "Cloud Infrastructure", "platform"),
    ("NMDC", "Nimbrel Data Centers", "Cloud Infrastructure", "infrastructure"),
    ("SKVH", "Skyvault Hosting", "Cloud Infrastructure", "infrastructure"),
    ("TSCS", "Tessaract Cloud Services", "Cloud Infrastructure", "platform"),
    ("UBQC", "Ubiqor Compute", "Cloud Infrastructure", "platform"),
    ("ALDM", "Aldermont Software", "Software", "platform"),
    ("BRSK", "Brisklane Analytics", "Software", "application"),
    ("CBLD", "Cobaltine Data", "Software", "platform"),
    ("EVQL", "Everquill Software", "Software", "application"),
    ("FNKL", "Fennick Labs", "Software", "platform"),
    ("GLMW", "Glimmerworks AI", "Software", "platform"),
    ("HRGS", "Harrowgate Security", "Software", "application"),
    ("INKL", "Inkwell Learning Systems", "Software", "application"),
    ("MSWD", "Mosswood Analytics", "Software", "application"),
    ("ORDL", "Orrindale Software", "Software", "platform"),
    ("QLND", "Quillon Data", "Software", "platform"),
    ("TLMC", "Tallowmere Cognition", "Software", "platform"),
    ("VBNL", "Verbena Language Labs", "Software", "platform"),
    ("DRFT", "Driftmere Media", "Internet Services", "application"),
    ("FBLC", "Fablecast Interactive", "Internet Services", "application"),
    ("GSMC", "Gossamer Commerce", "Internet Services", "application"),
    ("LNFS", "Lanternfly Search", "Internet Services", "application"),
    ("MRGS", "Marigold Social", "Internet Services", "application"),
    ("THTV", "Tandem Harbor Travel", "Internet Services", "application"),
    ("PXMK", "Pixelmark Advertising", "Internet Services", "application"),
    ("AXLR", "Axlewright Robotics", "Industrials/Robotics", "application"),
    ("CSPA", "Coilspring Automation", "Industrials/Robotics", "application"),
    ("DXTM", "Dexterion Machines", "Industrials/Robotics", "application"),
    ("GNTW", "Gantrywell Industrial", "Industrials/Robotics", "application"),
    ("MCNV", "Mechanova Robotics", "Industrials/Robotics", "application"),
    ("SVLX", "Servolux Motion", "Industrials/Robotics", "application"),
    ("TQMD", "Torquemont Dynamics", "Industrials/Robotics", "application"),
    ("WDRN", "Wendover Drones", "Industrials/Robotics", "application"),
    ("RVSR", "Ravenshaw Surgical Robotics", "Industrials/Robotics", "application"),
    ("FHAV", "Fernhollow Autonomy", "Industrials/Robotics", "application"),
    ("HSPN", "Hesperin Vision Systems", "Industrials/Robotics", "application"),
)


# --------------------------------------------------------------------------- calendar


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; -1 for the last) given weekday (Mon=0) of a month."""
    if n > 0:
        d = date(year, month, 1)
        d += timedelta(days=(weekday - d.weekday()) % 7)
        return d + timedelta(weeks=n - 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    d = nxt - timedelta(days=1)
    return d - timedelta(days=(d.weekday() - weekday) % 7)


def _holidays(year: int) -> set[date]:
    """US-style market holidays (fixed-date ones only when they fall on a weekday)."""
    days = {
        date(year, 1, 1),
        date(year, 7, 4),
        date(year, 12, 25),
        _nth_weekday(year, 1, 0, 3),  # third Monday of January
        _nth_weekday(year, 2, 0, 3),  # third Monday of February
        _nth_weekday(year, 5, 0, -1),  # last Monday of May
        _nth_weekday(year, 9, 0, 1),  # first Monday of September
        _nth_weekday(year, 11, 3, 4),  # fourth Thursday of November
    }
    if year >= 2022:
        days.add(date(year, 6, 19))
    return days


def business_days(start: date, end: date) -> list[date]:
    holidays: set[date] = set()
    for y in range(start.year, end.year + 1):
        holidays |= _holidays(y)
    out = []
    d = start
    while d <= end:
        if d.weekday() < 5 and d not in holidays:
            out.append(d)
        d += timedelta(days=1)
    return out


# --------------------------------------------------------------------------- randomness


def rng_for(purpose: str) -> np.random.Generator:
    """An independent, reproducible stream per purpose (stable across runs and hash seeds)."""
    return np.random.default_rng([SEED, zlib.crc32(purpose.encode("utf-8"))])


def fat_tailed(rng: np.random.Generator, n: int) -> np.ndarray:
    """Student-t (5 degrees of freedom) shocks scaled to unit variance."""
    return rng.standard_t(5, size=n) / math.sqrt(5 / 3)


# --------------------------------------------------------------------------- prices


def calibrate_segments(log_r: np.ndarray, segments: Sequence[tuple[int, int, float]]) -> np.ndarray:
    """Add a constant per segment (a, b] of daily log returns so it sums to its target."""
    out = log_r.copy()
    for a, b, target in segments:
        n = b - a
        if n <= 0:
            raise ValueError("empty calibration segment")
        out[a + 1 : b + 1] += (target - out[a + 1 : b + 1].sum()) / n
    return out


def _year_ends(days: list[date]) -> list[int]:
    """Grid index of the last business day of each year before 2025."""
    last: dict[int, int] = {}
    for i, d in enumerate(days):
        last[d.year] = i
    return [last[y] for y in sorted(last) if y < 2025]


def _month_anchors(
    days: list[date], designed: list[int], regime: np.ndarray
) -> list[tuple[int, float, float]]:
    """Month-end anchors between designed checkpoints: (index, bench dlog, theme dlog).

    An anchor sits on the straight log-line between its two designed neighbours,
    moved by a small random deviation (larger in stress). Anchors keep the random
    walk between far-apart checkpoints from wandering off the designed shape.
    """
    rng = rng_for("anchors")
    month_end: dict[tuple[int, int], int] = {}
    for i, d in enumerate(days):
        month_end[(d.year, d.month)] = i
    out = []
    for i in sorted(month_end.values()):
        if min(abs(i - j) for j in designed) < 6:
            continue
        z = rng.standard_normal(2)
        dev_b = 0.025 * math.sqrt(regime[i]) * z[0]
        out.append((i, dev_b, THEME_BETA * dev_b + 0.012 * z[1]))
    return out


def market_paths(days: list[date]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(benchmark log returns, theme log returns, stress multiplier, vol multiplier)."""
    n = len(days)
    rng = rng_for("market")
    regime = np.ones(n)
    for first, last, mult in REGIMES:
        for i, d in enumerate(days):
            if first <= d <= last:
                regime[i] = mult
    h = np.zeros(n)
    shocks = rng.standard_normal(n) * 0.05
    for i in range(1, n):
        h[i] = 0.97 * h[i - 1] + shocks[i]
    vol = regime * np.exp(h - h.mean())
    bench = BENCH_DAILY_VOL * vol * fat_tailed(rng, n)
    idio = THEME_IDIO_VOL * vol * fat_tailed(rng, n)
    bench[0] = idio[0] = 0.0

    index_of = {d: i for i, d in enumerate(days)}
    designed = [index_of[d] for d, _, _ in INDEX_CHECKPOINTS]
    log_b = np.log([b for _, b, _ in INDEX_CHECKPOINTS])
    log_t = np.log([t for _, _, t in INDEX_CHECKPOINTS])
    points = list(zip(designed, log_b, log_t, strict=True))
    for i, dev_b, dev_t in _month_anchors(days, designed, regime):
        k = int(np.searchsorted(designed, i))  # designed[k - 1] < i < designed[k]
        frac = (i - designed[k - 1]) / (designed[k] - designed[k - 1])
        lb = log_b[k - 1] + frac * (log_b[k] - log_b[k - 1]) + dev_b
        lt = log_t[k - 1] + frac * (log_t[k] - log_t[k - 1]) + dev_t
        points.append((i, lb, lt))
    points.sort()
    b_seg = [(a[0], b[0], b[1] - a[1]) for a, b in itertools.pairwise(points)]
    t_seg = [(a[0], b[0], b[2] - a[2]) for a, b in itertools.pairwise(points)]
    bench = calibrate_segments(bench, b_seg)
    theme = calibrate_segments(THEME_BETA * bench + idio, t_seg)
    return bench, theme, regime, vol


def etf_log_returns(
    etf: Etf, days: list[date], bench: np.ndarray, theme: np.ndarray, vol: np.ndarray
) -> np.ndarray:
    """Daily log returns of an ETF, zero up to and including its first day.

    Theme ETFs follow the theme index year by year (their calendar-year log
    return is the theme's times a fund sensitivity, plus a random yearly alpha),
    then hit their explicit 12-month, YTD and April targets.
    """
    n = len(days)
    rng = rng_for(f"returns:{etf.ticker}")
    own = etf.idio_vol * vol * fat_tailed(rng, n)
    theme_own = theme - THEME_BETA * bench
    r = etf.beta * bench + etf.theme_load * theme_own + own - etf.expense_ratio / 252
    index_of = {d: i for i, d in enumerate(days)}
    first = first_index(days, etf.inception)
    r[: first + 1] = 0.0
    segments = []
    if etf.role == "theme":
        sensitivity = 0.85 + 0.25 * (etf.beta - 1.1) / 0.4
        cum_theme = np.concatenate([[0.0], np.cumsum(theme[1:])])
        ends = [*_year_ends(days), index_of[YEAR_AGO]]
        start = first
        for end in ends:
            if end <= start:
                continue
            span = (end - start) / 252
            alpha = rng.normal(0.0, 0.05) * math.sqrt(span)
            segments.append((start, end, sensitivity * (cum_theme[end] - cum_theme[start]) + alpha))
            start = end
    r12, ytd, apr = etf.targets
    if r12 is not None and ytd is not None:
        segments.append((index_of[YEAR_AGO], index_of[YEAR_START], math.log((1 + r12) / (1 + ytd))))
    elif first < index_of[YEAR_START]:
        start = max(first, index_of[YEAR_AGO])
        cum = float(np.sum(theme[start + 1 : index_of[YEAR_START] + 1]))
        segments.append((start, index_of[YEAR_START], cum))
    if ytd is not None:
        segments.append((max(index_of[YEAR_START], first), index_of[AS_OF], math.log(1 + ytd)))
    if apr is not None:
        segments.append((index_of[AS_OF], index_of[END], math.log(1 + apr)))
    return calibrate_segments(r, segments)


def first_index(days: list[date], inception: date) -> int:
    """Index of the first business day on or after ``inception`` (0 if before the grid)."""
    for i, d in enumerate(days):
        if d >= inception:
            return i
    raise ValueError(f"inception {inception} after the last day")


def closes_from(log_r: np.ndarray, first: int, start_price: float) -> np.ndarray:
    """Closes rounded as written (4 decimals); NaN before ``first``."""
    c = np.full(len(log_r), np.nan)
    c[first:] = start_price * np.exp(np.cumsum(log_r[first:]))
    return np.round(c, 4)


# --------------------------------------------------------------------------- flows and assets


def _spread_over_days(rng: np.random.Generator, n: int, total: float, prob: float) -> np.ndarray:
    """Split ``total`` over ``n`` days: lumpy flows in its direction, a few the other way."""
    mask = rng.random(n) < prob
    if not mask.any():
        mask[rng.integers(n)] = True
    main = mask * rng.lognormal(0.0, 0.8, n)
    counter = (rng.random(n) < prob * 0.25) * rng.lognormal(0.0, 0.8, n) * 0.3
    raw = main - counter
    if raw.sum() <= 0.25 * main.sum():  # keep the month's direction clear
        raw = main
    return total * raw / raw.sum()


def simulate_assets(
    etf: Etf, days: list[date], closes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """(daily net flows, daily AUM, first index); whole dollars, AUM at AS_OF on target."""
    n = len(days)
    first = first_index(days, etf.inception)
    launched = etf.inception >= START
    ratio = np.ones(n)
    ratio[first + 1 :] = closes[first + 1 :] / closes[first:-1]

    rng = rng_for(f"flows:{etf.ticker}")
    mask = rng.random(n) < etf.flow_day_prob
    noise = rng.standard_normal(n)
    rate = np.zeros(n)
    for i in range(first + 1, n):
        d = days[i]
        if d.year >= 2026:
            continue
        mean = FLOW_RATE_BY_YEAR[d.year] * etf.flow_mult
        if launched:
            mean += 0.006 * math.exp(-(i - first) / 120)
        if mask[i]:
            rate[i] = (mean + 0.004 * noise[i] * math.sqrt(etf.flow_day_prob)) / etf.flow_day_prob
    rate = np.clip(rate, -0.06, 0.12)

    # explicit flow totals for each month of 2026 (theme ETFs); benchmark ETFs keep rates
    explicit = np.zeros(n)
    is_theme = etf.role == "theme"
    month_totals: list[tuple[int, float]] = []
    if is_theme:
        for m, share in zip((1, 2, 3), Q1_MONTH_SHARES, strict=True):
            month_totals.append((m, etf.ytd_flows * share))
        month_totals.append((4, etf.april_flow_frac * etf.aum_target))
        for m, total in month_totals:
            where = [i for i, d in enumerate(days) if d.year == 2026 and d.month == m]
            explicit[where] = np.round(
                _spread_over_days(rng, len(where), total, etf.flow_day_prob), 0
            )
    else:
        for i in range(first + 1, n):
            if days[i].year >= 2026 and mask[i]:
                rate[i] = (0.0008 + 0.004 * noise[i]) / etf.flow_day_prob
        rate = np.clip(rate, -0.06, 0.12)

    def run(a0: float, rounded: bool) -> tuple[np.ndarray, np.ndarray]:
        aum = np.zeros(n)
        flow = np.zeros(n)
        aum[first] = a0
        flow[first] = a0 if launched else 0.0
        for i in range(first + 1, n):
            carried = aum[i - 1] * ratio[i]
            if is_theme and days[i].year >= 2026:
                f = explicit[i]
            else:
                f = carried * rate[i]
                if rounded:
                    f = float(np.round(f))
            flow[i] = f
            aum[i] = carried + f
        return flow, aum

    k = days.index(AS_OF)
    # AUM at AS_OF is affine in the starting assets: solve for them
    _, base = run(0.0, rounded=False)
    _, unit = run(1.0, rounded=False)
    a0 = float(np.round((etf.aum_target - base[k]) / (unit[k] - base[k])))
    if a0 <= 0:
        raise ValueError(f"{etf.ticker}: negative starting assets; lower its 2026 flows")
    flow, aum = run(a0, rounded=True)
    if (aum[first:] <= 0).any():
        raise ValueError(f"{etf.ticker}: assets turned negative")
    return flow, np.round(aum), first


# --------------------------------------------------------------------------- holdings


def _alpha_for_top10(n: int, share: float) -> float:
    """Exponent alpha so that rank weights k ** -alpha put ``share`` in the top ten."""
    ranks = np.arange(1, n + 1, dtype=float)

    def top10(alpha: float) -> float:
        w = ranks**-alpha
        return float(w[:10].sum() / w.sum())

    lo, hi = 0.0, 5.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if top10(mid) < share:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def holdings_rows() -> list[tuple[str, str, str, str, str, str, str]]:
    rows = []
    sectors = [c[2] for c in COMPANIES]
    for etf in ETFS:
        if etf.holdings is None:
            continue
        count, top10, prefs = etf.holdings
        rng = rng_for(f"holdings:{etf.ticker}")
        p = np.array([prefs.get(s, 0.2) for s in sectors], dtype=float)
        chosen = rng.choice(len(COMPANIES), size=count, replace=False, p=p / p.sum())
        base = np.arange(1, count + 1, dtype=float) ** -_alpha_for_top10(count, top10)
        for as_of in HOLDINGS_DATES:
            if as_of < etf.inception:
                continue
            w = base * np.exp(0.08 * rng.standard_normal(count))
            invested = 0.975 + 0.023 * rng.random()
            w = np.floor(w / w.sum() * invested * 1e6) / 1e6  # never above 1 after rounding
            for j, ci in enumerate(chosen):
                sec, name, sector, bucket = COMPANIES[ci]
                rows.append(
                    (as_of.isoformat(), etf.ticker, sec, name, f"{w[j]:.6f}", sector, bucket)
                )
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return rows


# --------------------------------------------------------------------------- writing


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    for row in rows:
        for cell in row:
            if any(ch in cell for ch in ',"\n\r'):
                raise ValueError(f"{path.name}: cell needs quoting: {cell!r}")
    text = ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    path.write_bytes(text.encode("utf-8"))


def _drop_days(ticker: str, how_many: int, candidates: list[date]) -> set[date]:
    """Business days to leave out of a ticker's prices (never an anchor date)."""
    keep = {START, YEAR_AGO, YEAR_START, AS_OF, END, date(2025, 4, 30), date(2026, 2, 27)}
    keep |= {d for d, _, _ in INDEX_CHECKPOINTS}
    pool = [d for d in candidates if d not in keep]
    rng = rng_for(f"missing:{ticker}")
    picked = rng.choice(len(pool), size=how_many, replace=False)
    return {pool[i] for i in sorted(picked)}


def build(out: Path) -> None:
    days = business_days(START, END)
    bench, theme, regime, vol = market_paths(days)
    inception = {e.ticker: e.inception for e in ETFS}
    missing = {
        t: _drop_days(t, k, [d for d in days[1:-1] if d > inception.get(t, START)])
        for t, k in MISSING_PRICE_DAYS
    }

    instruments = []
    prices: list[tuple[str, str, str, str]] = []
    flows: list[tuple[str, str, str]] = []
    aums: list[tuple[str, str, str]] = []
    spreads: list[tuple[str, str, str]] = []

    index_closes = {
        BENCH_INDEX: closes_from(bench, 0, INDEX_CHECKPOINTS[0][1]),
        THEME_INDEX: closes_from(theme, 0, INDEX_CHECKPOINTS[0][2]),
    }
    for ticker, name, role, base_date in INDEXES:
        instruments.append((ticker, name, "index", role, "", "", base_date.isoformat()))
        closes = index_closes[ticker]
        for i, d in enumerate(days):
            if d not in missing.get(ticker, set()):
                prices.append((d.isoformat(), ticker, f"{closes[i]:.4f}", ""))

    for etf in ETFS:
        instruments.append(
            (
                etf.ticker,
                etf.name,
                "etf",
                etf.role,
                etf.issuer,
                f"{etf.expense_ratio:.4f}",
                etf.inception.isoformat(),
            )
        )
        r = etf_log_returns(etf, days, bench, theme, vol)
        first = first_index(days, etf.inception)
        closes = closes_from(r, first, etf.start_price)
        flow, aum, first = simulate_assets(etf, days, closes)
        rng = rng_for(f"market-data:{etf.ticker}")
        n = len(days)
        spread_noise = np.exp(0.25 * rng.standard_normal(n))
        turnover_noise = np.exp(0.5 * rng.standard_normal(n) - 0.125)
        for i in range(first, n):
            d = days[i].isoformat()
            size = max(aum[i], 1.0) / 1e9
            spread = etf.spread_scale_bps * size**-0.8 * regime[i] ** 0.7
            spread = min(max(spread, 1.2), 60.0) * spread_noise[i]
            volume = int(np.round(etf.turnover * turnover_noise[i] * aum[i] / closes[i]))
            if days[i] not in missing.get(etf.ticker, set()):
                prices.append((d, etf.ticker, f"{closes[i]:.4f}", str(volume)))
            flows.append((d, etf.ticker, str(int(flow[i]))))
            aums.append((d, etf.ticker, str(int(aum[i]))))
            spreads.append((d, etf.ticker, f"{spread:.2f}"))

    out.mkdir(parents=True, exist_ok=True)
    instruments.sort()
    for rows in (prices, flows, aums, spreads):
        rows.sort(key=lambda row: (row[0], row[1]))
    header = ("ticker", "name", "kind", "role", "issuer", "expense_ratio", "inception_date")
    _write_csv(out / "instruments.csv", header, instruments)
    _write_csv(out / "prices.csv", ("date", "ticker", "close", "volume"), prices)
    _write_csv(out / "flows.csv", ("date", "ticker", "net_flow_usd"), flows)
    _write_csv(out / "aum.csv", ("date", "ticker", "aum_usd"), aums)
    _write_csv(out / "spreads.csv", ("date", "ticker", "spread_bps"), spreads)
    holdings_header = ("as_of", "fund", "security", "name", "weight", "sector", "bucket")
    _write_csv(out / "holdings.csv", holdings_header, holdings_rows())
    lines = [f'label: "{LABEL}"']
    for stem, source in SOURCES.items():
        lines += [f"{stem}:", f'  source: "{source}"']
    (out / "sources.yaml").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent / "data" / "sample"
    parser.add_argument("--out", type=Path, default=default, help="output folder")
    args = parser.parse_args(argv)
    build(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
