"""What counts as a figure in printed text, and what does not.

Every digit printed outside a marked fact, assumption or name must be covered by
one of the exemptions below, or it is an untraced figure. The exemptions are kept
narrow on purpose: a number is only "not a figure" when its form says so (a date, a
year, a period, a rank, a reference number), never because it is small or round.

Exempt (each pattern is tested in ``tests/test_compliance.py``):

- dates in every printed form: ``2026-03-31``, ``31 March 2026``, ``31 Mar 2026``,
  ``March 31, 2026``, ``March 2026``, ``Apr 2025``, ``31 March``, ``03/31/2026``,
  ``03/2026``;
- years ``1900``-``2099`` standing alone (not followed by a decimal part or a unit), and
  fiscal forms ``2025/26``, ``FY2025``, ``FY25``; quarters and halves ``Q1``, ``1Q26``,
  ``H2``;
- periods: ``10-year``, ``12-month``, ``21-day``; ``N years/months/weeks/days/trading
  days/quarters`` after a cue (``over 12 months``, ``the last 21 trading days``,
  ``past 5 years``) or before one (``10 year(s) before``, ``5 years ago``, ``3 years
  annualized``); in labels (column headers, captions, key-figure labels) also a bare
  ``1 year``, ``5 years`` and the compact ``12m``, ``5y``, ``10yr``;
- ranks: ``top 10``, ``top-10``, ``10 largest``, ``1st``, ``2nd``, ``#1``;
- references: ``Exhibit 3``, ``Table 2``, ``Note 4``, ``page 2``, ``Page 1 of 9``,
  ``Section 5``, ``Rule 2210(d)(1)``, ``Art. 44(4)``, ``Regulation (EU) 2017/565``;
- in a formula (``.rg-formula`` or ``code``), the constants 0 and 1.

Not exempt, for example: ``12.5%``, ``$4.2bn``, ``6 days`` (a figure of days, no period
cue), ``12m`` in prose, ``2025%``, ``ten percent`` (a spelled-out figure with a unit).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec|JANUARY|FEBRUARY|MARCH|"
    r"APRIL|MAY|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|NOVEMBER|DECEMBER)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_UNIT = (
    r"(?i:trading[\s-]+days?|business[\s-]+days?|calendar[\s-]+days?|years?\(s\)|"
    r"months?\(s\)|days?\(s\)|years?|yrs?|months?|mos?|weeks?|days?|sessions?|quarters?)"
)
_FIGURE_UNIT = (
    r"(?:%|(?i:pp|bps?|bn|mn|m|k|x|per\s?cent|percent|percentage\s+points?|basis\s+points?|"
    r"billion|million|thousand|trillion|days?)\b)"
)
_PERIOD_CUE_BEFORE = r"(?i:last|past|next|over|trailing|previous|prior|first|since|during)"
_DATE_AHEAD = (
    rf"(?:\d{{1,2}}\s+{_MONTH}|{_MONTH}|\d{{4}}-\d{{2}}-\d{{2}}|"
    r"the\s+(?i:quarter|month|year)[\s-]end)"
)
_PERIOD_CUE_AFTER = (
    r"(?:(?i:before|after|ago|earlier|later|ended|ending|window|periods?|horizon|history|"
    rf"track|returns?|performance|average|annuali[sz]ed|cumulative)\b|(?i:to|through)\s+{_DATE_AHEAD})"
)
_REFERENCE_WORDS = [
    "Exhibits?",
    "Tables?",
    "Charts?",
    "Figures?",
    "Fig\\.",
    "Notes?",
    "Footnotes?",
    "Pages?",
    "Sections?",
    "Appendix",
    "Annex",
    "Chapter",
    "Part",
    "Item",
    "Rule",
    "Articles?",
    "Art\\.",
    "Regulation",
    "Reg\\.",
    "Directive",
    "Paragraph",
    "Para\\.",
    "No\\.",
    "p\\.",
    "pp\\.",
    "§",
]
_REFERENCE_WORDS_LOWER = [
    "exhibits?",
    "footnotes?",
    "pages?",
    "sections?",
    "appendix",
    "annex",
    "chapter",
    "articles?",
    "paragraph",
]
_REFERENCE_WORD = (
    "(?:"
    + "|".join(
        [*_REFERENCE_WORDS, *_REFERENCE_WORDS_LOWER, *(w.upper() for w in _REFERENCE_WORDS_LOWER)]
    )
    + ")"
)

#: Patterns whose matches are not figures, wherever they appear.
EXEMPT: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("iso-date", r"\b\d{4}-\d{2}-\d{2}\b"),
        ("numeric-date", r"\b\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})\b|\b\d{1,2}/\d{4}\b"),
        ("day-month-year", rf"\b\d{{1,2}}{_ORD}\s+{_MONTH},?\s+\d{{4}}\b"),
        ("month-day-year", rf"\b{_MONTH}\s+\d{{1,2}}{_ORD},?\s+\d{{4}}\b"),
        ("month-year", rf"\b{_MONTH}\s+\d{{4}}\b"),
        ("day-month", rf"\b\d{{1,2}}{_ORD}\s+{_MONTH}(?![\w])"),
        ("month-day", rf"\b{_MONTH}\s+\d{{1,2}}{_ORD}\b(?![.,]?\d|\s?%)"),
        (
            "year",
            rf"(?<![\d$£€.,+\-−])\b(?:19|20)\d{{2}}\b(?![.,]\d|\s?{_FIGURE_UNIT}|\s?(?i:years?|months?)\b)",
        ),
        ("fiscal-year", r"\b(?:19|20)\d{2}[/–-]\d{2}\b(?!-)|\b(?i:FY|CY)\s?'?\d{2,4}\b"),
        ("quarter", r"\b(?i:Q)[1-4]\b|\b[1-4](?i:Q)(?:\d{2}|\d{4})?\b|\b(?i:H)[12]\b"),
        ("period-adjective", r"\b\d{1,3}-(?i:year|yr|month|mo|week|day|trading-day|quarter)s?\b"),
        (
            "period-cue-before",
            rf"\b{_PERIOD_CUE_BEFORE}\s+(?:(?i:the|a)\s+)?(?:(?i:last|past|previous|prior|"
            rf"first|next)\s+)?\d{{1,3}}\s+{_UNIT}(?!\w)",
        ),
        ("period-cue-after", rf"\b\d{{1,3}}\s+{_UNIT}\s+{_PERIOD_CUE_AFTER}"),
        (
            "rank",
            r"\b(?i:top|bottom|first|last|largest|biggest|smallest|highest|lowest)[\s-]+"
            rf"\d{{1,3}}\b(?![.,]\d|\s?{_FIGURE_UNIT})",
        ),
        ("rank-after", r"\b\d{1,3}\s+(?i:largest|biggest|smallest|highest|lowest|best|worst)\b"),
        ("year-range", r"\b(?:19|20)\d{2}\s?[-–]\s?(?:19|20)\d{2}\b"),
        ("ordinal", r"\b\d{1,3}(?i:st|nd|rd|th)\b"),
        ("number-sign", r"#\d{1,3}\b"),
        ("page-of", r"\b(?i:page)\s+\d+\s+(?i:of)\s+\d+\b"),
        (
            "reference",
            rf"(?<!\w){_REFERENCE_WORD}\s*(?:\((?:EU|EC|UK)\)\s*)?(?:No\.?\s*)?"
            rf"(?>\d+(?:[\w.()/-]*[\w)])?)(?!\s?{_FIGURE_UNIT})",
        ),
        ("cfr", r"\b\d+\s+(?:CFR|U\.S\.C\.)\s+\d+(?:\.\d+)*"),
    )
)

#: Exempt only in labels (column headers, captions, key-figure labels).
LABEL_EXEMPT: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("period-label", re.compile(rf"\b\d{{1,3}}\s*-?\s*{_UNIT}(?!\w)")),
    ("period-compact", re.compile(r"(?<![$£€\d.,])\b\d{1,3}(?i:m|y|yr|mo|d|w|q)\b(?!\s?%)")),
)

#: Exempt only in formulas: the constants 0 and 1.
FORMULA_EXEMPT: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("formula-constant", re.compile(r"(?<![\d.,])[01](?![\d.,])")),
)

#: A printed number, with its sign, currency and unit, for reporting.
NUMBER = re.compile(
    r"[-+−]?[$£€]?\d(?:[\d,.]*\d)?(?:\s?(?:%|(?i:pp|bps?|bn|mn|m|k|x)\b|"
    r"(?i:per\s?cent|percent|percentage\s+points?|basis\s+points?|billion|million|thousand|"
    r"trillion|days?)\b))?"
)

_WORD_NUMBERS = (
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|a\s+hundred|half|a\s+half)"
)
#: A figure spelled out in words with a unit ("ten percent", "two billion").
SPELLED_FIGURE = re.compile(
    rf"\b{_WORD_NUMBERS}(?:[\s-]+{_WORD_NUMBERS})*\s+(?:per\s?cent|percent|percentage\s+points?|"
    r"basis\s+points?|billion|million|thousand|trillion)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Untraced:
    start: int
    end: int
    text: str


def exempt_spans(
    text: str, *, label: bool = False, formula: bool = False
) -> list[tuple[int, int, str]]:
    """(start, end, exemption name) of every exempt match in ``text``."""
    patterns: list[tuple[str, re.Pattern[str]]] = list(EXEMPT)
    if label:
        patterns += LABEL_EXEMPT
    if formula:
        patterns += FORMULA_EXEMPT
    return [(m.start(), m.end(), name) for name, rx in patterns for m in rx.finditer(text)]


def untraced_numbers(
    text: str,
    *,
    label: bool = False,
    formula: bool = False,
    also_exempt: Iterable[tuple[int, int]] = (),
) -> list[Untraced]:
    """Every number in ``text`` with at least one digit no exemption covers.

    ``text`` is a unit's masked text (marked spans are placeholders, so their digits are
    not seen); ``also_exempt`` adds spans exempt for reasons outside the text itself
    (identity strings such as the house name, copies of the headline).
    """
    covered = bytearray(len(text))
    for start, end, _ in exempt_spans(text, label=label, formula=formula):
        covered[start:end] = b"\x01" * (end - start)
    for start, end in also_exempt:
        covered[start:end] = b"\x01" * (end - start)
    found: list[Untraced] = []
    for m in NUMBER.finditer(text):
        if any(ch.isdigit() and not covered[m.start() + i] for i, ch in enumerate(m.group())):
            found.append(Untraced(m.start(), m.end(), m.group().strip()))
    for m in SPELLED_FIGURE.finditer(text):
        if not any(covered[m.start() : m.end()]):
            found.append(Untraced(m.start(), m.end(), m.group()))
    return sorted(found, key=lambda u: u.start)
