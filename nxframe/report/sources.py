"""Where a report's rows come from: a DataFrame, a lake or a sign-off package, cut to dates, as one Arrow table.

A report reads the month and the month before; the billing check reads any
span. Both go through :func:`read_span`, which answers with the rows (Arrow,
the columns :data:`NEEDS`, storage types) and the dates that have data. For
a lake a date has data when it has a partition (a zero-row partition is a
fetched day without calls); a DataFrame cannot tell "no calls" from "not
fetched", so there a date has data when it has rows. A sign-off package
(:mod:`.package`) is a source too, verified first: its rows, and the dates
that had data when it was signed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInputError
from ..lake import Lake
from ..query import parse_date
from ..schema import arrow_schema
from .audit import AUDIT_NEEDS
from .package import is_package, open_package
from .tables import TOTALS_NEEDS, arrow_columns

__all__ = ["NEEDS", "Source", "Span", "between", "dates_of", "read_span"]

Source: TypeAlias = "pd.DataFrame | str | os.PathLike[str] | Lake"

#: Every column the report reads (tables, billing check, anomalies).
NEEDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            *AUDIT_NEEDS,
            *TOTALS_NEEDS,
            "call_number",
            "call_type",
            "country_name",
            "start_time",
            "end_reason",
            "end_reason_name",
        ]
    )
)


@dataclass(frozen=True)
class Span:
    """The rows of a source between two dates, and what the source says about them.

    Attributes:
        table: the rows (columns of ``names``, storage types), date order kept.
        present: dates of the span with data (see the module docstring).
        origin: the source, in words ("lake data/lake", "a DataFrame of 1,234 rows").
        ignored: rows of a DataFrame outside the span (or undated); 0 for a lake.
        is_lake: whether the source is a lake.
    """

    table: pa.Table
    present: frozenset[dt.date]
    origin: str
    ignored: int
    is_lake: bool


def read_span(
    source: Any,
    first: dt.date | None,
    last: dt.date | None,
    names: Sequence[str] = NEEDS,
    *,
    storage_options: dict[str, Any] | None = None,
) -> Span:
    """The rows of ``source`` dated ``first`` to ``last`` (inclusive; ``None``: open).

    ``storage_options`` are for a lake source (passed to fsspec as given).

    Raises:
        InvalidInputError: a source that is neither a DataFrame nor a lake, a
            lake that does not exist, a frame without the columns or with float money.
        LakeError: a partition of the span is unreadable.
    """
    if isinstance(source, pd.DataFrame):
        table = arrow_columns(source, names)
        keep = pc.is_valid(table["date"])
        if first is not None:
            keep = pc.and_(keep, pc.greater_equal(table["date"], pa.scalar(first, pa.date32())))
        if last is not None:
            keep = pc.and_(keep, pc.less_equal(table["date"], pa.scalar(last, pa.date32())))
        table = table.filter(pc.fill_null(keep, False))
        present = frozenset(pc.unique(table["date"]).to_pylist())
        return Span(table, present, f"a DataFrame of {len(source):,} rows", len(source) - table.num_rows, False)
    if is_package(source):  # a sign-off package: its rows and the dates that had data when it was signed
        package = open_package(source, parameter="source")
        rows = package.rows(first, last)
        table = pa.table({name: _text_codes(rows[name]) for name in names})
        present = frozenset(d for d in package.present() if (first or d) <= d <= (last or d))
        origin = f"sign-off package {package.folder} (signed {package.created_at} from {package.source})"
        return Span(table, present, origin, 0, package.from_lake)
    if isinstance(source, (str, os.PathLike, Lake)):
        lake = Lake(source, storage_options=storage_options)
        if not lake.exists():
            raise InvalidInputError(f"there is no lake at {lake.location!r}; check the path, or sync the month first")
        dates, tables, tz = lake.read_dates(first, last)  # one listing: the dates present are the ones read
        table = _lake_columns(tables, tz, names)
        return Span(table, frozenset(dates), f"lake {lake.location}", 0, True)
    raise InvalidInputError(
        f"source must be a DataFrame from fetch_cdr/read_lake or a lake path, not {type(source).__name__}"
    )


def _lake_columns(tables: Sequence[pa.Table], tz: str | None, names: Sequence[str]) -> pa.Table:
    """Partitions (the lake's Arrow types) as :func:`~.tables.arrow_columns` reads a frame, without pandas.

    Arrow straight from the files: a 3-million-row month skips two
    conversions through pandas (about a second each).
    """
    table = pa.concat_tables(tables) if tables else arrow_schema(tz).empty_table()
    return pa.table({name: _text_codes(table[name]) for name in names})


def _text_codes(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Code columns as text, the way :func:`~.tables.arrow_columns` reads them from a frame."""
    return values.cast(values.type.value_type) if pa.types.is_dictionary(values.type) else values


def between(table: pa.Table, first: dt.date, last: dt.date) -> pa.Table:
    """The rows of ``table`` dated ``first`` to ``last``."""
    keep = pc.and_(
        pc.greater_equal(table["date"], pa.scalar(first, pa.date32())),
        pc.less_equal(table["date"], pa.scalar(last, pa.date32())),
    )
    return table.filter(keep)


def dates_of(start: Any, end: Any) -> tuple[dt.date | None, dt.date | None]:
    """``start``/``end`` of the billing check as dates (``None`` stays open).

    Raises:
        InvalidInputError: not a date, or ``end`` before ``start``.
    """
    first = None if start is None else parse_date(start, "start")
    last = None if end is None else parse_date(end, "end")
    if first is not None and last is not None and last < first:
        raise InvalidInputError(f"end {last} is before start {first}", parameter="end")
    return first, last
