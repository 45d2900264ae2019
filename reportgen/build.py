"""One readable function that runs the stages of a build in order.

dataset + config -> facts -> document -> HTML -> PDF -> manifest. Every input
is read and validated before anything is written, so bad input leaves the
output folder exactly as it was.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from reportgen import __version__, manifest, records
from reportgen.config import LoadedConfig, load_config
from reportgen.dataset import Dataset, load_dataset
from reportgen.errors import InputError, UsageError
from reportgen.facts import FactSet
from reportgen.metrics import MetricParams, compute_facts
from reportgen.output import check_replaceable, publish
from reportgen.paths import resolve_inside

Reporter = Callable[[str, float], None]


@dataclass
class BuildResult:
    out_dir: Path
    facts: FactSet
    files: dict[str, bytes]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    config: LoadedConfig | None = None
    #: compliance summary lines for the terminal
    summary: list[str] = field(default_factory=list)


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


def template_dirs(config: LoadedConfig) -> list[Path]:
    """The config's own template folder (searched first), if it names one."""
    if config.model.templates is None:
        return []
    try:
        return [resolve_inside(config.path.parent, config.model.templates)]
    except ValueError as exc:
        raise InputError([config.problem(("templates",), f"templates: {exc}")]) from None


def input_files(config: LoadedConfig, dataset: Dataset) -> dict[str, Path]:
    """Every file the build read, under names that do not depend on where it ran."""
    from reportgen.render_html import BUILTIN_TEMPLATES
    from reportgen.render_pdf import ASSETS_DIR

    files = {f"dataset/{path.name}": path for path in dataset.files.values()}
    files[f"config/{config.path.name}"] = config.path
    for block_file in _commentary_files(config):
        files[f"config/{block_file.relative_to(config.path.parent.resolve()).as_posix()}"] = (
            block_file
        )
    files.update(manifest.template_files(template_dirs(config), "templates/user"))
    builtin = manifest.template_files([BUILTIN_TEMPLATES], "templates/builtin")
    # the reviewers' diff page is not part of a note
    files.update({k: v for k, v in builtin.items() if not k.startswith("templates/builtin/diff.")})
    files.update(manifest.template_files([ASSETS_DIR], "assets"))
    return files


def stored_inputs(config: LoadedConfig, sources: dict[str, Path]) -> dict[str, Path]:
    """Where each kept input goes under ``inputs/``: the layout the config expects.

    Data, config and commentary keep their names; user templates go where the config's
    ``templates:`` points, so a build from ``inputs/`` finds them. Built-in templates
    and fonts belong to the reportgen version recorded in the manifest.
    """
    out: dict[str, Path] = {}
    for name, path in sources.items():
        if name.split("/", 1)[0] in ("dataset", "config"):
            out[name] = path
        elif name.startswith("templates/user/") and config.model.templates is not None:
            rel = Path(config.model.templates) / name.removeprefix("templates/user/")
            out[f"config/{rel.as_posix()}"] = path
    return dict(sorted(out.items()))


def _commentary_files(config: LoadedConfig) -> list[Path]:
    return [
        resolve_inside(config.path.parent, block.paragraph_file)
        for section in config.model.sections
        for block in section.blocks
        if block.paragraph_file is not None
    ]


def metric_params(config: LoadedConfig) -> MetricParams:
    sc = config.model.scenario
    return MetricParams(
        stress_shocks=tuple(sc.stress_shocks),
        liquidity_orders_usd=tuple(sc.orders_usd),
        adv_participation=sc.adv_participation,
        fee_drag_years=sc.fee_drag_years,
    )


def created_at(as_of: date) -> datetime:
    """The PDF's creation date: SOURCE_DATE_EPOCH when set, else the as-of date (never now)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)


def check_environment() -> None:
    """Refuse a malformed SOURCE_DATE_EPOCH before any work (matplotlib would crash on it)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch != "" and not (epoch.isdigit() and epoch.isascii()):
        raise UsageError(
            f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, found {epoch!r}"
        )


DRAFT_MARK = "Draft - not approved for distribution"


@dataclass
class Prepared:
    """What every build of one config and dataset as of one date shares, done once:
    inputs read and validated, facts computed, input files hashed and kept.

    ``reportgen batch`` prepares once per worker process and builds each fund's report
    from it (``make_files(..., subject=T, prepared=p)``).
    """

    config: LoadedConfig
    dataset: Dataset
    as_of: date
    facts: FactSet
    _parts: tuple[dict[str, Any], dict[str, bytes]] | None = field(default=None, repr=False)

    def _input_parts(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        if self._parts is None:  # after the document stage checked the config's paths
            sources = input_files(self.config, self.dataset)
            inputs = manifest.inputs_part(sources, self.as_of)
            inputs["config"] = f"config/{self.config.path.name}"
            stored = {
                f"inputs/{name}": path.read_bytes()
                for name, path in stored_inputs(self.config, sources).items()
            }
            self._parts = (inputs, stored)
        return self._parts

    @property
    def inputs(self) -> dict[str, Any]:
        """The manifest's inputs part: hashes of every input file, versions, as-of, config."""
        return self._input_parts()[0]

    @property
    def stored(self) -> dict[str, bytes]:
        """The ``inputs/`` copies of the output folder."""
        return self._input_parts()[1]


def prepare(
    config_path: Path,
    data_dir: Path,
    as_of: date,
    *,
    timings: dict[str, float] | None = None,
    report: Reporter | None = None,
) -> Prepared:
    """Load and validate the config and dataset and compute the facts (inputs are hashed
    on first use)."""
    timings = {} if timings is None else timings
    check_environment()
    with _stage("load", timings, report):
        config = load_config(config_path)
        dataset = load_dataset(data_dir)
    with _stage("metrics", timings, report):
        facts = compute_facts(dataset, as_of, metric_params(config))
    return Prepared(config, dataset, as_of, facts)


def make_files(
    config_path: Path,
    data_dir: Path,
    as_of: date,
    *,
    draft: bool = True,
    report: Reporter | None = None,
    subject: str | None = None,
    prepared: Prepared | None = None,
) -> BuildResult:
    """Run every stage in memory and return the output folder's files (nothing written).

    ``draft=False`` renders the same note without the draft mark: the approved PDF.
    ``subject`` is the fund a one-fund report (a ``subject: true`` fund selector) is
    about; it is recorded in the manifest's inputs. ``prepared`` (from :func:`prepare`,
    for the same paths and date) skips loading, metrics and hashing.
    """
    timings: dict[str, float] = {}
    check_environment()
    if prepared is None:
        prepared = prepare(config_path, data_dir, as_of, timings=timings, report=report)
    elif prepared.as_of != as_of:
        raise ValueError(f"prepared for {prepared.as_of}, asked to build as of {as_of}")
    config, dataset, facts = prepared.config, prepared.dataset, prepared.facts
    with _stage("document", timings, report):
        from reportgen.compose import compose_document

        document = compose_document(config, dataset, facts, as_of, subject=subject)
    with _stage("html", timings, report):
        from reportgen.render_html import render_html

        html = render_html(document, template_dirs=template_dirs(config))
    facts_bytes = facts_json(config, as_of, facts)
    inputs = dict(prepared.inputs)  # hashed here, after the document stage, as before
    if subject is not None:
        inputs["subject"] = subject
    with _stage("pdf", timings, report):
        from reportgen.render_limits import PDF_RENDER_SECONDS, time_limit
        from reportgen.render_pdf import EmbeddedFile, PdfOptions, render_pdf_result

        meta = document.metadata
        with time_limit(PDF_RENDER_SECONDS, "PDF rendering"):
            pdf = render_pdf_result(
                html,
                title=meta["title"],
                author=meta["author"],
                subject=meta["subject"],
                keywords=(meta["keywords"],),
                created=created_at(as_of),
                options=PdfOptions(variant="pdf/a-3b", draft_mark=DRAFT_MARK if draft else None),
                attachments=(
                    EmbeddedFile("facts.json", facts_bytes, "Every figure of the note, sourced"),
                    EmbeddedFile(
                        "manifest-inputs.json",
                        manifest.dumps(inputs),
                        "Hashes of every input and the software versions that made the note",
                    ),
                ),
            )
    with _stage("checks", timings, report):
        from reportgen import compliance

        evidence = compliance.Evidence(
            html=html,
            pdf=pdf.pdf,
            facts=json.loads(facts_bytes),
            config=config,
            dataset=dataset,
            as_of=as_of,
        )
        findings = compliance.check(evidence)
        settings = config.model.compliance
    files: dict[str, bytes] = {
        "compliance.json": compliance.findings_json(
            findings, settings, report=config.model.id, as_of=as_of
        ),
        "facts.json": facts_bytes,
        "report.html": html.encode("utf-8"),
        "report.pdf": pdf.pdf,
        # the exact inputs, so the folder alone can be checked and rebuilt years later
        **prepared.stored,
    }
    with _stage("manifest", timings, report):
        files["manifest.json"] = manifest.dumps(
            {"inputs": inputs, "outputs": manifest.outputs_part(files)}
        )
    return BuildResult(
        Path(),
        facts,
        files,
        timings,
        config=config,
        summary=compliance.summary_lines(findings, settings),
    )


def build(
    config_path: Path,
    data_dir: Path,
    as_of: date,
    out_dir: Path,
    *,
    report: Reporter | None = None,
    subject: str | None = None,
) -> BuildResult:
    """Build a draft into ``out_dir``; the folder changes only if every stage succeeded."""
    check_environment()
    check_replaceable(out_dir)
    result = make_files(config_path, data_dir, as_of, report=report, subject=subject)
    with _stage("write", result.timings, report):
        publish(out_dir, result.files)
        config = result.config
        assert config is not None
        records.append(
            (out_dir.resolve().parent / config.model.approval.records).resolve(),
            {
                "event": "build",
                "out": out_dir.name,
                "report": config.model.id,
                "as_of": as_of.isoformat(),
                "draft_sha256": manifest.sha256_bytes(result.files["report.pdf"]),
                "manifest_sha256": manifest.sha256_bytes(result.files["manifest.json"]),
            },
        )
    result.out_dir = out_dir
    return result
