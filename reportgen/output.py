"""Writing a build's files so that a reader never sees half of one.

Files are written into a staging folder beside ``--out`` and swapped in with
renames at the end: a build that fails or is killed leaves the previous
complete set of files (or, for a first build, no folder at all). A folder that
is not a reportgen output is never replaced, so a mistyped ``--out`` cannot
delete someone's work.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from reportgen.errors import UsageError

#: A folder holding this file was written by reportgen and may be replaced by a rebuild.
MARKER = "manifest.json"
_OLD_PREFIX = ".old-"


def _recover(out_dir: Path) -> None:
    """Finish a swap a killed build left half done: put the previous output back."""
    parent = out_dir.parent
    if out_dir.exists() or not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{out_dir.name}{_OLD_PREFIX}*"))
    if olds:
        os.rename(olds[-1], out_dir)


def check_replaceable(out_dir: Path) -> None:
    """Refuse (exit 2, before any work) to overwrite a folder reportgen did not write."""
    _recover(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UsageError(f"{out_dir}: expected an output folder, found a file")
        if any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
            raise UsageError(
                f"{out_dir}: not a reportgen output folder (no {MARKER}); "
                "refusing to replace it - choose an empty or new folder"
            )


def publish(out_dir: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (name -> bytes) as the complete new content of ``out_dir``."""
    check_replaceable(out_dir)
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
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
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}{_OLD_PREFIX}", dir=parent))
            os.rmdir(old)
            os.rename(out_dir, old)
            os.rename(staging, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
