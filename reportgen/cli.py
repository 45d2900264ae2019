"""The ``reportgen`` command group.

Exit status, for every command (contract section 3): 0 done; 1 done but a person
must look (compliance findings under ``check``, failed items in a batch); 2 bad
input or usage, with the output folder left as it was. User errors print their
message lines without a traceback; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from reportgen import __version__
from reportgen.errors import EXIT_BAD_INPUT, ReportgenError

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


@cli.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--as-of", "as_of", required=True, callback=_parse_date, help="YYYY-MM-DD")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, dir_okay=True))
@click.pass_context
@_user_errors
def build(ctx: click.Context, config: Path, data_dir: Path, as_of: date, out_dir: Path) -> None:
    """Build CONFIG's report from a dataset as of a date into OUT."""
    from reportgen.build import build as run_build

    verbose = ctx.obj["verbose"]

    def report(stage: str, seconds: float) -> None:
        if verbose:
            click.echo(f"  {stage:<10} {seconds * 1000:8.0f} ms", err=True)

    result = run_build(config, data_dir, as_of, out_dir, report=report)
    if not ctx.obj["quiet"]:
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(
            f"Built {len(result.facts)} facts into {out_dir}/"
            f" ({', '.join(_top_level(result.files))})"
        )


def _top_level(files: dict[str, bytes]) -> list[str]:
    """Files and folders directly inside the output folder ("inputs/" for the copies)."""
    return sorted({name.split("/", 1)[0] + ("/" if "/" in name else "") for name in files})


def main() -> None:
    try:
        cli(obj={})
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_BAD_INPUT)
