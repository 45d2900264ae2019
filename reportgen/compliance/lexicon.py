"""The versioned wording lexicon (``reportgen/lexicon/<name>.yaml``), loaded and compiled."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reportgen.errors import ReportgenError

LEXICON_DIR = Path(__file__).resolve().parent.parent / "lexicon"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PatternSpec(_Strict):
    id: Annotated[str, Field(min_length=1)]
    regex: Annotated[str, Field(min_length=1)]
    case_sensitive: bool = False


class Negation(_Strict):
    window: Annotated[int, Field(ge=1, le=10)] = 4
    words: list[str] = Field(default_factory=list)


class LexiconSpec(_Strict):
    id: Annotated[str, Field(min_length=1)]
    version: Annotated[int, Field(ge=1)]
    terms: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    patterns: list[PatternSpec] = Field(default_factory=list)
    allowed: list[str] = Field(default_factory=list)
    negation: Negation = Field(default_factory=Negation)
    disclaimer_phrases: list[str] = Field(default_factory=list)
    disclaimer_contexts: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    term: str


def _phrase(term: str) -> str:
    """A term as a regex: spaces and hyphens interchangeable, both apostrophes, word bounds."""
    parts = []
    for ch in term.lower():
        if ch in " -":
            parts.append(r"[\s\-‐]+")
        elif ch in "'’":
            parts.append("['’]")
        else:
            parts.append(re.escape(ch))
    body = "".join(parts)
    body = re.sub(r"(\[\\s\\-‐\]\+)+", r"[\\s\\-‐]+", body)
    return rf"(?<![\w#]){body}(?![\w])"


@dataclass(frozen=True)
class Lexicon:
    spec: LexiconSpec
    path: Path
    compiled: tuple[tuple[str, re.Pattern[str]], ...]

    @property
    def id(self) -> str:
        return self.spec.id

    def matches(self, text: str) -> list[Match]:
        """Promissory uses in ``text`` that are neither allowed, negated nor disclaimers."""
        hits = [(term, m) for term, rx in self.compiled for m in rx.finditer(text)]
        if not hits:  # most text: no need to look for allowed phrases
            return []
        allowed = [
            (m.start(), m.end())
            for rx in _allowed_patterns(tuple(self.spec.allowed))
            for m in rx.finditer(text)
        ]
        found: list[Match] = []
        for term, m in hits:
            if any(a <= m.start() and m.end() <= b for a, b in allowed):
                continue
            if self._negated(text, m.start()):
                continue
            found.append(Match(m.start(), m.end(), term))
        found.sort(key=lambda x: (x.start, -(x.end - x.start)))
        out: list[Match] = []
        for match in found:  # overlapping matches ("can't miss" and "can't-miss"): keep one
            if out and match.start < out[-1].end:
                continue
            out.append(match)
        return out

    def _negated(self, text: str, start: int) -> bool:
        clause = re.split(r"[.;:!?,()\u2013\u2014]", text[:start])[-1]
        words = re.findall(r"[\w']+|n't", clause.lower().replace("’", "'"))
        window = words[-self.spec.negation.window :]
        negators = {w.lower() for w in self.spec.negation.words}
        return any(w in negators or (w.endswith("n't") and "n't" in negators) for w in window)

    def is_disclaimer(self, sentence: str) -> bool:
        low = " ".join(sentence.lower().split())
        return any(phrase in low for phrase in self.spec.disclaimer_phrases)


@cache
def _allowed_patterns(phrases: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The allowed phrases, compiled once per lexicon."""
    return tuple(re.compile(_phrase(phrase), re.IGNORECASE) for phrase in phrases)


def _compile(spec: LexiconSpec) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = [(term, re.compile(_phrase(term), re.IGNORECASE)) for term in spec.terms]
    for p in spec.patterns:
        out.append((p.id, re.compile(p.regex, 0 if p.case_sensitive else re.IGNORECASE)))
    return tuple(out)


@cache
def load_lexicon(name: str) -> Lexicon:
    """Load ``reportgen/lexicon/<name>.yaml``; a missing or malformed file is an error."""
    path = LEXICON_DIR / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in LEXICON_DIR.glob("*.yaml")))
        raise ReportgenError(f"compliance.lexicon: expected one of {known}, found {name!r}")
    try:
        spec = LexiconSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        compiled = _compile(spec)
    except (ValidationError, yaml.YAMLError, re.error) as exc:
        raise ReportgenError(f"{path}: malformed lexicon: {exc}") from None
    if spec.id != name:
        raise ReportgenError(f"{path}: id {spec.id!r} does not match the file name")
    return Lexicon(spec, path, compiled)
