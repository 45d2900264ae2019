"""The page of ``reportgen diff``: self-contained HTML, and a PDF of it on request.

* Every value taken from the two builds (fact ids, displays, sources, reasons and
  the text of the notes) is data: the Jinja environment autoescapes everything
  and fails on undefined names; only the bundled stylesheet passes as Markup.
* The page refers to nothing outside itself (checked with the same scanner as
  ``report.html``), and holds no clock time: the same two builds give the same
  bytes. The PDF's date is the new build's as-of date.
* The PDF is laid out by :func:`reportgen.render_pdf.render_pdf` in the bundled
  fonts (the stylesheet names "Inter" and "Noto Serif" only).
"""

from __future__ import annotations

import html as html_lib
import os
import re
import tempfile
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError
from markupsafe import Markup

from reportgen import __version__, formatting
from reportgen.diff import ARROW, BuildDiff, FactDiff
from reportgen.errors import UsageError
from reportgen.render_html import BUILTIN_TEMPLATES, check_self_contained, check_unique_ids

TEMPLATE = "diff.html.j2"
STYLESHEET = "diff.css"

STATUS_NAMES = {
    "changed": "changed",
    "added": "added",
    "removed": "removed",
    "redated": "re-dated",
    "unchanged": "unchanged",
}

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(BUILTIN_TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["long_date"] = long_date
    env.filters["count"] = formatting.format_count
    return env


def long_date(iso: str) -> str:
    """ "2026-04-30" -> "30 April 2026"; text that is not an ISO date is shown as it is."""
    parsed = _parse_date(iso)
    return formatting.format_date(parsed) if parsed is not None else iso


def _parse_date(iso: str) -> date | None:
    if not _ISO_DATE.fullmatch(iso):
        return None
    try:
        return date.fromisoformat(iso)
    except ValueError:
        return None


def fact_note(fact: FactDiff) -> str:
    """The notes column of the facts table."""
    if fact.status == "redated" and fact.old is not None and fact.new is not None:
        return f"as of {fact.old.as_of} {ARROW} {fact.new.as_of}"
    if fact.status == "removed" and fact.old is not None and fact.old.reason:
        return f"was {formatting.NOT_AVAILABLE}: {fact.old.reason}"
    if fact.status == "unchanged" and fact.new is not None and fact.new.reason:
        return f"{formatting.NOT_AVAILABLE}: {fact.new.reason}"
    return fact.note or ""


def page_title(diff: BuildDiff) -> str:
    return f"reportgen diff: {diff.new.report}, {diff.old.as_of} {ARROW} {diff.new.as_of}"


def render_diff_html(diff: BuildDiff) -> str:
    """The self-contained HTML page of ``diff``."""
    from reportgen.diff import summary_lines

    env = _environment()
    assert env.loader is not None
    try:
        css, _, _ = env.loader.get_source(env, STYLESHEET)
        html = env.get_template(TEMPLATE).render(
            diff=diff,
            groups=diff.groups(),
            notes={f.fact_id: fact_note(f) for f in diff.facts},
            summary=summary_lines(diff),
            status_names=STATUS_NAMES,
            css=Markup(css),
            page_title=page_title(diff),
            created=diff.new.as_of if _parse_date(diff.new.as_of) else "",
            generator=f"reportgen {__version__}",
        )
    except TemplateError as exc:  # a broken built-in template is a bug, but say where
        raise UsageError(f"diff template {TEMPLATE!r} failed: {exc}") from None
    check_self_contained(html)
    check_unique_ids(html)
    return html


def render_diff_pdf(html: str) -> bytes:
    """The PDF of a page from :func:`render_diff_html` (bundled fonts, no network, no clock)."""
    from reportgen.render_pdf import render_pdf

    match = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    title = html_lib.unescape(match.group(1)).strip() if match else "reportgen diff"
    return render_pdf(
        html,
        title=title,
        author=f"reportgen {__version__}",
        subject="Changes between two builds of a research note",
        keywords=("reportgen", "diff"),
    )


def write_diff(diff: BuildDiff, out: Path, *, pdf: bool = False) -> tuple[Path, ...]:
    """Write the page to ``out`` and, with ``pdf``, the PDF to ``out`` with suffix ``.pdf``.

    Refuses to write inside either build folder (it would change a published build).
    Each file is written whole or not at all (a temporary file, then a rename).
    """
    out = Path(out)
    pdf_path = out.with_suffix(".pdf")
    if out.suffix.lower() == ".pdf":
        raise UsageError(
            f"--out {out}: the diff page is HTML; name it .html (the PDF goes beside it)"
        )
    target = out.resolve()
    for which, folder in (("old", diff.old.path), ("new", diff.new.path)):
        build = Path(folder).resolve()
        if target == build or target.is_relative_to(build):
            raise UsageError(
                f"--out {out} is inside the {which} build {folder}; "
                "write the diff elsewhere so the build stays as it was published"
            )
    if out.exists() and out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file name such as {out / 'diff.html'}")
    html = render_diff_html(diff)
    payloads: list[tuple[Path, bytes]] = [(out, html.encode("utf-8"))]
    if pdf:
        payloads.append((pdf_path, render_diff_pdf(html)))
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, data in payloads:
        _write_atomic(path, data)
    return tuple(path for path, _ in payloads)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the page is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
