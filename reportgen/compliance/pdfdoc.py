"""report.pdf as the checks see it: page texts, fonts, actions and PDF/A metadata.

Page texts place findings on pages and tell which pages carry the past-performance
legend. Text is compared after :func:`normalize`, which keeps only letters, digits,
``%`` and ``$``: line breaks, hyphenation (WeasyPrint breaks words with U+2010),
spacing and extraction order inside a line then no longer matter.
"""

from __future__ import annotations

import io
import logging
import re
import subprocess
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reportgen.errors import UsageError

_KEEP = re.compile(r"[^0-9a-z%$]+")

#: Actions that leave the document (ISO 32000-1, 12.6.4).
EXTERNAL_ACTIONS = frozenset(
    {"/URI", "/Launch", "/GoToR", "/GoToE", "/ImportData", "/SubmitForm", "/JavaScript"}
)


def normalize(text: str) -> str:
    """Lower-case letters, digits, ``%`` and ``$`` only (hyphenation and spacing removed)."""
    return _KEEP.sub("", unicodedata.normalize("NFKC", text).lower())


@dataclass(frozen=True)
class FontUse:
    name: str
    subtype: str
    embedded: bool


@dataclass(frozen=True)
class ExternalReference:
    kind: str
    target: str


@dataclass
class PdfFacts:
    """What the checks need to know about one PDF, read once."""

    pages: list[str]
    fonts: list[FontUse]
    references: list[ExternalReference]
    #: (part, conformance) from the XMP ``pdfaid`` schema, None when absent
    pdfa: tuple[str, str] | None
    error: str | None = None
    norm_pages: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.norm_pages = [normalize(p) for p in self.pages]

    def pages_with(self, text: str) -> list[int]:
        """1-based numbers of the pages whose text contains ``text`` (normalized)."""
        key = normalize(text)
        if not key:
            return []
        return [i + 1 for i, page in enumerate(self.norm_pages) if key in page]


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs recoverable oddities as warnings; the checks report what matters."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_pdf(data: bytes) -> PdfFacts:
    """Page texts, fonts, external references and the PDF/A declaration of a PDF."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    with _quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            pages = page_texts(data, len(reader.pages))
            fonts = list(_fonts(reader))
            refs = list(_external_references(reader))
            pdfa = _pdfa(reader)
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            return PdfFacts([], [], [], None, error=f"{type(exc).__name__}: {exc}")
    return PdfFacts(pages, fonts, refs, pdfa)


def page_texts(data: bytes, count: int) -> list[str]:
    """The text of each page, by poppler's pdftotext (installed by the set-up script).

    pypdf's extractor does the same job in pure Python but took 1.7 s of a 2 s check on
    the sample note; pdftotext takes about 0.05 s. Pages are split on form feeds.
    """
    try:
        done = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-", "-"],
            input=data,
            capture_output=True,
            check=True,
            timeout=120,
        )
    except FileNotFoundError:
        raise UsageError(
            "pdftotext (Debian package poppler-utils) is needed to read the PDF's pages; "
            "run bash scripts/setup.sh"
        ) from None
    except subprocess.CalledProcessError as exc:
        raise UsageError(
            f"pdftotext could not read the PDF: {exc.stderr.decode(errors='replace')}"
        ) from None
    pages = done.stdout.decode("utf-8").split("\f")
    return (pages + [""] * count)[:count]


def _resolve(obj: Any) -> Any:
    return obj.get_object() if hasattr(obj, "get_object") else obj


def _fonts(reader: Any) -> Iterator[FontUse]:
    seen: set[int] = set()
    for page in reader.pages:
        yield from _fonts_in_resources(_resolve(page.get("/Resources")), seen)
        for annot in _resolve(page.get("/Annots")) or []:
            appearance = _resolve(_resolve(annot).get("/AP"))
            if appearance is not None:
                for stream in _appearance_streams(appearance):
                    yield from _fonts_in_resources(_resolve(stream.get("/Resources")), seen)


def _appearance_streams(appearance: Any) -> Iterator[Any]:
    for value in appearance.values():
        value = _resolve(value)
        if hasattr(value, "get_data"):
            yield value
        elif hasattr(value, "values"):
            for sub in value.values():
                sub = _resolve(sub)
                if hasattr(sub, "get_data"):
                    yield sub


def _fonts_in_resources(resources: Any, seen: set[int]) -> Iterator[FontUse]:
    if resources is None or id(resources) in seen:
        return
    seen.add(id(resources))
    for font in (_resolve(resources.get("/Font")) or {}).values():
        font = _resolve(font)
        key = id(font)
        if key in seen:
            continue
        seen.add(key)
        yield _font_use(font)
        if font.get("/Subtype") == "/Type3":
            yield from _fonts_in_resources(_resolve(font.get("/Resources")), seen)
    for xobject in (_resolve(resources.get("/XObject")) or {}).values():
        xobject = _resolve(xobject)
        if xobject.get("/Subtype") == "/Form":
            yield from _fonts_in_resources(_resolve(xobject.get("/Resources")), seen)
    for pattern in (_resolve(resources.get("/Pattern")) or {}).values():
        pattern = _resolve(pattern)
        if hasattr(pattern, "get"):
            yield from _fonts_in_resources(_resolve(pattern.get("/Resources")), seen)


def _font_use(font: Any) -> FontUse:
    subtype = str(font.get("/Subtype", ""))
    name = str(font.get("/BaseFont", font.get("/Name", "?"))).lstrip("/")
    if subtype == "/Type3":  # glyphs are content streams inside the PDF
        return FontUse(name, subtype, True)
    descriptor_owner = font
    if subtype == "/Type0":
        descendants = _resolve(font.get("/DescendantFonts")) or []
        descriptor_owner = _resolve(descendants[0]) if descendants else {}
    descriptor = _resolve(descriptor_owner.get("/FontDescriptor"))
    embedded = descriptor is not None and any(
        k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
    )
    return FontUse(name, subtype, embedded)


def _external_references(reader: Any) -> Iterator[ExternalReference]:
    """Walk every object reachable from the trailer; report what points outside the file."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    visited_direct: set[int] = set()
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        if id(obj) in visited_direct:
            continue
        visited_direct.add(id(obj))
        if isinstance(obj, DictionaryObject):
            yield from _check_dict(obj)
            for k, value in obj.items():
                if k in ("/Parent", "/P"):  # back-pointers: already reached from above
                    continue
                stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)


def _check_dict(d: Any) -> Iterator[ExternalReference]:
    action = d.get("/S")
    if action is not None and str(action) in EXTERNAL_ACTIONS:
        target = d.get("/URI") or d.get("/F") or d.get("/JS") or ""
        yield ExternalReference(f"{str(action).lstrip('/')} action", _short(_resolve(target)))
    doc_type = str(d.get("/Type", ""))
    is_filespec = doc_type == "/Filespec" or str(d.get("/FS", "")) == "/URL"
    if is_filespec and "/EF" not in d:
        target = d.get("/UF") or d.get("/F") or ""
        yield ExternalReference(
            "file specification without embedded file", _short(_resolve(target))
        )
    if hasattr(d, "get_data") and "/F" in d:  # a stream whose data lives in another file
        yield ExternalReference("external stream", _short(_resolve(d.get("/F"))))
    if str(d.get("/Subtype", "")) == "/Form" and "/Ref" in d:
        yield ExternalReference("reference XObject", _short(_resolve(d.get("/Ref"))))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


_PDFAID = re.compile(
    r"pdfaid:(part|conformance)\s*(?:=\s*[\"']([^\"']*)[\"']|>\s*([^<\s]*)\s*<)", re.IGNORECASE
)


def _pdfa(reader: Any) -> tuple[str, str] | None:
    root = _resolve(reader.trailer["/Root"])
    metadata = _resolve(root.get("/Metadata"))
    if metadata is None:
        return None
    xml = metadata.get_data().decode("utf-8", "replace")
    found = {m.group(1).lower(): (m.group(2) or m.group(3) or "") for m in _PDFAID.finditer(xml)}
    if "part" not in found:
        return None
    return found["part"], found.get("conformance", "")
