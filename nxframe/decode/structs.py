"""The msgspec types a body is read into, one set per :class:`.Plan`, and the one read that learns a body's keys.

Each documented field gets the types its values may arrive as (a phone
number as text or as a JSON number, a count as a number or as text), money
and undocumented fields their exact text (``msgspec.Raw``), and every field
may be absent (``UNSET``), so the reader can tell a missing key from a
``null`` and count the keys it kept. Anything else (``true`` for a phone
number, a float for a count) fails validation, and the exact decoder reads
the body.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec

from .model import FIELD_COLUMNS, KNOWN_FIELDS
from .shapes import Plan, Unsure

__all__ = ["DATA_FIELDS", "ENVELOPE_FIELDS", "UNSET", "decoder", "discover"]

UNSET = msgspec.UNSET
_Raw = msgspec.Raw | msgspec.UnsetType
#: The documented fields of the envelope and of ``data``, as the structs name them.
ENVELOPE_FIELDS = ("code", "message", "data")
DATA_FIELDS = ("totalRow", "pageNumber", "totalPage", "pageSize", "list")

_KIND_TYPES: dict[str, Any] = {
    "decimal": _Raw,
    "int": int | str | None | msgspec.UnsetType,
    "code": int | str | None | msgspec.UnsetType,
    "text": str | int | None | msgspec.UnsetType,
    "time": str | int | None | msgspec.UnsetType,
}


def _learned(names: tuple[str, ...]) -> tuple[list[tuple[str, Any, Any]], dict[str, str]]:
    """Struct fields ``x0``, ``x1``... for undocumented names (any text may be a key), and their renames."""
    return [(f"x{i}", _Raw, UNSET) for i in range(len(names))], {f"x{i}": name for i, name in enumerate(names)}


def _struct(name: str, fields: list[tuple[str, Any, Any]], learned: tuple[str, ...]) -> Any:
    extra, rename = _learned(learned)
    return msgspec.defstruct(name, fields + extra, kw_only=True, gc=False, rename=rename)


@functools.lru_cache(maxsize=64)
def decoder(plan: Plan) -> msgspec.json.Decoder[Any]:
    """A decoder of whole bodies for ``plan``: documented fields typed, learned ones as text, others skipped."""
    record = _struct(
        "Record",
        [
            (c.api_field, int, msgspec.NODEFAULT) if c.kind == "id" else (c.api_field, _KIND_TYPES[c.kind], UNSET)
            for c in FIELD_COLUMNS
            if c.api_field is not None
        ],
        plan.record,
    )
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
