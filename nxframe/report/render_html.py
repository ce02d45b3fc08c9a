"""The report as one self-contained HTML file, or a styled fragment for Jupyter.

The page is a Jinja2 template (``templates/report.html.j2``) rendered with
autoescape on: every value from the API is escaped by the engine, never by
hand. The only markup passed through is the charts' SVG, which matplotlib
writes with its text XML-escaped. ``_repr_html_`` gets the same body and the
same stylesheet (scoped under ``.nxr``), so a notebook shows the styled cards
the file shows.
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
from ..export import atomic_file
from .anomalies import KINDS
from .model import SECTIONS, TABLES, ReportData
from .tables import AVERAGE_PLACES, MEASURES
from .words import CURRENCY, LABELS, date_ranges, decimal_text, month_name, timestamp

if TYPE_CHECKING:
    import jinja2

__all__ = ["html_document", "html_fragment", "write_html"]

_TEMPLATES = Path(__file__).parent / "templates"
_NUMERIC = {*MEASURES, "call_duration", "id", "previous_calls", "cost_change_pct", "value", "baseline"}


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _cell(name: str, value: Any) -> tuple[str, str]:
    """(text, css class) of one cell."""
    numeric = name in _NUMERIC or name in {"fee_duration_minute", "expected_minutes", "call_price_unit"}
    numeric = numeric or name in {"call_price", "expected_price", "overcharge", "previous_cost", "cost_change"}
    css = ("num cost" if name == "cost" else "num") if numeric else ""
    if value is None or value is pd.NA or value is pd.NaT:
        return "—", css
    if name == "missing":
        return ("missing" if value else ""), "tag" if value else ""
    if isinstance(value, Decimal):
        return decimal_text(value), css
    if isinstance(value, float):
        return ("—" if value != value else f"{value:+,.1f}%"), css
    if isinstance(value, int):
        return (str(value) if name == "id" else f"{value:,}"), css  # an id is a name, not a quantity
    if isinstance(value, pd.Timestamp | dt.date):
        day = value.date() if isinstance(value, pd.Timestamp) else value
        return f"{day.isoformat()} {day:%a}", css
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
        "heads": [(LABELS.get(name, name), "num" if name in _NUMERIC else "") for name in names],
        "rows": rows,
        "foot": foot,
        "scroll": len(frame) > 40,
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
        "notes": [(item, value) for item, value in report.notes() if item != "missing_date"],
    }


def html_document(report: ReportData, *, charts: bool = True) -> str:
    """The whole page."""
    return _environment().get_template("report.html.j2").render(_context(report, charts=charts), fragment=False)


def html_fragment(report: ReportData) -> str:
    """The body with its scoped stylesheet and no charts, for ``_repr_html_``."""
    return _environment().get_template("report.html.j2").render(_context(report, charts=False), fragment=True)


def write_html(report: ReportData, path: str | os.PathLike[str]) -> Path:
    """Write the page to ``path`` through a temporary beside it, renamed when complete."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = html_document(report)
    with atomic_file(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return target
