"""One readable function that runs the stages of a build in order.

dataset + config -> facts -> document -> HTML -> PDF -> manifest. Every input
is read and validated before anything is written, so bad input leaves the
output folder exactly as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from reportgen import __version__, manifest
from reportgen.config import LoadedConfig, load_config
from reportgen.dataset import Dataset, load_dataset
from reportgen.facts import FactSet
from reportgen.metrics import compute_facts
from reportgen.output import check_replaceable, publish

Reporter = Callable[[str, float], None]


@dataclass
class BuildResult:
    out_dir: Path
    facts: FactSet
    files: dict[str, bytes]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@contextmanager
def _stage(name: str, timings: dict[str, float], report: Reporter | None) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start
    if report is not None:
        report(name, timings[name])


def facts_json(config: LoadedConfig, as_of: date, facts: FactSet) -> bytes:
    return manifest.dumps(
        {
            "report": config.model.id,
            "as_of": as_of.isoformat(),
            "generator": f"reportgen {__version__}",
            "facts": facts.to_json(),
        }
    )


def input_files(config: LoadedConfig, dataset: Dataset) -> dict[str, Path]:
    """Every file the build read, under names that do not depend on where it ran."""
    files = {f"dataset/{path.name}": path for path in dataset.files.values()}
    files[f"config/{config.path.name}"] = config.path
    return files


def build(
    config_path: Path,
    data_dir: Path,
    as_of: date,
    out_dir: Path,
    *,
    report: Reporter | None = None,
) -> BuildResult:
    timings: dict[str, float] = {}
    check_replaceable(out_dir)
    with _stage("load", timings, report):
        config = load_config(config_path)
        dataset = load_dataset(data_dir)
    with _stage("metrics", timings, report):
        facts = compute_facts(dataset, as_of)
    files: dict[str, bytes] = {"facts.json": facts_json(config, as_of, facts)}
    with _stage("manifest", timings, report):
        files["manifest.json"] = manifest.dumps(
            {
                "inputs": manifest.inputs_part(input_files(config, dataset), as_of),
                "outputs": manifest.outputs_part(files),
            }
        )
    with _stage("write", timings, report):
        publish(out_dir, files)
    return BuildResult(out_dir, facts, files, timings)
