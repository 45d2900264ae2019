"""Compliance checks on every build: rules as data, findings out.

``build`` runs :func:`check` on what it just produced and writes
:func:`findings_json` to ``compliance.json``; ``reportgen check OUT_DIR`` runs it
again from the folder (:func:`load_evidence`) and exits with :func:`exit_code`.
The rules are listed in :data:`RULES` (``reportgen/compliance/rules.py``) and
documented in ``docs/compliance.md``.

The config model imports :mod:`reportgen.compliance.settings`, so this package
imports nothing else eagerly: the names below are loaded on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from reportgen.compliance.settings import ComplianceConfig, Waiver

if TYPE_CHECKING:
    from reportgen.compliance.context import Evidence
    from reportgen.compliance.engine import (
        COMPLIANCE_FILE,
        Finding,
        blocking_unwaived,
        check,
        exit_code,
        finding_lines,
        findings_json,
        load_evidence,
        summary_lines,
        unused_waivers,
    )
    from reportgen.compliance.rules import RULES, Rule

_LAZY = {
    "Evidence": "reportgen.compliance.context",
    "COMPLIANCE_FILE": "reportgen.compliance.engine",
    "Finding": "reportgen.compliance.engine",
    "blocking_unwaived": "reportgen.compliance.engine",
    "check": "reportgen.compliance.engine",
    "exit_code": "reportgen.compliance.engine",
    "finding_lines": "reportgen.compliance.engine",
    "findings_json": "reportgen.compliance.engine",
    "load_evidence": "reportgen.compliance.engine",
    "summary_lines": "reportgen.compliance.engine",
    "unused_waivers": "reportgen.compliance.engine",
    "RULES": "reportgen.compliance.rules",
    "Rule": "reportgen.compliance.rules",
}

__all__ = [
    "COMPLIANCE_FILE",
    "RULES",
    "ComplianceConfig",
    "Evidence",
    "Finding",
    "Rule",
    "Waiver",
    "blocking_unwaived",
    "check",
    "exit_code",
    "finding_lines",
    "findings_json",
    "load_evidence",
    "summary_lines",
    "unused_waivers",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
