"""Benchmarks: how long reportgen takes, where the time goes, and how much memory it needs.

Not a test: it prints figures (medians), to compare with bench/README.md. Run::

    .venv/bin/python bench/bench.py                  # everything (about 15 minutes)
    .venv/bin/python bench/bench.py --only note,warm # some parts
    .venv/bin/python bench/bench.py --sizes 100,1000 --formats parquet

Parts:

- ``note``: a cold ``reportgen build`` of the sample note (a fresh process each run,
  ``--no-cache``), with its stages (``-v``); "start-up and imports" is the wall time
  the stages do not account for.
- ``warm``: the same build again with nothing changed (served by the cache).
- ``batch``: factsheets of a generated dataset (``--items`` ETFs, 10 years) with
  ``--jobs 1`` and ``--jobs 2``, no cache; items per second and the time 500 would take.
- ``data``: load and compute (``load_dataset`` + ``compute_facts``) for ``--sizes``
  ETFs x 10 years, from CSV and from Parquet, each in a fresh process, with its peak
  memory (ru_maxrss). Datasets are generated once into ``--data-dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REPORTGEN = str(Path(PYTHON).parent / "reportgen")
STAGE = re.compile(r"^\s+(\w+)\s+(\d+) ms$")
NOTE = ["config/ai_etf_monthly.yaml", "--data", "data/sample", "--as-of", "2026-03-31"]
AS_OF = "2026-03-31"
DATA_DIR = Path(tempfile.gettempdir()) / "reportgen-bench"
#: sub-stages: shares of the stage printed before them, not added to the total
PARTS = {"charts": "document", "pdf_layout": "pdf", "pdf_write": "pdf"}

LOAD_AND_COMPUTE = """
import json, resource, sys, time
from datetime import date
from pathlib import Path
t0 = time.perf_counter()
from reportgen.dataset import load_dataset
from reportgen.metrics import compute_facts
t1 = time.perf_counter()
ds = load_dataset(Path(sys.argv[1]))
t2 = time.perf_counter()
facts = compute_facts(ds, date.fromisoformat(sys.argv[2]))
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "load": t2 - t1, "compute": t3 - t2,
                  "facts": len(facts),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    out["TZ"] = "UTC"
    return out


def timed(args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env(), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"failed: {' '.join(args)}\n{done.stderr}")
    return wall, done


def stages_of(stderr: str) -> dict[str, float]:
    out = {}
    for line in stderr.splitlines():
        m = STAGE.match(line)
        if m:
            out[m.group(1)] = int(m.group(2)) / 1000
    return out


def median_stages(runs: list[dict[str, float]]) -> dict[str, float]:
    names = list(dict.fromkeys(k for r in runs for k in r))
    return {k: statistics.median(r.get(k, 0.0) for r in runs) for k in names}


def bench_note(runs: int, tmp: Path) -> None:
    walls, stages = [], []
    for i in range(runs):
        wall, done = timed([REPORTGEN, "-v", "build", *NOTE, "--out", str(tmp / f"note{i}"),
                            "--no-cache"])  # fmt: skip
        walls.append(wall)
        stages.append(stages_of(done.stderr))
    bare = statistics.median(timed([PYTHON, "-c", "pass"])[0] for _ in range(5))
    wall = statistics.median(walls)
    st = median_stages(stages)
    accounted = sum(v for k, v in st.items() if k not in PARTS)
    print(f"\nCold build of the sample note ({runs} runs, medians)")
    print(f"  {'wall, end to end':<34}{wall:7.2f} s   (target 2.0 s)")
    print(f"  {'Python start-up':<34}{bare:7.2f} s")
    print(f"  {'CLI, set-up and exit (no stage)':<34}{wall - accounted - bare:7.2f} s")
    for k, v in st.items():
        label = f"  of which {k}" if k in PARTS else k
        print(f"  {label:<34}{v:7.2f} s")


def bench_warm(runs: int, tmp: Path) -> None:
    out = tmp / "warm" / "note"
    timed([REPORTGEN, "build", *NOTE, "--out", str(out)])  # fills the cache
    walls = []
    for _ in range(runs):
        wall, done = timed([REPORTGEN, "build", *NOTE, "--out", str(out)])
        assert "up to date" in done.stdout, done.stdout
        walls.append(wall)
    print(f"\nUnchanged rebuild of the note ({runs} runs, median)")
    print(f"  {'wall, end to end':<34}{statistics.median(walls):7.2f} s   (target 0.3 s)")


def generate(etfs: int, years: int, fmt: str, folder: Path) -> Path:
    """A generated dataset, made once and kept in ``folder`` for the next run."""
    target = folder / f"{etfs}x{years}-{fmt}"
    if not (target / "sources.yaml").is_file():
        tmp = folder / f".{target.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        script = str(ROOT / "scripts" / "make_large_dataset.py")
        args = [PYTHON, script, "--etfs", str(etfs), "--years", str(years), "--out", str(tmp)]
        subprocess.run([*args, "--format", fmt, "--as-of", AS_OF], check=True,
                       capture_output=True)  # fmt: skip
        tmp.rename(target)
    return target


def bench_batch(items: int, folder: Path, tmp: Path) -> None:
    data = generate(items, 10, "parquet", folder)
    config = "config/etf_factsheet.yaml"
    print(f"\nFactsheet batch, {items} ETFs x 10 years (generated), no cache")
    for jobs in (1, 2):
        out = tmp / f"batch-j{jobs}"
        args = [REPORTGEN, "-q", "batch", config, "--data", str(data), "--as-of", AS_OF]
        wall, _ = timed([*args, "--out", str(out), "--jobs", str(jobs), "--no-cache"])
        rate = items / wall
        print(f"  --jobs {jobs}: {wall:6.1f} s, {rate:5.2f} items/s, "
              f"500 items in about {500 / rate:5.0f} s   (target 45 s with --jobs 2)")  # fmt: skip


def bench_data(sizes: list[int], formats: list[str], folder: Path) -> None:
    print("\nLoad and compute, N ETFs x 10 years daily (fresh process each)")
    print(f"  {'ETFs':>6} {'format':<8}{'rows':>12}{'load':>9}{'compute':>9}{'total':>9}"
          f"{'peak':>10}")  # fmt: skip
    for n in sizes:
        for fmt in formats:
            data = generate(n, 10, fmt, folder)
            _, done = timed([PYTHON, "-c", LOAD_AND_COMPUTE, str(data), AS_OF])
            r = json.loads(done.stdout)
            rows = _rows(data)
            total = r["load"] + r["compute"]
            print(f"  {n:>6} {fmt:<8}{rows:>12,}{r['load']:>8.1f}s{r['compute']:>8.1f}s"
                  f"{total:>8.1f}s{r['peak_mib']:>7.0f} MiB")  # fmt: skip
    print("  (target for 5,000 ETFs from Parquet: under 20 s and 3 GiB)")


def _rows(data: Path) -> int:
    """Data rows of every file (Parquet metadata, or lines of CSV minus the header)."""
    total = 0
    for path in sorted(data.iterdir()):
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            total += pq.ParquetFile(path).metadata.num_rows
        elif path.suffix == ".csv":
            with path.open("rb") as fh:
                total += sum(1 for _ in fh) - 1
    return total


def machine() -> None:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    print(f"Machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="note,warm,batch,data",
                        help="parts to run, separated by commas")  # fmt: skip
    parser.add_argument("--runs", type=int, default=5, help="runs of each build (median)")
    parser.add_argument("--items", type=int, default=50, help="factsheets in the batch part")
    parser.add_argument("--sizes", default="100,1000,5000", help="ETF counts for the data part")
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR,
                        help="where generated datasets are kept between runs")  # fmt: skip
    args = parser.parse_args()
    parts = set(args.only.split(","))
    args.data_dir.mkdir(parents=True, exist_ok=True)
    machine()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if "note" in parts:
            bench_note(args.runs, tmp)
        if "warm" in parts:
            bench_warm(args.runs, tmp)
        if "batch" in parts:
            bench_batch(args.items, args.data_dir, tmp)
        if "data" in parts:
            sizes = [int(s) for s in args.sizes.split(",")]
            bench_data(sizes, args.formats.split(","), args.data_dir)


if __name__ == "__main__":
    main()
