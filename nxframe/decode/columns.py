"""Records read by msgspec -> wire columns: a typed column in one Arrow call, the text columns all at once.

msgspec leaves the records as structs (:mod:`.structs`); transposed, each
documented field is a tuple of values, and there are two kinds:

- a field read as its one JSON type (``str`` text, ``int`` counts and
  codes) converts to Arrow in one call. If the page wrote it loosely (a
  number among the texts, a text among the counts, a missing key), the
  call fails, the column is converted value by value, and the field is
  reported so the :class:`.ShapeMemory` reads it as text from then on;
- money, times and loose fields arrive as their exact JSON text
  (``msgspec.Raw``). They are joined into one buffer, separated by a byte
  that no JSON value holds (msgspec refuses control characters), and numpy
  finds in it where each text starts, whether it is quoted, absent or
  ``null``, and drops the quotes: one string array for all of them, from
  which the money is cast in one call. A text with an escape is decoded by
  msgspec instead (its column alone); one that is not a string, number or
  ``null`` (``true``, an object) makes the reader step aside.

Either way a value becomes the text the exact decoder would give it (a JSON
number as the digits sent, ``-0`` included), cast by the same Arrow casts,
and the reader learns how many key/value pairs the records held and how
many colons their texts hold, which :mod:`.fast` checks against the body.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import Column
from . import exact, extras
from .model import FIELD_COLUMNS
from .shapes import Plan, Unsure
from .structs import UNSET, is_raw

__all__ = ["Columns", "read"]

#: Joins the texts: a control character, which msgspec refuses inside a JSON string and between values.
SEP = b"\x01"
_MONEY = tuple(c for c in FIELD_COLUMNS if c.kind == "decimal")
_WHOLE = pa.decimal128(38, 0)
#: First bytes of a JSON value that is no text, number or null (the exact decoder refuses it in these columns).
_NOT_TEXT = np.zeros(256, bool)
_NOT_TEXT[list(b"tf{[")] = True
_TEXT_ERRORS = (pa.ArrowTypeError, pa.ArrowInvalid, TypeError, OverflowError)
_CAST_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError)
_VALUES = msgspec.json.Decoder(list[str | int | None])


@dataclass(frozen=True)
class Columns:
    """One page's wire columns and what the count needs from them.

    Attributes:
        arrays: the wire columns by name (``extra`` included).
        pairs: the key/value pairs the records held (documented and learned fields).
        colons: ``:`` bytes inside the texts kept as sent (money, times, loose, undocumented fields).
        escaped_colons: ``\\u003a`` escapes inside those texts (counted only where a text holds an escape).
        decoded_colons: ``:`` in the strings msgspec decoded (typed text columns, learned names).
        loose: documented fields this page wrote loosely (API names).
        used: whether a learned undocumented name was present.
    """

    arrays: dict[str, pa.Array]
    pairs: int
    colons: int
    escaped_colons: int
    decoded_colons: int
    loose: frozenset[str]
    used: bool


def read(body: bytes, fields: list[tuple[Any, ...]], plan: Plan) -> Columns:
    """The wire columns of the records (``fields``: one tuple per struct field, in the struct's order)."""
    n = len(fields[0])
    typed: dict[str, list[tuple[Column, tuple[Any, ...]]]] = {"text": [], "int": []}
    raw: list[tuple[Column, tuple[Any, ...]]] = []
    for c, values in zip(FIELD_COLUMNS, fields, strict=False):
        if is_raw(c, plan):
            raw.append((c, values))
        else:
            typed["text" if c.kind == "text" else "int"].append((c, values))
    arrays: dict[str, pa.Array] = {}
    pairs = 0
    loose: set[str] = set()
    for kind, group in typed.items():
        for (c, values), array in zip(
            group, _typed(group, n, pa.string() if kind == "text" else pa.int64()), strict=True
        ):
            present = n
            if array is None:  # written loosely: read value by value now, as text from the next page on
                if c.kind == "id":
                    raise Unsure  # beyond int64: the exact decoder names the row
                assert c.api_field is not None
                loose.add(c.api_field)
                array, present = _one_by_one(values, c)
            arrays[c.name] = array
            pairs += present
    decoded_colons = sum(extras.text_colons(arrays[c.name]) for c, _ in typed["text"])
    raw.sort(key=lambda item: item[0].kind != "decimal")  # the money first, cast in one call
    texts = _texts(raw, n)
    arrays.update(texts.arrays)
    extra, present, colons, escaped, named = extras.extra_column(body, plan.record, fields[len(FIELD_COLUMNS) :], n)
    arrays["extra"] = extra
    return Columns(
        arrays,
        pairs + texts.present + present,
        texts.colons + colons,
        texts.escaped_colons + escaped,
        decoded_colons + named,
        frozenset(loose),
        present > 0,
    )


def _typed(group: list[tuple[Column, tuple[Any, ...]]], n: int, type_: pa.DataType) -> list[pa.Array | None]:
    """Columns of one JSON type (and ``null``; every record held the key) in one Arrow call.

    ``None`` for a column that is not (converted on its own to tell which).
    """
    if not group:
        return []
    try:
        array = pa.array(itertools.chain.from_iterable(values for _, values in group), type_, size=len(group) * n)
    except _TEXT_ERRORS:  # a number among texts, a text among counts, a missing key, or beyond int64
        return [_one_type(values, type_) for _, values in group]
    return [array.slice(i * n, n) for i in range(len(group))]


def _one_type(values: tuple[Any, ...], type_: pa.DataType) -> pa.Array | None:
    try:
        return pa.array(values, type_)
    except _TEXT_ERRORS:
        return None


def _one_by_one(values: tuple[Any, ...], c: Column) -> tuple[pa.Array, int]:
    """A loosely written typed column: each value as its text (a JSON number as its digits), then cast as exact does."""
    if c.kind == "text" and 0 in values:
        raise Unsure  # ``-0`` and ``0`` both decode to 0; only the exact decoder kept the text
    present = len(values) - values.count(UNSET)
    text = pa.array([None if v is UNSET else str(v) if v.__class__ is int else v for v in values], pa.string())
    return _cast(text, c), present


def _cast(text: pa.Array, c: Column) -> pa.Array:
    """Text (empty and absent already null) -> the column's wire type, by the exact decoder's casts."""
    if c.kind in ("text", "time"):
        return text
    if not _hex(text):
        try:
            return pc.cast(text, pa.int64())  # plain integer text, the usual case: one step
        except _CAST_ERRORS:
            pass
    if c.kind == "code":
        return exact.whole_codes(text)
    try:
        return exact.cast_text(text, c)  # integers also as 64.0 or 6.4e1, as the exact decoder reads them
    except _CAST_ERRORS:
        raise Unsure from None  # not a number, or it does not fit: the exact decoder names the row


def _hex(text: pa.Array) -> bool:
    """Whether a string array holds an ``x``: Arrow casts ``0x1f`` to an integer, the exact decoder does not."""
    offsets = np.frombuffer(text.buffers()[1], np.int32, len(text) + 1, text.offset * 4)
    data = text.buffers()[2]
    if data is None:
        return False
    values = np.frombuffer(data, np.uint8, int(offsets[-1] - offsets[0]), int(offsets[0]))
    return bool(np.count_nonzero((values | 0x20) == ord("x")))


@dataclass(frozen=True)
class _Texts:
    arrays: dict[str, pa.Array]
    present: int
    colons: int
    escaped_colons: int


def _texts(raw: list[tuple[Column, tuple[Any, ...]]], n: int) -> _Texts:
    """The columns read as JSON text, all in one buffer; a column holding an escape is decoded on its own."""
    if not raw:
        return _Texts({}, 0, 0, 0)
    try:
        array, present, colons = _joined([values for _, values in raw], n)
    except _Escaped as escaped:
        plain = [item for i, item in enumerate(raw) if i not in escaped.columns]
        rest = _texts(plain, n)
        arrays = dict(rest.arrays)
        present, colons, escaped_colons = rest.present, rest.colons, rest.escaped_colons
        for i in sorted(escaped.columns):
            c, values = raw[i]
            text, count, joined = _decoded(values, c)
            arrays[c.name] = _cast(text, c)
            present += count
            colons += joined.count(b":")
            escaped_colons += joined.count(b"\\u003a") + joined.count(b"\\u003A")
        return _Texts(arrays, present, colons, escaped_colons)
    arrays = {}
    money = sum(c.kind == "decimal" for c, _ in raw)
    if money:
        try:
            cast = pc.cast(array.slice(0, money * n), _MONEY[0].arrow_type())  # the money columns share their type
        except _CAST_ERRORS:
            raise Unsure from None  # not a number, or it does not fit: the exact decoder names the row
        arrays.update((c.name, cast.slice(i * n, n)) for i, (c, _) in enumerate(raw[:money]))
    for i, (c, _) in enumerate(raw[money:], money):
        arrays[c.name] = _cast(array.slice(i * n, n), c)
    return _Texts(arrays, present, colons, 0)


class _Escaped(Exception):  # noqa: N818 - control flow
    def __init__(self, columns: set[int]) -> None:
        self.columns = columns


def _joined(columns: list[tuple[Any, ...]], n: int) -> tuple[pa.Array, int, int]:
    """The texts of ``columns`` (each ``n`` long) as one string array, null where absent, ``null`` or ``""``.

    Returns the array, how many values were present, and the ``:`` bytes in the texts.

    Raises:
        _Escaped: columns holding a backslash (their quotes cannot simply be dropped).
        Unsure: a value that is no string, number or ``null``, or text that is not UTF-8.
    """
    count = len(columns) * n
    joined = SEP.join(itertools.chain.from_iterable(columns))
    text = np.frombuffer(joined, np.uint8)
    ends = np.flatnonzero(text == SEP[0])
    if len(ends) != count - 1:
        raise Unsure  # pragma: no cover - msgspec lets no control character through
    starts = np.empty(count, np.intp)
    starts[0] = 0
    starts[1:] = ends + 1
    lengths = np.empty(count, np.intp)
    lengths[:-1] = ends
    lengths[-1] = len(text)
    lengths -= starts
    present = lengths > 0
    first = np.zeros(count, np.uint8)
    first[present] = text[starts[present]]
    if _NOT_TEXT[first].any():
        raise Unsure  # true, false, an object or an array: the exact decoder names the row
    if np.count_nonzero(text == ord("\\")):
        where = np.searchsorted(starts, np.flatnonzero(text == ord("\\")), side="right") - 1
        raise _Escaped({int(i) for i in np.unique(where // n)})
    quoted = first == ord('"')
    lengths -= 2 * quoted  # no backslash anywhere: every quote delimits a string
    valid = present & (first != ord("n")) & (lengths > 0)
    data = text[(text != ord('"')) & (text != SEP[0])]
    offsets = np.zeros(count + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    nulls = count - int(np.count_nonzero(valid))
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    array = pa.Array.from_buffers(
        pa.string(), count, [validity, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls
    )
    if np.count_nonzero(text >= 0x80):
        try:
            array.validate(full=True)  # msgspec does not check the UTF-8 of a text it keeps as sent
        except pa.ArrowInvalid:
            raise Unsure from None
    return array, int(np.count_nonzero(present)), int(np.count_nonzero(text == ord(":")))


def _decoded(values: tuple[Any, ...], c: Column) -> tuple[pa.Array, int, bytes]:
    """A column whose texts hold escapes, decoded by msgspec: its strings, how many were present, its joined text."""
    if c.kind not in ("text", "time"):
        raise Unsure  # an escape in money or a count: rare enough for the exact decoder
    joined = b",".join([value or b"null" for value in values])
    try:
        decoded = _VALUES.decode(b"[" + joined + b"]")
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise Unsure from None  # a fraction (its text is lost), or not UTF-8
    if 0 in decoded:
        raise Unsure  # ``-0`` and ``0`` both decode to 0; only the exact decoder kept the text
    present = len(values) - sum(1 for value in values if not value)
    text = pa.array([str(v) if v.__class__ is int else v or None for v in decoded], pa.string())
    return text, present, joined
