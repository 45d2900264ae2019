"""What the document stage knows: the facts, the funds, and helpers to cite them.

Table and chart builders read figures only through this context, so every
printed number is a fact (with its source and date), and every block's citation
is derived from exactly the facts it printed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from reportgen.authoring import AuthoringContext, FundRef
from reportgen.dataset import Dataset
from reportgen.document import Cell, Citation
from reportgen.facts import Fact, FactSet

NOT_APPLICABLE = "–"


class OptionError(Exception):
    """A table or chart option that is wrong whatever the data (reported at its config line)."""


class NoData(Exception):
    """A table or chart with nothing to show on this dataset (the message says why).

    Not an error: the document says "not available" where the block would be.
    """


def option_int(options: dict[str, object], key: str, default: int, minimum: int = 1) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OptionError(f"options.{key}: expected a whole number >= {minimum}, found {value!r}")
    return value


def option_choice(options: dict[str, object], key: str, choices: tuple[str, ...]) -> str:
    value = options.get(key, choices[0])
    if value not in choices:
        raise OptionError(f"options.{key}: expected one of {', '.join(choices)}, found {value!r}")
    return str(value)  # an id that does not exist for this row (e.g. beta of an index)


#: The index roles a table or chart can compare a fund with, in the order they are shown.
INDEX_ROLES: tuple[str, ...] = ("theme", "benchmark")


def option_indexes(
    options: dict[str, object], key: str = "indexes", default: tuple[str, ...] = INDEX_ROLES
) -> tuple[str, ...]:
    """A list of index roles (``[benchmark]``, ``[benchmark, theme]`` or ``[]``), in the
    order given."""
    value = options.get(key, list(default))
    if not isinstance(value, list) or any(v not in INDEX_ROLES for v in value):
        raise OptionError(
            f"options.{key}: expected a list of index roles from {', '.join(INDEX_ROLES)},"
            f" found {value!r}"
        )
    return tuple(dict.fromkeys(value))


@dataclass
class ComposeContext:
    dataset: Dataset  # already cut at the as-of date
    as_of: date
    facts: FactSet
    authoring: AuthoringContext
    #: every ETF of the universe -> FundRef, and its role
    refs: dict[str, FundRef]
    roles: dict[str, str]
    #: the two indexes by role ("theme", "benchmark") -> (ticker, name)
    indexes: dict[str, tuple[str, str]]

    def etfs(self, role: str) -> list[str]:
        """ETFs of a role, largest AUM first (funds without AUM last, then by ticker)."""
        tickers = [t for t, r in self.roles.items() if r == role]

        def key(t: str) -> tuple[int, float, str]:
            f = self.facts.get(f"etf.{t}.aum")
            if f is None or f.value is None:
                return (1, 0.0, t)
            return (0, -f.value, t)

        return sorted(tickers, key=key)

    def fund_option(self, options: dict[str, object], key: str = "fund") -> FundRef:
        """The ETF an option names: a fund name from ``funds:`` or a ticker of the universe.

        A fund name whose rule names no fund on this dataset raises :class:`NoData`
        (the block says "not available"); anything else that is not an ETF of the
        universe is an :class:`OptionError`.
        """
        value = options.get(key)
        funds = self.authoring.funds
        if isinstance(value, str) and value in funds and funds[value].ticker in self.refs:
            return funds[value]
        if isinstance(value, str) and value in self.authoring.missing_funds:
            raise NoData(self.authoring.missing_funds[value])
        if isinstance(value, str) and value in self.refs and value not in funds:
            return self.refs[value]
        known = ", ".join(sorted(a for a, f in funds.items() if f.ticker in self.refs))
        raise OptionError(
            f"options.{key}: expected a fund name ({known or 'none defined'}) or an ETF ticker"
            f" of the universe, found {value!r}"
        )

    def role_of(self, ticker: str) -> str:
        """``theme`` or ``benchmark``: the role of an ETF of the universe or of an index."""
        for role, (t, _) in self.indexes.items():
            if t == ticker:
                return role
        return self.roles[ticker]


@dataclass
class Tracker:
    """Collects the facts a block printed and the footnotes its n/a cells need."""

    facts: dict[str, Fact] = field(default_factory=dict)
    extra_sources: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def use(self, fact: Fact) -> Fact:
        self.facts[fact.id] = fact
        return fact

    def footnote(self, text: str) -> str:
        if text not in self.notes:
            self.notes.append(text)
        return _marker(self.notes.index(text))

    def cell(self, ctx: ComposeContext, fact_id: str) -> Cell:
        """A numeric cell with a fact's display; n/a cells get a footnote with the reason."""
        fact = ctx.facts.get(fact_id)
        if fact is None:
            return Cell(NOT_APPLICABLE, numeric=True)
        self.use(fact)
        if fact.value is None:
            return Cell(
                fact.display, fact.id, numeric=True, footnote=self.footnote(fact.reason or "")
            )
        return Cell(fact.display, fact.id, numeric=True)

    def citation(self) -> Citation | None:
        return citation_for(self.facts.values(), self.extra_sources)

    def note_lines(self) -> tuple[str, ...]:
        return tuple(f"({_marker(i)}) n/a: {text}" for i, text in enumerate(self.notes))


def _marker(index: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[index] if index < 26 else str(index + 1)


def citation_for(facts: Iterable[Fact], extra_sources: Iterable[str] = ()) -> Citation | None:
    facts = list(facts)
    sources: set[str] = set(extra_sources)
    for f in facts:
        sources.update(s for s in f.source.split("; ") if s)
    if not facts and not sources:
        return None
    newest = max((f.as_of for f in facts), default=None)
    return Citation(tuple(sorted(sources)), newest)
