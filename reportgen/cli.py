"""The ``reportgen`` command group.

Exit status, for every command (contract section 3): 0 done; 1 done but a person
must look (compliance findings under ``check``, failed items in a batch); 2 bad
input or usage, with the output folder left as it was. User errors print their
message lines without a traceback; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reportgen import __version__
from reportgen.errors import EXIT_BAD_INPUT, ReportgenError, UsageError

if TYPE_CHECKING:
    from reportgen.cache import BuildCache

F = TypeVar("F", bound=Callable[..., Any])


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise click.BadParameter(f"expected a date as YYYY-MM-DD, found {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a real calendar date, found {value!r}") from None


def _user_errors(func: F) -> F:
    """Turn ReportgenError into its message lines and exit code (traceback only with --debug)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except ReportgenError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            for line in exc.lines():
                click.echo(line, err=True)
            ctx.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reportgen")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("-v", "--verbose", is_flag=True, help="Show each stage with its timing.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool, quiet: bool) -> None:
    """Turn datasets into sourced, compliance-checked research notes."""
    ctx.ensure_object(dict)
    ctx.obj.update(debug=debug, verbose=verbose and not quiet, quiet=quiet)


def _cache_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--cache DIR`` and ``--no-cache``, shared by the commands that build."""
    command = click.option(
        "--no-cache", is_flag=True, help="Build everything again, and store nothing."
    )(command)
    return click.option(
        "--cache",
        "cache_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Folder of finished builds, reused when their inputs are unchanged "
        "(default: .reportgen-cache beside OUT).",
    )(command)


def _open_cache(out_dir: Path, cache_dir: Path | None, no_cache: bool) -> BuildCache | None:
    from reportgen.cache import BuildCache, default_cache_dir

    if no_cache:
        if cache_dir is not None:
            raise UsageError("--cache and --no-cache: give one or the other")
        return None
    return BuildCache(cache_dir if cache_dir is not None else default_cache_dir(out_dir))


@cli.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--as-of", "as_of", required=True, callback=_parse_date, help="YYYY-MM-DD")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, dir_okay=True))
@click.option(
    "--subject", help="The ETF (ticker) a one-fund report such as the ETF factsheet is about."
)
@_cache_options
@click.pass_context
@_user_errors
def build(
    ctx: click.Context,
    config: Path,
    data_dir: Path,
    as_of: date,
    out_dir: Path,
    subject: str | None,
    cache_dir: Path | None,
    no_cache: bool,
) -> None:
    """Build CONFIG's report from a dataset as of a date into OUT.

    A build whose inputs did not change since the last one is taken from the cache,
    and OUT is left untouched when it already holds it.
    """
    from reportgen.build import build as run_build

    verbose = ctx.obj["verbose"]

    def report(stage: str, seconds: float) -> None:
        if verbose:
            click.echo(f"  {stage:<10} {seconds * 1000:8.0f} ms", err=True)

    cache = _open_cache(out_dir, cache_dir, no_cache)
    result = run_build(
        config, data_dir, as_of, out_dir, report=report, subject=subject, cache=cache
    )
    if not ctx.obj["quiet"]:
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        for line in result.summary:
            click.echo(line)
        if result.status == "unchanged":
            click.echo(f"{out_dir}/ is up to date: nothing changed since it was built")
            return
        how = " (from the cache)" if result.status == "cached" else ""
        click.echo(
            f"Built {result.fact_count} facts into {out_dir}/{how}"
            f" ({', '.join(_top_level(result.files))})"
        )
    _DONE["quick_exit"] = True


@cli.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--as-of", "as_of", required=True, callback=_parse_date, help="YYYY-MM-DD")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The batch folder: one folder per fund inside it, and batch-manifest.json.",
)
@click.option("--only", help="Only these tickers, separated by commas (default: every ETF).")
@click.option(
    "--jobs", type=click.IntRange(min=1), help="Worker processes (default: the CPUs available)."
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where items run: processes on this machine, or a Dask cluster (reportgen[dask]).",
)
@click.option(
    "--scheduler",
    help="Dask scheduler address, tcp://HOST:8786 (default: a LocalCluster on this machine).",
)
@_cache_options
@click.pass_context
@_user_errors
def batch(
    ctx: click.Context,
    config: Path,
    data_dir: Path,
    as_of: date,
    out_dir: Path,
    only: str | None,
    jobs: int | None,
    executor: str,
    scheduler: str | None,
    cache_dir: Path | None,
    no_cache: bool,
) -> None:
    """Build CONFIG's one-fund report for every ETF of the universe into OUT/<ticker>/.

    Exit status 1 when an item failed or has a blocking compliance finding.
    """
    from rich.console import Console

    from reportgen.batch import print_summary, run_batch

    console = Console(stderr=True)
    result = run_batch(
        config,
        data_dir,
        as_of,
        out_dir,
        only=only.split(",") if only is not None else None,
        jobs=jobs,
        executor="dask" if executor == "dask" else "local",
        scheduler=scheduler,
        console=console,
        progress=not ctx.obj["quiet"],
        cache=_open_cache(out_dir, cache_dir, no_cache),
    )
    if not ctx.obj["quiet"]:
        print_summary(result, console)
    ctx.exit(result.exit_code)


@cli.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--data", "data_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--as-of", "as_of", callback=_parse_date, help="YYYY-MM-DD (default: latest data)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--subject", help="For a one-fund report: check it for this ETF (default: for every ETF)."
)
@click.pass_context
@_user_errors
def validate(
    ctx: click.Context,
    config: Path,
    data_dir: Path | None,
    as_of: date | None,
    fmt: str,
    subject: str | None,
) -> None:
    """Check CONFIG (and a dataset) without rendering: every problem at once."""
    from reportgen.validate import problems_json
    from reportgen.validate import validate as run_validate

    problems = run_validate(config, data_dir, as_of, subject)
    if fmt == "json":
        click.echo(problems_json(problems))
    else:
        for p in problems:
            click.echo(str(p), err=True)
        if not problems and not ctx.obj["quiet"]:
            click.echo(f"{config}: no problems found" + (f" with {data_dir}" if data_dir else ""))
    ctx.exit(EXIT_BAD_INPUT if problems else 0)


@cli.command()
@click.argument("config", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--as-of", "as_of", required=True, callback=_parse_date, help="YYYY-MM-DD")
@click.option("--grep", "pattern", help="Only ids containing this text (or matching this regex).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
@_user_errors
def facts(
    ctx: click.Context,
    config: Path | None,
    data_dir: Path,
    as_of: date,
    pattern: str | None,
    fmt: str,
) -> None:
    """List the fact ids authors can print, with value, display, source and as-of."""
    from reportgen.build import metric_params
    from reportgen.config import load_config
    from reportgen.dataset import load_dataset
    from reportgen.metrics import MetricParams, compute_facts

    params = metric_params(load_config(config)) if config else MetricParams()
    found = compute_facts(load_dataset(data_dir), as_of, params)
    ids = [k for k in found if _matches(k, pattern)]
    if fmt == "json":
        import json

        click.echo(json.dumps({k: found[k].to_json() for k in ids}, indent=2, ensure_ascii=False))
        return
    # one line per fact, aligned, so it reads in a terminal and greps in a pipe
    width = max((len(k) for k in ids), default=2)
    for k in ids:
        f = found[k]
        shown = f.display if f.value is not None else f"{f.display} ({f.reason})"
        click.echo(f"{k:<{width}}  {shown:>10}  {f.as_of.isoformat()}  {f.source}")


@cli.command()
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
@_user_errors
def check(ctx: click.Context, out_dir: Path) -> None:
    """Run the compliance checks on a build; exit 1 if a blocking finding is not waived."""
    from reportgen import compliance

    evidence = compliance.load_evidence(out_dir)
    findings = compliance.check(evidence)
    for line in compliance.finding_lines(findings):
        click.echo(line)
    if not ctx.obj["quiet"]:
        # the findings are listed above; only the counts and stale waivers follow
        summary = compliance.summary_lines(findings, evidence.settings)
        for line in summary[:1] + [s for s in summary if s.lstrip().startswith("waiver ")]:
            click.echo(line)
    ctx.exit(compliance.exit_code(findings))


@cli.command()
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--reviewer", required=True, help="Who decides (a name).")
@click.option("--role", default="", help="The reviewer's role, e.g. Compliance.")
@click.option("--comment", default="", help="Why; required with --reject.")
@click.option("--reject", is_flag=True, help="Record a rejection instead of an approval.")
@click.pass_context
@_user_errors
def approve(
    ctx: click.Context, out_dir: Path, reviewer: str, role: str, comment: str, reject: bool
) -> None:
    """Approve (or --reject) the draft in OUT_DIR; writes approval.json and, once enough
    distinct reviewers approved, report-approved.pdf."""
    from reportgen.approval import decide

    state = decide(out_dir, reviewer=reviewer, role=role, comment=comment, reject=reject)
    if not ctx.obj["quiet"]:
        if state["status"] == "approved":
            click.echo(
                f"Approved by {', '.join(state['approvers'])}: {out_dir}/report-approved.pdf"
            )
        elif state["status"] == "rejected":
            click.echo(f"Rejection by {reviewer} recorded in {out_dir}/approval.json")
        else:
            click.echo(
                f"Approval by {reviewer} recorded; {len(state['approvers'])} of "
                f"{state['required_approvers']} required approvers so far"
            )


@cli.command()
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
@_user_errors
def rebuild(ctx: click.Context, out_dir: Path) -> None:
    """Rebuild the draft in OUT_DIR from the folder alone and compare it byte for byte."""
    from reportgen.approval import rebuild as run_rebuild

    differences = run_rebuild(out_dir)
    if differences:
        for line in differences:
            click.echo(line)
        ctx.exit(1)
    if not ctx.obj["quiet"]:
        click.echo(f"{out_dir}: reproduced byte for byte from its inputs")


@cli.command("verify-log")
@click.argument("log", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_context
@_user_errors
def verify_log(ctx: click.Context, log: Path) -> None:
    """Check the audit log's hash chain; exit 1 naming each altered line."""
    from reportgen.records import verify_log as run_verify

    problems = run_verify(log)
    for line in problems:
        click.echo(line)
    if problems:
        ctx.exit(1)
    if not ctx.obj["quiet"]:
        click.echo(f"{log}: chain intact")


@cli.command()
@click.argument("old_dir", type=click.Path(path_type=Path, file_okay=False))
@click.argument("new_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("diff.html"),
    show_default=True,
    help="The HTML page to write.",
)
@click.option("--pdf", "want_pdf", is_flag=True, help="Also write the page as a PDF beside it.")
@click.pass_context
@_user_errors
def diff(ctx: click.Context, old_dir: Path, new_dir: Path, out_path: Path, want_pdf: bool) -> None:
    """Show what changed between two builds: OLD_DIR, then NEW_DIR."""
    from reportgen.diff import diff_builds, summary_lines, write_diff

    result = diff_builds(old_dir, new_dir)
    written = write_diff(result, out_path, pdf=want_pdf)
    if not ctx.obj["quiet"]:
        for line in summary_lines(result):
            click.echo(line)
        click.echo("Wrote " + ", ".join(str(p) for p in written))


@cli.command()
@click.argument("name")
@click.option(
    "--folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("config"),
    show_default=True,
    help="Folder for NAME.yaml (its commentary goes in FOLDER/commentary/).",
)
@click.option(
    "--dataset",
    "dataset_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also write a template dataset folder here: the contract's CSV headers and sources.yaml.",
)
@click.pass_context
@_user_errors
def new(ctx: click.Context, name: str, folder: Path, dataset_dir: Path | None) -> None:
    """Scaffold a new report config NAME.yaml showing every block kind; never overwrites."""
    from reportgen.scaffold import scaffold_report

    created = scaffold_report(name, folder, dataset_dir)
    if not ctx.obj["quiet"]:
        for path in created:
            click.echo(f"created {path}")
        click.echo(
            f"Preview it: reportgen serve {folder / f'{name}.yaml'} --data data/sample"
            " --as-of YYYY-MM-DD"
        )


@cli.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--as-of", "as_of", required=True, callback=_parse_date, help="YYYY-MM-DD")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1; 0 picks a free one.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@click.option("--subject", help="For a one-fund report: the ETF (ticker) to preview.")
@_user_errors
def serve(
    config: Path, data_dir: Path, as_of: date, port: int, open_browser: bool, subject: str | None
) -> None:
    """Serve CONFIG's note on 127.0.0.1, rebuilt and reloaded on every saved change."""
    from reportgen.serve import serve as run_serve

    run_serve(config, data_dir, as_of, port, open_browser=open_browser, subject=subject)


def _matches(fact_id: str, pattern: str | None) -> bool:
    if not pattern:
        return True
    if pattern in fact_id:
        return True
    try:
        return re.search(pattern, fact_id) is not None
    except re.error:
        return False


def _top_level(files: dict[str, bytes]) -> list[str]:
    """Files and folders directly inside the output folder ("inputs/" for the copies)."""
    return sorted({name.split("/", 1)[0] + ("/" if "/" in name else "") for name in files})


#: Set by a command that finished with nothing left to clean up (every file written,
#: closed and synced): the process may then end without the interpreter's tear-down.
_DONE = {"quick_exit": False}


def main() -> None:
    try:
        cli(obj={})
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except SystemExit as done:
        if not _DONE["quick_exit"] or done.code not in (0, None):
            raise
        # Freeing pandas, matplotlib and WeasyPrint object by object takes ~0.2 s of a
        # cold build; the build has published and logged everything by now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
