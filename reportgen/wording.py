"""Direction-aware words for analysts' templates.

The same config must tell a rising market and a falling one correctly, so
authors never write "rose" or "inflows" by hand: they ask for the word that
fits the sign of a fact. The sign is read from the fact's *printed* value, so a
return that displays as "0.0%" is "unchanged", never "rose 0.0%".
"""

from __future__ import annotations

from typing import Literal

from reportgen.facts import Fact
from reportgen.formatting import unsigned

Sign = Literal["positive", "negative", "zero", "missing"]


def sign_of(fact: Fact) -> Sign:
    """The sign a reader sees: from the rounded display, not the raw float."""
    if fact.value is None:
        return "missing"
    digits = "".join(ch for ch in unsigned(fact.display) if ch.isdigit())
    if digits.strip("0") == "":
        return "zero"
    return "positive" if fact.value > 0 else "negative"


def pick(fact: Fact, positive: str, negative: str, zero: str, missing: str) -> str:
    return {"positive": positive, "negative": negative, "zero": zero, "missing": missing}[
        sign_of(fact)
    ]
