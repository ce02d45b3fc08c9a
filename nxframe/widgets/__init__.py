"""Jupyter widgets for call records: :class:`CdrExplorer` (pick, fetch, look) and :func:`show` (summary + chart).

>>> from nxframe.widgets import CdrExplorer, show
>>> CdrExplorer()                     # doctest: +SKIP   (last line of a cell: the form appears)
>>> summary = show(df)                # doctest: +SKIP   totals, billing check, anomalies, first rows, chart
>>> summary.total_cost                # doctest: +SKIP
Decimal('2234.665697')

An edge package: the core never imports it. ``summary`` (the numbers, from
``nxframe.report.tables``), ``chart`` (matplotlib, literal labels),
``display`` (MIME bundles and ``show``), ``explorer`` (the form; the only
module importing ipywidgets).
"""

from .chart import chart
from .display import show
from .explorer import CdrExplorer
from .summary import Summary, summarize

__all__ = ["CdrExplorer", "Summary", "chart", "show", "summarize"]
