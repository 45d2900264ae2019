"""The compliance rules, kept as a table of data.

Each :class:`Rule` says what it checks, how serious a finding is (``block``: the
note must not go out until it is fixed or waived; ``review``: a person must look)
and which regulation it comes from under each regime. The checks themselves are
functions registered against a rule id with :func:`checks`; the engine runs every
rule of :data:`RULES` in order.

The references are pointers for the reviewer to the provision a rule serves, not
legal advice: which provisions apply depends on who publishes the note and to whom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from reportgen.compliance.context import Context, RawFinding

Severity = Literal["block", "review"]
Check = Callable[["Context"], "Iterator[RawFinding]"]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    checks: str
    """What the rule checks, in one or two sentences (shown in docs and compliance.json)."""
    regulation: dict[str, str]
    """Regime (``us``, ``uk``, ``eu``) -> the provisions the rule serves."""


RULES: tuple[Rule, ...] = (
    Rule(
        id="untraced-number",
        severity="block",
        title="Untraced number",
        checks=(
            "Every number printed in prose, tables, captions, notes and the headline is a "
            "marked fact (with source and as-of date) or a marked assumption declared in the "
            "config with its own source, and prints exactly its display text. Dates, years, "
            "periods, ranks, exhibit/page/note numbers and names from the data are not figures."
        ),
        regulation={
            "us": "FINRA Rule 2210(d)(1)(A) (sound basis for evaluating the facts); "
            "SEC Marketing Rule 206(4)-1(a)(2) (statements of fact that can be substantiated)",
            "uk": "FCA COBS 4.2.1R (fair, clear and not misleading); UK MAR Art. 20 with "
            "Delegated Reg. 2016/958 Art. 3 (sources indicated, facts distinguished)",
            "eu": "MiFID II Delegated Reg. (EU) 2017/565 Art. 44(2)(b) and 44(3); "
            "MAR Art. 20 with Delegated Reg. (EU) 2016/958 Art. 3",
        },
    ),
    Rule(
        id="promissory-wording",
        severity="review",
        title="Promissory or exaggerated wording",
        checks=(
            "No promissory or exaggerated term of the wording lexicon (guaranteed, risk-free, "
            "cannot lose, will double, skyrocket, can't-miss, 'the next ...', best/#1/top as a "
            "ranking), unless negated or in a disclaimer."
        ),
        regulation={
            "us": "FINRA Rule 2210(d)(1)(B) (no false, exaggerated, unwarranted, promissory or "
            "misleading statement or claim)",
            "uk": "FCA COBS 4.2.1R; COBS 4.5A (MiFID business) / COBS 4.5.2R: benefits not "
            "emphasised without a fair and prominent indication of risks",
            "eu": "MiFID II Delegated Reg. (EU) 2017/565 Art. 44(2)(b)",
        },
    ),
    Rule(
        id="forecast",
        severity="review",
        title="Forecast",
        checks=(
            "No percentage or dollar figure in the same sentence as 'will', 'expected to' or "
            "'target' in the forecast sections (Outlook, Perspective, Bottom Line)."
        ),
        regulation={
            "us": "FINRA Rule 2210(d)(1)(F) (no prediction or projection of performance); "
            "SEC Marketing Rule 206(4)-1(d)(6) (hypothetical performance)",
            "uk": "FCA COBS 4.6.7R / COBS 4.5A (future performance: reasonable assumptions, "
            "prominent warning)",
            "eu": "MiFID II Delegated Reg. (EU) 2017/565 Art. 44(6); Delegated Reg. (EU) "
            "2016/958 Art. 3(1)(d) (projections labelled, assumptions stated)",
        },
    ),
    Rule(
        id="performance-presentation",
        severity="block",
        title="Performance presentation",
        checks=(
            "Wherever a fund's return is shown, its period and the benchmark's return for the "
            "same period are shown with it and its expense ratio beside it; the note carries "
            "the standardized performance table (1, 5, 10 years or since inception, annualized, "
            "to the latest calendar quarter-end, with expense ratios and the benchmark); the "
            "past-performance legend (no guarantee of future results; returns and principal "
            "value fluctuate) is on every PDF page that shows performance."
        ),
        regulation={
            "us": "FINRA Rule 2210(d)(5)(A) (standardized performance and gross expense ratio); "
            "SEC Rule 482(b)(3) and 482(d) under the Securities Act (legend; 1-, 5-, 10-year "
            "average annual total returns to the latest calendar quarter-end); SEC Marketing "
            "Rule 206(4)-1(d)(2)",
            "uk": "FCA COBS 4.6.2R / COBS 4.5A (past performance: complete 12-month periods over "
            "five years, reference period and source, prominent warning)",
            "eu": "MiFID II Delegated Reg. (EU) 2017/565 Art. 44(4)",
        },
    ),
    Rule(
        id="inception-backfill",
        severity="block",
        title="Return before inception",
        checks=(
            "No return period of a printed figure or a drawn series starts before the "
            "instrument's inception date (no back-filled history); a since-inception return "
            "starts at the first price on or after the inception date."
        ),
        regulation={
            "us": "FINRA Rule 2210(d)(1)(F); SEC Marketing Rule 206(4)-1(d)(6) and (e)(8) "
            "(back-filled history is hypothetical performance)",
            "uk": "FCA COBS 4.6.6R / COBS 4.5A (simulated past performance); COBS 4.6.2R(2)",
            "eu": "MiFID II Delegated Reg. (EU) 2017/565 Art. 44(4)(b) and 44(5)",
        },
    ),
    Rule(
        id="balance-identity",
        severity="block",
        title="Balance and identity",
        checks=(
            "A Risk Assessment section and the disclaimer are present and not empty; the "
            "publishing house's name and the as-of date are on the first page."
        ),
        regulation={
            "us": "FINRA Rule 2210(d)(1)(D) (balanced treatment of risks and benefits) and "
            "2210(d)(3) (name of the member)",
            "uk": "FCA COBS 4.5A / COBS 4.5.2R (name of the firm; fair and prominent "
            "indication of risks)",
            "eu": "MiFID II Delegated Reg. (EU) 2017/565 Art. 44(2)(a)-(b); Delegated Reg. (EU) "
            "2016/958 Art. 2 (identity of the producer)",
        },
    ),
    Rule(
        id="chart-integrity",
        severity="block",
        title="Chart integrity",
        checks=(
            "Bar charts start at zero (their value axis includes 0); every chart has a caption "
            "and a source line naming its source and as-of date."
        ),
        regulation={
            "us": "FINRA Rule 2210(d)(1)(A) (fair and balanced, sound basis)",
            "uk": "FCA COBS 4.2.1R (fair, clear and not misleading)",
            "eu": "MiFID II Delegated Reg. (EU) 2017/565 Art. 44(2)(d)-(e) and 44(3)(b)",
        },
    ),
    Rule(
        id="stale-input",
        severity="review",
        title="Stale input",
        checks=(
            "No printed figure rests on input rows older than the configured number of days "
            "before the as-of date (the quarter-end for standardized performance); a fund with "
            "no rows at all in a period it is reported for is named."
        ),
        regulation={
            "us": "FINRA Rule 2210(d)(1)(A) (sound basis); SEC Rule 482(g) (currency of "
            "performance data)",
            "uk": "FCA COBS 4.2.1R; COBS 4.5A (information up to date)",
            "eu": "MiFID II Delegated Reg. (EU) 2017/565 Art. 44(2)(g) (up to date)",
        },
    ),
    Rule(
        id="file-conformance",
        severity="block",
        title="File conformance",
        checks=(
            "The PDF declares its PDF/A part and conformance in its XMP metadata, embeds every "
            "font it uses and references nothing outside itself (no URI, launch or remote "
            "go-to actions, external file specifications or external streams); report.html "
            "loads nothing from outside itself."
        ),
        regulation={
            "us": "ISO 19005-3 (PDF/A-3); SEC Rule 17a-4(f) and FINRA Rule 4511 (records "
            "preserved in a durable, self-contained form)",
            "uk": "ISO 19005-3 (PDF/A-3); FCA SYSC 9.1 (record keeping)",
            "eu": "ISO 19005-3 (PDF/A-3); MiFID II Delegated Reg. (EU) 2017/565 Art. 72 "
            "(records kept in a durable medium)",
        },
    ),
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}

_CHECKS: dict[str, Check] = {}


def checks(rule_id: str) -> Callable[[Check], Check]:
    """Register the function that checks ``rule_id`` (one function per rule)."""
    if rule_id not in RULES_BY_ID:
        raise ValueError(f"no rule {rule_id!r} in RULES")

    def register(func: Check) -> Check:
        if rule_id in _CHECKS:
            raise ValueError(f"rule {rule_id!r} already has a check")
        _CHECKS[rule_id] = func
        return func

    return register


def check_for(rule_id: str) -> Check:
    """The registered check of a rule (importing the check modules registers them)."""
    from reportgen.compliance import checks_doc, checks_perf, checks_text  # noqa: F401

    return _CHECKS[rule_id]
