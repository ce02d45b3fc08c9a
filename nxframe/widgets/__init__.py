"""Jupyter widgets for call records: :class:`CdrExplorer` (pick, fetch, look) and :func:`show` (summary + chart).

>>> from nxframe.widgets import CdrExplorer, show
>>> CdrExplorer()                     # doctest: +SKIP   (last line of a cell: the form appears)
>>> summary = show(df)                # doctest: +SKIP   totals, billing check, anomalies, first rows, chart
>>> summary.total_cost                # doctest: +SKIP
Decimal('2234.665697')

An edge package: the core never imports it. ``summary`` (the numbers, from
``nxframe.report.tables``), ``chart`` (matplotlib, literal labels),
``display`` (MIME bundles, ``show``, and ``svg`` for a figure of your own),
``explorer`` (the form; the only module importing ipywidgets). Charts are
SVG whose labels are text, so names in any script show in the notebook's fonts.
"""

from .chart import chart
from .display import show, svg
from .explorer import CdrExplorer
from .summary import Summary, summarize

__all__ = ["CdrExplorer", "Summary", "chart", "show", "summarize", "svg"]
