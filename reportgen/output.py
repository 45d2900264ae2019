"""Writing a build's files so that a reader never sees half of one.

Files are written into a staging folder beside ``--out`` and swapped in with
renames at the end: a build that fails or is killed leaves the previous
complete set of files (or, for a first build, no folder at all). A folder that
is not a reportgen output is never replaced, so a mistyped ``--out`` cannot
delete someone's work.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from reportgen.errors import UsageError

#: A folder holding this file was written by reportgen and may be replaced by a rebuild.
MARKER = "manifest.json"


def _old(out_dir: Path) -> Path:
    """Where the previous output waits during a swap: one fixed name, so there is never a choice."""
    return out_dir.parent / f".{out_dir.name}.old"


def _recover(out_dir: Path) -> None:
    """Finish what a killed build left: put the previous output back, or drop a stale copy."""
    old = _old(out_dir)
    if not old.exists():
        return
    if out_dir.exists():
        shutil.rmtree(old, ignore_errors=True)  # the swap had completed; only cleanup was lost
    else:
        os.rename(old, out_dir)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace one file so a reader sees the old bytes or the new, never a mix."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def is_reportgen_output(out_dir: Path) -> bool:
    """A folder whose manifest.json is a reportgen manifest (any other manifest.json is not)."""
    try:
        data = json.loads((out_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and isinstance(data.get("inputs"), dict)
        and isinstance(data.get("outputs"), dict)
        and str(data["inputs"].get("versions", {}).get("reportgen", "")) != ""
    )


def _approved(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # unreadable approval record: treat as approved, never overwrite
    return any(d.get("decision") == "approved" for d in data.get("decisions", []))


def check_replaceable(out_dir: Path) -> None:
    """Refuse (exit 2, before any work) to overwrite a folder reportgen did not write."""
    _recover(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UsageError(f"{out_dir}: expected an output folder, found a file")
        if (out_dir / "approval.json").is_file() and _approved(out_dir / "approval.json"):
            raise UsageError(
                f"{out_dir}: holds an approved note, which is never overwritten; build into a "
                f"new folder instead, e.g. {out_dir.with_name(out_dir.name + '-r2')}"
            )
        if any(out_dir.iterdir()) and not is_reportgen_output(out_dir):
            raise UsageError(
                f"{out_dir}: not a reportgen output folder (no {MARKER}); "
                "refusing to replace it - choose an empty or new folder"
            )


@contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """One publisher at a time in the folder holding the output (a lock on that folder
    itself, so nothing is left beside the output; the kernel releases it if killed)."""
    fd = os.open(out_dir.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove_stale_staging(out_dir: Path) -> None:
    """Staging folders of killed builds. Only called under the lock, when no other build
    into this folder can be writing one (staging is created under the same lock)."""
    for stale in out_dir.parent.glob(f".{out_dir.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)


def publish(out_dir: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (name -> bytes) as the complete new content of ``out_dir``."""
    check_replaceable(out_dir)
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(out_dir):
        check_replaceable(out_dir)  # again, now that no other build can change it
        _remove_stale_staging(out_dir)
        _publish_locked(out_dir, files)


def _publish_locked(out_dir: Path, files: Mapping[str, bytes]) -> None:
    parent = out_dir.parent
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.staging-", dir=parent))
    os.chmod(staging, 0o755)  # mkdtemp makes it private; a published folder is readable
    try:
        for name in sorted(files):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as fh:
                fh.write(files[name])
                fh.flush()
                os.fsync(fh.fileno())
        if out_dir.exists():
            old = _old(out_dir)
            os.rename(out_dir, old)
            try:
                os.rename(staging, out_dir)
            except OSError:
                os.rename(old, out_dir)  # put the previous output back before failing
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
