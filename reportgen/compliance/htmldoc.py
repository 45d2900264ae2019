"""report.html as the checks see it: a small element tree and runs of visible text.

The rendering marks what it prints (see ``templates/_blocks.html.j2``):

* ``<span class="fact" data-fact="ID">``: a fact from facts.json;
* ``<span class="fact assumption" data-assumption="NAME">``: a declared assumption;
* ``<span class="name">``: a value from the data (fund name, ticker, issuer, sector);
* ``<sup class="rg-fn">``, ``.rg-fn-marker``, ``.rg-exhibit-no``: footnote markers and
  exhibit numbers.

A :class:`Unit` is the visible text of one block-level element (a paragraph, a list
item, a table cell, a caption, ...) with those marked spans kept apart as
:class:`Segment` objects. ``Unit.masked`` replaces each marked span by one
placeholder character, so a pattern over the text can neither see nor be fooled by
the digits inside a mark, and positions still map back to segments.

The parser is the standard library's: the HTML is reportgen's own output, and the
checks need no more than its element structure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import Literal

SegmentKind = Literal["text", "fact", "assumption", "name", "marker"]

#: One placeholder character per kind of marked span, from Unicode's private use area.
PLACEHOLDER: dict[SegmentKind, str] = {
    "name": "\ue000",
    "fact": "\ue001",
    "assumption": "\ue002",
    "marker": "\ue003",
}
PLACEHOLDERS = frozenset(PLACEHOLDER.values())

_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
#: Subtrees that print nothing the checks read (chart internals are drawn from facts).
_SKIP = frozenset({"head", "style", "script", "svg", "template", "noscript"})
_BLOCK = frozenset(
    [
        "html",
        "body",
        "main",
        "header",
        "footer",
        "nav",
        "section",
        "article",
        "aside",
        "div",
        "p",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "caption",
        "figure",
        "figcaption",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "hr",
    ]
)
#: Inline elements whose whole text is a marker (footnote letters, exhibit numbers).
_MARKER_CLASSES = frozenset({"rg-fn", "rg-fn-marker", "rg-exhibit-no"})
#: Elements whose text is page furniture filled in by CSS (page numbers).
_FURNITURE_CLASSES = frozenset({"rg-pf-page"})
_SPACE = re.compile(r"\s+")


@dataclass(eq=False)
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> frozenset[str]:
        return frozenset(self.attrs.get("class", "").split())

    @property
    def id(self) -> str | None:
        return self.attrs.get("id")

    def iter(self) -> Iterator[Element]:
        """This element and every element below it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
        ]

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def text(self) -> str:
        """Visible text below this element, whitespace collapsed (skipped subtrees left out)."""
        parts: list[str] = []
        self._collect(parts)
        return _SPACE.sub(" ", "".join(parts)).strip()

    def _collect(self, parts: list[str]) -> None:
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag not in _SKIP:
                child._collect(parts)
                if child.tag in _BLOCK or child.tag == "br":
                    parts.append(" ")


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


@dataclass(frozen=True)
class Segment:
    text: str
    kind: SegmentKind
    #: fact id (``fact``), assumption name (``assumption``), else None
    ref: str | None = None
    #: text inside a formula (``.rg-formula`` or ``code``)
    formula: bool = False


@dataclass
class Unit:
    """The visible text of one block-level element, marked spans kept apart."""

    element: Element
    segments: list[Segment]
    section: str | None
    block: str | None
    #: classes and ``#id`` of the element and all its ancestors
    contexts: frozenset[str]
    #: a label rather than prose: a column header, caption or key-figure label
    label: bool = False
    #: the whole unit is a formula (``.rg-formula`` or ``code``)
    formula: bool = False
    _masked: str | None = field(default=None, repr=False)
    _marks: list[tuple[int, Segment]] | None = field(default=None, repr=False)

    @property
    def masked(self) -> str:
        """The text with each marked span replaced by its one-character placeholder."""
        if self._masked is None:
            out: list[str] = []
            marks: list[tuple[int, Segment]] = []
            pos = 0
            for seg in self.segments:
                if seg.kind == "text":
                    out.append(seg.text)
                    pos += len(seg.text)
                else:
                    out.append(PLACEHOLDER[seg.kind])
                    marks.append((pos, seg))
                    pos += 1
            self._masked = "".join(out)
            self._marks = marks
        return self._masked

    @property
    def marks(self) -> list[tuple[int, Segment]]:
        """(position in ``masked``, segment) of every marked span."""
        _ = self.masked
        assert self._marks is not None
        return self._marks

    def human(self, start: int = 0, end: int | None = None) -> str:
        """The text as printed between two positions of ``masked``."""
        masked = self.masked
        end = len(masked) if end is None else end
        by_pos = dict(self.marks)
        out = [
            by_pos[i].text if masked[i] in PLACEHOLDERS and i in by_pos else masked[i]
            for i in range(start, end)
        ]
        return _SPACE.sub(" ", "".join(out)).strip()

    @property
    def text(self) -> str:
        return self.human()

    def formula_spans(self) -> list[tuple[int, int]]:
        """Ranges of ``masked`` that lie inside an inline formula."""
        spans = []
        pos = 0
        for seg in self.segments:
            size = len(seg.text) if seg.kind == "text" else 1
            if seg.formula:
                spans.append((pos, pos + size))
            pos += size
        return spans

    def marks_between(self, start: int, end: int) -> list[Segment]:
        return [seg for pos, seg in self.marks if start <= pos < end]

    def in_context(self, *names: str) -> bool:
        return any(name in self.contexts for name in names)


#: Special containers outside the numbered sections, and the section name they get.
_SPECIAL_SECTIONS: tuple[tuple[str, str], ...] = (
    ("rg-headline", "headline"),
    ("rg-key-figures", "key-figures"),
    ("rg-page-header", "page-header"),
    ("rg-page-footer", "page-footer"),
    ("rg-screen-footer", "screen-footer"),
    ("rg-toc", "toc"),
    ("rg-label-band", "label"),
    ("rg-title-block", "title"),
)


@dataclass(frozen=True)
class _Ctx:
    section: str | None = None
    block: str | None = None
    contexts: frozenset[str] = frozenset()
    label: bool = False
    formula: bool = False


def _section_of(el: Element) -> str | None:
    classes = el.classes
    for cls, name in _SPECIAL_SECTIONS:
        if cls in classes:
            return name
    if el.tag == "section" and el.id:
        return el.id
    return None


def block_index(el: Element) -> int | None:
    """1-based position of ``el`` among its section's blocks (the heading excluded)."""
    parent = el.parent
    if parent is None:
        return None
    n = 0
    for child in parent.children:
        if not isinstance(child, Element) or child.tag in ("h2", "h1"):
            continue
        n += 1
        if child is el:
            return n
    return None


def _derive(el: Element, ctx: _Ctx) -> _Ctx:
    classes = el.classes
    section = _section_of(el) or ctx.section
    block = el.attrs.get("data-block") or ctx.block
    if section != ctx.section:
        block = el.attrs.get("data-block")
        if section in ("headline", "key-figures"):
            block = block or section
    elif block is None and el.parent is not None and "rg-section" in el.parent.classes:
        index = block_index(el)
        if index is not None and el.tag not in ("h2", "h1"):
            block = f"{section}:{index}"
    contexts = ctx.contexts | classes | ({f"#{el.id}"} if el.id else set())
    label = ctx.label or el.tag in ("caption", "figcaption", "thead")
    if el.tag == "dt" and any("rg-kf" in c for c in ctx.contexts):
        label = True
    formula = ctx.formula or el.tag == "code" or "rg-formula" in classes
    return _Ctx(section, block, frozenset(contexts), label, formula)


class _Buffer:
    def __init__(self, element: Element, ctx: _Ctx) -> None:
        self.element = element
        self.ctx = ctx
        self.segments: list[Segment] = []

    def add(self, segment: Segment) -> None:
        self.segments.append(segment)

    def flush(self, out: list[Unit]) -> None:
        if any(s.kind != "text" or s.text.strip() for s in self.segments):
            segments = _tidy(self.segments)
            c = self.ctx
            out.append(
                Unit(self.element, segments, c.section, c.block, c.contexts, c.label, c.formula)
            )
        self.segments = []


def _tidy(segments: list[Segment]) -> list[Segment]:
    """Collapse whitespace in text segments and strip the ends of the unit."""
    out = [replace(s, text=_SPACE.sub(" ", s.text)) if s.kind == "text" else s for s in segments]
    if out and out[0].kind == "text":
        out[0] = replace(out[0], text=out[0].text.lstrip())
    if out and out[-1].kind == "text":
        out[-1] = replace(out[-1], text=out[-1].text.rstrip())
    return [s for s in out if s.kind != "text" or s.text]


def _mark(el: Element) -> Segment | None:
    classes = el.classes
    if el.tag == "span" and "fact" in classes:
        if "assumption" in classes or "data-assumption" in el.attrs:
            return Segment(el.text(), "assumption", el.attrs.get("data-assumption", ""))
        return Segment(el.text(), "fact", el.attrs.get("data-fact", ""))
    if "name" in classes and el.tag == "span":
        return Segment(el.text(), "name")
    if classes & _MARKER_CLASSES:
        return Segment(el.text(), "marker")
    return None


def units(root: Element) -> list[Unit]:
    """Every run of visible text, in document order, with its section and block."""
    out: list[Unit] = []
    body = root
    top = _Buffer(body, _Ctx())
    _walk(body, _Ctx(), top, out)
    top.flush(out)
    return out


def _is_formula(el: Element) -> bool:
    return el.tag == "code" or "rg-formula" in el.classes


def _walk(el: Element, ctx: _Ctx, buf: _Buffer, out: list[Unit], formula: bool = False) -> None:
    for child in el.children:
        if isinstance(child, str):
            buf.add(Segment(child, "text", formula=formula))
            continue
        if child.tag in _SKIP or child.classes & _FURNITURE_CLASSES:
            continue
        mark = _mark(child)
        if mark is not None:
            buf.add(mark)
            continue
        child_ctx = _derive(child, ctx)
        if child.tag in _BLOCK:
            buf.flush(out)
            inner = _Buffer(child, child_ctx)
            _walk(child, child_ctx, inner, out)
            inner.flush(out)
        elif child.tag == "br":
            buf.add(Segment(" ", "text"))
        else:
            _walk(child, child_ctx, buf, out, formula or _is_formula(child))


def marked_spans(root: Element) -> Iterator[tuple[Element, Segment]]:
    """Every marked fact, assumption and name span with its element, in document order."""
    for el in root.iter():
        if el.tag in _SKIP:
            continue
        mark = _mark(el)
        if mark is not None and mark.kind != "marker":
            yield el, mark


def skipped(el: Element) -> bool:
    """Whether an element lies in a subtree the checks do not read (head, style, svg...)."""
    return el.tag in _SKIP or any(a.tag in _SKIP for a in el.ancestors())


def location_of(el: Element) -> tuple[str | None, str | None]:
    """(section, block) of an element, as units report them."""
    ctx = _Ctx()
    for node in [*reversed(list(el.ancestors())), el]:
        if node.tag == "#document":
            continue
        ctx = _derive(node, ctx)
    return ctx.section, ctx.block
