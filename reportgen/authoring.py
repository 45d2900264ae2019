"""Rendering analysts' commentary: Markdown with Jinja expressions over facts.

Commentary is trusted template code written by analysts; values from the
dataset (fund names, issuers) are not. So the order is strict:

1. Jinja renders the author's text (autoescape on, undefined names an error).
   Every helper that prints a figure or a dataset value returns an opaque
   placeholder token, never the text itself.
2. Markdown is parsed (raw HTML off), with the tokens as inert characters.
3. Each token is replaced by its escaped HTML: a figure as
   ``<span class="fact" data-fact="ID">display</span>``, a name as
   ``<span class="name">...</span>``.

So a fund named ``A_B*C*`` or ``{{ 7*7 }}`` prints exactly as typed, and every
printed figure is marked for the compliance stage, which treats any other
number in the text as untraced.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from reportgen import formatting, wording
from reportgen.config import Assumption
from reportgen.facts import Fact, FactSet

_OPEN, _CLOSE = "\ue000", "\ue001"
_TOKEN = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


class AuthoringError(Exception):
    """A problem in an author's template; ``lineno`` is 1-based within the template."""

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.lineno = lineno


@dataclass(frozen=True)
class FundRef:
    """A fund as authors see it; its text attributes print as escaped data."""

    ticker: str
    name: str
    issuer: str | None


@dataclass
class Usage:
    """Which facts and assumptions a piece of text printed, for its citation."""

    facts: dict[str, Fact] = field(default_factory=dict)
    assumptions: dict[str, Assumption] = field(default_factory=dict)


class _Fragments:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, html: str) -> Markup:
        self.items.append(html)
        return Markup(f"{_OPEN}{len(self.items) - 1}{_CLOSE}")

    def substitute(self, text: str) -> str:
        return _TOKEN.sub(lambda m: self.items[int(m.group(1))], text)


class _FundView:
    """What ``fund('leader')`` returns inside a template."""

    def __init__(self, ref: FundRef, frags: _Fragments) -> None:
        self._ref, self._frags = ref, frags

    def _data(self, text: str | None) -> Markup:
        shown = text if text else formatting.NOT_AVAILABLE
        return self._frags.add(f'<span class="name">{escape(shown)}</span>')

    @property
    def name(self) -> Markup:
        return self._data(self._ref.name)

    @property
    def ticker(self) -> Markup:
        return self._data(self._ref.ticker)

    @property
    def issuer(self) -> Markup:
        return self._data(self._ref.issuer)

    def __str__(self) -> str:
        return str(self.name)

    def __html__(self) -> str:
        return str(self.name)


class AuthoringContext:
    """Facts, named funds and assumptions, and the helpers templates call."""

    def __init__(
        self,
        facts: FactSet,
        funds: Mapping[str, FundRef],
        assumptions: Mapping[str, Assumption],
        as_of: date,
        extra_globals: Mapping[str, Any] | None = None,
        missing_funds: Mapping[str, str] | None = None,
    ) -> None:
        self.facts = facts
        self.funds = dict(funds)
        #: selectors that name no fund on this dataset -> why (guard with has_fund())
        self.missing_funds = dict(missing_funds or {})
        self.assumptions = dict(assumptions)
        self.as_of = as_of
        self.env = SandboxedEnvironment(
            autoescape=True, undefined=StrictUndefined, keep_trailing_newline=False
        )
        self.extra_globals = dict(extra_globals or {})
        self.markdown = MarkdownIt("commonmark", {"html": False, "typographer": False})
        # A soft line break is a space: authors wrap lines in YAML, readers see one paragraph
        # (a raw newline right after an inline element made WeasyPrint break the line there).
        self.markdown.add_render_rule("softbreak", lambda *args, **kwargs: " ")

    # -- fact lookup ---------------------------------------------------------------
    def resolve_id(self, fact_id: str) -> str:
        """``etf.@leader.aum`` -> ``etf.<ticker of the fund named leader>.aum``."""

        def swap(m: re.Match[str]) -> str:
            return self.fund_ref(m.group(1)).ticker

        return re.sub(r"@([A-Za-z0-9_]+)", swap, fact_id)

    def fund_ref(self, alias: str) -> FundRef:
        if alias in self.funds:
            return self.funds[alias]
        if alias in self.missing_funds:
            raise AuthoringError(
                f"fund {alias!r} names no fund on this dataset ({self.missing_funds[alias]});"
                f" guard the text with {{% if has_fund('{alias}') %}}"
            )
        known = ", ".join(sorted(self.funds)) or "none defined"
        raise AuthoringError(f"unknown fund {alias!r} (funds: {known})")

    def has(self, fact_id: str) -> bool:
        """Whether the fact exists and has a value (ids that do not apply are False)."""
        try:
            resolved = self.resolve_id(fact_id)
        except AuthoringError:
            return False
        fact = self.facts.get(resolved)
        return fact is not None and fact.value is not None

    def lookup(self, fact_id: str) -> Fact:
        resolved = self.resolve_id(fact_id)
        if resolved not in self.facts:
            close = difflib.get_close_matches(resolved, list(self.facts), n=3, cutoff=0.75)
            hint = f"; similar: {', '.join(close)}" if close else ""
            raise AuthoringError(f"unknown fact id {fact_id!r}{hint}")
        return self.facts[resolved]

    # -- rendering -----------------------------------------------------------------
    def _helpers(self, frags: _Fragments, usage: Usage) -> dict[str, Any]:
        def figure(fact: Fact, text: str) -> Markup:
            usage.facts[fact.id] = fact
            return frags.add(
                f'<span class="fact" data-fact="{escape(fact.id)}">{escape(text)}</span>'
            )

        def fact(fact_id: str) -> Markup:
            f = self.lookup(fact_id)
            return figure(f, f.display)

        def amount(fact_id: str) -> Markup:
            """The display without its sign, for use beside a direction word."""
            f = self.lookup(fact_id)
            return figure(f, formatting.unsigned(f.display))

        def direction(
            fact_id: str, up: str, down: str, flat: str = "unchanged", missing: str = ""
        ) -> str:
            return wording.pick(self.lookup(fact_id), up, down, flat, missing or "not available")

        def change(
            fact_id: str, up: str = "rose", down: str = "fell", flat: str = "was unchanged at"
        ) -> Markup:
            f = self.lookup(fact_id)
            if f.value is None:
                return Markup("was ") + figure(f, formatting.NOT_AVAILABLE)
            word = wording.pick(f, up, down, flat, "")
            return Markup(escape(word)) + Markup(" ") + amount(fact_id)

        def flows(
            fact_id: str, inflows: str = "net inflows", outflows: str = "net outflows"
        ) -> Markup:
            """ "net inflows of $4.2bn" / "net outflows of $1.0bn" / "net flows of $0"."""
            f = self.lookup(fact_id)
            if f.value is None:
                return Markup("net flows of ") + figure(f, formatting.NOT_AVAILABLE)
            if wording.sign_of(f) == "zero":
                return Markup("net flows of ") + figure(f, f.display)
            word = inflows if wording.sign_of(f) == "positive" else outflows
            return Markup(escape(word)) + Markup(" of ") + amount(fact_id)

        def compare(
            fact_id: str,
            above: str = "outperformed",
            below: str = "underperformed",
            same: str = "matched",
        ) -> str:
            return wording.pick(self.lookup(fact_id), above, below, same, "could not be compared")

        def available(fact_id: str) -> bool:
            """For ``{% if %}`` guards: False when the figure is null or absent on this dataset
            (top-10 weight of a fund without holdings), so one config serves any dataset."""
            return self.has(fact_id)

        def has_fund(alias: str) -> bool:
            if alias not in self.funds and alias not in self.missing_funds:
                self.fund_ref(alias)  # raises: unknown alias is a config error, not a guard
            return alias in self.funds

        def value(fact_id: str) -> float | None:
            """The raw number, for conditions only (``{% if value(x) > 0.1 %}``), never printed."""
            return self.lookup(fact_id).value

        def same_fund(first: str, second: str) -> bool:
            """Whether two selectors name the same fund (to avoid "X led ..., while X ...")."""
            return self.fund_ref(first).ticker == self.fund_ref(second).ticker

        def fund(alias: str) -> _FundView:
            return _FundView(self.fund_ref(alias), frags)

        def assumption(name: str) -> Markup:
            if name not in self.assumptions:
                known = ", ".join(sorted(self.assumptions)) or "none defined"
                raise AuthoringError(f"unknown assumption {name!r} (assumptions: {known})")
            a = self.assumptions[name]
            usage.assumptions[name] = a
            text = formatting.format_value(a.value, a.unit)
            return frags.add(
                f'<span class="fact assumption" data-assumption="{escape(name)}">'
                f"{escape(text)}</span>"
            )

        return {
            "fact": fact,
            "amount": amount,
            "direction": direction,
            "change": change,
            "flows": flows,
            "compare": compare,
            "available": available,
            "has_fund": has_fund,
            "same_fund": same_fund,
            "value": value,
            "fund": fund,
            "assumption": assumption,
            "as_of": formatting.format_date(self.as_of),
        }

    def _render_template(self, source: str, frags: _Fragments, usage: Usage) -> str:
        try:
            template = self.env.from_string(source)
        except TemplateSyntaxError as exc:
            raise AuthoringError(f"template syntax: {exc.message}", exc.lineno) from None
        try:
            return template.render(**self.extra_globals, **self._helpers(frags, usage))
        except AuthoringError as exc:
            exc.lineno = exc.lineno or _template_line(exc)
            raise
        except UndefinedError as exc:
            raise AuthoringError(f"undefined name: {exc.message}", _template_line(exc)) from None
        except TemplateError as exc:
            raise AuthoringError(f"template error: {exc}", _template_line(exc)) from None
        except Exception as exc:  # a template is code: any error in it is the author's to fix
            message = f"template error: {type(exc).__name__}: {exc}"
            raise AuthoringError(message, _template_line(exc)) from None

    def render_markdown(self, source: str, *, inline: bool = False) -> tuple[Markup, Usage]:
        """Author text -> safe HTML with facts marked; also which facts it printed."""
        frags, usage = _Fragments(), Usage()
        text = self._render_template(source, frags, usage)
        html = self.markdown.renderInline(text) if inline else self.markdown.render(text)
        return Markup(frags.substitute(html).strip()), usage


def _template_line(exc: BaseException) -> int | None:
    """The template line an exception was raised from, read off its traceback."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
