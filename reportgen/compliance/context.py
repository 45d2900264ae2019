"""What every check reads: the evidence of one build, parsed once.

:class:`Evidence` is what a build produced (HTML, PDF, facts.json) and what it was
built from (config, dataset, as-of date). :class:`Context` parses it once (the HTML
tree and its text units, the PDF's pages, the facts, the declared assumptions) and
places findings on PDF pages. Checks yield :class:`RawFinding`; the engine turns
them into :class:`~reportgen.compliance.engine.Finding` with ids and waivers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from reportgen.compliance.htmldoc import Element, Unit, parse_html, units
from reportgen.compliance.pdfdoc import PdfFacts, normalize, read_pdf
from reportgen.compliance.settings import ComplianceConfig
from reportgen.config import Assumption, LoadedConfig, scenario_assumptions, slug
from reportgen.dataset import Dataset

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"“(\ue000-\ue003])")


@dataclass(frozen=True)
class Evidence:
    """One build's outputs and inputs, everything the checks read.

    ``facts`` is the whole parsed ``facts.json`` (``{"report", "as_of", "facts": {...}}``).
    ``pdf`` may be empty only in tests of HTML-level rules; the PDF rules then report
    that there is no PDF.
    """

    html: str
    pdf: bytes
    facts: Mapping[str, Any]
    config: LoadedConfig
    dataset: Dataset
    as_of: date

    @property
    def settings(self) -> ComplianceConfig:
        found = getattr(self.config.model, "compliance", None)
        return found if isinstance(found, ComplianceConfig) else ComplianceConfig()


@dataclass
class RawFinding:
    """What a check found, before it gets an id, a page and its waiver."""

    rule: str
    text: str
    message: str
    section: str | None = None
    block: str | None = None
    page: int | None = None
    #: texts to search in the PDF pages, in order, to find the page when ``page`` is None
    locate: Sequence[str] = ()
    #: what identifies the finding within its rule and section (default: ``text``)
    key: str | None = None
    #: the sentence or passage the offending text stands in, as printed
    context: str | None = None


@dataclass
class Context:
    evidence: Evidence
    settings: ComplianceConfig = field(init=False)

    def __post_init__(self) -> None:
        self.settings = self.evidence.settings

    # ------------------------------------------------------------------ inputs

    @property
    def as_of(self) -> date:
        return self.evidence.as_of

    @cached_property
    def root(self) -> Element:
        return parse_html(self.evidence.html)

    @cached_property
    def units(self) -> list[Unit]:
        return units(self.root)

    @cached_property
    def facts(self) -> dict[str, dict[str, Any]]:
        raw = self.evidence.facts.get("facts", {})
        return dict(raw) if isinstance(raw, Mapping) else {}

    @cached_property
    def assumptions(self) -> dict[str, Assumption]:
        model = self.evidence.config.model
        return {**scenario_assumptions(model.scenario), **model.assumptions}

    @cached_property
    def dataset(self) -> Dataset:
        """The dataset without rows after the as-of date (what the build used)."""
        return self.evidence.dataset.up_to(self.as_of)

    @cached_property
    def pdf(self) -> PdfFacts:
        if not self.evidence.pdf:
            return PdfFacts([], [], [], None, error="no PDF")
        return read_pdf(self.evidence.pdf)

    @cached_property
    def sections(self) -> dict[str, Element]:
        """Section id -> its ``<section>`` element, the numbered sections and the disclosures."""
        return {
            el.id: el
            for el in self.root.iter()
            if el.tag == "section"
            and el.id
            and ("rg-section" in el.classes or el.id.startswith("rg-"))
        }

    @cached_property
    def section_titles(self) -> dict[str, str]:
        """Section id -> the text of its heading."""
        out = {}
        for sid, el in self.sections.items():
            heading = next(iter(el.find_all("h2")), None)
            out[sid] = heading.text() if heading is not None else ""
        return out

    def section_matches(self, section_id: str | None, names: Sequence[str]) -> bool:
        """Whether a section is one of ``names``: by id, or its title's slug contains a name."""
        if section_id is None:
            return False
        if section_id in names:
            return True
        title_slug = slug(self.section_titles.get(section_id, ""))
        return bool(title_slug) and any(name in title_slug for name in names)

    # ------------------------------------------------------------------ text helpers

    @staticmethod
    def sentence_bounds(text: str, pos: int) -> tuple[int, int]:
        """(start, end) of the sentence of ``text`` around position ``pos``."""
        start = 0
        end = len(text)
        for m in _SENTENCE_END.finditer(text):
            if m.end() <= pos:
                start = m.end()
            elif m.start() >= pos:
                end = m.start()
                break
        return start, end

    # ------------------------------------------------------------------ pages

    @cached_property
    def _block_pages(self) -> dict[tuple[str | None, str | None], int]:
        """The first page each (section, block) and each (section, None) was found on."""
        found: dict[tuple[str | None, str | None], int] = {}
        if not self.pdf.pages:
            return found
        last = 1
        for unit in self.units:
            key = normalize(unit.text)[:60]
            if len(key) < 12:
                continue
            pages = [p for p in self.pdf.pages_with(key)]
            if not pages:
                continue
            later = [p for p in pages if p >= last]
            page = later[0] if later else pages[0]
            last = page
            found.setdefault((unit.section, unit.block), page)
            found.setdefault((unit.section, None), page)
        return found

    def hint_page(self, section: str | None, block: str | None) -> int | None:
        pages = self._block_pages
        return pages.get((section, block)) or pages.get((section, None))

    def page_for(self, raw: RawFinding) -> int | None:
        """The PDF page of a finding: where its text is found, nearest its block's page."""
        if raw.page is not None:
            return raw.page
        hint = self.hint_page(raw.section, raw.block)
        for snippet in raw.locate:
            if len(normalize(snippet)) < 4:
                continue
            pages = self.pdf.pages_with(snippet)
            if pages:
                if hint is None:
                    return pages[0]
                return min(pages, key=lambda p: (p < hint, abs(p - hint)))
        return hint

    # ------------------------------------------------------------------ unit helpers

    def unit_finding(
        self,
        rule: str,
        unit: Unit,
        start: int,
        end: int,
        message: str,
        *,
        key_extra: str = "",
    ) -> RawFinding:
        """A finding about ``masked[start:end]`` of a unit, with its sentence as context."""
        s0, s1 = self.sentence_bounds(unit.masked, start)
        s0, s1 = min(s0, start), max(s1, end)
        token = unit.human(start, end)
        sentence = unit.human(s0, s1)
        window = unit.human(max(s0, start - 30), min(s1, end + 30))
        return RawFinding(
            rule=rule,
            text=token,
            message=message,
            context=sentence,
            section=unit.section,
            block=unit.block,
            locate=(sentence, window, token),
            key=f"{token}|{key_extra}|{' '.join(sentence.lower().split())}",
        )
