"""What went into a build and what came out, as hashes and versions.

The manifest lets a reviewer prove, years later, which data, config, templates
and software produced a published note. It holds no wall-clock time and no
absolute path, so two builds of the same inputs on any machine write the same
bytes.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Iterable, Mapping
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from reportgen import __version__

#: Packages whose version can change the bytes of a report.
KEY_PACKAGES = (
    "pandas",
    "numpy",
    "matplotlib",
    "jinja2",
    "markdown-it-py",
    "weasyprint",
    "pydyf",
    "fonttools",
    "tinycss2",
    "pydantic",
    "pyyaml",
    # reads the PDF's fonts for the compliance checks
    "pypdf",
    # reads Parquet datasets
    "pyarrow",
)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"reportgen": __version__, "python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def inputs_part(files: Mapping[str, Path], as_of: date) -> dict[str, Any]:
    """``files`` maps a stable, machine-independent name (``dataset/prices.csv``) to a path."""
    return {
        "as_of": as_of.isoformat(),
        "files": {name: sha256_file(files[name]) for name in sorted(files)},
        "versions": package_versions(),
    }


def outputs_part(outputs: Mapping[str, bytes]) -> dict[str, str]:
    return {name: sha256_bytes(outputs[name]) for name in sorted(outputs)}


def dumps(data: Any) -> bytes:
    """The one JSON encoding of every JSON file reportgen writes: sorted, indented, UTF-8."""
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def template_files(folders: Iterable[Path], prefix: str) -> dict[str, Path]:
    """Every file under the template folders, named relative to its folder."""
    out: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out.setdefault(f"{prefix}/{path.relative_to(folder).as_posix()}", path)
    return out
