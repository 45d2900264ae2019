"""Approving or rejecting a draft, and proving later what was approved.

A build is a draft (every PDF page carries the draft mark). A reviewer approves
the folder: reportgen checks that every file still matches the manifest and that
no blocking compliance finding is left unwaived, re-renders the same note
without the mark (refusing if this machine cannot reproduce the draft's
figures and text exactly), and writes ``report-approved.pdf`` beside the
untouched draft with ``approval.json``. With ``required_approvers: 2`` the
approved PDF appears only once two distinct reviewers approved the same draft.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from reportgen import manifest, records
from reportgen.config import LoadedConfig, load_config
from reportgen.errors import UsageError
from reportgen.output import is_reportgen_output, write_atomically

APPROVAL = "approval.json"
APPROVED_PDF = "report-approved.pdf"


@dataclass(frozen=True)
class Decision:
    reviewer: str
    role: str
    decision: Literal["approved", "rejected"]
    comment: str
    time: str
    draft_sha256: str


def read_manifest(out_dir: Path) -> dict[str, Any]:
    if not is_reportgen_output(out_dir):
        raise UsageError(f"{out_dir}: not a reportgen output folder (no reportgen manifest.json)")
    data: dict[str, Any] = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    return data


def tampered(out_dir: Path, mf: dict[str, Any]) -> list[str]:
    """Files that no longer match the manifest's hashes (or are missing)."""
    problems = []
    for name, digest in sorted(mf["outputs"].items()):
        path = out_dir / name
        if not path.is_file():
            problems.append(f"{path}: listed in manifest.json but missing")
        elif manifest.sha256_file(path) != digest:
            problems.append(f"{path}: no longer matches the sha256 in manifest.json")
    return problems


def stored_config(out_dir: Path, mf: dict[str, Any]) -> LoadedConfig:
    name = mf["inputs"].get("config")
    if not name:
        raise UsageError(f"{out_dir}: manifest.json does not name its config; rebuild the draft")
    return load_config(out_dir / "inputs" / name)


def as_of_of(mf: dict[str, Any]) -> date:
    return date.fromisoformat(mf["inputs"]["as_of"])


def records_dir(out_dir: Path, config: LoadedConfig) -> Path:
    return (out_dir.resolve().parent / config.model.approval.records).resolve()


def read_decisions(out_dir: Path) -> list[dict[str, Any]]:
    path = out_dir / APPROVAL
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    decisions: list[dict[str, Any]] = data.get("decisions", [])
    return decisions


def has_approval(out_dir: Path) -> bool:
    return any(d.get("decision") == "approved" for d in read_decisions(out_dir))


def unwaived_blocking(out_dir: Path) -> list[str]:
    """Blocking compliance findings of the folder that the config does not waive."""
    from reportgen.compliance import blocking_unwaived

    return blocking_unwaived(out_dir)


def decide(
    out_dir: Path,
    *,
    reviewer: str,
    role: str,
    comment: str,
    reject: bool = False,
) -> dict[str, Any]:
    """Record one reviewer's decision; write the approved PDF once enough approved."""
    if not reviewer.strip():
        raise UsageError("--reviewer: expected a name, found nothing")
    if reject and not comment.strip():
        raise UsageError("--comment: a rejection needs a comment saying why")
    mf = read_manifest(out_dir)
    problems = tampered(out_dir, mf)
    if problems:
        raise UsageError(
            "refusing to approve: the folder was changed after the build:\n" + "\n".join(problems)
        )
    config = stored_config(out_dir, mf)
    draft_sha = mf["outputs"]["report.pdf"]
    if not reject:
        blocking = unwaived_blocking(out_dir)
        if blocking:
            raise UsageError(
                "refusing to approve: blocking compliance finding(s) neither fixed nor waived "
                "in the config:\n" + "\n".join(blocking)
            )
    decisions = [d for d in read_decisions(out_dir) if d.get("draft_sha256") == draft_sha]
    if any(d["reviewer"] == reviewer and d["decision"] == "approved" for d in decisions):
        raise UsageError(
            f"{reviewer} has already approved this draft; a second approver must differ"
        )
    decision = Decision(
        reviewer=reviewer,
        role=role,
        decision="rejected" if reject else "approved",
        comment=comment,
        time=records.now_iso(),
        draft_sha256=draft_sha,
    )
    decisions.append(decision.__dict__)
    approvers = sorted({d["reviewer"] for d in decisions if d["decision"] == "approved"})
    required = config.model.approval.required_approvers
    approved_sha = None
    if not reject and len(approvers) >= required:
        approved_pdf = render_approved(out_dir, mf)
        approved_sha = manifest.sha256_bytes(approved_pdf)
        write_atomically(out_dir / APPROVED_PDF, approved_pdf)
    state = {
        "report": mf["inputs"].get("config"),
        "as_of": mf["inputs"]["as_of"],
        "draft_sha256": draft_sha,
        "required_approvers": required,
        "approvers": approvers,
        "status": "approved" if approved_sha else ("rejected" if reject else "pending"),
        "approved_sha256": approved_sha,
        "waivers": [w.model_dump() for w in config.model.compliance.waivers],
        "decisions": decisions,
    }
    write_atomically(out_dir / APPROVAL, manifest.dumps(state))
    records.append(
        records_dir(out_dir, config),
        {
            "event": decision.decision,
            "out": out_dir.name,
            "reviewer": reviewer,
            "role": role,
            "comment": comment,
            "draft_sha256": draft_sha,
            "approved_sha256": approved_sha,
        },
    )
    return state


def render_approved(out_dir: Path, mf: dict[str, Any]) -> bytes:
    """The draft re-rendered from its kept inputs without the mark, after proving it matches."""
    from reportgen.build import make_files

    inputs = out_dir / "inputs"
    result = make_files(
        inputs / mf["inputs"]["config"],
        inputs / "dataset",
        as_of_of(mf),
        draft=False,
        subject=mf["inputs"].get("subject"),
        kept_rows="rows" in mf["inputs"],
    )
    for name in ("facts.json", "report.html"):
        if result.files[name] != (out_dir / name).read_bytes():
            raise UsageError(
                f"refusing to approve: this installation does not reproduce {name} of the draft "
                "(different reportgen or package versions?); run `reportgen rebuild` to see why"
            )
    return result.files["report.pdf"]


def rebuild(out_dir: Path) -> list[str]:
    """Rebuild the draft from the folder alone; the files (and inputs) that differ."""
    from reportgen.build import make_files

    mf = read_manifest(out_dir)
    inputs = out_dir / "inputs"
    result = make_files(
        inputs / mf["inputs"]["config"],
        inputs / "dataset",
        as_of_of(mf),
        subject=mf["inputs"].get("subject"),
        kept_rows="rows" in mf["inputs"],
    )
    differences = []
    new_mf = json.loads(result.files["manifest.json"])
    for key in ("as_of", "versions"):
        if new_mf["inputs"].get(key) != mf["inputs"].get(key):
            differences.append(
                f"inputs {key}: {mf['inputs'].get(key)} -> {new_mf['inputs'].get(key)}"
            )
    old_files, new_files = mf["inputs"]["files"], new_mf["inputs"]["files"]
    for name in sorted(set(old_files) | set(new_files)):
        if old_files.get(name) != new_files.get(name):
            differences.append(f"input {name}: differs from the one the draft was built from")
    for name, digest in sorted(result.files.items()):
        path = out_dir / name
        if not path.is_file() or manifest.sha256_file(path) != manifest.sha256_bytes(digest):
            differences.append(f"{name}: rebuilt bytes differ")
    return differences
