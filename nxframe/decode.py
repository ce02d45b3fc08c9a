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
   aside.
2. ``json.loads`` keeping every JSON number as its original text, so each
   column is built from text and cast by Arrow, which refuses rather than
   rounds. It knows every awkward case and names the row that does not fit.

Both end in :func:`_finish`, which turns the wire columns into the
DataFrame's types (``schema.COLUMNS``).
"""

from __future__ import annotations

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

__all__ = ["Page", "Reply", "decode_page"]

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
    fast = _decode_fast(raw)
    if fast is not None:
        code, message, total_row, columns = fast
    else:
        code, message, total_row, columns = _decode_exact(raw)
    if code != 0:
        return Reply(code, message)
    assert columns is not None and total_row is not None
    return Reply(code, message, Page(page_number, total_row, _finish(columns, tz)))


_Decoded = tuple[int, "str | None", "int | None", "dict[str, pa.Array] | None"]


def _decode_fast(raw: bytes) -> _Decoded | None:
    """The documented shape through ``pyarrow.json``; ``None`` when anything is unusual."""
    if b"\n" in raw.rstrip():  # pyarrow.json reads one JSON document per line
        return None
    try:
        table = pa_json.read_json(
            io.BytesIO(raw),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=max(len(raw) + 1, 1 << 16)),
            parse_options=_FAST_OPTIONS,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != 1:
        return None
    row = table.combine_chunks().to_batches()[0]
    code = row.column(0)[0].as_py()
    message = row.column(1)[0].as_py()
    if code is None:
        return None
    if code != 0:
        return code, message, None, None
    data = row.column(2)
    if data.null_count:
        return None
    total_row = data.field("totalRow")[0].as_py()
    records = data.field("list")
    if total_row is None or records.null_count:
        return None
    flat = records.flatten()  # struct array of the records
    columns: dict[str, pa.Array] = {}
    for c in _FIELD_COLUMNS:
        array = flat.field(c.api_field)
        if c.kind == "code":
            array = array.cast(pa.string())
        elif c.kind == "decimal":
            try:
                # pyarrow.json does not check total precision: 1234567890123456.5 gets in.
                array.validate(full=True)
            except pa.ArrowInvalid:
                return None
        columns[c.name] = array
    if columns["id"].null_count:
        return None
    columns["extra"] = pa.nulls(len(flat), pa.string())
    return code, message, total_row, columns


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
            array = _labels(_empty_to_null(array), c.labels)
        elif c.kind == "time":
            array = _timestamps(_empty_to_null(array), c, ids, tz)
        arrays.append(array)
        fields.append(pa.field(c.name, c.arrow_type(tz)))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _empty_to_null(array: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


def _labels(codes: pa.Array, labels: tuple[str, ...]) -> pa.Array:
    """Documented codes become their labels; any other code is kept as its text."""
    labelled = codes
    for code, label in reversed(list(enumerate(labels))):
        labelled = pc.if_else(pc.equal(codes, str(code)), label, labelled)
    return pc.dictionary_encode(labelled)


def _timestamps(text: pa.Array, c: Column, ids: pa.Array, tz: str | None) -> pa.Array:
    try:
        stamps = pc.strptime(text, format=TIME_FORMAT, unit="s", error_is_null=False)
    except pa.ArrowInvalid:
        for position, value in enumerate(text.to_pylist()):
            if value is not None and not pc.is_valid(
                pc.strptime(pa.array([value]), format=TIME_FORMAT, unit="s", error_is_null=True)[0]
            ).as_py():
                _raise_schema(c, ids[position].as_py(), value, "expected 'yyyy-MM-dd HH:mm:ss'")
        raise  # pragma: no cover
    if tz is not None:
        stamps = pc.assume_timezone(stamps, timezone=tz, ambiguous="earliest", nonexistent="earliest")
    return stamps
