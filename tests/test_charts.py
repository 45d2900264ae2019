"""reportgen.charts: house-style SVG charts, inline-able, deterministic and page-unique."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import matplotlib as mpl
import pytest

from reportgen import charts, formatting
from reportgen.charts import ChartSVG, LineSeries, ScatterPoint
from reportgen.styles import BASELINE, NEGATIVE, PRIMARY

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
ROOT = Path(__file__).resolve().parents[1]

TRICKY = ["$5_A*B*", "<b>&", "{{ 7*7 }}", "_Hidden"]

MONTHS = [
    date(2025, 3, 31),
    date(2025, 4, 30),
    date(2025, 5, 31),
    date(2025, 6, 30),
    date(2025, 7, 31),
    date(2025, 8, 31),
    date(2025, 9, 30),
    date(2025, 10, 31),
    date(2025, 11, 30),
    date(2025, 12, 31),
    date(2026, 1, 31),
    date(2026, 2, 28),
    date(2026, 3, 31),
]


# ----------------------------------------------------------------------------- builders


def cumulative() -> ChartSVG:
    theme = [0.0, 0.04, 0.07, 0.05, 0.09, 0.12, 0.1, 0.14, 0.18, 0.16, 0.2, 0.24, 0.298]
    bench = [0.0, 0.02, 0.03, 0.02, 0.04, 0.06, 0.05, 0.07, 0.09, 0.1, 0.12, 0.13, 0.151]
    return charts.line_chart(
        "cum-return",
        [LineSeries("AI theme index", MONTHS, theme), LineSeries("$5_A*B*", MONTHS, bench)],
        title="Cumulative 12-month return",
        y_label="Cumulative return",
        unit="percent",
        alt="Cumulative return of the theme index against the benchmark",
        end_labels=True,
    )


def drawdowns() -> ChartSVG:
    days = [date(2025, 3, 31) + timedelta(days=i) for i in range(0, 366, 3)]
    series = []
    for k, name in enumerate(["BOTZ", "_Hidden", "<b>&", "{{ 7*7 }}"]):
        values = [-(((i * (k + 3)) % 29) / 100.0) for i in range(len(days))]
        series.append(LineSeries(name, days, values))
    return charts.line_chart(
        "drawdowns",
        series,
        title="12-month drawdowns",
        y_label="Drawdown",
        unit="percent",
        alt="Drawdowns of four ETFs",
    )


FLOW_CATEGORIES = [charts.month_label(d) for d in MONTHS[-6:]]
FLOW_VALUES = [4.2e8, -2.5e8, 1.3e9, -6.0e8, 3.5e7, 8.0e8]


def flows(values: list[float | None] | None = None) -> ChartSVG:
    return charts.bar_chart(
        "flows",
        FLOW_CATEGORIES,
        FLOW_VALUES if values is None else values,
        title="Monthly net flows",
        y_label="Net flows",
        unit="usd",
        alt="Monthly net flows, USD",
    )


def exposure() -> ChartSVG:
    return charts.hbar_chart(
        "exposure",
        ["Semiconductors", *TRICKY],
        [0.31, 0.25, 0.17, 0.12, 0.09],
        title="Exposure by bucket",
        x_label="Share of AUM",
        unit="percent",
        alt="Exposure by bucket",
    )


def fee_scatter() -> ChartSVG:
    points = [
        ScatterPoint("BOTZ", 0.0068, 0.121),
        ScatterPoint("$5_A*B*", 0.0068, 0.184),
        ScatterPoint("<b>&", 0.0095, 0.052),
        ScatterPoint("{{ 7*7 }}", 0.0047, -0.094),
        ScatterPoint("_Hidden", 0.0075, 0.261),
    ]
    return charts.scatter_chart(
        "fee-vs-return",
        points,
        title="Fee vs 12-month return",
        x_label="Expense ratio",
        y_label="12-month return",
        x_unit="percent",
        y_unit="percent",
        x_style="fee",
        alt="Expense ratio against 12-month return",
    )


BUILDERS = [cumulative, drawdowns, flows, exposure, fee_scatter]


@pytest.fixture(scope="module")
def page() -> list[ChartSVG]:
    return [build() for build in BUILDERS]


# ----------------------------------------------------------------------------- helpers


def parse(chart: ChartSVG) -> ET.Element:
    return ET.fromstring(chart.svg)


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def ids(root: ET.Element) -> list[str]:
    return [el.attrib["id"] for el in root.iter() if "id" in el.attrib]


def references(root: ET.Element) -> list[str]:
    refs = []
    for el in root.iter():
        for name, value in el.attrib.items():
            refs += re.findall(r"url\(#([^)]+)\)", value)
            if name in (XLINK_HREF, "href") and value.startswith("#"):
                refs.append(value[1:])
    return refs


def style_of(el: ET.Element) -> dict[str, str]:
    pairs = (p.split(":", 1) for p in el.attrib.get("style", "").split(";") if ":" in p)
    return {k.strip(): v.strip() for k, v in pairs}


def path_points(el: ET.Element) -> list[tuple[float, float]]:
    nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", el.attrib["d"])]
    return list(zip(nums[::2], nums[1::2], strict=True))


def paths(root: ET.Element, **style: str) -> list[list[tuple[float, float]]]:
    found = []
    for el in root.iter(f"{SVG}path"):
        st = style_of(el)
        if all(st.get(k.replace("_", "-")) == v for k, v in style.items()):
            found.append(path_points(el))
    return found


def plot_area(root: ET.Element) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the axes: the clip rectangle bars and lines are drawn in."""
    rects = [r for cp in root.iter(f"{SVG}clipPath") for r in cp.iter(f"{SVG}rect")]
    assert rects
    r = max(rects, key=lambda r: float(r.attrib["width"]) * float(r.attrib["height"]))
    x, y = float(r.attrib["x"]), float(r.attrib["y"])
    return x, y, x + float(r.attrib["width"]), y + float(r.attrib["height"])


# ----------------------------------------------------------------------------- structure


def test_every_chart_is_a_well_formed_inline_svg(page: list[ChartSVG]) -> None:
    for chart in page:
        assert chart.svg.startswith("<svg ")
        assert "<?xml" not in chart.svg and "<!DOCTYPE" not in chart.svg
        assert "<!--" not in chart.svg
        root = parse(chart)
        assert root.tag == f"{SVG}svg"
        assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.attrib["viewBox"])
        assert root.attrib["width"] == "100%"
        assert "height" not in root.attrib  # scales with the column, aspect from viewBox
        # matplotlib's page-wide `*{...}` rule is gone; no <style> can leak into the HTML.
        assert root.find(f".//{SVG}style") is None


def test_ids_are_unique_across_the_page_and_references_stay_in_their_chart(
    page: list[ChartSVG],
) -> None:
    seen: set[str] = set()
    for chart in page:
        root = parse(chart)
        own = ids(root)
        assert own, "matplotlib ids expected (clip paths at least)"
        assert len(own) == len(set(own))
        assert all(i.startswith(chart.chart_id + "-") for i in own)
        assert not seen & set(own)
        seen |= set(own)
        refs = references(root)
        assert any(r for r in refs), "clip-path references expected"
        missing = [r for r in refs if r not in own]
        assert not missing, f"{chart.chart_id}: dangling references {missing}"


def test_chart_ids_are_sanitised_and_never_collide() -> None:
    a = charts.bar_chart("Flows_A", ["x"], [1.0], title="", y_label="", unit="usd", alt="a")
    b = charts.bar_chart("flows-a", ["x"], [1.0], title="", y_label="", unit="usd", alt="b")
    c = charts.bar_chart("2025 flows", ["x"], [1.0], title="", y_label="", unit="usd", alt="c")
    assert b.chart_id == "flows-a"
    assert a.chart_id != b.chart_id
    for chart in (a, b, c):
        assert re.fullmatch(r"[a-z][a-z0-9-]*", chart.chart_id)
        assert all(i.startswith(chart.chart_id + "-") for i in ids(parse(chart)))
    assert not set(ids(parse(a))) & set(ids(parse(b)))


def test_alt_text_is_the_accessible_name() -> None:
    alt = 'Flows "A" <b> & more'
    chart = charts.bar_chart("alt", ["x"], [1.0], title="T", y_label="", unit="usd", alt=alt)
    root = parse(chart)
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-label"] == alt
    assert root[0].tag == f"{SVG}title" and root[0].text == alt
    assert chart.alt == alt


def test_no_date_or_generator_metadata(page: list[ChartSVG]) -> None:
    for chart in page:
        assert "<metadata" not in chart.svg
        assert "Matplotlib" not in chart.svg and "matplotlib.org" not in chart.svg
        assert not re.search(r"\d{4}-\d{2}-\d{2}", chart.svg)


# ----------------------------------------------------------------------------- labels


def test_labels_from_data_are_shown_literally(page: list[ChartSVG]) -> None:
    expected = {
        "cum-return": ["AI theme index", "$5_A*B*"],  # legend
        "drawdowns": ["BOTZ", "_Hidden", "<b>&", "{{ 7*7 }}"],  # legend
        "exposure": ["Semiconductors", *TRICKY],  # category ticks
        "fee-vs-return": ["BOTZ", *TRICKY],  # point labels
    }
    for chart in page:
        shown = texts(parse(chart))
        for label in expected.get(chart.chart_id, []):
            assert label in shown, f"{label!r} missing from {chart.chart_id}: {shown}"
        # Escaped once by the SVG writer, never twice, never raw.
        assert "&amp;amp;" not in chart.svg and "<b>" not in chart.svg


def test_legend_keeps_labels_starting_with_underscore() -> None:
    chart = charts.line_chart(
        "legend",
        [LineSeries("_Hidden", MONTHS, [0.01 * i for i in range(13)])],
        title="",
        y_label="",
        unit="percent",
        alt="a line",
    )
    assert "_Hidden" in texts(parse(chart))


def test_category_labels_are_literal() -> None:
    chart = charts.bar_chart(
        "cats", TRICKY, [1e8, -2e8, 3e8, 4e8], title="", y_label="", unit="usd", alt="bars"
    )
    shown = texts(parse(chart))
    assert all(label in shown for label in TRICKY)


def test_title_and_axis_labels_are_text(page: list[ChartSVG]) -> None:
    shown = texts(parse(page[0]))
    assert "Cumulative 12-month return" in shown
    assert "Cumulative return" in shown


def test_long_titles_wrap_inside_the_figure() -> None:
    title = "A deliberately long chart title " * 4
    chart = charts.bar_chart("long", ["Q"], [1e8], title=title, y_label="", unit="usd", alt="x")
    lines = [t for t in texts(parse(chart)) if len(t) > 3 and t in title]
    assert len(lines) >= 2
    assert " ".join(lines).split() == title.split()


# ----------------------------------------------------------------------------- numbers


def test_axis_tick_labels_are_compact_uniform_variants_of_the_formatter() -> None:
    assert charts.axis_tick_labels([0, 0.05, 0.1, 0.15], "percent") == ["0%", "5%", "10%", "15%"]
    assert charts.axis_tick_labels([-0.025, 0, 0.025], "percent") == ["-2.5%", "0.0%", "2.5%"]
    assert charts.axis_tick_labels([0.0035, 0.004, 0.0045], "percent", "fee") == [
        "0.35%",
        "0.40%",
        "0.45%",
    ]
    assert charts.axis_tick_labels([-5e8, 0, 5e8, 1e9], "usd") == [
        "-$0.5bn",
        "$0",
        "$0.5bn",
        "$1.0bn",
    ]
    assert charts.axis_tick_labels([-2.5e8, 0, 2.5e8, 5e8], "usd") == [
        "-$250m",
        "$0",
        "$250m",
        "$500m",
    ]
    assert charts.axis_tick_labels([0, 1e9, 2e9], "usd") == ["$0", "$1bn", "$2bn"]
    assert charts.axis_tick_labels([0.1, -0.05], "pp") == ["+10.0 pp", "-5.0 pp"]
    # Float noise from tick locators does not add decimals.
    assert charts.axis_tick_labels([0.1 + 0.2, 0.6000000000000001], "percent") == ["30%", "60%"]


def test_axis_ticks_come_from_the_visible_range(page: list[ChartSVG]) -> None:
    flows_texts = texts(parse(page[2]))
    assert "$0" in flows_texts
    assert any(re.fullmatch(r"-?\$\d+(\.\d+)?(bn|m)", t) for t in flows_texts)
    assert "0%" in texts(parse(page[3]))


def test_bar_annotations_read_exactly_as_the_formatter(page: list[ChartSVG]) -> None:
    shown = texts(parse(page[2]))
    for v in FLOW_VALUES:
        assert formatting.format_value(v, "usd") in shown
    exposure_texts = texts(parse(page[3]))
    assert formatting.format_value(0.31, "percent") in exposure_texts  # "31.0%"


def test_line_end_labels_read_as_the_formatter(page: list[ChartSVG]) -> None:
    shown = texts(parse(page[0]))
    assert "29.8%" in shown and "15.1%" in shown


def test_missing_bar_reads_not_available() -> None:
    chart = flows([4.2e8, None, 1.3e9, -6.0e8, 3.5e7, 8.0e8])
    assert formatting.NOT_AVAILABLE in texts(parse(chart))
    quiet = charts.bar_chart(
        "quiet", ["a", "b"], [4.2e8, None], title="", y_label="", unit="usd", alt="x",
        annotate=False,
    )  # fmt: skip
    shown = texts(parse(quiet))
    assert formatting.NOT_AVAILABLE in shown  # even without value labels
    assert formatting.format_value(4.2e8, "usd") not in shown


def test_month_ticks_are_locale_independent_month_year(page: list[ChartSVG]) -> None:
    assert charts.month_label(date(2025, 4, 30)) == "Apr 2025"
    assert charts.month_label(date(2026, 12, 1)) == "Dec 2026"
    shown = texts(parse(page[0]))
    month_ticks = [t for t in shown if re.fullmatch(r"[A-Z][a-z]{2} \d{4}", t)]
    assert 4 <= len(month_ticks) <= 7
    assert "Mar 2026" in month_ticks  # the latest month is always labelled


# ----------------------------------------------------------------------------- geometry


def test_bars_hang_from_a_zero_baseline() -> None:
    root = parse(flows())
    _, y0, _, y1 = plot_area(root)
    (baseline,) = paths(root, stroke=BASELINE)
    zero_y = baseline[0][1]
    assert baseline[0][1] == baseline[-1][1]  # horizontal
    assert y0 < zero_y < y1  # the value axis includes 0, with room on both sides
    negative = paths(root, fill=NEGATIVE.lower())
    positive = paths(root, fill=PRIMARY.lower())
    assert len(negative) == 2 and len(positive) == 4
    for bar in negative:
        ys = [y for _, y in bar]
        assert min(ys) == pytest.approx(zero_y, abs=0.01) and max(ys) > zero_y
    for bar in positive:
        ys = [y for _, y in bar]
        assert max(ys) == pytest.approx(zero_y, abs=0.01) and min(ys) < zero_y


def test_value_axis_always_includes_zero() -> None:
    only_positive = parse(flows([4e8, 5e8, 6e8, 7e8, 8e8, 9e8]))
    _, _, _, bottom = plot_area(only_positive)
    (baseline,) = paths(only_positive, stroke=BASELINE)
    assert baseline[0][1] == pytest.approx(bottom, abs=0.01)

    only_negative = parse(flows([-4e8, -5e8, -6e8, -7e8, -8e8, -9e8]))
    _, top, _, _ = plot_area(only_negative)
    (baseline,) = paths(only_negative, stroke=BASELINE)
    assert baseline[0][1] == pytest.approx(top, abs=0.01)
    assert not paths(only_negative, fill=PRIMARY.lower())


def test_negative_highlight_can_be_switched_off() -> None:
    chart = charts.bar_chart(
        "plain", ["a", "b"], [1e8, -1e8], title="", y_label="", unit="usd", alt="x",
        highlight_negative=False,
    )  # fmt: skip
    root = parse(chart)
    assert not paths(root, fill=NEGATIVE.lower())
    assert len(paths(root, fill=PRIMARY.lower())) == 2


def test_hbar_value_axis_starts_at_zero() -> None:
    root = parse(exposure())
    x0, _, _, _ = plot_area(root)
    (baseline,) = paths(root, stroke=BASELINE)
    assert baseline[0][0] == baseline[-1][0] == pytest.approx(x0, abs=0.01)
    bars = paths(root, fill=PRIMARY.lower())
    assert len(bars) == 5
    assert all(min(x for x, _ in bar) == pytest.approx(x0, abs=0.01) for bar in bars)
    # First category on top.
    tops = [min(y for _, y in bar) for bar in bars]
    assert tops == sorted(tops)


# ----------------------------------------------------------------------------- determinism


def test_same_inputs_give_identical_bytes_whatever_the_order() -> None:
    first = [b().svg for b in BUILDERS]
    backwards = [b().svg for b in reversed(BUILDERS)][::-1]
    assert first == backwards


def test_identical_across_processes_and_hash_seeds(page: list[ChartSVG]) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_charts as t;"
        "sys.stdout.write(t.fee_scatter().svg + t.flows().svg)"
    )
    expected = page[4].svg + page[2].svg
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1700000000"}
        out = subprocess.run(
            [sys.executable, "-W", "error", "-c", code, str(Path(__file__).parent)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        assert out.stdout == expected


def test_thread_safe_and_global_rcparams_untouched() -> None:
    before = dict(mpl.rcParams)
    serial = [b().svg for b in BUILDERS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda b: b().svg, BUILDERS * 2))
    assert parallel == serial * 2
    assert dict(mpl.rcParams) == before


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call",
    [
        lambda: charts.bar_chart("x", ["a"], [1.0, 2.0], title="", y_label="", unit="usd", alt="x"),
        lambda: charts.bar_chart("x", [], [], title="", y_label="", unit="usd", alt="x"),
        lambda: charts.bar_chart("x", ["a"], [1.0], title="", y_label="", unit="eur", alt="x"),
        lambda: charts.bar_chart("x", ["a"], [1.0], title="", y_label="", unit="usd", alt=" "),
        lambda: charts.bar_chart("", ["a"], [1.0], title="", y_label="", unit="usd", alt="x"),
        lambda: charts.hbar_chart(
            "x", ["a"], [float("nan")], title="", x_label="", unit="percent", alt="x"
        ),
        lambda: charts.line_chart("x", [], title="", y_label="", unit="percent", alt="x"),
        lambda: charts.line_chart(
            "x", [LineSeries("a", MONTHS[:2], [0.1])], title="", y_label="", unit="percent",
            alt="x",
        ),
        lambda: charts.scatter_chart(
            "x", [ScatterPoint("a", float("inf"), 0.1)], title="", x_label="", y_label="",
            x_unit="percent", y_unit="percent", alt="x",
        ),
    ],
)  # fmt: skip
def test_bad_input_raises(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()


def test_line_gaps_are_allowed() -> None:
    values = [None, None, 0.01, 0.02, float("nan"), 0.03, 0.02, 0.0, -0.01, 0.01, 0.02, 0.03, 0.04]
    chart = charts.line_chart(
        "gaps", [LineSeries("Late launch", MONTHS, values)], title="", y_label="",
        unit="percent", alt="x", end_labels=True,
    )  # fmt: skip
    assert "4.0%" in texts(parse(chart))


# ----------------------------------------------------------------------------- PDF


def _pdf_fonts(reader) -> set[str]:  # type: ignore[no-untyped-def]
    """Base font names used by the pages, their form XObjects included."""
    found: set[str] = set()

    def walk(resources, depth: int = 0) -> None:  # type: ignore[no-untyped-def]
        if resources is None or depth > 8:
            return
        resources = resources.get_object()
        for font in (resources.get("/Font") or {}).values():
            found.add(str(font.get_object()["/BaseFont"]))
        for xobject in (resources.get("/XObject") or {}).values():
            walk(xobject.get_object().get("/Resources"), depth + 1)

    for page in reader.pages:
        walk(page.get("/Resources"))
    return found


def test_chart_text_names_the_bundled_sans_face(page: list[ChartSVG]) -> None:
    families = set(re.findall(r"font-family: ([^;\"]+)", page[2].svg))
    assert families == {"'Inter', 'DejaVu Sans', sans-serif"}
    weights = set(re.findall(r"font-weight: (\d+)", "".join(c.svg for c in page)))
    assert weights <= {"600"}  # only weights that exist as bundled files (400 is the default)


def test_weasyprint_renders_the_text_as_text_in_the_bundled_font(page: list[ChartSVG]) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    pypdf = pytest.importorskip("pypdf")
    import io

    from weasyprint.text.fonts import FontConfiguration

    from reportgen.styles import CHART_FONT_FILES, FONTS_DIR

    faces = "".join(
        f'@font-face {{ font-family: "Inter"; src: url("{(FONTS_DIR / name).as_uri()}"); '
        f"font-weight: {400 if 'Regular' in name else 600}; }}"
        for name in CHART_FONT_FILES
    )
    font_config = FontConfiguration()
    css = weasyprint.CSS(string=faces, font_config=font_config)
    html = (
        "<html><head><style>@page { size: A4; margin: 20mm }"
        " body { font-family: Inter }</style></head><body>"
        + "".join(f"<figure>{c.svg}</figure>" for c in page[:4])
        + "</body></html>"
    )
    pdf = weasyprint.HTML(string=html).write_pdf(stylesheets=[css], font_config=font_config)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "".join(p.extract_text() for p in reader.pages)
    for expected in ("Monthly net flows", "Exposure by bucket", "Semiconductors", "<b>&", "29.8%"):
        assert expected in text
    fonts = _pdf_fonts(reader)
    assert fonts and all(re.fullmatch(r"/[A-Z]{6}\+Inter(-Semi-Bold)?", f) for f in fonts), fonts
