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

import numpy as np
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


@functools.lru_cache(maxsize=16)
def _label_array(labels: tuple[str, ...]) -> pa.Array:
    return pa.array(labels, pa.string())


@functools.lru_cache(maxsize=64)
def _schema(tz: str | None) -> pa.Schema:
    """The page table's schema: the fetched one without ``date``."""
    return pa.schema([pa.field(c.name, c.arrow_type(tz)) for c in COLUMNS[1:]])


_EMPTY = pa.scalar("", pa.string())
_NULL_TEXT = pa.scalar(None, pa.string())


def _empty_to_null(array: pa.Array) -> pa.Array:
    """``""`` -> null; read from the offsets (numpy), so the usual array without one costs no Arrow call."""
    if not len(array):
        return array
    offsets = np.frombuffer(array.buffers()[1], np.int32, len(array) + 1, array.offset * 4)
    empty = offsets[1:] == offsets[:-1]
    if array.null_count:
        empty &= _valid(array)
    if not empty.any():  # the usual case: no copy
        return array
    return pc.if_else(pa.array(empty), _NULL_TEXT, array)


def _valid(array: pa.Array) -> np.ndarray:
    """The array's validity as booleans."""
    bits = np.frombuffer(array.buffers()[0], np.uint8)
    return np.unpackbits(bits, count=array.offset + len(array), bitorder="little")[array.offset :].astype(bool)


def _labels(codes: pa.Array, labels: tuple[str, ...]) -> pa.Array:
    """Codes -> a dictionary array: documented codes as their labels, any other code kept as its text.

    The dictionary is the labels in code order, then the other codes found,
    sorted: the categories the DataFrame shows.
    """
    if pa.types.is_integer(codes.type):
        values = np.frombuffer(codes.buffers()[1], np.int64, len(codes), codes.offset * 8)
        if codes.null_count:
            values = values[_valid(codes)]
        if not len(values) or (values.min() >= 0 and values.max() < len(labels)):  # only documented codes
            return pa.DictionaryArray.from_arrays(codes.cast(pa.int32()), _label_array(labels))
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
    stamps = _plain_timestamps(text)
    if stamps is None:
        stamps = _parsed_timestamps(text, c, ids)
    if tz is not None:
        stamps = pc.assume_timezone(stamps, timezone=tz, ambiguous="earliest", nonexistent="earliest")
    return stamps


#: ``yyyy-MM-dd HH:mm:ss``, and where its separators are.
_LAYOUT = b"0000-00-00 00:00:00"
_AT = np.array([at for at, char in enumerate(_LAYOUT) if char != ord("0")])
_CHARS = np.frombuffer(bytes(char for char in _LAYOUT if char != ord("0")), np.uint8)


def _plain_timestamps(text: pa.Array) -> pa.Array | None:
    """Every value written exactly ``yyyy-MM-dd HH:mm:ss`` (the usual case): checked with numpy, then one ISO cast.

    The cast refuses a day or second that does not exist; ``None`` then, or
    when a value is written otherwise: :func:`_parsed_timestamps` decides
    (and names the row).
    """
    offsets = np.frombuffer(text.buffers()[1], np.int32, len(text) + 1, text.offset * 4)
    starts, lengths = offsets[:-1], np.diff(offsets)
    if text.null_count:
        valid = _valid(text)
        starts, lengths = starts[valid], lengths[valid]
    if len(starts):
        if text.buffers()[2] is None or not np.all(lengths == len(_LAYOUT)):
            return None
        separators = np.frombuffer(text.buffers()[2], np.uint8)[starts[:, None] + _AT]
        if not np.array_equal(separators, np.broadcast_to(_CHARS, separators.shape)):
            return None  # the cast reads digits only where these leave room for them
    try:
        return pc.cast(text, pa.timestamp("s"))
    except pa.ArrowInvalid:  # a day or second that does not exist
        return None


def _parsed_timestamps(text: pa.Array, c: Column, ids: pa.Array) -> pa.Array:
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
