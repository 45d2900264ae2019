"""User-facing errors that know their exit status.

Every failure a person can fix (bad data, bad config, bad usage) is raised as a
``ReportgenError``; the CLI prints its lines and exits with its code, and shows
a traceback only under ``--debug``. Anything else is a bug in reportgen.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_NEEDS_ATTENTION = 1
EXIT_BAD_INPUT = 2

#: Most problems one validation run reports; past it a single line says how many more there were.
PROBLEM_CAP = 200


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one input, located as precisely as the input allows.

    Rendered in the contract's form ``PATH:LINE: column NAME: expected ..., found ...``;
    ``line`` and ``column`` are left out where they do not apply (a missing file).
    ``column`` is a CSV column *name* for datasets, or a 1-based character column
    for YAML configs (then rendered ``PATH:LINE:COLUMN: message``).
    """

    path: str
    line: int | None = None
    column: str | None = None
    message: str = ""
    char_column: int | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.char_column is not None:
                where += f":{self.char_column}"
        text = f"{where}: "
        if self.column is not None:
            text += f"column {self.column}: "
        return text + self.message


class ReportgenError(Exception):
    """An error a user can act on; ``exit_code`` is the process exit status."""

    exit_code = EXIT_BAD_INPUT

    def lines(self) -> list[str]:
        return [str(self)]


class UsageError(ReportgenError):
    """A command was called wrongly (a missing folder, an impossible option)."""


class InputError(ReportgenError):
    """One or more problems in the inputs, all reported together."""

    def __init__(self, problems: list[Problem], total: int | None = None) -> None:
        self.problems = problems
        self.total = total if total is not None else len(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        out = [str(p) for p in self.problems]
        hidden = self.total - len(self.problems)
        if hidden > 0:
            out.append(f"... and {hidden} more problem(s) not shown")
        return out
