"""Paths named in a config must stay inside the project.

A config is shared and edited by many hands; a commentary file or template
folder given as ``../../etc`` or an absolute path, or reached through a symlink
pointing outside, is refused so a build reads nothing it should not.
"""

from __future__ import annotations

from pathlib import Path


def resolve_inside(base: Path, name: str) -> Path:
    """``base / name`` resolved (symlinks followed), refused unless it stays inside ``base``."""
    if Path(name).is_absolute():
        raise ValueError("expected a path relative to the config's folder, found an absolute path")
    root = base.resolve()
    target = (root / name).resolve()
    if not target.is_relative_to(root):
        raise ValueError("expected a path inside the config's folder, found one leading outside it")
    return target
