"""Config + facts -> Document: the analysts' commentary, tables and charts, resolved.

Every reference in the config (fact ids in templates, table and chart kinds,
fund selectors, commentary files) is resolved here, and every problem is
collected and reported at once, naming the config file, line and section,
before anything is rendered.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from reportgen.authoring import AuthoringContext, AuthoringError, FundRef, Usage
from reportgen.chart_blocks import CHARTS
from reportgen.compose_context import ComposeContext, NoData, OptionError, citation_for
from reportgen.config import BlockConfig, LoadedConfig, scenario_assumptions, slug
from reportgen.dataset import Dataset
from reportgen.document import (
    Block,
    Callout,
    Citation,
    Document,
    Faq,
    FaqItem,
    KeyFigure,
    Paragraph,
    Section,
)
from reportgen.errors import InputError, Problem, UsageError
from reportgen.facts import FactSet
from reportgen.metrics_base import index_ticker, universe
from reportgen.paths import resolve_inside
from reportgen.selectors import NoCandidate, SelectorError, fund_refs, resolve
from reportgen.tables import TABLES
from reportgen.yaml_source import Location

#: At most this many tickers are listed in a message about a subject that is not in the universe.
_LISTED_TICKERS = 12


def check_subject(config: LoadedConfig, subject: str | None, etfs: list[str], as_of: Any) -> None:
    """Refuse (exit 2) a subject the config cannot use, or a missing one it needs."""
    path = config.path
    if subject is None and config.needs_subject:
        alias = config.subject_funds[0]
        raise UsageError(
            f"{path}: this report describes one fund (funds.{alias}: {{subject: true}}), "
            f"so it needs a subject: build it for every fund with `reportgen batch {path} ...`, "
            "or for one fund with --subject TICKER"
        )
    if subject is not None and not config.needs_subject:
        raise UsageError(
            f"{path}: a subject fund ({subject}) was given, but this report is not about one "
            "fund (no entry of funds: has subject: true)"
        )
    if subject is not None and subject not in etfs:
        shown = ", ".join(etfs[:_LISTED_TICKERS])
        more = f" and {len(etfs) - _LISTED_TICKERS} more" if len(etfs) > _LISTED_TICKERS else ""
        raise UsageError(
            f"subject {subject!r}: not an ETF of the universe at {as_of} "
            f"(ETFs with a price on or before that date: {shown or 'none'}{more})"
        )


class _Composer:
    def __init__(
        self,
        config: LoadedConfig,
        dataset: Dataset,
        facts: FactSet,
        as_of: Any,
        subject: str | None = None,
    ) -> None:
        self.config = config
        self.cfg = config.model
        self.problems: list[Problem] = []
        #: seconds spent drawing charts (the benchmark reports them apart)
        self.chart_seconds = 0.0
        ds = dataset.up_to(as_of)
        tickers = universe(ds, as_of)
        check_subject(config, subject, tickers, as_of)
        inst = ds.instruments.set_index("ticker")
        roles = {t: str(inst.at[t, "role"]) for t in tickers}
        refs = fund_refs(ds.instruments, tickers)
        indexes = {
            role: (t := index_ticker(ds, role), str(inst.at[t, "name"]))
            for role in ("theme", "benchmark")
        }
        funds: dict[str, FundRef] = {}
        missing: dict[str, str] = {}
        for alias, selector in self.cfg.funds.items():
            try:
                funds[alias] = resolve(selector, facts, roles, refs, subject)
            except NoCandidate as exc:
                missing[alias] = str(exc)  # a property of this dataset, not a config error
            except SelectorError as exc:
                self._problem(("funds", alias), f"funds.{alias}: {exc}")
        index_refs = {
            f"{role}_index": FundRef(t, name, None) for role, (t, name) in indexes.items()
        }
        assumptions = {**scenario_assumptions(self.cfg.scenario), **self.cfg.assumptions}
        authoring = AuthoringContext(
            facts,
            {**index_refs, **funds},
            assumptions,
            as_of,
            extra_globals={"role": self._role},
            missing_funds=missing,
        )
        self.ctx = ComposeContext(ds, as_of, facts, authoring, refs, roles, indexes)

    def _role(self, alias: str) -> str:
        """``role('fund')`` in templates: "theme" or "benchmark", the named fund's role."""
        return self.ctx.role_of(self.ctx.authoring.fund_ref(alias).ticker)

    # -- problems ------------------------------------------------------------------
    def _problem(self, loc: Location, message: str, section: str | None = None) -> None:
        where = f" (section {section!r})" if section else ""
        self.problems.append(self.config.problem(loc, message + where))

    def _template_problem(self, loc: Location, err: AuthoringError, section: str | None) -> None:
        mark = self.config.source.mark_for(loc)
        line = mark.line
        if err.lineno is not None:
            line = self._error_line(loc, mark.line, mark.column, err.lineno)
        where = f" (section {section!r})" if section else ""
        key = ".".join(str(p) for p in loc)
        self.problems.append(
            Problem(
                self.config.source.path, line, None, f"{key}: {err}{where}", char_column=mark.column
            )
        )

    def _error_line(self, loc: Location, line: int, column: int, lineno: int) -> int:
        """The config line of template line ``lineno`` of the value at ``loc``.

        A ``|`` block keeps its lines, so the offset is direct. Folded (``>``) and plain
        multi-line values reach Jinja as one line; for those the raw lines, as written, are
        rendered again to find the line the error is really on.
        """
        block = self._is_block_scalar(line, column)
        last, style = self.config.source.extents.get(loc, (line, None))
        if style == "|" or last <= line + (1 if block else 0):
            return line + lineno - 1 + (1 if block else 0)
        first = line + 1 if block else line
        try:
            lines = self.config.path.read_text(encoding="utf-8").splitlines()[first - 1 : last]
        except OSError:
            return first
        if not block and lines:
            lines[0] = lines[0][column - 1 :]
        raw = "\n".join(s.strip() for s in lines)
        try:
            self.ctx.authoring.render_markdown(raw)
        except AuthoringError as again:
            if again.lineno is not None:
                return first + again.lineno - 1
        return first

    def _is_block_scalar(self, line: int, column: int) -> bool:
        """Whether the value at line:column is a ``|`` or ``>`` block (text starts a line later)."""
        try:
            text = self.config.path.read_text(encoding="utf-8").splitlines()[line - 1]
        except (OSError, IndexError):
            return False
        return bool(re.match(r"[|>][-+0-9]*\s*(#.*)?$", text[column - 1 :]))

    # -- text ----------------------------------------------------------------------
    def _markdown(
        self,
        source: str,
        loc: Location,
        section: str | None,
        *,
        inline: bool = False,
        file: Path | None = None,
    ) -> tuple[Markup, Usage] | None:
        """Render author text; a problem names the config line, or the commentary file's line."""
        try:
            return self.ctx.authoring.render_markdown(source, inline=inline)
        except AuthoringError as err:
            if file is None:
                self._template_problem(loc, err, section)
            else:
                where = f" (section {section!r})" if section else ""
                self.problems.append(Problem(str(file), err.lineno, None, f"{err}{where}"))
            return None

    @staticmethod
    def _citation(usage: Usage) -> Citation | None:
        return citation_for(usage.facts.values(), (a.source for a in usage.assumptions.values()))

    # -- blocks --------------------------------------------------------------------
    def _block(self, block: BlockConfig, loc: Location, section: str, n: int) -> Block | None:
        kind = block.kind
        if kind in ("paragraph", "paragraph_file"):
            text, file = block.paragraph, None
            if block.paragraph_file is not None:
                file = self._commentary_path(block.paragraph_file, (*loc, kind), section)
                text = self._read_commentary(file, (*loc, kind), section) if file else None
                if text is None:
                    return None
            assert text is not None
            rendered = self._markdown(text, (*loc, kind), section, file=file)
            return Paragraph(rendered[0], self._citation(rendered[1])) if rendered else None
        if kind == "table":
            assert block.table is not None
            table = block.table
            return self._exhibit(
                "table", table.kind, table.caption, TABLES, loc, section,
                lambda build: build(self.ctx, table),
            )  # fmt: skip
        if kind == "chart":
            assert block.chart is not None
            chart = block.chart
            chart_id = f"{section}-{chart.kind}-{n}"
            started = time.perf_counter()
            try:
                return self._exhibit(
                    "chart", chart.kind, chart.caption, CHARTS, loc, section,
                    lambda build: build(self.ctx, chart, chart_id),
                )  # fmt: skip
            finally:
                self.chart_seconds += time.perf_counter() - started
        if kind == "callout":
            assert block.callout is not None
            rendered = self._markdown(block.callout.text, (*loc, "callout", "text"), section)
            if rendered is None:
                return None
            return Callout(
                block.callout.title, html=rendered[0], citation=self._citation(rendered[1])
            )
        assert block.faq is not None
        items = []
        for i, entry in enumerate(block.faq):
            q = self._markdown(entry.q, (*loc, "faq", i, "q"), section, inline=True)
            a = self._markdown(entry.a, (*loc, "faq", i, "a"), section)
            if q and a:
                items.append(FaqItem(q[0], a[0]))
        return Faq(tuple(items))

    def _exhibit(
        self,
        what: str,
        kind: str,
        caption: str | None,
        registry: Mapping[str, Any],
        loc: Location,
        section: str,
        call: Callable[[Any], Block],
    ) -> Block | None:
        """A table or chart from its registry: an unknown kind or a bad option is a config
        problem at its line; nothing to show on this dataset reads "not available"."""
        builder = registry.get(kind)
        if builder is None:
            self._problem(
                (*loc, what, "kind"),
                f"unknown {what} kind {kind!r}; expected one of {', '.join(registry)}",
                section,
            )
            return None
        try:
            return call(builder)
        except OptionError as exc:
            self._problem((*loc, what, "options"), f"{what} {kind}: {exc}", section)
            return None
        except NoData as exc:
            return _unavailable(caption, kind, exc)

    def _commentary_path(self, name: str, loc: Location, section: str) -> Path | None:
        """The commentary file as the user will recognise it (config folder + name)."""
        try:
            resolve_inside(self.config.path.parent, name)
        except ValueError as exc:
            self._problem(loc, f"paragraph_file: cannot use {name!r}: {exc}", section)
            return None
        return self.config.path.parent / name

    def _read_commentary(self, path: Path, loc: Location, section: str) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._problem(loc, f"paragraph_file: cannot read {str(path)!r}: {exc}", section)
            return None

    def _holds(self, condition: str, loc: Location, section: str) -> bool:
        """Whether a ``when:`` condition is true; a bad one is a problem (and counts as true,
        so the section's own problems are reported too)."""
        template = "{% if " + condition + " %}1{% endif %}"
        try:
            html, _ = self.ctx.authoring.render_markdown(template, inline=True)
        except AuthoringError as err:
            err.lineno = None  # the condition is one line of the config
            self._template_problem(loc, err, section)
            return True
        return str(html) == "1"

    # -- document ------------------------------------------------------------------
    def compose(self) -> Document:
        cfg = self.cfg
        title = self._markdown(cfg.title, ("title",), None, inline=True)
        subtitle = (
            self._markdown(cfg.subtitle, ("subtitle",), None, inline=True) if cfg.subtitle else None
        )
        figures = []
        used = Usage()
        for i, kf in enumerate(cfg.key_figures):
            try:
                fact = self.ctx.authoring.lookup(kf.fact)
            except AuthoringError as err:
                self._problem(("key_figures", i, "fact"), f"key_figures.{i}.fact: {err}")
                continue
            used.facts[fact.id] = fact
            figures.append(KeyFigure(kf.label, fact.display, fact.id, kf.note))
        key_figures = (
            Callout("Key figures", tuple(figures), citation=self._citation(used))
            if figures
            else None
        )
        sections = []
        seen_ids: set[str] = set()
        for si, sec in enumerate(cfg.sections):
            if sec.id in seen_ids:
                self._problem(
                    ("sections", si, "id"), f"sections.{si}.id: duplicate section id {sec.id!r}"
                )
            seen_ids.add(sec.id)
            if sec.when is not None and not self._holds(sec.when, ("sections", si, "when"), sec.id):
                continue
            blocks = []
            for bi, block in enumerate(sec.blocks):
                built = self._block(block, ("sections", si, "blocks", bi), sec.id, bi + 1)
                if built is not None:
                    blocks.append(built)
            sections.append(Section(sec.id, sec.title, tuple(blocks)))
        disclaimer = self._markdown(cfg.disclaimer, ("disclaimer",), None)
        if self.problems:
            raise InputError(
                sorted(set(self.problems), key=lambda p: (p.line or 0, p.char_column or 0))
            )
        assert title is not None and disclaimer is not None
        plain_title = re.sub(r"<[^>]+>", "", str(title[0]))
        return Document(
            report_id=cfg.id,
            title=title[0],
            byline=cfg.byline,
            house=cfg.house,
            as_of=self.ctx.as_of,
            page_size=cfg.page_size,
            sections=tuple(sections),
            disclaimer=disclaimer[0],
            footer_disclaimer=cfg.footer_disclaimer,
            label=self.ctx.dataset.label,
            subtitle=subtitle[0] if subtitle else None,
            key_figures=key_figures,
            legends=tuple(cfg.legends),
            metadata={
                "title": Markup(plain_title).unescape(),
                "author": cfg.house,
                "subject": cfg.note_type,
                "note_type": cfg.note_type,
                "keywords": slug(cfg.note_type),
            },
        )


def _unavailable(caption: str | None, kind: str, exc: NoData) -> Paragraph:
    """Nothing to show on this dataset: say so where the table or chart would be, never fail."""
    title = caption or kind.replace("_", " ").capitalize()
    return Paragraph(
        Markup('<p class="unavailable"><strong>{}</strong>: not available ({}).</p>').format(
            title, str(exc)
        )
    )


def compose_document(
    config: LoadedConfig,
    dataset: Dataset,
    facts: FactSet,
    as_of: Any,
    subject: str | None = None,
    timings: dict[str, float] | None = None,
) -> Document:
    """Resolve a config against a build's facts; raise InputError listing every problem.

    ``subject`` is the ticker of the fund a one-fund report (a ``subject: true`` fund
    selector) describes; such a config without one, or a subject for a config that has
    no such selector, or one outside the universe, is a :class:`UsageError`.
    ``timings["charts"]`` receives the seconds spent drawing charts.
    """
    composer = _Composer(config, dataset, facts, as_of, subject)
    try:
        return composer.compose()
    finally:
        if timings is not None:
            timings["charts"] = composer.chart_seconds
