"""``restatements``: every call added, removed or changed since a month was signed off.

A month is signed once, but the lake goes on changing: the refresh window
re-fetches recent dates, late calls arrive, NXCloud re-rates calls. This
compares the rows a package signed with the rows a source holds now, call by
call, keyed by (date, id).

Vectorised Arrow, no Python per row: one hash join of the two key sets (with
each side's row number), one ``take`` per column and side, one null-aware
comparison per column; the names of the columns that differ are joined into
``fields`` by Arrow's string kernels. ``benchmarks/bench_signoff.py``
measures it on a 3.1-million-row month.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInputError, SchemaError
from ..lake import Lake
from ..schema import COLUMNS, DECIMAL
from .package import Package, is_package, open_package
from .sources import read_span
from .tables import to_pandas

__all__ = ["CHANGES", "COMPARED", "RESTATEMENT_COLUMNS", "compare", "restate", "restatements", "summary", "to_frame"]

#: The columns of ``restatements``' answer, in order.
RESTATEMENT_COLUMNS = (
    "date",
    "id",
    "change",
    "fields",
    "signed_call_price",
    "current_call_price",
    "cost_delta",
)
CHANGES = ("added", "removed", "changed")
#: The columns compared for a call present on both sides, in the frame's order (``fields`` lists them so).
COMPARED = tuple(c.name for c in COLUMNS if c.name not in ("date", "id"))
_ALL = tuple(c.name for c in COLUMNS)
_KEYS = ["date", "id"]


def restatements(
    signoff: str | os.PathLike[str],
    source: Any = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Every call of the signed month that was added, removed or changed since the sign-off.

    Args:
        signoff: the package's folder (``Report.signoff``); verified first.
        source: what to compare with: ``None`` for the lake the month was
            signed from (the manifest's ``source``), a lake path/URL or
            ``Lake``, a DataFrame from ``fetch_cdr``/``read_lake``, or another
            package's folder.
        storage_options: for a lake on object storage (credentials, endpoint),
            which the manifest never keeps.

    Returns:
        One row per call, sorted by date and id: ``date`` (``datetime64[s]``),
        ``id``, ``change`` (``added``, ``removed`` or ``changed``), ``fields``
        (the columns that differ, comma separated, in the frame's order; NA
        unless ``changed``), ``signed_call_price``, ``current_call_price``
        (NA on the side without the call) and ``cost_delta`` (current minus
        signed, exact; the whole price for an added or removed call). Money is
        ``decimal128(18, 6)[pyarrow]``. Nothing changed: no rows, these columns.

    Raises:
        InvalidInputError: ``signoff`` is not a path; no ``source`` for a
            package signed from a DataFrame; a source holding another query,
            another time zone, or a call twice.
        SignoffError: the package is missing, malformed or changed.
        LakeError: a partition of the month is unreadable.
    """
    return restate(open_package(signoff), source, storage_options=storage_options)


def restate(package: Package, source: Any = None, *, storage_options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """:func:`restatements` of a package already opened (and so verified)."""
    signed = _plain(package.rows(package.first, package.last))
    current = _plain(_current(package, source, storage_options))
    zones = _zone(signed.schema), _zone(current.schema)
    if zones[0] != zones[1]:
        raise InvalidInputError(
            f"the source's times are in {zones[1] or 'no zone'}, the signed rows' in {zones[0] or 'no zone'}; "
            "compare with a source fetched with the same tz",
            parameter="source",
        )
    return to_frame(compare(signed, current.select(signed.column_names).cast(signed.schema)))


def _current(package: Package, source: Any, storage_options: Mapping[str, Any] | None) -> pa.Table:
    """The source's rows of the package's month, every column (codes as text), as :func:`read_span` reads them."""
    if storage_options is not None and not isinstance(storage_options, Mapping):
        raise InvalidInputError(
            f"storage_options must be a dict of fsspec options, not {type(storage_options).__name__}",
            parameter="storage_options",
        )
    if source is None:
        if not package.from_lake:
            raise InvalidInputError(
                f"the package {package.folder} was signed from a DataFrame, so there is no lake to compare with; "
                "pass source= (a DataFrame or a lake)",
                parameter="source",
            )
        source = package.source
    options = None if storage_options is None else dict(storage_options)
    if isinstance(source, (str, os.PathLike, Lake)) and not is_package(source):
        _same_query(package, Lake(source, storage_options=options))
    return read_span(source, package.first, package.last, _ALL, storage_options=options).table


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded codes as text: Arrow compares and joins plain columns."""
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(index, field.name, table[field.name].cast(field.type.value_type))
    return table


def _same_query(package: Package, lake: Lake) -> None:
    """A lake of other filters would restate every call: refuse it, naming both."""
    if not lake.exists():
        raise InvalidInputError(
            f"there is no lake at {lake.location!r}; name the lake to compare with (source=, or --lake)",
            parameter="source",
        )
    recorded = lake.recorded_query()
    signed = package.manifest.get("query")
    if package.from_lake and signed is not None and recorded is not None and recorded != signed:
        raise InvalidInputError(
            f"lake {lake.location!r} holds the query {recorded}, but the month was signed from {signed}; "
            "compare with a lake of the same query",
            parameter="source",
        )


def _zone(schema: pa.Schema) -> str | None:
    kind = schema.field("start_time").type
    return kind.tz if pa.types.is_timestamp(kind) else None


def compare(signed: pa.Table, current: pa.Table) -> pa.Table:
    """The restatements between two tables of the same columns: Arrow in, Arrow out (``date`` as date32).

    Raises:
        InvalidInputError: a side holds the same (date, id) twice (a call cannot be matched).
    """
    left = pa.table({"date": signed["date"], "id": signed["id"], "_s": np.arange(signed.num_rows)})
    right = pa.table({"date": current["date"], "id": current["id"], "_c": np.arange(current.num_rows)})
    joined = left.join(right, _KEYS, join_type="full outer", use_threads=True)
    # Unique keys on both sides: each row appears once. A repeated key shows here when the other side has it,
    # and among the unmatched rows (checked below, on the few rows kept) when it does not.
    if pc.count(joined["_s"]).as_py() != signed.num_rows or pc.count(joined["_c"]).as_py() != current.num_rows:
        _unique(signed, "the signed rows")
        _unique(current, "the source")
    s_rows, c_rows = joined["_s"], joined["_c"]
    differs = [_differs(signed[name].take(s_rows), current[name].take(c_rows)) for name in COMPARED]
    unmatched = pc.or_(pc.is_null(s_rows), pc.is_null(c_rows))
    keep = unmatched
    for mask in differs:
        keep = pc.or_(keep, mask)
    joined = joined.filter(keep)
    _unique(joined, "the signed rows or the source")
    added, removed = pc.is_null(joined["_s"]), pc.is_null(joined["_c"])
    changed = pc.invert(pc.or_(added, removed))
    # Names only for the rows kept (few): "did_number,call_price," trimmed of its last comma.
    parts = [pc.if_else(mask.filter(keep), f"{name},", "") for name, mask in zip(COMPARED, differs, strict=True)]
    named = pc.utf8_rtrim(pc.binary_join_element_wise(*parts, ""), characters=",")
    signed_price = signed["call_price"].take(joined["_s"])
    current_price = current["call_price"].take(joined["_c"])
    zero = pa.scalar(Decimal(0), DECIMAL)
    delta = pc.subtract(pc.fill_null(current_price, zero), pc.fill_null(signed_price, zero))
    result = pa.table(
        {
            "date": joined["date"],
            "id": joined["id"],
            "change": pc.case_when(pc.make_struct(added, removed), "added", "removed", "changed"),
            "fields": pc.if_else(changed, named, pa.scalar(None, pa.string())),
            "signed_call_price": signed_price,
            "current_call_price": current_price,
            "cost_delta": _fit(delta, joined["id"]),
        }
    )
    return result.sort_by([("date", "ascending"), ("id", "ascending")])


def _differs(ours: pa.ChunkedArray, theirs: pa.ChunkedArray) -> pa.ChunkedArray:
    """Row by row: the values differ (NA against a value differs; NA against NA does not)."""
    equal = pc.equal(ours, theirs)
    return pc.invert(pc.if_else(pc.is_null(equal), pc.and_(pc.is_null(ours), pc.is_null(theirs)), equal))


def _unique(table: pa.Table, side: str) -> None:
    counted = table.select(_KEYS).group_by(_KEYS, use_threads=True).aggregate([([], "count_all")])
    if counted.num_rows == table.num_rows:
        return
    twice = counted.filter(pc.greater(counted["count_all"], 1)).sort_by([(k, "ascending") for k in _KEYS])
    first = twice.slice(0, 1).to_pylist()[0]
    raise InvalidInputError(
        f"{side} hold {twice.num_rows:,} calls more than once (the first: {first['date']} id {first['id']}); "
        "a call is matched by its date and id, so each must appear once",
        parameter="source",
    )


def _fit(delta: pa.ChunkedArray, ids: pa.ChunkedArray) -> pa.ChunkedArray:
    """``delta`` as decimal128(18, 6); a difference too large for it is named, never rounded."""
    try:
        return delta.cast(DECIMAL)
    except pa.ArrowInvalid:
        limit = pa.scalar(Decimal("999999999999.999999"), DECIMAL)
        too_big = pc.fill_null(pc.greater(pc.abs(delta), limit), False)
        bad = ids.filter(too_big)[0].as_py()
        raise SchemaError(
            f"the cost change of call id {bad} does not fit decimal128(18, 6)", column="cost_delta", row_id=bad
        ) from None


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The restatements as the DataFrame ``restatements`` returns (``date`` as ``datetime64[s]``)."""
    table = table.set_column(0, "date", table["date"].cast(pa.timestamp("s")))
    return to_pandas(table)


def summary(found: pd.DataFrame, created_at: str) -> str:
    """``N calls added, M removed, K changed on D dates since the sign-off of <created_at>; cost +X CNY``."""
    counts = found["change"].value_counts()
    total = found["cost_delta"].sum() if len(found) else Decimal(0)
    cost = Decimal(total).quantize(Decimal("0.000001"))
    return (
        f"{counts.get('added', 0)} calls added, {counts.get('removed', 0)} removed, "
        f"{counts.get('changed', 0)} changed on {found['date'].nunique()} dates "
        f"since the sign-off of {created_at}; cost {'+' if cost >= 0 else ''}{cost:f} CNY"
    )
