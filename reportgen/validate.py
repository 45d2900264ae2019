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


def validate(config_path: Path, data_dir: Path | None, as_of: date | None) -> list[Problem]:
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
        from reportgen.build import metric_params
        from reportgen.compose import compose_document
        from reportgen.metrics import compute_facts

        when = as_of or latest_date(dataset)
        facts = compute_facts(dataset, when, metric_params(config))
        try:
            compose_document(config, dataset, facts, when)
        except InputError as exc:
            problems += exc.problems
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
