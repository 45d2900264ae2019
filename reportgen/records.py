"""The append-only audit log: every build, approval and rejection, hash-chained.

Each line is a JSON object carrying ``prev``, the sha256 of the previous line's
bytes (64 zeros for the first), and ``hash``, the sha256 of its own content, so
editing any line (the last one included), removing or reordering lines breaks
the chain and :func:`verify_log` names the line.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOG_NAME = "reportgen-log.jsonl"
GENESIS = "0" * 64


def now_iso() -> str:
    """The time of a record: SOURCE_DATE_EPOCH when set (reproducible tests), else the clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _content_hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def append(records_dir: Path, event: dict[str, Any]) -> dict[str, Any]:
    """Append ``event`` (plus time, sequence number and chain hash) under an exclusive lock."""
    records_dir.mkdir(parents=True, exist_ok=True)
    path = records_dir / LOG_NAME
    with path.open("a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        lines = [line for line in fh.read().splitlines() if line.strip()]
        prev = _line_hash(lines[-1]) if lines else GENESIS
        record = {"seq": len(lines) + 1, "time": now_iso(), **event, "prev": prev}
        record["hash"] = _content_hash(record)
        fh.seek(0, os.SEEK_END)
        fh.write(json.dumps(record, sort_keys=True, ensure_ascii=False).encode() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    return record


def verify_log(path: Path) -> list[str]:
    """Problems with the chain, one per broken line (empty when intact)."""
    problems = []
    prev = GENESIS
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            problems.append(f"{path}:{number}: expected a record, found a blank line")
            continue
        try:
            record = json.loads(line)
        except ValueError:
            problems.append(f"{path}:{number}: expected a JSON record, found unreadable text")
            prev = _line_hash(line)
            continue
        if record.get("hash") != _content_hash(record):
            problems.append(
                f"{path}:{number}: content does not match its hash (the line was edited)"
            )
        if record.get("prev") != prev:
            problems.append(
                f"{path}:{number}: chain broken: expected prev {prev[:12]}..., found "
                f"{str(record.get('prev'))[:12]}... (this line or the one before was altered)"
            )
        if record.get("seq") != number:
            problems.append(f"{path}:{number}: expected seq {number}, found {record.get('seq')}")
        prev = _line_hash(line)
    return problems
