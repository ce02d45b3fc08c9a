"""What :func:`show` and the explorer display, as ready-made MIME bundles.

Bundles (not ``display()`` calls inside ``with output:``) because the
explorer sets them from a background thread, where ``with output:`` would
route by the wrong cell (see ``explorer``'s docstring). One rendering for
both, so ``show(df)`` and the explorer never disagree.

The rows table keeps one line per cell (JupyterLab lays tables out at fixed
widths, which wrapped every date and time onto three lines) and puts
:data:`FIRST_COLUMNS` first, so the money is on screen without scrolling;
the rest follow, a sideways scroll away. The chart is SVG whose labels are
text (``image/svg+xml``): the notebook's fonts draw Chinese, Japanese, Thai
or Vietnamese names, and drawing it prints no missing-glyph warning.
"""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..outputs import figure_svg, html_escape, terminal_text
from ..report import check_lines
from .chart import chart
from .summary import Summary, summarize

__all__ = ["FIRST_COLUMNS", "HEAD_ROWS", "FigureSVG", "bundles", "outputs", "show", "svg"]

#: Rows of the table shown under the summary.
HEAD_ROWS = 10
#: The columns shown first, in this order: when, which line, who, where, how long, what it cost.
FIRST_COLUMNS = (
    "date",
    "start_time",
    "did_number",
    "call_number",
    "country_name",
    "call_duration",
    "fee_duration_minute",
    "call_price_unit",
    "call_price",
)
_TABLE = 'class="dataframe nxframe-rows" style="table-layout: auto; width: auto; white-space: nowrap"'
#: On every cell too: JupyterLab's stylesheet sets ``white-space: normal`` on cells, which beats inheritance.
_CELL = ' style="white-space: nowrap"'


def _frame_bundle(frame: pd.DataFrame) -> dict[str, str]:
    """The first rows: :data:`FIRST_COLUMNS` first, one line per cell, decimals as written (``0.055000``).

    In a box that scrolls sideways, as JupyterLab's own outputs do: inside a
    widget the 19 columns would otherwise push the form's width. Headings may
    break after an underscore; cells never break.
    """
    first = [name for name in FIRST_COLUMNS if name in frame.columns]
    frame = frame[first + [name for name in frame.columns if name not in first]]
    names = [str(name) for name in frame.columns]
    heads = "".join(f'<th style="white-space: normal">{html_escape(n).replace("_", "_<wbr>")}</th>' for n in names)
    rows = "".join(
        "<tr>"
        + "".join(f"<td{_CELL}>{html_escape(_text(n, v))}</td>" for n, v in zip(names, record, strict=True))
        + "</tr>"
        for record in frame.itertuples(index=False, name=None)
    )
    table = f"<table {_TABLE}><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>"
    return {
        "text/plain": _plain(frame),
        "text/html": f'<div class="nxframe-rows" style="overflow-x: auto; max-width: 100%">{table}</div>',
    }


def _text(name: str, value: Any) -> str:
    """One cell as the frame's repr writes it: ``<NA>``, a date, a time to the second, a decimal's own text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "<NA>"
    if isinstance(value, pd.Timestamp) and name == "date" and value == value.normalize():
        day: str = value.date().isoformat()
        return day
    return str(value)


def _plain(frame: pd.DataFrame) -> str:
    """The frame's repr, its API text with control characters shown as escapes (front ends colour ANSI codes)."""
    shown = frame.copy()
    for name in shown.columns:
        dtype = shown[name].dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
            shown[name] = shown[name].astype(object).map(lambda v: terminal_text(v, None) if isinstance(v, str) else v)
    text: str = repr(shown)
    return text


def _summary_bundle(summary: Summary) -> dict[str, str]:
    """The summary as a two-column table, no header: figure, value."""
    frame = summary.to_frame()
    table = frame.rename_axis(None).to_html(header=False, classes="nxframe-summary")
    return {"text/plain": summary.text(), "text/html": table}


def _checks_bundle(lines: list[str]) -> dict[str, str]:
    """The billing-check line, then one line per anomaly of the frame's dates (API text escaped)."""
    head, *anomalies = lines or ["no calls to check"]
    items = "".join(f"<li>{html_escape(line)}</li>" for line in anomalies)
    rich = f'<div class="nxframe-checks"><b>Billing check:</b> {html_escape(head)}'
    rich += f"<ul>{items}</ul></div>" if items else "<br>No anomalies in these dates.</div>"
    plain = "\n".join([f"Billing check: {head}", *(f"  {line}" for line in anomalies)])
    return {"text/plain": plain if anomalies else plain + "\nNo anomalies in these dates.", "text/html": rich}


def _figure_bundle(figure: Figure) -> dict[str, str]:
    """The chart as SVG with text labels; ids unique to it, as several charts may share a notebook page."""
    return {
        "image/svg+xml": figure_svg(figure, f"nxchart-{uuid.uuid4().hex[:8]}"),
        "text/plain": "<chart: calls per hour of the day; cost by country>",
    }


class FigureSVG:
    """A matplotlib figure that Jupyter shows as SVG with text labels (see :func:`svg`)."""

    def __init__(self, figure: Figure) -> None:
        self.figure = figure

    def _repr_mimebundle_(self, **_: Any) -> dict[str, str]:
        return _figure_bundle(self.figure)


def svg(figure: Figure) -> FigureSVG:
    """Show any matplotlib figure in a notebook as SVG whose labels are text, in any script.

    The inline backend draws PNGs with matplotlib's own fonts (DejaVu Sans:
    no Chinese, Japanese or Thai, so empty boxes and a "Glyph ... missing"
    warning per character); the SVG leaves the labels to the notebook's fonts.
    Make the figure without pyplot (``Figure()``, or pandas' ``plot(ax=...)``
    on its axes) so the inline backend does not draw a PNG of it as well::

        axes = Figure(figsize=(7, 3)).subplots()
        costs.astype("float64").plot(kind="barh", ax=axes)
        svg(axes.figure)       # last line of the cell
    """
    return FigureSVG(figure)


def bundles(df: pd.DataFrame, summary: Summary, rows: int = HEAD_ROWS) -> list[dict[str, str]]:
    """Summary, billing check and anomalies, first rows, chart: what :func:`show` and the explorer display."""
    shown = min(rows, len(df))
    return [
        _summary_bundle(summary),
        _checks_bundle(check_lines(df)),
        {"text/html": f"<b>First {shown} of {len(df):,} rows</b>", "text/plain": f"First {shown} of {len(df):,} rows"},
        _frame_bundle(df.head(rows)),
        _figure_bundle(chart(df)),
    ]


def outputs(parts: list[dict[str, str]]) -> tuple[dict[str, Any], ...]:
    """Bundles as notebook outputs, for ``Output.outputs`` (safe to set from any thread)."""
    return tuple({"output_type": "display_data", "data": bundle, "metadata": {}} for bundle in parts)


def show(df: pd.DataFrame, *, rows: int = HEAD_ROWS) -> Summary:
    """Display a call-record DataFrame: exact totals, the billing check and anomalies, its first rows, a chart.

    Works on any frame from ``fetch_cdr`` or ``read_lake``. In Jupyter or
    IPython it displays rich output (no widget needed, so it also renders in
    exported notebooks); elsewhere it prints the summary and the checks.

    Returns:
        The :class:`Summary`, e.g. ``show(df).total_cost`` is the exact total.

    Raises:
        InvalidInputError: not a call-record frame (as ``summarize``).
    """
    summary = summarize(df)
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        print(summary.text())
        print(_checks_bundle(check_lines(df))["text/plain"])
        return summary
    for bundle in bundles(df, summary, rows):
        display(bundle, raw=True)  # type: ignore[no-untyped-call]
    return summary
