"""The msgspec types a body is read into, one set per :class:`.Plan`, and the one read that learns a body's keys.

A documented text or count field gets the JSON type it should have, and
the other one it may arrive as (a phone number as text or as a JSON number,
a count as a number or as text), and may be absent (``UNSET``), so the
reader can tell a missing key from a ``null`` and count the keys it kept;
a column of one type converts to Arrow in one call. Money, times, the
fields the plan calls loose and undocumented fields are kept as their exact
text (``msgspec.Raw``; an absent one as the empty :data:`MISSING`, which no
JSON value is), read together by :mod:`.columns`. Anything else (``true``
for a phone number, a float for a count) fails validation, and the exact
decoder reads the body.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec

from ..schema import Column
from .model import FIELD_COLUMNS, KNOWN_FIELDS
from .shapes import Plan, Unsure

__all__ = ["DATA_FIELDS", "ENVELOPE_FIELDS", "MISSING", "UNSET", "decoder", "discover", "is_raw"]

UNSET = msgspec.UNSET
#: What a record's text field holds when its key is absent: empty, unlike any JSON value.
MISSING = msgspec.Raw(b"")
_Raw = msgspec.Raw | msgspec.UnsetType
#: The documented fields of the envelope and of ``data``, as the structs name them.
ENVELOPE_FIELDS = ("code", "message", "data")
DATA_FIELDS = ("totalRow", "pageNumber", "totalPage", "pageSize", "list")

#: The types of a documented field read as one JSON type (or its usual other one).
_KIND_TYPES: dict[str, Any] = {
    "int": int | str | None | msgspec.UnsetType,
    "code": int | str | None | msgspec.UnsetType,
    "text": str | int | None | msgspec.UnsetType,
}


def is_raw(c: Column, plan: Plan) -> bool:
    """Whether ``plan`` reads the documented column ``c`` as its JSON text (:mod:`.columns` reads those together)."""
    return c.kind in ("decimal", "time") or c.api_field in plan.loose


def _learned(names: tuple[str, ...], absent: Any) -> tuple[list[tuple[str, Any, Any]], dict[str, str]]:
    """Struct fields ``x0``, ``x1``... for undocumented names (any text may be a key), and their renames."""
    kind = msgspec.Raw if absent is MISSING else _Raw
    return [(f"x{i}", kind, absent) for i in range(len(names))], {f"x{i}": name for i, name in enumerate(names)}


def _struct(name: str, fields: list[tuple[str, Any, Any]], learned: tuple[str, ...], absent: Any = UNSET) -> Any:
    extra, rename = _learned(learned, absent)
    return msgspec.defstruct(name, fields + extra, kw_only=True, gc=False, rename=rename)


def _field(c: Column, plan: Plan) -> tuple[str, Any, Any]:
    assert c.api_field is not None
    if c.kind == "id":
        return c.api_field, int, msgspec.NODEFAULT
    if is_raw(c, plan):
        return c.api_field, msgspec.Raw, MISSING
    return c.api_field, _KIND_TYPES[c.kind], UNSET


@functools.lru_cache(maxsize=64)
def decoder(plan: Plan) -> msgspec.json.Decoder[Any]:
    """A decoder of whole bodies for ``plan``: documented fields typed or as text, learned ones as text, others skipped.

    The record's fields are in :data:`.model.FIELD_COLUMNS` order, then the learned ones.
    """
    record = _struct("Record", [_field(c, plan) for c in FIELD_COLUMNS], plan.record, MISSING)
    data = _struct(
        "Data",
        [
            ("totalRow", int | msgspec.UnsetType, UNSET),
            ("pageNumber", int | None | msgspec.UnsetType, UNSET),
            ("totalPage", _Raw, UNSET),
            ("pageSize", _Raw, UNSET),
            ("list", list[record] | None | msgspec.UnsetType, UNSET),  # type: ignore[valid-type]
        ],
        plan.data,
    )
    envelope = _struct(
        "Envelope",
        [
            ("code", int | msgspec.UnsetType, UNSET),
            ("message", str | None | msgspec.UnsetType, UNSET),
            ("data", data | None | msgspec.UnsetType, UNSET),
        ],
        plan.envelope,
    )
    return msgspec.json.Decoder(envelope)


_FIELDS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RECORDS = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])


def discover(raw: bytes) -> Plan:
    """The undocumented names a body uses at each level (sorted).

    Raises:
        msgspec.DecodeError, msgspec.ValidationError, RecursionError: not a body of the documented shape.
        Unsure: a name msgspec cannot match (it holds a quote, a backslash or a control character).
    """
    top = _FIELDS.decode(raw)
    data = _FIELDS.decode(top["data"]) if bytes(top.get("data", b"null"))[:1] == b"{" else {}
    listing = data.get("list")
    records = _RECORDS.decode(listing) if listing is not None and bytes(listing)[:1] == b"[" else []
    plan = Plan(
        record=tuple(sorted(set().union(*records) - KNOWN_FIELDS)),
        data=tuple(sorted(data.keys() - set(DATA_FIELDS))),
        envelope=tuple(sorted(top.keys() - set(ENVELOPE_FIELDS))),
    )
    if any(_UNMATCHABLE.search(name) for names in (plan.record, plan.data, plan.envelope) for name in names):
        raise Unsure
    return plan


_UNMATCHABLE = re.compile(r'["\\\x00-\x1f]')
