"""The report as one self-contained HTML file, or a styled fragment for Jupyter.

The page is a Jinja2 template (``templates/report.html.j2``) rendered with
autoescape on: every value from the API is escaped by the engine, never by
hand, after its control characters became U+FFFD
(:func:`nxframe.outputs.html_text`). Each cell is formatted by its column's
kind in the report's column table (:mod:`.columns`). The only markup passed
through is the charts' SVG, whose text is XML-escaped. ``_repr_html_`` gets a
short version of the same body and stylesheet (scoped under ``.nxr``): the
cards, then every section folded (``<details>``), so a notebook shows the
headline at a glance and opens what it needs.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._version import __version__
from ..outputs import html_text, write_text
from .anomalies import KINDS
from .columns import NUMERIC, column
from .model import SECTIONS, TABLES, ReportData
from .tables import AVERAGE_PLACES, MEASURES
from .words import CURRENCY, date_ranges, decimal_text, month_name, timestamp

if TYPE_CHECKING:
    import jinja2

__all__ = ["html_document", "html_fragment", "write_html"]

_TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _finalize(value: Any) -> Any:
    """Every text the page prints, before Jinja2 escapes it: control characters become U+FFFD.

    The charts' SVG is already markup (``Markup``) and passes as it is.
    """
    import markupsafe

    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return html_text(value)
    return value


def _cell(name: str, value: Any) -> tuple[str, str]:
    """(text, css class) of one cell, by its column's kind."""
    kind = column(name).kind
    css = ("num cost" if name == "cost" else "num") if kind in NUMERIC else ""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return "—", css
    if kind == "flag":
        return ("missing" if value else ""), "tag" if value else ""
    if kind in ("money", "minutes") and isinstance(value, Decimal | int):
        return decimal_text(value), css
    if kind == "count" and isinstance(value, int | Decimal):
        return f"{int(value):,}", css
    if kind == "percent" and isinstance(value, float | int):
        return f"{value:+,.1f}%", css
    if kind == "date" and isinstance(value, pd.Timestamp | dt.date):
        day = value.date() if isinstance(value, pd.Timestamp) else value
        return f"{day.isoformat()} {day:%a}", "date"
    # an id is a name, not a quantity (no thousands separators); text's control characters: see _finalize
    return str(value), css


def _table(frame: pd.DataFrame, totals: pd.Series | None = None, *, missing: bool = False) -> dict[str, Any]:
    """Headings, rows of (text, class) cells, and an optional total row that shows the parts adding up."""
    names = [str(name) for name in frame.columns]
    rows = []
    for record in frame.itertuples(index=False, name=None):
        cells = [_cell(name, value) for name, value in zip(names, record, strict=True)]
        flagged = missing and bool(record[names.index("missing")])
        rows.append({"cells": cells, "css": "missing" if flagged else ""})
    foot = None
    if totals is not None:
        keys = [name for name in names if name not in MEASURES]
        foot = {
            "label": f"Total ({len(frame):,} rows)",
            "span": len(keys),
            "cells": [_cell(name, totals[name]) for name in names[len(keys) :]],
        }
    return {
        "heads": [(column(name).label, "num" if column(name).kind in NUMERIC else "") for name in names],
        "rows": rows,
        "foot": foot,
        "scroll": len(frame) > 40,
        "gist": f"{len(frame):,} row{'s' * (len(frame) != 1)}",
    }


def _cards(report: ReportData) -> list[tuple[str, str, str, str]]:
    totals = report.totals.iloc[0]
    calls, answered = int(totals["calls"]), int(totals["answered"])
    seconds = int(totals["duration_seconds"])
    return [
        ("cost", f"Total cost ({CURRENCY})", decimal_text(totals["cost"]), "exact"),
        ("", "Calls", f"{calls:,}", f"on {report.days - len(report.missing_dates)} of {report.days} dates with data"),
        ("", "Answered", f"{answered:,}", f"{answered / calls:.1%} of calls" if calls else "no calls"),
        ("", "Billed minutes", decimal_text(totals["billed_minutes"]), ""),
        ("", "Duration", f"{seconds / 3600:,.1f} h", f"{seconds:,} s"),
        (
            "",
            "Avg cost per billed minute",
            decimal_text(totals["avg_cost_per_minute"]),
            f"{AVERAGE_PLACES} places, half up",
        ),
        (
            "alert" if report.flagged else "",
            "Off the billing rules",
            f"{report.flagged:,}",
            f"overcharge {decimal_text(report.overcharge_total)}",
        ),
        (
            "alert" if len(report.anomalies) else "",
            "Anomalies",
            f"{len(report.anomalies):,}",
            ", ".join(kind for kind in KINDS if kind in set(report.anomalies["kind"].tolist())) or "none found",
        ),
    ]


def _context(report: ReportData, *, charts: bool) -> dict[str, Any]:
    from .charts import chart_svgs

    totals = report.totals.iloc[0]
    tables = [
        (title, _table(getattr(report, name), totals, missing=name == "by_day"))
        for name, (title, _keys) in TABLES.items()
        if name != "totals"
    ]
    import markupsafe

    figures = [(title, css, markupsafe.Markup(svg)) for title, css, svg in chart_svgs(report)] if charts else []
    past = [d for d in report.missing_dates if d <= report.today]
    return {
        "r": report,
        "title": f"DID call report {report.month}",
        "name": month_name(report.first),
        "version": __version__,
        "generated": timestamp(report.generated_at),
        "currency": CURRENCY,
        "missing_text": report.missing_text(),
        "missing_ranges": date_ranges(past),
        "cards": _cards(report),
        "figures": figures,
        "tables": tables,
        "sections": {name: report.section_title(name) for name in SECTIONS},
        "billing_line": report.billing_line(),
        "comparison_line": report.comparison_line(),
        "audit": _table(report.audit) if report.flagged else None,
        "changes": _table(report.changes) if not report.changes.empty else None,
        "anomalies": _table(report.anomalies) if not report.anomalies.empty else None,
        "anomaly_lines": report.anomaly_lines(),
        "anomaly_gist": _anomaly_gist(report),
        "comparison_gist": report.comparison_line().split(": ", 1)[-1],
        "notes": [(item, value) for item, value in report.notes() if item != "missing_date"],
    }


def _anomaly_gist(report: ReportData) -> str:
    """``2 anomalies: cost_spike_day, new_country`` or ``none found``."""
    found = report.anomalies["kind"].tolist()
    if not found:
        return "none found"
    kinds = ", ".join(kind for kind in KINDS if kind in found)
    return f"{len(found):,} anomal{'ies' if len(found) != 1 else 'y'}: {kinds}"


def html_document(report: ReportData, *, charts: bool = True) -> str:
    """The whole page."""
    return _environment().get_template("report.html.j2").render(_context(report, charts=charts), fragment=False)


def html_fragment(report: ReportData) -> str:
    """The body with its scoped stylesheet and no charts, for ``_repr_html_``."""
    return _environment().get_template("report.html.j2").render(_context(report, charts=False), fragment=True)


def write_html(report: ReportData, path: str | os.PathLike[str]) -> Path:
    """Write the page to ``path`` through a temporary beside it, renamed when complete."""
    return write_text(path, html_document(report))
