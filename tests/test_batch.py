"""``reportgen batch``: one factsheet per ETF, locally or on a real Dask cluster.

The sample's whole universe is built once (two worker processes) and checked folder by
folder against what a single build writes; the Dask executor is run on a LocalCluster
on loopback with two worker processes, and its folders compared byte for byte with the
local ones. Hashes are recomputed here with hashlib, independently of reportgen.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from rich.console import Console

from reportgen import batch
from reportgen import build as build_module
from reportgen.batch import (
    BATCH_MANIFEST,
    BatchResult,
    ItemResult,
    plan_items,
    print_summary,
    run_batch,
)
from reportgen.config import load_config
from reportgen.dataset import load_dataset
from reportgen.errors import InputError, UsageError
from reportgen.records import LOG_NAME, verify_log

ROOT = Path(__file__).resolve().parent.parent
FACTSHEET = ROOT / "config" / "etf_factsheet.yaml"
NOTE = ROOT / "config" / "ai_etf_monthly.yaml"
SAMPLE = ROOT / "data" / "sample"
AS_OF = date(2026, 3, 31)
SAMPLE_ETFS = sorted(
    line.split(",")[0]
    for line in (SAMPLE / "instruments.csv").read_text(encoding="utf-8").splitlines()[1:]
    if line.split(",")[2] == "etf"
)
ITEM_FILES = {"compliance.json", "facts.json", "manifest.json", "report.html", "report.pdf"}
SAMPLE_INDEXES = sorted(
    line.split(",")[0]
    for line in (SAMPLE / "instruments.csv").read_text(encoding="utf-8").splitlines()[1:]
    if line.split(",")[2] == "index"
)
DASK_ONLY = ["BCLT", "NWAI", "WMCC"]  # a benchmark ETF, a theme ETF with and one without holdings


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sample_batch(tmp_path_factory: pytest.TempPathFactory) -> BatchResult:
    out = tmp_path_factory.mktemp("batch") / "factsheets"
    return run_batch(FACTSHEET, SAMPLE, AS_OF, out, jobs=2, progress=False)


# --------------------------------------------------------------------------- the local batch


def test_one_folder_per_etf_of_the_universe_and_nothing_failed(sample_batch: BatchResult) -> None:
    out = sample_batch.out_dir
    assert sample_batch.exit_code == 0
    assert [i.ticker for i in sample_batch.items] == SAMPLE_ETFS
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == SAMPLE_ETFS
    assert {p.name for p in out.iterdir() if p.is_file()} == {BATCH_MANIFEST, LOG_NAME}
    for t in SAMPLE_ETFS:
        top = {p.name for p in (out / t).iterdir()}
        assert top == ITEM_FILES | {"inputs"}, t
        compliance = json.loads((out / t / "compliance.json").read_text(encoding="utf-8"))
        assert compliance["summary"]["blocking"] == 0, compliance["findings"]
        pages = len(PdfReader(io.BytesIO((out / t / "report.pdf").read_bytes())).pages)
        assert 1 <= pages <= 2, t
        mf = json.loads((out / t / "manifest.json").read_text(encoding="utf-8"))
        assert mf["inputs"]["subject"] == t
        on_disk = folder_hashes(out / t)
        assert mf["outputs"] == {k: v for k, v in on_disk.items() if k != "manifest.json"}
        # the fund keeps the rows it read: its own and the two indexes', nothing else
        stored = out / t / "inputs" / "dataset"
        for name in ("prices.csv", "flows.csv", "aum.csv", "spreads.csv", "holdings.csv"):
            assert mf["inputs"]["files"][f"dataset/{name}"] == sha256(stored / name)
            keep = {t, *SAMPLE_INDEXES} if name == "prices.csv" else {t}
            want = sample_rows(name, keep)
            assert csv_rows(stored / name) == want, (t, name)
            assert mf["inputs"]["rows"][name.removesuffix(".csv")]["rows"] == len(want)
        assert mf["inputs"]["files"]["dataset/sources.yaml"] == sha256(SAMPLE / "sources.yaml")


def csv_rows(path: Path) -> list[tuple[Any, ...]]:
    """A CSV file's rows, numbers as floats, sorted: two spellings of one value compare equal."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = []
        for row in reader:
            cells = []
            for name in sorted(row):
                value = row[name]
                try:
                    cells.append((name, float(value)))
                except ValueError:
                    cells.append((name, value))
            rows.append(tuple(cells))
    return sorted(rows)


def sample_rows(name: str, tickers: set[str]) -> list[tuple[Any, ...]]:
    """The sample file's rows of these instruments up to the as-of date (none later is
    read), read with the csv module alone."""
    column, dated = ("fund", "as_of") if name == "holdings.csv" else ("ticker", "date")
    return [
        r
        for r in csv_rows(SAMPLE / name)
        if dict(r)[column] in tickers
        and (name == "instruments.csv" or str(dict(r)[dated]) <= AS_OF.isoformat())
    ]


def test_each_worker_loads_the_dataset_once(sample_batch: BatchResult) -> None:
    workers = {r.worker for r in sample_batch.raw}
    assert 1 <= len(workers) <= 2 < len(sample_batch.raw)
    assert all(r.prepared == 1 for r in sample_batch.raw)  # the first load of that process
    assert f":{__import__('os').getpid()}" not in "".join(workers)  # not this process


def test_an_item_is_exactly_a_single_build_of_that_fund(sample_batch: BatchResult) -> None:
    single = build_module.make_files(FACTSHEET, SAMPLE, AS_OF, subject="NWAI")
    folder = sample_batch.out_dir / "NWAI"
    assert folder_hashes(folder) == {
        name: hashlib.sha256(data).hexdigest() for name, data in single.files.items()
    }


def test_the_batch_manifest_hashes_inputs_and_every_item(sample_batch: BatchResult) -> None:
    out = sample_batch.out_dir
    mf = json.loads((out / BATCH_MANIFEST).read_text(encoding="utf-8"))
    assert (mf["report"], mf["as_of"], mf["format"]) == ("etf_factsheet", "2026-03-31", 1)
    for path in sorted(SAMPLE.iterdir()):
        assert mf["inputs"]["files"][f"dataset/{path.name}"] == sha256(path)
    assert mf["inputs"]["files"]["config/etf_factsheet.yaml"] == sha256(FACTSHEET)
    assert mf["inputs"]["files"]["config/factsheet/risk.md"] == sha256(
        ROOT / "config" / "factsheet" / "risk.md"
    )
    assert mf["inputs"]["versions"]["reportgen"]
    assert "subject" not in mf["inputs"]
    assert mf["summary"] == {"items": 12, "ok": 12, "blocked": 0, "failed": 0}
    assert list(mf["items"]) == SAMPLE_ETFS
    for t, item in mf["items"].items():
        assert item["status"] == "ok" and item["reason"] is None
        assert item["outputs"] == folder_hashes(out / t)
    # nothing about where or how it ran: a rerun elsewhere writes the same manifest
    text = (out / BATCH_MANIFEST).read_text(encoding="utf-8")
    for word in ("seconds", "worker", str(out), "jobs"):
        assert word not in text


def test_the_audit_log_records_each_item_in_plan_order(sample_batch: BatchResult) -> None:
    log = sample_batch.out_dir / LOG_NAME
    assert verify_log(log) == []
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [e["out"] for e in events[:-1]] == SAMPLE_ETFS
    assert {e["event"] for e in events[:-1]} == {"build"}
    assert events[-1]["event"] == "batch" and events[-1]["items"] == 12
    nwai = next(e for e in events if e.get("subject") == "NWAI")
    assert nwai["draft_sha256"] == sha256(sample_batch.out_dir / "NWAI" / "report.pdf")


def test_an_item_folder_checks_and_rebuilds_like_a_single_build(sample_batch: BatchResult) -> None:
    from reportgen.approval import rebuild
    from reportgen.compliance import blocking_unwaived

    folder = sample_batch.out_dir / "WMCC"
    assert blocking_unwaived(folder) == []
    assert rebuild(folder) == []


# --------------------------------------------------------------------------- Dask


def test_dask_outputs_are_byte_identical_to_the_local_executor(
    sample_batch: BatchResult, tmp_path: Path
) -> None:
    import distributed  # the dask extra: installed by bash scripts/setup.sh --dev

    out = tmp_path / "dask"
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        result = run_batch(
            FACTSHEET,
            SAMPLE,
            AS_OF,
            out,
            only=DASK_ONLY,
            executor="dask",
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    assert result.exit_code == 0
    assert [i.status for i in result.items] == ["ok"] * 3
    for t in DASK_ONLY:
        assert folder_hashes(out / t) == folder_hashes(sample_batch.out_dir / t), t
    assert all(r.prepared == 1 for r in result.raw)
    mf = json.loads((out / BATCH_MANIFEST).read_text(encoding="utf-8"))
    local = json.loads((sample_batch.out_dir / BATCH_MANIFEST).read_text(encoding="utf-8"))
    assert mf["inputs"] == local["inputs"]
    assert mf["items"] == {t: local["items"][t] for t in DASK_ONLY}


def test_without_a_scheduler_a_local_cluster_is_started(
    sample_batch: BatchResult, tmp_path: Path
) -> None:
    out = tmp_path / "dask-local"
    result = run_batch(
        FACTSHEET, SAMPLE, AS_OF, out, only=["HLTM"], executor="dask", jobs=1, progress=False
    )
    assert result.exit_code == 0
    assert folder_hashes(out / "HLTM") == folder_hashes(sample_batch.out_dir / "HLTM")


def test_dask_without_the_extra_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    monkeypatch.delitem(sys.modules, "reportgen.batch_dask", raising=False)
    with pytest.raises(UsageError, match=r"pip install 'reportgen\[dask\]'"):
        run_batch(FACTSHEET, SAMPLE, AS_OF, tmp_path / "out", executor="dask", progress=False)
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reportgen import batch_dask

    monkeypatch.setattr(batch_dask, "CONNECT_TIMEOUT", "2s")
    with pytest.raises(UsageError, match="cannot connect to a Dask scheduler"):
        run_batch(
            FACTSHEET,
            SAMPLE,
            AS_OF,
            tmp_path / "out",
            only=["NWAI"],
            executor="dask",
            scheduler="tcp://127.0.0.1:9",
            progress=False,
        )
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- failures


def _broken_config(tmp_path: Path) -> Path:
    """The factsheet with a commentary line that needs holdings, unguarded: a config bug
    that breaks the funds without holdings and no other."""
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder)
    flows = folder / "factsheet" / "flows.md"
    flows.write_text(
        flows.read_text(encoding="utf-8")
        + "\nThe ten largest holdings weigh {{ fact('etf.@fund.top10_weight') }}.\n",
        encoding="utf-8",
    )
    return folder / "etf_factsheet.yaml"


def test_a_broken_item_does_not_stop_the_others_and_exits_1(tmp_path: Path) -> None:
    config = _broken_config(tmp_path)
    out = tmp_path / "out"
    stream = io.StringIO()
    console = Console(file=stream, width=120, force_terminal=False)
    result = run_batch(
        config, SAMPLE, AS_OF, out, only=["NWAI", "WMCC", "NWCL"], jobs=2, console=console
    )
    assert result.exit_code == 1
    status = {i.ticker: i.status for i in result.items}
    assert status == {"NWAI": "ok", "WMCC": "failed", "NWCL": "ok"}
    failed = next(i for i in result.items if i.ticker == "WMCC")
    assert "unknown fact id 'etf.@fund.top10_weight'" in (failed.reason or "")
    assert "factsheet/flows.md" in (failed.reason or "")
    assert not (out / "WMCC").exists()
    assert (out / "NWAI" / "report.pdf").is_file() and (out / "NWCL" / "report.pdf").is_file()
    mf = json.loads((out / BATCH_MANIFEST).read_text(encoding="utf-8"))
    assert mf["items"]["WMCC"]["status"] == "failed"
    assert "unknown fact id" in mf["items"]["WMCC"]["reason"]
    assert mf["summary"]["failed"] == 1
    print_summary(result, console)
    shown = stream.getvalue()
    assert "failed WMCC: " in shown  # said as it happened, above the progress bar
    assert "items/s" in shown and "3/3" in shown
    assert "2 ok, 0 blocked by compliance findings, 1 failed" in " ".join(shown.split())


def test_an_internal_error_fails_its_item_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = build_module.make_files

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if kwargs["prepared"].subject == "HLRA":
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "make_files", flaky)
    result = run_batch(
        FACTSHEET, SAMPLE, AS_OF, tmp_path / "out", only=["HLRA", "HLTM"], jobs=1, progress=False
    )
    assert [(i.ticker, i.status, i.reason) for i in result.items] == [
        ("HLRA", "failed", "internal error: RuntimeError: disk on fire"),
        ("HLTM", "ok", None),
    ]
    assert result.exit_code == 1


def test_a_worker_with_other_inputs_or_versions_fails_its_item(
    sample_batch: BatchResult, tmp_path: Path
) -> None:
    spec = batch.BatchSpec(FACTSHEET, SAMPLE, AS_OF)
    prepared = build_module.prepare(FACTSHEET, SAMPLE, AS_OF)
    good = batch.build_item(spec, "HLTM")
    plan = batch.Plan(["HLTM"], {"HLTM": good.key})
    records = tmp_path / "records"
    outcome = batch._finish(tmp_path, replace(good, key="0" * 64), prepared, plan, None, records)
    assert outcome.status == "failed"
    assert outcome.reason == (
        "the worker read other inputs (data rows, config, templates or reportgen's code)"
    )
    assert good.files is not None
    mf = json.loads(good.files["manifest.json"])
    mf["inputs"]["versions"]["weasyprint"] = "0.1"
    files = {**good.files, "manifest.json": json.dumps(mf).encode()}
    other = replace(good, files=files, key="1" * 64)
    outcome = batch._finish(tmp_path, other, prepared, plan, None, records)
    assert outcome.reason and outcome.reason.startswith(
        "the worker runs other package versions: weasyprint 0.1 (here "
    )
    assert not (tmp_path / "HLTM").exists()
    outcome = batch._finish(tmp_path, good, prepared, plan, None, records)
    assert outcome.status == "ok" and (tmp_path / "HLTM" / "report.pdf").is_file()


def test_results_are_written_in_plan_order_whatever_order_they_finish() -> None:
    finished = [ItemResult(t, None, error="x") for t in ("C", "A", "D", "B")]
    assert [r.ticker for r in batch._in_plan_order(finished, ["A", "B", "C", "D"])] == [
        "A",
        "B",
        "C",
        "D",
    ]


def test_work_is_handed_out_at_most_a_window_ahead_of_the_first_unfinished_item() -> None:
    window = batch.Window(list("ABCDEFGHIJ"), 3)
    assert window.take() == [(0, "A"), (1, "B"), (2, "C")]
    window.done(1)
    assert window.take() == []  # A is still running: D would be 3 ahead of it
    window.done(0)
    assert window.take() == [(3, "D"), (4, "E")]
    for position in (2, 3, 4):
        window.done(position)
    assert [p for p, _ in window.take()] == [5, 6, 7]


# --------------------------------------------------------------------------- usage


def test_planning(tmp_path: Path) -> None:
    config, dataset = load_config(FACTSHEET), load_dataset(SAMPLE)
    assert plan_items(config, dataset, AS_OF) == SAMPLE_ETFS
    assert plan_items(config, dataset, AS_OF, ["NWAI", "BCAI", "NWAI"]) == ["NWAI", "BCAI"]
    assert "LKNG" not in plan_items(config, dataset, date(2025, 1, 31))  # launched June 2025
    with pytest.raises(UsageError, match=r"--only: not an ETF of the universe .*: MERAI, XX"):
        plan_items(config, dataset, AS_OF, ["NWAI", "MERAI", "XX"])
    with pytest.raises(UsageError, match="no fund selector with subject: true"):
        plan_items(load_config(NOTE), dataset, AS_OF)


def test_bad_usage_stops_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(UsageError, match="--scheduler: only with --executor dask"):
        run_batch(FACTSHEET, SAMPLE, AS_OF, out, scheduler="tcp://127.0.0.1:1", progress=False)
    with pytest.raises(UsageError, match="--jobs"):
        run_batch(FACTSHEET, SAMPLE, AS_OF, out, jobs=0, progress=False)
    bad = tmp_path / "bad"
    shutil.copytree(SAMPLE, bad)
    (bad / "prices.csv").write_text("date,ticker,close,volume\n2026-01-02,NWAI,x,1\n")
    with pytest.raises(InputError):
        run_batch(FACTSHEET, bad, AS_OF, out, progress=False)
    assert not out.exists()


def test_an_approved_item_folder_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "NWAI").mkdir(parents=True)
    approval = {"decisions": [{"decision": "approved"}]}
    (out / "NWAI" / "approval.json").write_text(json.dumps(approval), encoding="utf-8")
    with pytest.raises(UsageError, match="holds an approved note"):
        run_batch(FACTSHEET, SAMPLE, AS_OF, out, only=["BCAI", "NWAI"], progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["NWAI"]


def test_the_cli_batch_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from reportgen.cli import cli

    config = _broken_config(tmp_path)
    args = ["batch", str(config), "--data", str(SAMPLE), "--as-of", "2026-03-31"]
    args += ["--out", str(tmp_path / "out"), "--only", "NWAI,WMCC", "--jobs", "1"]
    result = CliRunner().invoke(cli, args, obj={})
    assert result.exit_code == 1, result.output
    assert (tmp_path / "out" / "NWAI" / "report.pdf").is_file()
    usage = CliRunner().invoke(cli, [*args[:8], "--only", "NOPE"], obj={})
    assert usage.exit_code == 2 and "not an ETF of the universe" in usage.output
