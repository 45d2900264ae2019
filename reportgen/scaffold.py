"""``reportgen new``: a new report config (and, optionally, a dataset template) to start from.

The config shows every block kind, table kind and chart kind once, with comments, and is
valid as generated: it validates and builds on the sample dataset. Its texts live in
``scaffold_templates/`` beside this module (``__NAME__`` stands for the report's name);
the dataset template's CSV headers come from the dataset contract (``dataset.COLUMNS``),
so they cannot drift from what ``load_dataset`` reads.

Nothing is ever overwritten: when any file to create already exists, nothing is written.
"""

from __future__ import annotations

import re
from pathlib import Path

from reportgen.dataset import COLUMNS, CSV_FILES, SOURCES_FILE
from reportgen.errors import UsageError

TEMPLATES_DIR = Path(__file__).resolve().parent / "scaffold_templates"
#: A report name: the config's id rule, also used for its file names.
NAME_RULE = re.compile(r"[a-z][a-z0-9_-]*")
_PLACEHOLDER = "__NAME__"


def _template(name: str, report: str) -> str:
    text = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
    return text.replace(_PLACEHOLDER, report)


def planned_files(name: str, folder: Path, dataset_dir: Path | None) -> dict[Path, str]:
    """Every file ``scaffold_report`` would create, with its content, in creation order."""
    if not NAME_RULE.fullmatch(name):
        raise UsageError(
            f"report name must start with a lowercase letter and hold only lowercase letters, "
            f"digits, '_' and '-' (it becomes the report id and file name), found {name!r}"
        )
    files = {
        folder / f"{name}.yaml": _template("report.yaml", name),
        folder / "commentary" / f"{name}.md": _template("commentary.md", name),
    }
    if dataset_dir is not None:
        for stem in CSV_FILES:
            files[dataset_dir / f"{stem}.csv"] = ",".join(COLUMNS[stem]) + "\n"
        files[dataset_dir / SOURCES_FILE] = _template("sources.yaml", name)
    return files


def scaffold_report(name: str, folder: Path, dataset_dir: Path | None) -> list[Path]:
    """Create ``folder/NAME.yaml`` and its commentary file (and a dataset template in
    ``dataset_dir``); return the files created.

    Raises :class:`UsageError` for a bad name or when any of the files already exists
    (then nothing is written).
    """
    files = planned_files(name, folder, dataset_dir)
    existing = [path for path in files if path.exists() or path.is_symlink()]
    if existing:
        shown = ", ".join(str(p) for p in existing)
        raise UsageError(f"refusing to overwrite existing file(s): {shown}; no file was written")
    created: list[Path] = []
    for path, text in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _remove(created)
            raise UsageError(
                f"cannot create the folder {path.parent}: {exc.strerror}; no file was written"
            ) from None
        try:
            with path.open("x", encoding="utf-8", newline="\n") as fh:  # "x": never overwrite
                fh.write(text)
        except FileExistsError:  # created by someone else since the check above
            _remove(created)
            raise UsageError(
                f"refusing to overwrite existing file {path}; no file was written"
            ) from None
        except OSError as exc:
            _remove(created)
            raise UsageError(f"cannot create {path}: {exc.strerror}; no file was written") from None
        created.append(path)
    return created


def _remove(paths: list[Path]) -> None:
    for path in reversed(paths):
        path.unlink(missing_ok=True)
