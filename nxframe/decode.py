"""Page bytes -> :class:`Reply` holding a typed Arrow table; exact, never via a float.

A page looks like (``api/did-cdr.md``)::

    {"code": 0, "message": "Request successful",
     "data": {"totalRow": 1, "pageNumber": 1, "totalPage": 1, "pageSize": 10,
              "list": [{"id": 1, "callPrice": 0.11, "startTime": "2022-10-01 11:04:57", ...}]}}

Two decoders read it, and for any body the fast one accepts they give the
same table:

1. ``pyarrow.json`` with an explicit nested schema reads the raw bytes and
   parses decimals from their JSON text straight into ``decimal128(18, 6)``.
   It accepts only the documented shape; anything else (a phone number sent
   as a JSON number, an unknown field, a pretty-printed body) makes it step
   aside. :func:`decode_pages` gives it many bodies at once, one per line
   (about twice the speed of page by page on two cores; the fetch workers
   decode page by page, overlapping the network).
2. ``json.loads`` keeping every JSON number as its original text, so each
   column is built from text and cast by Arrow, which refuses rather than
   rounds. It knows every awkward case and names the row that does not fit.

Both end in :func:`_finish`, which turns the wire columns into the
DataFrame's types (``schema.COLUMNS``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from .errors import ResponseError, SchemaError
from .schema import COLUMNS, DECIMAL, Column

__all__ = ["Page", "Reply", "decode_page", "decode_pages"]

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

#: The columns that come from a record field, in DataFrame order.
_FIELD_COLUMNS: tuple[Column, ...] = tuple(c for c in COLUMNS if c.api_field is not None)
_KNOWN_FIELDS = frozenset(c.api_field for c in _FIELD_COLUMNS)

#: What the fast path reads each record field as.
_WIRE_TYPES: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "int": pa.int64(),
    "text": pa.string(),
    "code": pa.int64(),
    "time": pa.string(),
    "decimal": DECIMAL,
}

_RECORD = pa.struct([pa.field(c.api_field or c.name, _WIRE_TYPES[c.kind]) for c in _FIELD_COLUMNS])
_ENVELOPE = pa.schema(
    [
        ("code", pa.int64()),
        ("message", pa.string()),
        (
            "data",
            pa.struct(
                [
                    ("totalRow", pa.int64()),
                    ("pageNumber", pa.int64()),
                    ("totalPage", pa.int64()),
                    ("pageSize", pa.int64()),
                    ("list", pa.list_(_RECORD)),
                ]
            ),
        ),
    ]
)
_FAST_OPTIONS = pa_json.ParseOptions(explicit_schema=_ENVELOPE, unexpected_field_behavior="error")


@dataclass(frozen=True)
class Page:
    """One page of call records; no I/O.

    Attributes:
        number: the page number that was asked for.
        total_row: the day's ``totalRow`` as this page saw it.
        table: the records, typed as ``schema.COLUMNS`` minus ``date``.
    """

    number: int
    total_row: int
    table: pa.Table

    @property
    def ids(self) -> pa.ChunkedArray:
        """The record ids, the key that proves nothing is lost or repeated."""
        return self.table.column("id")


@dataclass(frozen=True)
class Reply:
    """A decoded response: the API's code and message, and the page when code is 0."""

    code: int
    message: str | None
    page: Page | None = None


def decode_page(raw: bytes, *, page_number: int = 1, tz: str | None = None) -> Reply:
    """Decode one response body.

    Args:
        raw: the HTTP body exactly as received.
        page_number: the page that was requested (recorded in the :class:`Page`).
        tz: the zone of the API's wall-clock times; ``None`` keeps them naive.

    Raises:
        ResponseError: the body is not JSON or not the documented shape.
        SchemaError: a value does not fit its column (names the column, id, value).
    """
    return decode_pages([raw], page_numbers=[page_number], tz=tz, use_threads=False)[0]


def decode_pages(
    raws: Sequence[bytes],
    *,
    page_numbers: Sequence[int] | None = None,
    tz: str | None = None,
    use_threads: bool = True,
) -> list[Reply]:
    """Decode many response bodies at once; the same replies as :func:`decode_page` on each.

    The bodies are joined by newlines and read by one ``pyarrow.json`` call
    (in blocks on several threads when ``use_threads``), then finished as
    one table that each page gets a zero-copy slice of: several times
    faster than page by page. When anything in the batch is unusual, each
    page is decoded on its own, so a page's rows never depend on its
    neighbours (only the code columns' dictionaries are shared by the batch:
    an undocumented code on one page appears in every page's dictionary).

    Args:
        raws: the HTTP bodies exactly as received.
        page_numbers: the page each body answers; ``1, 2, ...`` when ``None``.
        tz: the zone of the API's wall-clock times; ``None`` keeps them naive.
        use_threads: let ``pyarrow.json`` parse blocks of the batch in parallel.

    Raises:
        ResponseError: a body is not JSON or not the documented shape.
        SchemaError: a value does not fit its column (names the column, id, value).
    """
    numbers = list(range(1, len(raws) + 1)) if page_numbers is None else list(page_numbers)
    if len(numbers) != len(raws):
        raise ValueError(f"{len(raws)} bodies but {len(numbers)} page numbers")
    if not raws:
        return []
    fast = _decode_fast(raws, use_threads=use_threads)
    if fast is not None:
        return _replies(fast, numbers, tz)
    if len(raws) > 1:  # one page spoiled the batch: each page on its own, fast where it can be
        return [decode_page(raw, page_number=number, tz=tz) for raw, number in zip(raws, numbers, strict=True)]
    code, message, total_row, columns = _decode_exact(raws[0])
    if code != 0:
        return [Reply(code, message)]
    assert columns is not None and total_row is not None
    return [Reply(code, message, Page(numbers[0], total_row, _finish(columns, tz)))]


_Decoded = tuple[int, "str | None", "int | None", "dict[str, pa.Array] | None"]


@dataclass(frozen=True)
class _Head:
    """One page's envelope as the fast decoder read it."""

    code: int
    message: str | None
    total_row: int | None = None
    rows: int = 0


@dataclass(frozen=True)
class _Fast:
    """What the fast decoder read: every page's envelope, and the code-0 pages' records in page order."""

    heads: list[_Head]
    columns: dict[str, pa.Array] | None


def _replies(fast: _Fast, numbers: list[int], tz: str | None) -> list[Reply]:
    table = None if fast.columns is None else _finish(fast.columns, tz)
    replies: list[Reply] = []
    offset = 0
    for head, number in zip(fast.heads, numbers, strict=True):
        if head.code != 0:
            replies.append(Reply(head.code, head.message))
            continue
        assert table is not None and head.total_row is not None
        replies.append(Reply(0, head.message, Page(number, head.total_row, table.slice(offset, head.rows))))
        offset += head.rows
    return replies


def _decode_fast(raws: Sequence[bytes], *, use_threads: bool) -> _Fast | None:
    """The documented shape through ``pyarrow.json``; ``None`` when anything in any body is unusual."""
    lines: list[bytes] = []
    for raw in raws:
        line = raw.rstrip() if raw[-1:].isspace() else raw
        if not line or b"\n" in line:  # pyarrow.json reads one JSON document per line
            return None
        lines.append(line)
    longest = max(len(line) for line in lines)
    try:
        table = pa_json.read_json(
            io.BytesIO(lines[0] if len(lines) == 1 else b"\n".join(lines)),
            # A block must hold a whole body; 1 MiB blocks give the threads a few pages each.
            read_options=pa_json.ReadOptions(use_threads=use_threads, block_size=max(longest + 1, 1 << 20)),
            parse_options=_FAST_OPTIONS,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(lines):
        return None
    codes = table.column("code").to_pylist()
    if None in codes:
        return None
    messages = table.column("message").to_pylist()
    ok = [code == 0 for code in codes]
    if not any(ok):
        return _Fast([_Head(code, message) for code, message in zip(codes, messages, strict=True)], None)
    data = table.column("data").combine_chunks()
    records = pc.struct_field(data, "list")
    total_rows = pc.struct_field(data, "totalRow").to_pylist()
    if not all(ok):
        keep = pa.array(ok)
        data, records = data.filter(keep), records.filter(keep)
        total_rows = [total for total, good in zip(total_rows, ok, strict=True) if good]
    if data.null_count or records.null_count or None in total_rows:
        return None
    flat = records.flatten()  # struct array of the records
    columns: dict[str, pa.Array] = {}
    for c in _FIELD_COLUMNS:
        array = flat.field(c.api_field)
        if c.kind == "decimal":
            try:
                # pyarrow.json does not check total precision: 1234567890123456.5 gets in.
                array.validate(full=True)
            except pa.ArrowInvalid:
                return None
        columns[c.name] = array
    if columns["id"].null_count:
        return None
    columns["extra"] = pa.nulls(len(flat), pa.string())
    sizes = iter(pc.list_value_length(records).to_pylist())
    totals = iter(total_rows)
    heads = [
        _Head(0, message, next(totals), next(sizes)) if good else _Head(code, message)
        for code, message, good in zip(codes, messages, ok, strict=True)
    ]
    return _Fast(heads, columns)


class _Number(str):
    """A JSON number kept as the exact text it was sent as."""

    __slots__ = ()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _decode_exact(raw: bytes) -> _Decoded:
    """Any body: every JSON number is kept as its text, then cast by Arrow without rounding."""
    try:
        document = json.loads(raw, parse_float=_Number, parse_int=_Number, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        snippet = raw[:80].decode("utf-8", "replace")
        raise ResponseError(f"NXCloud sent a body that is not JSON ({exc}); it starts with {snippet!r}") from None
    if not isinstance(document, dict):
        raise ResponseError(f"NXCloud sent JSON that is not an object: {type(document).__name__}")
    code = _integer(document.get("code"))
    if code is None:
        raise ResponseError(f"NXCloud's response has no integer 'code': {document.get('code')!r}")
    message = document.get("message")
    message = None if message is None else str(message)
    if code != 0:
        return code, message, None, None
    data = document.get("data")
    if not isinstance(data, dict):
        raise ResponseError(f"NXCloud answered code 0 with 'data' = {_short(data)}, not an object with a list")
    total_row = _integer(data.get("totalRow"))
    if total_row is None or total_row < 0:
        raise ResponseError(f"NXCloud's page has no valid 'totalRow': {_short(data.get('totalRow'))}")
    records = data.get("list")
    if not isinstance(records, list):
        raise ResponseError(f"NXCloud's page 'list' is {_short(records)}, not a list of records")
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise ResponseError(f"record {position} of the page is {_short(record)}, not an object")
    return code, message, total_row, _columns_from_records(records)


def _columns_from_records(records: Sequence[Mapping[str, Any]]) -> dict[str, pa.Array]:
    ids = _id_column(records)
    columns: dict[str, pa.Array] = {"id": ids}
    for c in _FIELD_COLUMNS[1:]:
        values = [record.get(c.api_field) for record in records]  # type: ignore[arg-type]
        text = _text_array(values, c, ids)
        if c.kind in ("int", "decimal"):
            text = _cast_exact(text, c, ids)
        columns[c.name] = text
    columns["extra"] = pa.array([_extra_json(record) for record in records], pa.string())
    return columns


def _id_column(records: Sequence[Mapping[str, Any]]) -> pa.Array:
    ids: list[int] = []
    for position, record in enumerate(records):
        value = _integer(record.get("id"))
        if value is None or not -(2**63) <= value < 2**63:
            raise SchemaError(
                f"record {position} of the page has id {record.get('id')!r}; every call record needs an integer id",
                column="id",
                value=record.get("id"),
            )
        ids.append(value)
    return pa.array(ids, pa.int64())


def _text_array(values: list[Any], c: Column, ids: pa.Array) -> pa.Array:
    """JSON strings and JSON numbers (as their text) become one string column."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid, TypeError):
        for position, value in enumerate(values):
            if value is not None and not isinstance(value, str):
                _raise_schema(c, ids[position].as_py(), value, "it is not a JSON string or number")
        raise  # pragma: no cover - pyarrow refused something that is a str


def _cast_exact(text: pa.Array, c: Column, ids: pa.Array) -> pa.Array:
    """Cast text to the column's type; on refusal name the row. Empty text means missing."""
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    target = c.arrow_type()
    try:
        return pc.cast(text, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for position, value in enumerate(text.to_pylist()):
        if value is None:
            continue
        try:
            pc.cast(pa.array([value], pa.string()), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            reason = (
                "it does not fit decimal(18, 6) (at most 12 integer digits and 6 decimal places); "
                "nxframe never rounds money"
                if c.kind == "decimal"
                else "it is not a whole number"
            )
            _raise_schema(c, ids[position].as_py(), value, reason)
    raise AssertionError("unreachable: the column failed to cast but every value casts")  # pragma: no cover


def _raise_schema(c: Column, row_id: Any, value: Any, reason: str) -> None:
    raise SchemaError(
        f"{c.name} ({c.api_field}) of call id {row_id} is {_short(value)}: {reason}",
        column=c.name,
        row_id=row_id,
        value=value,
    )


def _extra_json(record: Mapping[str, Any]) -> str | None:
    if record.keys() <= _KNOWN_FIELDS:  # the usual record, checked without a Python loop
        return None
    unknown = [key for key in record if key not in _KNOWN_FIELDS]
    if not unknown:
        return None
    return "{" + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{_dump(record[key])}" for key in unknown) + "}"


def _dump(value: Any) -> str:
    """JSON text for a value, numbers written exactly as they arrived."""
    if isinstance(value, _Number):
        return str.__str__(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _integer(value: Any) -> int | None:
    """An integer from a JSON number or numeric string (``-1``, ``"1003"``); ``None`` otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and text.isascii():
            return int(text)
    return None


def _short(value: Any) -> str:
    text = repr(str.__str__(value)) if isinstance(value, _Number) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _finish(columns: dict[str, pa.Array], tz: str | None) -> pa.Table:
    """Wire columns -> the DataFrame's types (``date`` is added per day by the caller)."""
    ids = columns["id"]
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for c in COLUMNS[1:]:
        array = columns[c.name]
        if c.kind == "text":
            array = _empty_to_null(array)
        elif c.kind == "code":
            array = _labels(array, c.labels)
        elif c.kind == "time":
            array = _timestamps(_empty_to_null(array), c, ids, tz)
        arrays.append(array)
        fields.append(pa.field(c.name, c.arrow_type(tz)))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


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
                _raise_schema(c, ids[position].as_py(), value, "expected 'yyyy-MM-dd HH:mm:ss'")
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
            _raise_schema(c, ids[position].as_py(), value, "it is not a real date and time ('yyyy-MM-dd HH:mm:ss')")
        if strict != stamps[position].as_py():  # pragma: no cover - strptime agreed on the text but not the value
            _raise_schema(c, ids[position].as_py(), value, "it reads differently in Arrow and Python")
