"""What changed between two builds of the same note (``reportgen diff OLD NEW``).

A reviewer compares last month's build with this month's, or a draft with its
revision, without reading either note end to end:

* **Facts** (``facts.json``): every fact, old against new, each one classified as
  changed, added, removed, re-dated only (its ``as_of`` moved, nothing else did)
  or unchanged. A change lists which fields changed (value, display, unit,
  source, as_of, reason) and, when both values exist and the unit is the same,
  the change in the unit's own terms, formatted by :mod:`reportgen.formatting`:
  percentage points for ``percent`` and ``pp`` facts (basis points for
  two-decimal fee percentages), basis points for ``bps``, signed money for
  ``usd``, the signed difference for ``ratio``, ``count`` and ``days``. A figure
  that appears or disappears ("n/a -> 12.0%") carries a note with the reason.
  Changes are computed from the unrounded values, so "15.04% -> 10.96%" reads
  "-4.1 pp" even though the displays differ by 4.0.
* **Text** (``report.html``): the visible text of every section (title block,
  key figures, each ``rg-section``, the disclosures), chart internals left out
  but captions and source lines kept, compared word by word (words, numbers and
  punctuation are the tokens) with :mod:`difflib`: a redline.
* **Compliance text**: the disclaimer, the legends, the footer disclaimer and
  the dataset label, each compared on its own and flagged when it changed.
* **Sources and dates**: the distinct sources named by the facts, the report's
  as-of date and a summary of how the facts' own as-of dates moved.
* **Inputs** (``manifest.json``): input files whose sha256 changed, appeared or
  disappeared, and package versions that changed.

Everything here reads files and returns frozen dataclasses; nothing is written.
:func:`render_diff_html`, :func:`render_diff_pdf` and :func:`write_diff` (in
:mod:`reportgen.diff_html`) turn a :class:`BuildDiff` into a page.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

from reportgen import formatting
from reportgen.errors import UsageError

FACTS_FILE = "facts.json"
REPORT_FILE = "report.html"
MANIFEST_FILE = "manifest.json"

#: Arrow between an old and a new value in plain text.
ARROW = "->"
#: Control characters: never sent to a terminal from data (a fact id, a section id, a path).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

FactField = Literal["value", "display", "unit", "source", "as_of", "reason"]
FACT_FIELDS: tuple[FactField, ...] = ("value", "display", "unit", "source", "as_of", "reason")

FactStatus = Literal["changed", "added", "removed", "redated", "unchanged"]
#: Order of the statuses within a group of the facts table: changes first.
STATUS_ORDER: tuple[FactStatus, ...] = ("changed", "added", "removed", "redated", "unchanged")

TextStatus = Literal["changed", "unchanged", "added", "removed"]
OpKind = Literal["equal", "delete", "insert"]
InputStatus = Literal["changed", "added", "removed"]

FactScalar = str | float | None

#: Groups of the facts table that come first, in this order; ``etf.T`` groups come last.
_LEADING_GROUPS = ("theme", "index", "fees")


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class FactRecord:
    """One fact of one build, as ``facts.json`` holds it (contract section 4)."""

    value: float | None
    unit: str
    display: str
    as_of: str
    source: str
    reason: str | None = None

    def get(self, name: FactField) -> FactScalar:
        fields: dict[FactField, FactScalar] = {
            "value": self.value,
            "display": self.display,
            "unit": self.unit,
            "source": self.source,
            "as_of": self.as_of,
            "reason": self.reason,
        }
        return fields[name]


@dataclass(frozen=True)
class FieldChange:
    """One field of a fact that differs between the builds."""

    field: FactField
    old: FactScalar
    new: FactScalar


@dataclass(frozen=True)
class FactDiff:
    """One fact id across the two builds (present in at least one)."""

    fact_id: str
    group: str
    status: FactStatus
    old: FactRecord | None
    new: FactRecord | None
    #: the fields that differ (empty for added, removed and unchanged facts)
    changes: tuple[FieldChange, ...] = ()
    #: the change in the unit's terms ("-4.0 pp", "-$1.9bn"), when both values exist
    delta: str | None = None
    #: what a reader needs beside the numbers (null transitions, unit or source changes)
    note: str | None = None

    @property
    def changed_fields(self) -> tuple[FactField, ...]:
        return tuple(c.field for c in self.changes)

    @property
    def value_changed(self) -> bool:
        return "value" in self.changed_fields

    @property
    def old_display(self) -> str:
        return self.old.display if self.old is not None else ""

    @property
    def new_display(self) -> str:
        return self.new.display if self.new is not None else ""

    @property
    def summary(self) -> str:
        """One line: "15.0% -> 11.0%, -4.0 pp"; "added: 12.0%"; "removed (was 12.0%)"."""
        if self.old is None:
            return f"added: {self.new_display}"
        if self.new is None:
            return f"removed (was {self.old_display})"
        text = f"{self.old.display} {ARROW} {self.new.display}"
        return f"{text}, {self.delta}" if self.delta else text


@dataclass(frozen=True)
class FactGroup:
    """Facts sharing an id prefix (``theme``, ``index``, ``fees``, ``etf.NWAI``)."""

    name: str
    facts: tuple[FactDiff, ...]

    def count(self, status: FactStatus) -> int:
        return sum(1 for f in self.facts if f.status == status)


@dataclass(frozen=True)
class TextOp:
    """A run of a redline: text kept, struck (``delete``) or inserted."""

    kind: OpKind
    #: the run's text; "\n" separates blocks (paragraphs, list items, table rows)
    text: str


@dataclass(frozen=True)
class SectionDiff:
    """The visible text of one section of the note, old against new."""

    section_id: str
    title: str
    status: TextStatus
    ops: tuple[TextOp, ...]
    words_deleted: int = 0
    words_inserted: int = 0
    #: the section's whole text in each build (None where the build lacks the section)
    old_text: str | None = None
    new_text: str | None = None

    @property
    def changes(self) -> tuple[TextOp, ...]:
        return tuple(op for op in self.ops if op.kind != "equal")


ComplianceItem = Literal["disclaimer", "legends", "footer_disclaimer", "label"]
COMPLIANCE_LABELS: dict[ComplianceItem, str] = {
    "disclaimer": "Disclaimer",
    "legends": "Legends",
    "footer_disclaimer": "Footer disclaimer",
    "label": "Dataset label",
}


@dataclass(frozen=True)
class ComplianceDiff:
    """A piece of compliance text (disclaimer, legends, footer, label), old against new."""

    item: ComplianceItem
    status: TextStatus
    old_text: str | None
    new_text: str | None
    ops: tuple[TextOp, ...]

    @property
    def label(self) -> str:
        return COMPLIANCE_LABELS[self.item]

    @property
    def changed(self) -> bool:
        return self.status != "unchanged"


@dataclass(frozen=True)
class AsOfShift:
    """``count`` facts present in both builds whose own as-of moved from ``old`` to ``new``."""

    old: str
    new: str
    count: int


@dataclass(frozen=True)
class DatesDiff:
    old: str
    new: str
    shifts: tuple[AsOfShift, ...]

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class SourcesDiff:
    """The distinct sources named by the facts of each build (a fact may name several)."""

    old: tuple[str, ...]
    new: tuple[str, ...]
    #: facts present in both builds whose ``source`` differs
    facts_with_new_source: int = 0

    @property
    def added(self) -> tuple[str, ...]:
        return tuple(s for s in self.new if s not in self.old)

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(s for s in self.old if s not in self.new)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.facts_with_new_source)


@dataclass(frozen=True)
class InputFileChange:
    name: str
    status: InputStatus
    old_sha256: str | None
    new_sha256: str | None


@dataclass(frozen=True)
class VersionChange:
    package: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class InputsDiff:
    """``manifest.json`` inputs: files by sha256, package versions."""

    files: tuple[InputFileChange, ...]
    versions: tuple[VersionChange, ...]
    #: "old" and/or "new" when that build has no readable manifest.json
    missing: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.files or self.versions)


@dataclass(frozen=True)
class BuildInfo:
    """What identifies one build folder."""

    path: str
    report: str
    as_of: str
    generator: str
    title: str


@dataclass(frozen=True)
class BuildDiff:
    old: BuildInfo
    new: BuildInfo
    #: every fact id of either build, grouped order (see :meth:`groups`)
    facts: tuple[FactDiff, ...]
    sections: tuple[SectionDiff, ...]
    compliance: tuple[ComplianceDiff, ...]
    dates: DatesDiff
    sources: SourcesDiff
    inputs: InputsDiff

    def with_status(self, status: FactStatus) -> tuple[FactDiff, ...]:
        return tuple(f for f in self.facts if f.status == status)

    @property
    def changed(self) -> tuple[FactDiff, ...]:
        return self.with_status("changed")

    @property
    def added(self) -> tuple[FactDiff, ...]:
        return self.with_status("added")

    @property
    def removed(self) -> tuple[FactDiff, ...]:
        return self.with_status("removed")

    @property
    def redated(self) -> tuple[FactDiff, ...]:
        return self.with_status("redated")

    @property
    def changed_sections(self) -> tuple[SectionDiff, ...]:
        return tuple(s for s in self.sections if s.status != "unchanged")

    @property
    def compliance_changed(self) -> tuple[ComplianceDiff, ...]:
        return tuple(c for c in self.compliance if c.changed)

    @property
    def has_changes(self) -> bool:
        """Anything a reviewer must look at (a re-dated fact alone is not)."""
        return bool(
            self.changed
            or self.added
            or self.removed
            or self.changed_sections
            or self.compliance_changed
            or self.dates.changed
            or self.sources.changed
            or self.inputs.changed
        )

    def groups(self) -> tuple[FactGroup, ...]:
        """Facts by id prefix, in ``theme``, ``index``, ``fees``, others, ``etf.T`` order."""
        by_group: dict[str, list[FactDiff]] = {}
        for f in self.facts:
            by_group.setdefault(f.group, []).append(f)
        return tuple(FactGroup(name, tuple(by_group[name])) for name in _group_order(by_group))


# --------------------------------------------------------------------------- entry points


def diff_builds(old_dir: Path, new_dir: Path) -> BuildDiff:
    """Compare two reportgen output folders (``reportgen build --out``), old first."""
    old_dir, new_dir = Path(old_dir), Path(new_dir)
    old_facts = _load_facts(old_dir, "old")
    new_facts = _load_facts(new_dir, "new")
    if old_facts.report != new_facts.report:
        raise UsageError(
            f"{old_dir} and {new_dir} are builds of different reports: the old build is "
            f"report {old_facts.report!r}, the new one {new_facts.report!r} "
            f'(the "report" of their {FACTS_FILE}); compare two builds of the same report'
        )
    old_html = _read_report(old_dir, "old")
    new_html = _read_report(new_dir, "new")
    old_text = extract_report_text(old_html)
    new_text = extract_report_text(new_html)
    facts = diff_facts(old_facts.facts, new_facts.facts)
    return BuildDiff(
        old=_info(old_dir, old_facts, old_text),
        new=_info(new_dir, new_facts, new_text),
        facts=facts,
        sections=diff_sections(old_text.sections, new_text.sections),
        compliance=diff_compliance(old_text, new_text),
        dates=_dates(old_facts, new_facts, facts),
        sources=_sources(old_facts.facts, new_facts.facts, facts),
        inputs=diff_inputs(_load_manifest(old_dir), _load_manifest(new_dir)),
    )


def summary_lines(diff: BuildDiff) -> list[str]:
    """A short summary for the terminal, one finding per line."""
    n = formatting.format_count
    old, new = diff.old, diff.new
    dates = f"as of {old.as_of} {ARROW} {new.as_of}" if diff.dates.changed else f"as of {new.as_of}"
    lines = [f"{new.report}: {old.path} {ARROW} {new.path}, {dates}"]
    changed = diff.changed
    in_value = sum(1 for f in changed if f.value_changed)
    facts = (
        f"facts: {n(len(changed))} changed ({n(in_value)} in value), "
        f"{n(len(diff.added))} added, {n(len(diff.removed))} removed"
    )
    if diff.redated:
        facts += f", {n(len(diff.redated))} only re-dated"
    lines.append(facts)
    sections = diff.changed_sections
    text = f"text: changed in {n(len(sections))} of {n(len(diff.sections))} sections"
    if sections:
        text += " (" + ", ".join(s.section_id for s in sections) + ")"
    lines.append(text)
    flagged = diff.compliance_changed
    if flagged:
        lines.append(
            "COMPLIANCE TEXT CHANGED: "
            + ", ".join(f"{c.label.lower()} {c.status}" for c in flagged)
            + "; review before publishing"
        )
    else:
        lines.append(
            "compliance text: " + ", ".join(c.label.lower() for c in diff.compliance) + " unchanged"
            if diff.compliance
            else "compliance text: none in either build"
        )
    src = diff.sources
    if src.changed:
        parts = [f"{n(len(src.added))} added", f"{n(len(src.removed))} removed"]
        if src.facts_with_new_source:
            parts.append(f"{n(src.facts_with_new_source)} facts with a different source")
        lines.append("sources: " + ", ".join(parts))
    else:
        lines.append(f"sources: unchanged ({n(len(src.new))})")
    inputs = diff.inputs
    input_line = f"inputs: {n(len(inputs.files))} files changed"
    if inputs.versions:
        input_line += ", versions changed: " + ", ".join(
            f"{v.package} {v.old or 'none'} {ARROW} {v.new or 'none'}" for v in inputs.versions
        )
    else:
        input_line += ", package versions unchanged"
    if inputs.missing:
        input_line += f" (no readable {MANIFEST_FILE} in the {' and '.join(inputs.missing)} build)"
    lines.append(input_line)
    return [_CONTROL.sub("?", line) for line in lines]  # ids and paths are data


def render_diff_html(diff: BuildDiff) -> str:
    """The self-contained HTML page of ``diff`` (see :mod:`reportgen.diff_html`)."""
    from reportgen.diff_html import render_diff_html as render

    return render(diff)


def render_diff_pdf(html: str) -> bytes:
    """The PDF of a page from :func:`render_diff_html`, in the bundled fonts."""
    from reportgen.diff_html import render_diff_pdf as render

    return render(html)


def write_diff(diff: BuildDiff, out: Path, *, pdf: bool = False) -> tuple[Path, ...]:
    """Write the HTML page to ``out`` (and the PDF beside it, ``.pdf``); return the paths."""
    from reportgen.diff_html import write_diff as write

    return write(diff, out, pdf=pdf)


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Facts:
    report: str
    as_of: str
    generator: str
    facts: dict[str, FactRecord]


def _require_build(folder: Path, which: str) -> None:
    if not folder.is_dir():
        raise UsageError(f"the {which} build {folder} does not exist or is not a folder")
    missing = [name for name in (FACTS_FILE, REPORT_FILE) if not (folder / name).is_file()]
    if missing:
        raise UsageError(
            f"the {which} build {folder} is not a reportgen output folder: "
            f"no {' and no '.join(missing)} in it (expected the folder given to "
            "'reportgen build --out')"
        )


def _load_facts(folder: Path, which: str) -> _Facts:
    _require_build(folder, which)
    path = folder / FACTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the {which} build's facts: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("facts"), dict):
        raise UsageError(f'{path}: not a reportgen facts.json (no "facts" object)')
    report = data.get("report")
    as_of = data.get("as_of")
    if not isinstance(report, str) or not isinstance(as_of, str):
        raise UsageError(f'{path}: not a reportgen facts.json (no "report" or "as_of" text)')
    generator = data.get("generator")
    facts = {
        str(fact_id): _fact_record(path, str(fact_id), raw)
        for fact_id, raw in data["facts"].items()
    }
    return _Facts(report, as_of, generator if isinstance(generator, str) else "", facts)


def _fact_record(path: Path, fact_id: str, raw: Any) -> FactRecord:
    def bad(what: str) -> UsageError:
        return UsageError(f"{path}: fact {fact_id!r}: {what}")

    if not isinstance(raw, dict):
        raise bad("expected an object")
    value = raw.get("value")
    if isinstance(value, bool) or not (value is None or isinstance(value, int | float)):
        raise bad(f"value must be a number or null, found {value!r}")
    texts: dict[str, str] = {}
    for key in ("unit", "display", "as_of", "source"):
        text = raw.get(key, "")
        if not isinstance(text, str):
            raise bad(f"{key} must be text, found {text!r}")
        texts[key] = text
    reason = raw.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise bad(f"reason must be text, found {reason!r}")
    return FactRecord(
        value=None if value is None else float(value),
        unit=texts["unit"],
        display=texts["display"],
        as_of=texts["as_of"],
        source=texts["source"],
        reason=reason,
    )


def _read_report(folder: Path, which: str) -> str:
    path = folder / REPORT_FILE
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the {which} build's report: {exc}") from None


def _load_manifest(folder: Path) -> Mapping[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    inputs = data.get("inputs") if isinstance(data, dict) else None
    return inputs if isinstance(inputs, dict) else None


def _info(folder: Path, facts: _Facts, text: ReportText) -> BuildInfo:
    return BuildInfo(
        path=str(folder),
        report=facts.report,
        as_of=facts.as_of,
        generator=facts.generator,
        title=text.title,
    )


# --------------------------------------------------------------------------- facts


def fact_group(fact_id: str) -> str:
    """``etf.NWAI.aum`` -> ``etf.NWAI``; ``theme.flows.ytd`` -> ``theme``."""
    parts = fact_id.split(".")
    if parts[0] == "etf" and len(parts) > 2:
        return f"etf.{parts[1]}"
    return parts[0]


def _group_order(groups: Iterable[str]) -> list[str]:
    def key(name: str) -> tuple[int, int, str]:
        if name in _LEADING_GROUPS:
            return (0, _LEADING_GROUPS.index(name), "")
        if name.startswith("etf."):
            return (2, 0, name)
        return (1, 0, name)

    return sorted(set(groups), key=key)


def diff_facts(
    old: Mapping[str, FactRecord], new: Mapping[str, FactRecord]
) -> tuple[FactDiff, ...]:
    """Every fact id of either build, grouped, changes first within each group."""
    out: list[FactDiff] = []
    for fact_id in set(old) | set(new):
        out.append(diff_fact(fact_id, old.get(fact_id), new.get(fact_id)))
    order = {g: i for i, g in enumerate(_group_order(f.group for f in out))}
    out.sort(key=lambda f: (order[f.group], STATUS_ORDER.index(f.status), f.fact_id))
    return tuple(out)


def diff_fact(fact_id: str, old: FactRecord | None, new: FactRecord | None) -> FactDiff:
    """One fact across the builds, with its typed field changes, change and note."""
    group = fact_group(fact_id)
    if old is None and new is None:
        raise ValueError(f"fact {fact_id!r} is in neither build")
    if old is None:
        assert new is not None
        note = f"not available: {new.reason}" if new.value is None and new.reason else None
        return FactDiff(fact_id, group, "added", None, new, note=note)
    if new is None:
        return FactDiff(fact_id, group, "removed", old, None)
    changes = tuple(
        FieldChange(name, old.get(name), new.get(name))
        for name in FACT_FIELDS
        if old.get(name) != new.get(name)
    )
    fields = {c.field for c in changes}
    if not fields:
        return FactDiff(fact_id, group, "unchanged", old, new)
    if fields == {"as_of"}:
        return FactDiff(fact_id, group, "redated", old, new, changes)
    return FactDiff(
        fact_id,
        group,
        "changed",
        old,
        new,
        changes,
        delta=fact_delta(old, new),
        note=_fact_note(old, new, fields),
    )


def fact_delta(old: FactRecord, new: FactRecord) -> str | None:
    """The signed change from ``old`` to ``new`` in the unit's terms, or None.

    None when either value is null, the unit changed, or the unit has no rule.
    """
    if old.value is None or new.value is None or old.unit != new.unit:
        return None
    delta = new.value - old.value
    unit = new.unit
    if unit == "percent":
        if _is_fee_style(old) or _is_fee_style(new):  # 0.39% -> 0.35% is "-4 bp", not "0.0 pp"
            return _plus(formatting.format_bps(delta))
        return formatting.format_pp(delta)
    if unit == "pp":
        return formatting.format_pp(delta)
    if unit == "bps":
        return _plus(formatting.format_bps(delta))
    if unit in ("usd", "ratio", "count", "days"):
        return _plus(formatting.format_value(delta, unit))
    return None


def _is_fee_style(fact: FactRecord) -> bool:
    """A percentage printed with two decimals (expense ratios, fee ranges)."""
    return (
        fact.value is not None
        and fact.display == formatting.format_value(fact.value, "percent", "fee")
        and fact.display != formatting.format_value(fact.value, "percent")
    )


def _plus(text: str) -> str:
    """Sign a formatted change: "$1.2bn" -> "+$1.2bn"; a zero ("$0", "0 bp") stays unsigned."""
    if text.startswith((formatting.MINUS, "+")) or not re.search(r"[1-9]", text):
        return text
    return "+" + text


def _fact_note(old: FactRecord, new: FactRecord, fields: set[FactField]) -> str | None:
    notes: list[str] = []
    if old.value is None and new.value is not None:
        notes.append(f"now available (was {formatting.NOT_AVAILABLE}: {old.reason or 'no reason'})")
    elif old.value is not None and new.value is None:
        notes.append(f"no longer available: {new.reason or 'no reason given'}")
    elif old.value is None and new.value is None and "reason" in fields:
        notes.append(f"still {formatting.NOT_AVAILABLE}; reason now: {new.reason or 'none'}")
    elif "value" in fields and "display" not in fields:
        notes.append("display unchanged (the change is below the printed precision)")
    if "unit" in fields:
        notes.append(f"unit {old.unit} {ARROW} {new.unit}; no change computed")
    if "source" in fields:
        notes.append(f"source {old.source} {ARROW} {new.source}")
    if fields == {"display"} or fields == {"display", "as_of"}:
        notes.append("same value, printed differently")
    return "; ".join(notes) or None


def split_sources(source: str) -> list[str]:
    """A fact's ``source`` names each file's source, joined with "; "."""
    return [s.strip() for s in source.split("; ") if s.strip()]


def _sources(
    old: Mapping[str, FactRecord], new: Mapping[str, FactRecord], facts: Sequence[FactDiff]
) -> SourcesDiff:
    def distinct(records: Iterable[FactRecord]) -> tuple[str, ...]:
        return tuple(sorted({s for r in records for s in split_sources(r.source)}))

    moved = sum(1 for f in facts if f.status == "changed" and "source" in f.changed_fields)
    return SourcesDiff(distinct(old.values()), distinct(new.values()), moved)


def _dates(old: _Facts, new: _Facts, facts: Sequence[FactDiff]) -> DatesDiff:
    shifts = Counter(
        (f.old.as_of, f.new.as_of)
        for f in facts
        if f.old is not None and f.new is not None and f.old.as_of != f.new.as_of
    )
    ordered = sorted(shifts.items(), key=lambda item: (-item[1], item[0]))
    return DatesDiff(
        old=old.as_of,
        new=new.as_of,
        shifts=tuple(AsOfShift(o, n, count) for (o, n), count in ordered),
    )


# --------------------------------------------------------------------------- inputs


def diff_inputs(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> InputsDiff:
    """Compare the ``inputs`` parts of two manifests (None: that build has none)."""
    missing = tuple(name for name, part in (("old", old), ("new", new)) if part is None)
    if old is None or new is None:
        return InputsDiff((), (), missing)
    old_files, new_files = _str_map(old.get("files")), _str_map(new.get("files"))
    files: list[InputFileChange] = []
    for name in sorted(set(old_files) | set(new_files)):
        a, b = old_files.get(name), new_files.get(name)
        if a == b:
            continue
        status: InputStatus = "added" if a is None else "removed" if b is None else "changed"
        files.append(InputFileChange(name, status, a, b))
    old_versions, new_versions = _str_map(old.get("versions")), _str_map(new.get("versions"))
    versions = tuple(
        VersionChange(name, old_versions.get(name), new_versions.get(name))
        for name in sorted(set(old_versions) | set(new_versions))
        if old_versions.get(name) != new_versions.get(name)
    )
    return InputsDiff(tuple(files), versions, missing)


def _str_map(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in raw.items()}


# --------------------------------------------------------------------------- report text

#: A break between blocks (paragraphs, list items, table rows) in extracted text.
BREAK = "\n"

#: Elements whose text a reader does not see in the body, or sees twice.
_SKIP_TAGS = frozenset({"svg", "style", "script", "head", "template", "noscript", "math"})
_SKIP_CLASSES = frozenset({"rg-toc", "rg-page-header"})
#: Elements that never have an end tag.
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip
#: Inline elements: their text runs on with the text around them.
_INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark",
     "q", "s", "samp", "small", "span", "strong", "time", "u", "var", "del", "ins"}
)  # fmt: skip
#: Elements whose content stands on its own line (everything else is a word boundary).
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt",
     "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li",
     "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "tfoot", "thead", "tr",
     "ul"}
)  # fmt: skip

#: Marks the edge of a table cell while text is collected (a tab is never kept as text).
_CELL = "\t"
_CELL_TAGS = frozenset({"td", "th"})
#: Between the cells of a table row in extracted text.
CELL_SEPARATOR = " | "
_SPACE = re.compile(r"\s+")

TITLE_SECTION = "title"
KEY_FIGURES_SECTION = "key-figures"
DISCLOSURES_SECTION = "rg-disclosures"
_FIXED_TITLES = {TITLE_SECTION: "Title block"}


@dataclass(frozen=True)
class ReportSection:
    section_id: str
    title: str
    text: str


@dataclass(frozen=True)
class ReportText:
    """The visible text of a report.html, by section, and its compliance text."""

    title: str
    sections: tuple[ReportSection, ...]
    disclaimer: str | None
    legends: tuple[str, ...]
    footer_disclaimer: str | None
    label: str | None


@dataclass
class _Open:
    tag: str
    section: str | None = None
    compliance: str | None = None
    skip: bool = False
    heading: bool = False


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Open] = []
        self.order: list[str] = []
        self.text: dict[str, list[str]] = {}
        self.titles: dict[str, str] = {}
        self.heading: dict[str, list[str]] = {}
        self.compliance: dict[str, list[list[str]]] = {}
        self.doc_title: list[str] = []
        self._in_title = False
        self._unnamed = 0

    # the element stack --------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not any(e.tag == "svg" for e in self.stack):
            self._in_title = True
        if tag in _VOID_TAGS:
            self._boundary(" ")
            return
        attr = {k: v or "" for k, v in attrs}
        classes = set(attr.get("class", "").split())
        entry = _Open(tag)
        if tag in _SKIP_TAGS or classes & _SKIP_CLASSES:
            entry.skip = True
        elif tag == "header" and "rg-title-block" in classes:
            entry.section = TITLE_SECTION
        elif tag == "section" and attr.get("data-block") == KEY_FIGURES_SECTION:
            entry.section = KEY_FIGURES_SECTION
        elif tag == "section" and attr.get("id") == DISCLOSURES_SECTION:
            entry.section = DISCLOSURES_SECTION
        elif tag == "section" and "rg-section" in classes:
            self._unnamed += 1
            entry.section = attr.get("id") or f"section-{self._unnamed}"
        if tag == "ul" and "rg-legends" in classes:
            entry.compliance = "legends"
        elif "rg-disclaimer" in classes:
            entry.compliance = "disclaimer"
        elif "rg-pf-disclaimer" in classes or (tag == "footer" and "rg-screen-footer" in classes):
            entry.compliance = "footer_disclaimer"
        elif "rg-label" in classes:
            entry.compliance = "label"
        if entry.section is not None and entry.section not in self.text:
            self.order.append(entry.section)
            self.text[entry.section] = []
            self.heading[entry.section] = []
        if tag in ("h1", "h2") and self._section() is not None:
            entry.heading = not self.titles.get(self._section() or "")
        self._open_boundary(tag)
        self.stack.append(entry)
        if entry.compliance is not None:
            self.compliance.setdefault(entry.compliance, []).append([])
        elif tag == "li" and self._compliance() == "legends":
            self.compliance["legends"].append([])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS or tag not in _INLINE_TAGS:
            self._boundary(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth].tag == tag:
                break
        else:
            return  # a stray end tag: ignored, as browsers do
        while len(self.stack) > depth:
            entry = self.stack.pop()
            if entry.heading:
                section = self._section()
                if section is not None:
                    self.titles.setdefault(section, _squash("".join(self.heading[section])))
            self._open_boundary(entry.tag, end=True)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.doc_title.append(data)
        if self._skipping():
            return
        data = _SPACE.sub(" ", data)  # line breaks in the source are spaces to a reader
        section = self._section()
        if section is not None:
            self.text[section].append(data)
            if any(e.heading for e in self.stack):
                self.heading[section].append(data)
        compliance = self._compliance()
        if compliance is not None:
            self.compliance[compliance][-1].append(data)

    # helpers ------------------------------------------------------------------
    def _skipping(self) -> bool:
        return any(e.skip for e in self.stack)

    def _section(self) -> str | None:
        for entry in reversed(self.stack):
            if entry.section is not None:
                return entry.section
        return None

    def _compliance(self) -> str | None:
        for entry in reversed(self.stack):
            if entry.compliance is not None:
                return entry.compliance
        return None

    def _open_boundary(self, tag: str, *, end: bool = False) -> None:
        if tag in _INLINE_TAGS:
            return
        if tag in _BLOCK_TAGS:
            self._boundary(BREAK)
        else:
            self._boundary(_CELL if end and tag in _CELL_TAGS else " ")

    def _boundary(self, sep: str) -> None:
        if self._skipping():
            return
        section = self._section()
        if section is not None:
            self.text[section].append(sep)
        compliance = self._compliance()
        if compliance is not None and self.compliance[compliance]:
            self.compliance[compliance][-1].append(sep)


def _squash(text: str) -> str:
    """Whitespace collapsed, one line per block, table cells joined with " | "."""
    lines: list[str] = []
    for line in text.split(BREAK):
        cells = [" ".join(cell.split()) for cell in line.split(_CELL)]
        while cells and not cells[-1]:
            cells.pop()
        while cells and not cells[0]:
            cells.pop(0)
        if cells:
            lines.append(CELL_SEPARATOR.join(cells))
    return BREAK.join(lines)


def extract_report_text(html: str) -> ReportText:
    """The visible text of a ``report.html``, section by section (charts' SVG left out)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    sections = tuple(
        ReportSection(
            section_id=sid,
            title=_FIXED_TITLES.get(sid) or parser.titles.get(sid) or sid,
            text=_squash("".join(parser.text[sid])),
        )
        for sid in parser.order
    )

    def items(name: str) -> list[str]:
        texts = (_squash("".join(chunks)) for chunks in parser.compliance.get(name, []))
        return list(dict.fromkeys(t for t in texts if t))  # distinct, in order

    def joined(name: str) -> str | None:
        found = items(name)
        return BREAK.join(found) if found else None

    return ReportText(
        title=" ".join("".join(parser.doc_title).split()),
        sections=sections,
        disclaimer=joined("disclaimer"),
        legends=tuple(items("legends")),
        footer_disclaimer=joined("footer_disclaimer"),
        label=joined("label"),
    )


# --------------------------------------------------------------------------- word diff

#: Tokens: an ISO date, a number with its sign, currency and unit ("-$121.7m", "15.0%",
#: "1,250.0bn"), a word (with inner apostrophes, hyphens, dots and slashes: "n/a", "top-10"), or one
#: punctuation mark.
_TOKEN = re.compile(
    r"\d{4}-\d{2}-\d{2}(?![\w])"
    r"|[+\-−]?[$€£]?\d[\d,]*(?:\.\d+)?(?:bn|m|k|%|pp|bp)?(?![\w])"
    r"|\w+(?:['’./\-]\w+)*"
    r"|[^\w\s]"
)


@dataclass(frozen=True)
class _Token:
    text: str
    #: a space before it in the original text
    space: bool


def tokenize(text: str) -> list[_Token]:
    """Words, numbers and punctuation, with a ``BREAK`` token between blocks."""
    tokens: list[_Token] = []
    for n, line in enumerate(text.split(BREAK)):
        if n:
            tokens.append(_Token(BREAK, False))
        end = 0
        for match in _TOKEN.finditer(line):
            tokens.append(_Token(match.group(0), match.start() > end and end > 0))
            end = match.end()
    return tokens


def _join(tokens: Sequence[_Token]) -> str:
    """Tokens back to text; the first token's leading space is left to the caller."""
    return "".join((" " if t.space and i else "") + t.text for i, t in enumerate(tokens))


def _words(tokens: Sequence[_Token]) -> int:
    return sum(1 for t in tokens if t.text != BREAK)


def word_diff(old: str, new: str) -> tuple[tuple[TextOp, ...], int, int]:
    """A word-level redline of ``old`` against ``new``: (runs, words deleted, words inserted)."""
    a, b = tokenize(old), tokenize(new)
    matcher = difflib.SequenceMatcher(None, [t.text for t in a], [t.text for t in b], False)
    ops: list[TextOp] = []
    deleted = inserted = 0

    def emit(kind: OpKind, text: str) -> None:
        if not text:
            return
        if ops and ops[-1].kind == kind:
            ops[-1] = TextOp(kind, ops[-1].text + text)
        else:
            ops.append(TextOp(kind, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old_run, new_run = a[i1:i2], b[j1:j2]
        lead = bool(old_run and old_run[0].space) or bool(new_run and new_run[0].space)
        if tag == "equal":
            emit("equal", (" " if new_run[0].space else "") + _join(new_run))
            continue
        emit("equal", " " if lead else "")
        if old_run:
            emit("delete", _join(old_run))
            deleted += _words(old_run)
        if old_run and new_run:
            emit("equal", " ")
        if new_run:
            emit("insert", _join(new_run))
            inserted += _words(new_run)
    return tuple(ops), deleted, inserted


def diff_sections(
    old: Sequence[ReportSection], new: Sequence[ReportSection]
) -> tuple[SectionDiff, ...]:
    """Sections in the new build's order, then those only the old build has."""
    old_by_id = {s.section_id: s for s in old}
    new_ids = {s.section_id for s in new}
    out: list[SectionDiff] = []
    for section in new:
        before = old_by_id.get(section.section_id)
        sid, title, text = section.section_id, section.title, section.text
        if before is None:
            ops, _, inserted = word_diff("", text)
            out.append(SectionDiff(sid, title, "added", ops, 0, inserted, None, text))
        elif before.text == text:
            ops = (TextOp("equal", text),) if text else ()
            out.append(SectionDiff(sid, title, "unchanged", ops, 0, 0, text, text))
        else:
            ops, deleted, inserted = word_diff(before.text, text)
            out.append(
                SectionDiff(sid, title, "changed", ops, deleted, inserted, before.text, text)
            )
    for section in old:
        if section.section_id not in new_ids:
            ops, deleted, _ = word_diff(section.text, "")
            out.append(
                SectionDiff(
                    section.section_id, section.title, "removed", ops, deleted, 0, section.text
                )
            )
    return tuple(out)


def diff_compliance(old: ReportText, new: ReportText) -> tuple[ComplianceDiff, ...]:
    """Disclaimer, legends, footer disclaimer and label; items neither build has are left out."""
    pairs: tuple[tuple[ComplianceItem, str | None, str | None], ...] = (
        ("disclaimer", old.disclaimer, new.disclaimer),
        ("legends", BREAK.join(old.legends) or None, BREAK.join(new.legends) or None),
        ("footer_disclaimer", old.footer_disclaimer, new.footer_disclaimer),
        ("label", old.label, new.label),
    )
    out: list[ComplianceDiff] = []
    for item, a, b in pairs:
        if a is None and b is None:
            continue
        status: TextStatus = (
            "added"
            if a is None
            else "removed"
            if b is None
            else "unchanged"
            if a == b
            else "changed"
        )
        ops = (
            (TextOp("equal", b or ""),) if status == "unchanged" else word_diff(a or "", b or "")[0]
        )
        out.append(ComplianceDiff(item, status, a, b, ops))
    return tuple(out)
