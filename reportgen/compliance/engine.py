"""Run the rules over one build's evidence; ids, waivers, compliance.json and summaries.

A finding's id is ``<rule id>-<10 hex digits>``: a hash of the rule id, the section
and what the rule says identifies the finding (for most rules the offending text and
its sentence). It leaves out the PDF page, the block number and the order of
findings, so it survives a reflow, a block added above, or another finding fixed;
it changes when the offending text changes, which is when a reviewer should look
again. Identical findings in one section (the same sentence twice) are one finding
with ``occurrences`` > 1.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from reportgen.compliance.context import Context, Evidence, RawFinding
from reportgen.compliance.lexicon import load_lexicon
from reportgen.compliance.rules import RULES, RULES_BY_ID, Severity, check_for
from reportgen.compliance.settings import ComplianceConfig
from reportgen.errors import EXIT_NEEDS_ATTENTION, EXIT_OK, UsageError

COMPLIANCE_FILE = "compliance.json"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Finding:
    id: str
    rule: str
    severity: Severity
    regulation: str
    section: str | None
    block: str | None
    page: int | None
    text: str
    message: str
    context: str | None = None
    #: the waiver's reason when a reviewer accepted this finding, else None
    waived: str | None = None
    occurrences: int = 1

    @property
    def blocking(self) -> bool:
        """A blocking finding that no waiver accepts."""
        return self.severity == "block" and self.waived is None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "severity": self.severity,
            "regulation": self.regulation,
            "section": self.section,
            "block": self.block,
            "page": self.page,
            "text": self.text,
            "context": self.context,
            "message": self.message,
            "waived": self.waived,
            "occurrences": self.occurrences,
        }


def finding_id(rule: str, section: str | None, key: str) -> str:
    normalized = " ".join(key.lower().split())
    digest = hashlib.sha256(f"{rule}\x1f{section or ''}\x1f{normalized}".encode()).hexdigest()
    return f"{rule}-{digest[:10]}"


def check(evidence: Evidence) -> list[Finding]:
    """Every finding of every rule, in rule order then document order, waivers applied."""
    ctx = Context(evidence)
    settings = ctx.settings
    load_lexicon(settings.lexicon)  # a bad lexicon name is a usage error, before any check
    waivers = {w.finding: w.reason for w in settings.waivers}
    found: dict[str, Finding] = {}
    for rule in RULES:
        for raw in check_for(rule.id)(ctx):
            finding = _finding(ctx, raw, settings.regime)
            if finding.id in found:
                first = found[finding.id]
                found[finding.id] = replace(first, occurrences=first.occurrences + 1)
                continue
            found[finding.id] = finding
    return [replace(f, waived=waivers.get(f.id)) for f in found.values()]


def _finding(ctx: Context, raw: RawFinding, regime: str) -> Finding:
    rule = RULES_BY_ID[raw.rule]
    return Finding(
        id=finding_id(rule.id, raw.section, raw.key if raw.key is not None else raw.text),
        rule=rule.id,
        severity=rule.severity,
        regulation=rule.regulation[regime],
        section=raw.section,
        block=raw.block,
        page=ctx.page_for(raw),
        text=raw.text,
        message=raw.message,
        context=raw.context,
    )


def unused_waivers(findings: Iterable[Finding], settings: ComplianceConfig) -> list[str]:
    """Waived finding ids that no finding has (stale waivers a reviewer should remove)."""
    ids = {f.id for f in findings}
    return sorted(w.finding for w in settings.waivers if w.finding not in ids)


@dataclass(frozen=True)
class Summary:
    total: int
    block: int
    review: int
    waived: int
    blocking: int
    by_rule: dict[str, int] = field(default_factory=dict)


def summarize(findings: Sequence[Finding]) -> Summary:
    by_rule: dict[str, int] = {}
    for f in findings:
        by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
    return Summary(
        total=len(findings),
        block=sum(f.severity == "block" for f in findings),
        review=sum(f.severity == "review" for f in findings),
        waived=sum(f.waived is not None for f in findings),
        blocking=sum(f.blocking for f in findings),
        by_rule=by_rule,
    )


def findings_json(
    findings: Sequence[Finding],
    settings: ComplianceConfig,
    *,
    report: str | None = None,
    as_of: date | None = None,
) -> bytes:
    """``compliance.json``: the rules applied, a summary and every finding (sorted keys)."""
    s = summarize(findings)
    doc = {
        "format": _FORMAT_VERSION,
        "report": report,
        "as_of": as_of.isoformat() if as_of else None,
        "regime": settings.regime,
        "lexicon": settings.lexicon,
        "rules": [
            {
                "id": r.id,
                "severity": r.severity,
                "title": r.title,
                "checks": r.checks,
                "regulation": r.regulation[settings.regime],
            }
            for r in RULES
        ],
        "summary": {
            "total": s.total,
            "block": s.block,
            "review": s.review,
            "waived": s.waived,
            "blocking": s.blocking,
            "by_rule": s.by_rule,
        },
        "findings": [f.to_json() for f in findings],
        "unused_waivers": unused_waivers(findings, settings),
    }
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when a blocking finding is not waived, else 0 (the contract's exit statuses)."""
    return EXIT_NEEDS_ATTENTION if any(f.blocking for f in findings) else EXIT_OK


def _where(f: Finding) -> str:
    parts = [f.block or f.section or "document"]
    if f.page is not None:
        parts.append(f"p.{f.page}")
    return " ".join(parts)


def finding_lines(findings: Sequence[Finding]) -> list[str]:
    """One line per finding, for ``reportgen check``:

    ``BLOCK  untraced-number-3f9a2c1b0d  context:1 p.1  untraced number '12.5%' ... | a 12.5% gain``
    """
    lines = []
    for f in findings:
        status = f"WAIVED ({f.waived})" if f.waived is not None else f.severity.upper()
        line = f"{status:<6} {f.id}  {_where(f)}  {f.message}"
        if f.context and f.context != f.text:
            context = f.context if len(f.context) <= 160 else f.context[:157] + "..."
            line += f" | {context}"
        if f.occurrences > 1:
            line += f" (x{f.occurrences})"
        lines.append(line)
    return lines


def summary_lines(
    findings: Sequence[Finding], settings: ComplianceConfig | None = None
) -> list[str]:
    """A short summary for ``reportgen build`` (and the last lines of ``check``)."""
    s = summarize(findings)
    head = (
        f"compliance: {s.blocking} blocking, "
        f"{sum(f.severity == 'review' and f.waived is None for f in findings)} for review, "
        f"{s.waived} waived"
    )
    lines = [head]
    for f in findings:
        if f.blocking:
            lines.append(f"  {f.id}  {_where(f)}  {f.message}")
    for f in findings:  # review findings are the build's warnings (stale data, empty periods)
        if f.severity == "review" and f.waived is None:
            lines.append(f"  review: {f.id}  {_where(f)}  {f.message}")
    if settings is not None:
        for stale in unused_waivers(findings, settings):
            lines.append(f"  waiver {stale} matches no finding; remove it from the config")
    return lines


def blocking_unwaived(out_dir: Path) -> list[str]:
    """Check a build folder again; one line (as ``finding_lines``) per unwaived blocking finding."""
    findings = check(load_evidence(out_dir))
    return finding_lines([f for f in findings if f.blocking])


def load_evidence(out_dir: Path) -> Evidence:
    """Read a build's folder: report.html, report.pdf, facts.json and the inputs/ copies.

    ``inputs/config/`` holds exactly one config (``*.yaml``) with its commentary files,
    ``inputs/dataset/`` the dataset; the as-of date is the one in facts.json.
    """
    from reportgen.config import load_config
    from reportgen.dataset import load_dataset

    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise UsageError(f"{out_dir}: expected a reportgen output folder, found nothing there")
    needed = ("report.html", "report.pdf", "facts.json", "inputs/config", "inputs/dataset")
    missing = [name for name in needed if not (out_dir / name).exists()]
    if missing:
        raise UsageError(
            f"{out_dir}: expected a reportgen output folder; missing {', '.join(missing)}"
        )
    configs = sorted((out_dir / "inputs" / "config").glob("*.yaml"))
    configs += sorted((out_dir / "inputs" / "config").glob("*.yml"))
    if len(configs) != 1:
        raise UsageError(
            f"{out_dir / 'inputs' / 'config'}: expected exactly one config file, "
            f"found {len(configs)}"
        )
    try:
        facts = json.loads((out_dir / "facts.json").read_text(encoding="utf-8"))
        as_of = date.fromisoformat(facts["as_of"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{out_dir / 'facts.json'}: expected reportgen facts.json ({exc})"
        ) from None
    return Evidence(
        html=(out_dir / "report.html").read_text(encoding="utf-8"),
        pdf=(out_dir / "report.pdf").read_bytes(),
        facts=facts,
        config=load_config(configs[0]),
        dataset=load_dataset(out_dir / "inputs" / "dataset", one_fund=_kept_rows(out_dir)),
        as_of=as_of,
    )


def _kept_rows(out_dir: Path) -> bool:
    """Whether the folder is a one-fund report's, whose inputs/dataset keeps that fund's rows."""
    try:
        mf = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        return isinstance(mf["inputs"].get("rows"), dict)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
