"""Naming funds by rule ("largest theme ETF by AUM"), so one config serves any dataset.

A selector is resolved against the facts of the build, not the raw data, so the
fund chosen is exactly the one whose figures the note prints.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from reportgen.authoring import FundRef
from reportgen.config import FundSelector
from reportgen.facts import FactSet


class SelectorError(Exception):
    """A selector that is wrong whatever the data (a ticker not in the universe)."""


class NoCandidate(SelectorError):
    """A rule that names no fund on this dataset (no ETF of the role has the metric)."""


def fund_refs(instruments: pd.DataFrame, universe: list[str]) -> dict[str, FundRef]:
    rows = instruments.set_index("ticker")
    refs = {}
    for t in universe:
        issuer = rows.at[t, "issuer"]
        refs[t] = FundRef(
            ticker=t,
            name=str(rows.at[t, "name"]),
            issuer=issuer if isinstance(issuer, str) else None,
        )
    return refs


def resolve(
    selector: FundSelector,
    facts: FactSet,
    roles: Mapping[str, str],
    refs: Mapping[str, FundRef],
    subject: str | None = None,
) -> FundRef:
    """The fund a selector names. ``roles`` maps each ETF of the universe to its role;
    ``subject`` is the ticker of the report's subject fund, if it has one."""
    if selector.subject:
        if subject is None:
            raise SelectorError("names the report's subject fund, but none was given")
        if subject not in refs:
            raise SelectorError(f"subject {subject!r} is not an ETF in the universe")
        return refs[subject]
    if selector.ticker is not None:
        if selector.ticker not in refs:
            raise SelectorError(f"ticker {selector.ticker!r} is not an ETF in the universe")
        return refs[selector.ticker]
    assert selector.by is not None
    candidates = []
    for ticker, role in roles.items():
        if role != selector.role:
            continue
        fact = facts.get(f"etf.{ticker}.{selector.by}")
        if fact is not None and fact.value is not None:
            candidates.append((fact.value, ticker))
    known = sorted({k.split(".", 2)[2] for k in facts if k.startswith("etf.")})
    if known and selector.by not in known:
        raise SelectorError(f"unknown per-ETF metric {selector.by!r} (known: {', '.join(known)})")
    if not candidates:
        raise NoCandidate(f"no {selector.role} ETF of the universe has a value for {selector.by!r}")
    reverse = selector.select == "largest"
    # ties: alphabetically first ticker, whichever direction
    ordered = sorted(candidates, key=lambda c: ((-c[0] if reverse else c[0]), c[1]))
    if selector.rank > len(ordered):
        raise NoCandidate(
            f"rank {selector.rank} asked for, but only {len(ordered)}"
            f" {selector.role} ETF(s) qualify"
        )
    return refs[ordered[selector.rank - 1][1]]
