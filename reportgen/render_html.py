"""The HTML stage: a Jinja environment that walks the document and nothing else.

* Template search path: the user's folders first, then the built-in ``templates/``
  folder; ``builtin/NAME`` always means the built-in template, so a user's
  ``note.html.j2`` can ``{% extends "builtin/note.html.j2" %}`` and override
  blocks. The same path finds ``note.css``, which is inlined in ``<style>``.
* Autoescaping is on and undefined names fail (``StrictUndefined``): every plain
  ``str`` of the document (fund names, captions, cells) is escaped; only the
  document's ``Markup`` values and the stylesheet pass through as HTML.
* The output is self-contained and deterministic: no ``<link>``, no ``src`` or
  ``href`` other than ``#fragment`` and ``data:``, no ``url()`` other than
  ``data:``, no clock. A report that would break these rules is refused
  (:class:`UsageError`), as are duplicate element ids (a table of contents link
  would go to the wrong place) and table footnote markers without a note.

The built-in templates are found relative to this package, which works for the
editable install the project uses (``pip install -e .``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import NoReturn

import tinycss2
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)
from markupsafe import Markup, escape

from reportgen import __version__
from reportgen.document import Chart, Document, Table
from reportgen.errors import UsageError
from reportgen.formatting import format_date
from reportgen.paths import BUILTIN_TEMPLATES

DEFAULT_TEMPLATE = "note.html.j2"
STYLESHEET = "note.css"
DEFAULT_NOTE_TYPE = "Monthly Thematic Note"
#: Longest running-header title before it is shortened at a word boundary.
RUNNING_TITLE_MAX = 64
#: Tables with more rows than this may break across pages (shorter ones are kept whole).
LONG_TABLE_ROWS = 18

_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "ul",
        "ol",
        "dl",
        "table",
        "blockquote",
        "figure",
        "section",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "hr",
    ]
)


def make_environment(template_dirs: Sequence[Path] = ()) -> Environment:
    """The Jinja environment: user folders, then the built-in one (also as ``builtin/``)."""
    user_dirs = [Path(d) for d in template_dirs]
    for folder in user_dirs:
        if not folder.is_dir():
            raise UsageError(f"template folder {folder} does not exist or is not a folder")
    builtin = FileSystemLoader(str(BUILTIN_TEMPLATES))
    loaders: list[BaseLoader] = [PrefixLoader({"builtin": builtin}, delimiter="/")]
    if user_dirs:
        loaders.append(FileSystemLoader([str(d) for d in user_dirs]))
    loaders.append(builtin)
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(
            enabled_extensions=("html", "htm", "xml", "j2"), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["search_path"] = tuple(str(d) for d in [*user_dirs, BUILTIN_TEMPLATES])
    env.globals["fail"] = _fail
    env.filters["long_date"] = format_date
    env.filters["as_block"] = as_block
    return env


def render_html(
    doc: Document,
    *,
    template_dirs: Sequence[Path] = (),
    css_extra: str | None = None,
    template: str = DEFAULT_TEMPLATE,
) -> str:
    """The self-contained ``report.html`` for ``doc``."""
    env = make_environment(template_dirs)
    searched = ", ".join(env.globals["search_path"])  # type: ignore[arg-type]
    css = _strip_comments(_load_css(env, searched) + "\n" + (css_extra or ""))
    _check_css(css)
    if doc.page_size not in ("A4", "Letter"):
        raise UsageError(f"page size must be 'A4' or 'Letter', received {doc.page_size!r}")
    _check_ids(doc)
    try:
        tmpl = env.get_template(template)
        html = tmpl.render(
            doc=doc,
            css=Markup(css),
            exhibits=exhibit_numbers(doc),
            footnotes={t.id: table_notes(t) for t in _tables(doc)},
            charts={c.id: chart_svg(c) for c in _charts(doc)},
            plain_title=escape(doc.title).striptags(),
            running_title=running_title(doc),
            note_type=doc.metadata.get("note_type", DEFAULT_NOTE_TYPE),
            long_table_rows=LONG_TABLE_ROWS,
            generator=f"reportgen {__version__}",
        )
    except TemplateNotFound as exc:
        raise UsageError(f"template {exc.name!r} not found; searched: {searched}") from None
    except TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        raise UsageError(f"template syntax error at {where}: {exc.message}") from None
    except TemplateError as exc:
        raise UsageError(f"template {template!r} failed: {exc.message}") from None
    check_self_contained(html)
    check_unique_ids(html)
    return html


# --------------------------------------------------------------------------- helpers


def _fail(message: str) -> NoReturn:
    """``{{ fail("...") }}`` in a template: stop with a usage error."""
    raise UsageError(message)


def as_block(html: Markup) -> Markup:
    """Document HTML as block content: wrapped in ``<p>`` unless it already is a block."""
    match = re.match(r"\s*<([a-zA-Z][a-zA-Z0-9]*)", html)
    if match and match.group(1).lower() in _BLOCK_TAGS:
        return Markup(html)
    return Markup("<p>") + html + Markup("</p>")


def running_title(doc: Document) -> str:
    """The short title of the page header: ``metadata["short_title"]`` or the shortened headline."""
    if short := doc.metadata.get("short_title"):
        return short
    text = " ".join(escape(doc.title).striptags().split())
    if len(text) <= RUNNING_TITLE_MAX:
        return text
    cut = text[: RUNNING_TITLE_MAX - 1].rsplit(" ", 1)[0].rstrip(" ,;:-–—")
    return cut + "…"


def _blocks(doc: Document) -> Iterable[object]:
    for section in doc.sections:
        yield from section.blocks


def _tables(doc: Document) -> list[Table]:
    return [b for b in _blocks(doc) if isinstance(b, Table)]


def _charts(doc: Document) -> list[Chart]:
    return [b for b in _blocks(doc) if isinstance(b, Chart)]


def _check_ids(doc: Document) -> None:
    """Section, table and chart ids become HTML ids and link targets: no spaces, not empty."""
    ids = [s.id for s in doc.sections] + [b.id for b in _tables(doc) + _charts(doc)]
    for ident in ids:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.:-]*", ident):
            raise UsageError(
                f"id {ident!r} cannot be an HTML id: expected a letter, then letters, "
                "digits, '-', '_', '.' or ':'"
            )


def exhibit_numbers(doc: Document) -> dict[str, int]:
    """Tables and charts share one numbering, in reading order ("Exhibit 3")."""
    numbers: dict[str, int] = {}
    for block in _blocks(doc):
        if isinstance(block, Table | Chart):
            numbers[block.id] = len(numbers) + 1
    return numbers


_NOTE_MARKER = re.compile(r"\(([a-z]{1,2}|[0-9]{1,3})\)\s+(.*)", re.DOTALL)


def table_notes(table: Table) -> list[tuple[str | None, str]]:
    """``table.notes`` as (marker, text): "(a) text" is footnote "a"; other notes are general.

    Every cell footnote must name a marker of the table's notes, so a printed "n/a"
    always leads the reader to its reason.
    """
    notes: list[tuple[str | None, str]] = []
    for note in table.notes:
        match = _NOTE_MARKER.fullmatch(note.strip())
        notes.append((match.group(1), match.group(2)) if match else (None, note))
    markers = [m for m, _ in notes if m is not None]
    if len(set(markers)) != len(markers):
        raise UsageError(f"table {table.id!r}: a footnote marker is used twice in its notes")
    cells = [*table.columns, *(cell for row in table.rows for cell in row)]
    for cell in cells:
        if cell.footnote is not None and cell.footnote not in markers:
            raise UsageError(
                f"table {table.id!r}: cell {cell.text!r} points at footnote "
                f"{cell.footnote!r}, but the table's notes mark "
                f"{', '.join(markers) or 'no footnotes'} (a footnote note starts with "
                f"'({cell.footnote}) ')"
            )
    return notes


_SVG_START = re.compile(r"<svg\b", re.IGNORECASE)
_SVG_ROOT = re.compile(r"<svg\b[^>]*>", re.IGNORECASE | re.DOTALL)
_SVG_ID = re.compile(r"""(?<=\s)id\s*=\s*(["'])([^"']+)\1""")
_SVG_ROOT_A11Y = re.compile(r"""\s(?:role|aria-label|aria-labelledby)\s*=\s*(["'])[^"']*\1""")


def chart_svg(chart: Chart) -> Markup:
    """The chart's inline ``<svg>``, made safe to place beside other charts.

    Drops any XML declaration or doctype, scopes every id (and ``url(#id)`` /
    ``href="#id"`` reference) with the chart id so two matplotlib charts do not
    share ``id="axes_1"``, and labels the root ``role="img"`` with the alt text.
    """
    svg = str(chart.svg)
    start = _SVG_START.search(svg)
    if start is None:
        raise UsageError(f"chart {chart.id!r} has no <svg> element")
    svg = svg[start.start() :].strip()
    if re.search(r"<script\b|<foreignObject\b|\son[a-z]+\s*=", svg, re.IGNORECASE):
        raise UsageError(f"chart {chart.id!r}: scripts and foreignObject are not allowed in charts")
    prefix = f"{chart.id}-"
    ids = {m.group(2) for m in _SVG_ID.finditer(svg) if not m.group(2).startswith(prefix)}
    if ids:  # reportgen.charts already scopes its ids with the chart id; others are scoped here
        names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        svg = _SVG_ID.sub(
            lambda m: (
                f"id={m.group(1)}{prefix if m.group(2) in ids else ''}{m.group(2)}{m.group(1)}"
            ),
            svg,
        )
        svg = re.sub(rf"url\(\s*(['\"]?)#({names})\1\s*\)", rf"url(\1#{prefix}\2\1)", svg)
        svg = re.sub(rf"""(href\s*=\s*["'])#({names})(["'])""", rf"\1#{prefix}\2\3", svg)
    root = _SVG_ROOT.match(svg)
    assert root is not None
    tag = _SVG_ROOT_A11Y.sub("", root.group(0))
    closing = "/>" if tag.endswith("/>") else ">"
    tag = tag[: -len(closing)].rstrip()
    tag += f' role="img" aria-label="{escape(chart.alt)}" focusable="false"{closing}'
    rest = svg[root.end() :]
    if closing == ">" and not re.match(r"\s*<title\b", rest):
        rest = f"<title>{escape(chart.alt)}</title>" + rest  # the alt text of a tagged PDF
    return Markup(tag + rest)


def _load_css(env: Environment, searched: str) -> str:
    assert env.loader is not None
    try:
        source, _, _ = env.loader.get_source(env, STYLESHEET)
    except TemplateNotFound:
        raise UsageError(f"stylesheet {STYLESHEET!r} not found; searched: {searched}") from None
    return source


def _strip_comments(css: str) -> str:
    """The stylesheet without comments (tokenised, so strings are left alone)."""
    tokens = tinycss2.parse_component_value_list(css, skip_comments=True)
    return tinycss2.serialize(tokens).strip() + "\n"


def _check_css(css: str) -> None:
    if re.search(r"</\s*style", css, re.IGNORECASE):
        raise UsageError("the stylesheet must not contain '</style'")
    for match in re.finditer(r"url\(\s*(['\"]?)([^)'\"]*)", css, re.IGNORECASE):
        if not match.group(2).startswith(("data:", "#")):
            raise UsageError(
                f"the stylesheet refers to {match.group(2)!r}; report.html must be "
                "self-contained (only data: URLs)"
            )
    if re.search(r"@import\b", css, re.IGNORECASE):
        raise UsageError("the stylesheet must not @import other stylesheets")


class _RefScanner(HTMLParser):
    """Collect ids and resource references of an HTML document."""

    _REF_ATTRS = frozenset({"src", "href", "xlink:href", "srcset", "data", "poster", "action"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.append(value)
            elif name in self._REF_ATTRS or (
                name == "style" and re.search(r"url\(\s*(?!['\"]?(?:data:|#))", value, re.I)
            ):
                self.refs.append((tag, name, value))
        if tag in ("link", "base", "script", "iframe", "embed", "object"):
            self.refs.append((tag, "", ""))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and re.search(r"url\(\s*(?!['\"]?(?:data:|#))|@import", data, re.I):
            self.refs.append(("style", "", ""))


def _scan(html: str) -> _RefScanner:
    scanner = _RefScanner()
    scanner.feed(html)
    scanner.close()
    return scanner


def check_self_contained(html: str) -> None:
    """Refuse HTML that refers to anything outside itself."""
    for tag, attr, value in _scan(html).refs:
        if attr and (value.startswith("#") or value.startswith("data:")) and attr != "style":
            continue
        what = f"<{tag} {attr}={value[:80]!r}>" if attr else f"<{tag}>"
        raise UsageError(
            f"report.html must be self-contained, but the rendered note contains {what}"
        )


def check_unique_ids(html: str) -> None:
    """Refuse HTML in which two elements share an id."""
    dupes = sorted(i for i, n in Counter(_scan(html).ids).items() if n > 1)
    if dupes:
        raise UsageError(f"element id(s) used more than once in the note: {', '.join(dupes)}")
