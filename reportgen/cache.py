"""A content-addressed store of finished builds, so an unchanged report is never made twice.

Layout of a cache folder (by default ``.reportgen-cache`` beside the output folder)::

    blobs/ab/abcdef...      one output file's bytes, named by their sha256
    entries/12/12ab34....json
                            one build: {"files": {name: sha256}, "summary": [...],
                            "warnings": [...], "fact_count": n}, named by the build's key
    plans/ef/ef56....json   a batch's tickers and each one's key, named by the key of
                            the batch's whole inputs: an unchanged batch reads no data

A build's **key** is the sha256 of everything its bytes depend on and nothing else
(see :func:`key_of`): the hashes of the input files it reads (for a one-fund report,
of the dataset rows it reads, not whole files), the config, commentary, templates
and fonts, the package versions, reportgen's own code, the as-of date, the subject,
whether it is a draft, and ``SOURCE_DATE_EPOCH``. Equal keys mean equal outputs,
because builds are deterministic to the byte; so a hit is served as is.

Why blobs apart from entries: the ``inputs/`` copies, fonts and unchanged files
are shared between many builds (every factsheet of a batch, every month's note);
each is stored once.

Safety:

- Blobs and entries are written to a temporary name and renamed, so a reader (or a
  concurrent build) sees a complete file or none; two builds storing the same
  entry write the same bytes.
- A blob is checked against its name when read; an entry with a missing or damaged
  blob is a miss, and the build runs as if the cache were empty. A damaged cache
  can cost time, never correctness.
- Deleting the folder is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

#: Bumped when the layout or the key's recipe changes: old entries are then never hit.
CACHE_FORMAT = 1
#: Every build writes these; an entry without one of them is damaged.
REQUIRED = frozenset(
    {"compliance.json", "facts.json", "manifest.json", "report.html", "report.pdf"}
)
_HEX = re.compile(r"[0-9a-f]{64}")
#: The default cache folder's name, created beside the output folder.
DEFAULT_NAME = ".reportgen-cache"


def default_cache_dir(out_dir: Path) -> Path:
    """``OUT/../.reportgen-cache``: in the output root, shared by the builds made there."""
    return out_dir.resolve().parent / DEFAULT_NAME


@cache
def code_digest() -> str:
    """sha256 of every file of the reportgen package (code, the wording lexicon, the chart
    style, fonts): a change to any of them (also in an editable install, where the
    version number stays) is a new key."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in package_files():
        h.update(path.relative_to(package).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def package_files() -> list[Path]:
    """Every file of the installed reportgen package but compiled bytecode, sorted."""
    package = Path(__file__).resolve().parent
    return sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


@cache
def tool_versions() -> dict[str, str]:
    """Programs outside Python whose output reaches a build: pdftotext reads the PDF's
    text for the compliance checks."""
    import shutil
    import subprocess

    exe = shutil.which("pdftotext")
    if exe is None:
        return {"pdftotext": "not installed"}
    try:
        done = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return {"pdftotext": "unknown"}
    text = (done.stderr or done.stdout).splitlines()
    return {"pdftotext": text[0].strip() if text else "unknown"}


def key_of(material: Mapping[str, Any]) -> str:
    """The key of a build whose output depends on exactly ``material`` (JSON-able)."""
    body = {
        "cache_format": CACHE_FORMAT,
        "code": code_digest(),
        "tools": tool_versions(),
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH") or None,
        **material,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Entry:
    """A build to store: its output files and what the terminal showed for it."""

    files: dict[str, bytes]
    summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fact_count: int = 0


@dataclass
class Found:
    """A stored build, its files known by hash (read with :meth:`BuildCache.files`)."""

    digests: dict[str, str]
    summary: list[str]
    warnings: list[str]
    fact_count: int


class BuildCache:
    """The cache folder: look builds up by key, store new ones."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _entry_path(self, key: str) -> Path:
        return self.root / "entries" / key[:2] / f"{key}.json"

    def _blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / digest[:2] / digest

    def lookup(self, key: str) -> Found | None:
        """The stored build with this key, without reading its files; None on a miss."""
        try:
            data = json.loads(self._entry_path(key).read_text(encoding="utf-8"))
            digests = {str(k): str(v) for k, v in data["files"].items()}
            if not set(digests) >= REQUIRED or not all(map(_HEX.fullmatch, digests.values())):
                return None  # damaged: build again
            return Found(
                digests,
                [str(x) for x in data["summary"]],
                [str(x) for x in data["warnings"]],
                int(data["fact_count"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def files(self, found: Found) -> dict[str, bytes] | None:
        """The build's files, each checked against its hash; None if one is missing or
        damaged (then build again)."""
        files = {}
        for name, digest in found.digests.items():
            blob = self._blob_path(digest)
            try:
                data = blob.read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != digest:
                with contextlib.suppress(OSError):
                    blob.unlink()  # damaged: the next put writes it again
                return None
            files[name] = data
        try:  # the entry must describe one whole build, as its own manifest lists it
            listed = json.loads(files["manifest.json"])["outputs"]
        except (ValueError, KeyError, TypeError):
            return None
        if listed != {k: v for k, v in found.digests.items() if k != "manifest.json"}:
            return None
        return files

    def _plan_path(self, request: str) -> Path:
        return self.root / "plans" / request[:2] / f"{request}.json"

    def read_plan(self, request: str) -> dict[str, Any] | None:
        """A batch's plan (its tickers and each one's key) stored under the request's key."""
        try:
            data = json.loads(self._plan_path(request).read_text(encoding="utf-8"))
            tickers = [str(t) for t in data["tickers"]]
            keys = {str(k): str(v) for k, v in data["keys"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if set(keys) != set(tickers):
            return None
        return {"tickers": tickers, "keys": keys}

    def write_plan(self, request: str, plan: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            _write_new(self._plan_path(request), (json.dumps(plan, sort_keys=True) + "\n").encode())

    def put(self, key: str, entry: Entry) -> None:
        """Store a finished build. Failing to store (a full disk) only costs the next build."""
        try:
            digests = {}
            for name in sorted(entry.files):
                data = entry.files[name]
                digest = hashlib.sha256(data).hexdigest()
                digests[name] = digest
                blob = self._blob_path(digest)
                if not _holds(blob, digest):
                    _write_new(blob, data)
            body = {
                "files": digests,
                "summary": entry.summary,
                "warnings": entry.warnings,
                "fact_count": entry.fact_count,
            }
            text = json.dumps(body, sort_keys=True, indent=1) + "\n"
            _write_new(self._entry_path(key), text.encode())
        except OSError:
            return


def _holds(blob: Path, digest: str) -> bool:
    """Whether a stored blob is there and intact (a crash may have left a damaged one)."""
    try:
        return hashlib.sha256(blob.read_bytes()).hexdigest() == digest
    except OSError:
        return False


def _write_new(path: Path, data: bytes) -> None:
    """Write a file under a temporary name and rename it into place (readers see all or none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def folder_matches(out_dir: Path, digests: Mapping[str, str]) -> bool:
    """Whether ``out_dir`` holds exactly these files with these hashes (and nothing else),
    so an unchanged build need not touch it."""
    if not out_dir.is_dir():
        return False
    present = {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file()}
    if present != set(digests):
        return False
    for name, digest in digests.items():
        h = hashlib.sha256()
        try:
            with (out_dir / name).open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except OSError:
            return False  # unreadable: publish again (which reports a real problem)
        if h.hexdigest() != digest:
            return False
    return True
