"""The monthly report: exact totals, the billing check, the month before, anomalies; Excel, HTML, CSV.

The package's modules, data flowing one way: ``tables`` (the one totals
kernel) -> ``audit`` (billing rules) -> ``anomalies`` (changes, anomalies)
-> ``model`` (the Report) -> ``render_*``/``charts`` (files).
"""

from .legacy import AVERAGE_PLACES, CHART_TITLES, CURRENCY, TABLES, Report, month_range, monthly_report, output_kind
from .tables import breakdown, totals

__all__ = [
    "AVERAGE_PLACES",
    "CHART_TITLES",
    "CURRENCY",
    "TABLES",
    "Report",
    "breakdown",
    "month_range",
    "monthly_report",
    "output_kind",
    "totals",
]
