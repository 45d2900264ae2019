"""PDF rendering: WeasyPrint over the same HTML as ``report.html``, with no network.

Three guarantees, each enforced rather than hoped for:

* **Nothing is fetched but bundled assets.** :class:`AssetFetcher` serves ``data:``
  URLs and files inside ``reportgen/assets/`` only; anything else (http, https,
  ftp, a ``file:`` URL outside the folder after percent-decoding, ``..`` and
  symlinks are resolved) stops the render with a :class:`ReportgenError` naming the
  URL. It never opens a socket and never follows a redirect (it has nothing to
  redirect). ``<link rel="attachment">`` / ``<a rel="attachment">`` are refused
  before layout.
* **Nothing is silently dropped.** WeasyPrint reports unloadable images, broken
  inline SVG and bad CSS only through its ``weasyprint`` logger. Every record at
  ERROR (and, by default, WARNING) logged while this thread renders fails the
  render; so does a refused URL that WeasyPrint swallowed internally. The only
  warnings let through are listed in ``BENIGN_WARNINGS`` (SVG-only properties in
  inline SVG ``style`` attributes, which WeasyPrint's SVG renderer does apply).
* **Same input, same bytes.** Dates come from ``created``, else
  ``SOURCE_DATE_EPOCH``, else the HTML's ``<meta name="dcterms.created">`` (the
  note's as-of date), never the clock; the ``/ID`` is a hash of the content; font
  subsets are named from hashes. The embedded fonts are checked against the
  bundled files byte for byte, so the PDF never depends on the machine's fonts.

The bundled fonts are located relative to this file, which works for the editable
install the project uses (``pip install -e .``); a wheel would need
``reportgen/assets`` declared as package data.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, NoReturn
from urllib import request
from urllib.parse import urlsplit

from weasyprint import CSS, HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from reportgen import __version__
from reportgen.errors import ReportgenError
from reportgen.paths import ASSETS_DIR
from reportgen.pdf_types import EmbeddedFile, PdfOptions, PdfResult

FONTS_DIR = ASSETS_DIR / "fonts"

#: File types the fetcher serves from ``ASSETS_DIR``; anything else is refused.
_ASSET_TYPES = {
    ".otf": "font/otf",
    ".ttf": "font/ttf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".icc": "application/vnd.iccprofile",
}

#: sRGB ICC profile (ICC, freely redistributable unmodified): the output intent of PDF/A.
SRGB_PROFILE = ASSETS_DIR / "color" / "sRGB2014.icc"
_SRGB_NAME = "--rg-srgb"


@dataclass(frozen=True)
class Variant:
    """What a PDF variant needs beyond WeasyPrint's own defaults for it."""

    #: embed the bundled sRGB profile as output intent (PDF/A)
    srgb_intent: bool
    #: tagged PDF (structure tree)
    tagged: bool


#: The PDF variants reportgen supports, as data. PDF/A gets its sRGB output intent
#: from the bundled profile through the fetcher, instead of WeasyPrint's built-in
#: path (which leaves the profile file open, a ResourceWarning on every render).
VARIANTS: dict[str, Variant] = {
    "pdf/a-2b": Variant(srgb_intent=True, tagged=False),
    "pdf/a-3b": Variant(srgb_intent=True, tagged=False),
    "pdf/a-3u": Variant(srgb_intent=True, tagged=False),
    "pdf/ua-1": Variant(srgb_intent=False, tagged=True),
}


@dataclass(frozen=True)
class BundledFont:
    family: str
    file: str
    weight: int
    style: Literal["normal", "italic"] = "normal"


#: The fonts shipped in ``reportgen/assets/fonts`` (SIL OFL 1.1, licences beside
#: them). Templates and charts must name these families: "Noto Serif" for text,
#: "Inter" for headings, tables, figures and chart labels.
BUNDLED_FONTS: tuple[BundledFont, ...] = (
    BundledFont("Noto Serif", "NotoSerif-Regular.ttf", 400),
    BundledFont("Noto Serif", "NotoSerif-Italic.ttf", 400, "italic"),
    BundledFont("Noto Serif", "NotoSerif-Bold.ttf", 700),
    BundledFont("Inter", "Inter-Regular.otf", 400),
    BundledFont("Inter", "Inter-SemiBold.otf", 600),
    # "bold" in the sans face maps to the same semibold file (no synthetic bolding).
    BundledFont("Inter", "Inter-SemiBold.otf", 700),
)


# --------------------------------------------------------------------------- fetcher


class RefusedURL(FatalURLFetchingError):
    """Raised by the fetcher; a ``BaseException`` so WeasyPrint cannot swallow it."""


class AssetFetcher(URLFetcher):
    """Serve ``data:`` URLs and files under ``root`` (an allow-list); refuse the rest.

    It overrides :meth:`fetch`, the single entry point WeasyPrint uses (``open``
    and ``__call__`` both delegate to it), and never calls the base class's
    network code.
    """

    def __init__(self, root: Path = ASSETS_DIR) -> None:
        super().__init__(
            timeout=1, allowed_protocols=("data", "file"), allow_redirects=False,
            fail_on_errors=True,
        )  # fmt: skip
        self.root = root.resolve(strict=True)
        self.fetched: list[str] = []
        self.refused: list[tuple[str, str]] = []

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        try:
            response = self._serve(url)
        except RefusedURL:
            raise
        except Exception as exc:  # an unreadable asset is a refusal too
            self._refuse(url, f"could not be read ({type(exc).__name__}: {exc})")
        self.fetched.append(url)
        return response

    def _refuse(self, url: str, reason: str) -> NoReturn:
        self.refused.append((url, reason))
        raise RefusedURL(f"refused to fetch {_short(url)}: {reason}")

    def _serve(self, url: str) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            with request.DataHandler().data_open(request.Request(url)) as resp:
                body = resp.read()
                content_type = resp.headers.get("Content-type", "text/plain")
            return URLFetcherResponse(url, body, {"Content-Type": content_type})
        if scheme == "file":
            path = self._asset_path(url)
            headers = {"Content-Type": _ASSET_TYPES[path.suffix.lower()]}
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), headers)
        self._refuse(
            url, f"{scheme or 'relative'} URLs are not allowed (only data: and bundled assets)"
        )

    def _asset_path(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            self._refuse(url, f"file URL on host {parts.netloc!r}")
        raw = request.url2pathname(parts.path)  # percent-decodes exactly once
        if "\x00" in raw or not raw.startswith("/"):
            self._refuse(url, "not an absolute file path")
        try:
            path = Path(raw).resolve(strict=True)  # resolves "..", "." and symlinks
        except (OSError, RuntimeError):
            self._refuse(url, "no such file")
        if not path.is_relative_to(self.root):
            self._refuse(url, f"outside the bundled assets folder {self.root}")
        if not path.is_file():
            self._refuse(url, "not a regular file")
        if path.suffix.lower() not in _ASSET_TYPES:
            self._refuse(url, f"file type {path.suffix!r} is not a bundled asset type")
        return path


def _short(url: str, limit: int = 120) -> str:
    return repr(url if len(url) <= limit else url[:limit] + "...")


# --------------------------------------------------------------------------- fonts


def font_face_css() -> str:
    """``@font-face`` rules for the bundled fonts (PDF only; report.html stays self-contained)."""
    rules = []
    for font in BUNDLED_FONTS:
        uri = (FONTS_DIR / font.file).as_uri()
        fmt = "opentype" if font.file.endswith(".otf") else "truetype"
        rules.append(
            f'@font-face {{ font-family: "{font.family}"; src: url("{uri}") format("{fmt}"); '
            f"font-weight: {font.weight}; font-style: {font.style}; }}"
        )
    return "\n".join(rules) + "\n"


def _draft_css(mark: str) -> str:
    text = mark.replace("\\", "\\\\").replace('"', '\\"')
    return (
        "body::after {"
        f' content: "{text}"; position: fixed; top: 46%; left: -5%; width: 110%;'
        " text-align: center; white-space: nowrap; transform: rotate(-32deg); font-family: Inter;"
        " font-weight: 600; font-size: 30pt; letter-spacing: 0.04em;"
        " color: rgba(176, 32, 32, 0.16); z-index: 10; }\n"
    )


def _pdf_css(variant: Variant | None, draft_mark: str | None = None) -> str:
    css = font_face_css()
    if draft_mark:
        css += _draft_css(draft_mark)
    if variant is not None and variant.srgb_intent:
        uri = SRGB_PROFILE.as_uri()
        css += f'@color-profile {_SRGB_NAME} {{ src: url("{uri}"); components: r g b; }}\n'
    return css


@cache
def _bundled_font_digests() -> dict[str, str]:
    return {
        hashlib.sha256((FONTS_DIR / f.file).read_bytes()).hexdigest(): f.family
        for f in BUNDLED_FONTS
    }


# --------------------------------------------------------------------------- logs

#: Warnings that are not problems. WeasyPrint also reads the ``style`` attributes of
#: inline SVG elements as HTML CSS and warns that SVG-only properties (``fill``,
#: ``stroke``, ``text-anchor``...) are unknown; its SVG renderer applies them all the
#: same. Those properties mean nothing to HTML, so ignoring the warning loses nothing.
BENIGN_WARNINGS = (
    re.compile(
        r"^Ignored `(fill|fill-opacity|fill-rule|stroke|stroke-[a-z]+|text-anchor|"
        r"dominant-baseline|alignment-baseline|baseline-shift|clip-rule|stop-color|"
        r"stop-opacity|paint-order|shape-rendering|text-rendering|vector-effect|"
        r"marker|marker-start|marker-mid|marker-end|font-stretch)\s*:[^`]*` "
        r"at \d+:\d+, unknown property\.$"
    ),
)


class _LogCapture(logging.Handler):
    """Collect WARNING+ records of the ``weasyprint`` logger emitted by one thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append(record)


@contextmanager
def _capture_weasyprint_logs() -> Iterator[_LogCapture]:
    logger = logging.getLogger("weasyprint")
    handler = _LogCapture()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


# --------------------------------------------------------------------------- dates


def _creation_date(created: datetime | None) -> str | None:
    """W3C date for the PDF info dictionary, or None to keep the HTML's own meta."""
    if created is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        if epoch is None or epoch == "":
            return None
        try:
            created = datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise ReportgenError(
                f"SOURCE_DATE_EPOCH must be a whole number of seconds, received {epoch!r}"
            ) from exc
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- render


def render_pdf(
    html: str,
    *,
    title: str,
    author: str,
    subject: str,
    keywords: Sequence[str] = (),
    lang: str = "en",
    created: datetime | None = None,
    options: PdfOptions | None = None,
) -> bytes:
    """Render ``html`` (from :func:`reportgen.render_html.render_html`) to PDF bytes."""
    return render_pdf_result(
        html, title=title, author=author, subject=subject, keywords=keywords, lang=lang,
        created=created, options=options,
    ).pdf  # fmt: skip


def render_pdf_result(
    html: str,
    *,
    title: str,
    author: str,
    subject: str,
    keywords: Sequence[str] = (),
    lang: str = "en",
    created: datetime | None = None,
    options: PdfOptions | None = None,
    attachments: Sequence[EmbeddedFile] = (),
) -> PdfResult:
    """Like :func:`render_pdf`, also returning page count, timings and fetched assets.

    ``attachments`` are embedded as PDF/A-3 associated files, so the PDF carries its
    own evidence (facts.json, the manifest's inputs part).
    """
    opts = options or PdfOptions()
    if opts.variant is not None and opts.variant not in VARIANTS:
        known = ", ".join(sorted(VARIANTS))
        raise ReportgenError(f"PDF variant must be one of {known}, received {opts.variant!r}")
    variant = VARIANTS[opts.variant] if opts.variant else None
    weasy_options = _weasy_options(opts, variant)
    date = _creation_date(created)
    fetcher = AssetFetcher()
    with _capture_weasyprint_logs() as logs:
        try:
            document = HTML(string=html, url_fetcher=fetcher)
            _refuse_attachments(document)
            font_config = FontConfiguration()
            color_profiles: dict[str, Any] = {}
            stylesheet = CSS(
                string=_pdf_css(variant, opts.draft_mark), font_config=font_config,
                color_profiles=color_profiles, url_fetcher=fetcher,
            )  # fmt: skip
            started = time.perf_counter()
            rendered = document.render(
                font_config=font_config, color_profiles=color_profiles,
                stylesheets=[stylesheet], **weasy_options,
            )  # fmt: skip
            laid_out = time.perf_counter()
            _check(fetcher, logs, opts, stage="layout")
            _set_metadata(rendered, title, author, subject, keywords, lang, date)
            pdf = rendered.write_pdf(
                attachments=[_attachment(a, date) for a in attachments], **weasy_options
            )
            written = time.perf_counter()
        except FatalURLFetchingError as exc:
            raise _fetch_error(fetcher, exc) from None
        _check(fetcher, logs, opts, stage="writing")
    if opts.bundled_fonts_only:
        _check_fonts(rendered)
    return PdfResult(
        pdf=pdf,
        pages=len(rendered.pages),
        layout_seconds=laid_out - started,
        write_seconds=written - laid_out,
        fetched=tuple(fetcher.fetched),
    )


def _attachment(f: EmbeddedFile, date: str | None) -> Attachment:
    """An associated file dated like the document (never the clock, for identical bytes)."""
    when = (
        datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if date
        else datetime(1970, 1, 1, tzinfo=UTC)
    )
    # "Data": the file is the data the page content was produced from (PDF/A-3 AF relationship)
    return Attachment(
        file_obj=io.BytesIO(f.data),
        name=f.name,
        description=f.description,
        created=when,
        modified=when,
        relationship="Data",
    )


def _weasy_options(opts: PdfOptions, variant: Variant | None) -> dict[str, object]:
    options: dict[str, object] = {
        "pdf_variant": opts.variant,
        "pdf_identifier": True,  # /ID = MD5 of the content: stable, and required by PDF/A
        "pdf_tags": opts.tagged or (variant is not None and variant.tagged),
        "uncompressed_pdf": False,
    }
    if variant is not None and variant.srgb_intent:
        options["output_intent"] = _SRGB_NAME
    return options


def _set_metadata(
    rendered: Any,
    title: str,
    author: str,
    subject: str,
    keywords: Sequence[str],
    lang: str,
    date: str | None,
) -> None:
    """Info dictionary and XMP from the arguments, not from whatever the HTML says."""
    meta = rendered.metadata
    meta.title = title
    meta.authors = [author]
    meta.description = subject
    meta.keywords = list(keywords)
    meta.lang = lang
    meta.generator = f"reportgen {__version__}"
    meta.custom = {}
    if date is not None:
        meta.created = meta.modified = date
    elif meta.created is not None:  # the note's own date, from <meta name="dcterms.created">
        meta.modified = meta.created


def _refuse_attachments(document: HTML) -> None:
    for element in document.etree_element.iter():
        rel = element.get("rel") if isinstance(element.tag, str) else None
        if rel and "attachment" in rel.lower().split():
            raise ReportgenError(
                f'PDF rendering refused: <{element.tag} rel="attachment" '
                f"href={_short(element.get('href', ''))}> would embed a file in the PDF"
            )


def _fetch_error(fetcher: AssetFetcher, exc: BaseException) -> ReportgenError:
    if fetcher.refused:
        url, reason = fetcher.refused[0]
        return ReportgenError(f"PDF rendering refused to fetch {_short(url)}: {reason}")
    return ReportgenError(f"PDF rendering failed: {exc}")


def _check(fetcher: AssetFetcher, logs: _LogCapture, opts: PdfOptions, stage: str) -> None:
    if fetcher.refused:  # WeasyPrint swallows some fatal errors (SVG drawing); we do not
        raise _fetch_error(fetcher, RuntimeError("refused URL"))
    threshold = logging.WARNING if opts.fail_on_warnings else logging.ERROR
    bad = [
        r
        for r in logs.records
        if r.levelno >= threshold
        and not (
            r.levelno < logging.ERROR and any(p.match(r.getMessage()) for p in BENIGN_WARNINGS)
        )
    ]
    if bad:
        lines = [f"{r.levelname.lower()}: {r.getMessage()}" for r in bad[:10]]
        more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
        raise ReportgenError(
            f"PDF rendering failed during {stage}: WeasyPrint reported " + "; ".join(lines) + more
        )


def _check_fonts(rendered: Any) -> None:
    """Every embedded font must be one of the bundled files, byte for byte.

    ``Font.file_content`` holds the subset once the PDF is written, so the check
    hashes the whole face HarfBuzz loaded (WeasyPrint's ``get_hb_object_data``).
    """
    from weasyprint.text.fonts import get_hb_object_data

    digests = _bundled_font_digests()
    foreign = sorted(
        {
            font.family
            for font in rendered.fonts.values()
            if hashlib.sha256(get_hb_object_data(font.hb_face)).hexdigest() not in digests
        }
    )
    if foreign:
        names = ", ".join(repr(f) for f in foreign)
        allowed = ", ".join(sorted({f.family for f in BUNDLED_FONTS}))
        raise ReportgenError(
            f"PDF rendering refused: it would embed system font(s) {names}; "
            f"use the bundled families ({allowed}) in templates and charts, or check "
            "for characters those fonts lack"
        )
