"""Strict YAML reading that remembers where every value came from.

Configs are written by hand, so errors must point at a line and column. PyYAML's
``safe_load`` forgets positions, accepts duplicate keys (the last one silently
wins) and expands aliases; here the node tree is walked ourselves so that each
value's position is kept, duplicate keys are refused naming both lines, and
aliases/anchors and non-standard tags are refused outright.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reportgen.errors import InputError, Problem

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class YamlDocument:
    """Plain Python data (dicts, lists, str, int, float, bool, None) plus positions."""

    path: str
    data: Any
    marks: dict[Location, Mark]
    #: per value: (last line, scalar style) - to locate errors inside multi-line text
    extents: dict[Location, tuple[int, str | None]] = field(default_factory=dict)

    def mark_for(self, loc: Location) -> Mark:
        """The position of ``loc``, or of its nearest ancestor that has one."""
        while loc:
            if loc in self.marks:
                return self.marks[loc]
            loc = loc[:-1]
        return self.marks.get((), Mark(1, 1))

    def problem(self, loc: Location, message: str) -> Problem:
        m = self.mark_for(loc)
        return Problem(self.path, m.line, None, message, char_column=m.column)


#: Tags PyYAML's implicit resolver may attach to plain scalars; we re-resolve those ourselves.
#: The tag our loader gives every plain (unquoted, untagged) scalar, resolved by resolve_scalar.
PLAIN = "tag:reportgen,2026:plain"

_SAFE_TAGS = {
    PLAIN,
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+)([eE][-+]?[0-9]+)?")


def resolve_scalar(node: yaml.ScalarNode) -> Any:
    """YAML 1.2 core-schema scalars, stricter still, instead of PyYAML's YAML 1.1.

    Quoted text is always a string. Unquoted, only ``true``/``false``, ``null``/``~``/empty,
    plain integers and decimal numbers are typed; everything else stays the text the
    author wrote, so ``NO``, ``on``, ``010``, ``1:30`` and ``2026-03-31`` reach the typed
    schema as strings and are refused there by name if a number or flag was expected.
    """
    text = node.value
    if node.tag != PLAIN:  # quoted, or explicitly tagged !!str
        return text
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text) and not re.fullmatch(r"[-+]?0[0-9]+", text):
        return float(text)
    return text


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.marks: dict[Location, Mark] = {}
        self.extents: dict[Location, tuple[int, str | None]] = {}
        self.problems: list[Problem] = []

    def _mark(self, node: yaml.Node) -> Mark:
        return Mark(node.start_mark.line + 1, node.start_mark.column + 1)

    def _problem(self, node: yaml.Node, message: str) -> None:
        m = self._mark(node)
        self.problems.append(Problem(self.path, m.line, None, message, char_column=m.column))

    def convert(self, node: yaml.Node, loc: Location) -> Any:
        self.marks[loc] = self._mark(node)
        if isinstance(node, yaml.ScalarNode) and node.end_mark is not None:
            self.extents[loc] = (node.end_mark.line + 1, node.style)
        if node.tag not in _SAFE_TAGS:
            self._problem(node, f"expected a plain YAML value, found the tag {node.tag}")
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self._problem(key_node, "expected a plain key, found a complex key")
                    continue
                if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
                    self._problem(key_node, "expected a key, found a merge key (<<)")
                    continue
                key = key_node.value  # keys are always text, never 'on' -> True
                if key in first_line:
                    self._problem(
                        key_node,
                        f"duplicate key {key!r}: first defined on line {first_line[key]}",
                    )
                    continue
                first_line[key] = self._mark(key_node).line
                self.marks[(*loc, key)] = self._mark(value_node)
                out[key] = self.convert(value_node, (*loc, key))
                # keep the key's own position for "unknown key" messages
                self.marks[(*loc, key, "__key__")] = self._mark(key_node)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*loc, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return resolve_scalar(node)


def _anchor_problems(text: str, path: str) -> list[Problem]:
    """Anchors and aliases are refused: a config should read top to bottom."""
    problems = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            m = event.start_mark
            line, col = (m.line + 1, m.column + 1) if m is not None else (1, 1)
            problems.append(
                Problem(
                    path,
                    line,
                    None,
                    "expected plain values, found a YAML anchor or alias (& or *)",
                    char_column=col,
                )
            )
    return problems


class _PlainLoader(yaml.SafeLoader):
    """Leaves plain scalars untyped (PyYAML's YAML 1.1 rules would read ``on`` as true)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return PLAIN
        return super().resolve(kind, value, implicit)


def _compose(text: str) -> yaml.Node | None:
    loader = _PlainLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def read_yaml(path: Path, display_path: str | None = None) -> YamlDocument:
    """Parse ``path`` strictly; raise InputError with PATH:LINE:COLUMN on any problem."""
    shown = display_path or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(shown, message="expected a YAML file, found nothing")]) from None
    except OSError as exc:
        raise InputError([Problem(shown, message=f"cannot be read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            [Problem(shown, line, None, "expected UTF-8 text, found an invalid byte")]
        ) from None
    if text.startswith("\ufeff"):
        raise InputError([Problem(shown, 1, None, "expected UTF-8 text, found a byte-order mark")])
    try:
        anchors = _anchor_problems(text, shown)
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        line, col = (m.line + 1, m.column + 1) if m else (1, 1)
        msg = exc.problem or "invalid YAML"
        raise InputError(
            [Problem(shown, line, None, f"YAML syntax: {msg}", char_column=col)]
        ) from None
    reader = _Reader(shown)
    data = None if node is None else reader.convert(node, ())
    problems = anchors + reader.problems
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.line or 0, p.char_column or 0)))
    return YamlDocument(shown, data, reader.marks, reader.extents)
