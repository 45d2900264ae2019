"""Write docs/config-reference.md from the report config schema itself.

The reference is generated, never written by hand, so it cannot drift from the code:
every key of ``ReportConfig`` and of the models nested in it (fund selectors, scenario,
key figures, sections and blocks, table and chart blocks, compliance, approval), with
its type in plain words, its default, its allowed values and bounds, and the docstring
written under the field in the source. Then the table kinds and chart kinds, from the
registries the build uses.

    .venv/bin/python scripts/gen_config_reference.py          # rewrite the page
    .venv/bin/python scripts/gen_config_reference.py --check  # exit 1 if it is out of date

The output depends only on the code (no dates, no paths of this machine), so the same
code always gives the same bytes; ``tests/test_docs.py`` regenerates it and compares.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import inspect
import itertools
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from reportgen.chart_blocks import CHARTS
from reportgen.config import ReportConfig
from reportgen.tables import TABLES

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "config-reference.md"
COMMAND = ".venv/bin/python scripts/gen_config_reference.py"

#: Id patterns of the schema, said in words; any other pattern is shown as it is.
PATTERN_WORDS = {
    r"^[a-z][a-z0-9_-]*$": "lowercase letters, digits, `_` and `-`, starting with a letter",
    r"^[a-z0-9][a-z0-9_-]*$": "lowercase letters, digits, `_` and `-`",
    r"^[A-Za-z][A-Za-z0-9_]*$": "letters, digits and `_`, starting with a letter",
}

_WORDS: dict[Any, tuple[str, str]] = {
    str: ("text", "texts"),
    int: ("whole number", "whole numbers"),
    float: ("number", "numbers"),
    bool: ("`true` or `false`", "`true` or `false` values"),
    Any: ("any value", "any values"),
}


# --------------------------------------------------------------------------- docstrings


def _clean(text: str) -> str:
    """A docstring as one Markdown paragraph: reST ``code`` becomes `code`."""
    text = " ".join(inspect.cleandoc(text).split())
    return re.sub(r"``(.+?)``", r"`\1`", text)


def field_docs(model: type[BaseModel]) -> dict[str, str]:
    """The docstring written under each field, read from the source of the model's classes.

    Pydantic keeps them only with ``use_attribute_docstrings=True``; the schema does not
    set it, so they are read here with ``ast`` (a subclass's docstring wins).
    """
    docs: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = next(n for n in tree.body if isinstance(n, ast.ClassDef)).body
        for stmt, after in itertools.pairwise(body):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[stmt.target.id] = _clean(after.value.value)
    return docs


def model_doc(model: type[BaseModel]) -> str:
    own = model.__dict__.get("__doc__")
    return _clean(own) if own else ""


def describe_field(model: type[BaseModel], name: str) -> str:
    """The field's docstring; failing that, the first sentence of the model it holds."""
    field = model.model_fields[name]
    text = field_docs(model).get(name) or (_clean(field.description) if field.description else "")
    if text:
        return text
    for nested, _ in _models_in(field.annotation):
        first = re.split(r"(?<=[.:])\s", model_doc(nested), maxsplit=1)[0]
        return first.rstrip(":") + ("." if first.endswith(":") else "")
    return ""


def undocumented(root: type[BaseModel]) -> list[str]:
    """Key paths whose description is empty: docstrings the schema still lacks."""
    return [
        f"{s.place.path}.{name}" if s.place.path else name
        for s in walk(root)
        for name in s.model.model_fields
        if not describe_field(s.model, name)
    ]


# --------------------------------------------------------------------------- values


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _scalar(value: Any) -> str:
    """A value as it would be written in the YAML config."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9 _./-]*", value) and value.strip() == value
        return value if plain and value.lower() not in {"true", "false", "null"} else f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    return str(value)


def _code(text: str) -> str:
    return f"`{text}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Place:
    """Where a nested model is documented: its key path and the anchor of its section."""

    path: str

    @property
    def anchor(self) -> str:
        """``key-sections-n-blocks-n-table``: prefixed, so it never equals a heading's own id."""
        return "key-" + (re.sub(r"[^a-z0-9]+", "-", self.path.lower()).strip("-") or "top")

    def link(self) -> str:
        return f"[{_code(self.path)}](#{self.anchor})"


def _bounds(meta: Sequence[Any], sized: str | None) -> list[str]:
    """Constraints in words. ``sized`` is "text" or "list" for length limits."""
    out = []
    for m in meta:
        if isinstance(m, FieldInfo):
            out += _bounds(m.metadata, sized)
        elif isinstance(m, at.Gt):
            out.append(f"more than {_number(m.gt)}")
        elif isinstance(m, at.Ge):
            out.append(f"at least {_number(m.ge)}")
        elif isinstance(m, at.Lt):
            out.append(f"less than {_number(m.lt)}")
        elif isinstance(m, at.Le):
            out.append(f"at most {_number(m.le)}")
        elif isinstance(m, at.MinLen):
            if sized == "text" and m.min_length == 1:
                out.append("not empty")
            elif sized == "text":
                out.append(f"at least {m.min_length} characters")
            else:
                out.append(f"at least {m.min_length} item{'s' if m.min_length != 1 else ''}")
        elif isinstance(m, at.MaxLen):
            unit = "characters" if sized == "text" else "items"
            out.append(f"at most {m.max_length} {unit}")
        elif getattr(m, "pattern", None):
            pattern = m.pattern
            out.append(PATTERN_WORDS.get(pattern, f"matching the pattern `{pattern}`"))
    return out


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """The type with ``Annotated`` and ``| None`` taken off, and the constraints found."""
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp, *extra = typing.get_args(tp)
            meta += extra
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return typing.Union[tuple(args)], meta  # noqa: UP007
            tp = args[0]
        else:
            return tp, meta


class Describer:
    """Types in plain words; nested models become links to their own section."""

    def __init__(self, place_of: Callable[[type[BaseModel]], Place]) -> None:
        self.place_of = place_of

    def words(self, tp: Any, meta: Sequence[Any] = (), *, plural: bool = False) -> str:
        tp, inner = _unwrap(tp)
        meta = [*meta, *inner]
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Literal:
            values = ", ".join(_code(_scalar(v)) for v in args)
            noun = values if len(args) == 1 else f"one of {values}"
            return self._with(noun, _bounds(meta, None), plural)
        if origin is list:
            items = self.words(args[0], plural=True)
            return self._with(f"list of {items}", _bounds(meta, "list"), plural, joiner="; ")
        if origin is dict:
            key, value = args
            return self._with(
                f"mapping of {self._key(key)} to {self.words(value)}",
                _bounds(meta, "list"),
                plural,
                joiner="; ",
            )
        if origin in (typing.Union, types.UnionType):
            return " or ".join(self.words(a) for a in args)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            noun = "mappings" if plural else "mapping"
            return f"{noun}, see {self.place_of(tp).link()}"
        singular, many = _WORDS.get(tp, (getattr(tp, "__name__", str(tp)), ""))
        sized = "text" if tp is str else None
        return self._with(many if plural and many else singular, _bounds(meta, sized), plural)

    def _key(self, tp: Any) -> str:
        tp, meta = _unwrap(tp)
        if typing.get_origin(tp) is typing.Literal:
            return "key (" + self.words(tp) + ")"
        rules = _bounds(meta, "text")
        return "name" + (f" ({', '.join(rules)})" if rules else "")

    @staticmethod
    def _with(noun: str, rules: list[str], plural: bool, joiner: str = ", ") -> str:
        if not rules:
            return noun
        return f"{noun}{joiner}{'each ' if plural else ''}{' and '.join(rules)}"


# --------------------------------------------------------------------------- walking


@dataclass
class Section:
    place: Place
    model: type[BaseModel]
    how: str  # how the model is reached from its parent: "" when it is a key's value


def _models_in(tp: Any) -> Iterator[tuple[type[BaseModel], str]]:
    """Nested models of a field type, with the path suffix that reaches them."""
    tp, _ = _unwrap(tp)
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        yield tp, ""
    elif origin is list:
        for model, rest in _models_in(typing.get_args(tp)[0]):
            yield model, ".N" + rest
    elif origin is dict:
        for model, rest in _models_in(typing.get_args(tp)[1]):
            yield model, ".NAME" + rest
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            yield from _models_in(arg)


def walk(root: type[BaseModel]) -> list[Section]:
    """Every model reachable from ``root``, depth first in field order, each once."""
    sections: list[Section] = []
    seen: set[type[BaseModel]] = set()

    def visit(model: type[BaseModel], path: str) -> None:
        if model in seen:
            return
        seen.add(model)
        how = ""
        if path.endswith(".N"):
            how = f"Each item of the list `{path[:-2]}`."
        elif path.endswith(".NAME"):
            how = f"Each entry of `{path[:-5]}`, under a name you choose."
        sections.append(Section(Place(path), model, how))
        for name, field in model.model_fields.items():
            for nested, suffix in _models_in(field.annotation):
                visit(nested, f"{path}.{name}{suffix}" if path else f"{name}{suffix}")

    visit(root, "")
    return sections


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "not set"
    if isinstance(value, BaseModel):
        return "each key at its default"
    if value == "":
        return '`""` (empty)'
    return _code(_scalar(value))


def _key_title(path: str) -> str:
    return "top-level keys" if not path else _code(path)


def render() -> str:
    """The whole page, as Markdown."""
    sections = walk(ReportConfig)
    places = {s.model: s.place for s in sections}
    describer = Describer(lambda model: places[model])
    out = [
        "<!-- Generated by scripts/gen_config_reference.py from the config schema "
        "(reportgen/config.py). Do not edit by hand: change the schema or its docstrings, "
        f"then run {COMMAND} -->",
        "",
        "# Configuration reference",
        "",
        "Every key a report config (`config/NAME.yaml`) accepts, generated from the schema "
        "reportgen validates configs with, so it always matches the version you run. For "
        "what the keys are for, with examples, read [Writing a note](authoring.md); for the "
        "error messages a wrong key gives, [Troubleshooting](troubleshooting.md).",
        "",
        "How to read it:",
        "",
        "- A key path such as `sections.N.blocks.N.table` is written the way error messages "
        "print it: `N` is an item's position in a list, counting from 0; `NAME` is a name "
        "you choose (a fund alias, an assumption name).",
        "- **required** keys must be given; every other key may be left out and then takes "
        "its default. A key that is not listed here is refused, never ignored.",
        "- Text may be written plain or in quotes; a number is written without thousands "
        "separators (`25000000`); a fraction as a decimal (`0.10` is 10 %).",
        "- A mapping is a block of `key: value` lines (or `{key: value, ...}`); a list is a "
        "block of `- item` lines (or `[a, b]`).",
        "",
    ]
    for section in sections:
        model = section.model
        out += [f'<a id="{section.place.anchor}"></a>', ""]
        out += [f"## {_key_title(section.place.path)}", ""]
        intro = model_doc(model)
        if section.how:
            intro = f"{section.how} {intro}".strip()
        if intro:
            out += [intro, ""]
        out += ["| key | type | default | description |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            type_words = describer.words(field.annotation, list(field.metadata))
            description = describe_field(model, name)
            row = [_code(name), type_words, _default(field), description]
            out.append("| " + " | ".join(_cell(c) for c in row) + " |")
        out.append("")
    out += _registry(
        "Table kinds",
        "The values of `table.kind` in a block, with `options` where a kind takes any.",
        TABLES,
    )
    out += _registry(
        "Chart kinds",
        "The values of `chart.kind` in a block, with `options` where a kind takes any.",
        CHARTS,
    )
    return "\n".join(out).rstrip("\n") + "\n"


def _registry(title: str, intro: str, registry: Mapping[str, Callable[..., Any]]) -> list[str]:
    out = [f"## {title}", "", intro, "", "| kind | what it shows |", "|---|---|"]
    for kind, builder in registry.items():
        doc = _clean(builder.__doc__ or "")
        out.append(f"| {_code(kind)} | {_cell(doc)} |")
    return [*out, ""]


# --------------------------------------------------------------------------- command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 (printing a diff) if the committed page is out of date",
    )
    parser.add_argument(
        "--undocumented",
        action="store_true",
        help="write nothing; list the keys that have no docstring in the schema",
    )
    args = parser.parse_args(argv)
    if args.undocumented:
        missing = undocumented(ReportConfig)
        print("\n".join(missing) or "every key has a docstring")
        return 0
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.is_file() else ""
        if current == text:
            print(f"{OUTPUT.relative_to(ROOT)} is up to date")
            return 0
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            text.splitlines(keepends=True),
            "docs/config-reference.md (committed)",
            "docs/config-reference.md (from the schema)",
        )
        sys.stdout.writelines(diff)
        print(f"\ndocs/config-reference.md is out of date; regenerate it with: {COMMAND}")
        return 1
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
