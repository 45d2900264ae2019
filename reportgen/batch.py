"""One report per fund of the universe, built in parallel: ``reportgen batch``.

A config whose ``funds:`` holds a ``subject: true`` selector describes one fund (the
ETF factsheet). A batch builds it for every ETF of the universe at the as-of date (or
the ``--only`` ones) into ``OUT/<ticker>/``, each folder exactly what ``reportgen
build`` would write for that fund (same files, same compliance checks, published
atomically, logged in the audit log), plus ``OUT/batch-manifest.json``.

How the work is spread:

- The parent loads and validates the config and the dataset once, plans the items and
  hashes the inputs; bad input stops the batch before anything is written (exit 2).
- Workers build items in memory with :func:`reportgen.build.make_files` and return the
  files' bytes. Each worker process loads, validates and computes the dataset's facts
  once (:func:`reportgen.build.prepare`, cached per process), not once per item.
  ``executor="local"`` uses a process pool on this machine; ``executor="dask"`` a Dask
  cluster (:mod:`reportgen.batch_dask`).
- The ``inputs/`` copies are the same in every folder, so workers return their hashes,
  not their bytes; the parent checks them (and the whole inputs part of the item's
  manifest: file hashes and software versions) against its own, then writes the item.
  A worker that read other data or runs other package versions fails its items.
- The parent writes items in plan order, whatever order they finish in, so the
  folders, the audit log and the batch manifest do not depend on scheduling.

An item that fails (its reason is kept) does not stop the others; the batch then ends
with exit status 1, as it does when an item has a blocking compliance finding.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from reportgen import __version__, manifest, records
from reportgen.errors import EXIT_NEEDS_ATTENTION, EXIT_OK, ReportgenError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from reportgen.build import Prepared
    from reportgen.cache import BuildCache
    from reportgen.config import LoadedConfig
    from reportgen.dataset import Dataset

BATCH_MANIFEST = "batch-manifest.json"
_FORMAT_VERSION = 1
#: Item folders are named by ticker; a ticker that could not be a folder name is refused.
_UNSAFE = ("/", "\\", "\0")
#: At most this many items are listed one per row in the closing summary.
SUMMARY_ROWS = 40

Status = Literal["ok", "blocked", "failed"]
Executor = Literal["local", "dask"]


# --------------------------------------------------------------------------- planning


def check_one_fund_config(config: LoadedConfig) -> None:
    """Refuse (exit 2) a config that is not about one fund: a batch would have no items."""
    if not config.needs_subject:
        raise UsageError(
            f"{config.path}: a batch builds one report per fund, but this config has no fund "
            "selector with subject: true (see docs/batch.md); build it with `reportgen build`"
        )


def plan_items(
    config: LoadedConfig, dataset: Dataset, as_of: date, only: Sequence[str] | None = None
) -> list[str]:
    """The tickers a batch builds: every ETF of the universe at ``as_of`` (sorted), or the
    ``only`` ones, in the order given. Refuses (exit 2) a config about no single fund and
    an ``only`` ticker outside the universe."""
    from reportgen.metrics_base import universe

    check_one_fund_config(config)
    etfs = universe(dataset, as_of)
    if only is None:
        tickers = etfs
    else:
        tickers = list(dict.fromkeys(t.strip() for t in only if t.strip()))
        if not tickers:
            raise UsageError("--only: expected tickers separated by commas, found none")
        unknown = [t for t in tickers if t not in etfs]
        if unknown:
            raise UsageError(f"--only: not an ETF of the universe at {as_of}: {', '.join(unknown)}")
    for t in tickers:
        if _unsafe(t):
            raise UsageError(f"ticker {t!r} cannot name an output folder")
    return tickers


def _unsafe(ticker: str) -> bool:
    return any(c in ticker for c in _UNSAFE) or ticker in ("", ".", "..")


# --------------------------------------------------------------------------- one item


@dataclass(frozen=True)
class BatchSpec:
    """What a worker needs to build items: absolute paths valid where it runs, and the date."""

    config: Path
    data: Path
    as_of: date


@dataclass(frozen=True)
class ItemResult:
    """One fund's build as a worker returns it (picklable)."""

    ticker: str
    #: the output files; None when the build failed
    files: dict[str, bytes] | None
    #: the cache key of what the worker built from (its inputs, rows, versions, code)
    key: str = ""
    #: the build's compliance summary and warnings, as ``reportgen build`` prints them
    summary: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: why the build failed (one line per problem), None when it did not
    error: str | None = None
    seconds: float = 0.0
    #: where it ran ("host:pid") and how often that process loaded the inputs so far
    worker: str = ""
    prepared: int = 0


#: Per worker process: the inputs prepared for one batch, and how often it prepared.
_PREPARED: dict[BatchSpec, Prepared] = {}
_PREPARE_COUNT = 0


def prepared_for(spec: BatchSpec) -> Prepared:
    """Load, validate and compute once per process and batch (kept for the next items)."""
    global _PREPARE_COUNT
    found = _PREPARED.get(spec)
    if found is None:
        from reportgen.build import Prepared
        from reportgen.config import load_config

        # each item computes its own fund's facts from its rows: none for the universe here
        found = Prepared(load_config(spec.config), spec.data, spec.as_of)
        found.dataset  # noqa: B018 - read and validated once per process
        _PREPARED.clear()  # one batch at a time: never hold two datasets
        _PREPARED[spec] = found
        _PREPARE_COUNT += 1
    return found


def keep_prepared(spec: BatchSpec, prepared: Prepared) -> None:
    """Use inputs this process has already prepared for ``spec`` (counts as its one load)."""
    global _PREPARE_COUNT
    _PREPARED.clear()
    _PREPARED[spec] = prepared
    _PREPARE_COUNT += 1


def init_worker(spec: BatchSpec) -> None:
    """Process-pool initializer: prepare the inputs before the first item arrives.

    A failure here is not raised (it would break the whole pool): the items retry and
    report it, each with its reason.
    """
    try:
        prepared_for(spec)
    except Exception:
        return


def available_cpus() -> int:
    """The CPUs this process may run on (the default number of jobs)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"


def error_text(exc: BaseException) -> str:
    """An item's failure in one line per problem, as the user would see it."""
    if isinstance(exc, ReportgenError):
        return "\n".join(exc.lines())
    return f"internal error: {type(exc).__name__}: {exc}"


def build_item(spec: BatchSpec, ticker: str) -> ItemResult:
    """Build one fund's report in memory; never raises (a failure is the result's error)."""
    start = time.perf_counter()
    try:
        from reportgen.build import build_key, make_files

        prepared = prepared_for(spec).for_subject(ticker)
        result = make_files(spec.config, spec.data, spec.as_of, prepared=prepared)
        key = build_key(prepared, draft=True) or ""
    except Exception as exc:  # one item's failure must never stop the others
        return ItemResult(
            ticker,
            None,
            error=error_text(exc),
            seconds=time.perf_counter() - start,
            worker=_worker_name(),
            prepared=_PREPARE_COUNT,
        )
    return ItemResult(
        ticker,
        result.files,
        key,
        tuple(result.summary),
        tuple(result.warnings),
        seconds=time.perf_counter() - start,
        worker=_worker_name(),
        prepared=_PREPARE_COUNT,
    )


# --------------------------------------------------------------------------- executors


def _pool_context() -> Any:
    """Worker processes forked from a clean server that imported reportgen once.

    Not ``fork``: the parent runs threads (the progress display), and forking a threaded
    process can deadlock. ``forkserver`` starts each worker as a copy of a process that
    has done nothing but import, which is also much faster than ``spawn``.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["reportgen.batch", "reportgen.build", "reportgen.compose"])
        return ctx
    return multiprocessing.get_context("spawn")


def submission_window(workers: int) -> int:
    """How far ahead of the first unfinished item work may be handed out: enough to keep
    ``workers`` busy, and a bound on the finished items waiting to be written in order."""
    return max(8, 4 * workers)


class Window:
    """Hands out the plan's items at most ``size`` positions ahead of the first unfinished
    one: enough to keep the workers busy, and a bound on the finished items that wait to
    be written in plan order (a slow first item cannot make every other one wait in
    memory)."""

    def __init__(self, tickers: list[str], size: int) -> None:
        self.tickers = tickers
        self.size = size
        self.unfinished: set[int] = set()
        self.next = 0

    def take(self) -> list[tuple[int, str]]:
        """The items that may be submitted now (each is unfinished until :meth:`done`)."""
        out = []
        while self.next < len(self.tickers) and self.next < (
            min(self.unfinished, default=self.next) + self.size
        ):
            out.append((self.next, self.tickers[self.next]))
            self.unfinished.add(self.next)
            self.next += 1
        return out

    def done(self, position: int) -> None:
        self.unfinished.discard(position)


def run_local(spec: BatchSpec, tickers: list[str], jobs: int) -> Generator[ItemResult, None, None]:
    """Items on this machine: in this process for one job, else a pool of ``jobs`` processes.

    Results come in the order items finish.
    """
    if jobs <= 1 or len(tickers) <= 1:
        for t in tickers:
            yield build_item(spec, t)
        return
    workers = min(jobs, len(tickers))
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_pool_context(),
        initializer=init_worker,
        initargs=(spec,),
    ) as pool:
        window = Window(tickers, submission_window(workers))
        pending: dict[Future[ItemResult], tuple[int, str]] = {}
        try:
            while True:
                for item in window.take():
                    pending[pool.submit(build_item, spec, item[1])] = item
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    position, ticker = pending.pop(future)
                    window.done(position)
                    try:
                        result = future.result()
                    except Exception as exc:  # the worker process died (killed, out of memory)
                        result = ItemResult(ticker, None, error=f"worker failed: {error_text(exc)}")
                    yield result
        finally:
            for future in pending:
                future.cancel()


# --------------------------------------------------------------------------- the batch


#: How an item's folder came about: built now, taken from the cache, or already in place.
How = Literal["built", "cached", "unchanged"]


@dataclass(frozen=True)
class ItemOutcome:
    """What happened to one fund, as the summary and the batch manifest tell it."""

    ticker: str
    status: Status
    reason: str | None = None
    seconds: float = 0.0
    blocking: int = 0
    review: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    how: How = "built"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "compliance": {"blocking": self.blocking, "review": self.review},
            "outputs": self.outputs,
        }


@dataclass
class BatchResult:
    out_dir: Path
    items: list[ItemOutcome]
    manifest_path: Path
    #: every worker result (timings, where it ran, how often that worker loaded inputs)
    raw: list[ItemResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for i in self.items if i.status == status)

    def made(self, how: How) -> list[str]:
        """The tickers whose folders were built now, taken from the cache, or left as they were."""
        return [i.ticker for i in self.items if i.how == how]

    @property
    def exit_code(self) -> int:
        """1 when an item failed or has a blocking compliance finding (a person must look)."""
        ok = all(i.status == "ok" for i in self.items)
        return EXIT_OK if ok else EXIT_NEEDS_ATTENTION


def _compliance_counts(files: dict[str, bytes]) -> tuple[int, int]:
    """(unwaived blocking, unwaived for review) from the item's compliance.json, if any."""
    raw = files.get("compliance.json")
    if raw is None:
        return 0, 0
    data = json.loads(raw)
    findings = data.get("findings", [])
    review = sum(1 for f in findings if f.get("severity") == "review" and f.get("waived") is None)
    return int(data.get("summary", {}).get("blocking", 0)), review


def _mismatch(prepared: Prepared, expected_key: str, result: ItemResult) -> str | None:
    """Why a worker's build does not rest on exactly the parent's inputs, if it does not.

    The key covers every input file, the fund's rows, the versions and reportgen's
    code; on a difference, the versions are named when they are the cause.
    """
    assert result.files is not None
    if result.key == expected_key:
        return None
    try:
        got = json.loads(result.files["manifest.json"])["inputs"]["versions"]
    except (KeyError, ValueError, TypeError):
        got = None
    want = prepared.inputs["versions"]
    if isinstance(got, dict) and got != want:
        diffs = [
            f"{name} {got.get(name)} (here {want.get(name)})"
            for name in sorted(want)
            if got.get(name) != want.get(name)
        ]
        return "the worker runs other package versions: " + ", ".join(diffs)
    return "the worker read other inputs (data rows, config, templates or reportgen's code)"


def _differs(mine: Prepared, files: dict[str, bytes]) -> str | None:
    """Why a worker's files are not what this process would publish for the fund: its
    manifest's inputs part and ``inputs/`` copies must be this process's own, and its
    outputs part must list the files returned."""
    try:
        mf = json.loads(files["manifest.json"])
        inputs, outputs = mf["inputs"], mf["outputs"]
    except (KeyError, ValueError, TypeError):
        return "the worker returned no readable manifest.json"
    if inputs != mine.inputs:
        keys = sorted(
            k for k in inputs.keys() | mine.inputs.keys() if inputs.get(k) != mine.inputs.get(k)
        )
        return "the worker's manifest records other inputs: " + ", ".join(keys)
    copies = {k: v for k, v in files.items() if k.startswith("inputs/")}
    if copies != mine.stored:
        differ = sorted(
            k for k in copies.keys() | mine.stored.keys() if copies.get(k) != mine.stored.get(k)
        )
        return "the worker kept other input copies: " + ", ".join(differ[:5])
    if outputs != manifest.outputs_part({k: v for k, v in files.items() if k != "manifest.json"}):
        return "the worker's manifest does not list the files it returned"
    return None


def _write_item(
    out_dir: Path,
    ticker: str,
    files: dict[str, bytes],
    prepared: Prepared,
    records_dir: Path,
    *,
    seconds: float = 0.0,
    how: How = "built",
) -> ItemOutcome:
    """Publish one fund's folder and log it."""
    from reportgen.output import publish

    item_dir = out_dir / ticker
    try:
        publish(item_dir, files)
        records.append(
            records_dir,
            {
                "event": "build",
                "out": item_dir.name,
                "report": prepared.config.model.id,
                "as_of": prepared.as_of.isoformat(),
                "subject": ticker,
                "draft_sha256": manifest.sha256_bytes(files["report.pdf"]),
                "manifest_sha256": manifest.sha256_bytes(files["manifest.json"]),
            },
        )
    except (OSError, ReportgenError) as exc:
        return ItemOutcome(ticker, "failed", f"could not write {item_dir}: {error_text(exc)}")
    return _outcome(ticker, files, manifest.outputs_part(files), seconds, how)


def _outcome(
    ticker: str, files: dict[str, bytes], outputs: dict[str, str], seconds: float, how: How
) -> ItemOutcome:
    blocking, review = _compliance_counts(files)
    return ItemOutcome(
        ticker,
        "blocked" if blocking else "ok",
        f"{blocking} blocking compliance finding(s); see {ticker}/compliance.json"
        if blocking
        else None,
        seconds,
        blocking,
        review,
        outputs,
        how,
    )


def _in_plan_order(results: Iterable[ItemResult], tickers: list[str]) -> Iterator[ItemResult]:
    """Results in plan order: each is released once every earlier item has arrived."""
    position = {t: i for i, t in enumerate(tickers)}
    waiting: dict[int, ItemResult] = {}
    nxt = 0
    for result in results:
        waiting[position[result.ticker]] = result
        while nxt in waiting:
            yield waiting.pop(nxt)
            nxt += 1


def batch_manifest(prepared: Prepared, items: list[ItemOutcome]) -> bytes:
    """``batch-manifest.json``: the inputs (hashes of every input file, versions), the
    items with their status and output hashes. Nothing about how or where it ran."""
    return manifest.dumps(
        {
            "format": _FORMAT_VERSION,
            "generator": f"reportgen {__version__}",
            "report": prepared.config.model.id,
            "as_of": prepared.as_of.isoformat(),
            # hashed from the files, without reading the dataset when nothing was built
            "inputs": prepared.key_material() or prepared.inputs,
            "items": {i.ticker: i.to_json() for i in items},
            "summary": {
                "items": len(items),
                **{s: sum(1 for i in items if i.status == s) for s in ("ok", "blocked", "failed")},
            },
        }
    )


def _check_out_dir(out_dir: Path, tickers: list[str]) -> None:
    from reportgen.output import check_replaceable

    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: expected a folder for the batch, found a file")
    problems = []
    for t in tickers:
        try:
            check_replaceable(out_dir / t)
        except UsageError as exc:
            problems.append(str(exc))
    if problems:
        raise UsageError("\n".join(problems))


@dataclass
class Plan:
    """The items of a batch and each one's cache key (empty without a cache)."""

    tickers: list[str]
    keys: dict[str, str]


def plan_batch(prepared: Prepared, only: Sequence[str] | None, cache: BuildCache | None) -> Plan:
    """The tickers to build and their keys.

    With a cache, a batch whose inputs are byte-for-byte those of an earlier batch
    (every file, config, template, version, as-of date and ``only``) reuses that
    batch's plan without reading the dataset at all: that is what makes an unchanged
    batch cost almost nothing. Otherwise the dataset is read and each fund's key is
    computed from its own rows.
    """
    from reportgen.build import build_key
    from reportgen.cache import key_of

    request = None
    if cache is not None:
        material = prepared.key_material()
        if material is not None:
            request = key_of({**material, "batch_only": list(only) if only else None})
            stored = cache.read_plan(request)
            if stored is not None and not any(map(_unsafe, stored["tickers"])):
                return Plan(stored["tickers"], stored["keys"])
    tickers = plan_items(prepared.config, prepared.dataset, prepared.as_of, only)
    keys: dict[str, str] = {}
    if cache is not None:
        for t in tickers:
            key = build_key(prepared.for_subject(t), draft=True)
            if key is not None:
                keys[t] = key
        if request is not None and len(keys) == len(tickers):
            cache.write_plan(request, {"tickers": tickers, "keys": keys})
    return Plan(tickers, keys)


def run_batch(
    config_path: Path,
    data_dir: Path,
    as_of: date,
    out_dir: Path,
    *,
    only: Sequence[str] | None = None,
    jobs: int | None = None,
    executor: Executor = "local",
    scheduler: str | None = None,
    console: Console | None = None,
    progress: bool = True,
    cache: BuildCache | None = None,
) -> BatchResult:
    """Build one report per planned fund into ``out_dir/<ticker>/`` and write the manifest.

    Bad input, a config about no single fund, an unknown ``only`` ticker or an output
    folder that may not be replaced stop the batch before any work (exit 2). ``jobs``
    defaults to the CPUs this process may use. Progress goes to ``console`` (stderr).
    With a ``cache``, a fund whose rows and other inputs are unchanged is not built
    again, and its folder is not touched when it already holds that build.
    """
    from reportgen.build import Prepared, check_environment
    from reportgen.config import load_config

    if executor not in ("local", "dask"):
        raise UsageError(f"--executor: expected local or dask, found {executor!r}")
    if scheduler is not None and executor != "dask":
        raise UsageError("--scheduler: only with --executor dask")
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: expected a whole number >= 1, found {jobs}")
    check_environment()
    spec = BatchSpec(config_path.resolve(), data_dir.resolve(), as_of)
    prepared = Prepared(load_config(spec.config), spec.data, as_of)
    check_one_fund_config(prepared.config)  # before the data is read
    plan = plan_batch(prepared, only, cache)
    _check_out_dir(out_dir, plan.tickers)
    if jobs is None:
        jobs = available_cpus()
    try:
        return _run(
            spec, prepared, plan, out_dir, jobs, executor, scheduler, console, progress, cache
        )
    finally:
        _PREPARED.clear()  # the parent does not keep the dataset after the batch


def _reuse(
    out_dir: Path, plan: Plan, cache: BuildCache | None
) -> tuple[dict[str, ItemOutcome], dict[str, dict[str, bytes]]]:
    """The items the cache holds: those whose folder already matches (left alone), and
    the files of the others (published once the batch is sure to run)."""
    from reportgen.cache import folder_matches

    unchanged: dict[str, ItemOutcome] = {}
    cached: dict[str, dict[str, bytes]] = {}
    if cache is None:
        return unchanged, cached
    for t in plan.tickers:
        key = plan.keys.get(t)
        found = None if key is None else cache.lookup(key)
        if found is None:
            continue
        if folder_matches(out_dir / t, found.digests):
            report = {"compliance.json": (out_dir / t / "compliance.json").read_bytes()}
            outputs = dict(sorted(found.digests.items()))
            unchanged[t] = _outcome(t, report, outputs, 0.0, "unchanged")
            continue
        files = cache.files(found)
        if files is not None:
            cached[t] = files
    return unchanged, cached


def _run(
    spec: BatchSpec,
    prepared: Prepared,
    plan: Plan,
    out_dir: Path,
    jobs: int,
    executor: Executor,
    scheduler: str | None,
    console: Console | None,
    progress: bool,
    cache: BuildCache | None,
) -> BatchResult:
    as_of = spec.as_of
    records_dir = (out_dir.resolve() / prepared.config.model.approval.records).resolve()
    unchanged, cached = _reuse(out_dir, plan, cache)
    todo = [t for t in plan.tickers if t not in unchanged and t not in cached]
    outcomes: dict[str, ItemOutcome] = dict(unchanged)
    raw: list[ItemResult] = []

    def publish_cached() -> None:
        for t, files in cached.items():
            out_dir.mkdir(parents=True, exist_ok=True)
            outcomes[t] = _write_item(out_dir, t, files, prepared, records_dir, how="cached")

    if not todo:
        publish_cached()
    else:
        prepared.dataset  # noqa: B018 - read once here; a single job builds in this process
        prepared.inputs  # noqa: B018 - hash the inputs now: a problem there stops the batch here
        running: contextlib.AbstractContextManager[Iterator[ItemResult]]
        if executor == "local":
            keep_prepared(spec, prepared)  # a single job runs in this process: reuse it
            running = contextlib.closing(run_local(spec, todo, jobs))
        else:
            from reportgen.batch_dask import run_dask  # a usage error without the extra

            running = run_dask(prepared, todo, jobs=jobs, scheduler=scheduler)
        with running as results:  # connected (dask): from here on, items are written
            out_dir.mkdir(parents=True, exist_ok=True)
            publish_cached()
            with _Progress(console, len(todo), enabled=progress) as bar:
                for result in _in_plan_order(_tracked(results, bar, raw), todo):
                    outcome = _finish(out_dir, result, prepared, plan, cache, records_dir)
                    outcomes[result.ticker] = outcome
                    if outcome.status != "ok":
                        bar.note(outcome)
    ordered = [outcomes[t] for t in plan.tickers]
    body = batch_manifest(prepared, ordered)
    from reportgen.output import write_atomically

    path = out_dir / BATCH_MANIFEST
    if todo or cached or not _same_bytes(path, body):
        out_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(path, body)
        records.append(
            records_dir,
            {
                "event": "batch",
                "out": out_dir.resolve().name,
                "report": prepared.config.model.id,
                "as_of": as_of.isoformat(),
                "items": len(ordered),
                "failed": sum(1 for o in ordered if o.status == "failed"),
                "blocked": sum(1 for o in ordered if o.status == "blocked"),
                "manifest_sha256": manifest.sha256_bytes(body),
            },
        )
    return BatchResult(out_dir, ordered, path, raw)


def _same_bytes(path: Path, body: bytes) -> bool:
    try:
        return path.read_bytes() == body
    except OSError:
        return False


def _finish(
    out_dir: Path,
    result: ItemResult,
    prepared: Prepared,
    plan: Plan,
    cache: BuildCache | None,
    records_dir: Path,
) -> ItemOutcome:
    """Check a worker's result against the parent's inputs, store it and publish it."""
    from reportgen.build import build_key
    from reportgen.cache import Entry

    t = result.ticker
    if result.files is None:
        return ItemOutcome(t, "failed", result.error or "failed", result.seconds)
    mine = prepared.for_subject(t)
    expected = plan.keys.get(t) or build_key(mine, draft=True) or ""
    problem = _mismatch(prepared, expected, result) or _differs(mine, result.files)
    if problem is not None:
        return ItemOutcome(t, "failed", problem, result.seconds)
    if cache is not None and result.key:
        facts = json.loads(result.files["facts.json"]).get("facts", {})
        entry = Entry(result.files, list(result.summary), list(result.warnings), len(facts))
        cache.put(result.key, entry)
    return _write_item(out_dir, t, result.files, prepared, records_dir, seconds=result.seconds)


def _tracked(
    results: Iterable[ItemResult], bar: _Progress, raw: list[ItemResult]
) -> Iterator[ItemResult]:
    """Advance the progress bar as items finish (before they are written, in plan order)."""
    for result in results:
        raw.append(result)
        bar.advance(result)
        yield result


# --------------------------------------------------------------------------- display


class _Progress:
    """A rich progress bar on stderr: done/total, items per second, time left."""

    def __init__(self, console: Console | None, total: int, *, enabled: bool) -> None:
        self.enabled = enabled
        self.total = total
        self.console = console
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = self.console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("elapsed,"),
            TimeRemainingColumn(),
            TextColumn("left"),
            console=console,
            transient=False,
        )
        self._progress.__enter__()
        self._task = self._progress.add_task("Building", total=self.total, rate="")
        return self

    def advance(self, result: ItemResult) -> None:
        if self._progress is None:
            return
        self._progress.advance(self._task)
        speed = self._progress.tasks[0].speed
        rate = f"{speed:.2f} items/s" if speed else ""
        self._progress.update(self._task, rate=rate, description=f"Built {result.ticker}")

    def note(self, outcome: ItemOutcome) -> None:
        """Say at once which item failed and why, above the bar."""
        if self._progress is None:
            return
        first = (outcome.reason or "").splitlines()[0] if outcome.reason else ""
        style = "red" if outcome.status == "failed" else "yellow"
        self._progress.console.print(
            f"[{style}]{outcome.status}[/] {outcome.ticker}: {first}", markup=True, highlight=False
        )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description="Done")
            self._progress.__exit__(*exc)


def print_summary(result: BatchResult, console: Console | None = None) -> None:
    """The closing summary: counts by status and a table of the items (those needing
    attention first; at most ``SUMMARY_ROWS`` rows, the rest are in the manifest)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(stderr=True)
    order = {"failed": 0, "blocked": 1, "ok": 2}
    items = sorted(result.items, key=lambda i: (order[i.status], i.ticker))
    table = Table(title=f"Batch {result.out_dir}", title_justify="left")
    table.add_column("Fund")
    table.add_column("Status")
    table.add_column("Compliance", justify="right")
    table.add_column("Seconds", justify="right")
    table.add_column("Reason", overflow="fold")
    style = {"failed": "red", "blocked": "yellow", "ok": "green"}
    for item in items[:SUMMARY_ROWS]:
        table.add_row(
            item.ticker,
            f"[{style[item.status]}]{item.status}[/]",
            f"{item.blocking} blocking, {item.review} review" if item.status != "failed" else "",
            f"{item.seconds:.1f}",
            item.reason or "",
        )
    if len(items) > SUMMARY_ROWS:
        table.caption = f"... and {len(items) - SUMMARY_ROWS} more; see {BATCH_MANIFEST}"
    console.print(table)
    console.print(
        f"{len(result.items)} item(s): {result.count('ok')} ok, "
        f"{result.count('blocked')} blocked by compliance findings, "
        f"{result.count('failed')} failed; manifest {result.manifest_path}",
        highlight=False,
    )
    reused = len(result.made("cached")) + len(result.made("unchanged"))
    if reused:
        console.print(
            f"{len(result.made('built'))} built, {len(result.made('cached'))} taken from the "
            f"cache, {len(result.made('unchanged'))} already up to date",
            highlight=False,
        )
