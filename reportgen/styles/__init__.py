"""The house chart style: the matplotlib style file and the few colours charts use by name.

Everything else (fonts, sizes, grid, spines, the colour cycle) lives in
``house.mplstyle``, which :mod:`reportgen.charts` applies per chart with
``matplotlib.rc_context`` so global rcParams are never changed.

Packaging note: ``house.mplstyle`` is package data; a wheel build needs
``[tool.setuptools.package-data] "reportgen.styles" = ["*.mplstyle"]``.
"""

from __future__ import annotations

from pathlib import Path

#: The style file, loaded on top of matplotlib's defaults (never the host's matplotlibrc).
HOUSE_STYLE: Path = Path(__file__).with_name("house.mplstyle")

#: The note's sans face, bundled in ``reportgen/assets/fonts`` (see ``render_pdf.BUNDLED_FONTS``:
#: chart labels must name "Inter", the PDF refuses any font that is not bundled).
#: Charts measure their text with these very files, so layout never depends on the host.
FONTS_DIR: Path = Path(__file__).resolve().parent.parent / "assets" / "fonts"
CHART_FONT_FAMILY = "Inter"
CHART_FONT_FILES: tuple[str, ...] = ("Inter-Regular.otf", "Inter-SemiBold.otf")

#: Navy accent: titles.
NAVY = "#0B2545"
#: Okabe-Ito blue (first colour of the cycle): single-series bars and points.
PRIMARY = "#0072B2"
#: Okabe-Ito vermillion: negative bars (blue/vermillion stays distinct for colour-blind readers).
NEGATIVE = "#D55E00"
#: Zero baselines and reference lines.
BASELINE = "#404040"
#: Secondary text (value annotations, tick labels).
MUTED_TEXT = "#4D4D4D"
