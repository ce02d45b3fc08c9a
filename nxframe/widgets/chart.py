"""The first-look chart: calls per hour of the day, cost by country.

Country names are API text, i.e. data: they are drawn literally (matplotlib
would read ``$...$`` as math, and a malformed formula raises inside
``savefig``) and cut to 40 characters with an ellipsis so a hostile or long
name cannot push the bars off the figure: the one chart-label rule,
:func:`nxframe.outputs.chart_label`. :func:`show` and the explorer display
the figure as SVG whose labels are text (:func:`nxframe.outputs.figure_svg`),
so Chinese, Japanese, Thai or Vietnamese names show in the notebook's fonts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..outputs import CHART_LABEL_CHARS, CHART_RC, chart_label
from .summary import check_frame

__all__ = ["LABEL_CHARS", "TOP_COUNTRIES", "chart"]

#: Countries in the cost chart; the rest are summed into "other".
TOP_COUNTRIES = 10
#: Longest chart label, in characters (tables keep the text whole).
LABEL_CHARS = CHART_LABEL_CHARS


def chart(df: pd.DataFrame) -> Figure:
    """Calls per hour (by direction) and cost by country, as a matplotlib :class:`Figure`.

    Uses the object API (no ``pyplot``), so it is safe in any thread and
    leaves no figure open. Bar lengths are floats, which is fine for pixels;
    the cost labels print the exact decimal totals.

    Raises:
        InvalidInputError: not a call-record frame (as ``summarize``).
    """
    import matplotlib

    check_frame(df)
    settings: Any = CHART_RC
    with matplotlib.rc_context(settings):  # every text literal: no $...$ math
        figure = Figure(figsize=(11, 3.6), layout="constrained")
        hours_axes, country_axes = figure.subplots(1, 2, width_ratios=(3, 2))
        _plot_hours(hours_axes, df)
        _plot_countries(country_axes, df)
    return figure


def _plot_hours(axes: Any, df: pd.DataFrame) -> None:
    frame = pd.DataFrame({"hour": df["start_time"].dt.hour.astype("Int64"), "call_type": df["call_type"]})
    frame = frame.dropna()
    counts = frame.groupby(["hour", "call_type"], observed=False).size().unstack(fill_value=0)
    counts = counts.reindex(range(24), fill_value=0)
    bottom = [0] * 24
    for direction in counts.columns:
        heights = [int(v) for v in counts[direction]]
        if any(heights):
            axes.bar(range(24), heights, bottom=bottom, label=chart_label(direction), width=0.85)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title("Calls per hour of the day")
    axes.set_xlabel("hour (start time)")
    axes.set_ylabel("calls")
    axes.set_xticks(range(0, 24, 2))
    axes.set_xlim(-0.6, 23.6)
    if not any(bottom):
        axes.text(0.5, 0.5, "no calls", transform=axes.transAxes, ha="center", va="center", color="grey")
    elif len(axes.get_legend_handles_labels()[0]) > 1:
        axes.legend(frameon=False)


def _plot_countries(axes: Any, df: pd.DataFrame) -> None:
    # Sums stay exact decimals; only the bar lengths are converted to float.
    cost = df.groupby(df["country_name"].fillna("(unknown)"), sort=False)["call_price"].sum().sort_values()
    if len(cost) > TOP_COUNTRIES:
        rest = cost.iloc[: len(cost) - TOP_COUNTRIES + 1]
        top = cost.iloc[len(cost) - TOP_COUNTRIES + 1 :]
        cost = pd.concat([pd.Series([rest.sum()], index=["other"], dtype=cost.dtype), top])
    axes.set_title("Cost by country")
    if len(cost) == 0:
        axes.text(0.5, 0.5, "no calls", transform=axes.transAxes, ha="center", va="center", color="grey")
        axes.set_xticks([])
        axes.set_yticks([])
        return
    values = [Decimal(0) if value is pd.NA else Decimal(value) for value in cost]  # Arrow decimals iterate as Decimal
    rows = list(range(len(values)))
    axes.barh(rows, [float(v) for v in values], color="#4c72b0")
    axes.set_yticks(rows, [chart_label(name) for name in cost.index])
    for row, value in zip(rows, values, strict=True):
        axes.annotate(f" {value:,}", (float(value), row), va="center", fontsize=8, parse_math=False)
    axes.set_xlabel("cost (exact totals at the bars)")
    axes.margins(x=0.35)
