"""The fast reader: one msgspec pass per body, proved complete by counting, cast by the exact decoder's casts.

msgspec reads the body once into structs (:mod:`.structs`): a documented
text or count field as its one JSON type, money, times, loose fields and
undocumented fields as their exact JSON text (``msgspec.Raw``). The
records are transposed into one tuple per field and :mod:`.columns` makes
the wire columns: a typed column in one Arrow call, the texts all in one
buffer (the money cast in one call, by the same Arrow cast the exact
decoder uses, which refuses rather than rounds); ``extra`` is written by
:mod:`.extras` from the records that hold an undocumented field.

msgspec keeps the last of two equal keys and skips a field its struct
does not name. Both are caught by counting colons: outside strings a ``:``
follows every key, so the body holds exactly as many as the key/value
pairs msgspec kept plus the colons inside the texts it kept, and a
duplicate or skipped pair only adds. The texts kept as sent are counted
in the body's own bytes; a decoded string (a typed text column, the
message, a learned name) holding a colon may owe it to a ``\\u003a``
escape, so then the escapes are counted on both sides. Equality proves
nothing was dropped. When the count is over, the body's keys are read once
to learn its undocumented names (:mod:`.shapes`), and the body is read
again; if it is still over, the exact decoder reads it (and names the
duplicate key).

Whatever this reader is not sure of, it does not guess: :func:`read`
returns ``None`` and the caller asks the exact decoder, which gives the
answer or the error (so this reader never raises a user's error itself).
What a :class:`.ShapeMemory` learned only changes speed, never a value.

Where the time goes, on the untidy day of ``benchmarks/untidy.py`` (a
loaded 2-core machine, one thread, a page of 999 records): msgspec and the
envelope 1.5 ms (a third of it matching keys that every record sends in its
own order), transposing the records 0.3 ms, the columns 2.4 ms (each value
an object visited once more, no longer in the cache; the money's decimal
cast; ``extra``), the table's types 0.6 ms, freeing the objects 0.3 ms:
about 1.2x as long as ``json.loads(raw, parse_float=Decimal)`` merely
parsing the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from . import columns, extras
from .model import FIELD_COLUMNS, Wire
from .shapes import Plan, ShapeMemory, Unsure
from .structs import DATA_FIELDS, ENVELOPE_FIELDS, UNSET, decoder, discover

__all__ = ["read"]

_ASTUPLE = msgspec.structs.astuple
_MONEY = tuple(c for c in FIELD_COLUMNS if c.kind == "decimal")
assert len({c.arrow_type() for c in _MONEY}) == 1, "the money columns are cast together"
_ENVELOPE_LEVEL, _DATA_LEVEL = 1, 2
_COLON = ord(":")


def read(raw: bytes, memory: ShapeMemory) -> Wire | None:
    """The body's envelope and wire columns; ``None`` when unsure (the exact decoder decides)."""
    plan = memory.plan
    for attempt in (1, 2):
        try:
            wire, used, loose = _read(raw, plan)
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
        memory.read(plan, used=used, loose=loose)
        return wire
    return None  # pragma: no cover - the loop returns


class _Unknown(Exception):  # noqa: N818 - control flow
    """The count does not add up: a field this plan does not name, or a duplicate key."""


def _read(raw: bytes, plan: Plan) -> tuple[Wire, bool, frozenset[str]]:
    page = _page(raw, plan)
    if not page.records:
        read = columns.Columns(_empty(), 0, 0, 0, 0, frozenset(), used=False)
    else:
        read = columns.read(raw, list(zip(*map(_ASTUPLE, page.records), strict=True)), plan)
    kept = read.pairs + page.pairs + read.colons + page.colons
    decoded = read.decoded_colons + page.decoded_colons
    if decoded:  # a decoded string holds a colon, maybe from an escape: count the escapes on both sides
        if kept + read.escaped_colons + page.escaped_colons + decoded != extras.colons(raw):
            raise _Unknown
    elif kept != int(np.count_nonzero(np.frombuffer(raw, np.uint8) == _COLON)):
        raise _Unknown
    wire = Wire(0, page.message, page.total_row, page.page_number, len(page.records), read.arrays)
    return wire, read.used or page.used, read.loose


@dataclass(frozen=True)
class _Page:
    """One body's envelope, its records (structs), and what its envelope adds to the count."""

    message: str | None
    total_row: int
    page_number: int | None
    records: list[Any]
    pairs: int
    colons: int
    escaped_colons: int
    decoded_colons: int
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
    pairs = colons = escaped = 0
    decoded = 0 if message is None else message.count(":")
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
                colons, escaped = _count(value, colons, escaped)
        for name, value in zip(learned, values[documented:], strict=True):
            if value is not UNSET:
                extras.strict(value, level)
                colons, escaped = _count(value, colons, escaped)
                decoded += name.count(":")
                used = True
    page_number = None if data.pageNumber is UNSET else data.pageNumber
    return _Page(message, data.totalRow, page_number, data.list, pairs, colons, escaped, decoded, used)


def _count(value: msgspec.Raw, colons: int, escaped: int) -> tuple[int, int]:
    """The counts plus a kept text's ``:`` bytes and ``\\u003a`` escapes."""
    text = bytes(value)
    everything = extras.colons(text)
    plain = text.count(b":")
    return colons + plain, escaped + everything - plain


def _empty() -> dict[str, pa.Array]:
    wire = {c.name: c.arrow_type() if c.kind in ("id", "int", "decimal") else pa.string() for c in FIELD_COLUMNS}
    return {name: pa.array([], type_) for name, type_ in wire.items()} | {"extra": pa.array([], pa.string())}


def _names(raw: bytes, plan: Plan) -> Plan:
    """The undocumented names the body uses, added to ``plan``; ``Unsure`` if it adds none."""
    try:
        learned = plan.merge(discover(raw))
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        raise Unsure from None
    if learned == plan:
        raise Unsure  # the count is off for another reason (a duplicate key): the exact decoder says which
    return learned
