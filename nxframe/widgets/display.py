"""What :func:`show` and the explorer display, as ready-made MIME bundles.

Bundles (not ``display()`` calls inside ``with output:``) because the
explorer sets them from a background thread, where ``with output:`` would
route by the wrong cell (see ``explorer``'s docstring). One rendering for
both, so ``show(df)`` and the explorer never disagree.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..report import check_lines
from .chart import chart
from .summary import Summary, summarize

__all__ = ["HEAD_ROWS", "bundles", "outputs", "show"]

#: Rows of the table shown under the summary.
HEAD_ROWS = 10


def _frame_bundle(frame: pd.DataFrame) -> dict[str, str]:
    """A DataFrame as Jupyter renders it: pandas' HTML repr (decimals as written, e.g. 0.055000).

    Wrapped in a box that scrolls sideways, as JupyterLab's own outputs do:
    inside a widget the 19 columns would otherwise push the form's width.
    """
    rich = frame._repr_html_() or frame.to_html()
    wide = f'<div class="nxframe-rows" style="overflow-x: auto">{rich}</div>'
    return {"text/plain": repr(frame), "text/html": wide}


def _summary_bundle(summary: Summary) -> dict[str, str]:
    """The summary as a two-column table, no header: figure, value."""
    frame = summary.to_frame()
    table = frame.rename_axis(None).to_html(header=False, classes="nxframe-summary")
    return {"text/plain": summary.text(), "text/html": table}


def _checks_bundle(lines: list[str]) -> dict[str, str]:
    """The billing-check line, then one line per anomaly of the frame's dates (API text escaped)."""
    head, *anomalies = lines or ["no calls to check"]
    items = "".join(f"<li>{html.escape(line)}</li>" for line in anomalies)
    rich = f'<div class="nxframe-checks"><b>Billing check:</b> {html.escape(head)}'
    rich += f"<ul>{items}</ul></div>" if items else "<br>No anomalies in these dates.</div>"
    plain = "\n".join([f"Billing check: {head}", *(f"  {line}" for line in anomalies)])
    return {"text/plain": plain if anomalies else plain + "\nNo anomalies in these dates.", "text/html": rich}


def _figure_bundle(figure: Figure) -> dict[str, str]:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96)
    return {
        "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
        "text/plain": "<chart: calls per hour of the day; cost by country>",
    }


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
