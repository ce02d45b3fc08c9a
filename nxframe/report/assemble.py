"""A month's report figures from rows already read: the arithmetic of ``monthly_report``, without the reading.

Pure arithmetic on Arrow: the tables (:mod:`.tables`), the billing check
(:mod:`.audit`), the comparison and the anomalies (:mod:`.anomalies`). Kept
apart from :mod:`.build` so that a sign-off can make the figures again from
the rows it is about to keep, and prove they are the report's, without
importing the ``Report`` class that asks it to.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .anomalies import anomalies, changes, empty_changes
from .audit import audit_table, to_audit_frame, tolerance
from .sources import Span, between
from .tables import SUM, aggregate, label_nulls, sorted_breakdown, to_pandas
from .words import month_range, previous_month

__all__ = ["DEFAULT_MINUTES", "DEFAULT_PRICE", "FIGURES", "assemble", "months", "overcharge_total"]

DEFAULT_MINUTES = tolerance("0.005", "minutes_tolerance")
DEFAULT_PRICE = tolerance("0.000001", "price_tolerance")
_KEYED = ("did_number", "country_name", "call_type", "end_reason", "end_reason_name")
#: The fields of a report that come from its rows: two reports of the same rows agree on all of them.
FIGURES = (
    "rows",
    "totals",
    "by_did",
    "by_country",
    "by_day",
    "by_call_type",
    "by_end_reason",
    "audit",
    "overcharge_total",
    "previous_available",
    "previous_dates",
    "previous_calls",
    "previous_cost",
    "changes",
    "anomalies",
    "missing_dates",
)


def months(month: str) -> tuple[dt.date, dt.date, str, dt.date, dt.date]:
    """``first, last`` of ``month``, the month before as text, and its ``first, last``.

    Raises:
        InvalidInputError: ``month`` is not ``YYYY-MM``.
    """
    first, last = month_range(month)
    previous = previous_month(first)
    before_first, before_last = month_range(previous) if previous else (first, first - dt.timedelta(days=1))
    return first, last, previous, before_first, before_last


def assemble(span: Span, month: str, *, today: dt.date, ignored_rows: int | None = None) -> dict[str, Any]:
    """The keyword arguments of a ``Report`` of ``month`` from ``span`` (the month and the month before).

    Args:
        ignored_rows: rows of the source outside the month, when the span
            cannot tell (a sign-off package keeps only the two months); by
            default counted from the span.
    """
    first, last, previous, before_first, before_last = months(month)
    this = between(span.table, first, last)
    before = between(span.table, before_first, before_last)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    present = {day for day in span.present if first <= day <= last}
    before_present = {day for day in span.present if before_first <= day <= before_last}
    available = bool(before_present)
    audit = to_audit_frame(audit_table(this, DEFAULT_MINUTES, DEFAULT_PRICE))
    before_totals = aggregate(before, ()).to_pylist()[0]
    keyed = label_nulls(this, _KEYED)
    if ignored_rows is None:
        ignored_rows = span.ignored + before.num_rows if not span.is_lake else 0
    return {
        "month": month,
        "first": first,
        "last": last,
        "source": span.origin,
        "rows": this.num_rows,
        "ignored_rows": ignored_rows,
        "totals": to_pandas(aggregate(this, ())),
        "by_did": to_pandas(sorted_breakdown(keyed, ("did_number",))),
        "by_country": to_pandas(sorted_breakdown(keyed, ("country_name",))),
        "by_day": _by_day(this, days, present),
        "by_call_type": to_pandas(sorted_breakdown(keyed, ("call_type",))),
        "by_end_reason": to_pandas(sorted_breakdown(keyed, ("end_reason", "end_reason_name"))),
        "audit": audit,
        "overcharge_total": overcharge_total(audit),
        "previous": previous,
        "previous_available": available,
        "previous_dates": len(before_present),
        "previous_days": (before_last - before_first).days + 1,
        "previous_calls": int(before_totals["calls"]),
        "previous_cost": before_totals["cost"],
        "changes": changes(this, before) if available else empty_changes(),
        "anomalies": anomalies(this, present, before if available else None, previous),
        "missing_dates": [day for day in days if day not in present],
        "missing_reason": "no partition in the lake" if span.is_lake else "no rows in the DataFrame",
        "is_lake": span.is_lake,
        "today": today,
    }


def overcharge_total(audit: pd.DataFrame) -> Decimal:
    """The sum of the positive ``overcharge`` values (0 when none): what the account may claim back."""
    values = pa.chunked_array([pa.array(audit["overcharge"])], pa.decimal128(18, 6))
    positive = pc.filter(values, pc.fill_null(pc.greater(values, 0), False))
    total = pc.sum(positive.cast(SUM), min_count=0).as_py()
    return Decimal("0.000000") if total is None else Decimal(total)


def _by_day(table: pa.Table, days: list[dt.date], present: set[dt.date]) -> pd.DataFrame:
    """Measures per date for every day of the month, zeros on days without calls; ``date`` as datetime64[s]."""
    found = {row["date"]: row for row in aggregate(table, ("date",)).to_pylist()}
    zero = Decimal("0.000000")
    empty = {"calls": 0, "answered": 0, "duration_seconds": 0, "billed_minutes": zero, "cost": zero}
    rows = [{**empty, "avg_cost_per_minute": None, **found.get(day, {})} for day in days]
    columns: dict[str, pa.Array] = {
        "date": pa.array(days, pa.date32()).cast(pa.timestamp("s")),
        "missing": pa.array([day not in present for day in days], pa.bool_()),
    }
    for name, kind in (
        ("calls", pa.int64()),
        ("answered", pa.int64()),
        ("duration_seconds", pa.int64()),
        ("billed_minutes", SUM),
        ("cost", SUM),
        ("avg_cost_per_minute", SUM),
    ):
        columns[name] = pa.array([row[name] for row in rows], kind)
    return to_pandas(pa.table(columns))
