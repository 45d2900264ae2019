"""Checking a config (and a dataset) without rendering anything.

Analysts fix configs by iterating on error messages; this runs every check a
build would run before rendering (config schema, dataset contract, fact ids,
table and chart kinds, fund selectors) and returns every problem at once.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from reportgen.config import LoadedConfig, load_config
from reportgen.dataset import Dataset, load_dataset
from reportgen.errors import InputError, Problem


def latest_date(dataset: Dataset) -> date:
    """The newest price date: the as-of date a check uses when none is given."""
    return dataset.prices["date"].max().date()


def validate(
    config_path: Path, data_dir: Path | None, as_of: date | None, subject: str | None = None
) -> list[Problem]:
    """Every problem of the config and the dataset, and of the document they make.

    A one-fund report (factsheet) is checked for ``subject``, or, without one, for every
    fund of the universe (a problem shared by several funds is listed once).
    """
    problems: list[Problem] = []
    config: LoadedConfig | None = None
    dataset: Dataset | None = None
    try:
        config = load_config(config_path)
    except InputError as exc:
        problems += exc.problems
    if data_dir is not None:
        try:
            dataset = load_dataset(data_dir)
        except InputError as exc:
            problems += exc.problems
    if config is not None and dataset is not None:
        from reportgen.build import compose_for
        from reportgen.metrics_base import universe

        when = as_of or latest_date(dataset)
        subjects: list[str | None] = [subject]
        if subject is None and config.needs_subject:
            subjects = list(universe(dataset, when))
        shown = {str(p) for p in problems}
        for one in subjects:
            try:
                compose_for(config, dataset, when, one)
            except InputError as exc:
                for p in exc.problems:
                    if str(p) not in shown:
                        shown.add(str(p))
                        problems.append(p)
    return problems


def problems_json(problems: list[Problem]) -> str:
    rows = [
        {
            "path": p.path,
            "line": p.line,
            "column": p.char_column if p.char_column is not None else p.column,
            "message": p.message,
            "text": str(p),
        }
        for p in problems
    ]
    return json.dumps({"problems": rows, "count": len(rows)}, indent=2, ensure_ascii=False)
