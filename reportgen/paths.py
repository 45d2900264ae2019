"""Paths named in a config must stay inside the project.

A config is shared and edited by many hands; a commentary file or template
folder given as ``../../etc`` or an absolute path, or reached through a symlink
pointing outside, is refused so a build reads nothing it should not.
"""

from __future__ import annotations

from pathlib import Path

#: The templates every note starts from (beside the package: editable installs).
BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: Fonts and other files the PDF embeds.
ASSETS_DIR = Path(__file__).resolve().parent / "assets"


def resolve_inside(base: Path, name: str) -> Path:
    """``base / name`` resolved (symlinks followed), refused unless it stays inside ``base``."""
    if Path(name).is_absolute():
        raise ValueError("expected a path relative to the config's folder, found an absolute path")
    root = base.resolve()
    target = (root / name).resolve()
    if not target.is_relative_to(root):
        raise ValueError("expected a path inside the config's folder, found one leading outside it")
    return target
