"""Running the installed ``reportgen`` command in tests, the same way everywhere.

Every end-to-end test runs the real console script in a subprocess, from the project
root, in a clean and fixed environment: no ``SOURCE_DATE_EPOCH`` or ``LC_ALL`` leaking
in from the developer's shell, ``TZ=UTC`` and a fixed hash seed, so outputs compare
byte for byte across runs and machines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Seconds one command may take before the test fails (a build takes a few).
TIMEOUT = 300


def reportgen_exe() -> Path:
    """The console script installed beside the interpreter running the tests."""
    return Path(sys.executable).parent / "reportgen"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a test build runs in, plus ``extra`` (``SOURCE_DATE_EPOCH=...``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOURCE_DATE_EPOCH", "LC_ALL")}
    env.update(TZ="UTC", PYTHONHASHSEED="0")
    env.update(extra)
    return env


def run_reportgen(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """``reportgen ARGS`` to completion, output captured as text; never raises on failure."""
    return subprocess.run(
        [str(reportgen_exe()), *args],
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too): relative name -> bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
