"""The one number formatter, against the rounding policy in its docstring (docs/facts.md).

Every expected display below is worked out by hand from the policy: round once, half away
from zero, from the value's shortest decimal representation; money picks its scale *after*
rounding; a value that rounds to zero prints unsigned; pp is always signed.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen import formatting
from reportgen.formatting import (
    NOT_AVAILABLE,
    format_bps,
    format_date,
    format_date_short,
    format_days,
    format_percent,
    format_pp,
    format_ratio,
    format_usd,
    format_value,
    round_half_away,
    unsigned,
)

# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # the policy's own examples ($900 is the docstring's)
        (4.2e9, "$4.2bn"),
        (350e6, "$350.0m"),
        (850e3, "$850k"),
        (450, "$450"),
        (900, "$900"),
        # scale chosen after rounding: 999.96m rounds to 1,000.0m, which is 1.0bn
        (999.96e6, "$1.0bn"),
        (999.95e6, "$1.0bn"),
        (999_600, "$1.0m"),  # 999.6k rounds to 1,000k = 1.0m
        (999_500, "$1.0m"),  # 999.5k: half away from zero -> 1,000k
        (999.5, "$1k"),  # $999.5 rounds to $1,000
        (1_000, "$1k"),
        (1_500, "$2k"),  # 1.5k, half away from zero
        (2.25e9, "$2.3bn"),
        (1.05e9, "$1.1bn"),  # repr 1.05, not the binary 1.04999...
        (25e6, "$25.0m"),
        (100e6, "$100.0m"),
        (0, "$0"),
        (0.4, "$0"),
    ],
)
def test_usd(value: float, expected: str) -> None:
    assert format_usd(value) == expected
    assert format_value(value, "usd") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Values whose natural scale is the lower one: rounding at that scale stays below
        # 1,000, so they must not be pushed up a scale by rounding at the coarser one.
        (999.94e6, "$999.9m"),
        (960e6, "$960.0m"),
        (950e6, "$950.0m"),
        (949.96e6, "$950.0m"),
        (999_499, "$999k"),
        (950_000, "$950k"),
        (999, "$999"),
        (500, "$500"),
        (-950e6, "-$950.0m"),
        (-500, "-$500"),
    ],
)
def test_usd_keeps_the_natural_scale_below_the_rounding_boundary(
    value: float, expected: str
) -> None:
    assert format_usd(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-1e9, "-$1.0bn"),
        (-999.96e6, "-$1.0bn"),
        (-4.2e9, "-$4.2bn"),
        (-350e6, "-$350.0m"),
        (-850e3, "-$850k"),
        (-450, "-$450"),
        (-0.4, "$0"),  # rounds to zero: never "-$0"
    ],
)
def test_negative_usd_has_a_leading_ascii_minus(value: float, expected: str) -> None:
    assert format_usd(value) == expected


# --------------------------------------------------------------------------- percent


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.15, "15.0%"),
        (-0.18, "-18.0%"),
        (0.145, "14.5%"),  # 0.145 * 100 is 14.499999999999998 in binary; repr gives 14.5
        (0.0045, "0.5%"),  # 0.45 %: half away from zero
        (0.0005, "0.1%"),
        (-0.0005, "-0.1%"),
        (-0.0004, "0.0%"),  # rounds to zero: unsigned
        (0.0004, "0.0%"),
        (0.0, "0.0%"),
        (-0.0, "0.0%"),
        (1.234567, "123.5%"),
        (12.3456, "1,234.6%"),
    ],
)
def test_percent_one_decimal(value: float, expected: str) -> None:
    assert format_value(value, "percent") == expected
    assert format_percent(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0075, "0.75%"),
        (0.0009, "0.09%"),
        (0.00125, "0.13%"),  # 0.125 % -> 0.13 % (half away from zero)
        (0.00145, "0.15%"),
        (-0.00004, "0.00%"),
        (0.0, "0.00%"),
    ],
)
def test_fee_style_percent_two_decimals(value: float, expected: str) -> None:
    assert format_value(value, "percent", "fee") == expected


def test_percent_plus_sign_only_when_not_zero() -> None:
    assert format_percent(0.08, plus=True) == "+8.0%"
    assert format_percent(-0.08, plus=True) == "-8.0%"
    assert format_percent(-0.0004, plus=True) == "0.0%"
    assert format_percent(0.0, plus=True) == "0.0%"


# --------------------------------------------------------------------------- pp / bps


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.08, "+8.0 pp"),
        (-0.12, "-12.0 pp"),
        (0.0, "0.0 pp"),
        (-0.0004, "0.0 pp"),  # rounds to zero: neither "+0.0" nor "-0.0"
        (0.0004, "0.0 pp"),
        (0.0005, "+0.1 pp"),
        (-0.0005, "-0.1 pp"),
        (0.145, "+14.5 pp"),
    ],
)
def test_pp_always_signed(value: float, expected: str) -> None:
    assert format_value(value, "pp") == expected
    assert format_pp(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0009, "9 bp"),
        (-0.0009, "-9 bp"),
        (0.0125, "125 bp"),
        (0.00005, "1 bp"),  # 0.5 bp, half away from zero
        (0.00004, "0 bp"),
        (-0.00004, "0 bp"),
        (0.0, "0 bp"),
    ],
)
def test_bps_whole(value: float, expected: str) -> None:
    assert format_value(value, "bps") == expected
    assert format_bps(value) == expected


# --------------------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("value", "decimals", "scale", "expected"),
    [
        (0.125, 2, 0, "0.13"),
        (2.675, 2, 0, "2.68"),  # binary 2.67499999...; builtin round() gives 2.67
        (1.005, 2, 0, "1.01"),
        (-0.125, 2, 0, "-0.13"),  # away from zero on the negative side too
        (0.145, 1, 2, "14.5"),
        (0.00145, 2, 2, "0.15"),
        (0.00005, 0, 4, "1"),
        (2.5, 0, 0, "3"),  # not banker's rounding
        (-2.5, 0, 0, "-3"),
    ],
)
def test_round_half_away_from_shortest_repr(
    value: float, decimals: int, scale: int, expected: str
) -> None:
    assert round_half_away(value, decimals, scale) == Decimal(expected)
    assert str(round_half_away(value, decimals, scale)) == expected


def test_ratio_and_count() -> None:
    assert format_value(0.125, "ratio") == "0.13"
    assert format_value(1.005, "ratio") == "1.01"
    assert format_value(-1.25, "ratio") == "-1.25"
    assert format_ratio(-0.004) == "0.00"
    assert format_value(1234.5, "count") == "1,235"
    assert format_value(12, "count") == "12"
    assert format_value(-0.4, "count") == "0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1.0 day"),
        (2.4, "2.4 days"),
        (0.96, "1.0 day"),  # the word follows the printed number
        (1.04, "1.0 day"),
        (1.05, "1.1 days"),
        (0.5, "0.5 days"),
        (0.0, "0.0 days"),
        (12345.6, "12,345.6 days"),
    ],
)
def test_days(value: float, expected: str) -> None:
    assert format_value(value, "days") == expected
    assert format_days(value) == expected


@pytest.mark.parametrize("unit", ["usd", "percent", "pp", "bps", "ratio", "count", "days"])
def test_none_is_not_available_never_zero(unit: str) -> None:
    assert format_value(None, unit) == NOT_AVAILABLE == "n/a"
    assert format_value(None, unit, "fee") == "n/a"


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="furlongs"):
        format_value(1.0, "furlongs")


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("-$1.0bn", "$1.0bn"),
        ("-18.0%", "18.0%"),
        ("+8.0 pp", "8.0 pp"),
        ("-12.0 pp", "12.0 pp"),
        ("15.0%", "15.0%"),
        ("$4.2bn", "$4.2bn"),
        ("n/a", "n/a"),
        ("0.0%", "0.0%"),
    ],
)
def test_unsigned(display: str, expected: str) -> None:
    assert unsigned(display) == expected


def test_minus_is_ascii_hyphen_minus() -> None:
    for text in (format_usd(-1e9), format_percent(-0.18), format_pp(-0.12), format_bps(-0.0009)):
        assert text.startswith("-")
        assert "\u2212" not in text


# --------------------------------------------------------------------------- dates


class _NoStrftime(date):
    """A date that fails if the formatter asks the C library (and its locale) for names."""

    def strftime(self, fmt: str) -> str:
        raise AssertionError("format_date must not use strftime (locale-dependent names)")

    def __format__(self, fmt: str) -> str:
        raise AssertionError("format_date must not use format() (locale-dependent names)")


MONTHS = [
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
]


def test_format_date() -> None:
    assert format_date(date(2026, 3, 31)) == "31 March 2026"
    assert format_date(date(2026, 1, 1)) == "1 January 2026"  # no zero padding
    assert format_date_short(date(2026, 3, 31)) == "31 Mar 2026"
    assert format_date_short(date(2026, 9, 5)) == "5 Sep 2026"


@pytest.mark.parametrize("month", range(1, 13))
def test_format_date_does_not_depend_on_the_locale(month: int) -> None:
    d = _NoStrftime(2026, month, 9)
    assert format_date(d) == f"9 {MONTHS[month - 1]} 2026"
    assert format_date_short(d) == f"9 {MONTHS[month - 1][:3]} 2026"


# --------------------------------------------------------------------------- properties

_SANE = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
_MONEY = st.floats(min_value=-1e13, max_value=1e13, allow_nan=False, allow_infinity=False)
_PERCENT_RE = re.compile(r"-?\d{1,3}(,\d{3})*\.\d%")
_PP_RE = re.compile(r"([+-]\d{1,3}(,\d{3})*\.\d|0\.0) pp")
# thousands separated only beyond $999.9bn ("$1,250.0bn"), like every other unit
_USD_RE = re.compile(r"(-?)\$(\d{1,3}(?:,\d{3})*(?:\.\d)?)(bn|m|k|)")
_SCALE = {"bn": Decimal(10) ** 9, "m": Decimal(10) ** 6, "k": Decimal(10) ** 3, "": Decimal(1)}


def _clean(text: str) -> None:
    low = text.lower()
    assert "nan" not in low
    assert "inf" not in low
    assert "e+" not in low
    assert "e-" not in low
    assert not re.search(r"-\$?0(\.0+)?(?![\d.])", text), text


@settings(max_examples=300, deadline=None)
@given(_SANE)
def test_percent_display_round_trips_within_half_a_unit(value: float) -> None:
    text = format_value(value, "percent")
    _clean(text)
    assert _PERCENT_RE.fullmatch(text), text
    parsed = Decimal(text.rstrip("%").replace(",", "")) / 100
    exact = Decimal(repr(value))
    assert abs(parsed - exact) <= Decimal("0.0005")  # half of 0.1 % (the last decimal)


@settings(max_examples=300, deadline=None)
@given(_SANE)
def test_fee_display_round_trips_within_half_a_unit(value: float) -> None:
    text = format_value(value, "percent", "fee")
    _clean(text)
    parsed = Decimal(text.rstrip("%").replace(",", "")) / 100
    assert abs(parsed - Decimal(repr(value))) <= Decimal("0.00005")


@settings(max_examples=300, deadline=None)
@given(_SANE)
def test_pp_display_is_signed_and_round_trips(value: float) -> None:
    text = format_value(value, "pp")
    _clean(text)
    assert _PP_RE.fullmatch(text), text
    parsed = Decimal(text.removesuffix(" pp").replace(",", "")) / 100
    assert abs(parsed - Decimal(repr(value))) <= Decimal("0.0005")


@settings(max_examples=500, deadline=None)
@given(_MONEY)
def test_usd_display_round_trips_at_its_natural_scale(value: float) -> None:
    text = format_usd(value)
    _clean(text)
    m = _USD_RE.fullmatch(text)
    assert m, text
    sign, mantissa_text, suffix = m.groups()
    mantissa = Decimal(mantissa_text.replace(",", ""))
    scale = _SCALE[suffix]
    # one decimal for bn and m, none for k and plain dollars
    assert ("." in mantissa_text) == (suffix in ("bn", "m")), text
    assert ("," in mantissa_text) == (mantissa >= 1000), text
    exact = abs(Decimal(repr(value)))
    unit = scale / 10 if suffix in ("bn", "m") else scale
    assert abs(mantissa * scale - exact) <= unit / 2, text
    if mantissa != 0:
        assert (sign == "-") == (value < 0), text
    if suffix:
        assert mantissa >= 1, text  # never "$0.9m"
    if suffix != "bn":
        assert mantissa < 1000, text  # never "$1000.0m"
    # ...and never a coarser scale than needed: at the next scale down, the value rounds
    # to 1,000 or more (so 950m is "$950.0m", not "$1.0bn"; $500 is not "$1k").
    below = {"bn": (Decimal(10) ** 6, 1), "m": (Decimal(10) ** 3, 0), "k": (Decimal(1), 0)}
    if suffix in below:
        lower_scale, decimals = below[suffix]
        lower = (exact / lower_scale).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
        assert lower >= 1000, text


def test_module_documents_the_policy() -> None:
    doc = formatting.__doc__ or ""
    assert "half" in doc
    assert "away from zero" in doc
