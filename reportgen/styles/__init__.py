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
