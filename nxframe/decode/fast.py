"""The fast reader: one msgspec pass per body, proved complete by counting, cast by the exact decoder's code.

Measured on pages shaped like a careless server (``benchmarks/untidy.py``)
on a 2-core machine, against ``json.loads(raw, parse_float=Decimal)`` on
the same page: ``pyarrow.json`` alone took 0.6x its time whatever the
schema (even reading only ``id``), msgspec 0.15x to validate the page and
0.4x to decode it into typed structs. So msgspec reads the body once:

- every value becomes a typed field (:mod:`.structs`): text as ``str`` (a
  JSON number sent for text as ``int``, written back as its digits),
  integers and codes as ``int`` or ``str``, money and undocumented fields
  as their exact JSON text (``msgspec.Raw``), so Arrow casts the decimals
  from the text as sent, with the exact decoder's own cast
  (:func:`.exact.cast_text`), which refuses rather than rounds;
- msgspec keeps the last of two equal keys and skips a field its struct
  does not name. Both are caught by counting colons: outside strings a
  ``:`` follows every key, so the body holds (counting an escaped
  ``\\u003a`` as one) at least as many as the key/value pairs msgspec kept,
  plus the colons inside the strings it decoded, plus those inside the raw
  texts it kept; a duplicate or skipped pair, or an escape msgspec decoded
  into a colon where the body has none, each only adds. Equality proves
  nothing was dropped. When the count is over, the body's keys are read once
  to learn its undocumented names (:mod:`.shapes`), and the body is read
  again; if it is still over, the exact decoder reads it (and names the
  duplicate key);
- nested undocumented values are parsed by the exact decoder (duplicate
  keys, depth), and ``extra`` is written as it writes it.

Whatever this reader is not sure of, it does not guess: :func:`read`
returns ``None`` and the caller asks the exact decoder, which gives the
answer or the error (so this reader never raises a user's error itself).
What a :class:`.ShapeMemory` learned only changes speed, never a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from . import exact, extras
from .model import FIELD_COLUMNS, Wire
from .shapes import Plan, ShapeMemory, Unsure
from .structs import DATA_FIELDS, ENVELOPE_FIELDS, UNSET, decoder, discover

__all__ = ["read"]

_ASTUPLE = msgspec.structs.astuple
_MONEY = tuple(c for c in FIELD_COLUMNS if c.kind == "decimal")
assert len({c.arrow_type() for c in _MONEY}) == 1, "the money columns are cast together"
_NULL_RAW = msgspec.Raw(b"null")
_NULL_TEXT = pa.scalar(None, pa.string())
_ENVELOPE_LEVEL, _DATA_LEVEL, _RECORD_LEVEL = 1, 2, 4
_TEXT_ERRORS = (pa.ArrowTypeError, pa.ArrowInvalid, TypeError, OverflowError)


def read(raw: bytes, memory: ShapeMemory) -> Wire | None:
    """The body's envelope and wire columns; ``None`` when unsure (the exact decoder decides)."""
    plan = memory.plan
    for attempt in (1, 2):
        try:
            wire, used = _read(raw, plan)
        except _Unknown:
            if attempt == 2:
                return None
            try:
                plan = memory.learn(_names(raw, plan))
            except Unsure:
                return None
            continue
        except Unsure:
            return None
        memory.read(plan, used=used)
        return wire
    return None  # pragma: no cover - the loop returns


class _Unknown(Exception):  # noqa: N818 - control flow
    """The count does not add up: a field this plan does not name, or a duplicate key."""


def _read(raw: bytes, plan: Plan) -> tuple[Wire, bool]:
    page = _page(raw, plan)
    fields = list(zip(*map(_ASTUPLE, page.records), strict=True))
    columns, pairs, colons, used = _columns(raw, fields, plan.record)
    if colons + pairs + page.colons + page.pairs != extras.colons(raw):
        raise _Unknown
    return Wire(0, page.message, page.total_row, page.page_number, len(page.records), columns), used or page.used


@dataclass(frozen=True)
class _Page:
    """One body's envelope, its records (structs), and what its envelope adds to the count."""

    message: str | None
    total_row: int
    page_number: int | None
    records: list[Any]
    pairs: int
    colons: int
    used: bool


def _page(raw: bytes, plan: Plan) -> _Page:
    try:
        envelope = decoder(plan).decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        raise Unsure from None
    data = envelope.data
    if envelope.code is UNSET or envelope.code != 0 or data is None or data is UNSET:
        raise Unsure  # an error body (small, rare) or no data: the exact decoder's
    if data.list is None or data.list is UNSET or data.totalRow is UNSET:
        raise Unsure
    message = None if envelope.message is UNSET else envelope.message
    pairs = colons = 0
    used = False
    for struct, documented, learned, level in (
        (envelope, len(ENVELOPE_FIELDS), plan.envelope, _ENVELOPE_LEVEL),
        (data, len(DATA_FIELDS), plan.data, _DATA_LEVEL),
    ):
        values = _ASTUPLE(struct)
        pairs += len(values) - values.count(UNSET)
        for value in values[:documented]:
            if value.__class__ is msgspec.Raw:  # totalPage, pageSize: read for the count, not used
                extras.strict(value, level)
                colons += extras.colons(bytes(value))
        for name, value in zip(learned, values[documented:], strict=True):
            if value is not UNSET:
                extras.strict(value, level)
                colons += name.count(":") + extras.colons(bytes(value))
                used = True
    if message is not None:
        colons += message.count(":")
    page_number = None if data.pageNumber is UNSET else data.pageNumber
    return _Page(message, data.totalRow, page_number, data.list, pairs, colons, used)


def _names(raw: bytes, plan: Plan) -> Plan:
    """The undocumented names the body uses, added to ``plan``; ``Unsure`` if it adds none."""
    try:
        learned = plan.merge(discover(raw))
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        raise Unsure from None
    if learned == plan:
        raise Unsure  # the count is off for another reason (a duplicate key): the exact decoder says which
    return learned


# -- records -> wire columns ------------------------------------------------------------------


def _columns(
    body: bytes, fields: list[tuple[Any, ...]], learned: tuple[str, ...]
) -> tuple[dict[str, pa.Array], int, int, bool]:
    """Wire columns, the key/value pairs they held, the colons inside their texts, whether a learned name was used."""
    if not fields:
        return _empty(), 0, 0, False
    n = len(fields[0])
    columns: dict[str, pa.Array] = {}
    pairs = 0
    texts: list[pa.Array] = []
    money: list[tuple[Any, ...]] = []
    for c, values in zip(FIELD_COLUMNS, fields, strict=False):
        if c.kind == "decimal":
            money.append(values)
            continue
        if c.kind == "id":
            array, present = _ids(values), n
        elif c.kind in ("int", "code"):
            array, present = _whole(values, c)
        else:
            array, present = _text(values)
        pairs += present
        if pa.types.is_string(array.type):
            texts.append(array)
        columns[c.name] = array
    money_columns, present = _money(money, n)
    pairs += present
    columns.update(zip((c.name for c in _MONEY), money_columns, strict=True))
    extra, present, colons = None, 0, 0
    if learned:
        extra, present, colons = extras.extra_column(body, learned, fields[len(FIELD_COLUMNS) :])
    pairs += present
    colons += sum(extras.text_colons(array) for array in texts)
    columns["extra"] = pa.nulls(n, pa.string()) if extra is None else extra
    return columns, pairs, colons, bool(present)


def _empty() -> dict[str, pa.Array]:
    wire = {c.name: c.arrow_type() if c.kind in ("id", "int", "decimal") else pa.string() for c in FIELD_COLUMNS}
    return {name: pa.array([], type_) for name, type_ in wire.items()} | {"extra": pa.array([], pa.string())}


def _ids(values: tuple[Any, ...]) -> pa.Array:
    try:
        return pa.array(values, pa.int64())
    except _TEXT_ERRORS:  # beyond int64: the exact decoder names the row
        raise Unsure from None


def _plain(values: tuple[Any, ...]) -> tuple[list[Any], int]:
    """The values as text (a JSON number as its digits), missing as ``None``, and how many were present."""
    if 0 in values:
        raise Unsure  # ``-0`` and ``0`` both decode to 0; only the exact decoder kept the text
    text = [None if v is UNSET else str(v) if v.__class__ is int else v for v in values]
    return text, len(values) - values.count(UNSET)


def _text(values: tuple[Any, ...]) -> tuple[pa.Array, int]:
    try:
        return pa.array(values, pa.string()), len(values)
    except _TEXT_ERRORS:  # a number sent for text, or a field some records leave out
        pass
    text, present = _plain(values)
    return pa.array(text, pa.string()), present


def _whole(values: tuple[Any, ...], c: Any) -> tuple[pa.Array, int]:
    """An integer or code column: ``int64`` when every value is a JSON integer, else cast from text as exact does."""
    try:
        return pa.array(values, pa.int64()), len(values)
    except _TEXT_ERRORS:  # text ("64"), a field some records leave out, or beyond int64
        pass
    present = len(values) - values.count(UNSET)
    text = pa.array([None if v is UNSET else str(v) if v.__class__ is int else v for v in values], pa.string())
    if c.kind == "code":
        return exact.whole_codes(text), present
    try:
        return exact.cast_text(text, c), present
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Unsure from None


def _money(columns: list[tuple[Any, ...]], n: int) -> tuple[list[pa.Array], int]:
    """The money columns cast from their JSON text as sent, by the exact decoder's cast.

    In the joined texts a JSON ``null`` becomes empty (missing, as ``""``
    is), and quotes are dropped: a JSON string without an escape is then
    its content, and anything else (an escape, ``true``, an object, the
    string ``"null"``) is text Arrow refuses to cast, so the exact decoder
    reads the body and names the row.
    """
    values = columns[0] + columns[1] + columns[2] if len(columns) == 3 else sum(columns, ())
    present = len(values)
    try:
        joined = b"\n".join(values)
    except TypeError:  # a field some records leave out
        present -= values.count(UNSET)
        joined = b"\n".join([_NULL_RAW if v is UNSET else v for v in values])
    joined = b"\n" + joined + b"\n"
    if b"null" in joined:
        joined = joined.replace(b"\nnull\n", b"\n\n").replace(b"\nnull\n", b"\n\n")  # twice: they may touch
    if b'"' in joined:
        joined = joined.replace(b'"', b"")
    try:
        texts = pc.split_pattern(pa.array([joined[1:-1]], pa.string()), "\n")[0].values
    except pa.ArrowInvalid:  # not UTF-8
        raise Unsure from None
    if len(texts) != len(values):
        raise Unsure  # a newline inside a value (an object): the exact decoder's
    try:
        money = exact.cast_text(texts, _MONEY[0])  # one cast: the money columns share their type
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Unsure from None  # not a number, or it does not fit: the exact decoder names the row
    arrays = [money.slice(index * n, n) for index in range(len(_MONEY))]
    return arrays, present
