"""Benchmark: a cold `reportgen build` of the sample note, with its stage breakdown.

Not a test: it prints figures. Run with `.venv/bin/python bench/bench_note.py [--runs 5]`.
Each run is a fresh process (cold start included); medians are reported.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTGEN = Path(sys.executable).parent / "reportgen"
STAGE = re.compile(r"^\s+(\w+)\s+(\d+) ms$")


def one_build(out: Path) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(REPORTGEN), "-v", "build", "config/ai_etf_monthly.yaml", "--data", "data/sample",
         "--as-of", "2026-03-31", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    stages = {}
    for line in done.stderr.splitlines():
        m = STAGE.match(line)
        if m:
            stages[m.group(1)] = int(m.group(2)) / 1000
    return wall, stages


def import_time() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import reportgen.cli"], check=True)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return bare - (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    walls: list[float] = []
    stages: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            wall, st = one_build(Path(tmp) / f"out{i}")
            walls.append(wall)
            for k, v in st.items():
                stages.setdefault(k, []).append(v)
    print(f"cold build of the sample note, {args.runs} runs, medians:")
    print(f"  wall (incl. Python start-up)  {statistics.median(walls):6.2f} s")
    accounted = 0.0
    for k, v in stages.items():
        accounted += statistics.median(v)
        print(f"  {k:<28}  {statistics.median(v):6.2f} s")
    print(f"  start-up + imports (rest)     {statistics.median(walls) - accounted:6.2f} s")
    print(f"import reportgen.cli alone:     {import_time():6.2f} s")


if __name__ == "__main__":
    main()
