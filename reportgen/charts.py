"""Charts for the note: plain data in, an inline-able SVG string out.

Pure functions (no file I/O, no DataFrames): callers pass lists of labels,
dates and floats and get a :class:`ChartSVG` whose ``svg`` is a bare
``<svg>...</svg>`` element ready to drop into the HTML (``{{ chart.svg | safe }}``).
The same SVG prints in the PDF through WeasyPrint.

API
---
``line_chart(chart_id, series, *, title, y_label, unit, alt, style=None, end_labels=False)``
    One line per :class:`LineSeries` (its own dates; ``None``/NaN values are gaps).
    Month-year x ticks ("Apr 2025"). Cumulative returns, drawdowns.
``bar_chart(chart_id, categories, values, *, title, y_label, unit, alt, style=None,
highlight_negative=True, annotate=None)``
    Vertical bars from a zero baseline (monthly net flows). Negative bars in a second
    colour; the y range always includes 0; ``None`` draws no bar and reads "n/a".
    Value labels by default only when no two would touch; category labels that do
    not fit their slot go on two lines ("Apr" / "2025"), else slant.
``hbar_chart(chart_id, categories, values, *, title, x_label, unit, alt, style=None,
annotate=None)``
    Horizontal bars, first category on top, axis from 0 (exposure by bucket); the
    figure height follows the number of bars.
``scatter_chart(chart_id, points, *, title, x_label, y_label, x_unit, y_unit, alt,
x_style=None, y_style=None)``
    One labelled point per :class:`ScatterPoint` (fee vs 12-month return); each label
    takes the first of eight spots around its point that overlaps nothing.
``month_label(d)`` / ``axis_tick_labels(values, unit, style)``
    The texts charts use for months and axis ticks, for callers that need to match them.

All charts: 6.3 in wide (one A4 column), 2.8 in high unless said otherwise, the
title (optional: pass "") left-aligned in navy and wrapped to the width, legends
above the plot area. ``ChartSVG.chart_id`` is the sanitised id (see below).
Bad input (length mismatch, empty data, unknown unit, non-finite value, empty
alt text) raises ``ValueError``.

Numbers become text only through :mod:`reportgen.formatting`: value annotations
(bar labels, line end labels) are ``formatting.format_value`` verbatim, so a
figure reads the same in prose, tables and charts. Axis *ticks* use a compact
variant (:func:`axis_tick_labels`): the fewest decimals that state every tick
exactly, the same for all ticks of an axis ("0%", "5%", "10%"; "-$250m", "$0",
"$250m"), and one money scale per axis (the one ``format_usd`` picks for the
largest visible tick). Ticks are round numbers of the axis,
not figures of the note, so "10%" on an axis and "10.0%" in prose do not disagree.

SVG output
----------
* House style from ``reportgen/styles/house.mplstyle`` applied with
  ``matplotlib.rc_context`` (matplotlib defaults + the file, not the host's
  matplotlibrc); global rcParams are restored afterwards. Rendering holds a
  module lock because rcParams are process-global: safe from threads, and
  processes share nothing.
* ``svg.fonttype: none``: text stays ``<text>``, searchable and selectable in the
  PDF, in the note's bundled sans face Inter (``reportgen/assets/fonts``, the
  family ``render_pdf`` requires for chart labels; matplotlib measures the layout
  with those very files, so it does not depend on the host), then DejaVu Sans,
  then ``sans-serif``. WeasyPrint draws it with the bundled ``@font-face`` Inter.
* Deterministic: ``svg.hashsalt`` is the chart id, and no date, creator or other
  metadata is written, so the same inputs give byte-identical SVG whatever the
  run order, ``PYTHONHASHSEED`` or clock.
* Page-unique ids: every ``id`` and every reference to it (``url(#..)``,
  ``href="#.."``, ``xlink:href="#.."``) is prefixed with the chart id, sanitised to
  ``[a-z0-9-]`` (starting with a letter; a short hash is appended when
  sanitising changed it, so distinct chart ids never collide). Give each chart
  of a page a distinct ``chart_id``.
* The root ``<svg>`` has ``role="img"``, ``aria-label`` and a ``<title>`` with the
  alt text, keeps its ``viewBox`` and has ``width="100%"`` (height follows the
  aspect ratio), so it scales to the column in the browser and in the PDF. The
  XML prolog, DOCTYPE, comments, metadata and the global ``<style>`` rule
  matplotlib emits (``*{...}``, which would leak into the HTML page) are removed;
  that rule's two properties are set on the root instead. The root carries
  ``class="rg-chart-svg"`` for page CSS.
* Labels are shown literally: mathtext is off (``$`` stays ``$``), legend entries
  starting with ``_`` are kept, and text is XML-escaped.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from io import StringIO
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _xml_quoteattr

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.lines import Line2D
from matplotlib.ticker import Formatter, MaxNLocator, NullLocator
from matplotlib.transforms import Bbox

from reportgen import formatting
from reportgen.facts import UNITS
from reportgen.styles import (
    BASELINE,
    CHART_FONT_FILES,
    FONTS_DIR,
    HOUSE_STYLE,
    MUTED_TEXT,
    NAVY,
    NEGATIVE,
    PRIMARY,
)

__all__ = [
    "ChartSVG",
    "LineSeries",
    "ScatterPoint",
    "axis_tick_labels",
    "bar_chart",
    "hbar_chart",
    "line_chart",
    "month_label",
    "scatter_chart",
]


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class ChartSVG:
    """A rendered chart: ``svg`` is a bare ``<svg>`` element (no prolog), ready to inline.

    ``chart_id`` is the sanitised id every element id inside ``svg`` starts with.
    """

    svg: str
    chart_id: str
    alt: str
    #: "line", "bar", "hbar" or "scatter", and the value axis's drawn range, so the
    #: compliance stage can check that a bar chart's axis includes zero
    kind: str = "line"
    value_range: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class LineSeries:
    """One line: ``values[i]`` at ``dates[i]``; ``None`` or NaN leaves a gap."""

    label: str
    dates: Sequence[date]
    values: Sequence[float | None]


@dataclass(frozen=True)
class ScatterPoint:
    """One labelled point of a scatter chart."""

    label: str
    x: float
    y: float


# --------------------------------------------------------------------------- text helpers

#: Month abbreviations taken from the one formatter, never the machine's locale.
_MONTH_ABBR: tuple[str, ...] = tuple(
    formatting.format_date_short(date(2000, m, 1)).split()[1] for m in range(1, 13)
)


def month_label(d: date) -> str:
    """A month as chart axes show it: "Apr 2025" (locale-independent)."""
    return f"{_MONTH_ABBR[d.month - 1]} {d.year}"


def _exact_decimals(values: Sequence[float], scale: int, max_decimals: int) -> int:
    """Fewest decimals (after shifting the point by ``scale``) stating every value exactly."""
    for decimals in range(max_decimals + 1):
        if all(
            abs(float(formatting.round_half_away(v, decimals, scale)) - v * 10**scale)
            <= 1e-9 * max(1.0, abs(v * 10**scale))
            for v in values
        ):
            return decimals
    return max_decimals


_USD_SCALES = ((1e9, "bn"), (1e6, "m"), (1e3, "k"), (1.0, ""))


def axis_tick_labels(
    values: Sequence[float],
    unit: str,
    style: str | None = None,
    *,
    basis: Sequence[float] | None = None,
) -> list[str]:
    """Tick texts for one axis: compact, uniform variants of :mod:`reportgen.formatting`.

    * percent: ``formatting.format_percent`` with the fewest decimals (0-3) that state
      every tick exactly, the same for the whole axis: "0%", "5%", "10%" or "0.35%", "0.40%".
    * usd: one scale for the axis, the one ``format_usd`` picks for its largest tick
      ($bn from $1bn, else $m, $k), fewest exact decimals (0-2), uniform, "$0" for zero:
      "-$250m", "$0", "$250m", "$500m" or "$0.5bn", "$1.0bn", "$1.5bn".
    * any other unit: ``formatting.format_value`` unchanged.

    ``basis`` (default: ``values``) are the ticks that decide decimals and scale,
    e.g. only those inside the visible range.
    """
    vals = [float(v) for v in values]
    plan = [float(v) for v in (values if basis is None else basis)] or vals
    if not vals:
        return []
    if unit == "percent":
        decimals = _exact_decimals(plan, 2, 3)
        return [formatting.format_percent(v, decimals) for v in vals]
    if unit == "usd":
        biggest = max(abs(v) for v in plan)
        scale, suffix = next((s, x) for s, x in _USD_SCALES if _usd_scale_fits(biggest, s))
        decimals = _exact_decimals([v / scale for v in plan], 0, 2)
        out = []
        for v in vals:
            rounded = formatting.round_half_away(v / scale, decimals)
            if rounded == 0:
                out.append("$0")
                continue
            sign = formatting.MINUS if rounded < 0 else ""
            out.append(f"{sign}${abs(rounded):.{decimals}f}{suffix}")
        return out
    return [formatting.format_value(v, unit, style) for v in vals]


def _usd_scale_fits(biggest: float, scale: float) -> bool:
    """The scale ``format_usd`` uses for ``biggest`` (rounded to its decimals), or plain dollars."""
    if scale == 1.0:
        return True
    return float(formatting.round_half_away(biggest / scale, 1 if scale >= 1e6 else 0)) >= 1


class _UnitFormatter(Formatter):
    """Tick formatter delegating to :func:`axis_tick_labels`; the visible ticks set the plan."""

    def __init__(self, unit: str, style: str | None) -> None:
        self.unit = unit
        self.style = style

    def __call__(self, x: float, pos: int | None = None) -> str:
        return axis_tick_labels([x], self.unit, self.style)[0]

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        basis = list(values)
        if self.axis is not None:
            lo, hi = sorted(self.axis.get_view_interval())
            tol = 1e-9 * max(abs(lo), abs(hi), 1e-300)
            basis = [v for v in values if lo - tol <= v <= hi + tol] or basis
        return axis_tick_labels(values, self.unit, self.style, basis=basis)


# --------------------------------------------------------------------------- validation


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")


def _check_text(what: str, text: str, *, allow_empty: bool = True) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}")
    if not allow_empty and not text.strip():
        raise ValueError(f"{what} must not be empty")
    return text


def _finite(what: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{what} is not a finite number: {value!r}")
    return v


# --------------------------------------------------------------------------- rendering core

_LOCK = threading.RLock()
#: No <metadata>: no date, no creator/version, nothing that varies between runs.
_NO_METADATA: dict[str, None] = {"Creator": None, "Date": None, "Format": None, "Type": None}
_ID_SAFE = re.compile(r"[^a-z0-9-]+")


_fonts_registered = False


def _register_fonts() -> None:
    """Make the bundled chart font known to matplotlib (once per process; call under _LOCK).

    Adding fonts is the one global matplotlib change charts make; it only adds a
    family and never alters another. Missing files fall back to DejaVu Sans.
    """
    global _fonts_registered
    if _fonts_registered:
        return
    known = {entry.fname for entry in fontManager.ttflist}
    for name in CHART_FONT_FILES:
        path = FONTS_DIR / name
        if path.is_file() and str(path) not in known:
            fontManager.addfont(str(path))
    _fonts_registered = True


def _id_prefix(chart_id: str) -> str:
    """``chart_id`` as an id prefix: ``[a-z][a-z0-9-]*``, distinct for distinct inputs."""
    _check_text("chart_id", chart_id, allow_empty=False)
    slug = _ID_SAFE.sub("-", chart_id.lower()).strip("-")
    if not slug[:1].isalpha():
        slug = f"chart-{slug}".rstrip("-")
    if slug != chart_id:
        slug += "-" + hashlib.sha256(chart_id.encode("utf-8")).hexdigest()[:6]
    return slug


def _render(
    chart_id: str,
    alt: str,
    title: str,
    build: Callable[[Figure, Axes], None],
    *,
    kind: str,
    height: float | None = None,
) -> ChartSVG:
    """Build a chart in the house style and return it as finished inline SVG.

    ``height`` (inches) overrides the style's figure height; the width never changes.
    """
    prefix = _id_prefix(chart_id)
    _check_text("alt", alt, allow_empty=False)
    _check_text("title", title)
    with _LOCK, mpl.rc_context(fname=str(HOUSE_STYLE), rc={"svg.hashsalt": prefix}):
        _register_fonts()
        width, default_height = mpl.rcParams["figure.figsize"]
        fig = Figure(figsize=(width, default_height if height is None else height))
        FigureCanvasAgg(fig)  # a non-GUI canvas, for text measurement during layout
        ax = fig.add_subplot()
        if title:
            size = mpl.rcParams["axes.titlesize"]
            weight = mpl.rcParams["axes.titleweight"]
            fig.suptitle(
                _wrap(fig, title, size, weight, fig.bbox.width * 0.98),
                x=0.004,
                ha="left",
                fontsize=size,
                fontweight=weight,
                color=NAVY,
            )
        build(fig, ax)
        buf = StringIO()
        fig.savefig(buf, format="svg", metadata=_NO_METADATA)
        low, high = ax.get_xlim() if kind == "hbar" else ax.get_ylim()
    return ChartSVG(
        svg=_finish_svg(buf.getvalue(), prefix, alt),
        chart_id=prefix,
        alt=alt,
        kind=kind,
        value_range=(float(min(low, high)), float(max(low, high))),
    )


_TOKEN = re.compile(r"<[^>]*>|[^<]+")
_ID_ATTR = re.compile(r"""(\sid=)(["'])([^"']*)\2""")
_URL_REF = re.compile(r"url\(#([^)\s]+)\)")
_HREF_REF = re.compile(r"""(href=)(["'])#([^"']*)\2""")
_ROOT = re.compile(r"<svg\b[^>]*>")
_VIEWBOX = re.compile(r"""\sviewBox=(["'])([^"']*)\1""")


def _finish_svg(raw: str, prefix: str, alt: str) -> str:
    """matplotlib's SVG document -> one inline-able, page-unique, accessible <svg> element."""
    text = raw[raw.index("<svg") :]  # drop <?xml?> prolog and DOCTYPE
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    # matplotlib's `*{stroke-linejoin: round; stroke-linecap: butt}` would style the whole page.
    text = re.sub(r"\s*<defs>\s*<style[^>]*>.*?</style>\s*</defs>", "", text, flags=re.DOTALL)

    # Rewrite ids and references inside tags only: label text may contain 'id="x"' or 'url(#x)'.
    tokens = _TOKEN.findall(text)
    ids = {m.group(3) for tok in tokens if tok.startswith("<") for m in _ID_ATTR.finditer(tok)}

    def ref(name: str) -> str:
        return f"{prefix}-{name}" if name in ids else name

    out = []
    for tok in tokens:
        if tok.startswith("<"):
            tok = _ID_ATTR.sub(lambda m: f"{m[1]}{m[2]}{prefix}-{m[3]}{m[2]}", tok)
            tok = _URL_REF.sub(lambda m: f"url(#{ref(m[1])})", tok)
            tok = _HREF_REF.sub(lambda m: f"{m[1]}{m[2]}#{ref(m[3])}{m[2]}", tok)
        out.append(tok)
    text = "".join(out)

    root = _ROOT.search(text)
    assert root is not None, "matplotlib SVG without a root <svg> element"
    viewbox = _VIEWBOX.search(root.group(0))
    assert viewbox is not None, "matplotlib SVG without a viewBox"
    new_root = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        f' version="1.1" viewBox="{viewbox.group(2)}" width="100%"'
        ' preserveAspectRatio="xMidYMid meet"'
        f' role="img" aria-label={_xml_quoteattr(alt)} class="rg-chart-svg"'
        ' stroke-linejoin="round" stroke-linecap="butt">'
        f"\n <title>{_xml_escape(alt)}</title>"
    )
    text = text[: root.start()] + new_root + text[root.end() :]
    return text.strip() + "\n"


# --------------------------------------------------------------------------- shared drawing


def _measure(
    fig: Figure, s: str, fontsize: float, weight: str | int = "normal"
) -> tuple[float, float]:
    """Width and height (display pixels) of a one-line label in the house font."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg), "charts measure text with the Agg canvas"
    renderer = canvas.get_renderer()
    font = FontProperties(family=mpl.rcParams["font.family"], size=fontsize, weight=weight)
    w, h, _ = renderer.get_text_width_height_descent(s, font, ismath=False)
    return w, h


def _wrap(fig: Figure, text: str, fontsize: float, weight: str | int, max_px: float) -> str:
    """``text`` broken at spaces into lines no wider than ``max_px`` (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and _measure(fig, f"{lines[-1]} {word}", fontsize, weight)[0] <= max_px:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return "\n".join(lines) if len(lines) > 1 else text


def _value_axis(axis: Axis, unit: str, style: str | None, nbins: int = 5) -> None:
    axis.set_major_locator(MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(_UnitFormatter(unit, style))
    axis.set_minor_locator(NullLocator())


#: Value labels: font size and distance from the bar end (points).
_ANNOT_SIZE = 6.5
_LABEL_OFFSET = 2.5


# --------------------------------------------------------------------------- line chart


def _month_ticks(all_dates: Sequence[date], max_ticks: int = 7) -> tuple[list[int], list[str]]:
    """Ticks at month boundaries, labelled "Apr 2025", the most recent month always labelled.

    At most monthly data (one point per month): a tick on each month's point.
    Finer data: a tick on the 1st of each month inside the range.
    """
    first, last = min(all_dates), max(all_dates)
    per_month: dict[tuple[int, int], set[date]] = {}
    for d in all_dates:
        per_month.setdefault((d.year, d.month), set()).add(d)
    monthly = all(len(v) == 1 for v in per_month.values())
    if monthly:
        positions = {k: next(iter(v)) for k, v in per_month.items()}
    else:
        positions = {}
        y, m = first.year, first.month
        while (y, m) <= (last.year, last.month):
            start = date(y, m, 1)
            if first <= start:
                positions[(y, m)] = start
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if not positions:  # finer data within a single month that does not start on the 1st
        positions = {(first.year, first.month): first}
    months = sorted(positions)
    stride = next(
        s for s in (1, 2, 3, 4, 6, 12, 24, 60, 120, 10**9) if -(-len(months) // s) <= max_ticks
    )
    end = months[-1][0] * 12 + months[-1][1]
    chosen = [k for k in months if (end - (k[0] * 12 + k[1])) % stride == 0]
    return [positions[k].toordinal() for k in chosen], [month_label(positions[k]) for k in chosen]


def line_chart(
    chart_id: str,
    series: Sequence[LineSeries],
    *,
    title: str,
    y_label: str,
    unit: str,
    alt: str,
    style: str | None = None,
    end_labels: bool = False,
) -> ChartSVG:
    """Lines over time with month-year ticks; a zero line when the range spans 0.

    ``end_labels`` writes each line's last value (``formatting.format_value``) at its end.
    """
    _check_unit(unit)
    if not series:
        raise ValueError("line_chart needs at least one series")
    prepared: list[tuple[str, list[int], list[float]]] = []
    for s in series:
        _check_text("series label", s.label)
        if len(s.dates) != len(s.values):
            raise ValueError(f"series {s.label!r}: {len(s.dates)} dates but {len(s.values)} values")
        if not s.dates:
            raise ValueError(f"series {s.label!r} is empty")
        pairs = sorted(zip(s.dates, s.values, strict=True), key=lambda p: p[0])
        xs = [d.toordinal() for d, _ in pairs]
        ys = [math.nan if v is None else float(v) for _, v in pairs]
        if any(math.isinf(v) for v in ys):
            raise ValueError(f"series {s.label!r} has an infinite value")
        if all(math.isnan(v) for v in ys):
            raise ValueError(f"series {s.label!r} has no values")
        prepared.append((s.label, xs, ys))
    all_dates = [d for s in series for d in s.dates]

    def build(fig: Figure, ax: Axes) -> None:
        handles = []
        for label, xs, ys in prepared:
            (line,) = ax.plot(xs, ys, label=label)
            handles.append(line)
        lo, hi = min(d.toordinal() for d in all_dates), max(d.toordinal() for d in all_dates)
        ax.set_xlim(lo, hi if hi > lo else lo + 1)
        ticks, labels = _month_ticks(all_dates)
        ax.set_xticks(ticks, labels)
        ax.xaxis.set_minor_locator(NullLocator())
        _value_axis(ax.yaxis, unit, style)
        ax.set_ylabel(y_label)
        ymin, ymax = ax.get_ylim()
        if ymin <= 0 <= ymax:
            ax.axhline(0, color=BASELINE, linewidth=0.7, zorder=1.5)
        _legend_above(fig, ax, handles, [p[0] for p in prepared])
        if end_labels:
            _end_labels(fig, ax, prepared, handles, unit, style)

    return _render(chart_id, alt, title, build, kind="line")


def _legend_above(fig: Figure, ax: Axes, handles: list[Line2D], labels: list[str]) -> None:
    """Legend in rows above the plot area, read left to right, as many columns as fit.

    Handles and labels are passed explicitly, so a label starting with "_" is still listed.
    """
    size = mpl.rcParams["legend.fontsize"]
    em = size * fig.dpi / 72.0
    extra = (
        mpl.rcParams["legend.handlelength"]
        + mpl.rcParams["legend.handletextpad"]
        + mpl.rcParams["legend.columnspacing"]
    ) * em
    widths = [_measure(fig, label, size)[0] + extra for label in labels]
    n = len(labels)
    ncols, rows = 1, n
    for k in range(n, 0, -1):  # the most columns whose real widths fit the figure
        rows = -(-n // k)
        cols = [max(widths[r * k + c] for r in range(rows) if r * k + c < n) for c in range(k)]
        if sum(cols) <= fig.bbox.width * 0.92 or k == 1:
            ncols = -(-n // rows)  # same number of rows, columns balanced
            break
    # matplotlib fills column by column; order entries so that rows read left to right.
    order = [r * ncols + c for c in range(ncols) for r in range(rows) if r * ncols + c < n]
    ax.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncols=ncols,
        borderaxespad=0.3,
    )


def _spread(wanted: Sequence[float], sizes: Sequence[float]) -> list[float]:
    """Centres near ``wanted`` (sorted ascending) for labels of ``sizes`` that do not overlap.

    Overlapping neighbours are merged into a stack centred on their wanted positions,
    until no two stacks overlap (at most ``len(wanted)`` merges).
    """
    groups = [[i] for i in range(len(wanted))]

    def layout(group: list[int]) -> list[float]:
        offsets, acc = [], 0.0
        for k, i in enumerate(group):
            if k:
                acc += (sizes[group[k - 1]] + sizes[i]) / 2
            offsets.append(acc)
        shift = sum(wanted[i] for i in group) / len(group) - sum(offsets) / len(offsets)
        return [o + shift for o in offsets]

    merged = True
    while merged:
        merged = False
        for g in range(len(groups) - 1):
            low, high = layout(groups[g]), layout(groups[g + 1])
            if low[-1] + sizes[groups[g][-1]] / 2 > high[0] - sizes[groups[g + 1][0]] / 2:
                groups[g : g + 2] = [groups[g] + groups[g + 1]]
                merged = True
                break
    return [y for group in groups for y in layout(group)]


def _end_labels(
    fig: Figure,
    ax: Axes,
    prepared: list[tuple[str, list[int], list[float]]],
    handles: list[Line2D],
    unit: str,
    style: str | None,
) -> None:
    """Last value of each line just right of its end, nudged apart so labels never overlap."""
    fig.draw_without_rendering()  # lay out, so data -> display transforms are final
    to_px = fig.dpi / 72.0
    # (display y of the point, unused, label height, text, x, y, colour)
    items: list[tuple[float, float, float, str, int, float, str]] = []
    for (_, xs, ys), line in zip(prepared, handles, strict=True):
        last = max(i for i, v in enumerate(ys) if not math.isnan(v))
        text = formatting.format_value(ys[last], unit, style)
        py = float(ax.transData.transform((xs[last], ys[last]))[1])
        _, h = _measure(fig, text, _ANNOT_SIZE)
        items.append((py, py, h, text, xs[last], ys[last], str(line.get_color())))
    items.sort(key=lambda it: (it[0], it[3]))
    placed = _spread([it[0] for it in items], [it[2] + 1.0 * to_px for it in items])
    for (py, _, _, text, x, y, color), label_y in zip(items, placed, strict=True):
        ax.annotate(
            text,
            xy=(x, y),
            xytext=(3, (label_y - py) / to_px),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=_ANNOT_SIZE,
            fontweight="semibold",
            color=color,
            annotation_clip=False,
        )


# --------------------------------------------------------------------------- bar charts


def _bar_values(categories: Sequence[str], values: Sequence[float | None]) -> list[float | None]:
    if len(categories) != len(values):
        raise ValueError(f"{len(categories)} categories but {len(values)} values")
    if not categories:
        raise ValueError("a bar chart needs at least one category")
    for c in categories:
        _check_text("category", c)
    return [
        None if v is None else _finite(f"value of {c!r}", v)
        for c, v in zip(categories, values, strict=True)
    ]


def _fit_category_labels(fig: Figure, ax: Axes, categories: Sequence[str]) -> None:
    """x tick labels that fit their slot: as is, else on two lines, else slanted."""
    slot = fig.bbox.width * 0.86 / len(categories)  # plot-area width estimate, pixels
    size = mpl.rcParams["xtick.labelsize"]
    widest = max(_measure(fig, c, size)[0] for c in categories)
    if widest <= 0.92 * slot:
        ax.set_xticks(range(len(categories)), list(categories))
        return
    two_line = [c.rsplit(" ", 1) if " " in c.strip() else [c] for c in categories]
    if all(
        max(_measure(fig, part, size)[0] for part in parts) <= 0.92 * slot for parts in two_line
    ):
        ax.set_xticks(range(len(categories)), ["\n".join(parts) for parts in two_line])
        return
    ax.set_xticks(
        range(len(categories)), list(categories), rotation=40, ha="right", rotation_mode="anchor"
    )


def _bar_labels_fit(
    fig: Figure, ax: Axes, xs: list[int], heights: list[float], texts: list[str]
) -> bool:
    """Whether value labels at the bar ends stay clear of each other (1 pt) and of the frame."""
    fig.draw_without_rendering()  # final layout, then measure in display space
    to_px = fig.dpi / 72.0
    boxes = []
    for x, v, t in zip(xs, heights, texts, strict=True):
        w, h = _measure(fig, t, _ANNOT_SIZE)
        cx, cy = ax.transData.transform((x, v))
        y0 = cy - _LABEL_OFFSET * to_px - h if v < 0 else cy + _LABEL_OFFSET * to_px
        boxes.append(Bbox.from_bounds(cx - w / 2 - 0.5 * to_px, y0, w + to_px, h))
    frame = ax.bbox
    if any(b.y0 < frame.y0 or b.y1 > frame.y1 for b in boxes):
        return False
    return not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def bar_chart(
    chart_id: str,
    categories: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    y_label: str,
    unit: str,
    alt: str,
    style: str | None = None,
    highlight_negative: bool = True,
    annotate: bool | None = None,
) -> ChartSVG:
    """Vertical bars from a drawn zero baseline; the y range always includes 0.

    Negative bars take the second colour when ``highlight_negative``. ``annotate``
    labels each bar with ``formatting.format_value`` (``None``: only when no two labels
    would touch). A ``None`` value draws no bar and is always labelled "n/a" (never 0).
    """
    _check_unit(unit)
    vals = _bar_values(categories, values)

    def build(fig: Figure, ax: Axes) -> None:
        xs = list(range(len(vals)))
        heights = [0.0 if v is None else v for v in vals]
        colors = [NEGATIVE if highlight_negative and h < 0 else PRIMARY for h in heights]
        ax.bar(xs, heights, width=0.68, color=colors, zorder=2)
        _fit_category_labels(fig, ax, categories)
        ax.tick_params(axis="x", length=0)
        ax.spines["bottom"].set_visible(False)
        ax.set_xlim(-0.6, len(vals) - 0.4)
        _value_axis(ax.yaxis, unit, style, nbins=7)
        ax.set_ylabel(y_label)
        texts = [formatting.format_value(v, unit, style) for v in vals]
        lo, hi = min([0.0, *heights]), max([0.0, *heights])
        span = (hi - lo) or 1.0

        def limits(pad: float) -> None:  # 0 always inside; room for labels beyond bar ends
            bottom = lo - pad * span if lo < 0 else 0.0
            ax.set_ylim(bottom, hi + pad * span if hi > 0 or lo == 0 else 0.0)

        limits(0.05 if annotate is False else 0.14)
        show = annotate
        if show is None:  # only when no two labels would touch
            show = _bar_labels_fit(fig, ax, xs, heights, texts)
            if not show:
                limits(0.05)
        ax.axhline(0, color=BASELINE, linewidth=0.8, zorder=3)
        for x, v, t in zip(xs, vals, texts, strict=True):
            if show or v is None:  # a missing value always reads "n/a", never a silent gap
                below = v is not None and v < 0
                ax.annotate(
                    t,
                    xy=(x, 0.0 if v is None else v),
                    xytext=(0, -_LABEL_OFFSET if below else _LABEL_OFFSET),
                    textcoords="offset points",
                    ha="center",
                    va="top" if below else "bottom",
                    fontsize=_ANNOT_SIZE,
                    color=MUTED_TEXT,
                )

    return _render(chart_id, alt, title, build, kind="bar")


def hbar_chart(
    chart_id: str,
    categories: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    x_label: str,
    unit: str,
    alt: str,
    style: str | None = None,
    annotate: bool | None = None,
) -> ChartSVG:
    """Horizontal bars, first category on top, value axis from 0 (extended left for negatives).

    The figure height follows the number of bars (1.6-4.2 in); the width is the column's.

    ``annotate`` writes each value (``formatting.format_value``) at the bar end
    (``None``: when there are at most 15 bars). ``None`` values draw no bar and always
    read "n/a".
    """
    _check_unit(unit)
    vals = _bar_values(categories, values)

    def build(fig: Figure, ax: Axes) -> None:
        ys = list(range(len(vals)))
        widths = [0.0 if v is None else v for v in vals]
        colors = [NEGATIVE if w < 0 else PRIMARY for w in widths]
        ax.barh(ys, widths, height=0.62, color=colors, zorder=2)
        ax.set_yticks(ys, list(categories))
        ax.set_ylim(len(vals) - 0.5, -0.5)  # first category on top
        ax.tick_params(axis="y", length=0)
        ax.grid(False, axis="y")
        ax.grid(True, axis="x")
        ax.spines["left"].set_visible(False)
        _value_axis(ax.xaxis, unit, style)
        ax.set_xlabel(x_label)
        show = len(vals) <= 15 if annotate is None else annotate
        lo, hi = min([0.0, *widths]), max([0.0, *widths])
        span = (hi - lo) or 1.0
        ax.set_xlim(lo - 0.03 * span if lo < 0 else 0.0, hi + 0.03 * span if hi > 0 else 0.0)
        if lo == hi == 0:
            ax.set_xlim(0.0, 1.0)
        if show:  # widen the value axis by what the labels at the bar ends need
            fig.draw_without_rendering()
            x0, x1 = ax.get_xlim()
            per_px = (x1 - x0) / ax.bbox.width
            room = 4.5 * fig.dpi / 72.0  # offset + breathing space, pixels
            texts = [formatting.format_value(v, unit, style) for v in vals]
            ends = [
                w + math.copysign(_measure(fig, t, _ANNOT_SIZE)[0] + room, w or 1.0) * per_px
                for w, t in zip(widths, texts, strict=True)
            ]
            ax.set_xlim(min([x0, *ends]), max([x1, *ends]))
        ax.axvline(0, color=BASELINE, linewidth=0.8, zorder=3)
        for y, v in zip(ys, vals, strict=True):
            if show or v is None:  # a missing value always reads "n/a", never a silent gap
                left = v is not None and v < 0
                ax.annotate(
                    formatting.format_value(v, unit, style),
                    xy=(0.0 if v is None else v, y),
                    xytext=(-3 if left else 3, 0),
                    textcoords="offset points",
                    ha="right" if left else "left",
                    va="center",
                    fontsize=_ANNOT_SIZE,
                    color=MUTED_TEXT,
                )

    # Bars keep a steady thickness: the figure grows with the number of categories.
    height = min(4.2, max(1.6, 0.75 + 0.3 * len(vals) + (0.2 if title else 0.0)))
    return _render(chart_id, alt, title, build, kind="hbar", height=height)


# --------------------------------------------------------------------------- scatter


_Spot = tuple[tuple[float, float], str, str]

#: Label positions tried around a point, in order: (dx, dy) points, ha, va.
_LABEL_SPOTS: tuple[_Spot, ...] = (
    ((4.5, 0.0), "left", "center"),
    ((-4.5, 0.0), "right", "center"),
    ((0.0, 4.5), "center", "bottom"),
    ((0.0, -4.5), "center", "top"),
    ((3.5, 3.5), "left", "bottom"),
    ((-3.5, 3.5), "right", "bottom"),
    ((3.5, -3.5), "left", "top"),
    ((-3.5, -3.5), "right", "top"),
)


def _label_box(px: float, py: float, spot: _Spot, w: float, h: float, to_px: float) -> Bbox:
    (dx, dy), ha, va = spot
    x0 = px + dx * to_px - {"left": 0.0, "center": w / 2, "right": w}[ha]
    y0 = py + dy * to_px - {"bottom": 0.0, "center": h / 2, "top": h}[va]
    return Bbox.from_bounds(x0, y0, w, h)


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def scatter_chart(
    chart_id: str,
    points: Sequence[ScatterPoint],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_unit: str,
    y_unit: str,
    alt: str,
    x_style: str | None = None,
    y_style: str | None = None,
) -> ChartSVG:
    """One labelled point per item; labels placed around their point so they do not collide."""
    _check_unit(x_unit)
    _check_unit(y_unit)
    if not points:
        raise ValueError("scatter_chart needs at least one point")
    for p in points:
        _check_text("point label", p.label)
    xs = [_finite(f"x of {p.label!r}", p.x) for p in points]
    ys = [_finite(f"y of {p.label!r}", p.y) for p in points]

    def build(fig: Figure, ax: Axes) -> None:
        marker_size = 5.5  # points (diameter)
        ax.scatter(xs, ys, s=marker_size**2, color=PRIMARY, linewidths=0.6, zorder=3)
        ax.grid(True, axis="both")
        ax.margins(x=0.12, y=0.14)
        _value_axis(ax.xaxis, x_unit, x_style)
        _value_axis(ax.yaxis, y_unit, y_style)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.tick_params(axis="y", length=0)
        ymin, ymax = ax.get_ylim()
        if ymin < 0 < ymax:
            ax.axhline(0, color=BASELINE, linewidth=0.7, zorder=1.5)
        fig.draw_without_rendering()  # final layout, then place labels in display space
        to_px = fig.dpi / 72.0
        frame = ax.bbox
        centres = [ax.transData.transform((x, y)) for x, y in zip(xs, ys, strict=True)]
        r = marker_size / 2 * to_px + 0.5
        obstacles = [Bbox.from_extents(cx - r, cy - r, cx + r, cy + r) for cx, cy in centres]
        for i, (p, (cx, cy)) in enumerate(zip(points, centres, strict=True)):
            w, h = _measure(fig, p.label, _ANNOT_SIZE + 0.5)
            best, best_cost = _LABEL_SPOTS[0], math.inf
            for spot in _LABEL_SPOTS:
                box = _label_box(cx, cy, spot, w, h, to_px).padded(1.0 * to_px)
                outside = (
                    max(0.0, frame.x0 - box.x0)
                    + max(0.0, box.x1 - frame.x1)
                    + max(0.0, frame.y0 - box.y0)
                    + max(0.0, box.y1 - frame.y1)
                )
                cost = sum(_overlap(box, o) for o in obstacles) + 1e3 * outside
                if cost < best_cost:
                    best, best_cost = spot, cost
                if cost == 0:
                    break
            obstacles.append(_label_box(cx, cy, best, w, h, to_px))
            (dx, dy), ha, va = best
            note = ax.annotate(
                p.label,
                xy=(xs[i], ys[i]),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=_ANNOT_SIZE + 0.5,
                color="#262626",
                annotation_clip=False,
            )
            note.set_in_layout(False)

    return _render(chart_id, alt, title, build, kind="scatter")
