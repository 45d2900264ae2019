"""Analysts' commentary: Jinja over facts, then Markdown, then the facts and names put back.

Facts are hand-made with make_fact/null_fact, so every expected display is the policy
applied by hand (see tests/test_formatting.py).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from markupsafe import Markup

from reportgen.authoring import AuthoringContext, AuthoringError, FundRef
from reportgen.config import Assumption
from reportgen.facts import Fact, FactSet, make_fact, null_fact

D = date(2026, 3, 31)
HOSTILE = "A_B*C* <x> & {{ 7*7 }} $5 `c` [l](http://e.x) \\*"
HOSTILE_HTML = "A_B*C* &lt;x&gt; &amp; {{ 7*7 }} $5 `c` [l](http://e.x) \\*"


def fact(fact_id: str, value: float, unit: str, style: str | None = None) -> Fact:
    return make_fact(fact_id, value, unit, as_of=D, sources=["Src"], style=style)  # type: ignore[arg-type]


def span(fact_id: str, text: str) -> str:
    return f'<span class="fact" data-fact="{fact_id}">{text}</span>'


@pytest.fixture
def ctx() -> AuthoringContext:
    facts = FactSet(
        [
            fact("r.up", 0.15, "percent"),
            fact("r.down", -0.18, "percent"),
            fact("r.zero", -0.0004, "percent"),  # displays "0.0%"
            fact("r.small", 0.0005, "percent"),  # displays "0.1%"
            null_fact("r.null", "percent", "no close on 2025-12-31", as_of=D, sources=["Src"]),
            fact("f.in", 4.2e9, "usd"),
            fact("f.out", -1e9, "usd"),
            fact("f.zero", -0.4, "usd"),  # displays "$0"
            null_fact("f.null", "usd", "no flows file", as_of=D, sources=["Src"]),
            fact("rel.up", 0.08, "pp"),
            fact("rel.down", -0.12, "pp"),
            fact("rel.zero", 0.0004, "pp"),  # displays "0.0 pp"
            null_fact("rel.null", "pp", "benchmark missing", as_of=D, sources=["Src"]),
            fact("etf.ABC.aum", 350e6, "usd"),
            fact("etf.ABC.expense_ratio", 0.0075, "percent", "fee"),
            fact("etf.XYZ.aum", 850e3, "usd"),
        ]
    )
    funds = {
        "leader": FundRef("ABC", HOSTILE, "Issuer & Co"),
        "small": FundRef("XYZ", "Small Fund", None),
    }
    assumptions = {"shock": Assumption(value=0.2, unit="percent", source="House scenario")}
    return AuthoringContext(facts, funds, assumptions, D)


def render(ctx: AuthoringContext, source: str, *, inline: bool = True) -> str:
    html, _ = ctx.render_markdown(source, inline=inline)
    assert isinstance(html, Markup)
    return str(html)


# --------------------------------------------------------------------------- fact()


def test_fact_wraps_the_display_in_a_marked_span(ctx: AuthoringContext) -> None:
    assert render(ctx, "{{ fact('r.up') }}") == span("r.up", "15.0%")
    assert render(ctx, "{{ fact('r.down') }}") == span("r.down", "-18.0%")
    assert render(ctx, "{{ fact('f.in') }}") == span("f.in", "$4.2bn")
    assert render(ctx, "{{ fact('rel.up') }}") == span("rel.up", "+8.0 pp")
    assert render(ctx, "{{ fact('etf.ABC.expense_ratio') }}") == span(
        "etf.ABC.expense_ratio", "0.75%"
    )


def test_fact_of_a_null_prints_not_available(ctx: AuthoringContext) -> None:
    assert render(ctx, "{{ fact('r.null') }}") == span("r.null", "n/a")


def test_block_rendering_wraps_a_paragraph(ctx: AuthoringContext) -> None:
    html = render(ctx, "Assets of {{ fact('etf.ABC.aum') }}.", inline=False)
    assert html == f"<p>Assets of {span('etf.ABC.aum', '$350.0m')}.</p>"


def test_usage_records_printed_facts_and_assumptions(ctx: AuthoringContext) -> None:
    _, usage = ctx.render_markdown(
        "{{ fact('r.up') }} {{ change('r.down') }} {{ assumption('shock') }}"
        "{% if available('f.in') %}x{% endif %}"
    )
    assert sorted(usage.facts) == ["r.down", "r.up"]  # available() prints nothing
    assert usage.facts["r.up"].display == "15.0%"
    assert list(usage.assumptions) == ["shock"]


def test_assumption_is_marked_as_such(ctx: AuthoringContext) -> None:
    assert render(ctx, "{{ assumption('shock') }}") == (
        '<span class="fact assumption" data-assumption="shock">20.0%</span>'
    )
    with pytest.raises(AuthoringError, match=r"unknown assumption 'nope'.*shock"):
        ctx.render_markdown("{{ assumption('nope') }}")


# --------------------------------------------------------------------------- wording


@pytest.mark.parametrize(
    ("fact_id", "expected"),
    [
        ("r.up", "rose " + span("r.up", "15.0%")),
        ("r.down", "fell " + span("r.down", "18.0%")),  # sign dropped beside the word
        ("r.zero", "was unchanged at " + span("r.zero", "0.0%")),  # -0.04 % prints 0.0 %
        ("r.small", "rose " + span("r.small", "0.1%")),
    ],
)
def test_change(ctx: AuthoringContext, fact_id: str, expected: str) -> None:
    assert render(ctx, f"{{{{ change('{fact_id}') }}}}") == expected


def test_change_of_a_null_says_not_available(ctx: AuthoringContext) -> None:
    text = render(ctx, "The index {{ change('r.null') }}.")
    assert text == f"The index was {span('r.null', 'n/a')}."
    plain = re.sub(r"<[^>]+>", "", text)
    assert "nan" not in plain.lower().replace("n/a", "")
    assert not re.search(r"\d", plain)
    for word in ("rose", "fell", "unchanged"):
        assert word not in plain


def test_change_with_custom_words(ctx: AuthoringContext) -> None:
    assert render(ctx, "{{ change('r.up', 'gained', 'lost') }}") == (
        "gained " + span("r.up", "15.0%")
    )
    assert render(ctx, "{{ change('r.down', 'gained', 'lost') }}") == (
        "lost " + span("r.down", "18.0%")
    )


@pytest.mark.parametrize(
    ("fact_id", "expected"),
    [
        ("f.in", "net inflows of " + span("f.in", "$4.2bn")),
        ("f.out", "net outflows of " + span("f.out", "$1.0bn")),
        ("f.zero", "net flows of " + span("f.zero", "$0")),
        ("f.null", "net flows of " + span("f.null", "n/a")),
    ],
)
def test_flows(ctx: AuthoringContext, fact_id: str, expected: str) -> None:
    assert render(ctx, f"{{{{ flows('{fact_id}') }}}}") == expected


@pytest.mark.parametrize(
    ("fact_id", "expected"),
    [
        ("rel.up", "outperformed"),
        ("rel.down", "underperformed"),
        ("rel.zero", "matched"),  # +0.04 pp prints "0.0 pp"
        ("rel.null", "could not be compared"),
    ],
)
def test_compare(ctx: AuthoringContext, fact_id: str, expected: str) -> None:
    assert render(ctx, f"{{{{ compare('{fact_id}') }}}}") == expected


@pytest.mark.parametrize(
    ("fact_id", "expected"),
    [
        ("r.up", "Gains"),
        ("r.down", "Falls"),
        ("r.zero", "Holds"),
        ("r.null", "not available"),
        ("f.zero", "Holds"),
    ],
)
def test_direction(ctx: AuthoringContext, fact_id: str, expected: str) -> None:
    src = f"{{{{ direction('{fact_id}', 'Gains', 'Falls', 'Holds') }}}}"
    assert render(ctx, src) == expected


def test_direction_defaults(ctx: AuthoringContext) -> None:
    assert render(ctx, "{{ direction('r.zero', 'up', 'down') }}") == "unchanged"
    assert render(ctx, "{{ direction('r.null', 'up', 'down', missing='unknown') }}") == "unknown"


@pytest.mark.parametrize(
    ("fact_id", "expected"),
    [
        ("r.down", span("r.down", "18.0%")),
        ("f.out", span("f.out", "$1.0bn")),
        ("rel.up", span("rel.up", "8.0 pp")),
        ("rel.down", span("rel.down", "12.0 pp")),
        ("r.up", span("r.up", "15.0%")),
        ("r.null", span("r.null", "n/a")),
    ],
)
def test_amount_drops_the_sign(ctx: AuthoringContext, fact_id: str, expected: str) -> None:
    assert render(ctx, f"{{{{ amount('{fact_id}') }}}}") == expected


def test_value_and_available_for_conditions(ctx: AuthoringContext) -> None:
    src = (
        "{% if value('r.up') > 0.1 %}big{% endif %}"
        "{% if available('r.null') %}A{% else %}N{% endif %}"
        "{% if available('etf.@leader.aum') %}L{% endif %}"
        "{% if available('no.such') %}X{% endif %}"
    )
    assert render(ctx, src) == "bigNL"


# --------------------------------------------------------------------------- ids and funds


def test_alias_in_a_fact_id_resolves_to_the_ticker(ctx: AuthoringContext) -> None:
    assert render(ctx, "{{ fact('etf.@leader.aum') }}") == span("etf.ABC.aum", "$350.0m")
    assert render(ctx, "{{ fact('etf.@small.aum') }}") == span("etf.XYZ.aum", "$850k")
    assert ctx.resolve_id("etf.@leader.expense_ratio") == "etf.ABC.expense_ratio"
    assert ctx.lookup("etf.@leader.aum").value == 350e6


def test_unknown_fact_id_raises_with_the_template_line(ctx: AuthoringContext) -> None:
    with pytest.raises(AuthoringError) as info:
        ctx.render_markdown("first {{ fact('r.up') }}\nsecond\nthird {{ fact('r.upp') }}\n")
    assert "unknown fact id 'r.upp'" in str(info.value)
    assert info.value.lineno == 3


def test_unknown_fact_on_line_one(ctx: AuthoringContext) -> None:
    with pytest.raises(AuthoringError) as info:
        ctx.render_markdown("{{ flows('f.nope') }}")
    assert "unknown fact id 'f.nope'" in str(info.value)
    assert info.value.lineno == 1


def test_unknown_fund_alias_raises_naming_the_known_ones(ctx: AuthoringContext) -> None:
    for src, line in (
        ("a\n{{ fund('ghost').name }}", 2),
        ("a\nb\n{{ fact('etf.@ghost.aum') }}", 3),
    ):
        with pytest.raises(AuthoringError) as info:
            ctx.render_markdown(src)
        assert "unknown fund 'ghost'" in str(info.value)
        assert "leader" in str(info.value) and "small" in str(info.value)
        assert info.value.lineno == line


def test_fund_names_print_as_escaped_data(ctx: AuthoringContext) -> None:
    assert render(ctx, "{{ fund('leader').name }}") == f'<span class="name">{HOSTILE_HTML}</span>'
    assert render(ctx, "{{ fund('leader').ticker }}") == '<span class="name">ABC</span>'
    assert render(ctx, "{{ fund('leader').issuer }}") == (
        '<span class="name">Issuer &amp; Co</span>'
    )
    assert render(ctx, "{{ fund('small').issuer }}") == '<span class="name">n/a</span>'
    assert render(ctx, "{{ fund('leader') }}") == f'<span class="name">{HOSTILE_HTML}</span>'


# --------------------------------------------------------------------------- escaping


def test_data_values_are_inserted_literally_after_markdown(ctx: AuthoringContext) -> None:
    html = render(
        ctx, "**Bold** and *{{ fund('leader').name }}* and {{ fund('leader').name }}", inline=False
    )
    assert html == (
        "<p><strong>Bold</strong> and "
        f'<em><span class="name">{HOSTILE_HTML}</span></em> and '
        f'<span class="name">{HOSTILE_HTML}</span></p>'
    )
    # the data itself produced no markup and no evaluation
    name_spans = re.findall(r'<span class="name">(.*?)</span>', html)
    assert name_spans == [HOSTILE_HTML, HOSTILE_HTML]
    for inner in name_spans:
        assert "<em>" not in inner and "<code>" not in inner and "<a " not in inner
        assert "49" not in inner
        assert "{{ 7*7 }}" in inner
        assert "&amp;amp;" not in inner  # escaped exactly once
        assert "&lt;x&gt;" in inner


@pytest.mark.parametrize(
    "name",
    [
        "A_B*C*",
        "_under_",
        "**strong**",
        "{{ 7*7 }}",
        "{% raw %}x",
        "<script>alert(1)</script>",
        "AT&T",
        "$100 & 5%",
        "# Heading",
        "1. item",
        "> quote",
        "\ue0000\ue001",  # the placeholder characters themselves
    ],
)
def test_any_fund_name_round_trips_as_text(name: str) -> None:
    ctx = AuthoringContext(FactSet(), {"f": FundRef("T", name, None)}, {}, D)
    html = render(ctx, "Fund: {{ fund('f').name }}!", inline=False)
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace('"', "&#34;").replace("'", "&#39;")
    assert html == f'<p>Fund: <span class="name">{escaped}</span>!</p>'


def test_author_markdown_still_renders(ctx: AuthoringContext) -> None:
    html = render(
        ctx,
        "Intro with **bold** and _em_.\n\n- one {{ fact('r.up') }}\n- two\n",
        inline=False,
    )
    assert html == (
        "<p>Intro with <strong>bold</strong> and <em>em</em>.</p>\n"
        f"<ul>\n<li>one {span('r.up', '15.0%')}</li>\n<li>two</li>\n</ul>"
    )


def test_soft_line_breaks_are_spaces(ctx: AuthoringContext) -> None:
    assert render(ctx, "one\n{{ fact('r.up') }}\ntwo", inline=False) == (
        f"<p>one {span('r.up', '15.0%')} two</p>"
    )


def test_author_raw_html_is_escaped_not_rendered(ctx: AuthoringContext) -> None:
    html = render(ctx, "<b>raw</b> {{ '<i>x</i>' }}", inline=False)
    assert html == "<p>&lt;b&gt;raw&lt;/b&gt; &lt;i&gt;x&lt;/i&gt;</p>"


def test_as_of_is_the_formatted_date(ctx: AuthoringContext) -> None:
    assert render(ctx, "to {{ as_of }}") == "to 31 March 2026"


# --------------------------------------------------------------------------- errors


def test_undefined_names_raise(ctx: AuthoringContext) -> None:
    with pytest.raises(AuthoringError) as info:
        ctx.render_markdown("ok\n{{ nope }}")
    assert "undefined" in str(info.value) and "nope" in str(info.value)
    assert info.value.lineno == 2
    with pytest.raises(AuthoringError):
        ctx.render_markdown("{{ fund('leader').nonesuch }}")
    with pytest.raises(AuthoringError):
        ctx.render_markdown("{% if nope %}x{% endif %}")


@pytest.mark.parametrize(
    "source",
    [
        "{{ fact.__globals__ }}",
        "{{ fact.__globals__['os'] }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ fund('leader')._ref }}",
        "{{ fund('leader')._frags.items }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ fact.__code__.co_consts }}",
    ],
)
def test_the_sandbox_blocks_internals(ctx: AuthoringContext, source: str) -> None:
    with pytest.raises(AuthoringError) as info:
        ctx.render_markdown("intro\n" + source)
    assert info.value.lineno == 2


def test_template_syntax_errors(ctx: AuthoringContext) -> None:
    with pytest.raises(AuthoringError) as info:
        ctx.render_markdown("a\nb\n{{ fact('r.up') \n")
    assert str(info.value).startswith("template syntax:")
    assert info.value.lineno is not None and info.value.lineno >= 3
    with pytest.raises(AuthoringError) as info:
        ctx.render_markdown("a\n{% if x %}\n")
    assert str(info.value).startswith("template syntax:")


@pytest.mark.parametrize(
    "source",
    [
        "a\n{{ 1 // 0 }}",
        "a\n{% if value('r.null') > 0.1 %}x{% endif %}",  # a null value in a comparison
        "a\n{{ fact(1) }}",
    ],
)
def test_errors_while_evaluating_are_authoring_errors(ctx: AuthoringContext, source: str) -> None:
    """Whatever goes wrong inside an author's template is reported with its line (so the
    compose stage names the config line), never a bare Python traceback."""
    with pytest.raises(AuthoringError) as info:
        ctx.render_markdown(source)
    assert info.value.lineno == 2
