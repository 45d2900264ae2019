"""Approval, rejection, four eyes, the audit log, embedded evidence and rebuilds,
through the real console script on the real sample."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
REPORTGEN = str(Path(sys.executable).parent / "reportgen")
CONFIG = ROOT / "config" / "ai_etf_monthly.yaml"
SAMPLE = ROOT / "data" / "sample"
MARK = "Draft - not approved for distribution"
ENV_EPOCH = {"SOURCE_DATE_EPOCH": "1775001600"}  # 2026-04-01T00:00:00Z


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, **ENV_EPOCH}
    return subprocess.run([REPORTGEN, *args], capture_output=True, text=True, cwd=cwd, env=env)


def build(config: Path, out: Path) -> None:
    done = run(
        "build", str(config), "--data", str(SAMPLE), "--as-of", "2026-03-31", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr


def four_eyes_config(folder: Path) -> Path:
    shutil.copytree(CONFIG.parent, folder)
    config = folder / CONFIG.name
    text = config.read_text(encoding="utf-8")
    config.write_text(text + "\napproval:\n  required_approvers: 2\n", encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three drafts built side by side: one for approval, one four-eyes, one to tamper with."""
    root = tmp_path_factory.mktemp("approval")
    four = four_eyes_config(root / "config4")
    jobs = {
        "single": (CONFIG, root / "records" / "single"),
        "four": (four, root / "records" / "four"),
        "tamper": (CONFIG, root / "records" / "tamper"),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: build(*job), jobs.values()))
    return {k: v[1] for k, v in jobs.items()}


def page_texts(pdf: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(pdf).pages]


def test_approval_writes_an_identical_pdf_without_the_mark(builds: dict[str, Path]) -> None:
    out = builds["single"]
    draft_bytes = (out / "report.pdf").read_bytes()
    done = run("approve", str(out), "--reviewer", "Ada Reviewer", "--role", "Compliance")
    assert done.returncode == 0, done.stderr
    assert "report-approved.pdf" in done.stdout
    assert (out / "report.pdf").read_bytes() == draft_bytes  # the draft is untouched

    draft, approved = page_texts(out / "report.pdf"), page_texts(out / "report-approved.pdf")
    assert len(draft) == len(approved)
    assert all(MARK in page for page in draft)
    assert not any(MARK in page for page in approved)
    # identical but for the mark: the approved text is the draft's with the mark removed
    assert [" ".join(p.replace(MARK, "").split()) for p in draft] == [
        " ".join(p.split()) for p in approved
    ]

    state = json.loads((out / "approval.json").read_text(encoding="utf-8"))
    import hashlib

    assert state["status"] == "approved"
    assert state["draft_sha256"] == hashlib.sha256(draft_bytes).hexdigest()
    assert (
        state["approved_sha256"]
        == hashlib.sha256((out / "report-approved.pdf").read_bytes()).hexdigest()
    )
    (decision,) = state["decisions"]
    assert decision["reviewer"] == "Ada Reviewer" and decision["role"] == "Compliance"
    assert decision["time"] == "2026-04-01T00:00:00Z"  # from SOURCE_DATE_EPOCH

    # approved output is never overwritten: a build into the folder is refused, folder untouched
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    again = run(
        "build", str(CONFIG), "--data", str(SAMPLE), "--as-of", "2026-03-31", "--out", str(out)
    )
    assert again.returncode == 2
    assert "approved" in again.stderr and "-r2" in again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_the_pdf_carries_facts_and_manifest_inputs(builds: dict[str, Path]) -> None:
    out = builds["tamper"]
    attachments = PdfReader(out / "report.pdf").attachments
    assert attachments["facts.json"] == [(out / "facts.json").read_bytes()]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert json.loads(attachments["manifest-inputs.json"][0]) == manifest["inputs"]
    xmp = PdfReader(out / "report.pdf").xmp_metadata
    assert xmp is not None
    raw = xmp.stream.get_data().decode("utf-8")
    assert 'pdfaid:part="3"' in raw and 'pdfaid:conformance="B"' in raw  # PDF/A-3b declared


def test_four_eyes_needs_two_distinct_reviewers(builds: dict[str, Path]) -> None:
    out = builds["four"]
    first = run("approve", str(out), "--reviewer", "Ada", "--role", "Compliance")
    assert first.returncode == 0, first.stderr
    assert "1 of 2" in first.stdout
    assert not (out / "report-approved.pdf").exists()
    same = run("approve", str(out), "--reviewer", "Ada", "--role", "Compliance")
    assert same.returncode == 2 and "already approved" in same.stderr
    assert not (out / "report-approved.pdf").exists()
    second = run("approve", str(out), "--reviewer", "Grace", "--role", "Research head")
    assert second.returncode == 0, second.stderr
    assert (out / "report-approved.pdf").is_file()
    state = json.loads((out / "approval.json").read_text(encoding="utf-8"))
    assert state["approvers"] == ["Ada", "Grace"] and state["status"] == "approved"


def test_rejection_and_tampering(builds: dict[str, Path]) -> None:
    out = builds["tamper"]
    no_comment = run("approve", str(out), "--reject", "--reviewer", "Ada")
    assert no_comment.returncode == 2 and "comment" in no_comment.stderr
    rejected = run(
        "approve", str(out), "--reject", "--reviewer", "Ada", "--comment", "Tone down the outlook"
    )
    assert rejected.returncode == 0, rejected.stderr
    state = json.loads((out / "approval.json").read_text(encoding="utf-8"))
    assert state["status"] == "rejected"
    assert state["decisions"][0]["comment"] == "Tone down the outlook"
    assert not (out / "report-approved.pdf").exists()

    html = out / "report.html"
    html.write_text(html.read_text(encoding="utf-8").replace("15.0%", "16.0%", 1), encoding="utf-8")
    refused = run("approve", str(out), "--reviewer", "Grace")
    assert refused.returncode == 2
    assert f"{html}: no longer matches the sha256 in manifest.json" in refused.stderr
    assert not (out / "report-approved.pdf").exists()


def test_the_log_records_every_event_and_detects_an_edited_line(builds: dict[str, Path]) -> None:
    # runs after the tests above (module order): builds, approvals and a rejection are logged
    log = builds["single"].parent / "reportgen-log.jsonl"
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    events = [r["event"] for r in records]
    assert events.count("build") == 3
    assert {"approved", "rejected"} <= set(events)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    ok = run("verify-log", str(log))
    assert ok.returncode == 0 and "chain intact" in ok.stdout

    lines = log.read_text(encoding="utf-8").splitlines()
    target = next(i for i, r in enumerate(records) if r["event"] == "rejected")
    lines[target] = lines[target].replace("Tone down the outlook", "Looks fine")
    edited = log.with_name("edited.jsonl")
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = run("verify-log", str(edited))
    assert broken.returncode == 1
    assert f"{edited}:{target + 1}: content does not match its hash" in broken.stdout

    # removing a line breaks the chain at the line after it
    lines = log.read_text(encoding="utf-8").splitlines()
    del lines[1]
    removed = log.with_name("removed.jsonl")
    removed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gap = run("verify-log", str(removed))
    assert gap.returncode == 1
    assert f"{removed}:2: chain broken" in gap.stdout


def test_rebuild_reproduces_the_draft_and_names_a_changed_input(
    tmp_path: Path, builds: dict[str, Path]
) -> None:
    out = tmp_path / "copy"
    shutil.copytree(builds["single"], out)
    same = run("rebuild", str(out))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "reproduced byte for byte" in same.stdout

    prices = out / "inputs" / "dataset" / "prices.csv"
    lines = prices.read_text(encoding="utf-8").splitlines()
    lines[-1] = lines[-1]  # unchanged row count; change one close in the window below
    idx = next(i for i, line in enumerate(lines) if line.startswith("2026-03-31,"))
    fields = lines[idx].split(",")
    header = lines[0].split(",")
    close = header.index("close")
    fields[close] = f"{float(fields[close]) * 1.01:.4f}"
    lines[idx] = ",".join(fields)
    prices.write_text("\n".join(lines) + "\n", encoding="utf-8")
    differs = run("rebuild", str(out))
    assert differs.returncode == 1
    assert "input dataset/prices.csv: differs" in differs.stdout
    assert "facts.json: rebuilt bytes differ" in differs.stdout
