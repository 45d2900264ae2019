"""Strict YAML reading, the typed config schema and compose-stage config errors.

Every message is checked in the contract's form ``PATH:LINE:COLUMN: key: expected ...,
found ...``, with lines and columns counted by hand in the YAML text of each test.
"""

from __future__ import annotations

import os
import textwrap
from datetime import date
from pathlib import Path

import pytest

from reportgen.compose import compose_document
from reportgen.config import LoadedConfig, load_config
from reportgen.dataset import Dataset, load_dataset
from reportgen.errors import InputError, Problem
from reportgen.facts import FactSet
from reportgen.metrics import compute_facts
from reportgen.yaml_source import read_yaml

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 3, 31)


def write(tmp_path: Path, text: str, name: str = "note.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def yaml_problems(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        read_yaml(path)
    return info.value.problems


def config_problems(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load_config(path)
    return info.value.problems


def lines_of(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


# =========================================================================== read_yaml


def test_duplicate_keys_are_refused_naming_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        a: 1
        b:
          c: 2
          c: 3
        a: 4
        """,
    )
    assert lines_of(yaml_problems(path)) == [
        f"{path}:4:3: duplicate key 'c': first defined on line 3",
        f"{path}:5:1: duplicate key 'a': first defined on line 1",
    ]


def test_duplicate_keys_in_flow_mappings_too(tmp_path: Path) -> None:
    path = write(tmp_path, "funds:\n  leader: {ticker: A, ticker: B}\n")
    assert lines_of(yaml_problems(path)) == [
        f"{path}:2:23: duplicate key 'ticker': first defined on line 2"
    ]


def test_anchors_and_aliases_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        base: &b {x: 1}
        other: *b
        """,
    )
    msg = "expected plain values, found a YAML anchor or alias (& or *)"
    assert lines_of(yaml_problems(path)) == [f"{path}:1:7: {msg}", f"{path}:2:8: {msg}"]


def test_merge_keys_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a: {b: 1, <<: {c: 2}}\n")
    assert lines_of(yaml_problems(path)) == [f"{path}:1:11: expected a key, found a merge key (<<)"]


def test_python_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(
        tmp_path,
        f"""
        ok: 1
        a: !!python/object/apply:os.system ["touch {marker}"]
        b: !!python/name:os.getcwd ''
        c: !custom x
        d: !!binary aGk=
        e: !!set {{x, y}}
        """,
    )
    problems = yaml_problems(path)
    assert not marker.exists()
    assert lines_of(problems) == [
        f"{path}:2:4: expected a plain YAML value, found the tag "
        "tag:yaml.org,2002:python/object/apply:os.system",
        f"{path}:3:4: expected a plain YAML value, found the tag "
        "tag:yaml.org,2002:python/name:os.getcwd",
        f"{path}:4:4: expected a plain YAML value, found the tag !custom",
        f"{path}:5:4: expected a plain YAML value, found the tag tag:yaml.org,2002:binary",
        f"{path}:6:4: expected a plain YAML value, found the tag tag:yaml.org,2002:set",
    ]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3, 2, "YAML syntax: expected ',' or ']', but got ':'"),
        ("a: 1\n  b: 2\n", 2, 4, "YAML syntax: mapping values are not allowed here"),
        ("a: 1\n\tb: 2\n", 2, 1, "YAML syntax: found character '\\t' that cannot start any token"),
        ('a: "abc\n', 2, 1, "YAML syntax: found unexpected end of stream"),
    ],
)
def test_syntax_errors_give_path_line_column(
    tmp_path: Path, text: str, line: int, column: int, message: str
) -> None:
    path = write(tmp_path, text)
    assert lines_of(yaml_problems(path)) == [f"{path}:{line}:{column}: {message}"]
    # the same through load_config
    assert lines_of(config_problems(path)) == [f"{path}:{line}:{column}: {message}"]


def test_yaml_11_surprises_stay_the_text_the_author_wrote(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        a: NO
        b: on
        c: 010
        d: 1:30
        e: 2026-03-31
        f: yes
        g: 0x1F
        h: 1_000
        i: .inf
        on: k
        yes: k
        n: ~
        m:
        t: true
        u: false
        q: "true"
        r: '10'
        s: 10
        v: 0.2
        w: -3
        x: +5
        y: 3.
        z: !!str 010
        """,
    )
    data = read_yaml(path).data
    assert data == {
        "a": "NO",
        "b": "on",
        "c": "010",
        "d": "1:30",
        "e": "2026-03-31",
        "f": "yes",
        "g": "0x1F",
        "h": "1_000",
        "i": ".inf",
        "on": "k",  # keys are text too, never True
        "yes": "k",
        "n": None,
        "m": None,
        "t": True,
        "u": False,
        "q": "true",
        "r": "10",
        "s": 10,
        "v": 0.2,
        "w": -3,
        "x": 5,
        "y": 3.0,
        "z": "010",
    }
    assert type(data["s"]) is int
    assert type(data["v"]) is float


def test_exponent_numbers_are_numbers(tmp_path: Path) -> None:
    """YAML 1.2 core schema (which resolve_scalar follows, see its _FLOAT pattern):
    ``25e6`` is a float. PyYAML's 1.1 resolver tags it as a string, which must not
    leak through, or ``orders_usd: [25e6]`` is refused as "found '25e6'"."""
    path = write(tmp_path, "a: 25e6\nb: 1.5e8\nc: 1E3\n")
    assert read_yaml(path).data == {"a": 25e6, "b": 1.5e8, "c": 1000.0}


def test_values_remember_their_positions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        scenario:
          fee_drag_years: 10
        sections:
          - id: a
        """,
    )
    doc = read_yaml(path)
    assert doc.mark_for(("scenario", "fee_drag_years")).line == 2
    assert doc.mark_for(("scenario", "fee_drag_years")).column == 19
    assert doc.mark_for(("sections", 0, "id")).line == 4
    assert doc.mark_for(("sections", 0, "id")).column == 9
    # a location without a mark falls back on its nearest ancestor
    assert doc.mark_for(("sections", 0, "id", "nothing")).line == 4


def test_unreadable_inputs(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert lines_of(yaml_problems(missing)) == [f"{missing}: expected a YAML file, found nothing"]
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: \xff\n")
    assert lines_of(yaml_problems(bad)) == [f"{bad}:2: expected UTF-8 text, found an invalid byte"]
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert lines_of(yaml_problems(bom)) == [
        f"{bom}:1: expected UTF-8 text, found a byte-order mark"
    ]


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_config_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert lines_of(config_problems(path)) == [f"{path}:1:1: expected a mapping of report settings"]


# =========================================================================== typed schema

BASE = "id: t\ntitle: T\n"  # lines 1-2 of every schema test


def test_page_size_is_refused_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "page_size: a4\n")
    assert lines_of(config_problems(path)) == [
        f"{path}:3:12: page_size: expected 'A4' or 'Letter', found 'a4'"
    ]


@pytest.mark.parametrize(
    ("snippet", "column", "message"),
    [
        # the brief's own example: YAML 1.1 octal stays text, refused as an integer
        (
            "scenario: {fee_drag_years: 010}",
            28,
            "scenario.fee_drag_years: expected an integer, found '010'",
        ),
        (
            "scenario: {fee_drag_years: 1:30}",
            28,
            "scenario.fee_drag_years: expected an integer, found '1:30'",
        ),
        (
            "scenario: {fee_drag_years: 10.0}",
            28,
            "scenario.fee_drag_years: expected an integer, found 10.0",
        ),
        # there is no bool field in the schema; a YAML 1.1 flag word given for a number:
        (
            "scenario: {adv_participation: on}",
            31,
            "scenario.adv_participation: expected a number, found 'on'",
        ),
        (
            "scenario: {adv_participation: NO}",
            31,
            "scenario.adv_participation: expected a number, found 'NO'",
        ),
        (
            "scenario: {adv_participation: true}",
            31,
            "scenario.adv_participation: expected a number, found True",
        ),
        (
            "scenario: {stress_shocks: [0.1, 2026-03-31]}",
            33,
            "scenario.stress_shocks.1: expected a number, found '2026-03-31'",
        ),
        (
            "funds: {x: {select: largest, by: aum, rank: NO}}",
            45,
            "funds.x.rank: expected an integer, found 'NO'",
        ),
        ("page_size: on", 12, "page_size: expected 'A4' or 'Letter', found 'on'"),
        ("subtitle: 2026", 11, "subtitle: expected text, found 2026"),
        ("sections: {a: 1}", 11, "sections: expected a list, found a mapping"),
    ],
)
def test_wrong_types_name_the_field_and_what_was_expected(
    tmp_path: Path, snippet: str, column: int, message: str
) -> None:
    path = write(tmp_path, BASE + snippet + "\n")
    assert lines_of(config_problems(path)) == [f"{path}:3:{column}: {message}"]


def test_yaml_11_words_are_fine_where_text_is_expected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + textwrap.dedent(
            """\
            house: NO
            byline: on
            note_type: 2026-03-31
            funds: {x: {ticker: 1:30}}
            """
        ),
    )
    model = load_config(path).model
    assert model.house == "NO"
    assert model.byline == "on"
    assert model.note_type == "2026-03-31"
    assert model.funds["x"].ticker == "1:30"


def test_out_of_range_numbers_say_the_bound(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + textwrap.dedent(
            """\
            scenario:
              fee_drag_years: 0
              adv_participation: 0
              stress_shocks: [1.5]
            """
        ),
    )
    problems = config_problems(path)
    assert [(p.line, p.char_column) for p in problems] == [(4, 19), (5, 22), (6, 19)]
    assert problems[0].message == "scenario.fee_drag_years: expected a number >= 1, found 0"
    for p in problems[1:]:
        # "expected input should be greater than 0" is pydantic's sentence, not ours
        assert "input should" not in p.message.lower(), p.message
    assert problems[1].message == "scenario.adv_participation: expected a number > 0, found 0"
    assert problems[2].message == "scenario.stress_shocks.0: expected a number <= 1, found 1.5"


def test_an_empty_list_where_one_item_is_needed(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "scenario: {orders_usd: []}\n")
    (p,) = config_problems(path)
    assert (p.line, p.char_column) == (3, 24)
    assert p.message.startswith("scenario.orders_usd: expected ")
    assert "at least 1" in p.message
    assert "should" not in p.message, p.message  # pydantic's sentence, not ours


def test_missing_required_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "title: T\nsections:\n  - id: a\n    blocks: []\n")
    assert lines_of(config_problems(path)) == [
        f"{path}:1:1: id: expected a value, found nothing",
        f"{path}:3:5: sections.0.title: expected a value, found nothing",
    ]


# -- unknown keys, at every level, with the allowed keys listed ---------------------------

TOP_KEYS = (
    "id, title, subtitle, byline, house, note_type, page_size, templates, funds, "
    "assumptions, scenario, key_figures, sections, compliance, approval, disclaimer, "
    "footer_disclaimer, legends"
)


@pytest.mark.parametrize(
    ("snippet", "line", "column", "key", "allowed"),
    [
        ("colour: red", 3, 1, "colour", TOP_KEYS),
        (
            "scenario: {fee_drag: 1}",
            3,
            12,
            "scenario.fee_drag",
            "source, stress_shocks, "
            "orders_usd, adv_participation, fee_drag_years, fee_drag_investment_usd",
        ),
        (
            "funds:\n  leader: {ticker: A, sort: x}",
            4,
            23,
            "funds.leader.sort",
            "ticker, select, role, by, rank, subject",
        ),
        (
            "assumptions:\n  a1: {value: 1, unit: usd, source: s, foo: 1}",
            4,
            40,
            "assumptions.a1.foo",
            "value, unit, source, description",
        ),
        (
            "key_figures:\n  - {label: a, fact: b, notes: c}",
            4,
            25,
            "key_figures.0.notes",
            "label, fact, note",
        ),
        (
            "sections:\n  - {id: s, title: S, blocks: [], extra: 1}",
            4,
            35,
            "sections.0.extra",
            "id, title, blocks, when",
        ),
        (
            "sections:\n  - id: s\n    title: S\n    blocks:\n      - {paragraph: x, para: y}",
            7,
            24,
            "sections.0.blocks.0.para",
            "paragraph, paragraph_file, table, chart, callout, faq",
        ),
        (
            "sections:\n  - id: s\n    title: S\n    blocks:\n      - table: {kind: fees, cap: y}",
            7,
            29,
            "sections.0.blocks.0.table.cap",
            "kind, caption, options",
        ),
        (
            "sections:\n  - id: s\n    title: S\n    blocks:\n      - chart: {kind: x, colour: y}",
            7,
            26,
            "sections.0.blocks.0.chart.colour",
            "kind, caption, title, options",
        ),
        (
            "sections:\n  - id: s\n    title: S\n    blocks:\n      - callout: {title: x, body: y}",
            7,
            29,
            "sections.0.blocks.0.callout.body",
            "title, text",
        ),
        (
            "sections:\n  - id: s\n    title: S\n    blocks:\n      - faq: [{q: x, a: y, b: z}]",
            7,
            28,
            "sections.0.blocks.0.faq.0.b",
            "q, a",
        ),
    ],
)
def test_unknown_keys_are_refused_at_every_level(
    tmp_path: Path, snippet: str, line: int, column: int, key: str, allowed: str
) -> None:
    path = write(tmp_path, BASE + snippet + "\n")
    assert lines_of(config_problems(path)) == [
        f"{path}:{line}:{column}: {key}: unknown key; expected one of {allowed}"
    ]


def test_options_take_any_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE + "sections:\n  - {id: s, title: S, blocks: [{table: {kind: x, options: {zz: 1}}}]}\n",
    )
    assert load_config(path).model.sections[0].blocks[0].table.options == {"zz": 1}  # type: ignore[union-attr]


# -- blocks --------------------------------------------------------------------------------

KINDS = "paragraph, paragraph_file, table, chart, callout, faq"


def test_a_block_with_two_kinds_or_none(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + textwrap.dedent(
            """\
            sections:
              - id: s
                title: S
                blocks:
                  - paragraph: hi
                    table: {kind: fees}
                  - {}
                  - chart: {kind: x}
                    callout: {title: t}
                    faq: [{q: a, a: b}]
            """
        ),
    )
    assert lines_of(config_problems(path)) == [
        f"{path}:7:9: sections.0.blocks.0: expected exactly one of {KINDS}, found paragraph, table",
        f"{path}:9:9: sections.0.blocks.1: expected exactly one of {KINDS}, found none",
        f"{path}:10:9: sections.0.blocks.2: expected exactly one of {KINDS}, "
        "found chart, callout, faq",
    ]


# -- all problems at once --------------------------------------------------------------------


def test_every_problem_is_reported_at_once_sorted_by_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        bogus: 1
        id: Not An Id
        title: T
        page_size: a4
        scenario: {fee_drag_years: 010, adv_participation: on}
        sections:
          - id: s
            title: S
            blocks:
              - paragraph: hi
                table: {kind: fees}
              - chart: {kind: a, colour: red}
            extra: 1
        funds:
          leader: {select: largest, by: aum, rank: 1:30}
          both: {ticker: X, select: largest, by: aum}
        key_figures:
          - {label: a, fact: b, notes: c}
        """,
    )
    got = lines_of(config_problems(path))
    assert got == [
        f"{path}:1:1: bogus: unknown key; expected one of {TOP_KEYS}",
        f"{path}:2:5: id: expected an id of lowercase letters, digits, _ and -, found 'Not An Id'",
        f"{path}:4:12: page_size: expected 'A4' or 'Letter', found 'a4'",
        f"{path}:5:28: scenario.fee_drag_years: expected an integer, found '010'",
        f"{path}:5:52: scenario.adv_participation: expected a number, found 'on'",
        f"{path}:10:9: sections.0.blocks.0: expected exactly one of {KINDS}, "
        "found paragraph, table",
        f"{path}:12:26: sections.0.blocks.1.chart.colour: unknown key; "
        "expected one of kind, caption, title, options",
        f"{path}:13:5: sections.0.extra: unknown key; expected one of id, title, blocks, when",
        f"{path}:15:44: funds.leader.rank: expected an integer, found '1:30'",
        f"{path}:16:9: funds.both: expected either ticker or select (with by), "
        "found both or neither",
        f"{path}:18:25: key_figures.0.notes: unknown key; expected one of label, fact, note",
    ]


def test_yaml_problems_of_several_kinds_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        id: t
        title: &t T
        id: u
        x: !!python/name:os.system ''
        """,
    )
    assert lines_of(yaml_problems(path)) == [
        f"{path}:2:8: expected plain values, found a YAML anchor or alias (& or *)",
        f"{path}:3:1: duplicate key 'id': first defined on line 1",
        f"{path}:4:4: expected a plain YAML value, found the tag "
        "tag:yaml.org,2002:python/name:os.system",
    ]


# -- the real config ---------------------------------------------------------------------


def test_the_shipped_config_loads_cleanly() -> None:
    loaded = load_config(ROOT / "config" / "ai_etf_monthly.yaml")
    cfg = loaded.model
    assert cfg.id == "ai_etf_monthly"
    assert cfg.page_size == "A4"
    assert cfg.scenario.fee_drag_years == 10
    assert cfg.scenario.orders_usd == [25_000_000, 100_000_000]
    assert set(cfg.funds) == {"leader", "runner_up", "momentum", "cheapest", "priciest"}
    assert cfg.funds["runner_up"].rank == 2
    assert [s.id for s in cfg.sections] == [
        "context",
        "data-deep-dive",
        "sector-implications",
        "risk-assessment",
        "outlook",
        "perspective",
        "bottom-line",
        "performance",
        "faq",
    ]
    assert len(cfg.key_figures) == 6


# =========================================================================== compose stage


@pytest.fixture(scope="module")
def sample() -> tuple[Dataset, FactSet]:
    ds = load_dataset(ROOT / "data" / "sample")
    return ds, compute_facts(ds, AS_OF)


def compose_problems(sample: tuple[Dataset, FactSet], path: Path) -> list[Problem]:
    ds, facts = sample
    loaded: LoadedConfig = load_config(path)
    with pytest.raises(InputError) as info:
        compose_document(loaded, ds, facts, AS_OF)
    return info.value.problems


def compose_ok(sample: tuple[Dataset, FactSet], path: Path) -> None:
    ds, facts = sample
    compose_document(load_config(path), ds, facts, AS_OF)


HEAD = """\
id: t
title: Title
sections:
  - id: intro
    title: Intro
    blocks:
"""  # the blocks of the section start on line 7


def test_a_minimal_config_composes(sample: tuple[Dataset, FactSet], tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "      - paragraph: Assets {{ fact('theme.aum.total') }}\n")
    compose_ok(sample, path)


def test_unknown_fact_in_a_one_line_paragraph(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    path = write(tmp_path, HEAD + "      - paragraph: Assets {{ fact('theme.aum.totl') }}\n")
    (p,) = compose_problems(sample, path)
    assert p.path == str(path)
    assert (p.line, p.char_column) == (7, 20)
    assert "sections.0.blocks.0.paragraph" in p.message
    assert "unknown fact id 'theme.aum.totl'" in p.message
    assert "theme.aum.total" in p.message  # the near miss is suggested
    assert p.message.endswith("(section 'intro')")


def test_unknown_fact_deep_inside_a_literal_block(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        HEAD
        + "      - paragraph: Fine {{ fact('theme.count') }}\n"  # 7
        + "      - paragraph: |\n"  # 8
        + "          Line one {{ fact('theme.aum.total') }}.\n"  # 9
        + "          Line two.\n"  # 10
        + "\n"  # 11
        + "          Line four {{ fact('no.such.fact') }}.\n"  # 12
        + "          Line five.\n",  # 13
    )
    (p,) = compose_problems(sample, path)
    assert p.path == str(path)
    assert p.line == 12
    assert "sections.0.blocks.1.paragraph: unknown fact id 'no.such.fact'" in p.message
    assert p.message.endswith("(section 'intro')")
    assert str(p).startswith(f"{path}:12:")


def test_unknown_fact_deep_inside_a_folded_block(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    """``>`` folds line breaks into spaces before Jinja sees the text, so the template's
    own line number no longer matches the file; the report must still name line 10."""
    path = write(
        tmp_path,
        HEAD
        + "      - paragraph: >\n"  # 7
        + "          Folded one\n"  # 8
        + "          folded two\n"  # 9
        + "          folded three {{ fact('bad.folded') }}\n",  # 10
    )
    (p,) = compose_problems(sample, path)
    assert p.line == 10
    assert "unknown fact id 'bad.folded'" in p.message


def test_unknown_fact_in_a_folded_title_names_its_line(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    # the shipped config writes its title exactly so: a ">-" block over several lines
    path = write(
        tmp_path,
        "id: t\n"  # 1
        "title: >-\n"  # 2
        "  AI ETFs Draw {{ amount('theme.flows.ytd') }} of\n"  # 3
        "  {{ direction('theme.flows.ytd', 'Inflows', 'Outflows') }} as the Index\n"  # 4
        "  {{ direction('index.theme.return.ytdd', 'Gains', 'Falls') }}\n"  # 5
        "sections: []\n",
    )
    (p,) = compose_problems(sample, path)
    assert p.line == 5
    assert "title: unknown fact id 'index.theme.return.ytdd'" in p.message


def test_unknown_fact_in_a_faq_answer_and_a_callout(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        HEAD
        + "      - faq:\n"  # 7
        + "          - q: Why?\n"  # 8
        + "            a: |\n"  # 9
        + "              first\n"  # 10
        + "              second {{ fact('bad.faq') }}\n"  # 11
        + "      - callout:\n"  # 12
        + "          title: Box\n"  # 13
        + "          text: |\n"  # 14
        + "            - one\n"  # 15
        + "            - two {{ fact('bad.callout') }}\n",  # 16
    )
    problems = compose_problems(sample, path)
    assert [(p.line, p.path) for p in problems] == [(11, str(path)), (16, str(path))]
    assert "sections.0.blocks.0.faq.0.a: unknown fact id 'bad.faq'" in problems[0].message
    assert "sections.0.blocks.1.callout.text: unknown fact id 'bad.callout'" in problems[1].message
    assert all(p.message.endswith("(section 'intro')") for p in problems)


def test_unknown_fact_in_a_commentary_file_names_that_file_and_line(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    path = write(tmp_path, HEAD + "      - paragraph_file: commentary/a.md\n")
    write(tmp_path, "one\ntwo\nthree {{ fact('bad.md') }}\n", "commentary/a.md")
    (p,) = compose_problems(sample, path)
    md = str(tmp_path / "commentary" / "a.md")
    if p.path == md:
        assert p.line == 3
    else:  # or the config's line, naming the file and its line in the message
        assert (p.path, p.line) == (str(path), 7)
        assert "commentary/a.md" in p.message
        assert ":3" in p.message or "line 3" in p.message
    assert "unknown fact id 'bad.md'" in p.message
    assert "(section 'intro')" in p.message


def test_unknown_table_and_chart_kinds(sample: tuple[Dataset, FactSet], tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + "      - table: {kind: nonesuch}\n"  # 7
        + "      - chart:\n"  # 8
        + "          kind: nochart\n",  # 9
    )
    problems = compose_problems(sample, path)
    assert [str(p).split(": ")[0] for p in problems] == [f"{path}:7:23", f"{path}:9:17"]
    assert problems[0].message.startswith("unknown table kind 'nonesuch'; expected one of ")
    assert "etf_performance" in problems[0].message and "fees" in problems[0].message
    assert problems[1].message.startswith("unknown chart kind 'nochart'; expected one of ")
    assert "monthly_flows" in problems[1].message
    assert all(p.message.endswith("(section 'intro')") for p in problems)


def test_unknown_fund_aliases(sample: tuple[Dataset, FactSet], tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id: t\n"  # 1
        "title: Title\n"  # 2
        "funds:\n"  # 3
        "  leader: {select: largest, role: theme, by: aum}\n"  # 4
        "  ghost: {ticker: ZZZZ}\n"  # 5
        "key_figures:\n"  # 6
        "  - {label: A, fact: etf.@nobody.aum}\n"  # 7
        "sections:\n"  # 8
        "  - id: intro\n"  # 9
        "    title: Intro\n"  # 10
        "    blocks:\n"  # 11
        "      - paragraph: \"{{ fund('nobody').name }}\"\n"  # 12
        "      - paragraph: \"{{ fact('etf.@nobody.aum') }} {{ fact('etf.@leader.aum') }}\"\n",
    )
    problems = compose_problems(sample, path)
    assert [p.line for p in problems] == [5, 7, 12, 13]
    assert problems[0].message == "funds.ghost: ticker 'ZZZZ' is not an ETF in the universe"
    assert "key_figures.0.fact: unknown fund 'nobody'" in problems[1].message
    for p in problems[1:]:
        assert "unknown fund 'nobody'" in p.message
        assert "leader" in p.message  # the known aliases are listed
    assert problems[2].message.endswith("(section 'intro')")


def test_unknown_fund_alias_in_chart_options(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    path = write(tmp_path, HEAD + "      - chart: {kind: drawdowns, options: {funds: [nobody]}}\n")
    problems = compose_problems(sample, path)
    assert [p.line for p in problems] == [7]
    assert "nobody" in problems[0].message
    assert problems[0].message.endswith("(section 'intro')")


def test_bad_table_options_are_config_problems_not_crashes(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        HEAD
        + "      - table: {kind: largest_funds, options: {count: lots}}\n"  # 7
        + "      - table: {kind: exposure, options: {by: sectr}}\n",  # 8
    )
    problems = compose_problems(sample, path)
    assert [p.line for p in problems] == [7, 8]
    assert "lots" in problems[0].message
    assert "sectr" in problems[1].message


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "../outside.md"])
def test_paragraph_file_outside_the_config_folder_is_refused(
    sample: tuple[Dataset, FactSet], tmp_path: Path, name: str
) -> None:
    (tmp_path / "outside.md").write_text("SECRET {{ fact('theme.count') }}\n", encoding="utf-8")
    path = write(tmp_path / "cfg", HEAD + f"      - paragraph_file: {name}\n")
    (p,) = compose_problems(sample, path)
    assert (p.path, p.line, p.char_column) == (str(path), 7, 25)
    assert f"paragraph_file: cannot use {name!r}" in p.message
    expected = "absolute path" if name.startswith("/") else "leading outside it"
    assert expected in p.message
    assert p.message.endswith("(section 'intro')")


def test_paragraph_file_through_a_symlink_out_is_refused(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("SECRET\n", encoding="utf-8")
    cfg = tmp_path / "cfg"
    (cfg / "commentary").mkdir(parents=True)
    os.symlink(secret, cfg / "commentary" / "link.md")
    os.symlink(tmp_path, cfg / "commentary" / "up")
    path = write(
        cfg,
        HEAD
        + "      - paragraph_file: commentary/link.md\n"
        + "      - paragraph_file: commentary/up/secret.md\n",
    )
    problems = compose_problems(sample, path)
    assert [(p.line, p.char_column) for p in problems] == [(7, 25), (8, 25)]
    for p in problems:
        assert "leading outside it" in p.message
        assert "SECRET" not in p.message


def test_paragraph_file_inside_through_a_symlink_is_fine(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    write(tmp_path, "Assets {{ fact('theme.aum.total') }}\n", "commentary/a.md")
    os.symlink(tmp_path / "commentary" / "a.md", tmp_path / "commentary" / "b.md")
    path = write(tmp_path, HEAD + "      - paragraph_file: commentary/b.md\n")
    compose_ok(sample, path)


def test_several_compose_problems_are_reported_together(
    sample: tuple[Dataset, FactSet], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "id: t\n"  # 1
        "title: Title {{ fact('bad.title') }}\n"  # 2
        "funds:\n"  # 3
        "  ghost: {ticker: ZZZZ}\n"  # 4
        "sections:\n"  # 5
        "  - id: intro\n"  # 6
        "    title: Intro\n"  # 7
        "    blocks:\n"  # 8
        "      - paragraph: \"{{ fact('bad.one') }}\"\n"  # 9
        "      - table: {kind: nonesuch}\n"  # 10
        "  - id: second\n"  # 11
        "    title: Second\n"  # 12
        "    blocks:\n"  # 13
        "      - chart: {kind: nochart}\n"  # 14
        "      - paragraph_file: ../x.md\n"  # 15
        "      - paragraph: |\n"  # 16
        "          ok\n"  # 17
        "          {{ nope }}\n"  # 18
        "disclaimer: '{{ fact(\"bad.disclaimer\") }}'\n",  # 19
    )
    problems = compose_problems(sample, path)
    assert [p.line for p in problems] == [2, 4, 9, 10, 14, 15, 18, 19]
    assert all(p.path == str(path) for p in problems)
    sections = [
        None,
        None,
        "intro",
        "intro",
        "second",
        "second",
        "second",
        None,
    ]
    for p, section in zip(problems, sections, strict=True):
        if section:
            assert p.message.endswith(f"(section {section!r})"), p.message
        else:
            assert "(section" not in p.message, p.message
    assert "undefined name" in problems[6].message and "nope" in problems[6].message
