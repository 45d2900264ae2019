"""The one place numbers and dates become text.

Rounding policy (documented in docs/facts.md): a value is rounded *once*, half
away from zero, from its shortest decimal representation (``repr``), so 0.125
rounds to 0.13 and the printed text never depends on binary float noise. A
value that rounds to zero prints unsigned ("0.0%", never "-0.0%").

Signs: the minus sign is the ASCII hyphen-minus everywhere (it survives copy and
paste, search in PDF viewers and the contract's examples). Changes in
percentage points always carry a sign ("+8.0 pp"); levels (returns, money)
carry only the minus.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

MINUS = "-"
NOT_AVAILABLE = "n/a"

#: Decimals per unit (and style), the whole policy in one table.
PERCENT_DECIMALS = 1
FEE_DECIMALS = 2
PP_DECIMALS = 1
RATIO_DECIMALS = 2
DAYS_DECIMALS = 1


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)  # fixed, never the machine's locale


def round_half_away(value: float, decimals: int, scale: int = 0) -> Decimal:
    """Round as people do by hand (half away from zero), from the shortest decimal repr.

    ``scale`` shifts the decimal point first (2 for per cent, 4 for basis points),
    exactly, in decimal, so 0.145 is 14.5 per cent and not 14.499999999999998.
    """
    quantum = Decimal(1).scaleb(-decimals)
    exact = Decimal(repr(float(value))).scaleb(scale)
    return exact.quantize(quantum, rounding=ROUND_HALF_UP)


def _fixed(value: float, decimals: int, scale: int = 0) -> tuple[bool, str]:
    """(is negative after rounding, magnitude text with ``decimals`` places)."""
    d = round_half_away(value, decimals, scale)
    negative = d < 0
    return negative, f"{abs(d):,.{decimals}f}"


def _signed(negative: bool, text: str, *, plus: bool) -> str:
    if negative:
        return MINUS + text
    if plus and text.strip("0.,") != "":
        return "+" + text
    return text


def format_percent(value: float, decimals: int = PERCENT_DECIMALS, *, plus: bool = False) -> str:
    """A decimal fraction as a percentage: 0.15 -> "15.0%"."""
    neg, text = _fixed(value, decimals, 2)
    return _signed(neg, text, plus=plus) + "%"


def format_pp(value: float) -> str:
    """A difference of two fractions in percentage points, always signed: 0.08 -> "+8.0 pp"."""
    neg, text = _fixed(value, PP_DECIMALS, 2)
    return _signed(neg, text, plus=True) + " pp"


def format_bps(value: float) -> str:
    """A fraction in whole basis points: 0.0009 -> "9 bp"."""
    neg, text = _fixed(value, 0, 4)
    return _signed(neg, text, plus=False) + " bp"


def format_usd(value: float) -> str:
    """Money in the note's compact form: $4.2bn, $350.0m, $850k, $900.

    The smallest scale whose *rounded* figure stays below 1,000 is used, so
    950 million reads "$950.0m" and 999.96 million reads "$1.0bn", never
    "$1000.0m"; billions are the last resort ("$1,250.0bn").
    """
    scales = (("", 0, 0), ("k", 3, 0), ("m", 6, 1), ("bn", 9, 1))
    for suffix, power, decimals in scales:
        rounded = round_half_away(abs(value), decimals, -power)
        if rounded < 1000 or suffix == "bn":
            break
    sign = MINUS if value < 0 and rounded != 0 else ""
    return f"{sign}${rounded:,.{decimals}f}{suffix}"


def format_ratio(value: float) -> str:
    neg, text = _fixed(value, RATIO_DECIMALS)
    return _signed(neg, text, plus=False)


def format_count(value: float) -> str:
    neg, text = _fixed(value, 0)
    return _signed(neg, text, plus=False)


def format_days(value: float) -> str:
    neg, text = _fixed(value, DAYS_DECIMALS)
    word = "day" if text == "1.0" else "days"
    return f"{_signed(neg, text, plus=False)} {word}"


def format_value(value: float | None, unit: str, style: str | None = None) -> str:
    """Display text for a value of a unit; ``None`` reads as not available, never 0."""
    if value is None:
        return NOT_AVAILABLE
    if unit == "percent":
        return format_percent(value, FEE_DECIMALS if style == "fee" else PERCENT_DECIMALS)
    if unit == "pp":
        return format_pp(value)
    if unit == "bps":
        return format_bps(value)
    if unit == "usd":
        return format_usd(value)
    if unit == "ratio":
        return format_ratio(value)
    if unit == "count":
        return format_count(value)
    if unit == "days":
        return format_days(value)
    raise ValueError(f"no display rule for unit {unit!r}")


def unsigned(display: str) -> str:
    """A display without its leading sign, for use beside a direction word ("fell 18.0%")."""
    if display[:1] in (MINUS, "+"):
        return display[1:]
    return display


def format_date(d: date) -> str:
    """Dates as readers of the note see them: "31 March 2026"."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def format_date_short(d: date) -> str:
    """Compact dates for captions and table notes: "31 Mar 2026"."""
    return f"{d.day} {_MONTHS[d.month - 1][:3]} {d.year}"
