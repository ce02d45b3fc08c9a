"""The exact reference decoder: any body the contract accepts, every JSON number kept as its text.

``json.loads`` keeps each number as the text it was sent as, so every
column is built from text and cast by Arrow, which refuses rather than
rounds, and every refusal names the row. It is the slow, obviously-right
reader: the fast reader (:mod:`.fast`) steps aside to it whenever it is not
sure, and the fuzz suite holds the two to the same tables.
:func:`decode_page` here is the public switch that forces it.

Strict JSON: duplicate keys anywhere, nesting deeper than 64 levels, and
``NaN``/``Infinity`` are a ``ResponseError`` (never a ``RecursionError``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ResponseError, SchemaError
from ..schema import Column
from .finish import finish, raise_schema
from .model import FIELD_COLUMNS, KNOWN_FIELDS, MAX_DEPTH, Page, Reply, Wire, check_envelope, short

__all__ = ["cast_text", "decode_page", "read", "strict_value", "value_text", "whole_codes"]

#: Integers are read as whole decimals first: "64", 64, "64.0" and 6.4e1 are all 64; 64.5 is refused.
_WHOLE = pa.decimal128(38, 0)


def decode_page(raw: bytes, *, page_number: int = 1, tz: str | None = None) -> Reply:
    """Decode one response body with the reference decoder only (same contract as ``nxframe.decode.decode_page``).

    Raises:
        ResponseError: the body is not strict JSON or not the documented shape.
        SchemaError: a value does not fit its column (names the column, id, value).
    """
    wire = read(raw)
    check_envelope(wire, page_number)
    if wire.code != 0:
        return Reply(wire.code, wire.message)
    assert wire.columns is not None and wire.total_row is not None
    return Reply(0, wire.message, Page(page_number, wire.total_row, finish(wire.columns, tz)))


class _Number(str):
    """A JSON number kept as the exact text it was sent as."""

    __slots__ = ()


class _Duplicate(ValueError):  # noqa: N818 - caught at once, never leaves the module
    """A JSON object names a key twice (``json`` would silently keep the last)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(f"the key {key!r} appears twice in one object")
            seen.add(key)
    return document


def _loads(raw: bytes | str) -> Any:
    """Strict JSON with numbers as their text; ``ResponseError`` for anything else."""
    try:
        return json.loads(
            raw,
            parse_float=_Number,
            parse_int=_Number,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicates,
            strict=False,  # control characters inside strings are kept, as pyarrow.json keeps them
        )
    except _Duplicate as exc:
        raise ResponseError(
            f"NXCloud sent JSON with a duplicate key ({exc}); which value is meant is unknowable"
        ) from None
    except RecursionError:
        raise ResponseError(f"NXCloud sent JSON nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        text = raw if isinstance(raw, str) else raw[:80].decode("utf-8", "replace")
        raise ResponseError(f"NXCloud sent a body that is not JSON ({exc}); it starts with {text[:80]!r}") from None


def _depth(document: dict[str, Any] | list[Any]) -> int:
    """The nesting depth, the envelope being level 1; a loop, not recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, level = stack.pop()
        deepest = max(deepest, level)
        for child in value.values() if isinstance(value, dict) else value:
            if isinstance(child, (dict, list)):
                stack.append((child, level + 1))
    return deepest


#: What a JSON document that is not an object is, in JSON's words (not Python's type names).
_JSON_KINDS: dict[type, str] = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}


def read(raw: bytes) -> Wire:
    """Any body -> its envelope and, for code 0, its wire columns."""
    document = _loads(raw)
    if not isinstance(document, dict):
        kind = "a number" if isinstance(document, _Number) else _JSON_KINDS.get(type(document), "a value")
        raise ResponseError(f'NXCloud sent JSON that is not an object: {kind} instead of {{"code": ...}}')
    if _depth(document) > MAX_DEPTH:
        raise ResponseError(f"NXCloud sent JSON nested more than {MAX_DEPTH} levels deep")
    code = _integer(document.get("code"))
    if code is None:
        raise ResponseError(f"NXCloud's response has no integer 'code': {short(document.get('code'))}")
    message = document.get("message")
    message = None if message is None else str(message)
    if code != 0:
        return Wire(code, message)
    data = document.get("data")
    if not isinstance(data, dict):
        raise ResponseError(f"NXCloud answered code 0 with 'data' = {short(data)}, not an object with a list")
    total_row = _integer(data.get("totalRow"))
    if total_row is None:
        raise ResponseError(f"NXCloud's page has no valid 'totalRow': {short(data.get('totalRow'))}")
    page_number = data.get("pageNumber")
    number = None if page_number is None else _integer(page_number)
    if page_number is not None and number is None:
        raise ResponseError(f"NXCloud's page has no valid 'pageNumber': {short(page_number)}")
    records = data.get("list")
    if not isinstance(records, list):
        raise ResponseError(f"NXCloud's page 'list' is {short(records)}, not a list of records")
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise ResponseError(f"record {position} of the page is {short(record)}, not an object")
    try:
        columns = _columns_from_records(records)
    except UnicodeEncodeError:
        raise ResponseError("NXCloud sent text that is not valid Unicode (a lone surrogate escape)") from None
    return Wire(0, message, total_row, number, len(records), columns)


def _columns_from_records(records: Sequence[Mapping[str, Any]]) -> dict[str, pa.Array]:
    ids = _id_column(records)
    columns: dict[str, pa.Array] = {"id": ids}
    for c in FIELD_COLUMNS[1:]:
        values = [record.get(c.api_field) for record in records]  # type: ignore[arg-type]
        text = _text_array(values, c, ids)
        if c.kind in ("int", "decimal"):
            text = _cast_exact(text, c, ids)
        elif c.kind == "code":
            text = whole_codes(text)
        columns[c.name] = text
    columns["extra"] = pa.array([_extra_json(record) for record in records], pa.string())
    return columns


def _id_column(records: Sequence[Mapping[str, Any]]) -> pa.Array:
    ids: list[int] = []
    for position, record in enumerate(records):
        value = _integer(record.get("id"))
        if value is None or not -(2**63) <= value < 2**63:
            raise SchemaError(
                f"record {position} of the page has id {short(record.get('id'))}; "
                "every call record needs an integer id",
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
                raise_schema(c, ids[position].as_py(), value, "it is not a JSON string or number")
        raise  # pragma: no cover - pyarrow refused something that is a str


def cast_text(text: pa.Array, c: Column) -> pa.Array:
    """Text -> an ``int`` or ``decimal`` column's type; empty text means missing.

    Raises:
        pyarrow.ArrowInvalid: a value does not fit (Arrow refuses rather than rounds).
    """
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return _cast_steps(text, [_WHOLE, c.arrow_type()] if c.kind == "int" else [c.arrow_type()])


def _cast_exact(text: pa.Array, c: Column, ids: pa.Array) -> pa.Array:
    """Cast text to the column's type; on refusal name the row."""
    try:
        return cast_text(text, c)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for position, value in enumerate(text.to_pylist()):
        if value is None:
            continue
        try:
            cast_text(pa.array([value], pa.string()), c)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            reason = (
                "it does not fit decimal(18, 6) (at most 12 integer digits and 6 decimal places); "
                "nxframe never rounds money"
                if c.kind == "decimal"
                else "it is not a whole number that fits int64"
            )
            raise_schema(c, ids[position].as_py(), value, reason)
    raise AssertionError("unreachable: the column failed to cast but every value casts")  # pragma: no cover


def whole_codes(text: pa.Array) -> pa.Array:
    """A code that is a whole number however sent (``1``, ``"1"``, ``1.0``) is that number; other text stays.

    So ``"1"`` is ``outgoing`` like ``1``, and ``"caller"`` or ``"2x"`` are kept as sent.
    """
    try:
        return _cast_steps(text, [_WHOLE, pa.int64()])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[str | None] = []
    for value in text.to_pylist():
        try:
            number = pc.cast(pa.array([value], pa.string()), _WHOLE)[0].as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values.append(value)
        else:
            values.append(None if number is None else str(int(number)))
    return pa.array(values, pa.string())


def _cast_steps(array: pa.Array, steps: list[pa.DataType]) -> pa.Array:
    for step in steps:
        array = pc.cast(array, step)
    return array


def _extra_json(record: Mapping[str, Any]) -> str | None:
    if record.keys() <= KNOWN_FIELDS:  # the usual record, checked without a Python loop
        return None
    unknown = [key for key in record if key not in KNOWN_FIELDS]
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


#: A byte that a string's JSON text holds only when :func:`_dump` would write it differently.
_ESCAPE_OR_CONTROL = re.compile(rb"[\x00-\x1f\\]")
#: The same for any JSON text, whitespace included (an object's or array's text with none of these is compact).
_NOT_COMPACT = re.compile(rb"[\x00-\x20\\]")


def value_text(raw: bytes) -> str:
    """One JSON value's text as :func:`read` writes it into ``extra`` (the fast reader's values agree).

    Numbers stay as sent; strings, objects and arrays are rewritten compactly.
    """
    first = raw[:1]
    if first not in (b'"', b"{", b"["):
        return raw.decode("utf-8")  # a number, true, false or null: its text
    if (_ESCAPE_OR_CONTROL if first == b'"' else _NOT_COMPACT).search(raw) is None:
        # No escape, no control character, and (objects, arrays) no whitespace at all:
        # the text already is what _dump writes for it.
        return raw.decode("utf-8")
    return _dump(_loads(raw))


def strict_value(raw: bytes, level: int) -> Any:
    """One JSON value found inside an object at nesting ``level`` (the envelope is 1), held to :func:`read`'s rules.

    Raises:
        ResponseError: not strict JSON (a duplicate key, NaN), or the body would be nested too deep.
    """
    value = _loads(raw)
    if isinstance(value, (dict, list)) and level + _depth(value) > MAX_DEPTH:
        raise ResponseError(f"NXCloud sent JSON nested more than {MAX_DEPTH} levels deep")
    return value


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
