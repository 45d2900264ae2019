"""Batch items on a Dask cluster: ``reportgen batch --executor dask [--scheduler ADDRESS]``.

Dask distributed is an optional extra (``pip install 'reportgen[dask]'``); this module is
imported only when the Dask executor is asked for, and without the extra that is a
usage error (exit 2) naming the install command.

How it works:

- The client (the ``reportgen batch`` process) already loaded, validated and hashed the
  inputs. It sends their bytes (the dataset, the config, its commentary and templates:
  the ``inputs/`` folder of any output) to every worker once, in a worker plugin; each
  worker writes them to its local directory and prepares them there once
  (:func:`reportgen.batch.prepared_for`). Workers therefore need reportgen[dask]
  installed, with the same versions as the client, but no shared file system.
- Each item is one task returning the item's files as bytes (without ``inputs/``); the
  client checks them against its own inputs and versions, and writes them
  (:mod:`reportgen.batch`). A worker that dies fails its item, not the batch.
- Without ``--scheduler``, a LocalCluster of ``--jobs`` single-threaded worker processes
  on 127.0.0.1 is started for the batch and shut down after it.

Workers should run one thread each (``dask worker ADDRESS --nthreads 1``): the PDF time
limit works only on a process's main thread, and chart rendering serialises threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen import manifest
from reportgen.batch import (
    BatchSpec,
    ItemResult,
    Window,
    build_item,
    error_text,
    prepared_for,
    submission_window,
)
from reportgen.errors import UsageError

try:
    from distributed import Client, LocalCluster, WorkerPlugin, as_completed
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise UsageError(
        "--executor dask needs Dask distributed, an optional extra of reportgen: "
        f"pip install 'reportgen[dask]' ({exc})"
    ) from None

if TYPE_CHECKING:
    from reportgen.build import Prepared

#: Seconds to wait for a scheduler given with --scheduler.
CONNECT_TIMEOUT = "30s"

#: Per worker process: batch key -> where its inputs were written there.
_SPECS: dict[str, BatchSpec] = {}


class InputsPlugin(WorkerPlugin):
    """The batch's input files, written once on each worker and prepared there once."""

    def __init__(self, key: str, files: dict[str, bytes], config: str, as_of: date) -> None:
        self.key = key
        self.name = f"reportgen-inputs-{key[:16]}"
        self.files = files
        self.config = config
        self.as_of = as_of

    def _root(self, worker: Any) -> Path:
        return Path(worker.local_directory) / self.name

    def setup(self, worker: Any) -> None:
        root = self._root(worker)
        for name, data in self.files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        spec = BatchSpec(root / self.config, root / "dataset", self.as_of)
        _SPECS[self.key] = spec
        with contextlib.suppress(Exception):  # an item retries and reports the reason
            prepared_for(spec)

    def teardown(self, worker: Any) -> None:
        _SPECS.pop(self.key, None)
        shutil.rmtree(self._root(worker), ignore_errors=True)


@contextlib.contextmanager
def _source_date_epoch(value: str | None) -> Iterator[None]:
    """The client's SOURCE_DATE_EPOCH (or none) while an item builds: PDF dates match."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None:
        os.environ.pop("SOURCE_DATE_EPOCH", None)
    else:
        os.environ["SOURCE_DATE_EPOCH"] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def run_item(key: str, ticker: str, epoch: str | None) -> ItemResult:
    """One item, on a worker (the task Dask runs)."""
    spec = _SPECS.get(key)
    if spec is None:
        return ItemResult(ticker, None, error="the worker did not receive the batch's inputs")
    with _source_date_epoch(epoch):
        return build_item(spec, ticker)


def batch_key(prepared: Prepared) -> str:
    """Names this batch's inputs on the workers: a hash of the inputs part of the manifest."""
    return manifest.sha256_bytes(manifest.dumps(prepared.inputs))


@contextlib.contextmanager
def run_dask(
    prepared: Prepared, tickers: list[str], *, jobs: int, scheduler: str | None
) -> Iterator[Iterator[ItemResult]]:
    """Connect (or start a LocalCluster of ``jobs`` workers), send the inputs, submit the
    items; yields an iterator of results in the order they finish. Everything is closed
    on leaving the block."""
    key = batch_key(prepared)
    files = {name.removeprefix("inputs/"): data for name, data in prepared.stored.items()}
    plugin = InputsPlugin(key, files, str(prepared.inputs["config"]), prepared.as_of)
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(_client(scheduler, min(jobs, len(tickers))))
        client.register_plugin(plugin, name=plugin.name)
        stack.callback(_unregister, client, plugin.name)
        yield _results(client, key, tickers)


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Any]:
    if scheduler is None:
        with (
            LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            yield client
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(
            f"--scheduler {scheduler}: cannot connect to a Dask scheduler: {exc}"
        ) from None
    with client:
        yield client


def _unregister(client: Any, name: str) -> None:
    """Let the workers delete their copy of the inputs (best effort: the batch is done)."""
    with contextlib.suppress(Exception):
        client.unregister_worker_plugin(name)


def _results(client: Any, key: str, tickers: list[str]) -> Iterator[ItemResult]:
    """Submit items in a window (:class:`reportgen.batch.Window`) and yield their results
    as they finish; a task that failed, or died with its worker, fails its item."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    threads = sum(client.nthreads().values()) or 1
    window = Window(tickers, submission_window(threads))
    pending: dict[Any, tuple[int, str]] = {}

    def submit() -> list[Any]:
        futures = []
        for position, ticker in window.take():
            future = client.submit(
                run_item, key, ticker, epoch, key=f"reportgen-{key[:12]}-{ticker}", pure=False
            )
            pending[future] = (position, ticker)
            futures.append(future)
        return futures

    finished = as_completed(submit(), loop=client.loop)
    for future in finished:
        position, ticker = pending.pop(future)
        window.done(position)
        try:
            result = future.result()
        except Exception as exc:  # the task or its worker failed: this item, not the batch
            result = ItemResult(ticker, None, error=f"dask: {error_text(exc)}")
        future.release()
        for more in submit():
            finished.add(more)
        yield result
