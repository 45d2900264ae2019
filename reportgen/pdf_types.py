"""What a PDF render is asked and what it returns, importable without WeasyPrint.

A build may render its PDF in a helper process (:mod:`reportgen.render_process`); these
plain values travel to it and back, and the build names them without paying for
WeasyPrint's import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PdfVariant = Literal["pdf/a-2b", "pdf/a-3b", "pdf/a-3u", "pdf/ua-1"]


@dataclass(frozen=True)
class PdfOptions:
    """How to write the PDF; defaults are the strict, reproducible ones."""

    #: ``None`` for plain PDF 1.7, or one of ``VARIANTS`` such as ``"pdf/a-3b"``.
    variant: PdfVariant | None = None
    #: Tagged PDF (structure tree) for accessibility; always on for PDF/UA.
    tagged: bool = False
    #: Treat WeasyPrint warnings (ignored CSS, unloadable fonts) as failures too.
    fail_on_warnings: bool = True
    #: Refuse a PDF that embeds any font that is not one of ``BUNDLED_FONTS``.
    bundled_fonts_only: bool = True
    #: Text stamped across every page (a draft mark); ``None`` for the approved file.
    #: It is drawn by a fixed-position element that takes no space, so the approved
    #: file's layout is identical to the draft's.
    draft_mark: str | None = None


@dataclass(frozen=True)
class PdfResult:
    pdf: bytes
    pages: int
    #: seconds spent in ``HTML(...).render()`` (cascade and layout; HTML parsing excluded)
    layout_seconds: float
    #: seconds spent in ``Document.write_pdf()`` (draw, subset fonts, serialise)
    write_seconds: float
    #: URLs served by the fetcher (bundled fonts, data: URLs), in fetch order
    fetched: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class EmbeddedFile:
    """A file carried inside the PDF: its name, bytes and what it is."""

    name: str
    data: bytes
    description: str
    mime: str = "application/json"
