"""One readable function that runs the stages of a build in order.

dataset + config -> facts -> document -> HTML -> PDF -> manifest. Every input
is read and validated before anything is written, so bad input leaves the
output folder exactly as it was.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from reportgen import __version__, manifest, records
from reportgen.cache import BuildCache, Entry, Found, folder_matches, key_of
from reportgen.config import LoadedConfig, load_config
from reportgen.contract import CSV_FILES, SOURCES_FILE
from reportgen.errors import InputError, Problem, UsageError
from reportgen.output import check_replaceable, publish
from reportgen.paths import resolve_inside

if TYPE_CHECKING:  # imported where used: a build served from the cache never loads pandas
    from reportgen.dataset import Dataset
    from reportgen.dataset_slice import FundSlice, SliceIndex
    from reportgen.document import Document
    from reportgen.facts import FactSet
    from reportgen.metrics import MetricParams
    from reportgen.render_process import PdfHelper

Reporter = Callable[[str, float], None]


#: How a build's files came about: made now, taken from the cache, or already in place.
BuildStatus = Literal["built", "cached", "unchanged"]


@dataclass
class BuildResult:
    out_dir: Path
    #: the facts, when they were computed (not for a build served from the cache)
    facts: FactSet | None
    files: dict[str, bytes]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    config: LoadedConfig | None = None
    #: compliance summary lines for the terminal
    summary: list[str] = field(default_factory=list)
    status: BuildStatus = "built"
    #: how many facts facts.json holds
    fact_count: int = 0


@contextmanager
def _stage(name: str, timings: dict[str, float], report: Reporter | None) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start
    if report is not None:
        report(name, timings[name])


def _part(name: str, seconds: float, timings: dict[str, float], report: Reporter | None) -> None:
    """A share of the stage just reported (charts of the document, layout of the PDF)."""
    timings[name] = seconds
    if report is not None:
        report(name, seconds)


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


def input_files(config: LoadedConfig, dataset_files: Mapping[str, Path]) -> dict[str, Path]:
    """Every file the build reads, under names that do not depend on where it ran
    (``dataset_files``: the dataset's, stem -> path)."""
    from reportgen.paths import ASSETS_DIR, BUILTIN_TEMPLATES

    files = {f"dataset/{path.name}": path for path in dataset_files.values()}
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


def check_commentary(config: LoadedConfig) -> None:
    """Commentary files inside the config's folder and readable: the inputs are hashed
    before any item composes its document (which reports every other config problem,
    per item)."""
    problems = []
    for si, section in enumerate(config.model.sections):
        for bi, block in enumerate(section.blocks):
            if block.paragraph_file is None:
                continue
            loc = ("sections", si, "blocks", bi, "paragraph_file")
            name = block.paragraph_file
            try:
                path = resolve_inside(config.path.parent, name)
            except ValueError as exc:
                problems.append(config.problem(loc, f"paragraph_file: cannot use {name!r}: {exc}"))
                continue
            if not path.is_file():
                problems.append(config.problem(loc, f"paragraph_file: cannot read {str(path)!r}"))
    if problems:
        raise InputError(problems)


def compose_for(
    config: LoadedConfig, dataset: Dataset, as_of: date, subject: str | None = None
) -> Document:
    """The document a build composes, without rendering (``validate`` and ``serve``): for
    a one-fund report, from ``subject``'s rows, as :func:`make_files` builds it."""
    from reportgen.compose import compose_document

    prepared = Prepared(config, dataset.path, as_of, dataset=dataset)
    if subject is not None and config.needs_subject:
        prepared = prepared.for_subject(subject)
    return compose_document(config, prepared.dataset, prepared.facts, as_of, subject=subject)


def metric_params(config: LoadedConfig) -> MetricParams:
    from reportgen.metrics import MetricParams

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


class Prepared:
    """What every build of one config and dataset as of one date shares, each part done
    once and only when first needed: the dataset read and validated, the facts computed,
    the input files hashed and kept.

    Lazy on purpose: a build served from the cache needs the inputs' hashes, not the
    dataset parsed. ``reportgen batch`` prepares once per worker process and builds each
    fund's report from it (``make_files(..., subject=T, prepared=p)``), each from the
    rows of that fund (:meth:`for_subject`).
    """

    def __init__(
        self,
        config: LoadedConfig,
        data_dir: Path,
        as_of: date,
        *,
        dataset: Dataset | None = None,
        piece: FundSlice | None = None,
        common: dict[str, Any] | None = None,
        kept_rows: bool = False,
    ) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.as_of = as_of
        #: for a one-fund report, the rows it reads (None: the whole dataset)
        self.piece = piece
        self._dataset = dataset
        self._facts: FactSet | None = None
        self._common = common
        self._parts: tuple[dict[str, Any], dict[str, bytes]] | None = None
        self._slices: SliceIndex | None = None
        self._universe: list[str] = []
        #: the dataset folder holds one fund's kept rows (a factsheet's inputs/dataset/)
        self.kept_rows = kept_rows

    @property
    def loaded(self) -> bool:
        """Whether the dataset has been read (a build from the cache never reads it)."""
        return self._dataset is not None

    @property
    def dataset(self) -> Dataset:
        if self._dataset is None:
            from reportgen.dataset import load_dataset

            self._dataset = load_dataset(self.data_dir, one_fund=self.kept_rows)
        return self._dataset

    @property
    def facts(self) -> FactSet:
        if self._facts is None:
            from reportgen.facts import FactSet
            from reportgen.metrics import compute_facts

            facts = compute_facts(self.dataset, self.as_of, metric_params(self.config))
            if self.piece is not None:  # its fund and the indexes: nothing about the others
                keep = (f"etf.{self.piece.subject}.", "index.")
                facts = FactSet(facts[k] for k in facts if k.startswith(keep))
            self._facts = facts
        return self._facts

    @property
    def subject(self) -> str | None:
        return None if self.piece is None else self.piece.subject

    def for_subject(self, subject: str) -> Prepared:
        """The same inputs cut to the rows a report about ``subject`` reads."""
        if self.piece is not None:
            if subject != self.piece.subject:
                raise ValueError(f"prepared for {self.piece.subject}, asked for {subject}")
            return self
        from reportgen.compose import check_subject
        from reportgen.dataset_slice import SliceIndex
        from reportgen.metrics_base import universe

        if self._slices is None:
            self._universe = universe(self.dataset, self.as_of)
            self._slices = SliceIndex(self.dataset)
        check_subject(self.config, subject, self._universe, self.as_of)
        piece = self._slices.slice(subject, self.as_of)
        return Prepared(
            self.config,
            self.data_dir,
            self.as_of,
            dataset=piece.dataset,
            piece=piece,
            common=self._common,  # shared once hashed; else the slice hashes it when needed
        )

    def _common_part(self) -> dict[str, Any]:
        """The manifest's inputs part for everything but the dataset: config, commentary,
        templates and fonts hashed, the versions, the as-of date."""
        if self._common is None:
            check_commentary(self.config)
            sources = input_files(self.config, {})
            try:
                common = manifest.inputs_part(sources, self.as_of)
            except OSError as exc:  # an unreadable commentary or template file
                name = getattr(exc, "filename", None) or "an input file"
                raise InputError(
                    [Problem(str(name), message=f"expected a readable file, found: {exc.strerror}")]
                ) from None
            common["config"] = f"config/{self.config.path.name}"
            self._common = common
        return self._common

    def _dataset_sources(self) -> dict[str, Path] | None:
        """The dataset's files (stem -> path), as the loader will read them; None when that
        is not clear without loading (a file missing, or given twice)."""
        if self._dataset is not None:
            return dict(self._dataset.files)
        return dataset_files(self.data_dir)

    def key_material(self) -> dict[str, Any] | None:
        """Everything the outputs depend on, for the cache key (see :mod:`reportgen.cache`);
        None when the inputs cannot be hashed yet (a dataset file missing, a commentary
        file that cannot be read): the build then runs and reports the problem in full."""
        try:
            common = self._common_part()
        except InputError:
            return None
        if self.piece is not None:
            sources_yaml = self.dataset.files["sources"]
            rows = {**self.piece.rows, "sources": manifest.sha256_file(sources_yaml)}
            return {**common, "subject": self.piece.subject, "rows": rows}
        files = self._dataset_sources()
        if files is None:
            return None
        try:
            hashed = {f"dataset/{p.name}": manifest.sha256_file(p) for p in files.values()}
        except OSError:
            return None
        return {**common, "files": {**common["files"], **hashed}}

    def _input_parts(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        if self._parts is None:
            common = self._common_part()
            files = self._dataset_sources()
            if files is None:  # the loader reports what is wrong with the folder
                files = self.dataset.files
            sources = input_files(self.config, files)
            if self.piece is None:
                data = {
                    name: path.read_bytes()
                    for name, path in sources.items()
                    if name.startswith("dataset/")
                }
            else:
                from reportgen.dataset_slice import slice_files

                data = {f"dataset/{k}": v for k, v in slice_files(self.piece).items()}
                data["dataset/sources.yaml"] = self.dataset.files["sources"].read_bytes()
            inputs = dict(common)
            inputs["files"] = dict(
                sorted(
                    {
                        **common["files"],
                        **{k: manifest.sha256_bytes(v) for k, v in data.items()},
                    }.items()
                )
            )
            if self.piece is not None:
                inputs["subject"] = self.piece.subject
                inputs["rows"] = self.piece.rows
            others = {
                name: path.read_bytes()
                for name, path in stored_inputs(self.config, sources).items()
                if not name.startswith("dataset/")
            }
            stored = {f"inputs/{name}": b for name, b in sorted({**data, **others}.items())}
            self._parts = (inputs, stored)
        return self._parts

    @property
    def inputs(self) -> dict[str, Any]:
        """The manifest's inputs part: hashes of every input file (for a one-fund report,
        of the rows it read), versions, as-of date, config, subject."""
        return self._input_parts()[0]

    @property
    def stored(self) -> dict[str, bytes]:
        """The ``inputs/`` copies of the output folder."""
        return self._input_parts()[1]


def dataset_files(data_dir: Path) -> dict[str, Path] | None:
    """The files of a dataset folder by stem, as the loader picks them (``STEM.csv`` or
    ``STEM.parquet``); None when one is missing or given both ways."""
    files: dict[str, Path] = {}
    for stem in CSV_FILES:
        found = [p for p in (data_dir / f"{stem}.csv", data_dir / f"{stem}.parquet") if p.is_file()]
        if len(found) != 1:
            return None
        files[stem] = found[0]
    sources = data_dir / SOURCES_FILE
    if not sources.is_file():
        return None
    files["sources"] = sources
    return files


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
        prepared = Prepared(load_config(config_path), data_dir, as_of)
        prepared.dataset  # noqa: B018 - read and validated here, for the stage's timing
    with _stage("metrics", timings, report):
        prepared.facts  # noqa: B018
    return prepared


def _import_engines(pdf: bool) -> None:
    """Import what a build needs up front, so each stage's time is its work (the
    benchmark reports imports apart: WeasyPrint's alone take about 0.4 s, and none when
    a helper process renders the PDF)."""
    import reportgen.charts
    import reportgen.compliance
    import reportgen.compose
    import reportgen.dataset
    import reportgen.metrics
    import reportgen.render_html

    if pdf:
        import reportgen.render_pdf  # noqa: F401


def make_files(
    config_path: Path,
    data_dir: Path,
    as_of: date,
    *,
    draft: bool = True,
    report: Reporter | None = None,
    subject: str | None = None,
    prepared: Prepared | None = None,
    kept_rows: bool = False,
    pdf_helper: PdfHelper | None = None,
) -> BuildResult:
    """Run every stage in memory and return the output folder's files (nothing written).

    ``kept_rows``: ``data_dir`` is the ``inputs/dataset/`` of a one-fund report, the
    rows of one fund and the indexes (see :meth:`Prepared.for_subject`), read as such.
    ``pdf_helper``: a helper process (started before, see :mod:`reportgen.render_process`)
    renders the PDF; the build renders it itself if the helper fails.

    ``draft=False`` renders the same note without the draft mark: the approved PDF.
    ``subject`` is the fund a one-fund report (a ``subject: true`` fund selector) is
    about; it is recorded in the manifest's inputs. ``prepared`` (from :func:`prepare`,
    for the same paths and date) skips loading, metrics and hashing.
    """
    timings: dict[str, float] = {}
    check_environment()
    with _stage("imports", timings, report):
        _import_engines(pdf=pdf_helper is None)
    if prepared is None:
        with _stage("config", timings, report):
            prepared = Prepared(load_config(config_path), data_dir, as_of, kept_rows=kept_rows)
    elif prepared.as_of != as_of:
        raise ValueError(f"prepared for {prepared.as_of}, asked to build as of {as_of}")
    if not prepared.loaded:
        with _stage("load", timings, report):
            prepared.dataset  # noqa: B018 - read and validated here, for the stage's timing
    if subject is not None:
        with _stage("slice", timings, report):
            prepared = prepared.for_subject(subject)
    subject = prepared.subject
    with _stage("metrics", timings, report):
        config, dataset, facts = prepared.config, prepared.dataset, prepared.facts
    parts: dict[str, float] = {}
    with _stage("document", timings, report):
        from reportgen.compose import compose_document

        document = compose_document(config, dataset, facts, as_of, subject=subject, timings=parts)
    _part("charts", parts["charts"], timings, report)
    with _stage("html", timings, report):
        from reportgen.render_html import render_html

        html = render_html(document, template_dirs=template_dirs(config))
    facts_bytes = facts_json(config, as_of, facts)
    inputs = prepared.inputs
    with _stage("pdf", timings, report):
        from reportgen.pdf_types import EmbeddedFile, PdfOptions
        from reportgen.render_limits import PDF_RENDER_SECONDS
        from reportgen.render_process import Request

        meta = document.metadata
        request = Request(
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
            seconds=PDF_RENDER_SECONDS,
        )
        pdf = None if pdf_helper is None else pdf_helper.render(request)
        if pdf is None:
            from reportgen.render_process import render_here

            pdf = render_here(request)
    _part("pdf_layout", pdf.layout_seconds, timings, report)
    _part("pdf_write", pdf.write_seconds, timings, report)
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
        fact_count=len(facts),
    )


def build(
    config_path: Path,
    data_dir: Path,
    as_of: date,
    out_dir: Path,
    *,
    report: Reporter | None = None,
    subject: str | None = None,
    cache: BuildCache | None = None,
    pdf_helper: bool = True,
) -> BuildResult:
    """Build a draft into ``out_dir``; the folder changes only if every stage succeeded.

    ``pdf_helper``: render the PDF in a helper process started now, which imports
    WeasyPrint while this one reads and computes (on a machine with one CPU, never).

    With a ``cache``, a build whose inputs are unchanged is not made again: if
    ``out_dir`` already holds its files, nothing is written at all (status
    "unchanged"); otherwise the cached files are published (status "cached").
    """
    check_environment()
    check_replaceable(out_dir)
    timings: dict[str, float] = {}
    with _stage("config", timings, report):
        prepared = Prepared(load_config(config_path), data_dir, as_of)
    key = None
    found = None
    request = None  # for a one-fund report: its whole input files, hashed before reading
    if cache is not None and subject is not None:
        with _stage("cache", timings, report):
            request = _subject_request(prepared, subject)
            plan = None if request is None else cache.read_plan(request)
            key = None if plan is None else plan["keys"].get(subject)
    if subject is not None and (key is None or cache is None):
        whole, prepared = prepared, _cut(prepared, subject, timings, report)
        if cache is not None:
            key = build_key(prepared, draft=True)
            # only when the files still hash as before they were read
            unchanged = request is not None and request == _subject_request(whole, subject)
            if key is not None and request is not None and unchanged:
                cache.write_plan(request, {"tickers": [subject], "keys": {subject: key}})
    elif cache is not None and subject is None:
        with _stage("cache", timings, report):
            key = build_key(prepared, draft=True)
    if cache is not None and key is not None:
        found = cache.lookup(key)
        if found is not None and folder_matches(out_dir, found.digests):
            return _cached_result(out_dir, prepared, found, timings, "unchanged")
    entry = None if cache is None or found is None else cache.files(found)
    if entry is None:
        helper = _start_helper() if pdf_helper else None
        try:
            if subject is not None and prepared.piece is None:
                prepared = _cut(prepared, subject, timings, report)
            result = make_files(
                config_path, data_dir, as_of, report=report, prepared=prepared, pdf_helper=helper
            )
        finally:
            if helper is not None:
                helper.close()
        result.timings = {**timings, **result.timings}
        # stored only if the inputs still hash to the key: a file changed mid-build is not
        if cache is not None and key is not None and key == build_key(prepared, draft=True):
            cache.put(key, Entry(result.files, result.summary, result.warnings, result.fact_count))
    else:
        assert found is not None
        result = _cached_result(out_dir, prepared, found, timings, "cached")
        result.files = entry
    with _stage("write", result.timings, report):
        publish(out_dir, result.files)
        config = prepared.config
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


def _cut(
    prepared: Prepared, subject: str, timings: dict[str, float], report: Reporter | None
) -> Prepared:
    with _stage("load", timings, report):
        prepared.dataset  # noqa: B018
    with _stage("slice", timings, report):
        return prepared.for_subject(subject)


def _start_helper() -> PdfHelper | None:
    """A PDF helper process, when a second CPU can run it alongside the build."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if cpus < 2:
        return None
    from reportgen.render_process import PdfHelper

    return PdfHelper.start()


def _subject_request(prepared: Prepared, subject: str) -> str | None:
    """Names "this one-fund report, from exactly these whole input files" in the cache."""
    material = prepared.key_material()
    return None if material is None else key_of({**material, "subject_request": subject})


def build_key(prepared: Prepared, *, draft: bool) -> str | None:
    """The cache key of a build of ``prepared`` (None: the inputs cannot be hashed yet)."""
    material = prepared.key_material()
    if material is None:
        return None
    return key_of({**material, "draft": draft})


def _cached_result(
    out_dir: Path,
    prepared: Prepared,
    found: Found,
    timings: dict[str, float],
    status: BuildStatus,
) -> BuildResult:
    return BuildResult(
        out_dir,
        None,
        {},
        timings,
        warnings=found.warnings,
        config=prepared.config,
        summary=found.summary,
        status=status,
        fact_count=found.fact_count,
    )
