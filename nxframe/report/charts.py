"""The HTML report's charts as inline SVG: text stays text, API text stays literal.

A bare ``Figure``, never pyplot: no global figure state, safe in a server or
a thread, no GUI backend chosen by accident. Labels from the API (countries,
DIDs) are data: drawn literally (``text.parse_math`` off, so
``$\\foo{bar}$`` is not math) and shortened to 40 characters with an ellipsis
*before* matplotlib sees them (:func:`nxframe.outputs.chart_label`), so a 1
MB label costs nothing. The SVG keeps every label as text, drawn by the
reader's fonts in any script (:func:`nxframe.outputs.figure_svg`). Floats
appear here only to place bars; every printed figure comes from the exact
tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..outputs import CHART_RC, chart_label, figure_svg
from .model import ReportData
from .words import CURRENCY, MONTH_NAMES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CHART_TITLES", "chart_svgs"]

#: The HTML report's charts, in page order (the comparison chart's title names the month before).
CHART_TITLES = (f"Cost per day ({CURRENCY})", f"Top DID numbers by cost ({CURRENCY})", f"Cost by country ({CURRENCY})")
_TOP = 10
_BAR = "#2563eb"
_BEFORE = "#9ca3af"
#: Literal text everywhere: no mathtext, no TeX; labels as text.
_RC: dict[str, Any] = {**CHART_RC, "font.size": 9}


def comparison_title(report: ReportData) -> str:
    return f"Cost by country: {report.month} vs {report.previous} ({CURRENCY})"


def svg(draw: Callable[[Figure], None], prefix: str, size: tuple[float, float]) -> str:
    """One chart as an ``<svg>`` element, its ids prefixed so several can share a page."""
    import matplotlib
    from matplotlib.figure import Figure

    settings: Any = _RC
    with matplotlib.rc_context(settings):
        figure = Figure(figsize=size, layout="constrained")
        draw(figure)
        return figure_svg(figure, prefix)


def chart_svgs(report: ReportData) -> list[tuple[str, str, str]]:
    """(title, css class, svg) of each chart, in page order; the comparison only with a month before."""
    charts = [
        (CHART_TITLES[0], "wide", svg(lambda f: _days(f, report), "chart1", (11, 3.4))),
        (CHART_TITLES[1], "", svg(lambda f: _dids(f, report), "chart2", (5.6, 4.2))),
        (CHART_TITLES[2], "", svg(lambda f: _countries(f, report), "chart3", (5.6, 4.2))),
    ]
    if report.previous_available:
        charts.append((comparison_title(report), "wide", svg(lambda f: _compare(f, report), "chart4", (11, 4.2))))
    return charts


def _style(axes: Any) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.set_axisbelow(True)


def _money_axis(axis: Any, top: float) -> None:
    """Thousands separators; decimals only when the amounts are small enough to need them."""
    from matplotlib.ticker import StrMethodFormatter

    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}" if top >= 20 else "{x:,.2f}"))


def _days(figure: Figure, report: ReportData) -> None:
    axes = figure.add_subplot()
    _style(axes)
    days = report.by_day
    dates: list[dt.date] = [pd.Timestamp(value).date() for value in days["date"].tolist()]
    costs = [float(value) for value in days["cost"].tolist()]
    positions = list(range(len(dates)))
    colors = ["#93c5fd" if date.weekday() >= 5 else _BAR for date in dates]
    axes.bar(positions, costs, color=colors, width=0.75)
    top = max(costs, default=0.0) or 1.0
    for position, is_missing in enumerate(days["missing"].tolist()):
        if is_missing:
            axes.axvspan(position - 0.5, position + 0.5, color="#fecaca", zorder=0)
            axes.text(position, top * 0.04, "missing", rotation=90, ha="center", va="bottom", color="#991b1b")
    axes.set_xticks(positions, [str(date.day) for date in dates])
    axes.set_xlim(-0.6, len(dates) - 0.4)
    axes.set_ylim(0, top * 1.08)
    axes.grid(axis="y", color="#e4e7eb")
    axes.set_ylabel(CURRENCY)
    axes.set_xlabel(f"Day of {MONTH_NAMES[report.first.month]} {report.first.year} (weekends in lighter blue)")
    _money_axis(axes.yaxis, top)


def _bars(figure: Figure, labels: list[str], values: list[float], empty: str) -> None:
    axes = figure.add_subplot()
    _style(axes)
    if not labels:
        axes.text(0.5, 0.5, empty, ha="center", va="center", transform=axes.transAxes, color="#52606d")
        axes.set_axis_off()
        return
    positions = list(range(len(labels)))[::-1]  # largest on top
    bars = axes.barh(positions, values, color=_BAR, height=0.7)
    axes.bar_label(bars, labels=[f"{value:,.2f}" for value in values], padding=3, fontsize=8)
    axes.set_yticks(positions, [chart_label(label) for label in labels])
    axes.set_xlim(0, max(max(values), 1e-9) * 1.22)
    axes.grid(axis="x", color="#e4e7eb")
    axes.set_xlabel(CURRENCY)
    _money_axis(axes.xaxis, max(values))


def _dids(figure: Figure, report: ReportData) -> None:
    top = report.by_did.head(_TOP)
    _bars(figure, top["did_number"].tolist(), [float(v) for v in top["cost"].tolist()], "no calls")


def _countries(figure: Figure, report: ReportData) -> None:
    countries = report.by_country
    labels = countries["country_name"].tolist()
    values = [float(v) for v in countries["cost"].tolist()]
    if len(labels) > 12:  # a readable chart: the 11 largest and the rest together
        labels = [*labels[:11], f"{len(labels) - 11} others"]
        values = [*values[:11], float(sum(Decimal(v) for v in countries["cost"].tolist()[11:]))]
    _bars(figure, labels, values, "no calls")


def _compare(figure: Figure, report: ReportData) -> None:
    """Per country: this month's cost beside the previous month's, the 12 largest of either."""
    rows = report.changes[report.changes["dimension"] == "country_name"]
    rows = rows.assign(_top=[max(a, b) for a, b in zip(rows["cost"], rows["previous_cost"], strict=True)])
    rows = rows.sort_values("_top", ascending=False, kind="stable").head(12)
    axes = figure.add_subplot()
    _style(axes)
    if rows.empty:
        axes.text(0.5, 0.5, "no calls in either month", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    labels = [chart_label(v) for v in rows["key"].tolist()]
    now = [float(v) for v in rows["cost"].tolist()]
    before = [float(v) for v in rows["previous_cost"].tolist()]
    positions = list(range(len(labels)))
    axes.bar([p - 0.2 for p in positions], before, width=0.4, color=_BEFORE, label=report.previous)
    axes.bar([p + 0.2 for p in positions], now, width=0.4, color=_BAR, label=report.month)
    axes.set_xticks(positions, labels, rotation=30, ha="right")
    axes.grid(axis="y", color="#e4e7eb")
    axes.set_ylabel(CURRENCY)
    axes.legend(frameon=False)
    _money_axis(axes.yaxis, max([*now, *before, 1e-9]))
