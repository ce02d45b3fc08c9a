"""Every column a report table can hold: its heading and its kind. The renderers format from this table.

A new column is one line here: HTML, Excel and CSV then show it the same way.

=========  ==============================  ==================  ============================
kind       HTML                            Excel               CSV
=========  ==============================  ==================  ============================
money      ``1,234.500000`` (exact)        number ``#,##0.000000``  exact decimal text
minutes    ``1,234.500000`` (exact)        number ``#,##0.000000``  exact decimal text
count      ``1,234``                       number ``#,##0``    ``1234``
id         ``90123000001`` (a name)        number              ``90123000001``
percent    ``+25.0%``                      number ``0.0``      ``25.0``
date       ``2024-02-01 Thu``              date ``yyyy-mm-dd`` ``2024-02-01``
flag       ``missing`` tag                 TRUE/FALSE          ``true``/``false``
text       escaped, controls U+FFFD        text, never formula OWASP's CSV-injection rule
=========  ==============================  ==================  ============================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .words import CURRENCY

__all__ = ["COLUMNS", "LABELS", "NUMERIC", "Kind", "ReportColumn", "column"]

Kind = Literal["money", "minutes", "count", "id", "percent", "date", "flag", "text"]
#: Kinds shown right-aligned, as numbers.
NUMERIC: frozenset[str] = frozenset({"money", "minutes", "count", "id", "percent"})


@dataclass(frozen=True)
class ReportColumn:
    """One column: ``name`` in the DataFrame, ``label`` as a heading, ``kind`` for the renderers."""

    name: str
    label: str
    kind: Kind


COLUMNS: tuple[ReportColumn, ...] = (
    # keys of the breakdowns
    ReportColumn("did_number", "DID number", "text"),
    ReportColumn("country_name", "Country", "text"),
    ReportColumn("call_type", "Direction", "text"),
    ReportColumn("end_reason", "Reason code", "text"),
    ReportColumn("end_reason_name", "Hang-up reason", "text"),
    ReportColumn("date", "Date", "date"),
    ReportColumn("missing", "Missing", "flag"),
    # the measures (tables.MEASURES)
    ReportColumn("calls", "Calls", "count"),
    ReportColumn("answered", "Answered", "count"),
    ReportColumn("duration_seconds", "Duration (s)", "count"),
    ReportColumn("billed_minutes", "Billed minutes", "minutes"),
    ReportColumn("cost", f"Cost ({CURRENCY})", "money"),
    ReportColumn("avg_cost_per_minute", f"Avg per billed minute ({CURRENCY})", "money"),
    # the billing check (audit.AUDIT_COLUMNS)
    ReportColumn("id", "Call id", "id"),
    ReportColumn("fee_type", "Fee type", "text"),
    ReportColumn("call_duration", "Duration (s)", "count"),
    ReportColumn("fee_duration_minute", "Billed minutes", "minutes"),
    ReportColumn("expected_minutes", "Expected minutes", "minutes"),
    ReportColumn("call_price_unit", f"Price per minute ({CURRENCY})", "money"),
    ReportColumn("call_price", f"Cost ({CURRENCY})", "money"),
    ReportColumn("expected_price", f"Expected cost ({CURRENCY})", "money"),
    ReportColumn("overcharge", f"Overcharge ({CURRENCY})", "money"),
    ReportColumn("issue", "Issue", "text"),
    # the month before (anomalies.CHANGE_COLUMNS)
    ReportColumn("dimension", "By", "text"),
    ReportColumn("key", "Key", "text"),
    ReportColumn("previous_calls", "Calls before", "count"),
    ReportColumn("previous_cost", f"Cost before ({CURRENCY})", "money"),
    ReportColumn("cost_change", f"Change ({CURRENCY})", "money"),
    ReportColumn("cost_change_pct", "Change (%)", "percent"),
    # anomalies (anomalies.ANOMALY_COLUMNS): value and baseline are costs, or a count of calls
    ReportColumn("kind", "Kind", "text"),
    ReportColumn("value", "Value", "money"),
    ReportColumn("baseline", "Baseline", "money"),
    ReportColumn("detail", "Detail", "text"),
    # notes.csv
    ReportColumn("item", "Item", "text"),
)
_BY_NAME = {c.name: c for c in COLUMNS}
#: Column headings by name.
LABELS = {c.name: c.label for c in COLUMNS}


def column(name: str) -> ReportColumn:
    """The column called ``name``; a column this table does not know is text under its own name."""
    return _BY_NAME.get(name) or ReportColumn(name, name, "text")
