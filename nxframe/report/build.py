"""``monthly_report``: a month and the month before, from a frame or a lake, into a Report.

Pure arithmetic on Arrow: read the two months once (:mod:`.sources`), then
the tables (:mod:`.tables`), the billing check (:mod:`.audit`), the
comparison and the anomalies (:mod:`.anomalies`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .anomalies import anomalies, changes, empty_changes
from .audit import audit_table, to_audit_frame, tolerance
from .document import Report
from .sources import Source, between, read_span
from .tables import SUM, aggregate, label_nulls, sorted_breakdown, to_pandas
from .words import month_range, previous_month

__all__ = ["DEFAULT_MINUTES", "DEFAULT_PRICE", "monthly_report", "overcharge_total"]

DEFAULT_MINUTES = tolerance("0.005", "minutes_tolerance")
DEFAULT_PRICE = tolerance("0.000001", "price_tolerance")
_KEYED = ("did_number", "country_name", "call_type", "end_reason", "end_reason_name")


def monthly_report(source: Source, month: str, *, today: dt.date | None = None) -> Report:
    """The exact report of one month of call records, checked and compared with the month before.

    Args:
        source: a DataFrame from ``fetch_cdr``/``read_lake`` (the columns of
            ``nxframe.schema.COLUMNS``), or a lake: a folder path, an fsspec
            URL or a :class:`~nxframe.lake.Lake`. The month before is read
            from the same source (its rows, or its partitions).
        month: ``"YYYY-MM"``. Rows dated outside it (and the month before) are ignored.
        today: the date taken as today (default: the local date); missing
            dates after it are reported as the future, not as a sync to run.

    Returns:
        A :class:`Report`; ``report.complete`` says whether every date of the
        month has data, ``report.empty`` whether none has.

    Raises:
        InvalidInputError: a bad month, a source that is neither, a DataFrame
            without the needed columns or with money as floats, a lake path
            that does not exist. All checked before any data is read.
        LakeError: a partition of the two months is unreadable.
    """
    first, last = month_range(month)
    previous = previous_month(first)
    before_first, before_last = month_range(previous) if previous else (first, first - dt.timedelta(days=1))
    span = read_span(source, before_first, last)
    this = between(span.table, first, last)
    before = between(span.table, before_first, before_last)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    present = {day for day in span.present if first <= day <= last}
    before_present = {day for day in span.present if before_first <= day <= before_last}
    available = bool(before_present)
    audit = to_audit_frame(audit_table(this, DEFAULT_MINUTES, DEFAULT_PRICE))
    before_totals = aggregate(before, ()).to_pylist()[0]
    keyed = label_nulls(this, _KEYED)
    return Report(
        month=month,
        first=first,
        last=last,
        source=span.origin,
        rows=this.num_rows,
        ignored_rows=span.ignored + before.num_rows if not span.is_lake else 0,
        totals=to_pandas(aggregate(this, ())),
        by_did=to_pandas(sorted_breakdown(keyed, ("did_number",))),
        by_country=to_pandas(sorted_breakdown(keyed, ("country_name",))),
        by_day=_by_day(this, days, present),
        by_call_type=to_pandas(sorted_breakdown(keyed, ("call_type",))),
        by_end_reason=to_pandas(sorted_breakdown(keyed, ("end_reason", "end_reason_name"))),
        audit=audit,
        overcharge_total=overcharge_total(audit),
        previous=previous,
        previous_available=available,
        previous_dates=len(before_present),
        previous_days=(before_last - before_first).days + 1,
        previous_calls=int(before_totals["calls"]),
        previous_cost=before_totals["cost"],
        changes=changes(this, before) if available else empty_changes(),
        anomalies=anomalies(this, present, before if available else None, previous),
        missing_dates=[day for day in days if day not in present],
        missing_reason="no partition in the lake" if span.is_lake else "no rows in the DataFrame",
        is_lake=span.is_lake,
        today=dt.date.today() if today is None else today,
    )


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
