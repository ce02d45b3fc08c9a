"""Wire columns -> the table's types: text nulls, code labels, timestamps; shared by both decoders.

Both decoders hand :func:`finish` the same wire columns for the same body
(strings for text and times, ``int64`` for integers and codes or their text,
``decimal128(18, 6)`` for money), so everything here decides once for both:
empty text is null, codes become dictionary arrays with the labels first, and
times are parsed strictly (Arrow's ``strptime`` rolls ``2023-02-29`` over to
March 1; that is refused).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any, NoReturn

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SchemaError
from ..schema import COLUMNS, Column
from .model import short

__all__ = ["TIME_FORMAT", "finish", "raise_schema"]

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def raise_schema(c: Column, row_id: Any, value: Any, reason: str) -> NoReturn:
    """Raise the SchemaError that names the column, the call id and the value."""
    raise SchemaError(
        f"{c.name} ({c.api_field}) of call id {row_id} is {short(value)}: {reason}",
        column=c.name,
        row_id=row_id,
        value=value,
    )


def finish(columns: Mapping[str, pa.Array], tz: str | None) -> pa.Table:
    """Wire columns -> the DataFrame's types (``date`` is added per day by the caller)."""
    ids = columns["id"]
    arrays: list[pa.Array] = []
    for c in COLUMNS[1:]:
        array = columns[c.name]
        if c.kind == "text":
            array = _empty_to_null(array)
        elif c.kind == "code":
            array = _labels(array, c.labels)
        elif c.kind == "time":
            array = _timestamps(_empty_to_null(array), c, ids, tz)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=_schema(tz))


@functools.lru_cache(maxsize=64)
def _schema(tz: str | None) -> pa.Schema:
    """The page table's schema: the fetched one without ``date``."""
    return pa.schema([pa.field(c.name, c.arrow_type(tz)) for c in COLUMNS[1:]])


_EMPTY = pa.scalar("", pa.string())
_NULL_TEXT = pa.scalar(None, pa.string())


def _empty_to_null(array: pa.Array) -> pa.Array:
    empty = pc.equal(array, _EMPTY)
    if not pc.any(empty).as_py():  # the usual case: no copy
        return array
    return pc.if_else(empty, _NULL_TEXT, array)


def _labels(codes: pa.Array, labels: tuple[str, ...]) -> pa.Array:
    """Codes -> a dictionary array: documented codes as their labels, any other code kept as its text.

    The dictionary is the labels in code order, then the other codes found,
    sorted: the categories the DataFrame shows.
    """
    if pa.types.is_integer(codes.type):
        low, high = pc.min_max(codes).values()
        if low.as_py() is None or (low.as_py() >= 0 and high.as_py() < len(labels)):  # only documented codes
            return pa.DictionaryArray.from_arrays(codes.cast(pa.int32()), pa.array(labels, pa.string()))
        codes = codes.cast(pa.string())
    codes = _empty_to_null(codes)
    keys = [str(code) for code in range(len(labels))]
    others = sorted(set(pc.unique(codes).drop_null().to_pylist()) - set(keys))
    dictionary = [*labels, *(text for text in others if text not in labels)]
    # An undocumented code whose text is a label ("caller" sent as text) shares that label's entry.
    targets = [dictionary.index(text) for text in [*labels, *others]]
    indices = pc.index_in(codes, value_set=pa.array([*keys, *others], pa.string()))
    if targets != list(range(len(targets))):
        indices = pc.take(pa.array(targets, pa.int32()), indices)
    return pa.DictionaryArray.from_arrays(indices.cast(pa.int32()), pa.array(dictionary, pa.string()))


def _timestamps(text: pa.Array, c: Column, ids: pa.Array, tz: str | None) -> pa.Array:
    try:
        stamps = pc.strptime(text, format=TIME_FORMAT, unit="s", error_is_null=False)
    except pa.ArrowInvalid:
        for position, value in enumerate(text.to_pylist()):
            if (
                value is not None
                and not pc.is_valid(
                    pc.strptime(pa.array([value]), format=TIME_FORMAT, unit="s", error_is_null=True)[0]
                ).as_py()
            ):
                raise_schema(c, ids[position].as_py(), value, "expected 'yyyy-MM-dd HH:mm:ss'")
        raise  # pragma: no cover
    _check_no_rollover(text, stamps, c, ids)
    if tz is not None:
        stamps = pc.assume_timezone(stamps, timezone=tz, ambiguous="earliest", nonexistent="earliest")
    return stamps


def _check_no_rollover(text: pa.Array, stamps: pa.Array, c: Column, ids: pa.Array) -> None:
    """Arrow's strptime rolls ``2023-02-29`` over to March 1 and ``:60`` seconds to the next minute.

    Refuse those instead: compare the day and second written in the text with
    the parsed ones (cheap, vectorised); rows that differ, including unpadded
    but valid text like ``2024-1-5 1:2:3``, are checked one by one with Python's
    strict ``datetime.strptime``.
    """
    if not len(text) or text.null_count == len(text):
        return
    try:
        # The usual case in one kernel: Arrow's ISO-8601 cast refuses days and seconds
        # that do not exist, so where it reads the same instants nothing rolled over.
        if pc.all(pc.equal(pc.cast(text, stamps.type), stamps)).as_py():
            return
    except pa.ArrowInvalid:  # not ISO text, or a rolled-over value: the checks below decide
        pass
    try:
        day = pc.cast(pc.utf8_slice_codeunits(text, 8, 10), pa.int64())
        second = pc.cast(pc.utf8_slice_codeunits(text, 17, 19), pa.int64())
    except pa.ArrowInvalid:  # unpadded text: the slices are not numbers
        pass
    else:
        agree = pc.and_(pc.equal(day, pc.day(stamps)), pc.equal(second, pc.second(stamps)))
        if pc.all(pc.fill_null(agree, True)).as_py():
            return
    for position, value in enumerate(text.to_pylist()):
        if value is None:
            continue
        try:
            strict = dt.datetime.strptime(value, TIME_FORMAT)
        except ValueError:
            raise_schema(c, ids[position].as_py(), value, "it is not a real date and time ('yyyy-MM-dd HH:mm:ss')")
        if strict != stamps[position].as_py():  # pragma: no cover - strptime agreed on the text but not the value
            raise_schema(c, ids[position].as_py(), value, "it reads differently in Arrow and Python")
