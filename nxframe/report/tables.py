"""The one kernel for totals and breakdowns: exact Arrow sums over the frame's columns.

Every figure nxframe prints or writes about a set of calls comes from here:
the monthly report's tables, the CLI's daily summary, the widget summary and
``df.cdr.totals()``. One copy, so one rule for "answered" (``call_duration >
0``; a null duration is not answered) and one rule for empty sums (0, never
null).

Money and minutes are ``decimal128`` sums, which Arrow widens to 38 digits:
exact, and no month can overflow. The only rounded figure is
``avg_cost_per_minute`` (``cost / billed_minutes``, 6 places ROUND_HALF_UP,
null when there are no billed minutes).

The frame may come from today's ``fetch_cdr``/``read_lake`` (numpy
``datetime64[s]`` dates and times), from older code (Arrow ``date32``), or be
any DataFrame with the needed columns; :func:`arrow_columns` reads each column
as the storage type ``schema.COLUMNS`` gives it and refuses floats for money.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInputError
from ..schema import COLUMNS, column

__all__ = [
    "AVERAGE_PLACES",
    "MEASURES",
    "SUM",
    "TOTALS_NEEDS",
    "UNKNOWN",
    "aggregate",
    "arrow_columns",
    "average",
    "breakdown",
    "label_nulls",
    "sorted_breakdown",
    "to_pandas",
    "totals",
]

#: The measures of every table, in column order.
MEASURES = ("calls", "answered", "duration_seconds", "billed_minutes", "cost", "avg_cost_per_minute")
#: The frame columns the measures read.
TOTALS_NEEDS = ("call_duration", "fee_duration_minute", "call_price")
#: Decimal places of ``avg_cost_per_minute``, rounded ROUND_HALF_UP.
AVERAGE_PLACES = 6
_AVERAGE_QUANTUM = Decimal(1).scaleb(-AVERAGE_PLACES)
#: Sums of decimal128(18, 6) columns: 38 digits, so no month can overflow.
SUM = pa.decimal128(38, 6)
#: Label of a null text key (a call without a country), so its calls still count in a breakdown.
UNKNOWN = "(unknown)"

_KNOWN = {c.name for c in COLUMNS}


def _wanted(name: str) -> pa.DataType | None:
    """The Arrow type a column is read as: its storage type, codes as text; ``None``: keep as read."""
    if name not in _KNOWN:
        return None
    spec = column(name)
    if spec.kind == "code":
        return pa.string()
    if spec.kind == "time":
        return None  # timestamp[s], with whatever zone the frame has
    return spec.arrow_type()


def arrow_columns(frame: pd.DataFrame, names: Iterable[str]) -> pa.Table:
    """``names`` of ``frame`` as Arrow columns of their ``schema.COLUMNS`` storage types.

    ``date`` becomes ``date32`` whether the frame holds ``datetime64[s]``
    (today's frames) or Arrow ``date32`` (older ones); times stay
    ``timestamp[s]`` with their zone; codes become text.

    Raises:
        InvalidInputError: a column is missing, cannot be read as its type, or
            holds money as floats (which cannot carry it exactly).
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(f"expected a DataFrame from nxframe.fetch_cdr or read_lake, not {type(frame).__name__}")
    names = list(dict.fromkeys(names))
    absent = [name for name in names if name not in frame.columns]
    if absent:
        raise InvalidInputError(
            f"the DataFrame lacks {', '.join(absent)}; pass a DataFrame from nxframe.fetch_cdr or read_lake"
        )
    arrays: dict[str, pa.ChunkedArray] = {}
    for name in names:
        wanted = _wanted(name)
        try:
            array = pa.chunked_array(pa.Table.from_pandas(frame[[name]], preserve_index=False).column(0))
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise InvalidInputError(f"column {name!r} cannot be read: {exc}") from None
        if wanted is None and name in _KNOWN and pa.types.is_timestamp(array.type):
            wanted = pa.timestamp("s", tz=array.type.tz)
        if wanted is None:
            arrays[name] = array
            continue
        if pa.types.is_decimal(wanted) and pa.types.is_floating(array.type) and len(array):
            raise InvalidInputError(
                f"column {name!r} holds floats ({array.type}), which cannot carry money exactly; "
                "use the decimal columns fetch_cdr/read_lake return"
            )
        if pa.types.is_dictionary(array.type):
            array = array.cast(array.type.value_type)
        try:
            arrays[name] = array if array.type == wanted else array.cast(wanted)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise InvalidInputError(f"column {name!r} cannot be read as {wanted}: {exc}") from None
    return pa.table(arrays)


def aggregate(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Key columns, then :data:`MEASURES`, one row per key (one row in all when ``keys`` is empty).

    ``table`` holds :data:`TOTALS_NEEDS` (as :func:`arrow_columns` reads
    them) and the keys. ``min_count=0`` makes an empty sum 0, not null.
    """
    answered = pc.fill_null(pc.greater(table["call_duration"], 0), False)
    work = pa.table(
        {
            **{key: table[key] for key in keys},
            "answered": answered,
            "call_duration": table["call_duration"],
            "fee_duration_minute": table["fee_duration_minute"],
            "call_price": table["call_price"],
        }
    )
    zero = pc.ScalarAggregateOptions(min_count=0)
    grouped = work.group_by(list(keys), use_threads=False).aggregate(
        [
            ([], "count_all"),
            ("answered", "sum", zero),
            ("call_duration", "sum", zero),
            ("fee_duration_minute", "sum", zero),
            ("call_price", "sum", zero),
        ]
    )
    if not keys and grouped.num_rows == 0:  # a grouping without keys over no rows: still one row of zeros
        grouped = pa.table(
            {
                "count_all": pa.array([0], pa.int64()),
                "answered_sum": pa.array([0], pa.int64()),
                "call_duration_sum": pa.array([0], pa.int64()),
                "fee_duration_minute_sum": pa.array([Decimal(0)], SUM),
                "call_price_sum": pa.array([Decimal(0)], SUM),
            }
        )
    cost = grouped["call_price_sum"].cast(SUM)
    minutes = grouped["fee_duration_minute_sum"].cast(SUM)
    columns = {key: grouped[key] for key in keys}
    columns |= {
        "calls": grouped["count_all"].cast(pa.int64()),
        "answered": grouped["answered_sum"].cast(pa.int64()),
        "duration_seconds": grouped["call_duration_sum"].cast(pa.int64()),
        "billed_minutes": minutes,
        "cost": cost,
        "avg_cost_per_minute": average(cost.to_pylist(), minutes.to_pylist()),
    }
    return pa.table(columns)


def average(costs: Iterable[Decimal | None], minutes: Iterable[Decimal | None]) -> pa.Array:
    """``cost / minutes`` to 6 places, ROUND_HALF_UP; null without billed minutes.

    Python's Decimal at 80 digits (a table has at most a few thousand rows),
    so the only rounding is the documented one.
    """
    values: list[Decimal | None] = []
    with localcontext() as context:
        context.prec = 80
        for cost, minute in zip(costs, minutes, strict=True):
            if cost is None or minute is None or minute == 0:
                values.append(None)
            else:
                values.append((cost / minute).quantize(_AVERAGE_QUANTUM, rounding=ROUND_HALF_UP))
    return pa.array(values, SUM)


def label_nulls(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Null text keys as :data:`UNKNOWN`, so a call without a country still counts under a name."""
    for key in keys:
        if pa.types.is_string(table[key].type) or pa.types.is_large_string(table[key].type):
            table = table.set_column(table.schema.get_field_index(key), key, pc.fill_null(table[key], UNKNOWN))
    return table


def sorted_breakdown(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Measures per key, highest cost first; ties by key so the order never depends on the input's."""
    grouped = aggregate(label_nulls(table, keys), keys)
    return grouped.sort_by([("cost", "descending"), *((key, "ascending") for key in keys)])


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas as the frame does it: ArrowDtype, but numpy ``datetime64[s]`` for timestamps."""
    frame: pd.DataFrame = table.to_pandas(
        types_mapper=lambda kind: None if pa.types.is_timestamp(kind) else pd.ArrowDtype(kind)
    )
    for name in table.column_names:
        kind = table.schema.field(name).type
        if pa.types.is_timestamp(kind):
            frame[name] = frame[name].astype("datetime64[s]" if kind.tz is None else pd.DatetimeTZDtype("s", kind.tz))
    return frame


def totals(frame: pd.DataFrame) -> pd.DataFrame:
    """One row: ``calls, answered, duration_seconds, billed_minutes, cost, avg_cost_per_minute``, exact.

    Raises:
        InvalidInputError: ``frame`` lacks ``call_duration``,
            ``fee_duration_minute`` or ``call_price``, or holds money as floats.
    """
    return to_pandas(aggregate(arrow_columns(frame, TOTALS_NEEDS), ()))


def breakdown(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """The same measures per key (``["country_name"]``, ``["date"]``...), highest cost first.

    A null text key counts under ``"(unknown)"``; ``date`` keys keep the
    frame's kind (``datetime64[s]`` for today's frames).

    Raises:
        InvalidInputError: a key or a measured column is missing, or money is floats.
    """
    keys = [keys] if isinstance(keys, str) else list(keys)
    table = arrow_columns(frame, [*keys, *TOTALS_NEEDS])
    if "date" in keys and "date" in frame.columns and pd.api.types.is_datetime64_any_dtype(frame["date"].dtype):
        table = table.set_column(table.schema.get_field_index("date"), "date", table["date"].cast(pa.timestamp("s")))
    return to_pandas(sorted_breakdown(table, keys))
