"""Rules over the note's words: untraced numbers, promissory wording, forecasts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from reportgen import formatting
from reportgen.compliance.context import Context, RawFinding
from reportgen.compliance.htmldoc import Unit, location_of, marked_spans, skipped
from reportgen.compliance.lexicon import load_lexicon
from reportgen.compliance.numbers import FORMULA_EXEMPT, SPELLED_FIGURE, untraced_numbers
from reportgen.compliance.rules import checks

#: Units that only repeat text checked elsewhere (the running header repeats the headline).
_COPIES = ("rg-page-header",)
_ELLIPSIS = "…"


# --------------------------------------------------------------------------- untraced numbers


@checks("untraced-number")
def untraced_number(ctx: Context) -> Iterator[RawFinding]:
    yield from _check_marks(ctx)
    identity = _identity_strings(ctx)
    headline = [
        seg.text
        for unit in ctx.units
        if unit.section == "headline"
        for _, seg in unit.marks
        if seg.kind in ("fact", "assumption")
    ]
    for unit in ctx.units:
        also = _spans_of(unit.masked, identity) + _formula_constants(unit)
        if unit.in_context(*_COPIES):
            also += _copy_spans(unit.masked, headline)
        for found in untraced_numbers(
            unit.masked, label=unit.label, formula=unit.formula, also_exempt=also
        ):
            yield ctx.unit_finding(
                "untraced-number",
                unit,
                found.start,
                found.end,
                f"untraced number {found.text!r}: not a marked fact with source and as-of "
                "date, nor a declared assumption",
            )


def _formula_constants(unit: Unit) -> list[tuple[int, int]]:
    """The constants 0 and 1 inside inline formulas."""
    spans = []
    for start, end in unit.formula_spans():
        for _, rx in FORMULA_EXEMPT:
            spans += [
                (start + m.start(), start + m.end()) for m in rx.finditer(unit.masked[start:end])
            ]
    return spans


def _identity_strings(ctx: Context) -> list[str]:
    """Names of the publisher, report, dataset and sources: text that is not a figure."""
    model = ctx.evidence.config.model
    ds = ctx.evidence.dataset
    strings = {model.house, model.id, ds.label or "", *ds.sources.values()}
    strings |= {a.source for a in ctx.assumptions.values()}
    return sorted(
        (s for s in strings if s and any(ch.isdigit() for ch in s)), key=len, reverse=True
    )


def _spans_of(text: str, needles: list[str]) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for n in needles for m in re.finditer(re.escape(n), text)]


def _copy_spans(text: str, displays: list[str]) -> list[tuple[int, int]]:
    """Where a copy of the headline prints the headline's figures (whole or cut with "…")."""
    spans = _spans_of(text, sorted(set(displays), key=len, reverse=True))
    for m in re.finditer(r"[-+]?[$£€]?[\d.,]+\s?" + _ELLIPSIS, text):
        head = m.group()[: -len(_ELLIPSIS)].rstrip()
        if any(d.startswith(head) for d in displays):
            spans.append((m.start(), m.end()))
    return spans


def _check_marks(ctx: Context) -> Iterator[RawFinding]:
    """Every marked span prints exactly what it claims to print."""
    known_names = _data_values(ctx)
    for el, seg in marked_spans(ctx.root):
        if skipped(el):
            continue
        problem = None
        if seg.kind == "fact":
            problem = _fact_problem(ctx, seg.ref or "", seg.text)
        elif seg.kind == "assumption":
            problem = _assumption_problem(ctx, seg.ref or "", seg.text)
        elif any(ch.isdigit() for ch in seg.text) and seg.text not in known_names:
            low = seg.text.lower()
            if not any(low == k.lower() for k in known_names):
                problem = (
                    "marked as a name from the data, but no instrument or holding is "
                    f"called {seg.text!r}"
                )
        if problem is None:
            continue
        section, block = location_of(el)
        parent = el.parent.text() if el.parent is not None else seg.text
        yield RawFinding(
            rule="untraced-number",
            text=seg.text,
            message=problem,
            section=section,
            block=block,
            locate=(parent[:120], seg.text),
            key=f"mark|{seg.kind}|{seg.ref}|{seg.text}",
            context=parent,
        )


def _fact_problem(ctx: Context, fact_id: str, text: str) -> str | None:
    fact = ctx.facts.get(fact_id)
    if fact is None:
        return f"marked as fact {fact_id!r}, which facts.json does not hold"
    display = str(fact.get("display", ""))
    if text not in (display, formatting.unsigned(display)):
        return f"marked as fact {fact_id!r} but prints {text!r}, not its display {display!r}"
    if not fact.get("source") or not fact.get("as_of"):
        return f"fact {fact_id!r} has no source or as-of date in facts.json"
    return None


def _assumption_problem(ctx: Context, name: str, text: str) -> str | None:
    assumption = ctx.assumptions.get(name)
    if assumption is None:
        return f"marked as assumption {name!r}, which the config does not declare"
    if not assumption.source.strip():
        return f"assumption {name!r} has no source"
    shown = {
        formatting.format_value(assumption.value, assumption.unit, style) for style in (None, "fee")
    }
    if assumption.unit in ("percent", "pp"):
        scaled = Decimal(repr(assumption.value)).scaleb(2)
        if scaled == scaled.to_integral_value():  # a whole percentage may print as "10%"
            shown.add(f"{int(scaled)}%" if assumption.unit == "percent" else f"{int(scaled)} pp")
    if text not in shown | {formatting.unsigned(s) for s in shown}:
        expected = formatting.format_value(assumption.value, assumption.unit)
        return f"marked as assumption {name!r} but prints {text!r}, not {expected!r}"
    return None


def _data_values(ctx: Context) -> set[str]:
    ds = ctx.evidence.dataset
    values: set[str] = set()
    for column in ("ticker", "name", "issuer"):
        values |= {str(v) for v in ds.instruments[column].dropna()}
    for column in ("fund", "security", "name", "sector", "bucket"):
        values |= {str(v) for v in ds.holdings[column].dropna()}
    return values


# --------------------------------------------------------------------------- promissory wording


@checks("promissory-wording")
def promissory_wording(ctx: Context) -> Iterator[RawFinding]:
    lexicon = load_lexicon(ctx.settings.lexicon)
    exempt = tuple(lexicon.spec.disclaimer_contexts)
    for unit in ctx.units:
        if unit.in_context(*exempt) or unit.in_context(*_COPIES):
            continue
        text = unit.masked
        for match in lexicon.matches(text):
            s0, s1 = ctx.sentence_bounds(text, match.start)
            if lexicon.is_disclaimer(unit.human(s0, s1)):
                continue
            yield ctx.unit_finding(
                "promissory-wording",
                unit,
                match.start,
                match.end,
                f"promissory or exaggerated wording {unit.human(match.start, match.end)!r} "
                f"(lexicon {lexicon.id}, term {match.term!r})",
            )


# --------------------------------------------------------------------------- forecasts

#: Words that make a sentence about the future a forecast.
FORECAST_WORDS = re.compile(
    r"\b(?:will|won't|expected\s+to|targets?|targeted|targeting)\b", re.IGNORECASE
)
#: A percentage or money amount written out (marked figures are recognised by their unit).
FIGURE_TEXT = re.compile(
    r"\d[\d,.]*\s?(?:%|(?:per\s?cent|percent|percentage\s+points?|pp|bps?|basis\s+points?)\b)"
    r"|[$£€]\s?\d|\b(?:USD|US\$|EUR|GBP)\s?\d",
    re.IGNORECASE,
)
_FIGURE_UNITS = frozenset({"percent", "pp", "bps", "usd"})


@checks("forecast")
def forecast(ctx: Context) -> Iterator[RawFinding]:
    sections = ctx.settings.forecast_sections
    for unit in ctx.units:
        if unit.in_context(*_COPIES) or not ctx.section_matches(unit.section, sections):
            continue
        text = unit.masked
        reported: set[tuple[int, int]] = set()
        for word in FORECAST_WORDS.finditer(text):
            s0, s1 = ctx.sentence_bounds(text, word.start())
            if (s0, s1) in reported or not _has_figure(ctx, unit, s0, s1):
                continue
            reported.add((s0, s1))
            yield ctx.unit_finding(
                "forecast",
                unit,
                word.start(),
                word.end(),
                f"forecast: a percentage or dollar figure in the same sentence as {word.group()!r}",
            )


def _has_figure(ctx: Context, unit: Unit, start: int, end: int) -> bool:
    sentence = unit.masked[start:end]
    if FIGURE_TEXT.search(sentence) or SPELLED_FIGURE.search(sentence):
        return True
    for seg in unit.marks_between(start, end):
        if seg.kind == "fact":
            unit_name = ctx.facts.get(seg.ref or "", {}).get("unit")
        elif seg.kind == "assumption":
            declared = ctx.assumptions.get(seg.ref or "")
            unit_name = declared.unit if declared is not None else None
        else:
            continue
        if unit_name in _FIGURE_UNITS or FIGURE_TEXT.search(seg.text):
            return True
    return False
