"""Regenerate the committed golden HTML of the sample note, deliberately.

    .venv/bin/python scripts/update_golden.py

runs the real build (the installed ``reportgen`` console script, the bundled
config and sample dataset) into a temporary folder and copies its
``report.html`` to ``tests/golden/``. Run it only after a change to the report
was intended, and review the diff of the golden file before committing it.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "config/ai_etf_monthly.yaml"
DATA = "data/sample"
AS_OF = "2026-03-31"
GOLDEN = ROOT / "tests" / "golden" / f"ai_etf_monthly-{AS_OF}.html"


def reportgen_exe() -> Path:
    return Path(sys.executable).parent / "reportgen"


def build_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SOURCE_DATE_EPOCH", None)
    env.update(TZ="UTC", PYTHONHASHSEED="0")
    return env


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="reportgen-golden-") as tmp:
        out = Path(tmp) / "out"
        cmd = [str(reportgen_exe()), "build", CONFIG, "--data", DATA, "--as-of", AS_OF]
        cmd += ["--out", str(out)]
        proc = subprocess.run(cmd, cwd=ROOT, env=build_env(), capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            print(f"build failed with exit status {proc.returncode}", file=sys.stderr)
            return 1
        new = (out / "report.html").read_text(encoding="utf-8")
        old = GOLDEN.read_text(encoding="utf-8") if GOLDEN.exists() else ""
        if new == old:
            print(f"{GOLDEN.relative_to(ROOT)} is up to date")
            return 0
        changed = sum(
            1
            for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="")
            if line[:1] in "+-" and line[:3] not in ("+++", "---")
        )
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "report.html", GOLDEN)
        print(f"wrote {GOLDEN.relative_to(ROOT)} ({changed} changed lines); review its diff")
    return 0


if __name__ == "__main__":
    sys.exit(main())
